//! NaN/Inf detection on tensors without copying them to the host.

use candle_core::{DType, Tensor};

use crate::error::Result;

/// `true` when every element of `t` is finite. Integer tensors are always finite.
///
/// Uses `sum(t - t)`: 0 when all elements are finite, NaN as soon as one is NaN or ±Inf
/// (a sum of squares would overflow on large but finite values).
#[allow(clippy::eq_op)] // `t - t` is the point: x - x is NaN exactly when x is not finite.
pub fn all_finite(t: &Tensor) -> Result<bool> {
    if !t.dtype().is_float() {
        return Ok(true);
    }
    let zero_or_nan = (t - t)?
        .sum_all()?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?;
    Ok(zero_or_nan == 0.0)
}
