//! EER and minDCF exactly as wespeaker computes them, and DET points.
//!
//! wespeaker (`wespeaker/utils/score_metrics.py`, after the NIST SRE16
//! script) sorts scores ascending and, for a threshold placed just above
//! each sorted score, takes `fnr = #targets <= s / N_tgt` and
//! `fpr = 1 - #nontargets <= s / N_non`. Here those points are taken once
//! per *distinct* score, so tied trials are one step and the result does not
//! depend on their order; without ties the numbers equal wespeaker's.
//!
//! Thresholds of this module follow wespeaker: a trial is accepted when its
//! score is strictly greater than the threshold.

use serde::Serialize;

use crate::curve::ScoreCurve;
use crate::error::MetricError;

/// Equal error rate and the threshold where it occurs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Eer {
    /// EER as a fraction in `[0, 1]` (not percent).
    pub rate: f64,
    /// wespeaker's threshold: the score at the first point where the miss
    /// rate reaches the false-alarm rate.
    pub threshold: f64,
}

/// Costs and prior of the detection cost function.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DcfParams {
    /// Prior probability of a target trial, in `(0, 1)`.
    pub p_target: f64,
    /// Cost of a miss, positive.
    pub c_miss: f64,
    /// Cost of a false alarm, positive.
    pub c_fa: f64,
}

impl Default for DcfParams {
    /// The VoxCeleb recipe of wespeaker: `p_target = 0.01`, `c_miss = c_fa = 1`.
    fn default() -> Self {
        Self {
            p_target: 0.01,
            c_miss: 1.0,
            c_fa: 1.0,
        }
    }
}

impl DcfParams {
    /// Errors unless `0 < p_target < 1` and both costs are positive.
    pub fn validate(&self) -> Result<(), MetricError> {
        if !(self.p_target > 0.0 && self.p_target < 1.0) {
            return Err(invalid("p_target", self.p_target, "must be in (0, 1)"));
        }
        if !(self.c_miss > 0.0 && self.c_miss.is_finite()) {
            return Err(invalid(
                "c_miss",
                self.c_miss,
                "must be positive and finite",
            ));
        }
        if !(self.c_fa > 0.0 && self.c_fa.is_finite()) {
            return Err(invalid("c_fa", self.c_fa, "must be positive and finite"));
        }
        Ok(())
    }

    /// The cost of the best trivial system, `min(c_miss p, c_fa (1 - p))`,
    /// which normalizes the DCF.
    pub fn default_cost(&self) -> f64 {
        (self.c_miss * self.p_target).min(self.c_fa * (1.0 - self.p_target))
    }
}

fn invalid(name: &'static str, value: f64, reason: &'static str) -> MetricError {
    MetricError::InvalidParameter {
        name,
        value: value.to_string(),
        reason,
    }
}

/// Normalized minimum detection cost and the threshold that attains it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MinDcf {
    /// `min_t (c_miss p fnr(t) + c_fa (1 - p) fpr(t)) / min(c_miss p, c_fa (1 - p))`.
    pub value: f64,
    /// The threshold of the minimum (accept when score > threshold).
    pub threshold: f64,
    /// The parameters used.
    pub params: DcfParams,
}

/// One point of the DET curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DetPoint {
    /// Accept when score > threshold.
    pub threshold: f64,
    /// False-alarm rate.
    pub fpr: f64,
    /// Miss rate.
    pub fnr: f64,
}

/// Iterates wespeaker's `(score, fnr, fpr)` points, one per distinct score, ascending.
fn miss_false_alarm(curve: &ScoreCurve) -> impl Iterator<Item = DetPoint> + '_ {
    let n_tgt = curve.n_target() as f64;
    let n_non = curve.n_nontarget() as f64;
    let (mut cum_tgt, mut cum_non) = (0u64, 0u64);
    curve
        .thresholds()
        .iter()
        .zip(curve.targets_at().iter().zip(curve.nontargets_at()))
        .map(move |(&threshold, (&t, &n))| {
            cum_tgt += u64::from(t);
            cum_non += u64::from(n);
            DetPoint {
                threshold,
                fnr: cum_tgt as f64 / n_tgt,
                fpr: 1.0 - cum_non as f64 / n_non,
            }
        })
}

/// DET points (miss rate against false-alarm rate), one per distinct score, ascending.
pub fn det_points(curve: &ScoreCurve) -> Vec<DetPoint> {
    miss_false_alarm(curve).collect()
}

/// Equal error rate by wespeaker's `compute_eer`: the linear interpolation
/// between the last point with `fnr < fpr` and the first with `fnr >= fpr`.
///
/// The point before the lowest score (`fnr = 0`, `fpr = 1`) is part of the
/// curve, so a bracketing pair always exists (wespeaker would fail when the
/// very first point already has `fnr >= fpr`).
pub fn eer(curve: &ScoreCurve) -> Eer {
    let mut previous = DetPoint {
        threshold: f64::NEG_INFINITY,
        fnr: 0.0,
        fpr: 1.0,
    };
    for point in miss_false_alarm(curve) {
        if point.fnr - point.fpr >= 0.0 {
            let (x1, x2) = (point, previous);
            let a = (x1.fnr - x1.fpr) / (x2.fpr - x1.fpr - (x2.fnr - x1.fnr));
            return Eer {
                rate: x1.fnr + a * (x2.fnr - x1.fnr),
                threshold: x1.threshold,
            };
        }
        previous = point;
    }
    // The last point has fnr = 1 and fpr = 0, so the loop always returns.
    unreachable!("the last DET point has fnr - fpr = 1")
}

/// Normalized minDCF by wespeaker's `compute_c_norm`, over the points of
/// [`det_points`]. Errors when `params` are out of range.
pub fn min_dcf(curve: &ScoreCurve, params: DcfParams) -> Result<MinDcf, MetricError> {
    params.validate()?;
    let mut best = MinDcf {
        value: f64::INFINITY,
        threshold: f64::NAN,
        params,
    };
    for point in miss_false_alarm(curve) {
        let cost = params.c_miss * point.fnr * params.p_target
            + params.c_fa * point.fpr * (1.0 - params.p_target);
        if cost < best.value {
            best.value = cost;
            best.threshold = point.threshold;
        }
    }
    best.value /= params.default_cost();
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(scores: &[f64], labels: &[bool]) -> ScoreCurve {
        ScoreCurve::new(scores, labels).unwrap()
    }

    #[test]
    fn separable_scores_have_zero_eer() {
        let c = curve(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]);
        let e = eer(&c);
        assert_eq!(e.rate, 0.0);
        assert_eq!(e.threshold, 0.2);
        assert_eq!(min_dcf(&c, DcfParams::default()).unwrap().value, 0.0);
    }

    #[test]
    fn hand_computed_eer() {
        // Ascending: 0.1 n, 0.2 t, 0.3 n, 0.4 t. Points (fnr, fpr):
        // (0, .5), (.5, .5) -> first d >= 0 is at 0.2 with d = 0: EER = 0.5.
        let c = curve(&[0.4, 0.3, 0.2, 0.1], &[true, false, true, false]);
        assert_eq!(
            eer(&c),
            Eer {
                rate: 0.5,
                threshold: 0.2
            }
        );
        // Points: (0,.5) (.5,.5) (.5,0) (1,0). p = 0.5: C_def = .5,
        // costs .25 .5 .25 .5 -> minDCF .5 at 0.1 (first minimum).
        let m = min_dcf(
            &c,
            DcfParams {
                p_target: 0.5,
                c_miss: 1.0,
                c_fa: 1.0,
            },
        )
        .unwrap();
        assert_eq!((m.value, m.threshold), (0.5, 0.1));
    }

    #[test]
    fn all_scores_equal_give_half_error() {
        let c = curve(&[0.3; 6], &[true, false, false, true, false, false]);
        // One step from (fnr 0, fpr 1) to (fnr 1, fpr 0): crossing at 0.5.
        assert_eq!(eer(&c).rate, 0.5);
        // Only the point (1, 0) exists: cost p / min(p, 1-p) = 1.
        assert_eq!(min_dcf(&c, DcfParams::default()).unwrap().value, 1.0);
    }

    #[test]
    fn dcf_parameters_are_checked() {
        let c = curve(&[0.1, 0.2], &[false, true]);
        for p in [0.0, 1.0, f64::NAN] {
            let params = DcfParams {
                p_target: p,
                ..DcfParams::default()
            };
            let err = min_dcf(&c, params).unwrap_err();
            assert!(err.to_string().contains("p_target"), "{err}");
        }
    }
}
