//! 10-fold pair accuracy against insightface's `calculate_roc` (numpy +
//! scikit-learn `KFold`).

use eval_kit::pairs::{pair_distances, ten_fold_accuracy, TenFoldConfig};
use eval_kit::trials::read_trials;
use eval_kit::EmbeddingStore;

use crate::fixtures::{assert_close, f64s, load, path};

#[test]
fn ten_fold_matches_insightface() {
    let expected = load("pairs.json");
    let distances = f64s(&expected["distances"]);
    let issame: Vec<bool> = expected["issame"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    let result = ten_fold_accuracy(&distances, &issame, &TenFoldConfig::default()).unwrap();
    assert_eq!(result.fold_accuracies, f64s(&expected["fold_accuracies"]));
    assert_eq!(result.fold_thresholds, f64s(&expected["fold_thresholds"]));
    assert_close(
        result.accuracy_mean,
        expected["accuracy_mean"].as_f64().unwrap(),
        1e-15,
        "mean",
    );
    assert_close(
        result.accuracy_std,
        expected["accuracy_std"].as_f64().unwrap(),
        1e-15,
        "std",
    );
    // The folds do not all pick the same threshold, so fold handling matters.
    let first = result.fold_thresholds[0];
    assert!(result.fold_thresholds.iter().any(|&t| t != first));
}

#[test]
fn distances_are_squared_l2_of_unit_vectors() {
    let expected = load("pairs.json");
    let store = EmbeddingStore::load(&path("pairs_embeddings.safetensors")).unwrap();
    let pairs = read_trials(&path("pairs.txt")).unwrap();
    let got = pair_distances(&pairs, &store).unwrap();
    for (g, w) in got.iter().zip(f64s(&expected["distances_f64"])) {
        assert_close(*g, w, 1e-12, "distance");
    }
}
