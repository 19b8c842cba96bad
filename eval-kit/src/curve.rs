//! Scores sorted once into distinct thresholds with per-class counts.
//!
//! Every metric of this crate (ROC, DET, EER, minDCF, TAR@FAR) is a single
//! sweep over a [`ScoreCurve`]. Convention: a higher score means "same
//! identity". Equal scores form one threshold step, so the result never
//! depends on the order of tied trials.

use rayon::prelude::*;

use crate::error::MetricError;
use crate::radix::{key_of, score_of, sort_low_bits, HIGH_BITS, LOW_BITS};

/// Distinct scores in ascending order with the number of target and
/// nontarget trials at each.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreCurve {
    scores: Vec<f32>,
    targets_at: Vec<u32>,
    nontargets_at: Vec<u32>,
    n_target: u64,
    n_nontarget: u64,
}

impl ScoreCurve {
    /// Sorts `scores` (one per trial) with `is_target` labels.
    ///
    /// Errors: lengths differ, a score is NaN or infinite, or either class is empty.
    pub fn new(scores: &[f32], is_target: &[bool]) -> Result<Self, MetricError> {
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

    /// Number of target (same identity) trials.
    pub fn n_target(&self) -> u64 {
        self.n_target
    }

    /// Number of nontarget (impostor) trials.
    pub fn n_nontarget(&self) -> u64 {
        self.n_nontarget
    }

    /// The distinct scores, ascending.
    pub fn thresholds(&self) -> &[f32] {
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
    pub fn max_score(&self) -> f32 {
        // `new` guarantees at least two trials.
        self.scores[self.scores.len() - 1]
    }

    /// A threshold above every score: with "accept if score >= threshold"
    /// it accepts nothing.
    pub fn accept_nothing_threshold(&self) -> f64 {
        f64::from(self.max_score().next_up())
    }
}

/// Sorts by an MSD pass on the top bits of the order-preserving key, then
/// sorts each bucket (in parallel) on the remaining bits, carrying the label
/// in bit 0, and counts each run of equal keys.
fn sort_into_curve(
    scores: &[f32],
    is_target: &[bool],
    n_target: u64,
    n_nontarget: u64,
) -> ScoreCurve {
    const BUCKETS: usize = 1 << HIGH_BITS;
    let chunk = scores
        .len()
        .div_ceil(rayon::current_num_threads().max(1))
        .max(1 << 16);
    let histogram = scores
        .par_chunks(chunk)
        .map(|part| {
            let mut h = vec![0usize; BUCKETS];
            for &s in part {
                h[(key_of(s) >> LOW_BITS) as usize] += 1;
            }
            h
        })
        .reduce(
            || vec![0usize; BUCKETS],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    let mut starts = Vec::with_capacity(BUCKETS);
    let mut total = 0;
    for count in &histogram {
        starts.push(total);
        total += count;
    }
    let mut packed = vec![0u32; scores.len()];
    let mut next = starts.clone();
    let low_mask = (1u32 << LOW_BITS) - 1;
    for (&s, &t) in scores.iter().zip(is_target) {
        let key = key_of(s);
        let bucket = (key >> LOW_BITS) as usize;
        packed[next[bucket]] = ((key & low_mask) << 1) | u32::from(t);
        next[bucket] += 1;
    }
    let mut slices: Vec<(u32, &mut [u32])> = Vec::new();
    let mut rest = packed.as_mut_slice();
    for (bucket, &count) in histogram.iter().enumerate() {
        let (head, tail) = rest.split_at_mut(count);
        if !head.is_empty() {
            slices.push((bucket as u32, head));
        }
        rest = tail;
    }
    let runs: Vec<Vec<(u32, u32, u32)>> = slices
        .into_par_iter()
        .map(|(bucket, values)| {
            sort_low_bits(values);
            let mut out = Vec::new();
            let mut i = 0;
            while i < values.len() {
                let low = values[i] >> 1;
                let (mut targets, mut nontargets) = (0u32, 0u32);
                while i < values.len() && values[i] >> 1 == low {
                    if values[i] & 1 == 1 {
                        targets += 1;
                    } else {
                        nontargets += 1;
                    }
                    i += 1;
                }
                out.push(((bucket << LOW_BITS) | low, targets, nontargets));
            }
            out
        })
        .collect();
    let distinct = runs.iter().map(Vec::len).sum();
    let mut curve = ScoreCurve {
        scores: vec![0.0; distinct],
        targets_at: vec![0; distinct],
        nontargets_at: vec![0; distinct],
        n_target,
        n_nontarget,
    };
    let mut parts = Vec::with_capacity(runs.len());
    let (mut s_rest, mut t_rest, mut n_rest) = (
        curve.scores.as_mut_slice(),
        curve.targets_at.as_mut_slice(),
        curve.nontargets_at.as_mut_slice(),
    );
    for run in &runs {
        let (s_head, s_tail) = s_rest.split_at_mut(run.len());
        let (t_head, t_tail) = t_rest.split_at_mut(run.len());
        let (n_head, n_tail) = n_rest.split_at_mut(run.len());
        parts.push((run, s_head, t_head, n_head));
        (s_rest, t_rest, n_rest) = (s_tail, t_tail, n_tail);
    }
    parts.into_par_iter().for_each(|(run, s, t, n)| {
        for (i, &(key, targets, nontargets)) in run.iter().enumerate() {
            s[i] = score_of(key);
            t[i] = targets;
            n[i] = nontargets;
        }
    });
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
                (r % 50) as f32 / 10.0 - 2.0
            } else {
                (r as f32 / u32::MAX as f32) * 2.0 - 0.7
            };
            scores.push(s);
            labels.push(r.is_multiple_of(7));
        }
        let mut naive = std::collections::BTreeMap::<u32, (u32, u32)>::new();
        for (&s, &t) in scores.iter().zip(&labels) {
            let entry = naive.entry(key_of(s)).or_default();
            if t {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        let curve = ScoreCurve::new(&scores, &labels).unwrap();
        let expected: Vec<(f32, u32, u32)> = naive
            .iter()
            .map(|(&k, &(t, n))| (score_of(k), t, n))
            .collect();
        let got: Vec<(f32, u32, u32)> = (0..curve.thresholds().len())
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
        let err = ScoreCurve::new(&[0.1, f32::NAN], &[true, false]).unwrap_err();
        assert!(
            err.to_string()
                .contains("index 1 is NaN: scores must be finite"),
            "{err}"
        );
        let err = ScoreCurve::new(&[0.5, f32::INFINITY], &[true, false]).unwrap_err();
        assert!(err.to_string().contains("index 1 is inf"), "{err}");
        let err = ScoreCurve::new(&[0.1], &[true, false]).unwrap_err();
        assert!(matches!(err, MetricError::LengthMismatch { .. }));
    }
}
