//! `sweep`: a loss-comparison sweep from a sweep file (default: the app's built-in one), see
//! [`crate::sweep`].

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::app::TrainApp;
use crate::device::DeviceChoice;
use crate::sweep::spec::SweepSpec;
use crate::sweep::{run_sweep, SweepOptions};

/// The flags of `sweep` in both apps.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Sweep file (TOML; default: the app's built-in default sweep).
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Root of the run folders (default: runs/sweep-<app>-<sweep name>). Finished runs there
    /// are skipped, interrupted ones resumed.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Markdown file whose section for this sweep is (re)written; plots and sweep.json go to
    /// results/<app>-<sweep name>/ beside it (default: <out>/RESULTS.md).
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// Seeds instead of the file's `sweep.seeds` (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "SEEDS")]
    pub seeds: Option<Vec<u64>>,
    /// Bootstrap replicates instead of the file's `sweep.replicates`.
    #[arg(long, value_name = "N")]
    pub replicates: Option<usize>,
    /// Extra `--set` item for every run (after the file's `sweep.set`), repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, value_name = "DEVICE", default_value = "auto")]
    pub device: DeviceChoice,
}

/// Quotes an argument for a POSIX shell when it needs it.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:@+".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Runs `sweep` for app `A`.
pub fn run<A: TrainApp>(args: &SweepArgs) -> Result<()> {
    let mut spec = match &args.spec {
        Some(path) => SweepSpec::read(path)?,
        None => SweepSpec::parse(A::SWEEP.0, std::path::Path::new(A::SWEEP.1))?,
    };
    if let Some(seeds) = &args.seeds {
        spec.sweep.seeds = seeds.clone();
    }
    if let Some(r) = args.replicates {
        spec.sweep.replicates = r;
    }
    spec.sweep.set.extend(args.set.iter().cloned());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/sweep-{}-{}", A::NAME, spec.sweep.name)));
    let results = args
        .results
        .clone()
        .unwrap_or_else(|| out.join("RESULTS.md"));
    let mut words: Vec<String> = std::env::args().collect();
    if let Some(first) = words.first_mut() {
        *first = format!("{}-app", A::NAME);
    }
    let command = words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ");
    run_sweep::<A>(
        &spec,
        &SweepOptions {
            out,
            results,
            command,
            device: args.device.open()?,
        },
    )
}
