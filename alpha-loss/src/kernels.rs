//! Row kernels over f32 logits, written in fixed-width lanes so the compiler vectorizes them, and
//! compiled three times (AVX-512, AVX2+FMA, baseline) with the best one picked at run time.

/// Elements per lane group; 16 f32 fill one AVX-512 register.
const LANES: usize = 16;
/// Elements per block in scans that skip whole blocks.
const BLOCK: usize = 64;

/// Defines `pub(crate) fn $name(args) -> ret` whose body is compiled for AVX-512, AVX2+FMA and
/// the baseline target, dispatching on the CPU's features (checked once and cached by std).
macro_rules! multiversion {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$meta])*
        pub(crate) fn $name($($arg: $ty),*) -> $ret {
            #[inline(always)]
            fn body($($arg: $ty),*) -> $ret $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) -> $ret {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) -> $ret {
                    body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F (checked just above).
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

/// e^x for x ≤ 0 in f32 arithmetic only (vectorizable): range reduction x = n ln2 + r with
/// |r| ≤ ln2/2, a degree-6 polynomial for e^r, and 2^n built in the exponent bits. Relative
/// error about 2 ulp; inputs below −87 flush to e^−87 ≈ 1.6e-38 (treated as zero mass).
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5·2^23: adding and subtracting rounds to the nearest integer in the default mode.
    const ROUND: f32 = 12_582_912.0;
    let x = if x < -87.0 { -87.0 } else { x };
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let poly = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.666_666_6e-1
                    + r * (4.166_579_6e-2 + r * (8.333_452e-3 + r * 1.393_891_4e-3)))));
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    poly * scale
}

multiversion! {
    /// The row maximum and whether every value is finite (NaN·0 and ±Inf·0 are NaN).
    fn max_and_finite(row: &[f32]) -> (f32, bool) {
        let mut best = [f32::NEG_INFINITY; LANES];
        let mut probe = [0.0f32; LANES];
        let chunks = row.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            for i in 0..LANES {
                let v = chunk[i];
                best[i] = if v > best[i] { v } else { best[i] };
                probe[i] += v * 0.0;
            }
        }
        let mut max = f32::NEG_INFINITY;
        let mut finite = 0.0f32;
        for i in 0..LANES {
            max = if best[i] > max { best[i] } else { max };
            finite += probe[i];
        }
        for &v in rest {
            max = if v > max { v } else { max };
            finite += v * 0.0;
        }
        (max, finite == 0.0)
    }
}

multiversion! {
    /// The first column holding exactly `value` (`row.len()` when none does).
    fn first_index_of(row: &[f32], value: f32) -> usize {
        for (b, block) in row.chunks(LANES).enumerate() {
            let mut hit = false;
            for v in block {
                hit |= *v == value;
            }
            if hit {
                let i = block.iter().position(|v| *v == value).unwrap_or(0);
                return b * LANES + i;
            }
        }
        row.len()
    }
}

multiversion! {
    /// Appends to `out` the columns whose value exceeds `cut`, skipping whole blocks below it.
    fn columns_above(row: &[f32], cut: f32, out: &mut Vec<u32>) -> () {
        for (b, block) in row.chunks(BLOCK).enumerate() {
            let mut best = [f32::NEG_INFINITY; LANES];
            let mut lanes = block.chunks_exact(LANES);
            for chunk in &mut lanes {
                for i in 0..LANES {
                    best[i] = if chunk[i] > best[i] { chunk[i] } else { best[i] };
                }
            }
            let mut max = f32::NEG_INFINITY;
            for v in best.iter().chain(lanes.remainder()) {
                max = if *v > max { *v } else { max };
            }
            if max > cut {
                let base = (b * BLOCK) as u32;
                for (i, &v) in block.iter().enumerate() {
                    if v > cut {
                        out.push(base + i as u32);
                    }
                }
            }
        }
    }
}

multiversion! {
    /// Σ_j e^{θ_j − shift} for θ_j ≤ shift, summed in f32 lanes per 256 values and in f64 across.
    fn sum_exp(row: &[f32], shift: f32) -> f64 {
        let mut total = 0.0f64;
        for block in row.chunks(256) {
            let mut acc = [0.0f32; LANES];
            let chunks = block.chunks_exact(LANES);
            let rest = chunks.remainder();
            for chunk in chunks {
                for i in 0..LANES {
                    acc[i] += exp_nonpositive(chunk[i] - shift);
                }
            }
            let mut part = 0.0f64;
            for a in acc {
                part += a as f64;
            }
            for &v in rest {
                part += exp_nonpositive(v - shift) as f64;
            }
            total += part;
        }
        total
    }
}

/// f64 lanes per group; 8 f64 fill one AVX-512 register.
const WIDE_LANES: usize = 8;

/// Over the columns with t_j = θ_j − shift > cut (t in f64): their count, Σt, Σt², Σt³ and
/// the smallest t (+∞ when none). [`split_at_band`] with an empty band.
pub(crate) fn moments_above(row: &[f32], shift: f64, cut: f64) -> ([f64; 4], f64) {
    split_at_band(row, shift, cut, cut, &mut Vec::new())
}

multiversion! {
    /// One pass that splits a row at a band (lo, hi] of t_j = θ_j − shift: count, Σt, Σt², Σt³
    /// and the smallest t over the classes above hi, and the band's t appended to `band`.
    fn split_at_band(row: &[f32], shift: f64, lo: f64, hi: f64, band: &mut Vec<f64>) -> ([f64; 4], f64) {
        let mut count = [0.0f64; WIDE_LANES];
        let mut s1 = [0.0f64; WIDE_LANES];
        let mut s2 = [0.0f64; WIDE_LANES];
        let mut s3 = [0.0f64; WIDE_LANES];
        let mut low = [f64::INFINITY; WIDE_LANES];
        let chunks = row.chunks_exact(WIDE_LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            let mut in_band = false;
            for i in 0..WIDE_LANES {
                let t = chunk[i] as f64 - shift;
                let keep = t > hi;
                in_band |= t > lo && !keep;
                let k = if keep { 1.0 } else { 0.0 };
                let tm = t * k;
                let t2 = tm * tm;
                count[i] += k;
                s1[i] += tm;
                s2[i] += t2;
                s3[i] += t2 * tm;
                let cand = if keep { t } else { f64::INFINITY };
                low[i] = if cand < low[i] { cand } else { low[i] };
            }
            if in_band {
                for &v in chunk {
                    let t = v as f64 - shift;
                    if t > lo && t <= hi {
                        band.push(t);
                    }
                }
            }
        }
        let mut sums = [0.0f64; 4];
        let mut min = f64::INFINITY;
        for i in 0..WIDE_LANES {
            sums[0] += count[i];
            sums[1] += s1[i];
            sums[2] += s2[i];
            sums[3] += s3[i];
            min = min.min(low[i]);
        }
        for &v in rest {
            let t = v as f64 - shift;
            if t > hi {
                sums[0] += 1.0;
                sums[1] += t;
                sums[2] += t * t;
                sums[3] += t * t * t;
                min = min.min(t);
            } else if t > lo {
                band.push(t);
            }
        }
        (sums, min)
    }
}

multiversion! {
    /// out_j = scale · x_j^r with x_j = [1 + d(θ_j − shift)]_+ and r = 1 (`square` false) or
    /// 2 (`square` true), in f64 lanes: the α = 2 and α = 1.5 probabilities of a dense row.
    fn write_clipped_power(
        row: &[f32],
        shift: f64,
        d: f64,
        scale: f64,
        square: bool,
        out: &mut [f32],
    ) -> () {
        let mut outs = out.chunks_exact_mut(WIDE_LANES);
        let mut rows = row.chunks_exact(WIDE_LANES);
        for (o, chunk) in (&mut outs).zip(&mut rows) {
            for i in 0..WIDE_LANES {
                let x = 1.0 + d * (chunk[i] as f64 - shift);
                let x = if x > 0.0 { x } else { 0.0 };
                let p = if square { x * x } else { x };
                o[i] = (scale * p) as f32;
            }
        }
        for (o, &v) in outs.into_remainder().iter_mut().zip(rows.remainder()) {
            let x = (1.0 + d * (v as f64 - shift)).max(0.0);
            *o = (scale * if square { x * x } else { x }) as f32;
        }
    }
}

multiversion! {
    /// out_j = scale · e^{θ_j − shift} for θ_j ≤ shift.
    fn write_scaled_exp(row: &[f32], shift: f32, scale: f32, out: &mut [f32]) -> () {
        for (o, &v) in out.iter_mut().zip(row) {
            *o = scale * exp_nonpositive(v - shift);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_within_a_few_ulp_of_f64_exp() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x <= 0.0 {
            let exact = (x as f64).exp();
            let rel = ((exp_nonpositive(x) as f64) - exact).abs() / exact;
            worst = worst.max(rel);
            x += 0.000_97;
        }
        assert!(worst < 4e-7, "worst relative error {worst:e}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
    }

    #[test]
    fn max_finite_and_columns_above_match_scalar_code() {
        let row: Vec<f32> = (0..1000)
            .map(|j| ((j * 7919 % 1009) as f32 * 0.37).sin() * 5.0)
            .collect();
        let (max, finite) = max_and_finite(&row);
        assert!(finite);
        assert_eq!(max, row.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        let mut bad = row.clone();
        bad[999] = f32::INFINITY;
        assert!(!max_and_finite(&bad).1);
        bad[999] = f32::NAN;
        assert!(!max_and_finite(&bad).1);
        let at = first_index_of(&row, max);
        assert_eq!(at, row.iter().position(|v| *v == max).unwrap());
        assert_eq!(first_index_of(&row, 99.0), row.len());
        let mut cols = Vec::new();
        columns_above(&row, 4.5, &mut cols);
        let expected: Vec<u32> = (0..1000).filter(|j| row[*j as usize] > 4.5).collect();
        assert_eq!(cols, expected);
        let (sums, min) = moments_above(&row, 1.0, -2.0);
        let kept: Vec<f64> = row
            .iter()
            .map(|v| *v as f64 - 1.0)
            .filter(|t| *t > -2.0)
            .collect();
        assert_eq!(sums[0], kept.len() as f64);
        for (k, sum) in sums.iter().enumerate().skip(1) {
            let exact: f64 = kept.iter().map(|t| t.powi(k as i32)).sum();
            assert!(
                (sum - exact).abs() < 1e-12 * exact.abs().max(1.0),
                "Σt^{k}: {sum} vs {exact}"
            );
        }
        assert_eq!(min, kept.iter().copied().fold(f64::INFINITY, f64::min));
        let mut band = Vec::new();
        let (sums, min) = split_at_band(&row, 1.0, -2.0, 0.5, &mut band);
        let above: Vec<f64> = kept.iter().copied().filter(|t| *t > 0.5).collect();
        assert_eq!(sums[0], above.len() as f64);
        assert!((sums[3] - above.iter().map(|t| t * t * t).sum::<f64>()).abs() < 1e-9);
        assert_eq!(min, above.iter().copied().fold(f64::INFINITY, f64::min));
        let expected: Vec<f64> = kept.iter().copied().filter(|t| *t <= 0.5).collect();
        assert_eq!(band, expected);
        for square in [false, true] {
            let mut out = vec![0.0f32; row.len()];
            write_clipped_power(&row, 2.0, 0.5, 0.25, square, &mut out);
            for (o, v) in out.iter().zip(&row) {
                let x = (1.0 + 0.5 * (*v as f64 - 2.0)).max(0.0);
                assert_eq!(*o, (0.25 * if square { x * x } else { x }) as f32);
            }
        }
        let s = sum_exp(&row, max);
        let exact: f64 = row.iter().map(|v| ((*v - max) as f64).exp()).sum();
        assert!((s - exact).abs() < 1e-6 * exact, "{s} vs {exact}");
    }
}
