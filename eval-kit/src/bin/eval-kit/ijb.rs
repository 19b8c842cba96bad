//! `eval-kit ijb`: IJB-B / IJB-C 1:1 verification TAR@FAR.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use eval_kit::ijb::{ijb_scores, write_pair_scores, FlipMode, IjbConfig, IjbDataset, IjbPaths};
use eval_kit::{MappedEmbeddings, ScoreCurve, VerificationReport};

use crate::metrics::MetricOptions;
use crate::output::{print_json, print_report};

/// IJB release.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Dataset {
    /// IJB-B.
    Ijbb,
    /// IJB-C.
    Ijbc,
}

/// Relation of stored rows to image features.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Flip {
    /// Rows are `[original | flipped]`; use their sum.
    Sum,
    /// Rows are `[original | flipped]`; use the original half.
    FirstHalf,
    /// Rows are the features.
    AsIs,
}

/// Arguments of `eval-kit ijb`.
#[derive(Debug, Args)]
pub struct IjbArgs {
    /// IJB root holding `meta/` (e.g. `IJB_release/IJBC`).
    #[arg(long)]
    pub root: PathBuf,
    /// Which release (selects the meta file prefix).
    #[arg(long, value_enum, default_value = "ijbc")]
    pub dataset: Dataset,
    /// Embedding store: row i is the feature of line i of the face list, keyed by image name.
    #[arg(long)]
    pub features: PathBuf,
    /// How to get an image feature from its row.
    #[arg(long, value_enum, default_value = "sum")]
    pub flip: Flip,
    /// L2-normalize image features (insightface use_norm_score=False).
    #[arg(long)]
    pub no_norm_score: bool,
    /// Do not weight image features by the detector score.
    #[arg(long)]
    pub no_detector_score: bool,
    #[command(flatten)]
    pub metric: MetricOptions,
    /// Write a ROC curve to FILE, PNG or SVG.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write the scored pairs (`<template_1> <template_2> <score> target|nontarget`, scores in
    /// full f64 precision) to FILE.
    #[arg(long, value_name = "FILE")]
    pub scores: Option<PathBuf>,
}

/// Runs `eval-kit ijb`.
pub fn run(args: IjbArgs) -> anyhow::Result<()> {
    let dataset = match args.dataset {
        Dataset::Ijbb => IjbDataset::IjbB,
        Dataset::Ijbc => IjbDataset::IjbC,
    };
    let paths = IjbPaths::under(&args.root, dataset);
    let features = MappedEmbeddings::open(&args.features)
        .with_context(|| format!("reading features {}", args.features.display()))?;
    let config = IjbConfig {
        flip: match args.flip {
            Flip::Sum => FlipMode::Sum,
            Flip::FirstHalf => FlipMode::FirstHalf,
            Flip::AsIs => FlipMode::AsIs,
        },
        keep_norm: !args.no_norm_score,
        detector_score: !args.no_detector_score,
    };
    let trials = ijb_scores(&paths, &features, &config)?;
    drop(features);
    if let Some(path) = &args.scores {
        write_pair_scores(path, &paths.template_pair_label, &trials)?;
    }
    let curve = ScoreCurve::new(&trials.scores, &trials.is_target)?;
    drop(trials);
    let metric_config = args.metric.config();
    let report = VerificationReport::new(&curve, &metric_config)?;
    if let Some(path) = &args.plot {
        crate::plot_report(path, &curve, &report, &metric_config, true)
            .with_context(|| format!("plotting {}", path.display()))?;
    }
    if args.metric.json {
        print_json(&report)
    } else {
        print_report(&report);
        Ok(())
    }
}
