//! The element types the fast kernels run on.

/// f32 for training, f64 for finite-difference checks. `gemm` supports both.
pub(crate) trait ConvElem: candle_core::WithDType {}

impl ConvElem for f32 {}
impl ConvElem for f64 {}
