//! `face-app eval --bin`: insightface `.bin` pickles written here (PNG bytes, Python 3 style);
//! the 10-fold accuracy equals eval-kit's on distances from the library's embeddings, and a
//! set whose same-person pairs are identical images scores 100% with EER 0.

use std::path::Path;

use eval_kit::pairs::{ten_fold_accuracy, TenFoldConfig};
use serde_pickle::{SerOptions, Value};

use crate::embed_support::{face_app, face_app_json, library_embeddings, pattern, small_bundle};

fn png_bytes(image: &image::RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

/// Writes a `.bin` of `(images, issame)`: pair `i` is a pattern and itself when `i` is even,
/// two different patterns when odd. Returns the decoded images in file order.
fn write_bin(path: &Path, pairs: u32) -> (Vec<image::RgbImage>, Vec<bool>) {
    let mut images = Vec::new();
    let mut issame = Vec::new();
    for i in 0..pairs {
        let same = i % 2 == 0;
        images.push(pattern(100 + i, 112));
        images.push(pattern(if same { 100 + i } else { 500 + i }, 112));
        issame.push(same);
    }
    let value = Value::Tuple(vec![
        Value::List(
            images
                .iter()
                .map(|im| Value::Bytes(png_bytes(im)))
                .collect(),
        ),
        Value::List(issame.iter().map(|&s| Value::Bool(s)).collect()),
    ]);
    std::fs::write(
        path,
        serde_pickle::value_to_vec(&value, SerOptions::new()).unwrap(),
    )
    .unwrap();
    (images, issame)
}

#[test]
fn eval_bin_matches_eval_kit_and_identical_pairs_score_perfectly() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_bundle(&dir.path().join("model"), serde_json::Value::Null);
    let bin = dir.path().join("tiny_lfw.bin");
    let (images, issame) = write_bin(&bin, 10);
    let out = dir.path().join("results/eval.json");
    let plot = dir.path().join("roc.png");
    let printed = face_app_json(&[
        "eval",
        "--bin",
        bin.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
        "--json",
    ]);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(printed, written);
    let set = &written["sets"][0];
    assert_eq!(set["name"], "tiny_lfw");
    assert_eq!(set["pairs"], 10);

    // Independent: library embeddings -> squared L2 distances -> eval-kit 10-fold.
    let emb = library_embeddings(&model, &images, true);
    let distances: Vec<f64> = emb
        .chunks(256)
        .map(|p| {
            p[..128]
                .iter()
                .zip(&p[128..])
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                .sum()
        })
        .collect();
    let want = ten_fold_accuracy(&distances, &issame, &TenFoldConfig::default()).unwrap();
    let folds: Vec<f64> = set["ten_fold"]["fold_accuracies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(folds, want.fold_accuracies);
    assert_eq!(
        set["ten_fold"]["accuracy_mean"].as_f64().unwrap(),
        want.accuracy_mean
    );

    // Identical images are at distance 0 and different ones well above the first grid step,
    // so every fold is right, and the scores separate perfectly.
    let min_different = distances
        .iter()
        .zip(&issame)
        .filter(|(_, &s)| !s)
        .map(|(d, _)| *d)
        .fold(f64::INFINITY, f64::min);
    assert!(
        min_different > 0.01,
        "different patterns too close: {min_different}"
    );
    assert_eq!(set["ten_fold"]["accuracy_mean"].as_f64().unwrap(), 1.0);
    assert_eq!(set["metrics"]["eer"].as_f64().unwrap(), 0.0);
    assert_eq!(set["metrics"]["n_target"], 5);
    assert_eq!(set["metrics"]["n_nontarget"], 5);
    let tar = set["metrics"]["tar_at_far"].as_array().unwrap();
    assert_eq!(tar.len(), 4);
    assert!(
        tar.iter().all(|row| row["tar"].as_f64() == Some(1.0)),
        "{tar:?}"
    );

    let png = std::fs::read(&plot).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    assert_eq!(set["plot"], plot.display().to_string());

    // The table names the set and the accuracy.
    let (ok, stdout, stderr) = face_app(&[
        "eval",
        "--bin",
        bin.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--no-flip",
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("tiny_lfw") && stdout.contains("100.00%"),
        "{stdout}"
    );
}

#[test]
fn eval_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_bundle(&dir.path().join("model"), serde_json::Value::Null);
    let bin = dir.path().join("cut.bin");
    let good = dir.path().join("good.bin");
    write_bin(&good, 2);
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&bin, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, _, stderr) = face_app(&[
        "eval",
        "--bin",
        bin.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("cut.bin"), "{stderr}");
    // Two pairs cannot be split in 10 folds: the error says so and names the set.
    let (ok, _, stderr) = face_app(&[
        "eval",
        "--bin",
        good.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("good.bin") && stderr.contains("10 for 2 pairs"),
        "{stderr}"
    );
}
