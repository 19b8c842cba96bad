//! What an app supplies to the run loop: a [`Task`].
//!
//! [`fit`](crate::fit::fit) owns the run (schedule, optimizer, NaN guard, gradient sync,
//! checkpoints and exact resume, metrics, progress, the run folder); a task owns what is
//! particular to it: its variables, its batches, the forward loss, hooks around a step, the
//! export of its model and its final evaluation.

use std::path::Path;

use candle_nn::VarMap;

use crate::optim::{GroupRule, Optimizer};
use crate::progress::Progress;
use crate::trainer::StepOutput;

/// Errors a task returns: any error, boxed (`anyhow::Error` converts with `.into()`).
pub type TaskError = Box<dyn std::error::Error + Send + Sync>;

/// Result of a task's methods.
pub type TaskResult<T> = std::result::Result<T, TaskError>;

/// A batch and where the data stands after it.
#[derive(Debug)]
pub struct Positioned<B> {
    /// The batch.
    pub batch: B,
    /// What [`Task::batches`] needs to continue right after this batch (saved in checkpoints).
    pub resume_from: serde_json::Value,
}

/// The batches of a run, in order, without end (the run loop stops reading when it is done).
pub type Batches<B> = Box<dyn Iterator<Item = TaskResult<Positioned<B>>> + Send>;

/// Where the run stands when a hook or the forward pass runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInfo {
    /// Index of this step (0-based: steps completed before it).
    pub step: u64,
    /// Epoch of this step (`step / steps_per_epoch`).
    pub epoch: u64,
    /// `Some(epoch)` on the first step of an epoch.
    pub epoch_start: Option<u64>,
    /// Steps of the whole run.
    pub total_steps: u64,
    /// Learning rate of this step's update.
    pub lr: f64,
    /// Whether this step writes a `metrics.jsonl` line (a task averaging its metrics over the
    /// steps between lines returns them on these steps).
    pub logs_metrics: bool,
}

/// What a hook may do besides changing the task's own state.
pub struct Hooks<'a> {
    /// Where the run stands.
    pub info: StepInfo,
    pub(crate) optimizer: &'a mut dyn Optimizer,
    pub(crate) events: &'a mut serde_json::Map<String, serde_json::Value>,
    pub(crate) progress: &'a Progress,
    pub(crate) is_main: bool,
}

impl Hooks<'_> {
    /// Drops the optimizer state of every parameter of the variable set `set` (its momentum or
    /// Adam moments); returns how many buffers were dropped.
    pub fn reset_optimizer_state(&mut self, set: &str) -> crate::Result<usize> {
        let prefix = format!("{set}/");
        self.optimizer
            .reset_state_of(&|name: &str| name.starts_with(&prefix))
    }

    /// Adds `key = value` to the next `metrics.jsonl` line (e.g. an A3M-I event).
    pub fn event(&mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) {
        self.events.insert(key.into(), value.into());
    }

    /// Prints a line above the progress bar (on the main rank only).
    pub fn note(&self, line: &str) {
        if self.is_main {
            self.progress.warn(line);
        }
    }
}

/// An app's side of a training run; see the [module docs](self).
pub trait Task {
    /// One batch as the task's data yields it.
    type Batch;

    /// The variable sets to optimize and checkpoint, named (e.g. `model` and `head`); a
    /// variable's qualified name is `<set>/<name>`.
    fn var_sets(&self) -> Vec<(String, VarMap)>;

    /// Parameter-group rules beyond the plan's per-set learning-rate scales (default: none).
    fn group_rules(&self) -> Vec<GroupRule> {
        Vec::new()
    }

    /// Optimizer steps per epoch of the task's data, for the plan's epoch-based settings.
    fn steps_per_epoch(&self) -> u64;

    /// The batches from `resume` on: `Value::Null` at the start of a run, else a
    /// [`Positioned::resume_from`] saved in a checkpoint.
    fn batches(&mut self, resume: &serde_json::Value) -> TaskResult<Batches<Self::Batch>>;

    /// Called before each step's forward pass (re-initializations, margin schedules, ...).
    fn before_step(&mut self, _hooks: &mut Hooks<'_>) -> TaskResult<()> {
        Ok(())
    }

    /// The loss of one batch (in training mode) and its metrics.
    fn forward(&mut self, batch: &Self::Batch, info: &StepInfo) -> TaskResult<StepOutput>;

    /// Called after each step, applied or skipped (periodic validation, monitors, ...).
    fn after_step(&mut self, _hooks: &mut Hooks<'_>, _applied: bool) -> TaskResult<()> {
        Ok(())
    }

    /// Writes the trained model into `model_dir` (the run's `model/` folder; anything else the
    /// run keeps, such as a class map, into `run_dir`), on the main rank, right after the final
    /// checkpoint and before [`evaluate`](Self::evaluate).
    fn export(&mut self, run_dir: &Path, model_dir: &Path, steps: u64) -> TaskResult<()>;

    /// The final evaluation (held-out verification, plots in `run_dir`); its value goes into
    /// `report.json`. It may update the exported model (e.g. with score thresholds).
    fn evaluate(&mut self, run_dir: &Path, model_dir: &Path) -> TaskResult<serde_json::Value>;

    /// Fields the task adds to `report.json` (counts of skipped inputs, events, ...).
    fn report(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
}
