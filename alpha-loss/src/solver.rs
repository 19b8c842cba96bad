//! The per-row root finder: τ such that Σ_j q_j [1 + (α−1)(θ_j − τ)]_+^{1/(α−1)} = 1, exact to
//! f64 rounding, and the loss, target probability and support size at that τ.
//!
//! For α > 1 the work is one pass for the maximum, one pass that keeps the candidate classes
//! (θ_j > τ_lo − 1/(α−1), where τ_lo is a lower bound on τ), then a safeguarded Newton iteration
//! on the candidates only that drops classes as soon as they are certainly outside the support,
//! and an exact finish on the found support (closed forms for α = 2 and α = 1.5). α = 1 is the
//! softmax limit τ = ln Σ_j q_j e^{θ_j}, computed on its own.

use crate::dense;
use crate::kernels;
use crate::measure::RowMeasure;

/// Logit element types the CPU path reads (root finding is always in f64). The row scans have
/// vectorized f32 versions and plain f64 ones.
pub(crate) trait Real: Copy + Send + Sync + 'static {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    /// The row maximum and its first column; an error for NaN or infinite values.
    fn max_argmax(row: &[Self]) -> Result<(f64, usize), RowError>;
    /// Appends the columns with θ_j > cut (a superset is allowed; no true member may be missed).
    fn columns_above(row: &[Self], cut: f64, out: &mut Vec<u32>);
    /// Σ_j e^{θ_j − max}.
    fn sum_exp(row: &[Self], max: f64) -> f64;
    /// out_j = scale · e^{θ_j − max}.
    fn write_scaled_exp(row: &[Self], max: f64, scale: f64, out: &mut [Self]);
    /// Count, Σt, Σt², Σt³ and min t over the columns with t_j = θ_j − shift > cut.
    fn moments_above(row: &[Self], shift: f64, cut: f64) -> ([f64; 4], f64);
    /// As `moments_above(row, shift, hi)`, also appending to `band` every t in (lo, hi].
    fn split_at_band(
        row: &[Self],
        shift: f64,
        lo: f64,
        hi: f64,
        band: &mut Vec<f64>,
    ) -> ([f64; 4], f64);
    /// out_j = scale · [1 + d(θ_j − shift)]_+^r for r = 1 or (`square`) 2.
    fn write_clipped_power(
        row: &[Self],
        shift: f64,
        d: f64,
        scale: f64,
        square: bool,
        out: &mut [Self],
    );
}

impl Real for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn max_argmax(row: &[Self]) -> Result<(f64, usize), RowError> {
        let (max, finite) = kernels::max_and_finite(row);
        if !finite {
            return Err(first_non_finite(row));
        }
        let arg = kernels::first_index_of(row, max).min(row.len().saturating_sub(1));
        Ok((max as f64, arg))
    }
    fn columns_above(row: &[Self], cut: f64, out: &mut Vec<u32>) {
        // The largest f32 not above `cut`: θ > cut implies θ > cut32.
        let mut cut32 = cut as f32;
        if cut32 as f64 > cut {
            cut32 = cut32.next_down();
        }
        kernels::columns_above(row, cut32, out);
    }
    fn sum_exp(row: &[Self], max: f64) -> f64 {
        kernels::sum_exp(row, max as f32)
    }
    fn write_scaled_exp(row: &[Self], max: f64, scale: f64, out: &mut [Self]) {
        kernels::write_scaled_exp(row, max as f32, scale as f32, out);
    }
    fn moments_above(row: &[Self], shift: f64, cut: f64) -> ([f64; 4], f64) {
        #[cfg(target_arch = "x86_64")]
        if crate::kernels_avx512::available() {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe {
                crate::kernels_avx512::split::<false>(row, shift, cut, cut, &mut Vec::new())
            };
        }
        kernels::moments_above(row, shift, cut)
    }
    fn split_at_band(
        row: &[Self],
        shift: f64,
        lo: f64,
        hi: f64,
        band: &mut Vec<f64>,
    ) -> ([f64; 4], f64) {
        #[cfg(target_arch = "x86_64")]
        if crate::kernels_avx512::available() {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { crate::kernels_avx512::split::<true>(row, shift, lo, hi, band) };
        }
        kernels::split_at_band(row, shift, lo, hi, band)
    }
    fn write_clipped_power(
        row: &[Self],
        shift: f64,
        d: f64,
        scale: f64,
        square: bool,
        out: &mut [Self],
    ) {
        kernels::write_clipped_power(row, shift, d, scale, square, out);
    }
}

impl Real for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    fn max_argmax(row: &[Self]) -> Result<(f64, usize), RowError> {
        let mut best = f64::NEG_INFINITY;
        let mut arg = 0;
        let mut probe = 0.0f64;
        for (j, &v) in row.iter().enumerate() {
            probe += v * 0.0;
            if v > best {
                best = v;
                arg = j;
            }
        }
        if probe.is_nan() {
            return Err(first_non_finite(row));
        }
        Ok((best, arg))
    }
    fn columns_above(row: &[Self], cut: f64, out: &mut Vec<u32>) {
        out.extend(
            row.iter()
                .enumerate()
                .filter(|(_, v)| **v > cut)
                .map(|(j, _)| j as u32),
        );
    }
    fn sum_exp(row: &[Self], max: f64) -> f64 {
        row.iter().map(|v| (v - max).exp()).sum()
    }
    fn write_scaled_exp(row: &[Self], max: f64, scale: f64, out: &mut [Self]) {
        for (o, v) in out.iter_mut().zip(row) {
            *o = scale * (v - max).exp();
        }
    }
    fn split_at_band(
        row: &[Self],
        shift: f64,
        lo: f64,
        hi: f64,
        band: &mut Vec<f64>,
    ) -> ([f64; 4], f64) {
        band.extend(
            row.iter()
                .map(|v| v - shift)
                .filter(|t| *t > lo && *t <= hi),
        );
        Self::moments_above(row, shift, hi)
    }
    fn moments_above(row: &[Self], shift: f64, cut: f64) -> ([f64; 4], f64) {
        let mut sums = [0.0f64; 4];
        let mut min = f64::INFINITY;
        for t in row.iter().map(|v| v - shift).filter(|t| *t > cut) {
            sums[0] += 1.0;
            sums[1] += t;
            sums[2] += t * t;
            sums[3] += t * t * t;
            min = min.min(t);
        }
        (sums, min)
    }
    fn write_clipped_power(
        row: &[Self],
        shift: f64,
        d: f64,
        scale: f64,
        square: bool,
        out: &mut [Self],
    ) {
        for (o, v) in out.iter_mut().zip(row) {
            let x = (1.0 + d * (v - shift)).max(0.0);
            *o = scale * if square { x * x } else { x };
        }
    }
}

fn first_non_finite<T: Real>(row: &[T]) -> RowError {
    let (column, value) = row
        .iter()
        .enumerate()
        .map(|(j, t)| (j, t.to_f64()))
        .find(|(_, v)| !v.is_finite())
        .unwrap_or((0, f64::NAN));
    RowError::NonFinite { column, value }
}

/// The solution for one row. τ is stored relative to the row maximum so that large logits lose
/// no precision: the absolute τ is `max + tau_rel`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RowSolution {
    /// The row's largest logit.
    pub max: f64,
    /// τ − max.
    pub tau_rel: f64,
    /// The per-row loss (0 when no target was given).
    pub loss: f64,
    /// p_y of the target (NaN when no target was given).
    pub p_target: f64,
    /// Number of classes with p_j > 0.
    pub support: usize,
}

/// A row that cannot be solved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RowError {
    /// The logit at this column is NaN or infinite.
    NonFinite { column: usize, value: f64 },
}

/// x^{1/(α−1)} with fast paths for the common exponents.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Power {
    One,
    Two,
    General(f64),
}

impl Power {
    pub(crate) fn for_alpha(alpha: f64) -> Self {
        let r = 1.0 / (alpha - 1.0);
        if alpha == 2.0 {
            Power::One
        } else if alpha == 1.5 {
            Power::Two
        } else {
            Power::General(r)
        }
    }

    /// x^r for x > 0.
    #[inline(always)]
    pub(crate) fn apply(self, x: f64) -> f64 {
        match self {
            Power::One => x,
            Power::Two => x * x,
            Power::General(r) => x.powf(r),
        }
    }
}

/// Relative step size at which the Newton iteration stops (τ is then exact to ~1e-13 relative,
/// and the closed forms finish α = 1.5 and α = 2 to rounding).
const TAU_TOLERANCE: f64 = 1e-13;

/// From this many candidates on, α = 1.5 and α = 2 use the histogram solver of [`dense`]
/// instead of Newton on a copied candidate list.
const DENSE_MIN_CANDIDATES: usize = 2048;

/// True when a strided sample of the row says at least a quarter of its classes are candidates
/// (θ_j > cut) and the row is long enough for the histogram solver to pay off.
fn looks_dense<T: Real>(theta: &[T], cut: f64) -> bool {
    const SAMPLES: usize = 256;
    if theta.len() < 4 * DENSE_MIN_CANDIDATES {
        return false;
    }
    let stride = theta.len() / SAMPLES;
    let hits = theta
        .iter()
        .step_by(stride)
        .filter(|v| v.to_f64() > cut)
        .count();
    4 * hits >= SAMPLES
}

/// Classes sampled by [`sampled_band`].
const BAND_SAMPLES: usize = 4096;

/// Whole-row passes of [`dense::constant_threshold`] before the histogram solver takes over.
const MAX_ROW_PASSES: usize = 8;

/// Passes over a band's members (cheap: the band is a few percent of the row).
const MAX_BAND_PASSES: usize = 100;

/// A band (lo, hi) of t = θ − max that likely holds the root of a dense row with constant
/// measure c, estimated from a strided sample of its classes (each standing for `len / samples`
/// of them): the sample's own root ± four standard errors of the estimated mass, turned into
/// logits by the slope of S there. Only a likely band: [`solve_in_band`] proves it.
fn sampled_band<T: Real>(
    theta: &[T],
    max: f64,
    c: f64,
    lowest: f64,
    alpha: f64,
) -> Option<(f64, f64)> {
    let stride = (theta.len() / BAND_SAMPLES).max(1);
    let sample: Vec<f64> = theta
        .iter()
        .step_by(stride)
        .map(|v| v.to_f64() - max)
        .collect();
    let weight = c * theta.len() as f64 / sample.len() as f64;
    let pass = |cut: f64| f64::moments_above(&sample, 0.0, cut);
    let (thr, m) =
        dense::constant_threshold(pass, weight, None, lowest, alpha, MAX_BAND_PASSES).ok()?;
    let delta = 4.0 / (m.count() as f64).sqrt() / m.slope(thr, alpha == 2.0);
    (delta.is_finite() && delta > 0.0).then_some((thr - delta, thr + delta))
}

/// The root of a dense row with constant measure c when it lies in `band` = (lo, hi): one
/// row pass sums the classes above hi and lists those inside the band, then the iteration
/// runs on the band's members only. `None` when S(hi) ≤ 1 ≤ S(lo) fails (the root is outside).
#[allow(clippy::too_many_arguments)]
fn solve_in_band<T: Real>(
    theta: &[T],
    max: f64,
    c: f64,
    correction: Option<(f64, f64)>,
    (lo, hi): (f64, f64),
    alpha: f64,
    members: &mut Vec<f64>,
) -> Option<(f64, dense::Moments)> {
    members.clear();
    let (above, above_min) = T::split_at_band(theta, max, lo, hi, members);
    let members = &*members;
    // Raw sums over the classes above any cut in [lo, hi].
    let pass = |cut: f64| {
        let (mut sums, mut min) = (above, above_min);
        for &t in members.iter().filter(|t| **t > cut) {
            sums[0] += 1.0;
            sums[1] += t;
            sums[2] += t * t;
            sums[3] += t * t * t;
            min = min.min(t);
        }
        (sums, min)
    };
    let alpha2 = alpha == 2.0;
    let mass =
        |cut: f64| dense::constant_moments(pass(cut).0, c, correction, cut).mass(cut, alpha2);
    if !(mass(hi) <= 1.0 && mass(lo) >= 1.0) {
        return None;
    }
    dense::constant_threshold(pass, c, correction, lo, alpha, MAX_BAND_PASSES).ok()
}

/// One candidate class: θ_j − max and q_j.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    theta: f64,
    q: f64,
}

/// Reusable scratch space for one worker thread.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    candidates: Vec<Candidate>,
    columns: Vec<u32>,
    band: Vec<f64>,
}

/// Solves one row. `target` is the row's label (needed for the loss and the target scaling).
pub(crate) fn solve_row<T: Real>(
    theta: &[T],
    q: &RowMeasure<'_>,
    alpha: f64,
    target: Option<usize>,
    scratch: &mut Scratch,
) -> Result<RowSolution, RowError> {
    let (max, argmax) = T::max_argmax(theta)?;
    if alpha == 1.0 {
        Ok(solve_softmax(theta, q, max, target))
    } else {
        Ok(solve_sparse(theta, q, alpha, max, argmax, target, scratch))
    }
}

/// α = 1: τ = ln Σ_j q_j e^{θ_j}, p_j = q_j e^{θ_j − τ}, loss = τ − θ_y − ln q_y.
fn solve_softmax<T: Real>(
    theta: &[T],
    q: &RowMeasure<'_>,
    max: f64,
    target: Option<usize>,
) -> RowSolution {
    let classes = theta.len();
    let sum = match q.base {
        crate::measure::RowBase::Constant(c) => {
            let mut sum = c * T::sum_exp(theta, max);
            if let Some(y) = target {
                // Replace the target's unscaled term by its scaled one.
                sum += (q.q(y) - c) * (theta[y].to_f64() - max).exp();
            }
            sum
        }
        crate::measure::RowBase::Slice(_) => theta
            .iter()
            .enumerate()
            .map(|(j, t)| q.q(j) * (t.to_f64() - max).exp())
            .sum(),
    };
    // Every class has p_j > 0 at α = 1.
    let support = classes;
    let tau_rel = sum.ln();
    let (loss, p_target) = match target {
        Some(y) => {
            let theta_y = theta[y].to_f64() - max;
            let qy = q.q(y);
            (tau_rel - theta_y - qy.ln(), qy * (theta_y - tau_rel).exp())
        }
        None => (0.0, f64::NAN),
    };
    RowSolution {
        max,
        tau_rel,
        loss,
        p_target,
        support,
    }
}

/// α > 1: bracket, candidate filter, safeguarded Newton on the candidates, exact finish.
fn solve_sparse<T: Real>(
    theta: &[T],
    q: &RowMeasure<'_>,
    alpha: f64,
    max: f64,
    argmax: usize,
    target: Option<usize>,
    scratch: &mut Scratch,
) -> RowSolution {
    let classes = theta.len();
    let d = alpha - 1.0;
    let inv_d = 1.0 / d;
    let power = Power::for_alpha(alpha);
    let alpha_log = |x: f64| (x.powf(d) - 1.0) * inv_d;

    // Bracket on τ − max. At τ = θ_j − f'(1/q_j) class j alone has p_j = 1, so Σp ≥ 1 there;
    // at τ = max − f'(1/Σq) every p_j ≤ q_j/Σq, so Σp ≤ 1 there.
    let mut lo = -alpha_log(1.0 / q.q(argmax));
    if let Some(y) = target {
        lo = lo.max(theta[y].to_f64() - max - alpha_log(1.0 / q.q(y)));
    }
    let mut hi = (-alpha_log(1.0 / q.sum(classes))).max(lo);

    // Support rule: p_j > 0 iff θ_j > τ − 1/(α−1), and τ ≥ lo.
    let cut = max + lo - inv_d;
    if !matches!(power, Power::General(_)) && looks_dense(theta, cut) {
        // Most classes are candidates: skip the column list and histogram the row itself.
        let mut lowest = lo - inv_d;
        if let crate::measure::RowBase::Constant(c) = q.base {
            // A sampled band first (one row pass), then whole-row Michelot passes; together
            // they settle most dense rows before the histogram solver is needed.
            let correction = target.map(|y| (theta[y].to_f64() - max, q.q(y) - c));
            let band = sampled_band(theta, max, c, lowest, alpha).and_then(|band| {
                solve_in_band(theta, max, c, correction, band, alpha, &mut scratch.band)
            });
            let pass = |cut: f64| T::moments_above(theta, max, cut);
            let solved = match band {
                Some(found) => Ok(found),
                None => {
                    dense::constant_threshold(pass, c, correction, lowest, alpha, MAX_ROW_PASSES)
                }
            };
            match solved {
                Ok((thr, support)) => {
                    let weighted = support.weighted(thr, alpha == 2.0);
                    return from_support(
                        theta,
                        q,
                        alpha,
                        power,
                        max,
                        thr + inv_d,
                        weighted,
                        support.count(),
                        target,
                    );
                }
                // A tighter lower bound for the histogram solver.
                Err(cut) => lowest = cut,
            }
        }
        let above = |j: usize, v: T| {
            let t = v.to_f64() - max;
            (t > lowest).then_some((j, t))
        };
        let (thr, support, fix) = match q.base {
            crate::measure::RowBase::Constant(c) => {
                // Every class weighs c; the target's own weight enters as a correction member
                // at its logit (the histogram sums and the closed form are linear in q).
                let fix = target.and_then(|y| above(y, theta[y]).map(|(_, t)| (t, q.q(y) - c)));
                let members = || {
                    theta
                        .iter()
                        .enumerate()
                        .filter_map(move |(j, &v)| above(j, v).map(|(_, t)| (t, c)))
                        .chain(fix)
                };
                let (thr, support) = dense::dense_threshold(members, lowest, alpha);
                (thr, support, fix)
            }
            _ => {
                let members = || {
                    theta
                        .iter()
                        .enumerate()
                        .filter_map(|(j, &v)| above(j, v).map(|(j, t)| (t, q.q(j))))
                };
                let (thr, support) = dense::dense_threshold(members, lowest, alpha);
                (thr, support, None)
            }
        };
        // The correction member is not a class.
        let count = support.count() - usize::from(fix.is_some_and(|(t, _)| t > thr));
        let weighted = support.weighted(thr, alpha == 2.0);
        return from_support(
            theta,
            q,
            alpha,
            power,
            max,
            thr + inv_d,
            weighted,
            count,
            target,
        );
    }
    let columns = &mut scratch.columns;
    columns.clear();
    T::columns_above(theta, cut, columns);
    if columns.len() >= DENSE_MIN_CANDIDATES && !matches!(power, Power::General(_)) {
        let members = || {
            columns
                .iter()
                .map(|&j| (theta[j as usize].to_f64() - max, q.q(j as usize)))
        };
        let (thr, support) = dense::dense_threshold(members, lo - inv_d, alpha);
        let weighted = support.weighted(thr, alpha == 2.0);
        let count = support.count();
        return from_support(
            theta,
            q,
            alpha,
            power,
            max,
            thr + inv_d,
            weighted,
            count,
            target,
        );
    }
    let candidates = &mut scratch.candidates;
    candidates.clear();
    candidates.extend(columns.iter().map(|&j| Candidate {
        theta: theta[j as usize].to_f64() - max,
        q: q.q(j as usize),
    }));

    // S(τ) = Σ q_j x_j^r with x_j = 1 + d(θ_j − τ) is decreasing, S(lo) ≥ 1 ≥ S(hi). Newton runs
    // on G = S^d − 1 (the r-th root of the mass): for α ≤ 2 G is convex, so Newton from the left
    // never overshoots, and G is linear when one class dominates, so far-off starts converge in a
    // few steps. Steps are kept inside the bracket. While S ≥ 1 we are left of the root, so classes
    // with x_j ≤ 0 are certainly outside the support and are dropped.
    let mut tau = lo;
    for _ in 0..200 {
        let (mut s, mut slope) = (0.0f64, 0.0f64);
        for c in candidates.iter() {
            let x = 1.0 + d * (c.theta - tau);
            if x > 0.0 {
                let xr = power.apply(x);
                s += c.q * xr;
                slope += c.q * xr / x;
            }
        }
        if s >= 1.0 {
            lo = tau;
            candidates.retain(|c| 1.0 + d * (c.theta - tau) > 0.0);
            if s == 1.0 {
                break;
            }
        } else {
            hi = tau;
        }
        let s_pow_d = if d == 1.0 { s } else { s.powf(d) };
        let mut next = if slope > 0.0 && s > 0.0 {
            tau + (s_pow_d - 1.0) * s / (s_pow_d * d * slope)
        } else {
            f64::NAN
        };
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        // Converged far below f32 resolution; tighter tolerances only make rounding noise
        // alternate the bracket ends and fall back to slow bisection.
        let scale = 1.0f64.max(tau.abs());
        if (next - tau).abs() <= TAU_TOLERANCE * scale || hi - lo <= TAU_TOLERANCE * scale {
            tau = next;
            break;
        }
        tau = next;
    }

    // Exact finish on the identified support for the closed-form cases.
    candidates.retain(|c| 1.0 + d * (c.theta - tau) > 0.0);
    if let Some(exact) = closed_form(candidates, alpha) {
        if candidates.iter().all(|c| 1.0 + d * (c.theta - exact) > 0.0) {
            tau = exact;
        }
    }

    // Σ_supp q_j x_j^{r+1} and the support size on the found τ.
    let mut weighted = 0.0f64;
    let mut support = 0usize;
    for c in candidates.iter() {
        let x = 1.0 + d * (c.theta - tau);
        if x > 0.0 {
            weighted += c.q * power.apply(x) * x;
            support += 1;
        }
    }
    from_support(theta, q, alpha, power, max, tau, weighted, support, target)
}

/// The row's solution from τ (relative to `max`), the support's Σ q_j x_j^{r+1} and its size.
///
/// Loss = τ − θ_y + (1/α) Σ_supp p_j x_j + (q_y^{1−α} − α)/(α(α−1)); see the crate docs.
#[allow(clippy::too_many_arguments)]
fn from_support<T: Real>(
    theta: &[T],
    q: &RowMeasure<'_>,
    alpha: f64,
    power: Power,
    max: f64,
    tau: f64,
    weighted: f64,
    support: usize,
    target: Option<usize>,
) -> RowSolution {
    let d = alpha - 1.0;
    let (loss, p_target) = match target {
        Some(y) => {
            let theta_y = theta[y].to_f64() - max;
            let qy = q.q(y);
            let x = 1.0 + d * (theta_y - tau);
            let p_y = if x > 0.0 { qy * power.apply(x) } else { 0.0 };
            let loss = tau - theta_y + weighted / alpha + (qy.powf(-d) - alpha) / (alpha * d);
            (loss.max(0.0), p_y)
        }
        None => (0.0, f64::NAN),
    };
    RowSolution {
        max,
        tau_rel: tau,
        loss,
        p_target,
        support,
    }
}

/// τ on a known support: α = 2 is linear, α = 1.5 quadratic in τ.
fn closed_form(support: &[Candidate], alpha: f64) -> Option<f64> {
    if support.is_empty() {
        return None;
    }
    if alpha == 2.0 {
        // Σ q_j (1 + θ_j − τ) = 1.
        let (qs, qt) = support
            .iter()
            .fold((0.0, 0.0), |(a, b), c| (a + c.q, b + c.q * (1.0 + c.theta)));
        Some((qt - 1.0) / qs)
    } else if alpha == 1.5 {
        // Σ q_j (u_j − s)^2 = 1 with u_j = 1 + θ_j/2, s = τ/2; the root below every u_j.
        let (qs, a, b) = support.iter().fold((0.0, 0.0, 0.0), |(qs, a, b), c| {
            let u = 1.0 + 0.5 * c.theta;
            (qs + c.q, a + c.q * u, b + c.q * u * u)
        });
        let disc = a * a - qs * (b - 1.0);
        if disc < 0.0 {
            return None;
        }
        let root = disc.sqrt();
        let s = if a > 0.0 {
            (b - 1.0) / (a + root)
        } else {
            (a - root) / qs
        };
        Some(2.0 * s)
    } else {
        None
    }
}

/// p_j for one row from its solution (zero outside the support).
#[inline(always)]
pub(crate) fn probability(
    theta_j: f64,
    q_j: f64,
    sol: &RowSolution,
    alpha: f64,
    power: Power,
) -> f64 {
    let v = theta_j - sol.max - sol.tau_rel;
    if alpha == 1.0 {
        q_j * v.exp()
    } else {
        let x = 1.0 + (alpha - 1.0) * v;
        if x > 0.0 {
            q_j * power.apply(x)
        } else {
            0.0
        }
    }
}
