//! The JSON manifest of a checkpoint: where training stands.

use serde::{Deserialize, Serialize};

use crate::rng_state::RngState;

/// Bumped when the checkpoint layout changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// Everything except tensors needed to resume: written last, so its presence marks a complete checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointManifest {
    /// [`FORMAT_VERSION`] at writing time.
    pub format_version: u32,
    /// Optimizer steps completed; also the schedule position (the next update uses `lr_at(step)`).
    pub step: u64,
    /// The app's epoch counter.
    pub epoch: u64,
    /// Learning rate of the last update, for humans.
    pub lr: f64,
    /// Names of the variable sets, each stored as `<name>.safetensors`.
    pub var_sets: Vec<String>,
    /// Position of the trainer's random generator.
    pub rng: RngState,
    /// Steps skipped so far by the NaN/Inf guard.
    pub skipped_steps: u64,
    /// Opaque loader position provided by the app (e.g. shuffle seed and offset).
    pub loader_state: serde_json::Value,
}
