//! Chroma upsampling and YCbCr -> RGB, row by row, as libjpeg-turbo does by default:
//! jdsample.c's "fancy" (triangle) upsampling for 4:2:0 and jdcolor.c's fixed-point conversion.

use super::{Planes, Sampling};

/// jdcolor.c's 16-bit fixed-point constants: `FIX(x) = round(x * 65536)`.
const FIX_1_40200: i32 = 91881;
const FIX_1_77200: i32 = 116130;
const FIX_0_71414: i32 = 46802;
const FIX_0_34414: i32 = 22554;
const ONE_HALF: i32 = 1 << 15;

/// `(v - 127.5) / 127.5`, the arcface_torch normalisation (`ToTensor` then `Normalize(0.5, 0.5)`).
#[inline(always)]
pub const fn normalise_value(v: u8) -> f32 {
    (v as f32 - 127.5) / 127.5
}

/// Per-row buffers of [`convert_rows`].
struct Scratch {
    cb: Vec<u8>,
    cr: Vec<u8>,
    sums: Vec<i32>,
    r: Vec<u8>,
    g: Vec<u8>,
    b: Vec<u8>,
}

/// Calls `row(y, r, g, b)` with each image row's 8-bit R, G and B samples (`width` long).
pub(crate) fn convert_rows(planes: &Planes, mut row: impl FnMut(usize, &[u8], &[u8], &[u8])) {
    let w = planes.width;
    let chroma_w = w.div_ceil(2);
    let mut s = Scratch {
        cb: vec![0u8; 2 * chroma_w],
        cr: vec![0u8; 2 * chroma_w],
        sums: vec![0i32; chroma_w],
        r: vec![0u8; w],
        g: vec![0u8; w],
        b: vec![0u8; w],
    };
    let avx2 = has_avx2();
    for y in 0..planes.height {
        if planes.sampling == Sampling::Gray {
            let l = &planes.planes[0][y * planes.strides[0]..][..w];
            row(y, l, l, l);
            continue;
        }
        if avx2 {
            // SAFETY: AVX2 is present.
            unsafe { rgb_row_avx2(planes, y, &mut s) }
        } else {
            rgb_row(planes, y, &mut s)
        }
        row(y, &s.r, &s.g, &s.b);
    }
}

/// Whether the AVX2 builds of the row kernels can run.
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rgb_row_avx2(planes: &Planes, y: usize, s: &mut Scratch) {
    rgb_row(planes, y, s)
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn rgb_row_avx2(planes: &Planes, y: usize, s: &mut Scratch) {
    rgb_row(planes, y, s)
}

/// Image row `y` of a colour image into `s.r`, `s.g`, `s.b`.
#[inline(always)]
fn rgb_row(planes: &Planes, y: usize, s: &mut Scratch) {
    let w = planes.width;
    let luma = &planes.planes[0][y * planes.strides[0]..][..w];
    if planes.sampling == Sampling::Yuv444 {
        let cb = &planes.planes[1][y * planes.strides[1]..][..w];
        let cr = &planes.planes[2][y * planes.strides[2]..][..w];
        ycc_to_rgb(luma, cb, cr, &mut s.r, &mut s.g, &mut s.b);
        return;
    }
    let chroma_w = w.div_ceil(2);
    let chroma_h = planes.height.div_ceil(2);
    let near = y / 2;
    // The other input row: above for even output rows, below for odd ones; the image's first
    // and last chroma rows stand in for the rows beyond the edges.
    let far = if y.is_multiple_of(2) {
        near.saturating_sub(1)
    } else {
        (near + 1).min(chroma_h - 1)
    };
    for (i, out) in [(1, &mut s.cb), (2, &mut s.cr)] {
        let (plane, stride) = (&planes.planes[i], planes.strides[i]);
        let near_row = &plane[near * stride..][..chroma_w];
        let far_row = &plane[far * stride..][..chroma_w];
        upsample_h2v2_row(near_row, far_row, &mut s.sums, out);
    }
    ycc_to_rgb(luma, &s.cb[..w], &s.cr[..w], &mut s.r, &mut s.g, &mut s.b);
}

/// One output row of jdsample.c's `h2v2_fancy_upsample`: vertical sums `3 * near + far`,
/// then a 3:1 horizontal triangle filter with its rounding (+8 on even, +7 on odd outputs).
/// `near.len() >= 2`; `out` holds `2 * near.len()` samples.
#[inline(always)]
fn upsample_h2v2_row(near: &[u8], far: &[u8], sums: &mut [i32], out: &mut [u8]) {
    let n = near.len();
    for ((s, &a), &b) in sums.iter_mut().zip(near).zip(far) {
        *s = 3 * i32::from(a) + i32::from(b);
    }
    let sums = &sums[..n];
    // Interior pairs: output 2c-1 (odd, from c-1 towards c) and 2c (even, from c towards c-1).
    for ((pair, this), last) in out[1..2 * n - 1]
        .chunks_exact_mut(2)
        .zip(&sums[1..])
        .zip(&sums[..n - 1])
    {
        pair[0] = ((last * 3 + this + 7) >> 4) as u8;
        pair[1] = ((this * 3 + last + 8) >> 4) as u8;
    }
    out[0] = ((sums[0] * 4 + 8) >> 4) as u8;
    out[2 * n - 1] = ((sums[n - 1] * 4 + 7) >> 4) as u8;
}

/// jdcolor.c's `ycc_rgb_convert` for one row.
#[inline(always)]
fn ycc_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], r: &mut [u8], g: &mut [u8], b: &mut [u8]) {
    let n = y.len();
    let (cb, cr, r, g, b) = (&cb[..n], &cr[..n], &mut r[..n], &mut g[..n], &mut b[..n]);
    for i in 0..n {
        let l = i32::from(y[i]);
        let cb = i32::from(cb[i]) - 128;
        let cr = i32::from(cr[i]) - 128;
        r[i] = (l + ((FIX_1_40200 * cr + ONE_HALF) >> 16)).clamp(0, 255) as u8;
        g[i] = (l + ((-FIX_0_34414 * cb + ONE_HALF - FIX_0_71414 * cr) >> 16)).clamp(0, 255) as u8;
        b[i] = (l + ((FIX_1_77200 * cb + ONE_HALF) >> 16)).clamp(0, 255) as u8;
    }
}

/// `dst[x] = normalise_value(src[x])`, or from the mirrored position when `flip`.
#[inline]
pub(crate) fn normalise_row(src: &[u8], dst: &mut [f32], flip: bool) {
    if has_avx2() {
        // SAFETY: AVX2 is present.
        unsafe { normalise_row_avx2(src, dst, flip) }
    } else {
        normalise_row_impl(src, dst, flip)
    }
}

#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx2"))]
unsafe fn normalise_row_avx2(src: &[u8], dst: &mut [f32], flip: bool) {
    normalise_row_impl(src, dst, flip)
}

#[inline(always)]
fn normalise_row_impl(src: &[u8], dst: &mut [f32], flip: bool) {
    if flip {
        for (d, &s) in dst.iter_mut().zip(src.iter().rev()) {
            *d = normalise_value(s);
        }
    } else {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = normalise_value(s);
        }
    }
}
