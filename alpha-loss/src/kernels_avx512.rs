//! AVX-512 versions of the dense-row passes, written with intrinsics: the lane-array versions in
//! [`crate::kernels`] keep some accumulators on the stack, and the band needs `vcompresspd`.

use std::arch::x86_64::*;

/// Whether the CPU runs these kernels (checked once and cached by std).
pub(crate) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// Eight f64 accumulators of one pass: count, Σt, Σt², Σt³ and min t.
#[derive(Clone, Copy)]
struct Acc {
    n: __m512d,
    s1: __m512d,
    s2: __m512d,
    s3: __m512d,
    low: __m512d,
}

impl Acc {
    #[target_feature(enable = "avx512f")]
    fn new() -> Self {
        let zero = _mm512_setzero_pd();
        Self {
            n: zero,
            s1: zero,
            s2: zero,
            s3: zero,
            low: _mm512_set1_pd(f64::INFINITY),
        }
    }

    /// Adds the lanes of `t` selected by `keep`.
    #[target_feature(enable = "avx512f")]
    fn add(&mut self, keep: __mmask8, t: __m512d) {
        let tm = _mm512_maskz_mov_pd(keep, t);
        let t2 = _mm512_mul_pd(tm, tm);
        self.n = _mm512_mask_add_pd(self.n, keep, self.n, _mm512_set1_pd(1.0));
        self.s1 = _mm512_add_pd(self.s1, tm);
        self.s2 = _mm512_add_pd(self.s2, t2);
        self.s3 = _mm512_fmadd_pd(t2, tm, self.s3);
        self.low = _mm512_mask_min_pd(self.low, keep, self.low, t);
    }

    #[target_feature(enable = "avx512f")]
    fn finish(a: Self, b: Self) -> ([f64; 4], f64) {
        let sum = |x: __m512d, y: __m512d| _mm512_reduce_add_pd(_mm512_add_pd(x, y));
        (
            [
                sum(a.n, b.n),
                sum(a.s1, b.s1),
                sum(a.s2, b.s2),
                sum(a.s3, b.s3),
            ],
            _mm512_reduce_min_pd(_mm512_min_pd(a.low, b.low)),
        )
    }
}

/// See [`crate::kernels::split_at_band`]; with `BAND` false, `lo` is ignored and nothing is
/// appended (that is `moments_above(row, shift, hi)`).
///
/// # Safety
/// The CPU must support AVX-512F ([`available`]).
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn split<const BAND: bool>(
    row: &[f32],
    shift: f64,
    lo: f64,
    hi: f64,
    band: &mut Vec<f64>,
) -> ([f64; 4], f64) {
    let (vshift, vlo, vhi) = (
        _mm512_set1_pd(shift),
        _mm512_set1_pd(lo),
        _mm512_set1_pd(hi),
    );
    if BAND {
        band.reserve(row.len());
    }
    // Two accumulator sets, so consecutive vectors do not wait on each other's additions.
    let (mut a, mut b) = (Acc::new(), Acc::new());
    let mut step = |acc: &mut Acc, ptr: *const f32| {
        // SAFETY: the caller passes a pointer to 8 readable f32 of `row`.
        let t = _mm512_sub_pd(_mm512_cvtps_pd(unsafe { _mm256_loadu_ps(ptr) }), vshift);
        let keep = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(t, vhi);
        acc.add(keep, t);
        if BAND {
            let inside = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(t, vlo) & !keep;
            if inside != 0 {
                let len = band.len();
                // SAFETY: `reserve(row.len())` above leaves room for every class of the row,
                // and the compress store writes `inside.count_ones()` f64 at the end.
                unsafe {
                    _mm512_mask_compressstoreu_pd(band.as_mut_ptr().add(len), inside, t);
                    band.set_len(len + inside.count_ones() as usize);
                }
            }
        }
    };
    let pairs = row.chunks_exact(16);
    let rest = pairs.remainder();
    for pair in pairs {
        step(&mut a, pair.as_ptr());
        // SAFETY: `pair` holds 16 f32.
        step(&mut b, unsafe { pair.as_ptr().add(8) });
    }
    let (mut sums, mut min) = Acc::finish(a, b);
    for &v in rest {
        let t = v as f64 - shift;
        if t > hi {
            sums[0] += 1.0;
            sums[1] += t;
            sums[2] += t * t;
            sums[3] += t * t * t;
            min = min.min(t);
        } else if BAND && t > lo {
            band.push(t);
        }
    }
    (sums, min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intrinsics_match_the_lane_versions() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        // 1003 values: pairs of vectors plus a remainder; some exactly at the band edges.
        let mut row: Vec<f32> = (0..1003)
            .map(|j| ((j * 7919 % 1009) as f32 * 0.37).sin() * 5.0)
            .collect();
        row[17] = 1.5;
        row[400] = -1.0;
        for (lo, hi) in [(-1.0, 0.5), (-9.0, -8.0), (-9.0, 9.0)] {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            // SAFETY: AVX-512F is available (checked above).
            let (s, m) = unsafe { split::<true>(&row, 1.0, lo, hi, &mut ours) };
            let (ts, tm) = crate::kernels::split_at_band(&row, 1.0, lo, hi, &mut theirs);
            assert_eq!(s[0], ts[0]);
            for k in 1..4 {
                assert!(
                    (s[k] - ts[k]).abs() <= 1e-12 * ts[k].abs().max(1.0),
                    "Σt^{k}"
                );
            }
            assert_eq!(m, tm);
            assert_eq!(ours, theirs, "band ({lo}, {hi}]");
            // SAFETY: as above.
            let (s, m) = unsafe { split::<false>(&row, 1.0, hi, hi, &mut Vec::new()) };
            let (ts, tm) = crate::kernels::moments_above(&row, 1.0, hi);
            assert_eq!((s[0], m), (ts[0], tm));
        }
    }
}
