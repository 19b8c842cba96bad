//! `eval-kit`: verification metrics and protocols on the command line.
#![allow(clippy::print_stdout)]

mod ijb;
mod metrics;
mod output;
mod pairs;
mod score;

use clap::{Parser, Subcommand};

/// Verification metrics (ROC, EER, minDCF, TAR@FAR) and protocols.
#[derive(Debug, Parser)]
#[command(name = "eval-kit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// EER, minDCF and TAR@FAR of scored trials.
    Metrics(metrics::MetricsArgs),
    /// Cosine-score a trial list from embeddings (mean subtraction, AS-norm).
    Score(score::ScoreArgs),
    /// IJB-B / IJB-C 1:1 verification from image features.
    Ijb(ijb::IjbArgs),
    /// 10-fold accuracy of labelled pairs (LFW / CFP-FP / AgeDB-30).
    Pairs(pairs::PairsArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Metrics(args) => metrics::run(args),
        Command::Score(args) => score::run(args),
        Command::Ijb(args) => ijb::run(args),
        Command::Pairs(args) => pairs::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

/// Plots a report: a ROC with `roc`, else a DET curve.
fn plot_report(
    path: &std::path::Path,
    curve: &eval_kit::ScoreCurve,
    report: &eval_kit::VerificationReport,
    config: &eval_kit::MetricsConfig,
    roc: bool,
) -> Result<(), eval_kit::MetricError> {
    use eval_kit::plot::{plot_curve, CurveKind};
    let (kind, title) = if roc {
        (CurveKind::Roc, "ROC")
    } else {
        (CurveKind::Det, "DET")
    };
    plot_curve(path, curve, report, config, kind, title)
}
