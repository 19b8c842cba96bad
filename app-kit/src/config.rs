//! The run config both apps read, one vocabulary for both: `[data]`, `[model]`, `[loss]`,
//! `[margin_schedule]`, `[optim]`, `[schedule]`, `[train]`, `[checkpoint]` and `[eval]`.
//!
//! train-kit owns `[train]`, `[optim]`, `[schedule]` and `[checkpoint]` ([`FitPlan`]),
//! alpha-loss owns `[loss]` and `[margin_schedule]`; `[data]` and `[eval]` have shared keys plus
//! each app's own ([`AppSection`]), and `[model]` names a backbone preset with overrides of its
//! fields. Loading goes through train-kit's config tree: `--set` overrides on the TOML tree,
//! renamed keys refused naming their new place, NaN/Inf refused, unknown tables and keys named
//! (with the nearest known one), serde errors with the key path.

use std::fmt::Debug;
use std::path::Path;

use alpha_loss::{LossConfig, MarginScheduleConfig};
use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use train_kit::overrides::{self, Renamed, RENAMED_PLAN_KEYS};
use train_kit::{CheckpointConfig, FitPlan, OptimizerConfig, ScheduleConfig, TrainPlan};

/// An app's own keys of `[data]` or `[eval]` (flattened into the shared table).
pub trait AppSection: Serialize + DeserializeOwned + Clone + Debug + PartialEq {
    /// Checks values serde cannot (ranges); errors name the key.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

impl AppSection for () {}

/// `[data]`: where training data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataConfig<D> {
    /// `synthetic`, a real set the app knows by name (`orl`, `debian`), or a path.
    pub source: String,
    /// Decode threads of the loader.
    #[serde(default = "default_workers")]
    pub num_workers: usize,
    /// The app's keys (e.g. `[data.synthetic]`).
    #[serde(flatten)]
    pub app: D,
}

fn default_workers() -> usize {
    2
}

/// `[model]`: a backbone preset and overrides of its fields (`embedding_dim = 128`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The preset, e.g. `r50` or `resnet34`.
    pub backbone: String,
    /// Fields of the preset's config to replace.
    #[serde(flatten)]
    pub overrides: serde_json::Map<String, serde_json::Value>,
}

/// `[eval]`: the held-out verification after training (and the app's own evaluation keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig<E> {
    /// Identities held out of training (0: none, no final verification); generated data hold
    /// out extra identities, files a draw with `train.seed`.
    #[serde(default = "default_heldout")]
    pub heldout_identities: usize,
    /// At most this many items of each held-out identity are scored (all pairs among them).
    #[serde(default = "default_heldout")]
    pub heldout_per_identity: usize,
    /// FARs of the TAR@FAR table and of the thresholds stored with the model.
    #[serde(default = "default_fars")]
    pub fars: Vec<f64>,
    /// The app's keys.
    #[serde(flatten)]
    pub app: E,
}

fn default_heldout() -> usize {
    10
}

fn default_fars() -> Vec<f64> {
    vec![1e-4, 1e-3, 1e-2, 1e-1]
}

impl<E: Default> Default for EvalConfig<E> {
    fn default() -> Self {
        Self {
            heldout_identities: default_heldout(),
            heldout_per_identity: default_heldout(),
            fars: default_fars(),
            app: E::default(),
        }
    }
}

/// A whole run: see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "D: Serialize, E: Serialize",
    deserialize = "D: DeserializeOwned, E: DeserializeOwned + Default"
))]
pub struct RunConfig<D, E> {
    /// `[data]`.
    pub data: DataConfig<D>,
    /// `[model]`.
    pub model: ModelConfig,
    /// `[loss]`: alpha-loss's [`LossConfig`].
    pub loss: LossConfig,
    /// `[margin_schedule]`: wespeaker's margin warm-up; absent means a fixed margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_schedule: Option<MarginScheduleConfig>,
    /// `[optim]`: the optimizer; its `lr` is the schedule's peak.
    pub optim: OptimizerConfig,
    /// `[schedule]`: warm-up and decay.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// `[train]`: batch, length, seed, logging.
    pub train: TrainPlan,
    /// `[checkpoint]`.
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// `[eval]`.
    #[serde(default)]
    pub eval: EvalConfig<E>,
}

/// The top-level tables of a run config.
pub const TABLES: [&str; 9] = [
    "data",
    "model",
    "loss",
    "margin_schedule",
    "optim",
    "schedule",
    "train",
    "checkpoint",
    "eval",
];

/// Keys both apps renamed when they got one vocabulary (train-kit's plan keys come on top).
pub const RENAMED_SHARED_KEYS: &[Renamed] = &[
    Renamed {
        old: "model.name",
        new: "model.backbone",
    },
    Renamed {
        old: "data.heldout_identities",
        new: "eval.heldout_identities",
    },
    Renamed {
        old: "data.heldout_images_per_identity",
        new: "eval.heldout_per_identity",
    },
    Renamed {
        old: "eval.held_out_speakers",
        new: "eval.heldout_identities",
    },
    Renamed {
        old: "eval.utterances_per_speaker",
        new: "eval.heldout_per_identity",
    },
    Renamed {
        old: "eval.threshold_fars",
        new: "eval.fars",
    },
    Renamed {
        old: "train.a3mi_images_per_class",
        new: "loss.reinit.per_class",
    },
];

/// Keys that may change between a run and its `--resume`: train-kit's (logging, progress,
/// checkpoint cadence, NaN policy), the loader's threads and the final evaluation.
pub fn may_change_on_resume(key: &str) -> bool {
    train_kit::plan::may_change_on_resume(key)
        || key == "data.num_workers"
        || key == "eval"
        || key.starts_with("eval.")
}

impl<D: AppSection, E: AppSection + Default> RunConfig<D, E> {
    /// Parses TOML `text` (`origin` names it in errors) after applying the `--set` items
    /// `sets`, and validates it. `renamed` are the app's own renamed keys.
    pub fn from_toml(
        text: &str,
        origin: &str,
        sets: &[String],
        renamed: &[Renamed],
    ) -> Result<Self> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: not valid TOML: {e}"))?;
        for item in sets {
            overrides::apply_set(&mut table, item)?;
        }
        Self::from_table(table, origin, renamed)
    }

    fn from_table(table: toml::Table, origin: &str, renamed: &[Renamed]) -> Result<Self> {
        overrides::check_renamed(&table, RENAMED_PLAN_KEYS, origin)?;
        overrides::check_renamed(&table, RENAMED_SHARED_KEYS, origin)?;
        overrides::check_renamed(&table, renamed, origin)?;
        overrides::check_finite(&table, origin)?;
        let known: toml::Table = TABLES
            .iter()
            .map(|t| (t.to_string(), toml::Value::Table(toml::Table::new())))
            .collect();
        let tops: toml::Table = table
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if v.is_table() {
                        toml::Value::Table(toml::Table::new())
                    } else {
                        v.clone()
                    },
                )
            })
            .collect();
        overrides::check_known_keys(&tops, &known, origin)?;
        for t in ["data", "model", "loss", "optim", "train"] {
            if !table.contains_key(t) {
                bail!("{origin}: [{t}]: missing table");
            }
        }
        let cfg: Self = serde_path_to_error::deserialize(toml::Value::Table(table.clone()))
            .map_err(|e| {
                // toml appends "in `table`" lines; the path already says where.
                let inner = e.inner().to_string();
                let first = inner.lines().next().unwrap_or_default().to_string();
                anyhow::anyhow!("{origin}: {}: {first}", e.path())
            })?;
        let parsed = toml::Table::try_from(&cfg).context("serializing the config")?;
        overrides::check_known_keys(&table, &parsed, origin)?;
        cfg.validate()
            .map_err(|e| anyhow::anyhow!("{origin}: {e:#}"))?;
        Ok(cfg)
    }

    /// The four tables train-kit runs by.
    pub fn fit_plan(&self) -> FitPlan {
        FitPlan {
            train: self.train.clone(),
            optim: self.optim.clone(),
            schedule: self.schedule.clone(),
            checkpoint: self.checkpoint.clone(),
        }
    }

    /// Checks every value a run depends on; the error names the key.
    pub fn validate(&self) -> Result<()> {
        self.fit_plan().validate(&["model", "head"])?;
        if self.train.batch_size < 2 {
            bail!(
                "train.batch_size = {}: must be at least 2 (BatchNorm needs batch statistics)",
                self.train.batch_size
            );
        }
        let d = &self.data;
        if d.source.trim().is_empty() {
            bail!("data.source is empty: name a data set or a path");
        }
        if d.num_workers == 0 {
            bail!("data.num_workers = 0: must be at least 1");
        }
        d.app.validate()?;
        let e = &self.eval;
        if e.heldout_identities == 1 {
            bail!(
                "eval.heldout_identities = 1: verification needs 0 (off) or at least 2 identities"
            );
        }
        if e.heldout_identities > 0 && e.heldout_per_identity < 2 {
            bail!(
                "eval.heldout_per_identity = {}: must be at least 2 (genuine pairs need two items)",
                e.heldout_per_identity
            );
        }
        if let Some(far) = e.fars.iter().find(|f| !(**f > 0.0 && **f < 1.0)) {
            bail!("eval.fars contains {far}: every FAR must be in (0, 1)");
        }
        e.app.validate()?;
        self.loss
            .margin()
            .map_err(|e| anyhow::anyhow!("[loss]: {e}"))?;
        if let Some(ms) = &self.margin_schedule {
            ms.validate()
                .map_err(|e| anyhow::anyhow!("[margin_schedule]: {e}"))?;
        }
        Ok(())
    }

    /// The config as TOML (what a run folder's `config.toml` holds, and `--config` reads back).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).context("serializing the config")
    }

    /// Fails when `self` differs from the config of the run being resumed (`saved`, as its
    /// `config.toml` holds it) in a key that changes what is computed, naming the key.
    pub fn check_resumable(&self, saved: &Self, run_config: &Path) -> Result<()> {
        let a = toml::Table::try_from(saved)?;
        let b = toml::Table::try_from(self)?;
        if let Some((key, was, now)) = overrides::first_difference(&a, &b, &may_change_on_resume) {
            bail!(
                "--resume: {key} is {was} in {} and {now} now; a resumed run keeps the settings it started with (start a new --out to change it)",
                run_config.display()
            );
        }
        Ok(())
    }
}
