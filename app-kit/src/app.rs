//! What an app supplies to train a verification model: [`TrainApp`].
//!
//! The generic part (backbone + margin head, A3M-I, margin schedule, telemetry, the bundle, the
//! held-out report) is [`VerificationTask`](crate::task::VerificationTask); an app adds its
//! modality: how to open its data, the loader source of training inputs, how to embed its
//! training items (for A3M-I's class means) and its held-out items, and its backbones.

use std::path::Path;

use anyhow::Result;
use candle_core::{Device, Tensor};
use datasets::loader::{Source, TensorSample};
use eval_kit::HeldoutEmbeddings;
use train_kit::overrides::Renamed;

use crate::config::{AppSection, RunConfig};
use crate::registry::{Backbone, Registry};

/// The run config of app `A`.
pub type AppConfig<A> = RunConfig<<A as TrainApp>::Data, <A as TrainApp>::Eval>;

/// The data of a run, as an app opened it.
pub struct OpenedData<A: TrainApp> {
    /// The training items (what A3M-I embeds and the loader source is made from).
    pub train: A::TrainSet,
    /// The held-out items, when any are held out.
    pub heldout: Option<A::Heldout>,
    /// Items per held-out identity (checked at start-up: verification needs pairs).
    pub heldout_counts: Vec<usize>,
    /// Classes of the margin head.
    pub num_classes: usize,
    /// The name of each class (an identity as the data names it), saved with the run as
    /// `classes.tsv`.
    pub class_names: Vec<String>,
    /// Items of one epoch (an epoch is `epoch_items / batch_size` steps).
    pub epoch_items: usize,
    /// What was read, for logs and reports.
    pub description: String,
}

/// A modality's side of training; see the [module docs](self).
pub trait TrainApp: Sized + 'static {
    /// `face` or `speaker`: names run folders, bundle formats and commands.
    const NAME: &'static str;
    /// The built-in default config (`train` without `--config`) and how messages name it.
    const DEMO: (&'static str, &'static str);
    /// The built-in default sweep file (`sweep` without `--spec`) and how messages name it.
    const SWEEP: (&'static str, &'static str);
    /// The app's own renamed config keys (the shared ones are app-kit's).
    const RENAMED: &'static [Renamed] = &[];
    /// The app's own `[data]` keys.
    type Data: AppSection;
    /// The app's own `[eval]` keys.
    type Eval: AppSection + Default;
    /// The networks of the registry.
    type Net: ?Sized + Backbone + 'static;
    /// The training items.
    type TrainSet: Send + Sync;
    /// The loader source of training batches: model inputs, ready to stack.
    type Source: Source<Sample = TensorSample>;
    /// The held-out items.
    type Heldout: Send + Sync;

    /// The app's backbones.
    fn registry() -> &'static Registry<Self::Net>;

    /// Opens and splits the data `cfg` names.
    fn open_data(cfg: &AppConfig<Self>) -> Result<OpenedData<Self>>;

    /// The loader source over the training items (augmentation, feature extraction).
    fn source(train: &Self::TrainSet, cfg: &AppConfig<Self>) -> Result<Self::Source>;

    /// A3M-I: the mean L2-normalized eval-mode embedding `[C, D]` of every training class, from
    /// up to `per_class` items each (a class without items gets a zero row). `salt` varies the
    /// random parts (chunk offsets) between re-initializations.
    fn class_means(
        net: &Self::Net,
        train: &Self::TrainSet,
        cfg: &AppConfig<Self>,
        per_class: usize,
        salt: u64,
        device: &Device,
    ) -> Result<Tensor>;

    /// Embeds the held-out items in eval mode; unreadable ones are skipped and listed.
    fn embed_heldout(
        net: &Self::Net,
        heldout: &Self::Heldout,
        cfg: &AppConfig<Self>,
        device: &Device,
    ) -> Result<HeldoutEmbeddings>;

    /// Evaluation during training after `steps_done` steps (e.g. validation sets every N
    /// steps); its fields go into that step's metrics line.
    fn validate_during(
        _net: &Self::Net,
        _train: &Self::TrainSet,
        _cfg: &AppConfig<Self>,
        _steps_done: u64,
        _device: &Device,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        Ok(serde_json::Map::new())
    }

    /// The app's final evaluation besides the held-out report (e.g. validation sets), for
    /// `report.json`.
    fn validate_final(
        _net: &Self::Net,
        _train: &Self::TrainSet,
        _cfg: &AppConfig<Self>,
        _device: &Device,
    ) -> Result<serde_json::Value> {
        Ok(serde_json::Value::Null)
    }
}

/// Parses app `A`'s run config from TOML `text` (`origin` names it in errors) after the `--set`
/// items `sets`, and checks it, the backbone and its overrides included.
pub fn config_from_toml<A: TrainApp>(
    text: &str,
    origin: &str,
    sets: &[String],
) -> Result<AppConfig<A>> {
    let cfg = AppConfig::<A>::from_toml(text, origin, sets, A::RENAMED)?;
    A::registry()
        .resolve(&cfg.model.backbone, &cfg.model.overrides)
        .map_err(|e| anyhow::anyhow!("{origin}: {e:#}"))?;
    Ok(cfg)
}

/// Reads app `A`'s run config from `path` (`None`: the built-in [`TrainApp::DEMO`]).
pub fn load_config<A: TrainApp>(path: Option<&Path>, sets: &[String]) -> Result<AppConfig<A>> {
    match path {
        None => config_from_toml::<A>(A::DEMO.0, A::DEMO.1, sets),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("reading config {}: {e}", p.display()))?;
            config_from_toml::<A>(&text, &p.display().to_string(), sets)
        }
    }
}
