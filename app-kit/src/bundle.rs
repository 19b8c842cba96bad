//! A trained model on disk, the same for both apps: a folder with `model.safetensors` (the
//! backbone's variables under the upstream names) and `config.json` ([`BundleMeta`]: the
//! format and version, the backbone config, and what training recorded, above all the score
//! thresholds `verify` decides with).
//!
//! Writing is atomic (the folder is built under a temporary name and swapped in), a tensor with
//! NaN or Inf is never written and never loaded, and one version policy holds: a bundle of this
//! version or older is read, a newer one is refused naming both versions.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_nn::VarMap;
use eval_kit::FarThreshold;
use serde::{Deserialize, Serialize};

/// File name of the description in a bundle.
pub const CONFIG_FILE: &str = "config.json";
/// File name of the weights in a bundle.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The `version` this release writes; it reads this one and every older one.
pub const BUNDLE_VERSION: u32 = 1;

/// The `format` of an app's bundles: `alpha-verify.<app>-model`.
pub fn bundle_format(app: &str) -> String {
    format!("alpha-verify.{app}-model")
}

/// `config.json` of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleMeta {
    /// `alpha-verify.face-model` or `alpha-verify.speaker-model`.
    pub format: String,
    /// [`BUNDLE_VERSION`] when written.
    pub version: u32,
    /// The backbone config (`{"arch": ..., ...}`), as the app's registry reads it.
    pub model: serde_json::Value,
    /// Size of the embeddings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_dim: Option<usize>,
    /// The loss it was trained with, e.g. `qmargin s=16 rho=0.05 alpha=1.5 base=uniform`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    /// Cosine thresholds at the held-out FARs (accept when `score >= threshold`).
    #[serde(default)]
    pub thresholds: Vec<FarThreshold>,
    /// Optimizer steps of its training run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_steps: Option<u64>,
    /// What it was trained on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Any other recorded field.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl BundleMeta {
    /// A description of an `app` bundle holding the backbone `model`.
    pub fn new(app: &str, model: serde_json::Value) -> Self {
        Self {
            format: bundle_format(app),
            version: BUNDLE_VERSION,
            model,
            embedding_dim: None,
            loss: None,
            thresholds: Vec::new(),
            trained_steps: None,
            data: None,
            extra: serde_json::Map::new(),
        }
    }

    /// The stored threshold for `far` (FARs match to a relative 1e-9); the error lists the
    /// FARs there are. `origin` names the model in messages.
    pub fn threshold_for(&self, far: f64, origin: &str) -> Result<f64> {
        if self.thresholds.is_empty() {
            bail!(
                "the model ({origin}) has no `thresholds` in its {CONFIG_FILE}; give --threshold T \
                 (same identity when cosine >= T)"
            );
        }
        for t in &self.thresholds {
            if (t.far - far).abs() <= 1e-9 * far.abs().max(t.far.abs()) {
                return Ok(t.threshold);
            }
        }
        let have: Vec<String> = self
            .thresholds
            .iter()
            .map(|t| format!("{:e}", t.far))
            .collect();
        bail!(
            "the model ({origin}) stores no threshold for FAR {far:e} (it has: {}); choose one \
             with --far or give --threshold",
            have.join(", ")
        )
    }
}

/// Refuses any non-finite tensor of `varmap`, naming it and `what` is being done.
fn check_finite(varmap: &VarMap, what: &str) -> Result<()> {
    if let Some(name) = train_kit::first_non_finite(varmap)? {
        bail!("{what}: tensor {name} contains NaN or Inf (the training run diverged; lower the learning rate)");
    }
    Ok(())
}

/// Writes `varmap` and `meta` as the bundle `dir`, replacing any bundle there. The folder is
/// built under a temporary name beside `dir` and renamed into place, so a reader sees the old
/// bundle or the new one, never a mix; a non-finite tensor is refused before anything is written.
pub fn save_bundle(dir: &Path, meta: &BundleMeta, varmap: &VarMap) -> Result<()> {
    check_finite(
        varmap,
        &format!("refusing to write the model {}", dir.display()),
    )?;
    let parent = train_kit::atomic_file::parent_dir(dir).to_path_buf();
    fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    }
    fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let weights = tmp.join(WEIGHTS_FILE);
    varmap
        .save(&weights)
        .with_context(|| format!("writing {}", weights.display()))?;
    write_json(&tmp.join(CONFIG_FILE), meta)?;
    train_kit::atomic_file::fsync_path(&tmp)?;
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    if dir.exists() {
        fs::rename(dir, &old).with_context(|| format!("replacing {}", dir.display()))?;
    }
    fs::rename(&tmp, dir).with_context(|| format!("writing {}", dir.display()))?;
    if old.exists() {
        fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    }
    train_kit::atomic_file::fsync_path(&parent)?;
    Ok(())
}

fn write_json(path: &Path, meta: &BundleMeta) -> Result<()> {
    let mut text = serde_json::to_string_pretty(meta)?;
    text.push('\n');
    // train-kit's errors name the file.
    Ok(train_kit::atomic_file::write_atomic(path, text.as_bytes())?)
}

/// Replaces the `config.json` of the bundle `dir` by `meta`, atomically (e.g. to add the
/// thresholds once the held-out evaluation has them).
pub fn write_meta(dir: &Path, meta: &BundleMeta) -> Result<()> {
    write_json(&dir.join(CONFIG_FILE), meta)
}

/// Reads `config.json` of the bundle `dir`, checking it is an `app` bundle of a version this
/// release reads.
pub fn read_meta(dir: &Path, app: &str) -> Result<BundleMeta> {
    let path = dir.join(CONFIG_FILE);
    let text = fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (a model folder holds {CONFIG_FILE} and {WEIGHTS_FILE})",
            path.display()
        )
    })?;
    let meta: BundleMeta = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a model config: {e}", path.display()))?;
    let want = bundle_format(app);
    if meta.format != want {
        bail!(
            "{}: format is {:?}, expected {want:?}",
            path.display(),
            meta.format
        );
    }
    if meta.version == 0 || meta.version > BUNDLE_VERSION {
        bail!(
            "{}: version {} is not one this release reads (1 to {BUNDLE_VERSION}); a newer release wrote it",
            path.display(),
            meta.version
        );
    }
    Ok(meta)
}

/// Fills every variable of `varmap` from `model.safetensors` of the bundle `dir`, strictly (a
/// missing, extra or mis-shaped tensor is an error naming it), and refuses non-finite weights.
pub fn load_weights(dir: &Path, varmap: &VarMap) -> Result<()> {
    let weights: PathBuf = dir.join(WEIGHTS_FILE);
    if !weights.is_file() {
        bail!("{}: no such file", weights.display());
    }
    train_kit::checkpoint::load_var_set(&weights, varmap)?;
    check_finite(varmap, &weights.display().to_string())
}
