//! The 8x8 inverse DCT of libjpeg's "islow" method (jidctint.c: integer, 13-bit constants, two
//! extra bits between the passes), so decoded samples equal libjpeg-turbo's, which PIL,
//! OpenCV and torchvision use by default. A portable version and an AVX2 one (eight columns per
//! vector) give identical results.

use std::num::Wrapping;

const CONST_BITS: i32 = 13;
const PASS1_BITS: i32 = 2;
const FIX_0_298631336: i32 = 2446;
const FIX_0_390180644: i32 = 3196;
const FIX_0_541196100: i32 = 4433;
const FIX_0_765366865: i32 = 6270;
const FIX_0_899976223: i32 = 7373;
const FIX_1_175875602: i32 = 9633;
const FIX_1_501321110: i32 = 12299;
const FIX_1_847759065: i32 = 15137;
const FIX_1_961570560: i32 = 16069;
const FIX_2_053119869: i32 = 16819;
const FIX_2_562915447: i32 = 20995;
const FIX_3_072711026: i32 = 25172;

/// libjpeg's post-IDCT range limit: the value masked to 10 bits (wrapping corrupt data the
/// same way), then `+128` clamped to `0..=255`.
#[inline(always)]
fn range_limit(x: i32) -> u8 {
    let wrapped = ((x & 1023) ^ 512) - 512;
    (wrapped + 128).clamp(0, 255) as u8
}

/// The even/odd butterfly shared by both passes: eight inputs to eight outputs before descaling.
/// Wrapping i32 arithmetic, as the AVX2 lanes (only corrupt data can overflow).
#[inline(always)]
fn butterfly(v: [i32; 8]) -> [i32; 8] {
    let v = v.map(Wrapping);
    let c = Wrapping;
    let (z2, z3) = (v[2], v[6]);
    let z1 = (z2 + z3) * c(FIX_0_541196100);
    let tmp2 = z1 + z3 * c(-FIX_1_847759065);
    let tmp3 = z1 + z2 * c(FIX_0_765366865);
    let tmp0 = (v[0] + v[4]) << CONST_BITS as usize;
    let tmp1 = (v[0] - v[4]) << CONST_BITS as usize;
    let (tmp10, tmp13, tmp11, tmp12) = (tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2);
    let (t3, t2, t1, t0) = (v[1], v[3], v[5], v[7]);
    let (z4, z3, z2, z1) = (t1 + t3, t0 + t2, t1 + t2, t0 + t3);
    let z5 = (z3 + z4) * c(FIX_1_175875602);
    let mut t3 = t3 * c(FIX_1_501321110);
    let mut t2 = t2 * c(FIX_3_072711026);
    let mut t1 = t1 * c(FIX_2_053119869);
    let mut t0 = t0 * c(FIX_0_298631336);
    let z4 = z4 * c(-FIX_0_390180644) + z5;
    let z3 = z3 * c(-FIX_1_961570560) + z5;
    let z1 = z1 * c(-FIX_0_899976223);
    let z2 = z2 * c(-FIX_2_562915447);
    t3 += z1 + z4;
    t2 += z2 + z3;
    t1 += z2 + z4;
    t0 += z1 + z3;
    [
        tmp10 + t3,
        tmp11 + t2,
        tmp12 + t1,
        tmp13 + t0,
        tmp13 - t0,
        tmp12 - t1,
        tmp11 - t2,
        tmp10 - t3,
    ]
    .map(|x| x.0)
}

#[inline(always)]
fn descale(x: i32, n: i32) -> i32 {
    x.wrapping_add(1 << (n - 1)) >> n
}

/// Inverse DCT of a dequantized block (natural order) into 8 rows of `out` (`stride` apart).
pub(crate) fn idct_scalar(block: &[i32; 64], out: &mut [u8], stride: usize) {
    let mut ws = [0i32; 64];
    for col in 0..8 {
        let v: [i32; 8] = std::array::from_fn(|row| block[row * 8 + col]);
        let r = butterfly(v);
        for row in 0..8 {
            ws[row * 8 + col] = descale(r[row], CONST_BITS - PASS1_BITS);
        }
    }
    for row in 0..8 {
        let v: [i32; 8] = std::array::from_fn(|c| ws[row * 8 + c]);
        let r = butterfly(v);
        let dst = &mut out[row * stride..row * stride + 8];
        for (d, x) in dst.iter_mut().zip(r) {
            *d = range_limit(descale(x, CONST_BITS + PASS1_BITS + 3));
        }
    }
}

/// A block whose AC coefficients are all zero: one value everywhere (what libjpeg's
/// shortcut, and the full transform, give).
pub(crate) fn idct_dc_only(dc: i32, out: &mut [u8], stride: usize) {
    let value = range_limit(descale(dc.wrapping_shl(PASS1_BITS as u32), PASS1_BITS + 3));
    for row in 0..8 {
        out[row * stride..row * stride + 8].fill(value);
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    //! Eight columns (then eight rows) per 256-bit vector.
    use std::arch::x86_64::*;

    use super::*;

    #[target_feature(enable = "avx2")]
    #[inline]
    fn mul(a: __m256i, c: i32) -> __m256i {
        _mm256_mullo_epi32(a, _mm256_set1_epi32(c))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn add(a: __m256i, b: __m256i) -> __m256i {
        _mm256_add_epi32(a, b)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn sub(a: __m256i, b: __m256i) -> __m256i {
        _mm256_sub_epi32(a, b)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn butterfly8(v: [__m256i; 8]) -> [__m256i; 8] {
        let (z2, z3) = (v[2], v[6]);
        let z1 = mul(add(z2, z3), FIX_0_541196100);
        let tmp2 = add(z1, mul(z3, -FIX_1_847759065));
        let tmp3 = add(z1, mul(z2, FIX_0_765366865));
        let tmp0 = _mm256_slli_epi32::<CONST_BITS>(add(v[0], v[4]));
        let tmp1 = _mm256_slli_epi32::<CONST_BITS>(sub(v[0], v[4]));
        let (tmp10, tmp13) = (add(tmp0, tmp3), sub(tmp0, tmp3));
        let (tmp11, tmp12) = (add(tmp1, tmp2), sub(tmp1, tmp2));
        let (t3, t2, t1, t0) = (v[1], v[3], v[5], v[7]);
        let (z4, z3, z2, z1) = (add(t1, t3), add(t0, t2), add(t1, t2), add(t0, t3));
        let z5 = mul(add(z3, z4), FIX_1_175875602);
        let t3 = mul(t3, FIX_1_501321110);
        let t2 = mul(t2, FIX_3_072711026);
        let t1 = mul(t1, FIX_2_053119869);
        let t0 = mul(t0, FIX_0_298631336);
        let z4 = add(mul(z4, -FIX_0_390180644), z5);
        let z3 = add(mul(z3, -FIX_1_961570560), z5);
        let z1 = mul(z1, -FIX_0_899976223);
        let z2 = mul(z2, -FIX_2_562915447);
        let t3 = add(t3, add(z1, z4));
        let t2 = add(t2, add(z2, z3));
        let t1 = add(t1, add(z2, z4));
        let t0 = add(t0, add(z1, z3));
        [
            add(tmp10, t3),
            add(tmp11, t2),
            add(tmp12, t1),
            add(tmp13, t0),
            sub(tmp13, t0),
            sub(tmp12, t1),
            sub(tmp11, t2),
            sub(tmp10, t3),
        ]
    }

    /// Transposes an 8x8 matrix of i32 held as eight row vectors.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn transpose(r: [__m256i; 8]) -> [__m256i; 8] {
        let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
        let t1 = _mm256_unpackhi_epi32(r[0], r[1]);
        let t2 = _mm256_unpacklo_epi32(r[2], r[3]);
        let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
        let t4 = _mm256_unpacklo_epi32(r[4], r[5]);
        let t5 = _mm256_unpackhi_epi32(r[4], r[5]);
        let t6 = _mm256_unpacklo_epi32(r[6], r[7]);
        let t7 = _mm256_unpackhi_epi32(r[6], r[7]);
        let u0 = _mm256_unpacklo_epi64(t0, t2);
        let u1 = _mm256_unpackhi_epi64(t0, t2);
        let u2 = _mm256_unpacklo_epi64(t1, t3);
        let u3 = _mm256_unpackhi_epi64(t1, t3);
        let u4 = _mm256_unpacklo_epi64(t4, t6);
        let u5 = _mm256_unpackhi_epi64(t4, t6);
        let u6 = _mm256_unpacklo_epi64(t5, t7);
        let u7 = _mm256_unpackhi_epi64(t5, t7);
        [
            _mm256_permute2x128_si256::<0x20>(u0, u4),
            _mm256_permute2x128_si256::<0x20>(u1, u5),
            _mm256_permute2x128_si256::<0x20>(u2, u6),
            _mm256_permute2x128_si256::<0x20>(u3, u7),
            _mm256_permute2x128_si256::<0x31>(u0, u4),
            _mm256_permute2x128_si256::<0x31>(u1, u5),
            _mm256_permute2x128_si256::<0x31>(u2, u6),
            _mm256_permute2x128_si256::<0x31>(u3, u7),
        ]
    }

    /// [`idct_scalar`] on AVX2.
    ///
    /// # Safety
    /// The CPU must support AVX2; `out` must hold 8 rows of 8 bytes `stride` apart.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn idct(block: &[i32; 64], out: &mut [u8], stride: usize) {
        assert!(out.len() >= 7 * stride + 8);
        let p = block.as_ptr();
        // SAFETY: `block` holds 64 i32, eight rows of 32 bytes.
        let rows: [__m256i; 8] =
            std::array::from_fn(|i| unsafe { _mm256_loadu_si256(p.add(8 * i) as *const __m256i) });
        // Pass 1 (columns): lane j of row vector i is coefficient (i, j).
        let round1 = _mm256_set1_epi32(1 << (CONST_BITS - PASS1_BITS - 1));
        let mut ws = butterfly8(rows);
        for x in &mut ws {
            *x = _mm256_srai_epi32::<{ CONST_BITS - PASS1_BITS }>(add(*x, round1));
        }
        // Pass 2 (rows): transpose so lane i of vector j is workspace (i, j).
        let round2 = _mm256_set1_epi32(1 << (CONST_BITS + PASS1_BITS + 3 - 1));
        let mut cols = butterfly8(transpose(ws));
        // Range limit as libjpeg: wrap to 10 bits signed, +128, clamp.
        let mask = _mm256_set1_epi32(1023);
        let half = _mm256_set1_epi32(512);
        let center = _mm256_set1_epi32(128 - 512);
        for x in &mut cols {
            let d = _mm256_srai_epi32::<{ CONST_BITS + PASS1_BITS + 3 }>(add(*x, round2));
            *x = add(_mm256_xor_si256(_mm256_and_si256(d, mask), half), center);
        }
        // Back to rows: vector i holds output row i.
        let out_rows = transpose(cols);
        for (i, row) in out_rows.iter().enumerate() {
            // i32 -> u8 with saturation (values are already within -1..=1023 before clamp).
            let packed16 = _mm256_packs_epi32(*row, *row);
            let packed8 = _mm256_packus_epi16(packed16, packed16);
            let lo = _mm256_castsi256_si128(packed8);
            let hi = _mm256_extracti128_si256::<1>(packed8);
            let bytes = _mm_unpacklo_epi32(lo, hi);
            // SAFETY: row i's 8 bytes lie within `out` (asserted above).
            unsafe { _mm_storel_epi64(out.as_mut_ptr().add(i * stride) as *mut __m128i, bytes) };
        }
    }
}
