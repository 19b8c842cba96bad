//! Reading custom-op arguments out of candle's CPU storage.

use candle_core::{bail, CpuStorage, Layout, Result, WithDType};

/// The elements a contiguous layout selects; an error naming `op` for strided arguments.
pub(crate) fn contiguous<'a, T: WithDType>(
    s: &'a CpuStorage,
    l: &Layout,
    op: &str,
) -> Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&s.as_slice::<T>()?[start..end]),
        None => bail!(
            "{op}: arguments must be contiguous, got strides {:?}",
            l.stride()
        ),
    }
}
