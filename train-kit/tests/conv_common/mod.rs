//! Helpers shared by the convolution tests: a seeded generator and closeness checks.

#![allow(dead_code)]

use candle_core::{DType, Device, Result, Tensor};

/// SplitMix64: deterministic, dependency-free randomness for test cases.
pub struct Rng(u64);

impl Rng {
    /// A generator with a fixed seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// One element of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() - 1)]
    }

    /// Uniform in `[-1, 1)`.
    pub fn signed_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    /// A CPU tensor of the given shape with entries uniform in `[-1, 1)`.
    pub fn tensor(&mut self, dims: &[usize], dtype: DType) -> Result<Tensor> {
        let len = dims.iter().product();
        let data: Vec<f64> = (0..len).map(|_| self.signed_unit()).collect();
        Tensor::from_vec(data, dims, &Device::Cpu)?.to_dtype(dtype)
    }
}

/// Largest absolute difference divided by the largest magnitude of `expected` (at least 1e-6).
pub fn relative_error(actual: &Tensor, expected: &Tensor) -> Result<f64> {
    assert_eq!(actual.dims(), expected.dims(), "shapes differ");
    let a = actual
        .to_dtype(DType::F64)?
        .flatten_all()?
        .to_vec1::<f64>()?;
    let e = expected
        .to_dtype(DType::F64)?
        .flatten_all()?
        .to_vec1::<f64>()?;
    let scale = e.iter().fold(1e-6f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(&e)
        .fold(0f64, |m, (x, y)| m.max((x - y).abs()));
    Ok(diff / scale)
}

/// Panics with `what` when `actual` is not within `tol` (relative) of `expected`.
pub fn assert_close(what: &str, actual: &Tensor, expected: &Tensor, tol: f64) {
    let err = relative_error(actual, expected).expect("comparable tensors");
    assert!(err <= tol, "{what}: relative error {err:.3e} > {tol:.0e}");
}

pub mod block;

/// A 2-D convolution built only from candle's elementary ops (pad, narrow, reshape, matmul),
/// so its gradients come from candle's autodiff of those ops and not from candle's conv
/// backward, which is wrong in candle 0.11.1 for some shapes (conv2d's input gradient uses the
/// height's output padding for the width too; conv1d's weight gradient ignores its
/// non-contiguous kernel when the batch is larger than one).
pub fn reference_conv2d(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    stride: usize,
    dilation: usize,
    groups: usize,
) -> Result<Tensor> {
    reference_conv(x, w, [padding; 2], [stride; 2], [dilation; 2], groups)
}

/// [`reference_conv2d`] for `(N, C, L)` inputs and `(O, C / groups, K)` weights.
pub fn reference_conv1d(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    stride: usize,
    dilation: usize,
    groups: usize,
) -> Result<Tensor> {
    let y = reference_conv(
        &x.unsqueeze(2)?,
        &w.unsqueeze(2)?,
        [0, padding],
        [1, stride],
        [1, dilation],
        groups,
    )?;
    y.squeeze(2)
}

fn reference_conv(
    x: &Tensor,
    w: &Tensor,
    [ph, pw]: [usize; 2],
    [sh, sw]: [usize; 2],
    [dh, dw]: [usize; 2],
    groups: usize,
) -> Result<Tensor> {
    let (n, c, h, wd) = x.dims4()?;
    let (o, cg, kh, kw) = w.dims4()?;
    let oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
    let ow = (wd + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
    // Pad enough on the right that every tap's window of `stride * out` positions fits.
    let right_h = ph.max((dh * (kh - 1) + sh * oh).saturating_sub(h + ph));
    let right_w = pw.max((dw * (kw - 1) + sw * ow).saturating_sub(wd + pw));
    let xp = x
        .pad_with_zeros(2, ph, right_h)?
        .pad_with_zeros(3, pw, right_w)?;
    let wp = xp.dim(3)?;
    let mut taps = Vec::with_capacity(kh * kw);
    for i in 0..kh {
        let rows = xp
            .narrow(2, i * dh, sh * oh)?
            .reshape((n, c, oh, sh, wp))?
            .narrow(3, 0, 1)?;
        for j in 0..kw {
            let tap = rows
                .narrow(4, j * dw, sw * ow)?
                .reshape((n, c, oh, ow, sw))?;
            taps.push(tap.narrow(4, 0, 1)?.reshape((n, c, 1, oh * ow))?);
        }
    }
    let k = cg * kh * kw;
    let cols = Tensor::cat(&taps, 2)?.reshape((n, groups, k, oh * ow))?;
    let wg = w
        .reshape((1, groups, o / groups, k))?
        .broadcast_as((n, groups, o / groups, k))?;
    wg.contiguous()?.matmul(&cols)?.reshape((n, o, oh, ow))
}
