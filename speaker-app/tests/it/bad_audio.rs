//! Bad audio never panics and never slips through: NaN samples in a float WAV that needs
//! resampling, empty and 10 ms files. `data check`, `embed` and `verify` apply the same rules
//! and name the file.

use std::path::Path;

use serde_json::Value;

use crate::embed_cli::{small_bundle, speaker_app, write_wav};

/// An 8 kHz float WAV of `n` samples with a NaN at sample `nan_at`.
fn float_wav(path: &Path, n: usize, nan_at: Option<usize>) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..n {
        let v = if Some(i) == nan_at {
            f32::NAN
        } else {
            (i as f32 * 0.05).sin() * 0.3
        };
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn nan_samples_are_refused_before_resampling_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let nan = dir.path().join("voices/nan.wav");
    std::fs::create_dir_all(nan.parent().unwrap()).unwrap();
    float_wav(&nan, 16_000, Some(4_000));
    let e = datasets::speech::audio::load_mono(&nan, 16_000)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("nan.wav") && e.contains("sample 4000") && e.contains("is NaN"),
        "{e}"
    );

    let (ok, stdout, stderr) = speaker_app(&["data", "check", nan.to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (report["format"].as_str(), report["unreadable"].as_u64()),
        (Some("audio-file"), Some(1))
    );
    assert!(
        report["unreadable_examples"][0]
            .as_str()
            .unwrap()
            .contains("is NaN"),
        "{report}"
    );

    let good = dir.path().join("voices/good.wav");
    write_wav(&good, 1.5, 2);
    let model = dir.path().join("model");
    small_bundle(&model, Value::Null);
    let store = dir.path().join("emb.safetensors");
    let (ok, stdout, stderr) = speaker_app(&[
        "embed",
        dir.path().join("voices").to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        store.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (summary["embedded"].as_u64(), summary["skipped"].as_u64()),
        (Some(1), Some(1)),
        "{summary}"
    );
    assert!(
        summary["skipped_files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("is NaN"),
        "{summary}"
    );

    let (ok, _, stderr) = speaker_app(&[
        "verify",
        nan.to_str().unwrap(),
        good.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--threshold",
        "0.5",
    ]);
    assert!(!ok);
    assert!(
        !stderr.contains("panicked") && stderr.contains("nan.wav") && stderr.contains("is NaN"),
        "{stderr}"
    );
}

#[test]
fn empty_and_10_ms_files_are_too_short_for_check_and_embed_alike() {
    let dir = tempfile::tempdir().unwrap();
    let voices = dir.path().join("voices");
    std::fs::create_dir_all(&voices).unwrap();
    float_wav(&voices.join("empty.wav"), 0, None);
    float_wav(&voices.join("blip.wav"), 80, None);
    let (ok, stdout, stderr) = speaker_app(&[
        "data",
        "check",
        voices.join("empty.wav").to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (report["utterances"].as_u64(), report["too_short"].as_u64()),
        (Some(0), Some(1)),
        "{report}"
    );
    let (ok, stdout, _) = speaker_app(&[
        "data",
        "check",
        voices.join("blip.wav").to_str().unwrap(),
        "--json",
        "--min-seconds",
        "0.1",
    ]);
    assert!(ok);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(
        report["too_short_examples"][0]
            .as_str()
            .unwrap()
            .contains("too short: 0.010 s, the minimum is 0.1 s"),
        "{report}"
    );

    let model = dir.path().join("model");
    small_bundle(&model, Value::Null);
    let (ok, _, stderr) = speaker_app(&[
        "embed",
        voices.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        dir.path().join("e.safetensors").to_str().unwrap(),
    ]);
    assert!(!ok, "nothing embeddable");
    assert!(
        stderr.contains("empty.wav") && stderr.contains("blip.wav") && stderr.contains("too short"),
        "{stderr}"
    );
}

#[test]
fn an_audio_file_is_not_a_training_list_and_a_binary_list_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("one.wav");
    write_wav(&wav, 1.0, 1);
    let (ok, _, stderr) = speaker_app(&[
        "train",
        "--data",
        wav.to_str().unwrap(),
        "--out",
        dir.path().join("r").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("one.wav: an audio file, not a data set"),
        "{stderr}"
    );
    let list = dir.path().join("raw.list");
    std::fs::write(&list, [0xffu8, 0xfe, 0x00, 0x80]).unwrap();
    let (ok, _, stderr) = speaker_app(&["data", "check", list.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("raw.list: not a text list (not UTF-8)"),
        "{stderr}"
    );
}
