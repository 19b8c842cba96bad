//! `eval-kit score`: cosine scores of trials from embeddings, optional mean
//! subtraction and AS-norm, written as a wespeaker score file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use eval_kit::scoring::{as_norm, cosine_scores, round_scores, AsNormConfig};
use eval_kit::trials::{read_trials, write_score_file};
use eval_kit::{EmbeddingStore, ScoreCurve, VerificationReport};
use serde::Serialize;

use crate::metrics::MetricOptions;
use crate::output::{print_json, print_report};

/// Arguments of `eval-kit score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Trial list: `<enroll> <test> [target|nontarget]` or `<1|0> <enroll> <test>`.
    #[arg(long)]
    pub trials: PathBuf,
    /// Embedding store holding every enroll and test key.
    #[arg(long)]
    pub embeddings: PathBuf,
    /// Subtract the mean of this embedding store (wespeaker: all VoxCeleb2-dev embeddings).
    #[arg(long, value_name = "STORE")]
    pub mean_from: Option<PathBuf>,
    /// AS-norm with this cohort store (wespeaker: one mean vector per VoxCeleb2-dev speaker).
    #[arg(long, value_name = "STORE")]
    pub cohort: Option<PathBuf>,
    /// AS-norm: number of top cohort scores per side.
    #[arg(long, default_value_t = 300)]
    pub top_n: usize,
    /// Score file to write: `<enroll> <test> <score> [target|nontarget]`.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Digits after the decimal point; scores are rounded to them before
    /// AS-norm and metrics, as wespeaker does by re-reading its score file.
    #[arg(long, default_value_t = 5)]
    pub decimals: usize,
    #[command(flatten)]
    pub metric: MetricOptions,
    /// Write a DET curve of the (labelled) trials to FILE, PNG or SVG.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
}

#[derive(Serialize)]
struct ScoreSummary {
    n_trials: usize,
    output: String,
    as_norm: bool,
    metrics: Option<VerificationReport>,
}

fn load(path: &Path) -> anyhow::Result<EmbeddingStore> {
    EmbeddingStore::load(path).with_context(|| format!("reading embeddings {}", path.display()))
}

/// Runs `eval-kit score`.
pub fn run(args: ScoreArgs) -> anyhow::Result<()> {
    let trials = read_trials(&args.trials)?;
    let store = load(&args.embeddings)?;
    let mean = match &args.mean_from {
        Some(path) => Some(load(path)?.mean()),
        None => None,
    };
    let mut scores = cosine_scores(&trials, &store, mean.as_deref())?;
    round_scores(&mut scores, args.decimals);
    if let Some(path) = &args.cohort {
        let cohort = load(path)?;
        let config = AsNormConfig { top_n: args.top_n };
        scores = as_norm(&trials, &store, &scores, &cohort, mean.as_deref(), config)?;
        round_scores(&mut scores, args.decimals);
    }
    write_score_file(&args.output, &trials, &scores, args.decimals)?;

    let labelled: Option<Vec<bool>> = trials.iter().map(|t| t.is_target).collect();
    let metrics = match labelled {
        Some(labels) => {
            let curve = ScoreCurve::new(&scores, &labels)?;
            let config = args.metric.config();
            let report = VerificationReport::new(&curve, &config)?;
            if let Some(path) = &args.plot {
                crate::plot_report(path, &curve, &report, &config, false)
                    .with_context(|| format!("plotting {}", path.display()))?;
            }
            Some(report)
        }
        None => None,
    };
    if args.metric.json {
        return print_json(&ScoreSummary {
            n_trials: trials.len(),
            output: args.output.display().to_string(),
            as_norm: args.cohort.is_some(),
            metrics,
        });
    }
    println!("wrote {} scores to {}", trials.len(), args.output.display());
    if let Some(report) = &metrics {
        print_report(report);
    }
    Ok(())
}
