//! Confidence intervals for held-out verification by resampling identities.
//!
//! The pairs of an all-pairs protocol are not independent: every pair of an identity moves with
//! it, so resampling pairs would make intervals far too narrow. A replicate here draws the `K`
//! held-out identities `K` times with replacement; identity `i` drawn `w_i` times weighs each of
//! its genuine pairs `w_i` and each impostor pair with identity `j` `w_i * w_j` (pairs between
//! two copies of one identity are not formed). The weights are integers, so a replicate is an
//! ordinary [`ScoreCurve`] with weighted counts and every metric of this crate applies
//! unchanged. Intervals are percentile intervals (linear interpolation between order
//! statistics, numpy's default).
//!
//! Replicate `b` of a protocol draws from a ChaCha8 stream seeded by `(seed, b)` over the
//! sorted identity labels, so two runs scored on the same held-out identities see the same
//! draws: differences between them are paired.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::curve::ScoreCurve;
use crate::error::MetricError;
use crate::far::max_false_accepts;
use crate::heldout::{all_pair_scores, HeldoutEmbeddings};
use crate::report::{MetricsConfig, VerificationReport};

/// A TAR is reported at a FAR only when the protocol allows at least this many false accepts
/// there (`floor(far * impostor pairs)`): below it, one pair moves the TAR by a large step.
pub const MIN_FALSE_ACCEPTS: u64 = 10;

/// Whether `far` is resolved by `n_nontarget` impostor pairs (see [`MIN_FALSE_ACCEPTS`]).
pub fn far_resolved(far: f64, n_nontarget: u64) -> bool {
    max_false_accepts(far, n_nontarget) >= MIN_FALSE_ACCEPTS
}

/// The pairs of a held-out set sorted by score once, each with the identities it joins.
#[derive(Debug, Clone)]
pub struct IdentityPairs {
    /// The distinct identity labels, ascending; pairs refer to positions in it.
    identities: Vec<u32>,
    /// Pair scores, ascending.
    scores: Vec<f64>,
    /// The two identities (positions in `identities`) of each pair.
    sides: Vec<(u32, u32)>,
}

impl IdentityPairs {
    /// Scores every pair of `emb` (cosine, f64) and sorts the pairs.
    pub fn new(emb: &HeldoutEmbeddings) -> Self {
        let mut identities = emb.labels.clone();
        identities.sort_unstable();
        identities.dedup();
        let position = |l: u32| identities.binary_search(&l).unwrap_or(0) as u32;
        let positions: Vec<u32> = emb.labels.iter().map(|&l| position(l)).collect();
        let (scores, _) = all_pair_scores(emb);
        let n = emb.len();
        let mut order: Vec<(f64, u32, u32)> = Vec::with_capacity(scores.len());
        let mut k = 0;
        for i in 0..n {
            for j in i + 1..n {
                order.push((scores[k], positions[i], positions[j]));
                k += 1;
            }
        }
        order.par_sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
        Self {
            identities,
            scores: order.iter().map(|p| p.0).collect(),
            sides: order.iter().map(|p| (p.1, p.2)).collect(),
        }
    }

    /// The distinct identity labels, ascending.
    pub fn identities(&self) -> &[u32] {
        &self.identities
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The curve with identity `i` weighted `weights[i]` (all ones: the protocol itself).
    ///
    /// Errors: `weights` has the wrong length, a class gets no weight, or a count overflows.
    pub fn curve(&self, weights: &[u32]) -> Result<ScoreCurve, MetricError> {
        if weights.len() != self.identities.len() {
            return Err(MetricError::LengthMismatch {
                what: "identity weights",
                expected: self.identities.len(),
                actual: weights.len(),
            });
        }
        let mut thresholds = Vec::new();
        let mut targets_at = Vec::new();
        let mut nontargets_at = Vec::new();
        let mut i = 0;
        while i < self.scores.len() {
            let score = self.scores[i];
            let (mut t, mut n) = (0u64, 0u64);
            while i < self.scores.len() && self.scores[i] == score {
                let (a, b) = self.sides[i];
                if a == b {
                    t += u64::from(weights[a as usize]);
                } else {
                    n += u64::from(weights[a as usize]) * u64::from(weights[b as usize]);
                }
                i += 1;
            }
            if t + n > 0 {
                thresholds.push(score);
                targets_at.push(count_u32(t)?);
                nontargets_at.push(count_u32(n)?);
            }
        }
        ScoreCurve::from_counts(thresholds, targets_at, nontargets_at)
    }
}

fn count_u32(count: u64) -> Result<u32, MetricError> {
    u32::try_from(count).map_err(|_| MetricError::InvalidParameter {
        name: "bootstrap weights",
        value: count.to_string(),
        reason: "a weighted count at one score exceeds 2^32 - 1",
    })
}

/// How many replicates, at which confidence, from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapConfig {
    /// Number of replicates.
    pub replicates: usize,
    /// Coverage of the intervals, in `(0, 1)`.
    pub confidence: f64,
    /// Seed of the draws.
    pub seed: u64,
}

impl Default for BootstrapConfig {
    /// 1000 replicates, 95% intervals, seed 0.
    fn default() -> Self {
        Self {
            replicates: 1000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

impl BootstrapConfig {
    /// Errors unless there are at least 2 replicates and `0 < confidence < 1`.
    pub fn validate(&self) -> Result<(), MetricError> {
        if self.replicates < 2 {
            return Err(MetricError::InvalidParameter {
                name: "replicates",
                value: self.replicates.to_string(),
                reason: "a bootstrap needs at least 2 replicates",
            });
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(MetricError::InvalidParameter {
                name: "confidence",
                value: self.confidence.to_string(),
                reason: "must be in (0, 1)",
            });
        }
        Ok(())
    }
}

/// The ChaCha8 stream of replicate `replicate` of stream `seed`.
fn replicate_rng(seed: u64, replicate: usize) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(replicate as u64).to_le_bytes());
    key[16..24].copy_from_slice(b"identity");
    ChaCha8Rng::from_seed(key)
}

/// How often each of `n` items is drawn in `n` draws with replacement from `rng`.
fn multiplicities(n: usize, rng: &mut ChaCha8Rng) -> Vec<u32> {
    let mut w = vec![0u32; n];
    for _ in 0..n {
        w[rng.random_range(0..n)] += 1;
    }
    w
}

/// The identity weights of replicate `replicate`: a draw that leaves a class empty (every
/// drawn identity with one item, or one identity drawn alone) is drawn again from the same
/// stream, so the result is still a function of `(seed, replicate)`.
pub fn replicate_weights(
    pairs: &IdentityPairs,
    seed: u64,
    replicate: usize,
) -> Result<(Vec<u32>, ScoreCurve), MetricError> {
    let mut rng = replicate_rng(seed, replicate);
    let mut last = None;
    for _ in 0..100 {
        let w = multiplicities(pairs.identities.len(), &mut rng);
        match pairs.curve(&w) {
            Ok(curve) => return Ok((w, curve)),
            Err(e @ MetricError::MissingClass { .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(MetricError::HeldoutTooSmall {
        message: "no bootstrap draw has both genuine and impostor pairs".into(),
    }))
}

/// One metric's value on every replicate.
pub type Samples = Vec<f64>;

/// EER, minDCF and TAR at each FAR over the replicates of one protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replicates {
    /// EER of each replicate.
    pub eer: Samples,
    /// minDCF of each replicate.
    pub min_dcf: Samples,
    /// `tar[k][b]`: TAR at the `k`-th FAR of the config on replicate `b`.
    pub tar: Vec<Samples>,
}

/// Computes every metric of `config` on `boot.replicates` identity resamples of `pairs`.
pub fn resample(
    pairs: &IdentityPairs,
    config: &MetricsConfig,
    boot: &BootstrapConfig,
) -> Result<Replicates, MetricError> {
    boot.validate()?;
    let reports: Vec<VerificationReport> = (0..boot.replicates)
        .into_par_iter()
        .map(|b| {
            let (_, curve) = replicate_weights(pairs, boot.seed, b)?;
            VerificationReport::new(&curve, config)
        })
        .collect::<Result<_, _>>()?;
    Ok(Replicates {
        eer: reports.iter().map(|r| r.eer).collect(),
        min_dcf: reports.iter().map(|r| r.min_dcf).collect(),
        tar: (0..config.fars.len())
            .map(|k| reports.iter().map(|r| r.tar_at_far[k].tar).collect())
            .collect(),
    })
}

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

impl Interval {
    /// Whether the interval lies entirely above or entirely below zero.
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// The `q`-quantile (`0 <= q <= 1`) of sorted `values` by linear interpolation between order
/// statistics (numpy's default `method="linear"`).
pub fn quantile_sorted(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let h = (values.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    let hi = (lo + 1).min(values.len() - 1);
    values[lo] + frac * (values[hi] - values[lo])
}

/// The central `confidence` percentile interval of `samples`.
pub fn percentile_interval(samples: &[f64], confidence: f64) -> Interval {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    Interval {
        low: quantile_sorted(&sorted, tail),
        high: quantile_sorted(&sorted, 1.0 - tail),
    }
}

/// The mean over runs (e.g. training seeds) of a metric, replicate by replicate, with the runs
/// themselves resampled: replicate `b` draws `runs.len()` runs with replacement (stream
/// `(seed, b)`) and averages their replicate-`b` values. With one run this is that run's
/// samples. Every run must have the same number of replicates.
pub fn mean_over_runs(runs: &[&[f64]], seed: u64) -> Result<Samples, MetricError> {
    let Some(first) = runs.first() else {
        return Err(MetricError::InvalidParameter {
            name: "runs",
            value: "0".into(),
            reason: "a mean over runs needs at least one run",
        });
    };
    let b = first.len();
    if let Some(bad) = runs.iter().find(|r| r.len() != b) {
        return Err(MetricError::LengthMismatch {
            what: "replicates of a run",
            expected: b,
            actual: bad.len(),
        });
    }
    if runs.len() == 1 {
        return Ok(first.to_vec());
    }
    Ok((0..b)
        .map(|i| {
            let mut rng = replicate_rng(seed ^ 0x5eed_5eed, i);
            let n = runs.len();
            (0..n).map(|_| runs[rng.random_range(0..n)][i]).sum::<f64>() / n as f64
        })
        .collect())
}

/// Mean and sample standard deviation (`n - 1`; 0 for one value).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}
