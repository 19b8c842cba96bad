//! TAR at given FARs, by the strict rule or by insightface's nearest point.
//!
//! Thresholds follow scikit-learn: accept when score >= threshold.

use serde::Serialize;

use crate::curve::ScoreCurve;
use crate::error::MetricError;
use crate::roc::{descending_counts, sklearn_points, CountPoint};

/// The FARs reported by default: 1e-6 to 1e-1.
pub const DEFAULT_FARS: [f64; 6] = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1];

/// How the operating point for a target FAR is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum FarRule {
    /// The largest TAR whose FAR does not exceed the target (ties in TAR
    /// go to the smallest FAR, i.e. the highest threshold). With no such
    /// point, TAR is 0 at a threshold above every score.
    #[default]
    AtMost,
    /// insightface's `eval_ijbc.py`: the point of scikit-learn's
    /// `roc_curve(drop_intermediate=True)` whose FAR is nearest the target;
    /// ties go to the larger TAR. Its FAR may exceed the target.
    Nearest,
}

/// One row of a TAR@FAR table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TarAtFar {
    /// The requested FAR.
    pub far: f64,
    /// The true acceptance rate at the chosen point, a fraction.
    pub tar: f64,
    /// Accept when score >= threshold.
    pub threshold: f64,
    /// Nontarget trials accepted at the threshold (what the TAR's FAR rests on).
    pub false_accepts: u64,
}

/// Errors unless every FAR is in `[0, 1]`.
pub fn check_fars(fars: &[f64]) -> Result<(), MetricError> {
    match fars.iter().find(|f| !(0.0..=1.0).contains(*f)) {
        Some(f) => Err(MetricError::InvalidParameter {
            name: "far",
            value: f.to_string(),
            reason: "must be in [0, 1]",
        }),
        None => Ok(()),
    }
}

/// The largest `fp` with `fp as f64 / n_non as f64 <= far` (as floats, so
/// the bound agrees exactly with comparing rates).
pub(crate) fn max_false_accepts(far: f64, n_non: u64) -> u64 {
    let ok = |fp: u64| fp as f64 / n_non as f64 <= far;
    let mut fp = ((far * n_non as f64).floor() as u64).min(n_non);
    while fp < n_non && ok(fp + 1) {
        fp += 1;
    }
    while fp > 0 && !ok(fp) {
        fp -= 1;
    }
    fp
}

/// TAR at each FAR of `fars`, in the given order.
pub fn tar_at_far(
    curve: &ScoreCurve,
    fars: &[f64],
    rule: FarRule,
) -> Result<Vec<TarAtFar>, MetricError> {
    check_fars(fars)?;
    let n_tgt = curve.n_target() as f64;
    let n_non = curve.n_nontarget() as f64;
    let none = CountPoint {
        false_accepts: 0,
        true_accepts: 0,
        threshold: curve.accept_nothing_threshold(),
    };
    let mut best = vec![none; fars.len()];
    match rule {
        FarRule::AtMost => {
            // `fp / n_non <= far` as an integer bound on fp.
            let limits: Vec<u64> = fars
                .iter()
                .map(|&far| max_false_accepts(far, curve.n_nontarget()))
                .collect();
            let stop = limits.iter().copied().max().unwrap_or(0);
            for point in descending_counts(curve) {
                if point.false_accepts > stop {
                    break;
                }
                for (slot, &limit) in best.iter_mut().zip(&limits) {
                    if point.false_accepts <= limit && point.true_accepts > slot.true_accepts {
                        *slot = point;
                    }
                }
            }
        }
        FarRule::Nearest => {
            let mut distance = vec![f64::INFINITY; fars.len()];
            for point in sklearn_points(curve, true) {
                let far = point.false_accepts as f64 / n_non;
                for ((slot, d), &target) in best.iter_mut().zip(&mut distance).zip(fars) {
                    // `<=`: a later point (larger TAR) wins a tie, as
                    // insightface's first index in the flipped arrays.
                    let here = (far - target).abs();
                    if here <= *d {
                        *d = here;
                        *slot = point;
                    }
                }
            }
            for slot in &mut best {
                if slot.threshold == f64::INFINITY {
                    slot.threshold = none.threshold;
                }
            }
        }
    }
    Ok(best
        .iter()
        .zip(fars)
        .map(|(p, &far)| TarAtFar {
            far,
            tar: p.true_accepts as f64 / n_tgt,
            threshold: p.threshold,
            false_accepts: p.false_accepts,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Descending: 9 t, 8 n, 7 t, 6 t, 5 n, 4 n, 3 t, 2 n (4 t, 4 n).
    fn curve() -> ScoreCurve {
        ScoreCurve::new(
            &[9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0],
            &[true, false, true, true, false, false, true, false],
        )
        .unwrap()
    }

    #[test]
    fn at_most_rule_hand_computed() {
        let rows = tar_at_far(&curve(), &[0.0, 0.25, 0.3, 0.5, 1.0], FarRule::AtMost).unwrap();
        let got: Vec<(f64, f64)> = rows.iter().map(|r| (r.tar, r.threshold)).collect();
        // FAR 0: only 9 accepted. FAR 1/4: 9..6 -> 3/4 at 6.
        // FAR 1/2: still 3/4 at 6 (the highest threshold with that TAR).
        assert_eq!(
            got,
            vec![
                (0.25, 9.0),
                (0.75, 6.0),
                (0.75, 6.0),
                (0.75, 6.0),
                (1.0, 3.0)
            ]
        );
    }

    #[test]
    fn no_point_within_far_gives_zero_tar() {
        let c = ScoreCurve::new(&[1.0, 0.5], &[false, true]).unwrap();
        let rows = tar_at_far(&c, &[0.0], FarRule::AtMost).unwrap();
        assert_eq!(rows[0].tar, 0.0);
        assert!(rows[0].threshold > 1.0 && rows[0].threshold.is_finite());
    }

    #[test]
    fn nearest_rule_hand_computed() {
        // sklearn points (fpr, tpr): (0,0) (0,1/4) (1/4,1/4) (1/4,3/4)
        // (3/4,3/4) (3/4,1) (1,1); 7 and 5 lie on straight runs and are
        // dropped. FAR 0.5 is 1/4 away from four points: the last wins.
        let rows = tar_at_far(&curve(), &[0.0, 0.3, 0.5, 0.7], FarRule::Nearest).unwrap();
        let got: Vec<(f64, f64)> = rows.iter().map(|r| (r.tar, r.threshold)).collect();
        assert_eq!(got, vec![(0.25, 9.0), (0.75, 6.0), (1.0, 3.0), (1.0, 3.0)]);
    }

    #[test]
    fn far_out_of_range_is_an_error() {
        let err = tar_at_far(&curve(), &[1.5], FarRule::AtMost).unwrap_err();
        assert!(err.to_string().contains("far = 1.5"), "{err}");
    }
}
