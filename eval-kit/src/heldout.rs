//! Held-out verification, as both apps report it after training: every pair among the
//! embeddings of identities never trained on (all genuine, all impostor pairs) scored by
//! cosine, EER / minDCF / TAR@FAR from the curve, and the score threshold at each FAR that a
//! model bundle stores for `verify`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bootstrap::{far_resolved, MIN_FALSE_ACCEPTS};
use crate::curve::ScoreCurve;
use crate::error::MetricError;
use crate::report::{MetricsConfig, VerificationReport};
use crate::scoring::{centered_unit, dot};
use crate::store::EmbeddingStore;

/// A score threshold for one false-accept rate: accept a pair when `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FarThreshold {
    /// The target FAR.
    pub far: f64,
    /// The cosine threshold.
    pub threshold: f64,
}

/// Embeddings of held-out items: rows of one dimension with their identity labels.
///
/// Rows are kept as the model produced them; [`all_pair_scores`] normalizes them in f64, so
/// scores are exact from the features to the ROC.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeldoutEmbeddings {
    /// Embedding size.
    pub dim: usize,
    /// Row-major `(N, dim)` embeddings, as produced.
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

    /// Adds one embedding of identity `label`.
    pub fn push(&mut self, label: u32, embedding: &[f32]) -> Result<(), MetricError> {
        self.extend(embedding, &[label])
    }

    /// Adds a row-major `(labels.len(), dim)` block with its labels.
    pub fn extend(&mut self, rows: &[f32], labels: &[u32]) -> Result<(), MetricError> {
        if rows.len() != labels.len() * self.dim {
            return Err(if labels.len() == 1 {
                MetricError::DimensionMismatch {
                    key: format!("held-out item {}", self.labels.len()),
                    expected: self.dim,
                    actual: rows.len(),
                }
            } else {
                MetricError::LengthMismatch {
                    what: "held-out embedding rows",
                    expected: labels.len() * self.dim,
                    actual: rows.len(),
                }
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

    /// Saves the rows as an [`EmbeddingStore`] whose key `"{label}/{row}"` carries each row's
    /// identity, so a sweep can score a finished run again.
    pub fn save(&self, path: &Path) -> Result<(), MetricError> {
        let keys = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{l}/{i}"))
            .collect();
        EmbeddingStore::from_rows(keys, self.dim, self.rows.clone())?.save(path)
    }

    /// Reads what [`HeldoutEmbeddings::save`] wrote; a key without a numeric identity before
    /// `/` is an error naming the file.
    pub fn load(path: &Path) -> Result<Self, MetricError> {
        let store = EmbeddingStore::load(path)?;
        let mut labels = Vec::with_capacity(store.len());
        for key in store.keys() {
            let label = key
                .split_once('/')
                .and_then(|(l, _)| l.parse::<u32>().ok())
                .ok_or_else(|| MetricError::InvalidStore {
                    path: path.to_path_buf(),
                    message: format!(
                        "key {key:?} is not `<identity>/<row>` (not a held-out embedding file)"
                    ),
                })?;
            labels.push(label);
        }
        Ok(Self {
            dim: store.dim(),
            rows: store.data().to_vec(),
            labels,
            skipped: Vec::new(),
        })
    }

    /// The rows centered on nothing and scaled to unit norm, in f64.
    fn unit_rows(&self) -> Vec<Vec<f64>> {
        self.rows
            .chunks(self.dim.max(1))
            .map(|r| centered_unit(r, None))
            .collect()
    }
}

/// The cosine scores (f64) of all pairs `i < j` of `emb` and whether each pairs one identity.
pub fn all_pair_scores(emb: &HeldoutEmbeddings) -> (Vec<f64>, Vec<bool>) {
    let n = emb.len();
    let unit = emb.unit_rows();
    let mut scores = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    let mut genuine = Vec::with_capacity(scores.capacity());
    for i in 0..n {
        for j in i + 1..n {
            scores.push(dot(&unit[i], &unit[j]));
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
    /// FARs of the table this protocol cannot resolve: fewer than
    /// [`MIN_FALSE_ACCEPTS`](crate::bootstrap::MIN_FALSE_ACCEPTS) false accepts are allowed
    /// there, so their TAR is not reported (the table prints `-`).
    pub unresolved_fars: Vec<f64>,
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
    let unresolved_fars = fars
        .iter()
        .copied()
        .filter(|&f| !far_resolved(f, metrics.n_nontarget))
        .collect();
    Ok(HeldoutReport {
        unresolved_fars,
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
        let _ = writeln!(
            s,
            "  {:<10} {:>8} {:>10} {:>14}",
            "FAR", "TAR", "threshold", "false accepts"
        );
        for t in &r.tar_at_far {
            let far = format!("{:.0e}", t.far);
            if self.unresolved_fars.contains(&t.far) {
                let _ = writeln!(
                    s,
                    "  {far:<10} {:>8} {:>10} {:>14}   (needs {} impostor pairs)",
                    "-",
                    "-",
                    "-",
                    (MIN_FALSE_ACCEPTS as f64 / t.far).ceil()
                );
            } else {
                let _ = writeln!(
                    s,
                    "  {far:<10} {:>8.4} {:>10.4} {:>14}",
                    t.tar, t.threshold, t.false_accepts
                );
            }
        }
        let _ = write!(
            s,
            "  EER {:.4} (threshold {:.4}), minDCF {:.4} (p_target {})",
            r.eer, r.eer_threshold, r.min_dcf, r.p_target
        );
        s
    }
}
