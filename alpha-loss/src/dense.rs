//! τ for dense supports at α = 2 and α = 1.5, where the candidate filter keeps most classes
//! (a uniform reference measure q = 1/C puts the bracket hundreds of logits wide).
//!
//! At these two α the mass above a threshold depends on the candidates only through three sums:
//! with thr = τ − 1/(α−1) and t_j = θ_j − max,
//! - α = 2: S(thr) = Σ_{t_j > thr} q_j (t_j − thr),
//! - α = 1.5: S(thr) = ¼ Σ_{t_j > thr} q_j (t_j − thr)².
//!
//! So one pass puts the candidates into a histogram of (Σq, Σqt, Σqt²) per bin; scanning the bins
//! from the top finds the bin holding the threshold (S is decreasing in thr and S = 1 at the
//! root); bins above it are certainly in the support and enter as fixed sums; the threshold
//! bin's own members are refined the same way, and the last few are settled by Michelot's
//! pivot iteration on the closed form. No power, exp or sort per class, and three passes over
//! the candidates whatever the support size.

/// Bins per histogram level.
const BINS: usize = 512;
/// Below this many members the threshold bin is settled directly.
const DIRECT: usize = 64;

/// Member count and Σq, Σqt, Σqt², Σqt³ of a set of classes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Moments {
    n: usize,
    q: f64,
    qt: f64,
    qtt: f64,
    qttt: f64,
}

impl Moments {
    #[inline(always)]
    fn add(&mut self, t: f64, q: f64) {
        let qt = q * t;
        let qtt = qt * t;
        self.n += 1;
        self.q += q;
        self.qt += qt;
        self.qtt += qtt;
        self.qttt += qtt * t;
    }

    /// The moments of `n` classes of weight `c` whose t have the sums `powers` = [Σt, Σt², Σt³].
    pub(crate) fn constant(n: usize, c: f64, powers: [f64; 3]) -> Self {
        Self {
            n,
            q: c * n as f64,
            qt: c * powers[0],
            qtt: c * powers[1],
            qttt: c * powers[2],
        }
    }

    /// Adds weight `w` at `t` without counting a class: a correction to one member's weight.
    fn reweight(&mut self, t: f64, w: f64) {
        let n = self.n;
        self.add(t, w);
        self.n = n;
    }

    fn merge(&mut self, other: &Moments) {
        self.n += other.n;
        self.q += other.q;
        self.qt += other.qt;
        self.qtt += other.qtt;
        self.qttt += other.qttt;
    }

    /// Number of members.
    pub(crate) fn count(&self) -> usize {
        self.n
    }

    /// Σ q_j x_j^{1/(α−1)+1} with x_j = (α−1)(t_j − thr): the loss's Σ p_j x_j, when every member
    /// is above thr.
    pub(crate) fn weighted(&self, thr: f64, alpha2: bool) -> f64 {
        if alpha2 {
            // Σ q (t − thr)².
            self.qtt - 2.0 * thr * self.qt + thr * thr * self.q
        } else {
            // Σ q (½(t − thr))³.
            let t2 = thr * thr;
            0.125 * (self.qttt - 3.0 * thr * self.qtt + 3.0 * t2 * self.qt - t2 * thr * self.q)
        }
    }

    /// S(thr) if every class of the set is above thr.
    pub(crate) fn mass(&self, thr: f64, alpha2: bool) -> f64 {
        if alpha2 {
            self.qt - thr * self.q
        } else {
            0.25 * (self.qtt - 2.0 * thr * self.qt + thr * thr * self.q)
        }
    }

    /// −S'(thr) if every class of the set is above thr: Σq at α = 2, ½ Σ q (t − thr) at α = 1.5.
    pub(crate) fn slope(&self, thr: f64, alpha2: bool) -> f64 {
        if alpha2 {
            self.q
        } else {
            0.5 * (self.qt - thr * self.q)
        }
    }

    /// The thr with S(thr) = 1 if exactly this set is the support (the root below every t_j).
    pub(crate) fn threshold(&self, alpha2: bool) -> f64 {
        if alpha2 {
            (self.qt - 1.0) / self.q
        } else {
            // q thr² − 2 qt thr + (qtt − 4) = 0; the smaller root. qt ≤ 0 (t_j ≤ 0), so the
            // numerator adds two non-positive terms and does not cancel.
            let disc = (self.qt * self.qt - self.q * (self.qtt - 4.0)).max(0.0);
            (self.qt - disc.sqrt()) / self.q
        }
    }
}

/// The moments of the classes above `cut` from their raw sums `[n, Σt, Σt², Σt³]` under the
/// constant measure c, with the target's weight corrected when it is among them.
pub(crate) fn constant_moments(
    sums: [f64; 4],
    c: f64,
    correction: Option<(f64, f64)>,
    cut: f64,
) -> Moments {
    let mut m = Moments::constant(sums[0] as usize, c, [sums[1], sums[2], sums[3]]);
    if let Some((t, w)) = correction.filter(|&(t, _)| t > cut) {
        m.reweight(t, w);
    }
    m
}

/// The root thr (as [`dense_threshold`]) for a constant measure q_j = c, with the weight of
/// one member (the target) corrected by `correction` = (t_y, q_y − c).
///
/// Michelot's iteration (at most `max_passes`) on whole-row passes: `pass(cut)` returns the count, Σt, Σt², Σt³ and
/// the smallest t over the classes with t > cut (vectorized, no per-class branch or scatter).
/// The closed form on those members is a lower bound on the root (left-out classes would only
/// add mass); when every member lies above it, it is the root. Converges in a few passes when
/// the support is most of the row, the case this serves; otherwise returns `Err(cut)`, a lower
/// bound on the root with S(cut) ≥ 1 for the histogram solver to continue from.
pub(crate) fn constant_threshold(
    pass: impl Fn(f64) -> ([f64; 4], f64),
    c: f64,
    correction: Option<(f64, f64)>,
    lowest: f64,
    alpha: f64,
    max_passes: usize,
) -> Result<(f64, Moments), f64> {
    let alpha2 = alpha == 2.0;
    let moments_at = |cut: f64| {
        let (sums, min) = pass(cut);
        (constant_moments(sums, c, correction, cut), min)
    };
    let mut cut = lowest;
    for _ in 0..max_passes {
        let (m, min) = moments_at(cut);
        if m.q.is_nan() || m.q <= 0.0 {
            return Err(cut);
        }
        let thr = m.threshold(alpha2);
        if !thr.is_finite() {
            return Err(cut);
        }
        if min > thr {
            // thr < cut only by rounding (S(cut) ≥ 1 puts the root at or above cut).
            return Ok((thr.max(cut), m));
        }
        let next = if alpha2 {
            // Linear S: members below thr only lowered the unclipped sum, so thr ≤ root.
            thr
        } else {
            // At α = 1.5 members below thr add spurious mass to the unclipped quadratic, so
            // thr may overshoot. Newton on √S − 1 from cut (convex, so it stays below the root).
            let mass = m.mass(cut, false);
            let slope = m.qt - cut * m.q;
            if !(mass >= 1.0 && slope > 0.0) {
                return Err(cut);
            }
            let root = mass.sqrt();
            cut + 4.0 * root * (root - 1.0) / slope
        };
        if next.is_nan() || next <= cut {
            return Err(cut);
        }
        cut = next;
    }
    Err(cut)
}

/// The root thr = τ − 1/(α−1) (relative to the row maximum) for α ∈ {1.5, 2}, and the moments
/// of the support (the members above thr).
///
/// `members` yields (t_j, q_j) for every candidate (each call must yield the same sequence);
/// `lowest` is a lower bound on thr with S(lowest) ≥ 1, and every candidate has t_j > lowest.
pub(crate) fn dense_threshold<I>(members: impl Fn() -> I, lowest: f64, alpha: f64) -> (f64, Moments)
where
    I: Iterator<Item = (f64, f64)>,
{
    let alpha2 = alpha == 2.0;
    let mut fixed = Moments::default();
    let (mut lo, mut hi) = (lowest, 0.0f64);
    // Level 1 reads the candidates through the iterator; deeper levels work on a copy of the
    // threshold bin's members only.
    let mut items: Vec<(f64, f64)> = Vec::new();
    let mut first = true;
    loop {
        let width = (hi - lo) / BINS as f64;
        if width.is_nan() || width <= 0.0 {
            break;
        }
        let inv_w = 1.0 / width;
        let bin_of = |t: f64| (((t - lo) * inv_w) as usize).min(BINS - 1);
        let mut bins = [Moments::default(); BINS];
        let mut counts = [0usize; BINS];
        if first {
            for (t, q) in members() {
                let k = bin_of(t);
                bins[k].add(t, q);
                counts[k] += 1;
            }
        } else {
            for &(t, q) in &items {
                let k = bin_of(t);
                bins[k].add(t, q);
                counts[k] += 1;
            }
        }
        // Scan down from the top bin: the threshold bin is the first whose lower edge has
        // S ≥ 1 with everything from it upwards counted.
        let mut above = fixed;
        let mut chosen = 0;
        for k in (0..BINS).rev() {
            let mut with_k = above;
            with_k.merge(&bins[k]);
            let edge = lo + k as f64 * width;
            if with_k.mass(edge, alpha2) >= 1.0 {
                chosen = k;
                break;
            }
            above = with_k;
        }
        fixed = above;
        let new_lo = lo + chosen as f64 * width;
        let new_hi = if chosen + 1 == BINS {
            hi
        } else {
            lo + (chosen + 1) as f64 * width
        };
        let keep = |t: f64| bin_of(t) == chosen;
        let next: Vec<(f64, f64)> = if first {
            members().filter(|&(t, _)| keep(t)).collect()
        } else {
            items.iter().copied().filter(|&(t, _)| keep(t)).collect()
        };
        items = next;
        first = false;
        lo = new_lo;
        hi = new_hi;
        if items.len() <= DIRECT {
            break;
        }
    }
    if first {
        items = members().collect();
    }
    settle(fixed, &mut items, alpha2)
}

/// Michelot's pivot iteration: thr from the closed form on fixed + items, drop the items at or
/// below it, repeat. Each thr is a lower bound on the root (the dropped classes would only add
/// mass), so no support member is ever dropped and the loop ends when nothing changes.
fn settle(fixed: Moments, items: &mut Vec<(f64, f64)>, alpha2: bool) -> (f64, Moments) {
    loop {
        let mut all = fixed;
        for &(t, q) in items.iter() {
            all.add(t, q);
        }
        if all.q <= 0.0 {
            return (f64::NEG_INFINITY, all);
        }
        let thr = all.threshold(alpha2);
        let before = items.len();
        items.retain(|&(t, _)| t > thr);
        if items.len() == before {
            return (thr, all);
        }
    }
}
