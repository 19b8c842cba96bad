//! A run never loses work or writes garbage: unreadable images are skipped and counted (in
//! training and in the held-out report), a held-out split without pairs is refused before
//! anything is written, and a diverging run writes no NaN into its model.

use std::path::Path;

use crate::embed_support::pattern;
use crate::train_support::{tiny, train};

/// `root/<id>/<n>.png` for `ids` identities of `per` images, plus a corrupt `broken.png` in each.
fn folder(root: &Path, ids: usize, per: usize) {
    for id in 0..ids {
        let dir = root.join(format!("id{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        for n in 0..per {
            pattern((id * 10 + n) as u32, 112)
                .save(dir.join(format!("{n}.png")))
                .unwrap();
        }
        std::fs::write(dir.join("broken.png"), b"\x89PNG not really").unwrap();
    }
}

#[test]
fn unreadable_images_are_skipped_and_counted_in_training_and_held_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("faces");
    folder(&data, 6, 4);
    let out = dir.path().join("run");
    let cfg = tiny(&[
        &format!("data.source={:?}", data.display().to_string()),
        "eval.heldout_per_identity=5",
    ]);
    let outcome = train(&cfg, &out, false, None).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert!(report["skipped_items"].as_u64().unwrap() >= 1, "{report}");
    // The class map names each head class by its folder.
    let classes = std::fs::read_to_string(out.join("classes.tsv")).unwrap();
    let names: Vec<&str> = classes
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    assert_eq!(names.len(), 4);
    assert!(names.iter().all(|n| n.starts_with("id")), "{classes}");
    let example = report["skipped_examples"][0]["item"].as_str().unwrap();
    assert!(example.ends_with("broken.png"), "{example}");
    // Each of the 2 held-out identities has one corrupt image, scored around.
    let heldout = outcome.heldout.unwrap();
    assert_eq!(
        (heldout.identities, heldout.items, heldout.skipped),
        (2, 8, 2)
    );
    assert_eq!(report["heldout"]["skipped"], 2);
    assert!(report["heldout"]["skipped_examples"][0]
        .as_str()
        .unwrap()
        .contains("broken.png"));
}

#[test]
fn a_held_out_split_without_pairs_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("faces");
    // One image per identity: no genuine pair among the held-out identities.
    for id in 0..6 {
        let d = data.join(format!("id{id}"));
        std::fs::create_dir_all(&d).unwrap();
        pattern(id, 112).save(d.join("0.png")).unwrap();
    }
    let out = dir.path().join("run");
    let cfg = tiny(&[
        &format!("data.source={:?}", data.display().to_string()),
        "train.batch_size=2",
    ]);
    let err = format!(
        "{:#}",
        train(&cfg, &out, false, None).err().expect("refused")
    );
    assert!(
        err.contains("eval.heldout_identities = 2")
            && err.contains("held-out split: 2 item(s) of 2 identities"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written for a refused run");
}

#[test]
fn a_diverging_run_writes_no_nan_into_its_model() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let cfg = tiny(&[
        "optim.lr=1e6",
        "train.steps=5",
        "train.non_finite={ action = \"skip\", max_consecutive = 10 }",
    ]);
    match train(&cfg, &out, false, None) {
        Ok(outcome) => {
            // Every update with a NaN/Inf loss or gradient was skipped, BatchNorm statistics
            // included: what was saved is finite.
            let tensors = candle_core::safetensors::load(
                out.join("model/model.safetensors"),
                &candle_core::Device::Cpu,
            )
            .unwrap();
            for (name, t) in tensors {
                assert!(
                    train_kit::finite::all_finite(&t).unwrap(),
                    "{name} is not finite"
                );
            }
            assert!(outcome.fit.steps == 5);
        }
        Err(e) => {
            let msg = format!("{e:#}");
            assert!(msg.contains("NaN") || msg.contains("not finite"), "{msg}");
            assert!(
                !out.join("model/model.safetensors").exists() || {
                    let t = candle_core::safetensors::load(
                        out.join("model/model.safetensors"),
                        &candle_core::Device::Cpu,
                    )
                    .unwrap();
                    t.values()
                        .all(|t| train_kit::finite::all_finite(t).unwrap())
                }
            );
        }
    }
}

#[test]
fn a_jpeg_cut_in_half_is_skipped_by_embed_and_refused_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let faces = dir.path().join("faces");
    std::fs::create_dir_all(faces.join("p1")).unwrap();
    let whole = faces.join("p1/whole.jpg");
    pattern(5, 112).save(&whole).unwrap();
    let bytes = std::fs::read(&whole).unwrap();
    let half = faces.join("p1/half.jpg");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    let model =
        crate::embed_support::small_bundle(&dir.path().join("model"), serde_json::Value::Null);
    let out = dir.path().join("emb.safetensors");
    let summary = crate::embed_support::face_app_json(&[
        "embed",
        faces.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        (summary["embedded"].as_u64(), summary["skipped"].as_u64()),
        (Some(1), Some(1)),
        "{summary}"
    );
    assert!(
        summary["skipped_items"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("corrupt JPEG"),
        "{summary}"
    );
    let (ok, _, stderr) = crate::embed_support::face_app(&[
        "verify",
        whole.to_str().unwrap(),
        half.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--threshold",
        "0.5",
    ]);
    assert!(
        !ok && stderr.contains("half.jpg") && stderr.contains("corrupt JPEG"),
        "{stderr}"
    );
    let (ok, stdout, _) =
        crate::embed_support::face_app(&["data", "check", faces.to_str().unwrap(), "--json"]);
    assert!(ok);
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["unreadable"], 1, "{report}");
}
