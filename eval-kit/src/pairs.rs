//! Pair verification with 10-fold cross-validated thresholds: the LFW /
//! CFP-FP / AgeDB-30 procedure of insightface (`eval/verification.py`).
//!
//! Embeddings are L2-normalized, the distance is the squared L2 distance,
//! a pair is predicted "same" when `distance < threshold`. Folds are
//! contiguous (scikit-learn `KFold(n_splits, shuffle=False)`: the first
//! `n % folds` folds hold one pair more). For each fold the threshold of
//! the grid with the best accuracy on the other folds (first best) is
//! applied to the fold; the result is the mean and population standard
//! deviation of the fold accuracies.

use rayon::prelude::*;
use serde::Serialize;

use crate::error::MetricError;
use crate::scoring::{prepare, Prepared};
use crate::store::EmbeddingStore;
use crate::trials::Trial;

/// Folds and threshold grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TenFoldConfig {
    /// Number of contiguous folds.
    pub folds: usize,
    /// First threshold of the grid.
    pub threshold_start: f64,
    /// End of the grid (exclusive), like `numpy.arange`.
    pub threshold_stop: f64,
    /// Grid step.
    pub threshold_step: f64,
}

impl Default for TenFoldConfig {
    /// insightface: 10 folds, thresholds `arange(0, 4, 0.01)`.
    fn default() -> Self {
        Self {
            folds: 10,
            threshold_start: 0.0,
            threshold_stop: 4.0,
            threshold_step: 0.01,
        }
    }
}

impl TenFoldConfig {
    /// The grid `start + i * step` for `i < ceil((stop - start) / step)`.
    pub fn thresholds(&self) -> Result<Vec<f64>, MetricError> {
        let count = ((self.threshold_stop - self.threshold_start) / self.threshold_step).ceil();
        if self.threshold_step.is_nan()
            || self.threshold_step <= 0.0
            || !(1.0..=1e7).contains(&count)
        {
            return Err(MetricError::InvalidParameter {
                name: "threshold grid",
                value: format!(
                    "{}..{} step {}",
                    self.threshold_start, self.threshold_stop, self.threshold_step
                ),
                reason: "needs a positive step and 1 to 10^7 thresholds",
            });
        }
        Ok((0..count as usize)
            .map(|i| self.threshold_start + i as f64 * self.threshold_step)
            .collect())
    }
}

/// Result of [`ten_fold_accuracy`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenFoldResult {
    /// Number of pairs.
    pub n_pairs: usize,
    /// Mean of the fold accuracies, a fraction.
    pub accuracy_mean: f64,
    /// Population standard deviation of the fold accuracies.
    pub accuracy_std: f64,
    /// Accuracy on each fold.
    pub fold_accuracies: Vec<f64>,
    /// The threshold chosen for each fold (on the other folds).
    pub fold_thresholds: Vec<f64>,
}

/// Squared L2 distance between the L2-normalized embeddings of each pair
/// (`enroll`, `test`); all missing keys are reported in one error.
pub fn pair_distances(pairs: &[Trial], store: &EmbeddingStore) -> Result<Vec<f64>, MetricError> {
    let Prepared {
        vectors,
        pairs: index,
        ..
    } = prepare(pairs, store, None)?;
    Ok(index
        .par_iter()
        .map(|&(a, b)| {
            vectors[a]
                .iter()
                .zip(&vectors[b])
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f64>()
        })
        .collect())
}

/// Contiguous fold ranges of scikit-learn's `KFold`.
fn fold_ranges(n: usize, folds: usize) -> Vec<std::ops::Range<usize>> {
    let (base, extra) = (n / folds, n % folds);
    let mut start = 0;
    (0..folds)
        .map(|k| {
            let len = base + usize::from(k < extra);
            let range = start..start + len;
            start += len;
            range
        })
        .collect()
}

/// 10-fold verification accuracy of `distances` (smaller = more similar)
/// with labels `issame`. Errors: lengths differ, fewer pairs than folds,
/// NaN distances, or a bad grid.
pub fn ten_fold_accuracy(
    distances: &[f64],
    issame: &[bool],
    config: &TenFoldConfig,
) -> Result<TenFoldResult, MetricError> {
    if distances.len() != issame.len() {
        return Err(MetricError::LengthMismatch {
            what: "issame labels",
            expected: distances.len(),
            actual: issame.len(),
        });
    }
    if config.folds < 2 || distances.len() < config.folds {
        return Err(MetricError::InvalidParameter {
            name: "folds",
            value: format!("{} for {} pairs", config.folds, distances.len()),
            reason: "needs at least 2 folds and one pair per fold",
        });
    }
    if let Some(index) = distances.iter().position(|d| !d.is_finite()) {
        return Err(MetricError::NanScore {
            index,
            value: distances[index],
        });
    }
    let thresholds = config.thresholds()?;
    let folds = fold_ranges(distances.len(), config.folds);
    // correct[k][j]: pairs of fold k classified right at threshold j.
    let correct: Vec<Vec<usize>> = folds
        .par_iter()
        .map(|range| {
            thresholds
                .iter()
                .map(|&t| {
                    range
                        .clone()
                        .filter(|&i| (distances[i] < t) == issame[i])
                        .count()
                })
                .collect()
        })
        .collect();
    let mut fold_accuracies = Vec::with_capacity(folds.len());
    let mut fold_thresholds = Vec::with_capacity(folds.len());
    for (k, range) in folds.iter().enumerate() {
        let mut best = (0, 0usize);
        for j in 0..thresholds.len() {
            let train: usize = correct
                .iter()
                .enumerate()
                .filter(|&(other, _)| other != k)
                .map(|(_, counts)| counts[j])
                .sum();
            if j == 0 || train > best.1 {
                best = (j, train);
            }
        }
        fold_thresholds.push(thresholds[best.0]);
        fold_accuracies.push(correct[k][best.0] as f64 / range.len() as f64);
    }
    let n = fold_accuracies.len() as f64;
    let mean = fold_accuracies.iter().sum::<f64>() / n;
    let var = fold_accuracies
        .iter()
        .map(|a| (a - mean).powi(2))
        .sum::<f64>()
        / n;
    Ok(TenFoldResult {
        n_pairs: distances.len(),
        accuracy_mean: mean,
        accuracy_std: var.sqrt(),
        fold_accuracies,
        fold_thresholds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_follow_sklearn_kfold() {
        let sizes: Vec<usize> = fold_ranges(23, 10).iter().map(|r| r.len()).collect();
        assert_eq!(sizes, vec![3, 3, 3, 2, 2, 2, 2, 2, 2, 2]);
        assert_eq!(fold_ranges(23, 10)[3], 9..11);
    }

    #[test]
    fn separable_pairs_are_all_right() {
        let distances: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 0.5 } else { 1.5 })
            .collect();
        let issame: Vec<bool> = (0..40).map(|i| i % 2 == 0).collect();
        let r = ten_fold_accuracy(&distances, &issame, &TenFoldConfig::default()).unwrap();
        assert_eq!(r.accuracy_mean, 1.0);
        assert_eq!(r.accuracy_std, 0.0);
        // First best threshold: the smallest t with 0.5 < t, i.e. 0.51.
        assert!(r.fold_thresholds.iter().all(|&t| (t - 0.51).abs() < 1e-12));
    }

    #[test]
    fn too_few_pairs_is_an_error() {
        let err = ten_fold_accuracy(&[0.1; 5], &[true; 5], &TenFoldConfig::default()).unwrap_err();
        assert!(err.to_string().contains("10 for 5 pairs"), "{err}");
    }
}
