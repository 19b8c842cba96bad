//! `face-app eval-ijb` on a tiny IJB-C-style release written here (`loose_crop/` + `meta/`):
//! pair scores equal an independent computation of insightface's recipe (align, flip sum,
//! detector weighting, media mean, template sum, cosine), templates made of copies of the same
//! images score 1, and a missing image is counted instead of stopping the run.

use std::collections::BTreeMap;
use std::path::Path;

use app_kit::model::load_bundle;
use candle_core::{Device, Tensor};
use datasets::face::{align_face, image_to_chw, ARCFACE_TEMPLATE};
use face_app::models::REGISTRY;

use crate::embed_support::{face_app, face_app_json, pattern, small_bundle};

/// (image, template, media, pattern seed or None for a missing file, detector score).
const FACES: [(&str, i64, i64, Option<u32>, f64); 10] = [
    ("1.png", 1, 1, Some(11), 0.9),
    ("2.png", 1, 2, Some(12), 0.6),
    ("3.png", 2, 3, Some(11), 0.9),
    ("4.png", 2, 4, Some(12), 0.6),
    ("5.png", 3, 5, Some(13), 0.8),
    ("6.png", 4, 6, Some(13), 0.8),
    ("7.png", 5, 7, Some(14), 0.7),
    ("8.png", 5, 7, Some(15), 0.95),
    ("9.png", 6, 8, None, 0.5),
    ("10.png", 6, 9, Some(16), 0.75),
];

const PAIRS: [(i64, i64, u8); 10] = [
    (1, 2, 1),
    (3, 4, 1),
    (1, 3, 0),
    (2, 4, 0),
    (1, 5, 0),
    (3, 5, 0),
    (5, 6, 0),
    (2, 6, 0),
    (4, 5, 0),
    (1, 4, 0),
];

/// Landmarks of the image of pattern `seed`: the ArcFace template shifted by a few pixels (a
/// 128x128 loose crop); copies of an image get the same landmarks.
fn landmarks(seed: u32) -> [[f32; 2]; 5] {
    let shift = 6.0 + (seed % 5) as f32;
    ARCFACE_TEMPLATE.map(|[x, y]| [x + shift, y + shift * 0.5])
}

fn write_release(root: &Path) {
    std::fs::create_dir_all(root.join("loose_crop")).unwrap();
    std::fs::create_dir_all(root.join("meta")).unwrap();
    let mut faces = String::new();
    let mut points = String::new();
    for (name, tid, mid, seed, score) in FACES {
        if let Some(seed) = seed {
            pattern(seed, 128)
                .save(root.join("loose_crop").join(name))
                .unwrap();
        }
        faces += &format!("{name} {tid} {mid}\n");
        let coords: Vec<String> = landmarks(seed.unwrap_or(0))
            .iter()
            .flat_map(|p| p.iter().map(|v| format!("{v:.3}")))
            .collect();
        points += &format!("{name} {} {score}\n", coords.join(" "));
    }
    std::fs::write(root.join("meta/ijbc_face_tid_mid.txt"), faces).unwrap();
    std::fs::write(root.join("meta/ijbc_name_5pts_score.txt"), points).unwrap();
    let pairs: String = PAIRS
        .iter()
        .map(|(a, b, l)| format!("{a} {b} {l}\n"))
        .collect();
    std::fs::write(root.join("meta/ijbc_template_pair_label.txt"), pairs).unwrap();
}

/// insightface's recipe, written out directly: template features, then pair cosines.
fn expected_scores(model_dir: &Path) -> Vec<f64> {
    let bundle = load_bundle(model_dir, "face", &REGISTRY, &Device::Cpu, "test".into()).unwrap();
    let mut media: BTreeMap<(i64, i64), (Vec<f64>, usize)> = BTreeMap::new();
    for (_, tid, mid, seed, score) in FACES {
        let feature = match seed {
            Some(seed) => {
                // The meta file holds the landmarks to 3 decimals; use the same values.
                let lmk =
                    landmarks(seed).map(|p| p.map(|v| format!("{v:.3}").parse::<f32>().unwrap()));
                let aligned = align_face(&pattern(seed, 128), &lmk, 112);
                let chw = image_to_chw(&aligned, false).data;
                let x = Tensor::from_vec(chw, (1, 3, 112, 112), &Device::Cpu).unwrap();
                let flipped = x.flip(&[3]).unwrap();
                let a = bundle.net.forward_t(&x, false).unwrap();
                let b = bundle.net.forward_t(&flipped, false).unwrap();
                let sum: Vec<f32> = (a + b).unwrap().flatten_all().unwrap().to_vec1().unwrap();
                sum.iter().map(|v| f64::from(*v) * score).collect()
            }
            None => vec![0.0; 128],
        };
        let entry = media.entry((tid, mid)).or_insert((vec![0.0; 128], 0));
        entry.0.iter_mut().zip(&feature).for_each(|(s, f)| *s += f);
        entry.1 += 1;
    }
    let mut templates: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for ((tid, _), (sum, count)) in media {
        let t = templates.entry(tid).or_insert(vec![0.0; 128]);
        t.iter_mut()
            .zip(&sum)
            .for_each(|(a, s)| *a += s / count as f64);
    }
    for t in templates.values_mut() {
        let norm = t.iter().map(|v| v * v).sum::<f64>().sqrt();
        t.iter_mut().for_each(|v| *v /= norm);
    }
    PAIRS
        .iter()
        .map(|(a, b, _)| {
            templates[a]
                .iter()
                .zip(&templates[b])
                .map(|(x, y)| x * y)
                .sum()
        })
        .collect()
}

#[test]
fn eval_ijb_follows_insightface_and_counts_missing_images() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_bundle(&dir.path().join("model"), serde_json::Value::Null);
    let root = dir.path().join("IJBC");
    write_release(&root);
    let scores_file = dir.path().join("scores.txt");
    let features = dir.path().join("features.safetensors");
    let out = dir.path().join("ijb.json");
    let plot = dir.path().join("ijb_roc.png");
    let results = face_app_json(&[
        "eval-ijb",
        "--root",
        root.to_str().unwrap(),
        "--dataset",
        "IJBC",
        "--model",
        model.to_str().unwrap(),
        "--batch-size",
        "4",
        "--scores",
        scores_file.to_str().unwrap(),
        "--features",
        features.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
        "--json",
    ]);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(results, written);
    assert_eq!(results["dataset"], "IJBC");
    assert_eq!(results["images"], 10);
    assert_eq!(results["unreadable"], 1);
    let missing = results["unreadable_items"][0]["path"].as_str().unwrap();
    assert!(missing.ends_with("loose_crop/9.png"), "{results}");
    assert_eq!(results["pairs"], 10);
    assert_eq!(results["metrics"]["n_target"], 2);
    assert_eq!(results["metrics"]["n_nontarget"], 8);
    assert_eq!(std::fs::read(&plot).unwrap()[..4], *b"\x89PNG");
    // Kept features: one [original | mirrored] row per face-list line.
    let store = eval_kit::EmbeddingStore::load(&features).unwrap();
    assert_eq!(store.len(), 10);
    assert_eq!(store.dim(), 256);
    assert!(store.row(8).iter().all(|v| *v == 0.0));

    let want = expected_scores(&model);
    let text = std::fs::read_to_string(&scores_file).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(lines.len(), PAIRS.len());
    for (k, ((line, (a, b, label)), want)) in lines.iter().zip(&PAIRS).zip(&want).enumerate() {
        assert_eq!(line[0], a.to_string());
        assert_eq!(line[1], b.to_string());
        assert_eq!(line[3], if *label == 1 { "target" } else { "nontarget" });
        let got: f64 = line[2].parse().unwrap();
        assert!((got - want).abs() < 1e-4, "pair {k}: {got} vs {want}");
    }
    // Templates of identical images score 1; everything else is below, so EER is 0.
    assert!(want[0] > 0.9999 && want[1] > 0.9999, "{want:?}");
    assert!(want[2..].iter().all(|s| *s < 0.9999), "{want:?}");
    assert_eq!(results["metrics"]["eer"].as_f64().unwrap(), 0.0);

    // The readable table lists the FARs.
    let (ok, stdout, stderr) = face_app(&[
        "eval-ijb",
        "--root",
        root.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("IJBC: 10 images (1 unreadable)") && stdout.contains("1e-4"),
        "{stdout}"
    );
    assert!(stderr.contains("9.png"), "{stderr}");

    // IJB-B meta files are not there: the error names the missing file.
    let (ok, _, stderr) = face_app(&[
        "eval-ijb",
        "--root",
        root.to_str().unwrap(),
        "--dataset",
        "IJBB",
        "--model",
        model.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("ijbb_face_tid_mid.txt"), "{stderr}");
}
