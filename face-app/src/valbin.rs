//! insightface `.bin` validation sets (lfw, cfp_fp, agedb_30): embeddings of every image with
//! flip TTA, squared L2 distances of the pairs summed in f64, and eval-kit's 10-fold accuracy,
//! as arcface_torch's `CallBackVerification` does. Training's validation and `face-app eval`
//! both go through here, so one model gets one accuracy.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use app_kit::Backbone;
use candle_core::Device;
use datasets::face::ValidationBin;
use eval_kit::pairs::{ten_fold_accuracy, TenFoldConfig};
use rayon::prelude::*;
use serde::Serialize;

use crate::embed::{embed_images, EmbedOptions};

/// One opened validation set.
pub struct ValSet {
    /// Short name (file stem, e.g. `lfw`).
    pub name: String,
    /// The pairs.
    pub bin: ValidationBin,
}

/// 10-fold accuracy on one validation set.
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

/// The file stem of `path` (`lfw` for `lfw.bin`).
pub fn set_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Opens every `.bin`; a missing or unreadable file is an error naming it.
pub fn open_sets(paths: &[PathBuf]) -> Result<Vec<ValSet>> {
    paths
        .iter()
        .map(|p| {
            // The reader's errors name the file.
            let bin = ValidationBin::open(p)?;
            Ok(ValSet {
                name: set_name(p),
                bin,
            })
        })
        .collect()
}

/// The L2-normalized embeddings of every image of `bin` in order (`on_done(images done)` after
/// each chunk, for progress bars). An image that cannot be decoded is an error naming the file
/// and the pair: a pair set with a hole has no defined accuracy.
pub fn embed_bin(
    model: &dyn Backbone,
    bin: &ValidationBin,
    options: EmbedOptions,
    device: &Device,
    mut on_done: impl FnMut(usize),
) -> Result<Vec<f32>> {
    let path = bin.path();
    let mut emb = Vec::new();
    let chunk = options.batch_size.max(1) * 8;
    for start in (0..bin.num_images()).step_by(chunk) {
        let end = (start + chunk).min(bin.num_images());
        let images = (start..end)
            .into_par_iter()
            .map(|i| {
                bin.image(i).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: image {i} (pair {}) cannot be decoded: {e}",
                        path.display(),
                        i / 2
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let part = embed_images(model, &images, options, device, |done| {
            on_done(start + done)
        })
        .context("running the model")?;
        emb.extend(part);
    }
    Ok(emb)
}

/// Squared L2 distances between the embeddings of each pair (rows `2i` and `2i + 1`), summed
/// in f64.
pub fn pair_distances(emb: &[f32], dim: usize) -> Vec<f64> {
    emb.par_chunks(2 * dim)
        .map(|pair| {
            let (a, b) = pair.split_at(dim);
            a.iter()
                .zip(b)
                .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
                .sum::<f64>()
        })
        .collect()
}

/// The 10-fold accuracy of `model` on `set`.
pub fn validate(
    model: &dyn Backbone,
    set: &ValSet,
    options: EmbedOptions,
    device: &Device,
) -> Result<ValResult> {
    let emb = embed_bin(model, &set.bin, options, device, |_| {})?;
    let dim = emb.len() / set.bin.num_images().max(1);
    let distances = pair_distances(&emb, dim);
    let result = ten_fold_accuracy(&distances, set.bin.issame(), &TenFoldConfig::default())
        .with_context(|| format!("10-fold accuracy on {}", set.name))?;
    Ok(ValResult {
        name: set.name.clone(),
        pairs: set.bin.num_pairs(),
        accuracy: result.accuracy_mean,
        accuracy_std: result.accuracy_std,
    })
}
