//! Cosine scoring, mean subtraction and AS-norm against wespeaker's
//! procedure reimplemented in float64 numpy.

use eval_kit::scoring::{as_norm, cosine_scores, round_scores, AsNormConfig};
use eval_kit::trials::read_trials;
use eval_kit::{EmbeddingStore, MetricError};

use crate::fixtures::{assert_close, f64s, load, path};

fn store(name: &str) -> EmbeddingStore {
    EmbeddingStore::load(&path(name)).unwrap()
}

#[test]
fn cosine_scores_with_and_without_mean_subtraction() {
    let expected = load("scoring.json");
    let trials = read_trials(&path("scoring_trials.kaldi")).unwrap();
    let embeddings = store("scoring_embeddings.safetensors");
    let plain = cosine_scores(&trials, &embeddings, None).unwrap();
    for (got, want) in plain.iter().zip(f64s(&expected["cosine_no_mean"])) {
        assert_close(*got, want, 1e-12, "cosine");
    }
    let mean = store("scoring_mean_source.safetensors").mean();
    let centered = cosine_scores(&trials, &embeddings, Some(&mean)).unwrap();
    for (got, want) in centered.iter().zip(f64s(&expected["cosine_mean"])) {
        assert_close(*got, want, 1e-12, "cosine - mean");
    }
    let mut rounded = centered.clone();
    round_scores(&mut rounded, 5);
    assert_eq!(rounded, f64s(&expected["cosine_mean_rounded"]));
}

#[test]
fn as_norm_matches_wespeaker() {
    let expected = load("scoring.json");
    let trials = read_trials(&path("scoring_trials.kaldi")).unwrap();
    let embeddings = store("scoring_embeddings.safetensors");
    let mean = store("scoring_mean_source.safetensors").mean();
    let cohort = store("scoring_cohort.safetensors");
    let rounded = f64s(&expected["cosine_mean_rounded"]);
    let top_n = expected["top_n"].as_u64().unwrap() as usize;
    let normed = as_norm(
        &trials,
        &embeddings,
        &rounded,
        &cohort,
        Some(&mean),
        AsNormConfig { top_n },
    )
    .unwrap();
    for (got, want) in normed.iter().zip(f64s(&expected["as_norm"])) {
        assert_close(*got, want, 1e-12, "as-norm");
    }
    // A top-N larger than the cohort uses the whole cohort ("s-norm").
    let all = as_norm(
        &trials,
        &embeddings,
        &rounded,
        &cohort,
        Some(&mean),
        AsNormConfig { top_n: 10_000 },
    )
    .unwrap();
    assert_ne!(all, normed);
}

#[test]
fn missing_embeddings_are_listed_once_each() {
    let embeddings = store("scoring_embeddings.safetensors");
    let text =
        "spk0/utt0.wav ghost1 target\nghost2 spk0/utt1.wav nontarget\nghost1 ghost2 target\n";
    let dir = tempfile::tempdir().unwrap();
    let trials_path = dir.path().join("trials");
    std::fs::write(&trials_path, text).unwrap();
    let trials = read_trials(&trials_path).unwrap();
    let err = cosine_scores(&trials, &embeddings, None).unwrap_err();
    match &err {
        MetricError::MissingEmbeddings { keys } => assert_eq!(keys, &["ghost1", "ghost2"]),
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(
        err.to_string(),
        "2 key(s) have no embedding: ghost1, ghost2"
    );
}
