//! What every training run shares: optimizers, LR schedules, checkpoints and exact resume,
//! metrics logging and progress, and fast CPU kernels the backbones need.
//!
//! It knows parameters, gradients and time, not faces or voices.

pub mod conv;

pub mod alloc;
pub mod atomic_file;
pub mod checkpoint;
mod error;
pub mod finite;
pub mod guard;
pub mod init;
pub mod metrics;
pub mod optim;
pub mod progress;
pub mod rng_state;
pub mod run_dir;
pub mod schedule;
pub mod step_bench;
pub mod trainer;

pub use checkpoint::{CheckpointConfig, CheckpointManifest, CheckpointStore};
pub use error::{Result, TrainError};
pub use guard::{NonFiniteGuard, NonFinitePolicy};
pub use init::{derived_seed, seeded_var_builder, SeededVarMap};
pub use metrics::{MetricRecord, MetricsLog};
pub use optim::{
    param_groups, AdamW, AdamWConfig, GroupRule, Optimizer, OptimizerConfig, OptimizerState,
    ParamGroup, Sgd, SgdConfig,
};
pub use rng_state::RngState;
pub use run_dir::RunDir;
pub use schedule::{Decay, LrSchedule};
pub use trainer::{StepContext, StepOutcome, StepOutput, Trainer, TrainerConfig};
