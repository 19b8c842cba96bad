//! Collectives between the processes of one run, and the gradient synchronization point of the
//! run loop.
//!
//! [`Collective`] is the small interface data-parallel training needs (rank, world size, a
//! sum all-reduce, a barrier); [`SingleProcess`] is the world of one. Engines (MPI, NCCL)
//! implement it. [`sync_gradients`] averages the gradients of every rank in large flat buckets
//! and is a no-op in a world of one.

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor};

use crate::error::Result;
use crate::optim::NamedVar;

/// The processes of one run.
pub trait Collective: Send + Sync {
    /// This process's rank, `0..world_size()`.
    fn rank(&self) -> usize;

    /// Number of processes.
    fn world_size(&self) -> usize;

    /// Replaces `buf` on every rank by the element-wise sum over all ranks.
    fn all_reduce_sum(&self, buf: &mut [f32]) -> Result<()>;

    /// Returns once every rank has called it.
    fn barrier(&self) -> Result<()>;

    /// Whether this rank writes the run's files (rank 0).
    fn is_main(&self) -> bool {
        self.rank() == 0
    }
}

/// A world of one process: every collective is the identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }

    fn world_size(&self) -> usize {
        1
    }

    fn all_reduce_sum(&self, _buf: &mut [f32]) -> Result<()> {
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        Ok(())
    }
}

/// Elements per all-reduce bucket (16 MiB of f32), as DDP's bucketing bounds message size.
pub const BUCKET_ELEMENTS: usize = 4 << 20;

/// Averages the gradients of `params` over the ranks of `collective`, in place in `grads`.
///
/// Every rank must call it with the same parameters in the same order. A parameter without a
/// gradient on this rank contributes zeros (and then gets the average of the others). In a world
/// of one nothing is done.
pub fn sync_gradients(
    collective: &dyn Collective,
    grads: &mut GradStore,
    params: &[&NamedVar],
) -> Result<()> {
    let world = collective.world_size();
    if world <= 1 {
        return Ok(());
    }
    let scale = 1.0 / world as f32;
    let mut start = 0;
    while start < params.len() {
        let mut end = start;
        let mut elements = 0;
        while end < params.len()
            && (end == start || elements + params[end].var.elem_count() <= BUCKET_ELEMENTS)
        {
            elements += params[end].var.elem_count();
            end += 1;
        }
        let bucket = &params[start..end];
        let mut flat = Vec::with_capacity(elements);
        for p in bucket {
            match grads.get(p.var.as_tensor()) {
                Some(g) => flat.extend(g.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?),
                None => flat.extend(std::iter::repeat_n(0f32, p.var.elem_count())),
            }
        }
        collective.all_reduce_sum(&mut flat)?;
        let mut offset = 0;
        for p in bucket {
            let n = p.var.elem_count();
            let values: Vec<f32> = flat[offset..offset + n].iter().map(|v| v * scale).collect();
            let var = p.var.as_tensor();
            let g = Tensor::from_vec(values, var.shape(), var.device())?.to_dtype(var.dtype())?;
            grads.insert(var, g);
            offset += n;
        }
        start = end;
    }
    Ok(())
}
