//! Loss-comparison sweeps: every variant of a [sweep file](spec) trained under one recipe on
//! every protocol and seed, then scored with identity-bootstrap intervals ([`analysis`]) and
//! written up as JSON, overlaid ROC / DET plots and a section of `RESULTS.md` ([`markdown`]).
//!
//! Runs live in `<out>/<protocol>[/<grid>]/<variant>/seed-<n>/` (ordinary run folders). A run
//! with a report and held-out embeddings is done and skipped; one with checkpoints but no
//! report resumes; either must have been made by the same config (the first differing key is
//! named otherwise). The untrained starting weights of each (protocol, grid point, seed) are
//! embedded once into `.../start/seed-<n>/` as the `start` baseline.

pub mod analysis;
pub mod markdown;
pub mod spec;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::Device;
use train_kit::overrides::first_difference;

use crate::app::{config_from_toml, AppConfig, TrainApp};
use crate::config::may_change_on_resume;
use crate::task::{train, TrainOptions, VerificationTask, HELDOUT_EMBEDDINGS};
use spec::{grid_suffix, run_dir, PlannedRun, SweepSpec, START};

/// Where a sweep writes and what it runs on.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Root of the run folders.
    pub out: PathBuf,
    /// The markdown file whose section for this app and sweep is (re)written; plots and
    /// `sweep.json` go to `results/<app>-<sweep name>/` next to it.
    pub results: PathBuf,
    /// The command line, for the write-up.
    pub command: String,
    /// Where tensors live.
    pub device: Device,
}

/// What a run folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunState {
    /// Report and held-out embeddings: nothing to do.
    Done,
    /// Checkpoints but no report: resume.
    Interrupted,
    /// Nothing yet.
    Fresh,
}

/// The state of the run folder `dir` for `config`; a folder made by another config is an error
/// naming the first key that differs.
fn state_of<A: TrainApp>(dir: &Path, config: &AppConfig<A>) -> Result<RunState> {
    let saved_path = dir.join("config.toml");
    let Ok(saved_text) = std::fs::read_to_string(&saved_path) else {
        return Ok(RunState::Fresh);
    };
    let saved = config_from_toml::<A>(&saved_text, &saved_path.display().to_string(), &[])?;
    let a = toml::Table::try_from(&saved)?;
    let b = toml::Table::try_from(config)?;
    if let Some((key, was, now)) = first_difference(&a, &b, &|k| {
        may_change_on_resume(k) && !k.starts_with("eval")
    }) {
        bail!(
            "{}: this run folder was made with {key} = {was}, the sweep now asks for {now}; remove the folder or sweep into another --out",
            dir.display()
        );
    }
    let has_checkpoints = std::fs::read_dir(dir.join("checkpoints"))
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    Ok(
        if dir.join("report.json").is_file() && dir.join(HELDOUT_EMBEDDINGS).is_file() {
            RunState::Done
        } else if has_checkpoints {
            RunState::Interrupted
        } else {
            RunState::Fresh
        },
    )
}

/// Trains (or resumes, or skips) one planned run; returns its wall time in this process.
fn execute<A: TrainApp>(run: &PlannedRun<A>, label: &str, device: &Device) -> Result<Option<f64>> {
    let state = state_of::<A>(&run.dir, &run.config)?;
    if state == RunState::Done {
        eprintln!("{label}: done earlier, skipped");
        return Ok(None);
    }
    if state == RunState::Interrupted {
        eprintln!("{label}: resuming the interrupted run");
    }
    let started = Instant::now();
    let outcome = train::<A>(
        &run.config,
        &TrainOptions {
            out: run.dir.clone(),
            resume: state == RunState::Interrupted,
            device: device.clone(),
            stop_after: None,
        },
    )
    .with_context(|| format!("{label} ({})", run.dir.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    match &outcome.heldout {
        Some(h) => eprintln!(
            "{label}: {} steps in {seconds:.0} s, held-out EER {:.2}%",
            outcome.fit.steps,
            100.0 * h.metrics.eer
        ),
        None => bail!(
            "{label}: the run has no held-out report (a sweep needs eval.heldout_identities > 0)"
        ),
    }
    Ok(Some(seconds))
}

/// Embeds the held-out items with the untrained weights of `config` into `dir` (once).
fn embed_start<A: TrainApp>(dir: &Path, config: &AppConfig<A>, device: &Device) -> Result<()> {
    let file = dir.join(HELDOUT_EMBEDDINGS);
    let config_text = config.to_toml()?;
    let config_path = dir.join("config.toml");
    if file.is_file() {
        if std::fs::read_to_string(&config_path).ok().as_deref() == Some(config_text.as_str()) {
            return Ok(());
        }
        std::fs::remove_file(&file)
            .with_context(|| format!("replacing the stale {}", file.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let task = VerificationTask::<A>::new(config, device)?;
    let emb = task
        .heldout_embeddings()?
        .context("the sweep's protocol holds out no identities (set eval.heldout_identities)")?;
    emb.save(&file)?;
    train_kit::atomic_file::write_atomic(&config_path, config_text.as_bytes())?;
    Ok(())
}

/// Runs the sweep `spec` for app `A`: plans and checks every run, trains what is not done,
/// embeds the untrained baselines, then analyses and writes up every protocol.
pub fn run_sweep<A: TrainApp>(spec: &SweepSpec, opts: &SweepOptions) -> Result<()> {
    let started = Instant::now();
    let runs = spec.plan::<A>(&opts.out)?;
    eprintln!(
        "sweep {}: {} protocol(s) x {} grid point(s) x {} variant(s) x {} seed(s) = {} runs in {}",
        spec.sweep.name,
        spec.protocols.len(),
        spec.grid_points().len(),
        spec.variants.len(),
        spec.sweep.seeds.len(),
        runs.len(),
        opts.out.display()
    );
    let mut train_seconds = 0.0;
    let mut trained = 0;
    for (i, run) in runs.iter().enumerate() {
        let label = format!(
            "[{}/{}] {}/{}{} seed {}",
            i + 1,
            runs.len(),
            run.protocol,
            run.variant,
            grid_suffix(&run.grid),
            run.seed
        );
        if let Some(s) = execute::<A>(run, &label, &opts.device)? {
            train_seconds += s;
            trained += 1;
        }
    }
    for protocol in &spec.protocols {
        for grid in spec.grid_points() {
            for &seed in &spec.sweep.seeds {
                let config = spec.start_config::<A>(protocol, &grid, seed)?;
                let dir = run_dir(&opts.out, &protocol.name, &grid.label, START, seed);
                embed_start::<A>(&dir, &config, &opts.device)
                    .with_context(|| format!("{}/{START} seed {seed}", protocol.name))?;
            }
        }
    }
    let results = analysis::analyse::<A>(spec, &runs, &opts.out)?;
    let written = markdown::write_up::<A>(
        spec,
        &results,
        opts,
        &markdown::Timing {
            sweep_seconds: started.elapsed().as_secs_f64(),
            trained_runs: trained,
            train_seconds,
        },
    )?;
    eprintln!("results: {}", written.display());
    Ok(())
}
