//! `speaker-app fbank INPUT --out OUT.npy` end to end: a 16-bit WAV of the fixture signal in,
//! .npy out, compared with the library and with torchaudio; and its errors.

use std::path::Path;
use std::process::Command;

use speaker_app::fbank::{Fbank, FbankConfig, WindowType};

use crate::fbank::read_npy;

fn speaker_app(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_speaker-app"))
        .args(args)
        .output()
        .expect("speaker-app runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fbank")
        .join(name)
}

/// The fixture signal (integer int16-scale values) as a 16 kHz 16-bit WAV; returns the samples.
fn write_signal_wav(path: &Path, samples: usize) -> Vec<f32> {
    let (_, signal) = read_npy(&fixture("signal_a.npy"));
    let signal = signal[..samples].to_vec();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &x in &signal {
        w.write_sample(x as i16).unwrap();
    }
    w.finalize().unwrap();
    signal
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn fbank_of_a_wav_matches_the_library_and_torchaudio() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("a.wav");
    let signal = write_signal_wav(&wav, 6917);
    let out = dir.path().join("a.npy");
    let (ok, stdout, stderr) = speaker_app(&[
        "fbank",
        wav.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("41 frames x 80 bins"), "{stdout}");

    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "NPY v1.0");
    let header = String::from_utf8_lossy(&bytes[10..128]);
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    assert!(header.contains("'shape': (41, 80"), "{header}");

    let (shape, ours) = read_npy(&out);
    assert_eq!(shape, [41, 80]);
    let library = Fbank::new(FbankConfig::wespeaker())
        .unwrap()
        .compute(&signal)
        .unwrap();
    assert_eq!(ours, library.data);
    let (_, torchaudio) = read_npy(&fixture("signal_a.torchaudio.hamming.80.cmn.npy"));
    assert!(max_abs_diff(&ours, &torchaudio) <= 1e-3);
}

#[test]
fn fbank_options_povey_40_bins_no_cmn() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("a.wav");
    let signal = write_signal_wav(&wav, 6917);
    let out = dir.path().join("a.npy");
    let (ok, _, stderr) = speaker_app(&[
        "fbank",
        wav.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--window",
        "povey",
        "--num-mel-bins",
        "40",
        "--no-cmn",
    ]);
    assert!(ok, "{stderr}");
    let (shape, ours) = read_npy(&out);
    assert_eq!(shape, [41, 40]);
    let cfg = FbankConfig {
        window: WindowType::Povey,
        num_mel_bins: 40,
        cmn: false,
        ..FbankConfig::wespeaker()
    };
    assert_eq!(
        ours,
        Fbank::new(cfg).unwrap().compute(&signal).unwrap().data
    );
    let (_, torchaudio) = read_npy(&fixture("signal_a.torchaudio.povey.40.npy"));
    assert!(max_abs_diff(&ours, &torchaudio) <= 1e-3);

    // Dither is seeded: the same seed gives the same file, and it differs from no dither.
    let dithered = |seed: &str, name: &str| {
        let path = dir.path().join(name);
        let (ok, _, stderr) = speaker_app(&[
            "fbank",
            wav.to_str().unwrap(),
            "--out",
            path.to_str().unwrap(),
            "--dither",
            "1.0",
            "--seed",
            seed,
        ]);
        assert!(ok, "{stderr}");
        read_npy(&path).1
    };
    let (a, b) = (dithered("5", "d1.npy"), dithered("5", "d2.npy"));
    assert_eq!(a, b);
    assert_ne!(a, dithered("6", "d3.npy"));
}

#[test]
fn fbank_of_a_missing_file_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.npy");
    let (ok, stdout, stderr) = speaker_app(&[
        "fbank",
        "/no/such/voice.wav",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stdout.is_empty());
    assert!(stderr.contains("/no/such/voice.wav"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn fbank_of_a_too_short_file_fails_naming_it_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("short.wav");
    write_signal_wav(&wav, 399);
    let out = dir.path().join("x.npy");
    let (ok, _, stderr) = speaker_app(&[
        "fbank",
        wav.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("short.wav"), "{stderr}");
    assert!(
        stderr.contains("399 samples are fewer than one 400-sample frame"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn fbank_with_zero_mel_bins_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("a.wav");
    write_signal_wav(&wav, 1000);
    let out = dir.path().join("x.npy");
    let (ok, _, stderr) = speaker_app(&[
        "fbank",
        wav.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--num-mel-bins",
        "0",
    ]);
    assert!(!ok);
    assert!(stderr.contains("num_mel_bins is 0"), "{stderr}");
}
