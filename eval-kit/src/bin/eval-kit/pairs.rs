//! `eval-kit pairs`: 10-fold verification accuracy of labelled pairs.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use eval_kit::pairs::{pair_distances, ten_fold_accuracy, TenFoldConfig};
use eval_kit::trials::read_trials;
use eval_kit::EmbeddingStore;

use crate::output::print_json;

/// Arguments of `eval-kit pairs`.
#[derive(Debug, Args)]
pub struct PairsArgs {
    /// Embedding store with every key of the pairs (e.g. flip-summed face embeddings).
    #[arg(long)]
    pub embeddings: PathBuf,
    /// Pairs in protocol order: `<key_1> <key_2> <1|0>` (or any labelled trial format).
    #[arg(long)]
    pub pairs: PathBuf,
    /// Number of contiguous folds.
    #[arg(long, default_value_t = 10)]
    pub folds: usize,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// Runs `eval-kit pairs`.
pub fn run(args: PairsArgs) -> anyhow::Result<()> {
    let pairs = read_trials(&args.pairs)?;
    let mut issame = Vec::with_capacity(pairs.len());
    for (i, pair) in pairs.iter().enumerate() {
        match pair.is_target {
            Some(label) => issame.push(label),
            None => anyhow::bail!(
                "{}: pair {} ({} {}) has no label",
                args.pairs.display(),
                i + 1,
                pair.enroll,
                pair.test
            ),
        }
    }
    let store = EmbeddingStore::load(&args.embeddings)
        .with_context(|| format!("reading embeddings {}", args.embeddings.display()))?;
    let distances = pair_distances(&pairs, &store)?;
    let config = TenFoldConfig {
        folds: args.folds,
        ..TenFoldConfig::default()
    };
    let result = ten_fold_accuracy(&distances, &issame, &config)?;
    if args.json {
        return print_json(&result);
    }
    println!(
        "{} pairs, {} folds: accuracy {:.2}% +- {:.2}%",
        result.n_pairs,
        result.fold_accuracies.len(),
        100.0 * result.accuracy_mean,
        100.0 * result.accuracy_std
    );
    Ok(())
}
