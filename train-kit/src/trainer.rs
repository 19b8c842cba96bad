//! A small training-loop helper: schedule, guard, optimizer step, metrics, checkpoints.
//!
//! The app keeps its own loop and data; each iteration calls [`Trainer::train_step`] with a
//! closure that runs the forward pass and returns the loss. Everything else (learning rate,
//! NaN/Inf guard, backward, update, `metrics.jsonl`, progress, periodic checkpoints) happens here.
//!
//! A full training loop as an app writes it (the app's loader makes the batch of a step from
//! `(seed, step)`, so resuming needs only the step; `loader_state` is there for loaders that
//! need more):
//!
//! ```no_run
//! use candle_core::{DType, Device, Module, Tensor};
//! use candle_nn::{linear, VarBuilder, VarMap};
//! use train_kit::{
//!     param_groups, GroupRule, OptimizerConfig, RunDir, SgdConfig, StepOutput, TrainError,
//!     Trainer, TrainerConfig,
//! };
//!
//! fn batch(step: u64) -> candle_core::Result<(Tensor, Tensor)> {
//!     let x = Tensor::randn(0f32, 1.0, (64, 512), &Device::Cpu)?; // the app's loader
//!     let y = Tensor::from_vec(vec![(step % 1000) as u32; 64], 64, &Device::Cpu)?;
//!     Ok((x, y))
//! }
//!
//! fn main() -> Result<(), TrainError> {
//!     train_kit::alloc::tune_glibc_malloc(); // first thing in main
//!     let (model_vars, head_vars) = (VarMap::new(), VarMap::new());
//!     let vb = VarBuilder::from_varmap(&model_vars, DType::F32, &Device::Cpu);
//!     let backbone = linear(512, 128, vb.pp("fc"))?;
//!     let vb = VarBuilder::from_varmap(&head_vars, DType::F32, &Device::Cpu);
//!     let head = linear(128, 1000, vb)?;
//!
//!     let cfg: TrainerConfig = toml::from_str(
//!         r#"
//!         total_steps = 1000
//!         log_every_steps = 10
//!         seed = 42
//!         schedule = { base_lr = 0.1, warmup_steps = 100, decay = { kind = "polynomial", decay_steps = 900, power = 2.0 } }
//!         checkpoint = { every_steps = 200, keep_last = 3 }
//!         non_finite = { action = "skip", max_consecutive = 5 }
//!         "#,
//!     )
//!     .expect("valid config");
//!     let run = RunDir::create("runs/r1")?;
//!     run.write_config(&cfg)?; // an app writes its whole resolved plan here
//!
//!     let sets = [("model", &model_vars), ("head", &head_vars)];
//!     let rules = [
//!         GroupRule::new("head", |n| n.starts_with("head/")).lr_scale(10.0),
//!         GroupRule::new("no_decay", |n| n.ends_with(".bias")).weight_decay(0.0),
//!     ];
//!     let optimizer = OptimizerConfig::Sgd(SgdConfig::arcface()).build(param_groups(&sets, &rules)?)?;
//!     let var_sets = vec![("model", model_vars.clone()), ("head", head_vars.clone())];
//!     let mut trainer = Trainer::new(cfg, run, var_sets, optimizer)?;
//!     if let Some(ckpt) = trainer.resume_latest()? {
//!         eprintln!("resuming at step {} (epoch {})", ckpt.step, ckpt.epoch);
//!     }
//!     while !trainer.is_done() {
//!         let (x, y) = batch(trainer.step())?;
//!         trainer.set_epoch(trainer.step() / 500);
//!         trainer.train_step(|_ctx| -> Result<StepOutput, TrainError> {
//!             let logits = head.forward(&backbone.forward(&x)?.relu()?)?;
//!             let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
//!             Ok(StepOutput::new(loss, 64).with_metric("alpha", 1.5))
//!         })?;
//!     }
//!     trainer.finish(&serde_json::json!({ "note": "the app's final metrics" }))?;
//!     Ok(())
//! }
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use candle_core::{DType, Tensor};
use candle_nn::VarMap;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::buffers::BufferSnapshot;
use crate::checkpoint::{CheckpointConfig, CheckpointManifest, CheckpointStore, FORMAT_VERSION};
use crate::collective::{sync_gradients, Collective, SingleProcess};
use crate::error::{Result, TrainError};
use crate::guard::{NonFiniteGuard, NonFinitePolicy, Verdict};
use crate::metrics::{check_extra_fields, MetricRecord, MetricsLog};
use crate::optim::{NamedVar, Optimizer};
use crate::progress::Progress;
use crate::rng_state::RngState;
use crate::run_dir::RunDir;
use crate::schedule::LrSchedule;

/// The trainer's settings, part of an app's run config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainerConfig {
    /// Steps of the whole run.
    pub total_steps: u64,
    /// Write a `metrics.jsonl` line every this many steps (and at the last step).
    pub log_every_steps: u64,
    /// Learning-rate schedule, evaluated at every step.
    pub schedule: LrSchedule,
    /// Checkpoint frequency and retention.
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// What to do on NaN/Inf loss or gradients.
    #[serde(default)]
    pub non_finite: NonFinitePolicy,
    /// Seed of the trainer's random generator (handed to the step closure).
    pub seed: u64,
    /// Draw a progress bar when stderr is a terminal.
    #[serde(default = "yes")]
    pub progress_bar: bool,
}

fn yes() -> bool {
    true
}

/// What the step closure sees.
pub struct StepContext<'a> {
    /// Index of this step (0-based; equals steps completed before it).
    pub step: u64,
    /// The app's epoch counter.
    pub epoch: u64,
    /// Learning rate this update will use.
    pub lr: f64,
    /// Random generator, checkpointed with the run (e.g. for dropout masks or augmentation).
    pub rng: &'a mut ChaCha8Rng,
}

/// What the step closure returns.
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// Scalar loss to minimise.
    pub loss: Tensor,
    /// Samples in the batch, for throughput.
    pub samples: usize,
    /// Extra fields for the metrics line (the last step's values are logged).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl StepOutput {
    /// A loss over `samples` samples, with no extra metrics.
    pub fn new(loss: Tensor, samples: usize) -> Self {
        Self {
            loss,
            samples,
            extra: serde_json::Map::new(),
        }
    }

    /// Adds a field to the metrics line.
    pub fn with_metric(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

/// What happened in one [`Trainer::train_step`].
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// The update was applied.
    Applied {
        /// The loss value.
        loss: f64,
        /// The learning rate used.
        lr: f64,
    },
    /// The guard skipped the update; the text says what was not finite.
    Skipped(String),
}

/// Owns optimizer, schedule, guard, metrics, progress and checkpoints of one run.
pub struct Trainer {
    cfg: TrainerConfig,
    run: RunDir,
    var_sets: Vec<(String, VarMap)>,
    optimizer: Box<dyn Optimizer>,
    store: CheckpointStore,
    metrics: MetricsLog,
    guard: NonFiniteGuard,
    progress: Progress,
    rng: ChaCha8Rng,
    step: u64,
    epoch: u64,
    lr: f64,
    loader_state: serde_json::Value,
    last_checkpoint_step: Option<u64>,
    window: Window,
    collective: Arc<dyn Collective>,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    loss_sum: f64,
    applied: u64,
    samples: usize,
    extra: serde_json::Map<String, serde_json::Value>,
}

impl Window {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            loss_sum: 0.0,
            applied: 0,
            samples: 0,
            extra: serde_json::Map::new(),
        }
    }
}

impl Trainer {
    /// A trainer at step 0 writing into `run`.
    ///
    /// `var_sets` are the named variable maps to checkpoint (e.g. `[("model", vm), ("head",
    /// hm)]`); `optimizer` must have been built over (some of) their variables. `metrics.jsonl`
    /// is appended to; call [`resume_latest`](Self::resume_latest) before the first step to
    /// continue a previous run.
    pub fn new(
        cfg: TrainerConfig,
        run: RunDir,
        var_sets: Vec<(&str, VarMap)>,
        optimizer: Box<dyn Optimizer>,
    ) -> Result<Self> {
        cfg.schedule.validate()?;
        if cfg.log_every_steps == 0 {
            return Err(TrainError::InvalidConfig {
                field: "trainer.log_every_steps",
                value: "0".into(),
                reason: "must be > 0",
            });
        }
        let store = CheckpointStore::new(run.checkpoints_dir(), cfg.checkpoint.keep_last)?;
        let metrics = MetricsLog::open(run.metrics_path(), None)?;
        let progress = Progress::new(cfg.total_steps, 0, cfg.progress_bar);
        Ok(Self {
            guard: NonFiniteGuard::new(cfg.non_finite.clone(), 0),
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            lr: cfg.schedule.lr_at(0),
            var_sets: var_sets
                .into_iter()
                .map(|(n, m)| (n.to_string(), m))
                .collect(),
            cfg,
            run,
            optimizer,
            store,
            metrics,
            progress,
            step: 0,
            epoch: 0,
            loader_state: serde_json::Value::Null,
            last_checkpoint_step: None,
            window: Window::new(),
            collective: Arc::new(SingleProcess),
        })
    }

    /// Runs as one rank of `collective`: gradients are averaged over the ranks before the
    /// guard and the update, and only the main rank writes `metrics.jsonl` and checkpoints.
    pub fn with_collective(mut self, collective: Arc<dyn Collective>) -> Self {
        self.collective = collective;
        self
    }

    /// The processes of this run.
    pub fn collective(&self) -> &dyn Collective {
        self.collective.as_ref()
    }

    /// The learning rate the schedule gives the update of `step`.
    pub fn lr_for(&self, step: u64) -> f64 {
        self.cfg.schedule.lr_at(step)
    }

    /// The optimizer and the progress bar at once, for step hooks.
    pub(crate) fn hook_parts(&mut self) -> (&mut dyn Optimizer, &Progress) {
        (self.optimizer.as_mut(), &self.progress)
    }

    /// The progress bar (for messages printed above it).
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The checkpoint store of the run.
    pub fn store(&self) -> &CheckpointStore {
        &self.store
    }

    /// Restores the newest checkpoint that loads, going back to older ones when the newest is
    /// damaged; returns its manifest and one line per checkpoint passed over (saying why), or
    /// `None` when the run has no checkpoint at all. Fails when none of them loads.
    pub fn resume_newest_valid(&mut self) -> Result<Option<(CheckpointManifest, Vec<String>)>> {
        let list = self.store.list()?;
        if list.is_empty() {
            return Ok(None);
        }
        let mut passed = Vec::new();
        for (_, path) in list.into_iter().rev() {
            match self.resume_from(path.clone()) {
                Ok(manifest) => return Ok(Some((manifest, passed))),
                Err(e) => passed.push(format!(
                    "checkpoint {} cannot be resumed from ({e}); trying the one before it",
                    path.display()
                )),
            }
        }
        Err(TrainError::Mismatch {
            path: self.store.dir().to_path_buf(),
            problem: format!("no checkpoint can be resumed from: {}", passed.join("; ")),
        })
    }

    /// Restores the newest checkpoint of the run, if there is one, and returns its manifest
    /// (the app reads `epoch` and `loader_state` from it to reposition its data).
    pub fn resume_latest(&mut self) -> Result<Option<CheckpointManifest>> {
        match self.store.latest()? {
            None => Ok(None),
            Some(path) => self.resume_from(path).map(Some),
        }
    }

    /// Restores variables, optimizer state, step, epoch, RNG, guard count and loader state from
    /// the checkpoint at `path`, and drops `metrics.jsonl` lines logged after it.
    pub fn resume_from(&mut self, path: PathBuf) -> Result<CheckpointManifest> {
        let sets: Vec<(&str, &VarMap)> =
            self.var_sets.iter().map(|(n, m)| (n.as_str(), m)).collect();
        let manifest = CheckpointStore::load(&path, &sets, self.optimizer.as_mut())?;
        self.rng = manifest.rng.restore()?;
        self.step = manifest.step;
        self.epoch = manifest.epoch;
        self.lr = manifest.lr;
        self.loader_state = manifest.loader_state.clone();
        self.guard = NonFiniteGuard::new(self.cfg.non_finite.clone(), manifest.skipped_steps);
        self.metrics = MetricsLog::open(self.run.metrics_path(), Some(manifest.step))?;
        self.progress = Progress::new(self.cfg.total_steps, self.step, self.cfg.progress_bar);
        self.last_checkpoint_step = Some(self.step);
        self.window = Window::new();
        Ok(manifest)
    }

    /// Steps completed so far (the index of the next step).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// `true` once `total_steps` steps are done.
    pub fn is_done(&self) -> bool {
        self.step >= self.cfg.total_steps
    }

    /// The app's epoch counter, as last set or restored.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Sets the epoch counter (saved in checkpoints and metrics).
    pub fn set_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
    }

    /// The loader position last set or restored from a checkpoint.
    pub fn loader_state(&self) -> &serde_json::Value {
        &self.loader_state
    }

    /// Sets the loader position to save with the next checkpoint: it should say where the
    /// *next* batch comes from.
    pub fn set_loader_state(&mut self, state: serde_json::Value) {
        self.loader_state = state;
    }

    /// The trainer's random generator (also handed to the step closure).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// The optimizer, e.g. to inspect its groups.
    pub fn optimizer(&self) -> &dyn Optimizer {
        self.optimizer.as_ref()
    }

    /// The optimizer, e.g. to replace its state.
    pub fn optimizer_mut(&mut self) -> &mut dyn Optimizer {
        self.optimizer.as_mut()
    }

    /// The run directory.
    pub fn run_dir(&self) -> &RunDir {
        &self.run
    }

    /// Steps skipped by the NaN/Inf guard so far.
    pub fn skipped_steps(&self) -> u64 {
        self.guard.skipped_total()
    }

    /// Runs one step: sets the scheduled learning rate, calls `forward` for the loss, checks
    /// loss and gradients, applies the update, then logs and checkpoints when due.
    ///
    /// A skipped step still counts as a step (the data moves on). Errors from `forward` are
    /// returned unchanged.
    pub fn train_step<E, F>(&mut self, forward: F) -> std::result::Result<StepOutcome, E>
    where
        E: From<TrainError>,
        F: FnOnce(&mut StepContext<'_>) -> std::result::Result<StepOutput, E>,
    {
        let step = self.step;
        let lr = self.cfg.schedule.lr_at(step);
        self.optimizer.set_learning_rate(lr);
        let buffers = BufferSnapshot::take(self.var_sets.iter().map(|(_, m)| m))?;
        let mut ctx = StepContext {
            step,
            epoch: self.epoch,
            lr,
            rng: &mut self.rng,
        };
        let output = forward(&mut ctx)?;
        check_extra_fields(&output.extra)?;
        let outcome = self.apply(step, lr, &output)?;
        if matches!(outcome, StepOutcome::Skipped(_)) {
            // The forward pass moved BatchNorm's running statistics towards a NaN batch.
            buffers.restore()?;
        }
        self.step += 1;
        self.window.samples += output.samples;
        self.window.extra = output.extra;
        match &outcome {
            StepOutcome::Applied { loss, lr } => {
                self.lr = *lr;
                self.window.loss_sum += loss;
                self.window.applied += 1;
                self.progress
                    .update(self.step, format!("loss {loss:.4} lr {lr:.3e}"));
            }
            StepOutcome::Skipped(what) => {
                self.progress.warn(&format!(
                    "step {step}: {what} is NaN/Inf, update skipped ({} skipped so far)",
                    self.guard.skipped_total()
                ));
                self.progress.update(self.step, format!("skipped: {what}"));
            }
        }
        if self.step.is_multiple_of(self.cfg.log_every_steps) || self.is_done() {
            self.log_metrics()?;
        }
        let every = self.cfg.checkpoint.every_steps;
        if every > 0 && self.step.is_multiple_of(every) {
            self.save_checkpoint()?;
        }
        Ok(outcome)
    }

    fn apply(&mut self, step: u64, lr: f64, output: &StepOutput) -> Result<StepOutcome> {
        if output.loss.rank() != 0 {
            return Err(TrainError::InvalidConfig {
                field: "loss",
                value: format!("tensor of shape {:?} at step {step}", output.loss.dims()),
                reason: "the step closure must return a scalar (0-d) loss",
            });
        }
        let loss = output.loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        if let Verdict::Skip(what) = self.guard.check_loss(step, loss)? {
            return Ok(StepOutcome::Skipped(what));
        }
        let mut grads = output.loss.backward()?;
        let params: Vec<&NamedVar> = self
            .optimizer
            .groups()
            .iter()
            .flat_map(|g| &g.params)
            .collect();
        sync_gradients(self.collective.as_ref(), &mut grads, &params)?;
        if let Verdict::Skip(what) = self.guard.check_grads(step, &grads, &params)? {
            return Ok(StepOutcome::Skipped(what));
        }
        self.optimizer.step(&grads)?;
        Ok(StepOutcome::Applied { loss, lr })
    }

    fn log_metrics(&mut self) -> Result<()> {
        let w = std::mem::replace(&mut self.window, Window::new());
        let seconds = w.start.elapsed().as_secs_f64();
        let record = MetricRecord {
            step: self.step,
            epoch: self.epoch,
            lr: self.lr,
            loss: (w.applied > 0).then(|| w.loss_sum / w.applied as f64),
            samples_per_s: if seconds > 0.0 {
                w.samples as f64 / seconds
            } else {
                0.0
            },
            skipped_steps: self.guard.skipped_total(),
            extra: w.extra,
        };
        if !self.collective.is_main() {
            return Ok(());
        }
        self.metrics.append(&record)
    }

    /// Writes a checkpoint of the current state now (also done every `every_steps`); on a rank
    /// other than the main one nothing is written and the path the main rank writes is returned.
    pub fn save_checkpoint(&mut self) -> Result<PathBuf> {
        if !self.collective.is_main() {
            self.last_checkpoint_step = Some(self.step);
            return Ok(self.store.path_for(self.step));
        }
        let manifest = CheckpointManifest {
            format_version: FORMAT_VERSION,
            step: self.step,
            epoch: self.epoch,
            lr: self.lr,
            var_sets: self.var_sets.iter().map(|(n, _)| n.clone()).collect(),
            rng: RngState::capture(&self.rng),
            skipped_steps: self.guard.skipped_total(),
            loader_state: self.loader_state.clone(),
        };
        let sets: Vec<(&str, &VarMap)> =
            self.var_sets.iter().map(|(n, m)| (n.as_str(), m)).collect();
        let path = self
            .store
            .save(&manifest, &sets, &self.optimizer.state()?)?;
        self.last_checkpoint_step = Some(self.step);
        Ok(path)
    }

    /// Ends the run: a last checkpoint if checkpointing is on and the current step has none,
    /// then `report.json` with the app's `report`. Returns the report's path.
    pub fn finish(mut self, report: &serde_json::Value) -> Result<PathBuf> {
        if self.cfg.checkpoint.every_steps > 0 && self.last_checkpoint_step != Some(self.step) {
            self.save_checkpoint()?;
        }
        self.progress.finish();
        if self.collective.is_main() {
            self.run.write_report(report)?;
        }
        Ok(self.run.report_path())
    }

    /// Whether the current step has a checkpoint (written or restored).
    pub fn has_checkpoint_now(&self) -> bool {
        self.last_checkpoint_step == Some(self.step)
    }
}
