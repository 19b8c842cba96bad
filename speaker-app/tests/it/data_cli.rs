//! `speaker-app data check` on a VoxCeleb-layout folder with a corrupt file, on the synthetic
//! voices, and on a path that does not exist.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

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

/// A 16 kHz mono 16-bit WAV of `seconds` of a 220 Hz tone.
fn write_wav(path: &Path, seconds: f64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let n = (seconds * 16_000.0) as usize;
    for i in 0..n {
        let v = (2.0 * std::f64::consts::PI * 220.0 * i as f64 / 16_000.0).sin() * 8000.0;
        w.write_sample(v as i16).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn check_voxceleb_layout_counts_seconds_and_names_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_wav(&root.join("id00001/vid_a/00001.wav"), 1.0);
    write_wav(&root.join("id00001/vid_b/00002.wav"), 0.5);
    write_wav(&root.join("id00002/vid_c/00001.wav"), 2.0);
    std::fs::write(root.join("id00002/vid_c/00002.wav"), b"RIFF but not really").unwrap();
    let (ok, stdout, stderr) = speaker_app(&["data", "check", root.to_str().unwrap(), "--json"]);
    assert!(ok, "stderr: {stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).expect("exactly one JSON object");
    assert_eq!(report["format"], "voxceleb");
    assert_eq!(report["speakers"], 2);
    // The 0.5 s clip is shorter than training's default minimum of 1 s.
    assert_eq!(report["utterances"], 2);
    assert!(
        (report["seconds"].as_f64().unwrap() - 3.0).abs() < 1e-3,
        "{report}"
    );
    assert_eq!(
        (report["too_short"].as_u64(), report["min_seconds"].as_f64()),
        (Some(1), Some(1.0))
    );
    assert!(report["too_short_examples"][0]
        .as_str()
        .unwrap()
        .contains("too short: 0.500 s"));
    assert_eq!(report["unreadable"], 1);
    let example = report["unreadable_examples"][0].as_str().unwrap();
    assert!(example.contains("00002.wav"), "{example}");
    let (ok, stdout, _) = speaker_app(&[
        "data",
        "check",
        root.to_str().unwrap(),
        "--min-seconds",
        "0.2",
        "--json",
    ]);
    assert!(ok);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (report["utterances"].as_u64(), report["too_short"].as_u64()),
        (Some(3), Some(0))
    );
}

#[test]
fn check_synthetic_voices() {
    let (ok, stdout, stderr) = speaker_app(&["data", "check", "synthetic", "--json"]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["format"], "synthetic");
    assert_eq!(report["unreadable"], 0);
    assert!(report["speakers"].as_u64().unwrap() > 1);
    assert!(report["seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn check_of_a_missing_path_fails_naming_it() {
    let (ok, stdout, stderr) = speaker_app(&["data", "check", "/no/such/voices"]);
    assert!(!ok);
    assert!(stdout.is_empty());
    assert!(stderr.contains("/no/such/voices"), "{stderr}");
}
