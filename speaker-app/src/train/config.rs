//! The training config file (TOML) and its command-line overrides.
//!
//! A run is described by one [`TrainConfig`]: `[data]`, `[eval]`, `[model]`, `[loss]`
//! (alpha-loss's `LossConfig`), `[margin_schedule]`, `[optim]` and `[train]`. Every table
//! rejects unknown keys, so a typo is an error, not a silently ignored setting. Overrides
//! (`--set loss.alpha=2`, `--lr 0.1`, ...) are applied to the TOML tree before it is parsed, so
//! they go through exactly the same checks as the file.

use std::path::{Path, PathBuf};

use alpha_loss::LossConfig;
use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

use crate::train::margin_schedule::MarginScheduleConfig;

/// The demo config compiled into the binary (`speaker-app/configs/demo_synthetic.toml`): a small
/// ResNet on synthetic voices with Q-Margin, evaluated on held-out synthetic voices.
pub const DEMO_CONFIG: &str = include_str!("../../configs/demo_synthetic.toml");

/// A whole training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Where the audio comes from and how chunks are cut and augmented.
    pub data: DataConfig,
    /// Held-out evaluation after training.
    #[serde(default)]
    pub eval: EvalConfig,
    /// The backbone.
    pub model: ModelConfig,
    /// The loss (alpha-loss's `[loss]` table: `kind`, `s`, `m`, `alpha`, ...).
    pub loss: LossConfig,
    /// wespeaker's margin warm-up; absent means the loss's margin is fixed.
    #[serde(default)]
    pub margin_schedule: Option<MarginScheduleConfig>,
    /// SGD and the learning-rate schedule.
    pub optim: OptimConfig,
    /// Steps, batch size, seed, logging and checkpoints.
    pub train: RunConfig,
}

/// The `[data]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `synthetic`, `debian`, or a path: a VoxCeleb folder, a wespeaker raw list (`.list` /
    /// `.jsonl`, JSON lines) or a Kaldi data dir (`wav.scp` + `utt2spk`).
    pub source: String,
    /// Training chunk length in seconds (wespeaker: 200 frames = 2.015 s).
    #[serde(default = "default_chunk_seconds")]
    pub chunk_seconds: f64,
    /// Utterances shorter than this are dropped (wespeaker: 1 s).
    #[serde(default = "default_min_seconds")]
    pub min_seconds: f64,
    /// Speed perturbation 0.9 / 1.1 as extra classes (speaker + N, speaker + 2N).
    #[serde(default = "yes")]
    pub speed_perturb: bool,
    /// MUSAN-style folder (`music/`, `noise/`, `speech/` below it) for additive noise.
    #[serde(default)]
    pub musan: Option<PathBuf>,
    /// Folder of room impulse responses for reverberation.
    #[serde(default)]
    pub rir: Option<PathBuf>,
    /// Probability that a chunk is augmented (noise or reverb, one of them) when a folder is set.
    #[serde(default = "default_aug_prob")]
    pub aug_prob: f64,
    /// Decode threads of the loader.
    #[serde(default = "default_workers")]
    pub num_workers: usize,
    /// Synthetic voices (`source = "synthetic"`).
    #[serde(default)]
    pub synthetic: SyntheticData,
}

/// The `[data.synthetic]` table: size of the synthetic corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticData {
    /// Seed of the voices (identities and utterances).
    pub seed: u64,
    /// Training speakers.
    pub train_speakers: usize,
    /// Utterances per training speaker.
    pub utterances_per_speaker: usize,
    /// Shortest utterance in seconds.
    pub min_seconds: f32,
    /// Longest utterance in seconds.
    pub max_seconds: f32,
}

impl Default for SyntheticData {
    fn default() -> Self {
        Self {
            seed: 0,
            train_speakers: 40,
            utterances_per_speaker: 10,
            min_seconds: 2.0,
            max_seconds: 4.0,
        }
    }
}

/// The `[eval]` table: verification on speakers that training never saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    /// Speakers held out from training (drawn with the run's seed; for synthetic data, extra
    /// voices). 0 skips evaluation.
    pub held_out_speakers: usize,
    /// At most this many utterances per held-out speaker are embedded (all pairs are scored).
    pub utterances_per_speaker: usize,
    /// Utterances longer than this are cut to their first `max_seconds` before embedding.
    pub max_seconds: f64,
    /// Score thresholds at these false-accept rates go into the model bundle's `config.json`.
    pub threshold_fars: Vec<f64>,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            held_out_speakers: 10,
            utterances_per_speaker: 10,
            max_seconds: 10.0,
            threshold_fars: vec![1e-3, 1e-2, 1e-1],
        }
    }
}

/// The `[model]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// `resnet34`, `resnet18`, `ecapa-c512`, `ecapa-c1024` or `small`.
    pub name: String,
}

/// The `[optim]` table: SGD with Nesterov momentum, linear warm-up, exponential decay
/// (wespeaker's `ExponentialDecrease` with `warm_from_zero`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimConfig {
    /// Peak learning rate, reached at the end of the warm-up.
    pub lr: f64,
    /// Learning rate at the last step.
    pub final_lr: f64,
    /// Warm-up length in epochs (linear from 0).
    pub warmup_epochs: f64,
    /// Momentum μ.
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// Nesterov momentum.
    #[serde(default = "yes")]
    pub nesterov: bool,
    /// L2 weight decay on every parameter (wespeaker: 1e-4, BN and projection included).
    #[serde(default = "default_weight_decay")]
    pub weight_decay: f64,
}

/// The `[train]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Length of the run in optimizer steps; or set `epochs`.
    #[serde(default)]
    pub steps: Option<u64>,
    /// Length of the run in epochs; used when `steps` is unset. An epoch is wespeaker's:
    /// training utterances / batch size steps (with speed perturbation the loader's own pass
    /// over all three speeds is three of these).
    #[serde(default)]
    pub epochs: Option<f64>,
    /// Chunks per batch.
    pub batch_size: usize,
    /// Seed of initialization, batch order, chunks, augmentation and dither.
    #[serde(default)]
    pub seed: u64,
    /// A `metrics.jsonl` line every this many steps.
    #[serde(default = "default_log_every")]
    pub log_every_steps: u64,
    /// A checkpoint every this many steps (0: only at the end).
    #[serde(default)]
    pub checkpoint_every_steps: u64,
    /// Checkpoints kept.
    #[serde(default = "default_keep_last")]
    pub keep_last: usize,
    /// Progress bar on a terminal.
    #[serde(default = "yes")]
    pub progress_bar: bool,
}

fn yes() -> bool {
    true
}
fn default_chunk_seconds() -> f64 {
    2.0
}
fn default_min_seconds() -> f64 {
    1.0
}
fn default_aug_prob() -> f64 {
    0.6
}
fn default_workers() -> usize {
    2
}
fn default_momentum() -> f64 {
    0.9
}
fn default_weight_decay() -> f64 {
    1e-4
}
fn default_log_every() -> u64 {
    10
}
fn default_keep_last() -> usize {
    2
}

/// Command-line settings that override the config file (each `None` leaves the file's value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--data`.
    pub data: Option<String>,
    /// `--loss`.
    pub loss: Option<String>,
    /// `--alpha`.
    pub alpha: Option<f64>,
    /// `--steps`.
    pub steps: Option<u64>,
    /// `--batch-size`.
    pub batch_size: Option<usize>,
    /// `--lr`.
    pub lr: Option<f64>,
    /// `--model`.
    pub model: Option<String>,
    /// `--musan`.
    pub musan: Option<PathBuf>,
    /// `--rir`.
    pub rir: Option<PathBuf>,
    /// `--set key=value`, applied after the named flags.
    pub set: Vec<String>,
}

impl TrainConfig {
    /// Reads `path` (or the embedded demo config when `None`), applies `overrides`, parses and
    /// validates. Errors name the file, the key or the bad value.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let (text, origin) = match path {
            Some(p) => (
                std::fs::read_to_string(p)
                    .with_context(|| format!("reading config {}", p.display()))?,
                p.display().to_string(),
            ),
            None => (DEMO_CONFIG.to_string(), "the built-in demo config".into()),
        };
        Self::from_toml(&text, overrides).with_context(|| format!("in {origin}"))
    }

    /// Parses TOML text with `overrides` applied, then validates.
    pub fn from_toml(text: &str, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut tree: toml::Table = toml::from_str(text).context("not valid TOML")?;
        apply_overrides(&mut tree, overrides)?;
        let cfg: TrainConfig = toml::Value::Table(tree).try_into().context("bad config")?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the values serde cannot: ranges, exactly one of steps / epochs, the loss.
    pub fn validate(&self) -> anyhow::Result<()> {
        let d = &self.data;
        if !(d.chunk_seconds > 0.1 && d.chunk_seconds.is_finite()) {
            bail!("data.chunk_seconds = {} must be > 0.1", d.chunk_seconds);
        }
        if !(d.min_seconds > 0.0 && d.min_seconds.is_finite()) {
            bail!("data.min_seconds = {} must be > 0", d.min_seconds);
        }
        if !(0.0..=1.0).contains(&d.aug_prob) {
            bail!("data.aug_prob = {} must be in [0, 1]", d.aug_prob);
        }
        if d.num_workers == 0 {
            bail!("data.num_workers must be at least 1");
        }
        let s = &d.synthetic;
        if s.train_speakers < 2 || s.utterances_per_speaker == 0 {
            bail!("data.synthetic needs train_speakers >= 2 and utterances_per_speaker >= 1");
        }
        let e = &self.eval;
        if e.held_out_speakers == 1 {
            bail!("eval.held_out_speakers = 1: verification needs 0 (off) or at least 2 speakers");
        }
        if e.held_out_speakers > 0 && e.utterances_per_speaker < 2 {
            bail!("eval.utterances_per_speaker must be >= 2 (target trials need two utterances)");
        }
        if !(e.max_seconds > 0.0 && e.max_seconds.is_finite()) {
            bail!("eval.max_seconds = {} must be > 0", e.max_seconds);
        }
        if let Some(f) = e.threshold_fars.iter().find(|f| !(**f > 0.0 && **f < 1.0)) {
            bail!("eval.threshold_fars: {f} is not in (0, 1)");
        }
        crate::models::SpeakerModelConfig::by_name(&self.model.name).context("model.name")?;
        self.loss
            .margin()
            .map_err(|e| anyhow::anyhow!("[loss]: {e}"))?;
        if let Some(ms) = &self.margin_schedule {
            ms.validate()?;
        }
        let o = &self.optim;
        if !(o.lr > 0.0 && o.lr.is_finite()) {
            bail!("optim.lr = {} must be > 0", o.lr);
        }
        if !(o.final_lr > 0.0 && o.final_lr <= o.lr) {
            bail!(
                "optim.final_lr = {} must be in (0, lr = {}]",
                o.final_lr,
                o.lr
            );
        }
        if !(o.warmup_epochs >= 0.0 && o.warmup_epochs.is_finite()) {
            bail!("optim.warmup_epochs = {} must be >= 0", o.warmup_epochs);
        }
        if !(0.0..1.0).contains(&o.momentum) {
            bail!("optim.momentum = {} must be in [0, 1)", o.momentum);
        }
        if o.nesterov && o.momentum == 0.0 {
            bail!("optim.nesterov needs momentum > 0");
        }
        if !(o.weight_decay >= 0.0 && o.weight_decay.is_finite()) {
            bail!("optim.weight_decay = {} must be >= 0", o.weight_decay);
        }
        let t = &self.train;
        match (t.steps, t.epochs) {
            (Some(0), _) => bail!("train.steps must be > 0"),
            (Some(_), _) => {}
            (None, Some(e)) if e > 0.0 && e.is_finite() => {}
            (None, Some(e)) => bail!("train.epochs = {e} must be > 0"),
            (None, None) => bail!("[train] needs steps or epochs"),
        }
        if t.batch_size < 2 {
            bail!(
                "train.batch_size = {} must be >= 2 (batch norm)",
                t.batch_size
            );
        }
        if t.log_every_steps == 0 {
            bail!("train.log_every_steps must be > 0");
        }
        if t.keep_last == 0 {
            bail!("train.keep_last must be >= 1");
        }
        Ok(())
    }

    /// The resolved config as TOML text (what `config.toml` in the run directory holds).
    pub fn to_toml(&self) -> anyhow::Result<String> {
        toml::to_string_pretty(self).context("serializing the config")
    }
}

/// Applies the named flags, then each `--set key=value`, to the TOML tree.
fn apply_overrides(tree: &mut toml::Table, o: &Overrides) -> anyhow::Result<()> {
    use toml::Value;
    let mut sets: Vec<(String, Value)> = Vec::new();
    if let Some(v) = &o.data {
        sets.push(("data.source".into(), Value::String(v.clone())));
    }
    if let Some(v) = &o.loss {
        let kind: alpha_loss::LossKind = v.parse().map_err(|e| anyhow::anyhow!("--loss: {e}"))?;
        sets.push(("loss.kind".into(), Value::String(kind.name().into())));
    }
    if let Some(v) = o.alpha {
        sets.push(("loss.alpha".into(), Value::Float(v)));
    }
    if let Some(v) = o.steps {
        sets.push(("train.steps".into(), Value::Integer(v as i64)));
    }
    if let Some(v) = o.batch_size {
        sets.push(("train.batch_size".into(), Value::Integer(v as i64)));
    }
    if let Some(v) = o.lr {
        sets.push(("optim.lr".into(), Value::Float(v)));
    }
    if let Some(v) = &o.model {
        sets.push(("model.name".into(), Value::String(v.clone())));
    }
    if let Some(v) = &o.musan {
        sets.push(("data.musan".into(), Value::String(v.display().to_string())));
    }
    if let Some(v) = &o.rir {
        sets.push(("data.rir".into(), Value::String(v.display().to_string())));
    }
    for item in &o.set {
        let (key, value) = item
            .split_once('=')
            .with_context(|| format!("--set {item:?}: expected key=value, e.g. loss.alpha=2.0"))?;
        sets.push((key.trim().to_string(), parse_value(value.trim())));
    }
    for (key, value) in sets {
        set_path(tree, &key, value)?;
    }
    Ok(())
}

/// A `--set` value: any TOML value (`2`, `0.5`, `true`, `[1, 2]`, `"x"`), else a bare string.
fn parse_value(text: &str) -> toml::Value {
    let wrapped = format!("v = {text}");
    match toml::from_str::<toml::Table>(&wrapped) {
        Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(text.into())),
        Err(_) => toml::Value::String(text.into()),
    }
}

/// Sets the dotted `key` in `tree`, creating tables on the way.
fn set_path(tree: &mut toml::Table, key: &str, value: toml::Value) -> anyhow::Result<()> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        bail!("override key {key:?} has an empty part");
    }
    let mut table = tree;
    for part in &parts[..parts.len() - 1] {
        let entry = table
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = match entry {
            toml::Value::Table(t) => t,
            other => bail!(
                "override {key:?}: {part:?} is a {}, not a table",
                other.type_str()
            ),
        };
    }
    table.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_config_parses_and_overrides_apply() {
        let o = Overrides {
            loss: Some("ArcFace".into()),
            steps: Some(7),
            set: vec!["loss.m=0.3".into(), "optim.warmup_epochs=0.5".into()],
            ..Overrides::default()
        };
        let cfg = TrainConfig::from_toml(DEMO_CONFIG, &o).unwrap();
        assert_eq!(cfg.loss.kind, alpha_loss::LossKind::ArcFace);
        assert_eq!(cfg.loss.m, Some(0.3));
        assert_eq!(cfg.train.steps, Some(7));
        assert_eq!(cfg.optim.warmup_epochs, 0.5);
        let again = TrainConfig::from_toml(&cfg.to_toml().unwrap(), &Overrides::default()).unwrap();
        assert_eq!(again, cfg);
    }

    #[test]
    fn set_values_are_typed() {
        assert_eq!(parse_value("2"), toml::Value::Integer(2));
        assert_eq!(parse_value("true"), toml::Value::Boolean(true));
        assert_eq!(
            parse_value("qmargin"),
            toml::Value::String("qmargin".into())
        );
    }
}
