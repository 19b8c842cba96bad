//! The run itself, for every app: [`fit`] drives an app's [`Task`] through the plan
//! ([`FitPlan`]: `[train]`, `[optim]`, `[schedule]`, `[checkpoint]`), with optimizers, LR
//! schedules, the NaN guard, gradient synchronization over a [`Collective`], checkpoints and
//! exact resume, metrics and progress, one writer per run folder, the `--set` engine of run
//! configs ([`overrides`]), and fast CPU kernels the backbones need.
//!
//! It knows parameters, gradients, time and ranks, not faces or voices.

pub mod conv;

pub mod alloc;
pub mod atomic_file;
pub mod buffers;
pub mod checkpoint;
pub mod collective;
mod error;
pub mod finite;
pub mod fit;
pub mod guard;
pub mod init;
pub mod metrics;
pub mod optim;
pub mod overrides;
pub mod plan;
pub mod progress;
pub mod rng_state;
pub mod run_dir;
pub mod run_lock;
pub mod schedule;
pub mod step_bench;
pub mod task;
pub mod trainer;
pub mod varmap;

pub use buffers::{is_buffer, trainable_parameter_count, trainable_vars, BufferSnapshot};
pub use checkpoint::{CheckpointConfig, CheckpointManifest, CheckpointStore};
pub use collective::{Collective, SingleProcess};
pub use error::{Result, TrainError};
pub use fit::{fit, FitOptions, FitSummary};
pub use guard::{NonFiniteGuard, NonFinitePolicy};
pub use init::{derived_seed, seeded_var_builder, SeededVarMap};
pub use metrics::{MetricRecord, MetricsLog};
pub use optim::{
    param_groups, AdamW, AdamWConfig, GroupRule, Optimizer, OptimizerConfig, OptimizerState,
    ParamGroup, Sgd, SgdConfig,
};
pub use plan::{DecayKind, FitPlan, ResolvedPlan, ScheduleConfig, TrainPlan};
pub use rng_state::RngState;
pub use run_dir::RunDir;
pub use run_lock::RunLock;
pub use schedule::{Decay, LrSchedule};
pub use task::{Batches, Hooks, Positioned, StepInfo, Task, TaskError, TaskResult};
pub use trainer::{StepContext, StepOutcome, StepOutput, Trainer, TrainerConfig};
pub use varmap::{first_non_finite, sorted_vars};
