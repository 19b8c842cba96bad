//! One batch as the loader hands it out.

use candle_core::Tensor;

use crate::loader::{Position, SkippedItem};

/// A batch of samples with their labels.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The stacked samples, `(B, ...)`; e.g. `(B, 3, 112, 112)` for faces.
    pub inputs: Tensor,
    /// The class index of every sample, `(B,)` u32.
    pub labels: Tensor,
    /// The source indices of the samples, in batch order.
    pub indices: Vec<usize>,
    /// Where this batch sits: epoch and step.
    pub position: Position,
    /// The position to save after this batch is consumed (the next step, or step 0 of the next epoch).
    pub resume_from: Position,
    /// Items planned for this batch that could not be loaded; `B` is smaller by this many.
    pub skipped: Vec<SkippedItem>,
}

impl Batch {
    /// Number of samples in the batch.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the batch holds no samples (never true for batches the loader yields).
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}
