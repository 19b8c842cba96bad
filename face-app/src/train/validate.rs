//! Validation during training: insightface `.bin` pair sets scored with flip TTA and 10-fold
//! accuracy (eval-kit), as arcface_torch's `CallBackVerification` does.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use candle_core::Device;
use datasets::face::ValidationBin;
use eval_kit::pairs::{ten_fold_accuracy, TenFoldConfig};
use serde::Serialize;

use crate::bundle::FaceModel;
use crate::embed::embed_batch;

/// One opened validation set.
pub struct ValSet {
    /// Short name (file stem, e.g. `lfw`).
    pub name: String,
    /// The pairs.
    pub bin: ValidationBin,
}

/// Accuracy on one validation set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValResult {
    /// Set name.
    pub name: String,
    /// Pairs scored.
    pub pairs: usize,
    /// Mean 10-fold accuracy, a fraction.
    pub accuracy: f64,
    /// Standard deviation over the folds.
    pub accuracy_std: f64,
}

/// Opens every `.bin`; a missing or unreadable file is an error naming it.
pub fn open_sets(paths: &[PathBuf]) -> Result<Vec<ValSet>> {
    paths
        .iter()
        .map(|p| {
            let bin = ValidationBin::open(p)
                .with_context(|| format!("eval.val_bins: opening {}", p.display()))?;
            Ok(ValSet { name: stem(p), bin })
        })
        .collect()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Embeds the set's images (eval mode, flip TTA if asked) and returns the 10-fold accuracy of
/// squared L2 distances between the normalized embeddings of each pair.
pub fn validate(
    model: &FaceModel,
    set: &ValSet,
    batch_size: usize,
    flip_tta: bool,
    device: &Device,
) -> Result<ValResult> {
    let n = set.bin.num_images();
    let mut emb: Vec<f32> = Vec::with_capacity(n * 512);
    let mut dim = 0;
    let mut start = 0;
    while start < n {
        let end = (start + batch_size.max(1)).min(n);
        let batch = set
            .bin
            .batch(start..end, false, device)
            .with_context(|| format!("reading {}", set.bin.path().display()))?;
        let e = embed_batch(model, &batch, flip_tta)?;
        dim = e.dim(1)?;
        emb.extend(e.flatten_all()?.to_vec1::<f32>()?);
        start = end;
    }
    let pairs = set.bin.num_pairs();
    let distances: Vec<f32> = (0..pairs)
        .map(|i| {
            let a = &emb[2 * i * dim..(2 * i + 1) * dim];
            let b = &emb[(2 * i + 1) * dim..(2 * i + 2) * dim];
            a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
        })
        .collect();
    let result = ten_fold_accuracy(&distances, set.bin.issame(), &TenFoldConfig::default())
        .with_context(|| format!("10-fold accuracy on {}", set.name))?;
    Ok(ValResult {
        name: set.name.clone(),
        pairs,
        accuracy: result.accuracy_mean,
        accuracy_std: result.accuracy_std,
    })
}
