//! Scores sorted once into distinct thresholds with per-class counts.
//!
//! Every metric of this crate (ROC, DET, EER, minDCF, TAR@FAR) is a single
//! sweep over a [`ScoreCurve`]. Convention: a higher score means "same
//! identity". Equal scores form one threshold step, so the result never
//! depends on the order of tied trials.

use crate::error::MetricError;
use crate::radix::{key_of, score_of, sort_keys};

/// Distinct scores in ascending order with the number of target and
/// nontarget trials at each.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreCurve {
    scores: Vec<f64>,
    targets_at: Vec<u32>,
    nontargets_at: Vec<u32>,
    n_target: u64,
    n_nontarget: u64,
}

impl ScoreCurve {
    /// Sorts `scores` (one per trial) with `is_target` labels.
    ///
    /// Errors: lengths differ, a score is NaN or infinite, or either class is empty.
    pub fn new(scores: &[f64], is_target: &[bool]) -> Result<Self, MetricError> {
        if scores.len() != is_target.len() {
            return Err(MetricError::LengthMismatch {
                what: "labels",
                expected: scores.len(),
                actual: is_target.len(),
            });
        }
        if scores.len() > u32::MAX as usize {
            return Err(MetricError::InvalidParameter {
                name: "number of trials",
                value: scores.len().to_string(),
                reason: "at most 2^32 - 1 trials are supported",
            });
        }
        if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
            return Err(MetricError::NanScore {
                index,
                value: scores[index],
            });
        }
        let n_target = is_target.iter().filter(|&&t| t).count();
        let n_nontarget = scores.len() - n_target;
        check_classes(n_target, n_nontarget)?;

        Ok(sort_into_curve(
            scores,
            is_target,
            n_target as u64,
            n_nontarget as u64,
        ))
    }

    /// A curve from distinct ascending `thresholds` with the (possibly weighted) number of target
    /// and nontarget trials at each, e.g. a bootstrap replicate.
    ///
    /// Errors: lengths differ, thresholds not finite and strictly ascending, or a class is
    /// empty.
    pub fn from_counts(
        thresholds: Vec<f64>,
        targets_at: Vec<u32>,
        nontargets_at: Vec<u32>,
    ) -> Result<Self, MetricError> {
        for (what, len) in [
            ("target counts", targets_at.len()),
            ("nontarget counts", nontargets_at.len()),
        ] {
            if len != thresholds.len() {
                return Err(MetricError::LengthMismatch {
                    what,
                    expected: thresholds.len(),
                    actual: len,
                });
            }
        }
        if let Some(index) = thresholds.iter().position(|s| !s.is_finite()) {
            return Err(MetricError::NanScore {
                index,
                value: thresholds[index],
            });
        }
        if let Some(i) = thresholds.windows(2).position(|w| w[0] >= w[1]) {
            return Err(MetricError::InvalidParameter {
                name: "thresholds",
                value: format!("{} then {}", thresholds[i], thresholds[i + 1]),
                reason: "must be strictly ascending",
            });
        }
        let n_target: u64 = targets_at.iter().map(|&c| u64::from(c)).sum();
        let n_nontarget: u64 = nontargets_at.iter().map(|&c| u64::from(c)).sum();
        check_classes(n_target as usize, n_nontarget as usize)?;
        Ok(Self {
            scores: thresholds,
            targets_at,
            nontargets_at,
            n_target,
            n_nontarget,
        })
    }

    /// Number of target (same identity) trials.
    pub fn n_target(&self) -> u64 {
        self.n_target
    }

    /// Number of nontarget (impostor) trials.
    pub fn n_nontarget(&self) -> u64 {
        self.n_nontarget
    }

    /// The distinct scores, ascending.
    pub fn thresholds(&self) -> &[f64] {
        &self.scores
    }

    /// Number of target trials at each distinct score.
    pub fn targets_at(&self) -> &[u32] {
        &self.targets_at
    }

    /// Number of nontarget trials at each distinct score.
    pub fn nontargets_at(&self) -> &[u32] {
        &self.nontargets_at
    }

    /// The largest score.
    pub fn max_score(&self) -> f64 {
        // `new` guarantees at least two trials.
        self.scores[self.scores.len() - 1]
    }

    /// A threshold above every score: with "accept if score >= threshold"
    /// it accepts nothing.
    pub fn accept_nothing_threshold(&self) -> f64 {
        self.max_score().next_up()
    }
}

/// Sorts the order-preserving keys of each class (both at once), then merges the two sorted
/// lists into distinct scores with their counts.
fn sort_into_curve(
    scores: &[f64],
    is_target: &[bool],
    n_target: u64,
    n_nontarget: u64,
) -> ScoreCurve {
    let keys_of = |want: bool| {
        let mut keys: Vec<u64> = scores
            .iter()
            .zip(is_target)
            .filter(|&(_, &t)| t == want)
            .map(|(&s, _)| key_of(s))
            .collect();
        sort_keys(&mut keys);
        keys
    };
    let (targets, nontargets) = rayon::join(|| keys_of(true), || keys_of(false));
    let mut curve = ScoreCurve {
        scores: Vec::new(),
        targets_at: Vec::new(),
        nontargets_at: Vec::new(),
        n_target,
        n_nontarget,
    };
    let (mut i, mut j) = (0, 0);
    while i < targets.len() || j < nontargets.len() {
        let key = match (targets.get(i), nontargets.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => unreachable!("the loop condition holds"),
        };
        let start = (i, j);
        while targets.get(i) == Some(&key) {
            i += 1;
        }
        while nontargets.get(j) == Some(&key) {
            j += 1;
        }
        curve.scores.push(score_of(key));
        curve.targets_at.push((i - start.0) as u32);
        curve.nontargets_at.push((j - start.1) as u32);
    }
    curve
}

/// Errors when either class is empty.
pub(crate) fn check_classes(n_target: usize, n_nontarget: usize) -> Result<(), MetricError> {
    if n_target == 0 {
        return Err(MetricError::MissingClass {
            missing: "target",
            other: "nontarget",
            n_other: n_nontarget,
        });
    }
    if n_nontarget == 0 {
        return Err(MetricError::MissingClass {
            missing: "nontarget",
            other: "target",
            n_other: n_target,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_collapse_into_one_threshold() {
        let curve = ScoreCurve::new(
            &[0.5, 0.1, 0.5, -0.0, 0.0, 0.9],
            &[true, false, false, false, true, true],
        )
        .unwrap();
        assert_eq!(curve.thresholds(), &[0.0, 0.1, 0.5, 0.9]);
        assert_eq!(curve.targets_at(), &[1, 0, 1, 1]);
        assert_eq!(curve.nontargets_at(), &[1, 1, 1, 0]);
        assert_eq!((curve.n_target(), curve.n_nontarget()), (3, 3));
    }

    #[test]
    fn scores_closer_than_f32_resolution_stay_distinct() {
        // 0.5 and 0.5 + 2^-40 are one f32 but two f64 scores: a tie in f32 would merge the
        // genuine and the impostor trial into one step.
        let close = 0.5 + 2f64.powi(-40);
        assert_eq!(close as f32, 0.5f32);
        let curve = ScoreCurve::new(&[close, 0.5, 0.1], &[true, false, false]).unwrap();
        assert_eq!(curve.thresholds(), &[0.1, 0.5, close]);
        assert_eq!(curve.targets_at(), &[0, 0, 1]);
        assert_eq!(curve.nontargets_at(), &[1, 1, 0]);
    }

    #[test]
    fn matches_a_naive_count_on_large_input() {
        // Coarse and fine values, negative and positive, many ties.
        let mut state = 99u64;
        let mut scores = Vec::new();
        let mut labels = Vec::new();
        for i in 0..60_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (state >> 33) as u32;
            let s = if i % 3 == 0 {
                f64::from(r % 50) / 10.0 - 2.0
            } else {
                (f64::from(r) / f64::from(u32::MAX)) * 2.0 - 0.7
            };
            scores.push(s);
            labels.push(r.is_multiple_of(7));
        }
        let mut naive = std::collections::BTreeMap::<u64, (u32, u32)>::new();
        for (&s, &t) in scores.iter().zip(&labels) {
            let entry = naive.entry(key_of(s)).or_default();
            if t {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        let curve = ScoreCurve::new(&scores, &labels).unwrap();
        let expected: Vec<(f64, u32, u32)> = naive
            .iter()
            .map(|(&k, &(t, n))| (score_of(k), t, n))
            .collect();
        let got: Vec<(f64, u32, u32)> = (0..curve.thresholds().len())
            .map(|i| {
                (
                    curve.thresholds()[i],
                    curve.targets_at()[i],
                    curve.nontargets_at()[i],
                )
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn empty_class_and_nan_are_errors() {
        let err = ScoreCurve::new(&[0.1, 0.2], &[true, true]).unwrap_err();
        assert!(err.to_string().contains("no nontarget trials"), "{err}");
        let err = ScoreCurve::new(&[0.1, 0.2], &[false, false]).unwrap_err();
        assert!(err.to_string().contains("no target trials"), "{err}");
        let err = ScoreCurve::new(&[0.1, f64::NAN], &[true, false]).unwrap_err();
        assert!(
            err.to_string()
                .contains("index 1 is NaN: scores must be finite"),
            "{err}"
        );
        let err = ScoreCurve::new(&[0.5, f64::INFINITY], &[true, false]).unwrap_err();
        assert!(err.to_string().contains("index 1 is inf"), "{err}");
        let err = ScoreCurve::new(&[0.1], &[true, false]).unwrap_err();
        assert!(matches!(err, MetricError::LengthMismatch { .. }));
    }
}
