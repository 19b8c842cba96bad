//! im2col and its adjoint col2im for one group of one image.
//!
//! The column matrix of output rows `rows` is row-major `(C_in/groups * KH * KW) x
//! (rows.len() * OW)`: row `(c * KH + kh) * KW + kw` holds, for each of those output pixels, the
//! input value under kernel tap `(kh, kw)` of channel `c` (zero where it falls on the padding).
//! Working on a band of output rows keeps the matrix in cache.

use std::ops::Range;

use super::elem::ConvElem;
use super::geometry::{valid_outputs, ConvGeometry};

/// One kernel tap of one channel: where its row of the column matrix reads the input.
struct Tap {
    channel: usize,
    row_offset: isize,
    col_offset: isize,
}

/// Calls `f(row_index, tap)` for every row of the column matrix.
fn for_each_tap(g: &ConvGeometry, mut f: impl FnMut(usize, Tap)) {
    let [kh_len, kw_len] = g.kernel_hw;
    let p = &g.params;
    for channel in 0..g.group_in_channels() {
        for kh in 0..kh_len {
            for kw in 0..kw_len {
                let row = (channel * kh_len + kh) * kw_len + kw;
                let tap = Tap {
                    channel,
                    row_offset: (kh * p.dilation[0]) as isize - p.padding[0] as isize,
                    col_offset: (kw * p.dilation[1]) as isize - p.padding[1] as isize,
                };
                f(row, tap);
            }
        }
    }
}

/// Fills `col` for output rows `rows` from `x`, the `(C_in/groups, H, W)` input of one group.
pub(crate) fn im2col<T: ConvElem>(x: &[T], col: &mut [T], g: &ConvGeometry, rows: Range<usize>) {
    let ([h, w], [oh_len, ow_len]) = (g.in_hw, g.out_hw);
    let [sh, sw] = g.params.stride;
    let pixels = rows.len() * ow_len;
    let band = rows;
    for_each_tap(g, |row, tap| {
        let dst = &mut col[row * pixels..(row + 1) * pixels];
        let rows = valid_outputs(oh_len, h, sh, tap.row_offset);
        let cols = valid_outputs(ow_len, w, sw, tap.col_offset);
        for (oh, seg) in band.clone().zip(dst.chunks_exact_mut(ow_len)) {
            if !rows.contains(&oh) || cols.is_empty() {
                seg.fill(T::zero());
                continue;
            }
            let ih = (oh * sh) as isize + tap.row_offset;
            let src = &x[(tap.channel * h + ih as usize) * w..][..w];
            seg[..cols.start].fill(T::zero());
            seg[cols.end..].fill(T::zero());
            let first = (cols.start * sw) as isize + tap.col_offset;
            if sw == 1 {
                seg[cols.clone()].copy_from_slice(&src[first as usize..][..cols.len()]);
            } else {
                let picked = src[first as usize..].iter().step_by(sw);
                for (d, &s) in seg[cols.clone()].iter_mut().zip(picked) {
                    *d = s;
                }
            }
        }
    });
}

/// Adds the columns of output rows `rows` back onto `x` (the adjoint of [`im2col`]); `x` is
/// not cleared first.
pub(crate) fn col2im_add<T: ConvElem>(
    col: &[T],
    x: &mut [T],
    g: &ConvGeometry,
    rows: Range<usize>,
) {
    let ([h, w], [oh_len, ow_len]) = (g.in_hw, g.out_hw);
    let [sh, sw] = g.params.stride;
    let pixels = rows.len() * ow_len;
    let band = rows;
    for_each_tap(g, |row, tap| {
        let src = &col[row * pixels..(row + 1) * pixels];
        let valid = valid_outputs(oh_len, h, sh, tap.row_offset);
        let cols = valid_outputs(ow_len, w, sw, tap.col_offset);
        if cols.is_empty() {
            return;
        }
        for oh in band.start.max(valid.start)..band.end.min(valid.end) {
            let seg = &src[(oh - band.start) * ow_len..][..ow_len];
            let ih = (oh * sh) as isize + tap.row_offset;
            let dst = &mut x[(tap.channel * h + ih as usize) * w..][..w];
            let first = (cols.start * sw) as isize + tap.col_offset;
            if sw == 1 {
                let targets = &mut dst[first as usize..][..cols.len()];
                for (d, &s) in targets.iter_mut().zip(&seg[cols.clone()]) {
                    *d += s;
                }
            } else {
                let targets = dst[first as usize..].iter_mut().step_by(sw);
                for (d, &s) in targets.zip(&seg[cols.clone()]) {
                    *d += s;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::geometry::ConvParams;
    use candle_core::Shape;

    fn geometry(stride: usize, padding: usize, dilation: usize) -> ConvGeometry {
        let params = ConvParams {
            stride: [stride, stride],
            padding: [padding, padding + 1],
            dilation: [dilation; 2],
            groups: 1,
        };
        ConvGeometry::new(
            &Shape::from((1, 2, 5, 6)),
            &Shape::from((1, 2, 3, 2)),
            params,
        )
        .unwrap()
    }

    /// col2im must be the exact adjoint of im2col: <im2col(x), c> == <x, col2im(c)>.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        for (stride, padding, dilation) in [(1, 0, 1), (1, 1, 1), (2, 1, 1), (2, 2, 2), (3, 0, 1)] {
            let g = geometry(stride, padding, dilation);
            let x: Vec<f64> = (0..g.image_len())
                .map(|i| (i as f64 * 0.37).sin())
                .collect();
            let c: Vec<f64> = (0..g.patch_len() * g.out_pixels())
                .map(|i| (i as f64 * 0.11).cos())
                .collect();
            let mut col = vec![0.0; c.len()];
            let rows = 0..g.out_hw[0];
            im2col(&x, &mut col, &g, rows.clone());
            let mut back = vec![0.0; x.len()];
            col2im_add(&c, &mut back, &g, rows);
            let lhs: f64 = col.iter().zip(&c).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!(
                (lhs - rhs).abs() < 1e-9,
                "stride {stride} pad {padding}: {lhs} vs {rhs}"
            );
        }
    }

    #[test]
    fn im2col_reads_the_right_pixel_and_zero_padding() {
        let g = geometry(1, 1, 1); // padding [1, 2], kernel 3x2
        let x: Vec<f64> = (0..g.image_len()).map(|i| i as f64 + 1.0).collect();
        let [oh_len, ow_len] = g.out_hw;
        // A band of output rows 1..oh_len-1, so the band offset matters.
        let band = 1..oh_len - 1;
        let mut col = vec![-1.0; g.patch_len() * band.len() * ow_len];
        im2col(&x, &mut col, &g, band.clone());
        for row in 0..g.patch_len() {
            let (c, kh, kw) = (row / 6, row / 2 % 3, row % 2);
            for oh in band.clone() {
                for ow in 0..ow_len {
                    let (ih, iw) = (oh as isize + kh as isize - 1, ow as isize + kw as isize - 2);
                    let want = if (0..5).contains(&ih) && (0..6).contains(&iw) {
                        x[c * 30 + ih as usize * 6 + iw as usize]
                    } else {
                        0.0
                    };
                    let at = row * band.len() * ow_len + (oh - band.start) * ow_len + ow;
                    assert_eq!(col[at], want);
                }
            }
        }
    }
}
