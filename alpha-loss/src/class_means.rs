//! Class-mean embeddings for A3M-I: accumulate L2-normalized embeddings per class, then hand the
//! `[C, D]` means to [`MarginHead::reinit_prototypes`](crate::MarginHead::reinit_prototypes).

use candle_core::{bail, Device, Result, Tensor};

/// Running sums of embeddings per class.
#[derive(Debug, Clone)]
pub struct ClassMeans {
    dim: usize,
    sums: Vec<f32>,
    counts: Vec<usize>,
}

impl ClassMeans {
    /// Empty sums for `classes` classes of `dim`-dimensional embeddings.
    pub fn new(classes: usize, dim: usize) -> Self {
        Self {
            dim,
            sums: vec![0.0; classes * dim],
            counts: vec![0; classes],
        }
    }

    /// Adds one embedding (the caller normalizes it, as the head's cosines do) to `class`.
    pub fn add(&mut self, class: usize, embedding: &[f32]) -> Result<()> {
        if class >= self.counts.len() {
            bail!(
                "A3M-I: class {class} is out of range 0..{}",
                self.counts.len()
            );
        }
        if embedding.len() != self.dim {
            bail!(
                "A3M-I: embedding of dimension {}, the class means have {}",
                embedding.len(),
                self.dim
            );
        }
        self.counts[class] += 1;
        self.sums[class * self.dim..(class + 1) * self.dim]
            .iter_mut()
            .zip(embedding)
            .for_each(|(s, e)| *s += e);
        Ok(())
    }

    /// Embeddings added to `class` so far.
    pub fn count(&self, class: usize) -> usize {
        self.counts.get(class).copied().unwrap_or(0)
    }

    /// The means `[C, D]` on `device`; a class without embeddings gets a zero row, which
    /// [`reinit_prototypes`](crate::MarginHead::reinit_prototypes) leaves at its old prototype.
    pub fn finish(mut self, device: &Device) -> Result<Tensor> {
        for (c, &n) in self.counts.iter().enumerate() {
            if n > 0 {
                self.sums[c * self.dim..(c + 1) * self.dim]
                    .iter_mut()
                    .for_each(|s| *s /= n as f32);
            }
        }
        Tensor::from_vec(self.sums, (self.counts.len(), self.dim), device)
    }
}
