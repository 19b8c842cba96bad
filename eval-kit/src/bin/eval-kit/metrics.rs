//! `eval-kit metrics`: metrics of a scored trial file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use eval_kit::trials::{join_trials_and_scores, read_scored_trials};
use eval_kit::{DcfParams, FarRule, MetricsConfig, ScoreCurve, VerificationReport, DEFAULT_FARS};

use crate::output::{print_json, print_report};

/// Arguments of `eval-kit metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Scored trials: `<enroll> <test> <score> <label>` lines (label target/nontarget/1/0).
    #[arg(required_unless_present = "trials", conflicts_with_all = ["trials", "scores"])]
    pub scored: Option<PathBuf>,
    /// Trial list (`<enroll> <test> <label>` or `<label> <enroll> <test>`), joined with --scores.
    #[arg(long, requires = "scores")]
    pub trials: Option<PathBuf>,
    /// Score file (`<enroll> <test> <score> [label]`), joined with --trials on the pair.
    #[arg(long, requires = "trials")]
    pub scores: Option<PathBuf>,
    #[command(flatten)]
    pub metric: MetricOptions,
    /// Write a DET curve (or a ROC with --roc) to FILE; PNG or SVG by extension.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Plot a ROC curve (TAR against FAR) instead of a DET curve.
    #[arg(long)]
    pub roc: bool,
}

/// Options shared by every command that reports metrics.
#[derive(Debug, Args)]
pub struct MetricOptions {
    /// Target prior of minDCF.
    #[arg(long, default_value_t = 0.01)]
    pub p_target: f64,
    /// Cost of a miss in minDCF.
    #[arg(long, default_value_t = 1.0)]
    pub c_miss: f64,
    /// Cost of a false alarm in minDCF.
    #[arg(long, default_value_t = 1.0)]
    pub c_fa: f64,
    /// FARs of the TAR@FAR table, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_FARS)]
    pub far: Vec<f64>,
    /// Choose each TAR@FAR point as insightface's eval_ijbc.py does (nearest FAR on
    /// scikit-learn's ROC) instead of the largest TAR with FAR <= target.
    #[arg(long)]
    pub ijb_convention: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl MetricOptions {
    /// The library configuration these options describe.
    pub fn config(&self) -> MetricsConfig {
        MetricsConfig {
            dcf: DcfParams {
                p_target: self.p_target,
                c_miss: self.c_miss,
                c_fa: self.c_fa,
            },
            fars: self.far.clone(),
            far_rule: if self.ijb_convention {
                FarRule::Nearest
            } else {
                FarRule::AtMost
            },
        }
    }
}

/// Runs `eval-kit metrics`.
pub fn run(args: MetricsArgs) -> anyhow::Result<()> {
    let trials = match (&args.scored, &args.trials, &args.scores) {
        (Some(scored), _, _) => read_scored_trials(scored)?,
        (None, Some(trials), Some(scores)) => join_trials_and_scores(trials, scores)?,
        _ => anyhow::bail!("give a scored trial file, or --trials and --scores"),
    };
    let curve = ScoreCurve::new(&trials.scores, &trials.is_target)?;
    let config = args.metric.config();
    let report = VerificationReport::new(&curve, &config)?;
    if let Some(path) = &args.plot {
        crate::plot_report(path, &curve, &report, &config, args.roc)
            .with_context(|| format!("plotting {}", path.display()))?;
    }
    if args.metric.json {
        print_json(&report)
    } else {
        print_report(&report);
        Ok(())
    }
}
