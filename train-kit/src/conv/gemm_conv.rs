//! Convolution forward and gradients as im2col + GEMM, parallel over the batch.
//!
//! Per image, group, and band of output rows, with `K = C_in/groups * KH * KW` and `P` the
//! band's pixels: forward `Y (C_out/g x P) = W (C_out/g x K) * col (K x P)`; input gradient
//! `col2im(W^T * dY)`; weight gradient `dW += dY * col^T`, summed over the batch. Bands keep the
//! column matrix in cache (about [`BAND_ELEMS`] elements).

use std::ops::Range;

use gemm::Parallelism;
use rayon::prelude::*;

use super::elem::ConvElem;
use super::geometry::ConvGeometry;
use super::im2col::{col2im_add, im2col};
use super::matmul::{matmul_into, MatRef};

/// Target size of one band's column matrix: 256K elements, 1 MiB in f32 (fits in L2).
const BAND_ELEMS: usize = 1 << 18;

/// With enough images every thread takes whole images and each GEMM runs on one thread;
/// otherwise the GEMMs themselves are parallel.
fn gemm_parallelism(batch: usize) -> Parallelism {
    if batch >= rayon::current_num_threads() {
        Parallelism::None
    } else {
        Parallelism::Rayon(0)
    }
}

/// The bands of output rows; one band covering everything when pointwise (no column matrix).
fn bands(g: &ConvGeometry) -> impl Iterator<Item = Range<usize>> {
    let oh = g.out_hw[0];
    let rows = if g.is_pointwise() {
        oh.max(1)
    } else {
        (BAND_ELEMS / (g.patch_len() * g.out_hw[1]).max(1)).clamp(1, oh.max(1))
    };
    (0..oh)
        .step_by(rows)
        .map(move |start| start..(start + rows).min(oh))
}

/// Length of the per-thread column buffer (none for a pointwise convolution, which uses the input).
fn col_len(g: &ConvGeometry) -> usize {
    if g.is_pointwise() {
        0
    } else {
        bands(g).map(|b| b.len()).max().unwrap_or(0) * g.out_hw[1] * g.patch_len()
    }
}

/// Where one group of one image sits: offsets into the image's input, output and weight.
struct Group {
    input: Range<usize>,
    output: usize,
    weight: Range<usize>,
}

fn groups(g: &ConvGeometry) -> impl Iterator<Item = Group> + '_ {
    let (cin, cout) = (
        g.group_in_channels() * g.in_pixels(),
        g.group_out_channels(),
    );
    let k = g.patch_len();
    (0..g.params.groups).map(move |grp| Group {
        input: grp * cin..(grp + 1) * cin,
        output: grp * cout * g.out_pixels(),
        weight: grp * cout * k..(grp + 1) * cout * k,
    })
}

/// The column matrix `K x band pixels` of one group of one image, as a strided view: the input
/// itself when pointwise, else im2col into `col`.
fn columns<'a, T: ConvElem>(
    x_group: &'a [T],
    col: &'a mut [T],
    g: &ConvGeometry,
    band: &Range<usize>,
) -> MatRef<'a, T> {
    let (k, pixels) = (g.patch_len(), band.len() * g.out_hw[1]);
    if g.is_pointwise() {
        MatRef {
            data: x_group,
            rows: k,
            cols: pixels,
            row_stride: g.out_pixels(),
            col_stride: 1,
        }
    } else {
        im2col(x_group, col, g, band.clone());
        MatRef::row_major(&col[..k * pixels], k, pixels)
    }
}

/// The output-gradient (or output) columns of one band: `C_out/g x band pixels`, strided.
fn out_band<'a, T>(out_group: &'a [T], g: &ConvGeometry, band: &Range<usize>) -> MatRef<'a, T> {
    let start = band.start * g.out_hw[1];
    MatRef {
        data: &out_group[start..],
        rows: g.group_out_channels(),
        cols: band.len() * g.out_hw[1],
        row_stride: g.out_pixels(),
        col_stride: 1,
    }
}

/// The `(N, C_out, OH, OW)` output of `x` `(N, C_in, H, W)` convolved with `w`.
pub(crate) fn forward<T: ConvElem>(x: &[T], w: &[T], g: &ConvGeometry) -> Vec<T> {
    let mut out = vec![T::zero(); g.batch * g.out_image_len()];
    if out.is_empty() || g.image_len() == 0 {
        return out;
    }
    let (k, cout_g, ow) = (g.patch_len(), g.group_out_channels(), g.out_hw[1]);
    let par = gemm_parallelism(g.batch);
    out.par_chunks_mut(g.out_image_len())
        .zip(x.par_chunks(g.image_len()))
        .for_each_init(
            || vec![T::zero(); col_len(g)],
            |col, (out_n, x_n)| {
                for grp in groups(g) {
                    let w_g = MatRef::row_major(&w[grp.weight], cout_g, k);
                    for band in bands(g) {
                        let cols = columns(&x_n[grp.input.clone()], col, g, &band);
                        let dst = &mut out_n[grp.output + band.start * ow..];
                        matmul_into(dst, g.out_pixels(), w_g, cols, false, par);
                    }
                }
            },
        );
    out
}

/// The gradient with respect to the `(N, C_in, H, W)` input, given the output gradient `gy`.
pub(crate) fn grad_input<T: ConvElem>(gy: &[T], w: &[T], g: &ConvGeometry) -> Vec<T> {
    let mut gx = vec![T::zero(); g.batch * g.image_len()];
    if gx.is_empty() || g.out_image_len() == 0 {
        return gx;
    }
    let (k, cout_g) = (g.patch_len(), g.group_out_channels());
    let par = gemm_parallelism(g.batch);
    gx.par_chunks_mut(g.image_len())
        .zip(gy.par_chunks(g.out_image_len()))
        .for_each_init(
            || vec![T::zero(); col_len(g)],
            |col, (gx_n, gy_n)| {
                for grp in groups(g) {
                    let w_t = MatRef::row_major(&w[grp.weight], cout_g, k).t();
                    let gx_g = &mut gx_n[grp.input];
                    for band in bands(g) {
                        let gy_band = out_band(&gy_n[grp.output..], g, &band);
                        if g.is_pointwise() {
                            matmul_into(gx_g, g.in_pixels(), w_t, gy_band, false, par);
                        } else {
                            let pixels = gy_band.cols;
                            matmul_into(col, pixels, w_t, gy_band, false, par);
                            col2im_add(&col[..k * pixels], gx_g, g, band);
                        }
                    }
                }
            },
        );
    gx
}

/// The gradient with respect to the `(C_out, C_in/groups, KH, KW)` weight.
///
/// Each thread sums a contiguous run of images into its own buffer; the buffers are added in a
/// fixed order, so the result does not depend on scheduling.
pub(crate) fn grad_weight<T: ConvElem>(x: &[T], gy: &[T], g: &ConvGeometry) -> Vec<T> {
    let k = g.patch_len();
    let threads = rayon::current_num_threads().clamp(1, g.batch.max(1));
    let per_thread = g.batch.div_ceil(threads);
    let par = if threads > 1 {
        Parallelism::None
    } else {
        Parallelism::Rayon(0)
    };
    let partials: Vec<Vec<T>> = (0..threads)
        .into_par_iter()
        .map(|t| {
            let mut gw = vec![T::zero(); g.weight_len()];
            let mut col = vec![T::zero(); col_len(g)];
            for n in t * per_thread..((t + 1) * per_thread).min(g.batch) {
                let x_n = &x[n * g.image_len()..(n + 1) * g.image_len()];
                let gy_n = &gy[n * g.out_image_len()..(n + 1) * g.out_image_len()];
                for grp in groups(g) {
                    for band in bands(g) {
                        let cols = columns(&x_n[grp.input.clone()], &mut col, g, &band);
                        let gy_band = out_band(&gy_n[grp.output..], g, &band);
                        let gw_g = &mut gw[grp.weight.clone()];
                        matmul_into(gw_g, k, gy_band, cols.t(), true, par);
                    }
                }
            }
            gw
        })
        .collect();
    let mut partials = partials.into_iter();
    let mut total = partials
        .next()
        .unwrap_or_else(|| vec![T::zero(); g.weight_len()]);
    for part in partials {
        for (t, v) in total.iter_mut().zip(part) {
            *t += v;
        }
    }
    total
}
