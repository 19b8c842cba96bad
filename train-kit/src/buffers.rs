//! Buffers: variables a forward pass updates without a gradient (BatchNorm's running
//! statistics). The run loop snapshots them before a step and puts them back when the NaN guard
//! skips the step, so a skipped update leaves no trace in the model.

use candle_core::{Tensor, Var};
use candle_nn::VarMap;

use crate::error::Result;

/// Whether the variable called `name` is a buffer: BatchNorm's `running_mean`, `running_var`
/// or `num_batches_tracked` (candle-nn's and PyTorch's names).
pub fn is_buffer(name: &str) -> bool {
    let leaf = name.rsplit(['.', '/']).next().unwrap_or(name);
    matches!(leaf, "running_mean" | "running_var" | "num_batches_tracked")
}

/// Number of trainable scalars in `varmap`: every variable except [buffers](is_buffer).
pub fn trainable_parameter_count(varmap: &VarMap) -> usize {
    trainable_vars(varmap).iter().map(|v| v.elem_count()).sum()
}

/// The variables an optimizer updates: all of `varmap` except [buffers](is_buffer), sorted by
/// name so the order is reproducible.
pub fn trainable_vars(varmap: &VarMap) -> Vec<Var> {
    let data = varmap
        .data()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut named: Vec<(&String, &Var)> =
        data.iter().filter(|(name, _)| !is_buffer(name)).collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    named.into_iter().map(|(_, v)| v.clone()).collect()
}

/// Copies of every buffer of some variable sets, to restore after a skipped step.
#[derive(Debug, Default)]
pub struct BufferSnapshot {
    saved: Vec<(Var, Tensor)>,
}

impl BufferSnapshot {
    /// Copies the buffers of `sets` now.
    pub fn take<'a>(sets: impl IntoIterator<Item = &'a VarMap>) -> Result<Self> {
        let mut saved = Vec::new();
        for map in sets {
            for (name, var) in crate::varmap::sorted_vars(map) {
                if is_buffer(&name) {
                    let value = var.as_tensor().copy()?;
                    saved.push((var, value));
                }
            }
        }
        Ok(Self { saved })
    }

    /// Puts the copied values back.
    pub fn restore(&self) -> Result<()> {
        for (var, value) in &self.saved {
            var.set(value)?;
        }
        Ok(())
    }

    /// Number of buffers held.
    pub fn len(&self) -> usize {
        self.saved.len()
    }

    /// Whether there is no buffer.
    pub fn is_empty(&self) -> bool {
        self.saved.is_empty()
    }
}
