//! Direct kernels for depthwise convolution (groups = C_in = C_out), where GEMM would have a
//! single row: parallel over `(image, channel)` planes, or over channels for the weight gradient.

use rayon::prelude::*;

use super::elem::ConvElem;
use super::geometry::{valid_outputs, ConvGeometry};

/// `len` output pixels from `out_start` on, which kernel tap `tap` maps onto the input pixels
/// `in_start + i * stride_w` for `i` in `0..len`.
struct Run {
    tap: usize,
    out_start: usize,
    in_start: usize,
    len: usize,
}

/// Calls `f` for every non-empty run of one plane.
fn for_each_run(g: &ConvGeometry, mut f: impl FnMut(Run)) {
    let ([h, w], [oh_len, ow_len], [kh_len, kw_len]) = (g.in_hw, g.out_hw, g.kernel_hw);
    let p = &g.params;
    for kh in 0..kh_len {
        let row_offset = (kh * p.dilation[0]) as isize - p.padding[0] as isize;
        for kw in 0..kw_len {
            let col_offset = (kw * p.dilation[1]) as isize - p.padding[1] as isize;
            let cols = valid_outputs(ow_len, w, p.stride[1], col_offset);
            if cols.is_empty() {
                continue;
            }
            for oh in valid_outputs(oh_len, h, p.stride[0], row_offset) {
                let ih = ((oh * p.stride[0]) as isize + row_offset) as usize;
                let iw = ((cols.start * p.stride[1]) as isize + col_offset) as usize;
                f(Run {
                    tap: kh * kw_len + kw,
                    out_start: oh * ow_len + cols.start,
                    in_start: ih * w + iw,
                    len: cols.len(),
                });
            }
        }
    }
}

/// Output of a depthwise convolution.
pub(crate) fn forward<T: ConvElem>(x: &[T], w: &[T], g: &ConvGeometry) -> Vec<T> {
    let (taps, p, hw, stride) = (taps(g), g.out_pixels(), g.in_pixels(), g.params.stride[1]);
    let mut out = vec![T::zero(); g.batch * g.out_channels * p];
    if out.is_empty() || hw == 0 {
        return out;
    }
    out.par_chunks_mut(p)
        .zip(x.par_chunks(hw))
        .enumerate()
        .for_each(|(plane, (out_p, x_p))| {
            let w_c = &w[(plane % g.out_channels) * taps..][..taps];
            for_each_run(g, |run| {
                let wv = w_c[run.tap];
                let dst = &mut out_p[run.out_start..run.out_start + run.len];
                if stride == 1 {
                    for (d, &s) in dst
                        .iter_mut()
                        .zip(&x_p[run.in_start..run.in_start + run.len])
                    {
                        *d += wv * s;
                    }
                } else {
                    for (d, &s) in dst
                        .iter_mut()
                        .zip(x_p[run.in_start..].iter().step_by(stride))
                    {
                        *d += wv * s;
                    }
                }
            });
        });
    out
}

/// Input gradient of a depthwise convolution.
pub(crate) fn grad_input<T: ConvElem>(gy: &[T], w: &[T], g: &ConvGeometry) -> Vec<T> {
    let (taps, p, hw, stride) = (taps(g), g.out_pixels(), g.in_pixels(), g.params.stride[1]);
    let mut gx = vec![T::zero(); g.batch * g.in_channels * hw];
    if gx.is_empty() || p == 0 {
        return gx;
    }
    gx.par_chunks_mut(hw)
        .zip(gy.par_chunks(p))
        .enumerate()
        .for_each(|(plane, (gx_p, gy_p))| {
            let w_c = &w[(plane % g.in_channels) * taps..][..taps];
            for_each_run(g, |run| {
                let wv = w_c[run.tap];
                let src = &gy_p[run.out_start..run.out_start + run.len];
                if stride == 1 {
                    let dst = &mut gx_p[run.in_start..run.in_start + run.len];
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d += wv * s;
                    }
                } else {
                    for (d, &s) in gx_p[run.in_start..].iter_mut().step_by(stride).zip(src) {
                        *d += wv * s;
                    }
                }
            });
        });
    gx
}

/// Weight gradient of a depthwise convolution, one channel per task.
pub(crate) fn grad_weight<T: ConvElem>(x: &[T], gy: &[T], g: &ConvGeometry) -> Vec<T> {
    let (taps, p, hw, stride) = (taps(g), g.out_pixels(), g.in_pixels(), g.params.stride[1]);
    let channels = g.in_channels;
    let mut gw = vec![T::zero(); g.weight_len()];
    if gw.is_empty() {
        return gw;
    }
    gw.par_chunks_mut(taps).enumerate().for_each(|(c, gw_c)| {
        for n in 0..g.batch {
            let plane = n * channels + c;
            let x_p = &x[plane * hw..(plane + 1) * hw];
            let gy_p = &gy[plane * p..(plane + 1) * p];
            for_each_run(g, |run| {
                let a = &gy_p[run.out_start..run.out_start + run.len];
                gw_c[run.tap] += if stride == 1 {
                    dot(a, &x_p[run.in_start..run.in_start + run.len])
                } else {
                    a.iter()
                        .zip(x_p[run.in_start..].iter().step_by(stride))
                        .fold(T::zero(), |acc, (&u, &v)| acc + u * v)
                };
            });
        }
    });
    gw
}

/// Taps per channel, `KH * KW`.
fn taps(g: &ConvGeometry) -> usize {
    g.kernel_hw[0] * g.kernel_hw[1]
}

/// Dot product with eight independent sums, so the compiler can vectorise it.
fn dot<T: ConvElem>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::zero(); 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .fold(T::zero(), |acc, (&u, &v)| acc + u * v);
    for (ca, cb) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += ca[i] * cb[i];
        }
    }
    lanes.iter().fold(tail, |acc, &v| acc + v)
}
