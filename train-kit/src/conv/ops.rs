//! Convolution functions with the arguments of candle's `Tensor::conv2d`/`conv1d`: the fast
//! kernels on CPU for f32/f64 (unless [`super::Implementation::Candle`] is selected), candle's
//! own ops everywhere else. The explicit gradient functions always run the fast kernels.

use candle_core::conv::CudnnFwdAlgo;
use candle_core::{bail, DType, Result, Tensor};

use super::custom_op::{FastConv, Pass};
use super::geometry::ConvParams;
use super::switch::fast_selected;

/// True when the fast CPU kernels handle these tensors.
fn runs_fast(x: &Tensor, w: &Tensor) -> bool {
    x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) && x.dtype() == w.dtype()
}

/// 2-D convolution of `x` `(N, C_in, H, W)` with `w` `(C_out, C_in / groups, KH, KW)`, giving
/// `(N, C_out, OH, OW)`; the same arguments and result as [`Tensor::conv2d`].
///
/// Differentiable in both arguments. Bad shapes or groups return an error naming them.
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    stride: usize,
    dilation: usize,
    groups: usize,
) -> Result<Tensor> {
    if !fast_selected() || !runs_fast(x, w) {
        return candle_conv2d(x, w, padding, stride, dilation, groups, None);
    }
    let params = params_2d(padding, stride, dilation, groups);
    x.contiguous()?.apply_op2(
        &w.contiguous()?,
        FastConv {
            pass: Pass::Forward,
            params,
        },
    )
}

/// candle's `conv2d_with_algo`, made safe to differentiate on every input size.
///
/// candle 0.11's backward of a strided conv2d takes the transposed convolution's output padding
/// from the height alone and uses it for the width too, so the input gradient comes out one
/// column short or long (a shape error) when `(H + 2p - d(k-1) - 1) mod stride` differs from the
/// same for W, e.g. fbank `[80 bins, 99 frames]` at stride 2. Padding the dimension with the
/// smaller remainder by zeros up to the other's remainder leaves every output value and the output
/// size unchanged (those positions only ever met the implicit zero padding) and makes candle's
/// gradient shapes agree. This is the path on CUDA and with [`super::Implementation::Candle`].
pub fn candle_conv2d(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    stride: usize,
    dilation: usize,
    groups: usize,
    algo: Option<CudnnFwdAlgo>,
) -> Result<Tensor> {
    // candle panics on an empty kernel; name the problem instead.
    if w.dims().iter().skip(2).any(|&k| k == 0) || stride == 0 || dilation == 0 {
        bail!(
            "conv2d: kernel {:?} with stride {stride} and dilation {dilation}: sizes must be > 0",
            w.dims()
        );
    }
    let x = match (x.dims(), w.dims()) {
        (&[_, _, h, wd], &[_, _, kh, kw]) if stride > 1 => {
            let rem = |size: usize, k: usize| {
                (size + 2 * padding)
                    .checked_sub(dilation * k.saturating_sub(1) + 1)
                    .map(|n| n % stride)
            };
            match (rem(h, kh), rem(wd, kw)) {
                (Some(rh), Some(rw)) if rh > rw => x.pad_with_zeros(3, 0, rh - rw)?,
                (Some(rh), Some(rw)) if rw > rh => x.pad_with_zeros(2, 0, rw - rh)?,
                _ => x.clone(),
            }
        }
        _ => x.clone(),
    };
    x.conv2d_with_algo(w, padding, stride, dilation, groups, algo)
}

/// A 1-D convolution through candle's ops whose gradients are right on every shape: candle
/// 0.11's own conv1d backward gets both gradients wrong for kernel size 1 with a batch larger
/// than one, and the weight gradient wrong for an input that starts at an offset (a channel
/// slice, as in Res2Net). This runs [`candle_conv2d`] on a height-1 image with the padding
/// applied explicitly. The path on CUDA and with [`super::Implementation::Candle`].
pub fn candle_conv1d(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    stride: usize,
    dilation: usize,
    groups: usize,
    algo: Option<CudnnFwdAlgo>,
) -> Result<Tensor> {
    if x.rank() != 3 || w.rank() != 3 {
        bail!(
            "conv1d: input must be (N, C_in, L) and weight (C_out, C_in / groups, K), got {:?} and {:?}",
            x.dims(),
            w.dims()
        );
    }
    let x4 = x.pad_with_zeros(2, padding, padding)?.unsqueeze(2)?;
    let y = candle_conv2d(&x4, &w.unsqueeze(2)?, 0, stride, dilation, groups, algo)?;
    y.squeeze(2)
}

/// 1-D convolution of `x` `(N, C_in, L)` with `w` `(C_out, C_in / groups, K)`, giving
/// `(N, C_out, OL)`; the same arguments and result as [`Tensor::conv1d`].
///
/// Runs as a 2-D convolution of height 1. Differentiable in both arguments.
pub fn conv1d(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    stride: usize,
    dilation: usize,
    groups: usize,
) -> Result<Tensor> {
    if !fast_selected() || !runs_fast(x, w) {
        return candle_conv1d(x, w, padding, stride, dilation, groups, None);
    }
    let ((n, c_in, len), (c_out, c_group, k)) = match (x.dims(), w.dims()) {
        (&[n, c, l], &[o, i, k]) => ((n, c, l), (o, i, k)),
        (xs, ws) => bail!(
            "conv1d: input must be (N, C_in, L) and weight (C_out, C_in / groups, K), \
             got {xs:?} and {ws:?}"
        ),
    };
    let params = ConvParams {
        stride: [1, stride],
        padding: [0, padding],
        dilation: [1, dilation],
        groups,
    };
    let x4 = x.contiguous()?.reshape((n, c_in, 1, len))?;
    let w4 = w.contiguous()?.reshape((c_out, c_group, 1, k))?;
    let y = x4.apply_op2(
        &w4,
        FastConv {
            pass: Pass::Forward,
            params,
        },
    )?;
    let out_len = y.dim(3)?;
    y.reshape((n, c_out, out_len))
}

/// The 2-D convolution parameters, for the gradient functions below.
fn params_2d(padding: usize, stride: usize, dilation: usize, groups: usize) -> ConvParams {
    ConvParams {
        stride: [stride; 2],
        padding: [padding; 2],
        dilation: [dilation; 2],
        groups,
    }
}

/// Fails unless the fast kernels handle `a` and `b` (CPU, both f32 or both f64).
fn require_fast(a: &Tensor, b: &Tensor, op: &str) -> Result<()> {
    if !runs_fast(a, b) {
        bail!(
            "{op}: needs CPU f32 or f64 tensors of one dtype, got {:?}/{:?} on {:?}",
            a.dtype(),
            b.dtype(),
            a.device().location()
        );
    }
    Ok(())
}

/// The input gradient of [`conv2d`]: given `grad_output` `(N, C_out, OH, OW)` and the weight,
/// the gradient for an input of dims `input_dims`. CPU f32/f64 only (what backward runs).
pub fn conv2d_input_grad(
    grad_output: &Tensor,
    w: &Tensor,
    input_dims: &[usize],
    padding: usize,
    stride: usize,
    dilation: usize,
    groups: usize,
) -> Result<Tensor> {
    require_fast(grad_output, w, "conv2d_input_grad")?;
    let pass = Pass::GradInput {
        input: input_dims.into(),
    };
    let params = params_2d(padding, stride, dilation, groups);
    grad_output
        .contiguous()?
        .apply_op2(&w.contiguous()?, FastConv { pass, params })
}

/// The weight gradient of [`conv2d`]: given the input and `grad_output` `(N, C_out, OH, OW)`,
/// the gradient for a weight of dims `weight_dims`. CPU f32/f64 only (what backward runs).
pub fn conv2d_weight_grad(
    x: &Tensor,
    grad_output: &Tensor,
    weight_dims: &[usize],
    padding: usize,
    stride: usize,
    dilation: usize,
    groups: usize,
) -> Result<Tensor> {
    require_fast(x, grad_output, "conv2d_weight_grad")?;
    let pass = Pass::GradWeight {
        weight: weight_dims.into(),
    };
    let params = params_2d(padding, stride, dilation, groups);
    x.contiguous()?
        .apply_op2(&grad_output.contiguous()?, FastConv { pass, params })
}
