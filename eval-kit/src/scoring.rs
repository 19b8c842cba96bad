//! Cosine scoring of trials from an embedding store, with optional mean
//! subtraction and adaptive symmetric score normalization (AS-norm), as in
//! wespeaker's `bin/score.py` and `bin/score_norm.py`.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::error::MetricError;
use crate::store::EmbeddingStore;
use crate::trials::Trial;

/// AS-norm settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsNormConfig {
    /// Number of best-matching cohort vectors whose scores give each side's
    /// mean and (population) standard deviation; the whole cohort when larger.
    pub top_n: usize,
}

impl Default for AsNormConfig {
    /// wespeaker's VoxCeleb recipe: top 300.
    fn default() -> Self {
        Self { top_n: 300 }
    }
}

/// Dot product in f64 with 16 independent lanes (vectorizes on any x86-64 level).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let (ca, ra) = a[..n].as_chunks::<LANES>();
    let (cb, rb) = b[..n].as_chunks::<LANES>();
    let mut acc = [0f64; LANES];
    for (x, y) in ca.iter().zip(cb) {
        for k in 0..LANES {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f64>() + tail
}

/// `v - mean` (when given) in f64, scaled to unit L2 norm (a zero vector stays zero).
pub fn centered_unit(v: &[f32], mean: Option<&[f32]>) -> Vec<f64> {
    let mut out: Vec<f64> = match mean {
        Some(m) => v
            .iter()
            .zip(m)
            .map(|(&x, &m)| f64::from(x) - f64::from(m))
            .collect(),
        None => v.iter().map(|&x| f64::from(x)).collect(),
    };
    let norm = out.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        out.iter_mut().for_each(|x| *x /= norm);
    }
    out
}

fn check_mean(store: &EmbeddingStore, mean: Option<&[f32]>) -> Result<(), MetricError> {
    match mean {
        Some(m) if m.len() != store.dim() => Err(MetricError::DimensionMismatch {
            key: "mean vector".to_string(),
            expected: store.dim(),
            actual: m.len(),
        }),
        _ => Ok(()),
    }
}

/// Unit vectors of the keys used by a trial list.
pub(crate) struct Prepared {
    /// The distinct keys, in order of first use.
    pub keys: Vec<String>,
    /// Centered unit vector of each key.
    pub vectors: Vec<Vec<f64>>,
    /// Per trial, the positions of its enroll and test vectors.
    pub pairs: Vec<(usize, usize)>,
}

/// The store rows used by `trials`, centered and normalized, and for each
/// trial the positions of its enroll and test vectors among them. Every key
/// without an embedding is reported once, in one error.
pub(crate) fn prepare(
    trials: &[Trial],
    store: &EmbeddingStore,
    mean: Option<&[f32]>,
) -> Result<Prepared, MetricError> {
    check_mean(store, mean)?;
    let mut position: HashMap<&str, usize> = HashMap::new();
    let mut keys = Vec::new();
    let mut missing = Vec::new();
    let mut seen_missing = HashSet::new();
    let mut pairs = Vec::with_capacity(trials.len());
    for trial in trials {
        let mut side = |key: &str| -> usize {
            if let Some(&p) = position.get(key) {
                return p;
            }
            if store.index_of(key).is_none() {
                if seen_missing.insert(key.to_string()) {
                    missing.push(key.to_string());
                }
                return usize::MAX;
            }
            keys.push(key.to_string());
            position.insert(store_key(store, key), keys.len() - 1);
            keys.len() - 1
        };
        let e = side(&trial.enroll);
        let t = side(&trial.test);
        pairs.push((e, t));
    }
    if !missing.is_empty() {
        return Err(MetricError::MissingEmbeddings { keys: missing });
    }
    let vectors = keys
        .par_iter()
        .map(|k| centered_unit(store.get(k).unwrap_or_default(), mean))
        .collect();
    Ok(Prepared {
        keys,
        vectors,
        pairs,
    })
}

/// The store's own copy of `key` (so the map can borrow the store, not the trials).
fn store_key<'s>(store: &'s EmbeddingStore, key: &str) -> &'s str {
    store.index_of(key).map_or("", |i| store.keys()[i].as_str())
}

/// Cosine score of every trial: `cos(e - mean, t - mean)`.
pub fn cosine_scores(
    trials: &[Trial],
    store: &EmbeddingStore,
    mean: Option<&[f32]>,
) -> Result<Vec<f64>, MetricError> {
    let Prepared { vectors, pairs, .. } = prepare(trials, store, mean)?;
    Ok(pairs
        .par_iter()
        .map(|&(e, t)| dot(&vectors[e], &vectors[t]))
        .collect())
}

/// Mean and population standard deviation of the `top_n` largest cosine
/// scores of `v` against the (unit) cohort vectors.
fn cohort_stats(v: &[f64], cohort: &[Vec<f64>], top_n: usize) -> (f64, f64) {
    let mut scores: Vec<f64> = cohort.iter().map(|c| dot(v, c)).collect();
    let n = top_n.min(scores.len());
    if n < scores.len() {
        scores.select_nth_unstable_by(n - 1, |a, b| b.total_cmp(a));
    }
    let top = &scores[..n];
    let mean = top.iter().sum::<f64>() / n as f64;
    let var = top.iter().map(|&s| (s - mean).powi(2)).sum::<f64>() / n as f64;
    (mean, var.sqrt())
}

/// AS-norm of `scores` (one per trial, e.g. cosine scores rounded as in a
/// wespeaker score file): `0.5 ((s - mu_e) / sd_e + (s - mu_t) / sd_t)`,
/// where each side's statistics come from its top-N cohort scores. Trial
/// vectors and cohort vectors are all centered with `mean` and normalized.
pub fn as_norm(
    trials: &[Trial],
    store: &EmbeddingStore,
    scores: &[f64],
    cohort: &EmbeddingStore,
    mean: Option<&[f32]>,
    config: AsNormConfig,
) -> Result<Vec<f64>, MetricError> {
    if scores.len() != trials.len() {
        return Err(MetricError::LengthMismatch {
            what: "scores",
            expected: trials.len(),
            actual: scores.len(),
        });
    }
    if config.top_n == 0 {
        return Err(MetricError::InvalidParameter {
            name: "top_n",
            value: "0".to_string(),
            reason: "must be at least 1",
        });
    }
    if cohort.is_empty() {
        return Err(MetricError::InvalidParameter {
            name: "cohort",
            value: "0 vectors".to_string(),
            reason: "AS-norm needs a non-empty cohort",
        });
    }
    if cohort.dim() != store.dim() {
        return Err(MetricError::DimensionMismatch {
            key: "cohort vectors".to_string(),
            expected: store.dim(),
            actual: cohort.dim(),
        });
    }
    check_mean(cohort, mean)?;
    let Prepared {
        keys,
        vectors,
        pairs,
    } = prepare(trials, store, mean)?;
    let cohort_vectors: Vec<Vec<f64>> = (0..cohort.len())
        .into_par_iter()
        .map(|i| centered_unit(cohort.row(i), mean))
        .collect();
    let stats: Vec<(f64, f64)> = vectors
        .par_iter()
        .map(|v| cohort_stats(v, &cohort_vectors, config.top_n))
        .collect();
    if let Some(i) = stats.iter().position(|&(_, sd)| sd <= 0.0) {
        return Err(MetricError::InvalidParameter {
            name: "cohort",
            value: format!("top-N scores of {:?} all equal", keys[i]),
            reason:
                "AS-norm needs cohort scores with a non-zero spread (use a larger cohort or top_n)",
        });
    }
    Ok(pairs
        .iter()
        .zip(scores)
        .map(|(&(e, t), &s)| {
            let (me, se) = stats[e];
            let (mt, st) = stats[t];
            0.5 * ((s - me) / se + (s - mt) / st)
        })
        .collect())
}

/// Rounds scores to `decimals` digits, as writing and re-reading a score
/// file does (wespeaker normalizes and evaluates the 5-decimal scores).
pub fn round_scores(scores: &mut [f64], decimals: usize) {
    for s in scores {
        if let Ok(r) = format!("{:.*}", decimals, s).parse::<f64>() {
            *s = r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dot;

    #[test]
    fn dot_handles_lanes_and_tail() {
        // Integer-valued halves: every partial sum is exact in f64, so the lane order cannot
        // change the result.
        for n in [0, 1, 15, 16, 17, 100] {
            let a: Vec<f64> = (0..n).map(|i| f64::from(i) * 0.5).collect();
            let b: Vec<f64> = (0..n).map(|i| 2.0 - f64::from(i)).collect();
            let want: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert_eq!(dot(&a, &b), want, "{n}");
        }
    }
}
