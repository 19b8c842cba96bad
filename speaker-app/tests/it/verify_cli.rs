//! `speaker-app verify A B`: cosine score against the bundle's threshold for `--far`, or
//! `--threshold`, and clear errors when neither is available.

use serde_json::{json, Value};

use crate::embed_cli::{library_embedding, small_bundle, speaker_app, write_wav};

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let n = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

#[test]
fn verify_uses_bundle_thresholds_and_explicit_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    small_bundle(
        &bundle,
        json!({"thresholds": [{"far": 1e-3, "threshold": 0.999}, {"far": 1e-2, "threshold": -1.0}]}),
    );
    let a = dir.path().join("a.wav");
    let b = dir.path().join("b.wav");
    write_wav(&a, 1.0, 1);
    write_wav(&b, 1.2, 6);
    let want = cosine(
        &library_embedding(&bundle, &a),
        &library_embedding(&bundle, &b),
    );
    assert!(
        want < 0.999,
        "test needs distinct embeddings, cosine {want}"
    );
    let (sa, sb, sm) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        bundle.to_str().unwrap(),
    );

    // FAR 1e-2: threshold -1, always accepted.
    let (ok, stdout, stderr) =
        speaker_app(&["verify", sa, sb, "--model", sm, "--far", "1e-2", "--json"]);
    assert!(ok, "stderr: {stderr}");
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(
        (v["score"].as_f64().unwrap() - want).abs() < 1e-5,
        "{v} vs {want}"
    );
    assert_eq!(v["threshold"], -1.0);
    assert_eq!(v["far"], 1e-2);
    assert_eq!(v["same"], true);

    // The default FAR 1e-3 (both apps): threshold 0.999 rejects the pair.
    let (ok, stdout, _) = speaker_app(&["verify", sa, sb, "--model", sm, "--json"]);
    assert!(ok);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["threshold"], 0.999);
    assert_eq!(v["same"], false);

    // The same file twice scores 1 and passes the strict threshold.
    let (ok, stdout, _) =
        speaker_app(&["verify", sa, sa, "--model", sm, "--far", "0.001", "--json"]);
    assert!(ok);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!((v["score"].as_f64().unwrap() - 1.0).abs() < 1e-6, "{v}");
    assert_eq!(v["same"], true);

    // An explicit threshold wins; text output names the decision.
    let (ok, stdout, _) = speaker_app(&["verify", sa, sb, "--model", sm, "--threshold", "1.5"]);
    assert!(ok);
    assert!(stdout.contains("different speakers"), "{stdout}");
    assert!(stdout.contains("threshold  1.50000"), "{stdout}");

    // A FAR the bundle has no threshold for.
    let (ok, _, stderr) = speaker_app(&["verify", sa, sb, "--model", sm, "--far", "1e-4"]);
    assert!(!ok);
    assert!(stderr.contains("no threshold for FAR 1e-4"), "{stderr}");
    assert!(stderr.contains("1e-3, 1e-2"), "{stderr}");
    // A NaN threshold is refused.
    let (ok, _, stderr) = speaker_app(&["verify", sa, sb, "--model", sm, "--threshold", "NaN"]);
    assert!(!ok);
    assert!(
        stderr.contains("--threshold NaN: must be a finite number"),
        "{stderr}"
    );
}

#[test]
fn verify_without_any_threshold_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    small_bundle(&bundle, Value::Null);
    let a = dir.path().join("a.wav");
    write_wav(&a, 1.0, 1);
    let sa = a.to_str().unwrap();
    let (ok, _, stderr) = speaker_app(&["verify", sa, sa, "--model", bundle.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("no `thresholds`"), "{stderr}");
    assert!(stderr.contains("--threshold"), "{stderr}");

    let (ok, _, stderr) = speaker_app(&["verify", sa, sa]);
    assert!(!ok);
    assert!(stderr.contains("give a model"), "{stderr}");
}
