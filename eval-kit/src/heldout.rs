//! Held-out verification, as both apps report it after training: every pair among the
//! embeddings of identities never trained on (all genuine, all impostor pairs) scored by
//! cosine, EER / minDCF / TAR@FAR from the curve, and the score threshold at each FAR that a
//! model bundle stores for `verify`.

use serde::{Deserialize, Serialize};

use crate::curve::ScoreCurve;
use crate::error::MetricError;
use crate::report::{MetricsConfig, VerificationReport};

/// A score threshold for one false-accept rate: accept a pair when `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FarThreshold {
    /// The target FAR.
    pub far: f64,
    /// The cosine threshold.
    pub threshold: f64,
}

/// Embeddings of held-out items: rows of one dimension with their identity labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeldoutEmbeddings {
    /// Embedding size.
    pub dim: usize,
    /// Row-major `(N, dim)` L2-normalized embeddings.
    pub rows: Vec<f32>,
    /// Identity of each row.
    pub labels: Vec<u32>,
    /// Items that could not be embedded, as `item: reason`.
    pub skipped: Vec<String>,
}

impl HeldoutEmbeddings {
    /// An empty set of `dim`-dimensional embeddings.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            ..Self::default()
        }
    }

    /// Adds one embedding of identity `label`, L2-normalizing it (as eval-kit's cosine scoring
    /// does: `x / max(|x|, 1e-12)` in f32).
    pub fn push(&mut self, label: u32, embedding: &[f32]) -> Result<(), MetricError> {
        if embedding.len() != self.dim {
            return Err(MetricError::DimensionMismatch {
                key: format!("held-out item {}", self.labels.len()),
                expected: self.dim,
                actual: embedding.len(),
            });
        }
        let norm = embedding
            .iter()
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt()
            .max(1e-12);
        self.rows.extend(embedding.iter().map(|x| x / norm));
        self.labels.push(label);
        Ok(())
    }

    /// Adds an already normalized `(n, dim)` block with its labels.
    pub fn extend_normalized(&mut self, rows: &[f32], labels: &[u32]) -> Result<(), MetricError> {
        if rows.len() != labels.len() * self.dim {
            return Err(MetricError::LengthMismatch {
                what: "held-out embedding rows",
                expected: labels.len() * self.dim,
                actual: rows.len(),
            });
        }
        self.rows.extend_from_slice(rows);
        self.labels.extend_from_slice(labels);
        Ok(())
    }

    /// Number of embedded items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether nothing was embedded.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// The cosine scores of all pairs `i < j` of `emb` and whether each pairs one identity.
pub fn all_pair_scores(emb: &HeldoutEmbeddings) -> (Vec<f32>, Vec<bool>) {
    let (n, dim) = (emb.len(), emb.dim);
    let mut scores = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    let mut genuine = Vec::with_capacity(scores.capacity());
    for i in 0..n {
        let a = &emb.rows[i * dim..(i + 1) * dim];
        for j in i + 1..n {
            let b = &emb.rows[j * dim..(j + 1) * dim];
            scores.push(a.iter().zip(b).map(|(x, y)| x * y).sum());
            genuine.push(emb.labels[i] == emb.labels[j]);
        }
    }
    (scores, genuine)
}

/// Checks that `counts` (items per identity) give genuine and impostor pairs: at least two
/// identities, and one of them with at least two items.
pub fn check_split(counts: &[usize]) -> Result<(), MetricError> {
    let identities = counts.iter().filter(|&&c| c > 0).count();
    let with_pairs = counts.iter().filter(|&&c| c >= 2).count();
    if identities < 2 || with_pairs == 0 {
        return Err(MetricError::HeldoutTooSmall {
            message: format!(
                "{} item(s) of {identities} identit{}; verification needs at least 2 identities and one with 2 items",
                counts.iter().sum::<usize>(),
                if identities == 1 { "y" } else { "ies" }
            ),
        });
    }
    Ok(())
}

/// The held-out verification result.
#[derive(Debug, Clone, Serialize)]
pub struct HeldoutReport {
    /// Identities scored.
    pub identities: usize,
    /// Items embedded.
    pub items: usize,
    /// Items that could not be embedded.
    pub skipped: usize,
    /// The first few of them, as `item: reason`.
    pub skipped_examples: Vec<String>,
    /// EER, minDCF and TAR@FAR of all pairs.
    pub metrics: VerificationReport,
    /// The threshold at each FAR of the table.
    pub thresholds: Vec<FarThreshold>,
    /// The sorted curve (for plots).
    #[serde(skip)]
    pub curve: Option<ScoreCurve>,
}

/// How many skipped items a report names.
pub const MAX_SKIPPED_EXAMPLES: usize = 20;

/// Scores every pair of `emb` and computes the metrics at `fars`.
pub fn evaluate(emb: &HeldoutEmbeddings, fars: &[f64]) -> Result<HeldoutReport, MetricError> {
    let mut counts = std::collections::BTreeMap::<u32, usize>::new();
    for &l in &emb.labels {
        *counts.entry(l).or_default() += 1;
    }
    check_split(&counts.values().copied().collect::<Vec<_>>()).map_err(|e| match e {
        MetricError::HeldoutTooSmall { message } if !emb.skipped.is_empty() => {
            MetricError::HeldoutTooSmall {
                message: format!(
                    "{message} ({} unreadable item(s) skipped)",
                    emb.skipped.len()
                ),
            }
        }
        other => other,
    })?;
    let (scores, genuine) = all_pair_scores(emb);
    let config = MetricsConfig {
        fars: fars.to_vec(),
        ..MetricsConfig::default()
    };
    let curve = ScoreCurve::new(&scores, &genuine)?;
    let metrics = VerificationReport::new(&curve, &config)?;
    let thresholds = metrics
        .tar_at_far
        .iter()
        .map(|t| FarThreshold {
            far: t.far,
            threshold: t.threshold,
        })
        .collect();
    Ok(HeldoutReport {
        identities: counts.len(),
        items: emb.len(),
        skipped: emb.skipped.len(),
        skipped_examples: emb
            .skipped
            .iter()
            .take(MAX_SKIPPED_EXAMPLES)
            .cloned()
            .collect(),
        metrics,
        thresholds,
        curve: Some(curve),
    })
}

impl HeldoutReport {
    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let r = &self.metrics;
        let mut s = format!(
            "held-out verification: {} identities, {} items ({} skipped), {} genuine / {} impostor pairs\n",
            self.identities, self.items, self.skipped, r.n_target, r.n_nontarget
        );
        let _ = writeln!(s, "  {:<10} {:>8} {:>10}", "FAR", "TAR", "threshold");
        for t in &r.tar_at_far {
            let _ = writeln!(
                s,
                "  {:<10} {:>8.4} {:>10.4}",
                format!("{:.0e}", t.far),
                t.tar,
                t.threshold
            );
        }
        let _ = write!(
            s,
            "  EER {:.4} (threshold {:.4}), minDCF {:.4} (p_target {})",
            r.eer, r.eer_threshold, r.min_dcf, r.p_target
        );
        s
    }
}
