//! `speaker_app::fbank` against torchaudio (`compliance.kaldi.fbank`) and kaldi-native-fbank.
//!
//! The references live in `tests/fixtures/fbank/`, made by `make_fixtures.py` there with
//! wespeaker's settings (dither 0); `manifest.json` lists the cases. Two signals: `signal_a`
//! (6917 samples: 41 frames plus 117 left over, i.e. not a multiple of the shift, with a stretch
//! of digital silence) and `signal_one_frame` (exactly 400 samples).

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use speaker_app::fbank::{Fbank, FbankConfig, FbankError, WindowType};

/// Largest allowed |ours − reference| on log-mel values.
const TOLERANCE: f32 = 1e-3;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fbank")
}

/// Reads a float32 .npy; returns its shape and values.
pub fn read_npy(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec::<f32>().unwrap())
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn config(window: WindowType, bins: usize, cmn: bool) -> FbankConfig {
    FbankConfig {
        window,
        num_mel_bins: bins,
        cmn,
        ..FbankConfig::wespeaker()
    }
}

/// Compares every manifest case of `reference` ("torchaudio" or "knf") with `window` and
/// `bins`, with and without CMN; returns how many were checked.
fn check(reference: &str, window: WindowType, bins: usize) -> usize {
    let window_name = match window {
        WindowType::Hamming => "hamming",
        WindowType::Povey => "povey",
    };
    let mut checked = 0;
    for case in manifest()["cases"].as_array().unwrap() {
        if case["reference"] != reference
            || case["window"] != window_name
            || case["num_mel_bins"] != bins
        {
            continue;
        }
        let cmn = case["cmn"].as_bool().unwrap();
        let (_, signal) = read_npy(&fixtures().join(case["signal"].as_str().unwrap()));
        let (shape, expected) = read_npy(&fixtures().join(case["file"].as_str().unwrap()));
        let ours = Fbank::new(config(window, bins, cmn))
            .unwrap()
            .compute(&signal)
            .unwrap();
        let name = case["file"].as_str().unwrap();
        assert_eq!(
            [ours.frames as u64, ours.bins as u64],
            shape[..],
            "{name}: shape"
        );
        assert_eq!(
            ours.frames as u64,
            case["frames"].as_u64().unwrap(),
            "{name}"
        );
        let worst = ours
            .data
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst <= TOLERANCE,
            "{name}: max |ours - {reference}| = {worst}"
        );
        checked += 1;
    }
    checked
}

#[test]
fn matches_torchaudio_hamming_80() {
    assert_eq!(check("torchaudio", WindowType::Hamming, 80), 4);
}

#[test]
fn matches_torchaudio_hamming_40() {
    assert_eq!(check("torchaudio", WindowType::Hamming, 40), 4);
}

#[test]
fn matches_torchaudio_povey_80() {
    assert_eq!(check("torchaudio", WindowType::Povey, 80), 4);
}

#[test]
fn matches_torchaudio_povey_40() {
    assert_eq!(check("torchaudio", WindowType::Povey, 40), 4);
}

#[test]
fn matches_kaldi_native_fbank_hamming() {
    assert_eq!(check("knf", WindowType::Hamming, 80), 4);
    assert_eq!(check("knf", WindowType::Hamming, 40), 4);
}

#[test]
fn matches_kaldi_native_fbank_povey() {
    assert_eq!(check("knf", WindowType::Povey, 80), 4);
    assert_eq!(check("knf", WindowType::Povey, 40), 4);
}

/// torchaudio asserts `frame_length <= len(waveform)` (the manifest records its message);
/// kaldi-native-fbank returns 0 frames. We follow torchaudio with a typed error.
#[test]
fn fewer_samples_than_one_frame_is_an_error_like_torchaudio() {
    let short = &manifest()["too_short_399_samples"];
    assert!(short["torchaudio"]
        .as_str()
        .unwrap()
        .starts_with("AssertionError"));
    assert_eq!(short["knf"], "0 frames");
    let fbank = Fbank::new(FbankConfig::wespeaker()).unwrap();
    let err = fbank.compute(&[100.0; 399]).unwrap_err();
    assert_eq!(
        err,
        FbankError::TooShort {
            samples: 399,
            frame_length: 400
        }
    );
    assert_eq!(
        err.to_string(),
        "399 samples are fewer than one 400-sample frame"
    );
    assert!(fbank.compute(&[]).is_err());
}

#[test]
fn batch_rows_equal_single_utterances_without_dither() {
    let (_, signal) = read_npy(&fixtures().join("signal_a.npy"));
    let fbank = Fbank::new(FbankConfig::wespeaker()).unwrap();
    let chunk = 3200; // 200 ms: 18 frames
    let rows: Vec<&[f32]> = (0..5).map(|b| &signal[b * 700..b * 700 + chunk]).collect();
    let batch: Vec<f32> = rows.concat();
    let out = fbank.compute_batch(&batch, 5, 7).unwrap();
    assert_eq!((out.batch, out.frames, out.bins), (5, 18, 80));
    for (b, row) in rows.iter().enumerate() {
        let single = fbank.compute(row).unwrap();
        assert_eq!(
            &out.data[b * 18 * 80..(b + 1) * 18 * 80],
            &single.data[..],
            "row {b}"
        );
    }
    assert!(matches!(
        fbank.compute_batch(&batch, 3, 0),
        Err(FbankError::BatchShape {
            len: 16000,
            batch_size: 3
        })
    ));
    assert!(fbank.compute_batch(&batch[..1000], 5, 0).is_err());
}

#[test]
fn dither_is_reproducible_from_the_seed() {
    let (_, signal) = read_npy(&fixtures().join("signal_a.npy"));
    let train = Fbank::new(FbankConfig::wespeaker_train()).unwrap();
    let run = |seed| train.compute_with_rng(&signal, &mut ChaCha8Rng::seed_from_u64(seed));
    let (a, b, c) = (run(1).unwrap(), run(1).unwrap(), run(2).unwrap());
    assert_eq!(a, b);
    assert_ne!(a, c);
    // Dither 1.0 on int16-scale speech barely moves the features (the frames of digital silence
    // in `signal_a` move a lot: they leave the epsilon floor), so the mean change is small.
    // Without CMN, so the silent frames do not shift the others through the mean.
    let raw = |dither| FbankConfig {
        dither,
        cmn: false,
        ..FbankConfig::wespeaker()
    };
    let clean = Fbank::new(raw(0.0)).unwrap().compute(&signal).unwrap();
    let noisy = Fbank::new(raw(1.0))
        .unwrap()
        .compute_with_rng(&signal, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let diffs: Vec<f32> = noisy
        .data
        .iter()
        .zip(&clean.data)
        .map(|(x, y)| (x - y).abs())
        .collect();
    let mut sorted = diffs.clone();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    assert!(median > 0.0 && median < 0.1, "median change {median}");
    // Digital silence is lifted off the epsilon floor.
    let silence = train
        .compute_with_rng(&[0.0; 4000], &mut ChaCha8Rng::seed_from_u64(3))
        .unwrap();
    assert!(silence.data.iter().any(|&v| v != 0.0));

    // Batches: same seed, same features, whatever the thread count; rows differ.
    let batch: Vec<f32> = [&signal[..3200], &signal[..3200]].concat();
    let one = train.compute_batch(&batch, 2, 9).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let serial = pool.install(|| train.compute_batch(&batch, 2, 9).unwrap());
    assert_eq!(one, serial);
    let half = one.data.len() / 2;
    assert_ne!(one.data[..half], one.data[half..]);
}
