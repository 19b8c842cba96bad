//! Checkpoints: one directory per checkpoint, written atomically, last K kept.
//!
//! Layout of `<dir>/step-00001000/`: `<set>.safetensors` for each variable set (e.g. `model`,
//! `head`), `optimizer.safetensors`, and `manifest.json` ([`CheckpointManifest`]). A checkpoint
//! is built in `<dir>/.tmp-step-…`, every file fsynced, then renamed into place and the parent
//! fsynced, so a crash leaves either the whole checkpoint or none. Tensors containing NaN/Inf
//! are refused before anything is written.

mod manifest;
mod store;

pub use manifest::{CheckpointManifest, FORMAT_VERSION};
pub use store::{load_var_set, CheckpointStore};

use serde::{Deserialize, Serialize};

/// How often to checkpoint and how many to keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// Write a checkpoint every this many completed steps (0: none but the final one of a run).
    #[serde(default = "default_every")]
    pub every_steps: u64,
    /// How many of the most recent checkpoints to keep (at least 1).
    #[serde(default = "default_keep")]
    pub keep_last: usize,
}

fn default_every() -> u64 {
    1000
}
fn default_keep() -> usize {
    3
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self {
            every_steps: default_every(),
            keep_last: default_keep(),
        }
    }
}
