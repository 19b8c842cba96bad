//! IJB 1:1 against insightface's `eval_ijbc.py` pipeline (numpy +
//! scikit-learn) on a small synthetic protocol.

use std::path::Path;

use eval_kit::ijb::{ijb_scores, FlipMode, IjbConfig, IjbDataset, IjbPaths};
use eval_kit::{tar_at_far, FarRule, MappedEmbeddings, MetricError, ScoreCurve};

use crate::fixtures::{assert_close, f64s, load, path};

fn config_of(case: &serde_json::Value) -> IjbConfig {
    IjbConfig {
        flip: match case["flip"].as_str().unwrap() {
            "sum" => FlipMode::Sum,
            _ => FlipMode::FirstHalf,
        },
        keep_norm: case["keep_norm"].as_bool().unwrap(),
        detector_score: case["detector"].as_bool().unwrap(),
    }
}

#[test]
fn template_scores_and_tar_match_insightface() {
    let expected = load("ijb.json");
    let paths = IjbPaths::under(&path("ijb"), IjbDataset::IjbC);
    let features = MappedEmbeddings::open(&path("ijb/features.safetensors")).unwrap();
    for case in expected["configs"].as_array().unwrap() {
        let trials = ijb_scores(&paths, &features, &config_of(case)).unwrap();
        let want = f64s(&case["scores"]);
        assert_eq!(trials.scores.len(), want.len());
        for (g, w) in trials.scores.iter().zip(&want) {
            assert_close(*g, *w, 1e-12, "template score");
        }
        let labels: Vec<bool> = f64s(&case["labels"]).iter().map(|&l| l == 1.0).collect();
        assert_eq!(trials.is_target, labels);
        let curve = ScoreCurve::new(&trials.scores, &trials.is_target).unwrap();
        let rows = tar_at_far(&curve, &f64s(&expected["fars"]), FarRule::Nearest).unwrap();
        let tars: Vec<f64> = rows.iter().map(|r| r.tar).collect();
        assert_eq!(tars, f64s(&case["tar_nearest"]));
    }
}

fn copy_protocol(dir: &Path) {
    std::fs::create_dir_all(dir.join("meta")).unwrap();
    for name in [
        "ijbc_face_tid_mid.txt",
        "ijbc_template_pair_label.txt",
        "ijbc_name_5pts_score.txt",
    ] {
        std::fs::copy(path("ijb/meta").join(name), dir.join("meta").join(name)).unwrap();
    }
}

#[test]
fn unknown_template_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    copy_protocol(dir.path());
    let pairs = dir.path().join("meta/ijbc_template_pair_label.txt");
    let mut text = std::fs::read_to_string(&pairs).unwrap();
    text.push_str("101 999 0\n");
    std::fs::write(&pairs, &text).unwrap();
    let line = text.lines().count();
    let features = MappedEmbeddings::open(&path("ijb/features.safetensors")).unwrap();
    let paths = IjbPaths::under(dir.path(), IjbDataset::IjbC);
    let err = ijb_scores(&paths, &features, &IjbConfig::default()).unwrap_err();
    assert!(matches!(err, MetricError::Protocol { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.ends_with(&format!(
            "ijbc_template_pair_label.txt:{line}: template 999 is not in the face list"
        )),
        "{message}"
    );
}

#[test]
fn features_out_of_order_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    copy_protocol(dir.path());
    let faces = dir.path().join("meta/ijbc_face_tid_mid.txt");
    let text = std::fs::read_to_string(&faces).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(0, 1);
    std::fs::write(&faces, lines.join("\n") + "\n").unwrap();
    let features = MappedEmbeddings::open(&path("ijb/features.safetensors")).unwrap();
    let paths = IjbPaths::under(dir.path(), IjbDataset::IjbC);
    let err = ijb_scores(&paths, &features, &IjbConfig::default()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(
            "ijbc_face_tid_mid.txt:1: image \"2.jpg\" but row 0 of the features is \"1.jpg\""
        ),
        "{message}"
    );
}
