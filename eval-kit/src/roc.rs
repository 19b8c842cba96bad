//! ROC curves with scikit-learn's `roc_curve` semantics, and AUC.
//!
//! Thresholds here follow scikit-learn: a trial is accepted when its score
//! is greater than or equal to the threshold. The first point is
//! `(fpr 0, tpr 0)` with threshold `+inf`, as in scikit-learn >= 1.3.

use crate::curve::ScoreCurve;

/// A ROC curve: false and true acceptance rates at decreasing thresholds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Roc {
    /// False acceptance rate (FAR), non-decreasing.
    pub fpr: Vec<f64>,
    /// True acceptance rate (TAR), non-decreasing.
    pub tpr: Vec<f64>,
    /// Accept when score >= threshold; the first is `+inf`.
    pub thresholds: Vec<f64>,
}

/// A point of the ROC as cumulative counts of accepted trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CountPoint {
    /// Accepted nontarget trials.
    pub false_accepts: u64,
    /// Accepted target trials.
    pub true_accepts: u64,
    /// Accept when score >= threshold.
    pub threshold: f64,
}

/// Cumulative counts at every distinct score, descending, without the
/// `+inf` starting point.
pub(crate) fn descending_counts(curve: &ScoreCurve) -> impl Iterator<Item = CountPoint> + '_ {
    let (mut tp, mut fp) = (0u64, 0u64);
    curve
        .thresholds()
        .iter()
        .zip(curve.targets_at().iter().zip(curve.nontargets_at()))
        .rev()
        .map(move |(&s, (&t, &n))| {
            tp += u64::from(t);
            fp += u64::from(n);
            CountPoint {
                false_accepts: fp,
                true_accepts: tp,
                threshold: s,
            }
        })
}

/// The points scikit-learn's `roc_curve` returns, in its order: with
/// `drop_intermediate` it drops points where neither count bends (second
/// differences both zero), keeping the two ends; then it prepends
/// `(0, 0, +inf)`.
pub(crate) fn sklearn_points(
    curve: &ScoreCurve,
    drop_intermediate: bool,
) -> impl Iterator<Item = CountPoint> + '_ {
    let start = CountPoint {
        false_accepts: 0,
        true_accepts: 0,
        threshold: f64::INFINITY,
    };
    let n = curve.thresholds().len();
    let drop = drop_intermediate && n > 2;
    let mut window: [Option<CountPoint>; 2] = [None, None];
    let mut counts = descending_counts(curve).enumerate();
    let mut finished = false;
    std::iter::once(start).chain(std::iter::from_fn(move || {
        if !drop {
            return counts.next().map(|(_, p)| p);
        }
        loop {
            if finished {
                return None;
            }
            match counts.next() {
                Some((i, point)) => {
                    let [prev, cur] = window;
                    window = [cur, Some(point)];
                    match (prev, cur) {
                        (None, None) => {}
                        // The first point is always kept.
                        (None, Some(first)) if i == 1 => return Some(first),
                        (Some(a), Some(b)) => {
                            let bend = |x: u64, y: u64, z: u64| (z + x) != 2 * y;
                            if bend(a.false_accepts, b.false_accepts, point.false_accepts)
                                || bend(a.true_accepts, b.true_accepts, point.true_accepts)
                            {
                                return Some(b);
                            }
                        }
                        _ => {}
                    }
                }
                None => {
                    finished = true;
                    // The last point is always kept.
                    return window[1];
                }
            }
        }
    }))
}

impl Roc {
    /// The ROC of `curve`, point for point as scikit-learn's
    /// `roc_curve(labels, scores, drop_intermediate=...)`.
    pub fn new(curve: &ScoreCurve, drop_intermediate: bool) -> Self {
        let n_tgt = curve.n_target() as f64;
        let n_non = curve.n_nontarget() as f64;
        let mut roc = Roc::default();
        for p in sklearn_points(curve, drop_intermediate) {
            roc.fpr.push(p.false_accepts as f64 / n_non);
            roc.tpr.push(p.true_accepts as f64 / n_tgt);
            roc.thresholds.push(p.threshold);
        }
        roc
    }

    /// Area under the curve by the trapezoidal rule (scikit-learn's `auc`;
    /// equals `roc_auc_score`). Ties count as one half.
    pub fn auc(&self) -> f64 {
        self.fpr
            .windows(2)
            .zip(self.tpr.windows(2))
            .map(|(x, y)| (x[1] - x[0]) * (y[1] + y[0]) / 2.0)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_roc_with_ties() {
        // Descending: 0.9 t, 0.5 {t, n}, 0.1 n, 0.0 {t, n}.
        let curve = ScoreCurve::new(
            &[0.5, 0.1, 0.5, -0.0, 0.0, 0.9],
            &[true, false, false, false, true, true],
        )
        .unwrap();
        let roc = Roc::new(&curve, false);
        let third = 1.0 / 3.0;
        assert_eq!(roc.fpr, vec![0.0, 0.0, third, 2.0 * third, 1.0]);
        assert_eq!(roc.tpr, vec![0.0, third, 2.0 * third, 2.0 * third, 1.0]);
        assert_eq!(roc.thresholds[1..], [0.9, 0.5, 0.1, 0.0]);
        // AUC: pairs (t, n) ranked correctly count 1, ties 1/2: 6 / 9.
        assert!((roc.auc() - 6.0 / 9.0).abs() < 1e-15);
        // No point lies on a straight run, so dropping keeps all of them.
        assert_eq!(Roc::new(&curve, true), roc);
    }

    #[test]
    fn collinear_points_are_dropped() {
        // Descending: t t n n: points (0,1/2) (0,1) (1/2,1) (1,1); the
        // third is on the straight run from the second to the fourth.
        let curve = ScoreCurve::new(&[4.0, 3.0, 2.0, 1.0], &[true, true, false, false]).unwrap();
        let roc = Roc::new(&curve, true);
        assert_eq!(roc.fpr, vec![0.0, 0.0, 0.0, 1.0]);
        assert_eq!(roc.tpr, vec![0.0, 0.5, 1.0, 1.0]);
        assert_eq!(roc.thresholds, vec![f64::INFINITY, 4.0, 3.0, 1.0]);
        assert_eq!(roc.auc(), 1.0);
    }
}
