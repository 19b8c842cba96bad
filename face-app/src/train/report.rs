//! The held-out verification report: embed the held-out identities, score every pair (all
//! genuine, all impostor) by cosine, and compute EER / TAR@FAR with eval-kit; the ROC plot and
//! the score thresholds saved with the model come from the same scores.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use datasets::face::{image_to_chw, FaceImages, FacePipeline};
use eval_kit::plot::{plot_curve, CurveKind};
use eval_kit::{MetricsConfig, ScoreCurve, VerificationReport};
use rayon::prelude::*;
use serde::Serialize;

use crate::bundle::FaceModel;
use crate::embed::embed_batch;

/// Held-out scores and their metrics.
pub struct HeldoutEval {
    /// EER, minDCF, TAR@FAR.
    pub report: VerificationReport,
    /// The sorted score curve (for the plot).
    pub curve: ScoreCurve,
    /// The metrics settings used.
    pub metrics: MetricsConfig,
    /// Images embedded.
    pub images: usize,
    /// Identities.
    pub identities: usize,
}

/// A score threshold for one FAR, as saved in the model's `config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FarThreshold {
    /// The target FAR.
    pub far: f64,
    /// Accept a pair when its cosine score is >= this.
    pub threshold: f64,
}

/// L2-normalized embeddings `(N, D)` of the images `indices` of `images` (eval mode, flip TTA if
/// asked), as a row-major vector, with `D`.
pub fn embed_indices(
    model: &FaceModel,
    images: &dyn FaceImages,
    indices: &[usize],
    batch_size: usize,
    flip_tta: bool,
    device: &Device,
) -> Result<(Vec<f32>, usize)> {
    let pipeline = FacePipeline::eval();
    let side = pipeline.size as usize;
    let mut out = Vec::new();
    let mut dim = 0;
    for chunk in indices.chunks(batch_size.max(1)) {
        let samples: Vec<Vec<f32>> = chunk
            .par_iter()
            .map(|&i| {
                let img = images
                    .image(i)
                    .with_context(|| format!("reading {}", images.describe(i)))?;
                Ok(image_to_chw(&pipeline.fit(img), false).data)
            })
            .collect::<Result<_>>()?;
        let flat: Vec<f32> = samples.into_iter().flatten().collect();
        let batch = Tensor::from_vec(flat, (chunk.len(), 3, side, side), device)?;
        let emb = embed_batch(model, &batch, flip_tta)?;
        dim = emb.dim(1)?;
        out.extend(emb.flatten_all()?.to_vec1::<f32>()?);
    }
    Ok((out, dim))
}

/// Cosine scores of all pairs `i < j` and whether each is genuine (same label).
pub fn all_pair_scores(emb: &[f32], dim: usize, labels: &[u32]) -> (Vec<f32>, Vec<bool>) {
    let n = labels.len();
    let mut scores = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    let mut genuine = Vec::with_capacity(scores.capacity());
    for i in 0..n {
        let a = &emb[i * dim..(i + 1) * dim];
        for j in i + 1..n {
            let b = &emb[j * dim..(j + 1) * dim];
            scores.push(a.iter().zip(b).map(|(x, y)| x * y).sum());
            genuine.push(labels[i] == labels[j]);
        }
    }
    (scores, genuine)
}

/// Embeds `images` and scores all pairs; errors if there are no genuine or no impostor pairs.
pub fn evaluate_heldout(
    model: &FaceModel,
    images: &dyn FaceImages,
    fars: &[f64],
    batch_size: usize,
    flip_tta: bool,
    device: &Device,
) -> Result<HeldoutEval> {
    let all: Vec<usize> = (0..images.len()).collect();
    let (emb, dim) = embed_indices(model, images, &all, batch_size, flip_tta, device)?;
    let labels: Vec<u32> = (0..images.len()).map(|i| images.label(i)).collect();
    let (scores, genuine) = all_pair_scores(&emb, dim, &labels);
    let metrics = MetricsConfig {
        fars: fars.to_vec(),
        ..MetricsConfig::default()
    };
    let curve = ScoreCurve::new(&scores, &genuine)
        .context("held-out scores (need genuine and impostor pairs)")?;
    let report = VerificationReport::new(&curve, &metrics).context("held-out metrics")?;
    Ok(HeldoutEval {
        report,
        curve,
        metrics,
        images: images.len(),
        identities: images.num_identities(),
    })
}

impl HeldoutEval {
    /// The thresholds at each FAR of the table (accept when score >= threshold).
    pub fn thresholds(&self) -> Vec<FarThreshold> {
        self.report
            .tar_at_far
            .iter()
            .map(|t| FarThreshold {
                far: t.far,
                threshold: t.threshold,
            })
            .collect()
    }

    /// Draws the ROC curve into `path` (`.png`).
    pub fn plot(&self, path: &Path, title: &str) -> Result<()> {
        plot_curve(
            path,
            &self.curve,
            &self.report,
            &self.metrics,
            CurveKind::Roc,
            title,
        )
        .with_context(|| format!("drawing {}", path.display()))
    }

    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let r = &self.report;
        let mut s = format!(
            "held-out verification: {} identities, {} images, {} genuine / {} impostor pairs\n",
            self.identities, self.images, r.n_target, r.n_nontarget
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
        let _ = write!(s, "  EER {:.4} (threshold {:.4})", r.eer, r.eer_threshold);
        s
    }
}
