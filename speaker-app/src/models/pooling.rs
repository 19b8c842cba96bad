//! Statistics pooling over time (the last axis), as in wespeaker's `pooling_layers.py`.
//!
//! Standard deviations use the unbiased variance (`torch.var`'s default, divisor `T - 1`) plus
//! `1e-7` under the square root, so they need at least two frames.

use candle_core::{Result, Tensor, D};

/// Added under every square root in the pooling layers (wespeaker's constant).
pub const STD_EPS: f64 = 1e-7;

/// Temporal mean and unbiased standard deviation over the last axis, keeping it (size 1).
pub(crate) fn mean_std_keepdim(x: &Tensor) -> Result<(Tensor, Tensor)> {
    let frames = x.dim(D::Minus1)?;
    if frames < 2 {
        candle_core::bail!(
            "statistics pooling needs at least 2 frames after the backbone, got input {:?}",
            x.shape()
        )
    }
    let mean = x.mean_keepdim(D::Minus1)?;
    let var = (x.broadcast_sub(&mean)?.sqr()?.sum_keepdim(D::Minus1)? / (frames - 1) as f64)?;
    let std = (var + STD_EPS)?.sqrt()?;
    Ok((mean, std))
}

/// TSTP: `(B, C, ..., T)` → `(B, 2·C·...)`, the means then the standard deviations, each
/// flattened channel-major like `torch.flatten(start_dim=1)`.
pub fn tstp(x: &Tensor) -> Result<Tensor> {
    let (mean, std) = mean_std_keepdim(x)?;
    Tensor::cat(&[mean.flatten_from(1)?, std.flatten_from(1)?], 1)
}
