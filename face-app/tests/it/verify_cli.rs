//! `face-app verify A B`: the score equals the cosine of `embed`'s store rows, and the decision
//! follows the threshold stored for the requested FAR (or `--threshold`).

use eval_kit::EmbeddingStore;

use crate::embed_support::{
    dot, face_app, face_app_json, library_embeddings, pattern, small_bundle,
};

#[test]
fn verify_scores_like_embed_and_decides_at_the_stored_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.png");
    let b = dir.path().join("b.png");
    pattern(3, 112).save(&a).unwrap();
    pattern(4, 112).save(&b).unwrap();
    // A throwaway bundle fixes the weights; its cosine places the stored thresholds.
    let plain = small_bundle(&dir.path().join("plain"), serde_json::Value::Null);
    let emb = library_embeddings(&plain, &[pattern(3, 112), pattern(4, 112)], true);
    let cosine = dot(&emb[..128], &emb[128..]);
    let thresholds = serde_json::json!({"thresholds": [
        {"far": 1e-4, "threshold": cosine + 0.05},
        {"far": 1e-3, "threshold": cosine - 0.05},
    ]});
    let model = dir.path().join("model");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::copy(
        plain.join("model.safetensors"),
        model.join("model.safetensors"),
    )
    .unwrap();
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plain.join("config.json")).unwrap()).unwrap();
    config["thresholds"] = thresholds["thresholds"].clone();
    std::fs::write(model.join("config.json"), config.to_string()).unwrap();

    // The reference score: cosine of the rows `embed` writes.
    let store_path = dir.path().join("emb.safetensors");
    face_app_json(&[
        "embed",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        store_path.to_str().unwrap(),
        "--json",
    ]);
    let store = EmbeddingStore::load(&store_path).unwrap();
    let from_store = dot(store.row(0), store.row(1));
    assert!((from_store - cosine).abs() < 1e-5);

    let m = model.to_str().unwrap();
    let (sa, sb) = (a.to_str().unwrap(), b.to_str().unwrap());
    let v = face_app_json(&["verify", sa, sb, "--model", m, "--json"]);
    assert!(
        (v["score"].as_f64().unwrap() - from_store).abs() < 1e-5,
        "{v}"
    );
    assert_eq!(v["far"], 1e-3);
    assert!((v["threshold"].as_f64().unwrap() - (cosine - 0.05)).abs() < 1e-12);
    assert_eq!(v["threshold_source"], "config.json");
    assert_eq!(v["same"], true);
    assert_eq!(v["decision"], "same person");

    let v = face_app_json(&["verify", sa, sb, "--model", m, "--far", "1e-4", "--json"]);
    assert_eq!(v["same"], false);
    assert_eq!(v["decision"], "different people");

    let v = face_app_json(&[
        "verify",
        sa,
        sb,
        "--model",
        m,
        "--threshold",
        "-1",
        "--json",
    ]);
    assert_eq!(v["same"], true);
    assert_eq!(v["threshold_source"], "--threshold");
    assert!(v["far"].is_null());

    // The readable form prints the same decision.
    let (ok, stdout, stderr) = face_app(&["verify", sa, sb, "--model", m, "--far", "1e-4"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("different people"), "{stdout}");

    // A FAR without a stored threshold lists the ones there are.
    let (ok, _, stderr) = face_app(&["verify", sa, sb, "--model", m, "--far", "1e-2"]);
    assert!(!ok);
    assert!(
        stderr.contains("1e-4") && stderr.contains("1e-3"),
        "{stderr}"
    );
    // A model without thresholds needs --threshold.
    let (ok, _, stderr) = face_app(&["verify", sa, sb, "--model", plain.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("--threshold"), "{stderr}");
    // A NaN threshold and a FAR outside (0, 1] are refused.
    let (ok, _, stderr) = face_app(&["verify", sa, sb, "--model", m, "--threshold", "nan"]);
    assert!(
        !ok && stderr.contains("--threshold NaN: must be a finite number"),
        "{stderr}"
    );
    let (ok, _, stderr) = face_app(&["verify", sa, sb, "--model", m, "--far", "2"]);
    assert!(
        !ok && stderr.contains("--far 2: must be in (0, 1]"),
        "{stderr}"
    );
    // An unreadable image is named.
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"no image").unwrap();
    let (ok, _, stderr) = face_app(&["verify", sa, bad.to_str().unwrap(), "--model", m]);
    assert!(!ok);
    assert!(stderr.contains("bad.png"), "{stderr}");
}
