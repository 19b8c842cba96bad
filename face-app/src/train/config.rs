//! The `face-app train` config file (TOML), `--set key=value` overrides, and checks that turn bad
//! values into errors naming the key.
//!
//! Tables: `[data]` (what to train on), `[model]` (backbone), `[loss]` (alpha-loss's
//! [`LossConfig`]), `[optimizer]` (train-kit's [`OptimizerConfig`]; its `lr` is the peak of the
//! schedule), `[train]` (batch, length, schedule, checkpoints) and `[eval]` (validation `.bin`
//! sets and the held-out report). Unknown keys are errors.

use std::path::{Path, PathBuf};

use alpha_loss::{LossConfig, LossKind};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use train_kit::{NonFinitePolicy, OptimizerConfig};

/// The demo config `face-app train` uses without `--config` (`configs/demo_synthetic.toml`).
pub const DEMO_CONFIG: &str = include_str!("../../configs/demo_synthetic.toml");

/// A whole training run, as read from TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// What to train on and what to hold out.
    pub data: DataConfig,
    /// The backbone.
    pub model: ModelConfig,
    /// The margin and loss (`kind = "qmargin"`, `s`, `m`, `alpha`, ...).
    pub loss: LossConfig,
    /// The optimizer (`kind = "sgd"` or `"adam_w"`); `lr` is the schedule's peak.
    pub optimizer: OptimizerConfig,
    /// Batch, run length, schedule, checkpoints.
    pub train: RunSettings,
    /// Validation during training and the final held-out report.
    #[serde(default)]
    pub eval: EvalConfig,
}

/// `[data]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `synthetic`, `orl`, or a path: a RecordIO prefix / folder holding `train.rec`, an image
    /// folder (`<identity>/<image>`) or an image list.
    pub source: String,
    /// Identities held out of training for the final verification report (synthetic and path
    /// sources: the last ones; ORL always trains on s1-s30 and holds out s31-s40).
    #[serde(default)]
    pub heldout_identities: usize,
    /// At most this many images of each held-out identity are scored (all pairs among them).
    #[serde(default = "default_heldout_images")]
    pub heldout_images_per_identity: usize,
    /// Synthetic faces: identities (training + held out) and images of each.
    #[serde(default)]
    pub synthetic: SyntheticSettings,
    /// Decode threads of the loader.
    #[serde(default = "default_workers")]
    pub num_workers: usize,
}

/// `[data.synthetic]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticSettings {
    /// All identities, the held-out ones included.
    pub identities: usize,
    /// Images per identity.
    pub images_per_identity: usize,
    /// Seed of the faces (independent of the training seed).
    #[serde(default)]
    pub seed: u64,
}

impl Default for SyntheticSettings {
    fn default() -> Self {
        Self {
            identities: 100,
            images_per_identity: 20,
            seed: 0,
        }
    }
}

/// `[model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// `r18`, `r34`, `r50`, `r100`, `small`, `mbf`, `mbf-large`.
    pub backbone: String,
    /// IResNet only: override the embedding size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_dim: Option<usize>,
    /// IResNet only: override the stem / `layer1` width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_width: Option<usize>,
    /// IResNet only: override the blocks per stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<[usize; 4]>,
}

/// `[train]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    /// Images per step (the global batch of the recipe, e.g. 128 x 8 GPUs = 1024).
    pub batch_size: usize,
    /// Run length in steps; exactly one of `steps` and `epochs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    /// Run length in epochs (may be fractional); exactly one of `steps` and `epochs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<f64>,
    /// Linear warmup from 0, in epochs (arcface_torch `warmup_epoch`).
    #[serde(default)]
    pub warmup_epochs: f64,
    /// Exponent of the polynomial decay to `end_lr` after the warmup (arcface_torch: 1, linear).
    #[serde(default = "one")]
    pub lr_power: f64,
    /// Learning rate at the end of the run.
    #[serde(default)]
    pub end_lr: f64,
    /// Learning-rate multiplier of the margin head's prototypes.
    #[serde(default = "one")]
    pub head_lr_scale: f64,
    /// Seed of initialization, shuffling and augmentation.
    #[serde(default)]
    pub seed: u64,
    /// A `metrics.jsonl` line every this many steps.
    #[serde(default = "default_log_every")]
    pub log_every_steps: u64,
    /// A checkpoint every this many steps (0: only at the end).
    #[serde(default = "default_ckpt_every")]
    pub checkpoint_every_steps: u64,
    /// Checkpoints kept.
    #[serde(default = "default_keep")]
    pub keep_checkpoints: usize,
    /// NaN/Inf loss or gradient: `{ action = "skip", max_consecutive = N }` or `{ action = "stop" }`.
    #[serde(default)]
    pub non_finite: NonFinitePolicy,
    /// Draw a progress bar (when stderr is a terminal).
    #[serde(default = "yes")]
    pub progress_bar: bool,
    /// A3M-I: images per class embedded for the class means.
    #[serde(default = "default_a3mi_images")]
    pub a3mi_images_per_class: usize,
}

/// `[eval]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    /// insightface validation sets (`lfw.bin`, `cfp_fp.bin`, `agedb_30.bin`, ...): 10-fold
    /// accuracy with flip TTA.
    #[serde(default)]
    pub val_bins: Vec<PathBuf>,
    /// Validate every this many steps (0: only at the end).
    #[serde(default)]
    pub val_every_steps: u64,
    /// Add the mirrored image's embedding (insightface's evaluation).
    #[serde(default = "yes")]
    pub flip_tta: bool,
    /// Images per forward pass when embedding.
    #[serde(default = "default_eval_batch")]
    pub batch_size: usize,
    /// FARs of the held-out TAR@FAR table and of the thresholds saved with the model.
    #[serde(default = "default_fars")]
    pub fars: Vec<f64>,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            val_bins: Vec::new(),
            val_every_steps: 0,
            flip_tta: true,
            batch_size: default_eval_batch(),
            fars: default_fars(),
        }
    }
}

fn default_heldout_images() -> usize {
    10
}
fn default_workers() -> usize {
    2
}
fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn default_log_every() -> u64 {
    10
}
fn default_ckpt_every() -> u64 {
    1000
}
fn default_keep() -> usize {
    3
}
fn default_a3mi_images() -> usize {
    8
}
fn default_eval_batch() -> usize {
    64
}
fn default_fars() -> Vec<f64> {
    vec![1e-4, 1e-3, 1e-2, 1e-1]
}

impl TrainConfig {
    /// Parses TOML text (`origin` names it in errors) after applying `overrides`
    /// (`key.path=value`, the value parsed as TOML, else taken as a string), then validates.
    pub fn from_toml(text: &str, origin: &str, overrides: &[String]) -> Result<Self> {
        let mut table: toml::Table =
            toml::from_str(text).with_context(|| format!("{origin}: not valid TOML"))?;
        for item in overrides {
            apply_override(&mut table, item)?;
        }
        let cfg: Self = toml::Value::Table(table)
            .try_into()
            .with_context(|| format!("{origin}: invalid training config"))?;
        cfg.validate()
            .with_context(|| format!("{origin}: invalid training config"))?;
        Ok(cfg)
    }

    /// Reads `path` (or the demo config when `None`) with `overrides`.
    pub fn load(path: Option<&Path>, overrides: &[String]) -> Result<Self> {
        match path {
            None => Self::from_toml(DEMO_CONFIG, "configs/demo_synthetic.toml", overrides),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config {}", p.display()))?;
                Self::from_toml(&text, &p.display().to_string(), overrides)
            }
        }
    }

    /// Checks every value a run depends on; the error names the key.
    pub fn validate(&self) -> Result<()> {
        let t = &self.train;
        if t.batch_size < 2 {
            bail!(
                "train.batch_size = {}: must be at least 2 (BatchNorm needs batch statistics)",
                t.batch_size
            );
        }
        match (t.steps, t.epochs) {
            (Some(_), Some(_)) => bail!("train.steps and train.epochs are both set: set only one"),
            (None, None) => bail!("set train.steps or train.epochs"),
            (Some(0), _) => bail!("train.steps = 0: must be at least 1"),
            (_, Some(e)) if !(e.is_finite() && e > 0.0) => {
                bail!("train.epochs = {e}: must be a positive number")
            }
            _ => {}
        }
        if !(t.warmup_epochs.is_finite() && t.warmup_epochs >= 0.0) {
            bail!("train.warmup_epochs = {}: must be >= 0", t.warmup_epochs);
        }
        if !(t.lr_power.is_finite() && t.lr_power > 0.0) {
            bail!("train.lr_power = {}: must be > 0", t.lr_power);
        }
        if !(t.end_lr.is_finite() && t.end_lr >= 0.0) {
            bail!("train.end_lr = {}: must be >= 0", t.end_lr);
        }
        if !(t.head_lr_scale.is_finite() && t.head_lr_scale > 0.0) {
            bail!("train.head_lr_scale = {}: must be > 0", t.head_lr_scale);
        }
        if t.log_every_steps == 0 {
            bail!("train.log_every_steps = 0: must be at least 1");
        }
        if t.keep_checkpoints == 0 {
            bail!("train.keep_checkpoints = 0: must be at least 1");
        }
        if t.a3mi_images_per_class == 0 {
            bail!("train.a3mi_images_per_class = 0: must be at least 1");
        }
        let lr = self.peak_lr();
        if !(lr.is_finite() && lr > 0.0) {
            bail!("optimizer.lr = {lr}: must be a positive number");
        }
        let d = &self.data;
        if d.source.trim().is_empty() {
            bail!("data.source is empty: use synthetic, orl or a data path");
        }
        if d.num_workers == 0 {
            bail!("data.num_workers = 0: must be at least 1");
        }
        if d.heldout_images_per_identity < 2 {
            bail!(
                "data.heldout_images_per_identity = {}: must be at least 2 (genuine pairs)",
                d.heldout_images_per_identity
            );
        }
        if d.source == "synthetic" {
            let s = &d.synthetic;
            if s.identities < 2 || s.images_per_identity < 2 {
                bail!(
                    "data.synthetic: identities ({}) and images_per_identity ({}) must be at least 2",
                    s.identities,
                    s.images_per_identity
                );
            }
            if d.heldout_identities + 2 > s.identities {
                bail!(
                    "data.heldout_identities = {}: leaves fewer than 2 of the {} synthetic identities to train on",
                    d.heldout_identities,
                    s.identities
                );
            }
        }
        if self.eval.batch_size == 0 {
            bail!("eval.batch_size = 0: must be at least 1");
        }
        if let Some(far) = self
            .eval
            .fars
            .iter()
            .find(|f| !(f.is_finite() && **f > 0.0 && **f < 1.0))
        {
            bail!("eval.fars contains {far}: every FAR must be in (0, 1)");
        }
        crate::bundle::FaceModelConfig::by_name(&self.model.backbone).context("model.backbone")?;
        self.loss
            .margin()
            .map_err(|e| anyhow::anyhow!("[loss]: {e}"))?;
        Ok(())
    }

    /// The optimizer's `lr`: the peak learning rate of the schedule.
    pub fn peak_lr(&self) -> f64 {
        match &self.optimizer {
            OptimizerConfig::Sgd(c) => c.lr,
            OptimizerConfig::AdamW(c) => c.lr,
        }
    }

    /// The loss kind (a shortcut for reports).
    pub fn loss_kind(&self) -> LossKind {
        self.loss.kind
    }
}

/// Sets `key.path = value` in `table`; `value` is parsed as a TOML value (`0.1`, `true`,
/// `[1, 2]`, `"text"`), else taken as a bare string. Intermediate tables are created.
/// `!key.path` removes the key (e.g. `!train.epochs` before setting `train.steps`).
pub fn apply_override(table: &mut toml::Table, item: &str) -> Result<()> {
    if let Some(key) = item.strip_prefix('!') {
        let parts: Vec<&str> = key.trim().split('.').collect();
        let (last, parents) = parts.split_last().expect("split yields one part");
        let mut current = Some(&mut *table);
        for part in parents {
            current = current
                .and_then(|t| t.get_mut(*part))
                .and_then(|v| v.as_table_mut());
        }
        if let Some(t) = current {
            t.remove(*last);
        }
        return Ok(());
    }
    let Some((key, raw)) = item.split_once('=') else {
        bail!("--set {item:?}: expected key=value, e.g. train.steps=100");
    };
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    if key.is_empty() || parts.iter().any(|p| p.is_empty()) {
        bail!("--set {item:?}: the key must be a dotted path like loss.alpha");
    }
    let raw = raw.trim();
    let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.into()),
    };
    let (last, parents) = parts.split_last().expect("at least one part");
    let mut current = table;
    for (i, part) in parents.iter().enumerate() {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(t) => t,
            _ => bail!("--set {item:?}: {} is not a table", parts[..=i].join(".")),
        };
    }
    current.insert(last.to_string(), value);
    Ok(())
}
