//! The run: [`fit`] drives a [`Task`] from its first step (or its newest valid checkpoint) to
//! the end, the same way for every app.
//!
//! One step: the task's batch → `before_step` hooks → forward (the task's loss) → backward →
//! gradient sync ([`sync_gradients`](crate::collective::sync_gradients), a no-op for one process)
//! → NaN guard (a skipped step also restores BatchNorm's running statistics) → optimizer update
//! at the scheduled learning rate → `after_step` hooks → `metrics.jsonl`, progress, periodic
//! checkpoint. At the end: the final checkpoint and the model bundle are written first, then the
//! task's evaluation, then `report.json`, so a failing evaluation never costs the trained model.
//!
//! The run folder has one writer: [`RunLock`] is held for the whole run, stale temporary
//! checkpoint folders of killed processes are removed, and only the main rank writes files.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::collective::{Collective, SingleProcess};
use crate::error::{Result, TrainError};
use crate::optim::{param_groups, GroupRule};
use crate::plan::{FitPlan, ResolvedPlan};
use crate::run_dir::RunDir;
use crate::run_lock::{LockTaken, RunLock};
use crate::task::{Hooks, StepInfo, Task, TaskError};
use crate::trainer::{StepOutcome, StepOutput, Trainer, TrainerConfig};

/// Where and how a run goes.
#[derive(Clone)]
pub struct FitOptions {
    /// The run folder.
    pub out: PathBuf,
    /// Continue from the newest valid checkpoint in `out` (an error when there is none).
    pub resume: bool,
    /// The app's whole resolved config, written to `config.toml`.
    pub config_text: String,
    /// The processes of the run.
    pub collective: Arc<dyn Collective>,
    /// Stop after this many steps with a checkpoint, as an interrupted run would (tests of
    /// `--resume`): no export, no evaluation.
    pub stop_after: Option<u64>,
}

impl FitOptions {
    /// A single-process run into `out` writing `config_text` as its `config.toml`.
    pub fn new(out: impl Into<PathBuf>, resume: bool, config_text: impl Into<String>) -> Self {
        Self {
            out: out.into(),
            resume,
            config_text: config_text.into(),
            collective: Arc::new(SingleProcess),
            stop_after: None,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct FitSummary {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The exported model (`<run>/model`); not written when the run stopped early.
    pub model_dir: PathBuf,
    /// Steps done in total.
    pub steps: u64,
    /// The plan's resolved counts.
    pub resolved: ResolvedPlan,
    /// Steps the NaN guard skipped over the whole run.
    pub skipped_steps: u64,
    /// The step the run resumed from, if it did.
    pub resumed_from: Option<u64>,
    /// Wall time of this process's training steps, in seconds.
    pub train_seconds: f64,
    /// The task's evaluation (`None` when the run stopped early).
    pub evaluation: Option<serde_json::Value>,
    /// The content of `report.json` (`Null` when the run stopped early).
    pub report: serde_json::Value,
}

fn task_error(e: TaskError) -> TrainError {
    TrainError::Task(e)
}

/// Runs `task` as `plan` says; see the [module docs](self).
pub fn fit<T: Task>(plan: &FitPlan, task: &mut T, opts: &FitOptions) -> Result<FitSummary> {
    let collective = Arc::clone(&opts.collective);
    let is_main = collective.is_main();
    let var_sets = task.var_sets();
    let set_names: Vec<&str> = var_sets.iter().map(|(n, _)| n.as_str()).collect();
    plan.validate(&set_names)?;
    let resolved = plan.resolve(task.steps_per_epoch())?;

    let run = RunDir::create(&opts.out)?;
    let _lock = if is_main {
        let (lock, taken) = RunLock::acquire(run.root())?;
        if let LockTaken::TakenOver(message) = taken {
            eprintln!("note: {message}");
        }
        Some(lock)
    } else {
        None
    };
    let trainer_cfg = TrainerConfig {
        total_steps: resolved.total_steps,
        log_every_steps: plan.train.log_every_steps,
        schedule: plan.lr_schedule(&resolved),
        checkpoint: plan.checkpoint.clone(),
        non_finite: plan.train.non_finite.clone(),
        seed: plan.train.seed,
        progress_bar: plan.train.progress_bar && is_main,
    };
    let mut rules: Vec<GroupRule> = plan
        .train
        .lr_scale
        .iter()
        .map(|(set, scale)| {
            let prefix = format!("{set}/");
            GroupRule::new(set.clone(), move |n| n.starts_with(&prefix)).lr_scale(*scale)
        })
        .collect();
    rules.extend(task.group_rules());
    let sets: Vec<(&str, &candle_nn::VarMap)> =
        var_sets.iter().map(|(n, m)| (n.as_str(), m)).collect();
    let optimizer = plan.optim.build(param_groups(&sets, &rules)?)?;
    let named: Vec<(&str, candle_nn::VarMap)> = var_sets
        .iter()
        .map(|(n, m)| (n.as_str(), m.clone()))
        .collect();
    let mut trainer = Trainer::new(trainer_cfg, run.clone(), named, optimizer)?
        .with_collective(Arc::clone(&collective));

    let has_checkpoint = !trainer.store().list()?.is_empty();
    if has_checkpoint && !opts.resume {
        return Err(TrainError::RunInUse {
            path: run.checkpoints_dir(),
            problem: "the run folder already holds checkpoints: pass --resume to continue that run, or choose another --out".into(),
        });
    }
    if opts.resume && !has_checkpoint {
        return Err(TrainError::Mismatch {
            path: run.checkpoints_dir(),
            problem: "--resume: the run has no checkpoint to continue from".into(),
        });
    }
    if is_main {
        let removed = trainer.store().remove_temporaries()?;
        if removed > 0 {
            eprintln!(
                "note: removed {removed} unfinished checkpoint folder(s) of an interrupted run"
            );
        }
        crate::atomic_file::write_atomic(&run.config_path(), opts.config_text.as_bytes())?;
    }
    let mut resumed_from = None;
    if opts.resume {
        if let Some((manifest, passed)) = trainer.resume_newest_valid()? {
            for line in passed {
                eprintln!("warning: {line}");
            }
            eprintln!(
                "resuming at step {} of {} (epoch {})",
                manifest.step, resolved.total_steps, manifest.epoch
            );
            resumed_from = Some(manifest.step);
        }
    }

    let started = Instant::now();
    let mut batches = task.batches(trainer.loader_state()).map_err(task_error)?;
    let mut events = serde_json::Map::new();
    let log_every = plan.train.log_every_steps;
    while !trainer.is_done() {
        let step = trainer.step();
        let positioned = match batches.next() {
            Some(item) => item.map_err(task_error)?,
            None => {
                return Err(TrainError::Task(
                    format!(
                        "the training data ended at step {step} of {}",
                        resolved.total_steps
                    )
                    .into(),
                ))
            }
        };
        let epoch = step / resolved.steps_per_epoch;
        trainer.set_epoch(epoch);
        let info = StepInfo {
            step,
            epoch,
            epoch_start: step
                .is_multiple_of(resolved.steps_per_epoch)
                .then_some(epoch),
            total_steps: resolved.total_steps,
            lr: trainer.lr_for(step),
            logs_metrics: (step + 1).is_multiple_of(log_every) || step + 1 == resolved.total_steps,
        };
        with_hooks(&mut trainer, info, &mut events, is_main, |hooks| {
            task.before_step(hooks)
        })?;
        trainer.set_loader_state(positioned.resume_from);
        let batch = positioned.batch;
        let pending_events = &mut events;
        let outcome = trainer.train_step(|_ctx| -> Result<StepOutput> {
            let mut output = task.forward(&batch, &info).map_err(task_error)?;
            if info.logs_metrics {
                output.extra.append(pending_events);
            }
            Ok(output)
        })?;
        let applied = matches!(outcome, StepOutcome::Applied { .. });
        with_hooks(&mut trainer, info, &mut events, is_main, |hooks| {
            task.after_step(hooks, applied)
        })?;
        if opts.stop_after == Some(trainer.step()) && !trainer.is_done() {
            trainer.save_checkpoint()?;
            return Ok(FitSummary {
                run_dir: run.root().to_path_buf(),
                model_dir: run.root().join("model"),
                steps: trainer.step(),
                resolved,
                skipped_steps: trainer.skipped_steps(),
                resumed_from,
                train_seconds: started.elapsed().as_secs_f64(),
                evaluation: None,
                report: serde_json::Value::Null,
            });
        }
    }
    drop(batches);
    let train_seconds = started.elapsed().as_secs_f64();
    let steps = trainer.step();
    if !trainer.has_checkpoint_now() {
        trainer.save_checkpoint()?;
    }
    let model_dir = run.root().join("model");
    let mut evaluation = None;
    let mut evaluation_error = None;
    if is_main {
        task.export(run.root(), &model_dir, steps)
            .map_err(task_error)?;
        match task.evaluate(run.root(), &model_dir) {
            Ok(value) => evaluation = Some(value),
            Err(e) => evaluation_error = Some(e),
        }
    }
    collective.barrier()?;
    let mut report = serde_json::Map::new();
    report.insert("steps".into(), steps.into());
    report.insert("total_steps".into(), resolved.total_steps.into());
    report.insert("steps_per_epoch".into(), resolved.steps_per_epoch.into());
    report.insert("skipped_steps".into(), trainer.skipped_steps().into());
    report.insert("train_seconds".into(), train_seconds.into());
    report.insert("world_size".into(), collective.world_size().into());
    report.insert("resumed_from_step".into(), resumed_from.into());
    report.insert("model".into(), "model".into());
    report.append(&mut task.report());
    report.insert(
        "evaluation_error".into(),
        evaluation_error
            .as_ref()
            .map(|e| serde_json::Value::String(error_chain(e.as_ref())))
            .unwrap_or(serde_json::Value::Null),
    );
    report.insert(
        "heldout".into(),
        evaluation.clone().unwrap_or(serde_json::Value::Null),
    );
    let report = serde_json::Value::Object(report);
    let skipped_steps = trainer.skipped_steps();
    trainer.finish(&report)?;
    if let Some(e) = evaluation_error {
        return Err(TrainError::Task(
            format!(
                "the final evaluation failed ({}); the trained model is in {} and the last checkpoint in {}",
                error_chain(e.as_ref()),
                model_dir.display(),
                run.checkpoints_dir().display()
            )
            .into(),
        ));
    }
    Ok(FitSummary {
        run_dir: run.root().to_path_buf(),
        model_dir,
        steps,
        resolved,
        skipped_steps,
        resumed_from,
        train_seconds,
        evaluation,
        report,
    })
}

/// Runs a step hook with the trainer's optimizer and progress bar.
fn with_hooks(
    trainer: &mut Trainer,
    info: StepInfo,
    events: &mut serde_json::Map<String, serde_json::Value>,
    is_main: bool,
    hook: impl FnOnce(&mut Hooks<'_>) -> crate::task::TaskResult<()>,
) -> Result<()> {
    let (optimizer, progress) = trainer.hook_parts();
    let mut hooks = Hooks {
        info,
        optimizer,
        events,
        progress,
        is_main,
    };
    hook(&mut hooks).map_err(task_error)
}

/// An error and its sources as one line, `a: b: c`.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}
