//! A trained face model on disk: `model.safetensors` (the backbone's variables under the
//! arcface_torch names) next to `config.json` (which backbone, plus whatever the trainer
//! recorded). `face-app train` writes one, `embed`/`verify`/`eval` and `download` read one.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, ModuleT, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde::{Deserialize, Serialize};
use train_kit::seeded_var_builder;

use crate::models::{IResNet, IResNetConfig, MobileFaceNet, MobileFaceNetConfig};

/// File name of the weights in a bundle.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File name of the description in a bundle.
pub const CONFIG_FILE: &str = "config.json";
/// The `format` field of `config.json`.
pub const BUNDLE_FORMAT: &str = "alpha-verify.face-model";
/// The `version` field of `config.json` this release writes and reads.
pub const BUNDLE_VERSION: u32 = 1;

/// Which backbone, with its shape; saved in `config.json` under `model`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "kebab-case")]
pub enum FaceModelConfig {
    /// An IResNet (arcface_torch r18/r34/r50/r100 or the small demo variant).
    Iresnet(IResNetConfig),
    /// A MobileFaceNet (arcface_torch mbf / mbf_large).
    Mobilefacenet(MobileFaceNetConfig),
}

impl FaceModelConfig {
    /// The names `by_name` accepts.
    pub const NAMES: [&'static str; 7] = ["r18", "r34", "r50", "r100", "small", "mbf", "mbf-large"];

    /// A preset by name: `r18`, `r34`, `r50`, `r100`, `small`, `mbf`, `mbf-large`.
    pub fn by_name(name: &str) -> Result<Self> {
        Ok(
            match name.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "r18" => Self::Iresnet(IResNetConfig::r18()),
                "r34" => Self::Iresnet(IResNetConfig::r34()),
                "r50" => Self::Iresnet(IResNetConfig::r50()),
                "r100" => Self::Iresnet(IResNetConfig::r100()),
                "small" => Self::Iresnet(IResNetConfig::small()),
                "mbf" => Self::Mobilefacenet(MobileFaceNetConfig::mbf()),
                "mbf-large" => Self::Mobilefacenet(MobileFaceNetConfig::mbf_large()),
                other => bail!(
                    "unknown backbone {other:?}: expected one of {}",
                    Self::NAMES.join(", ")
                ),
            },
        )
    }

    /// Size of the embeddings this backbone produces.
    pub fn embedding_dim(&self) -> usize {
        match self {
            Self::Iresnet(c) => c.embedding_dim,
            Self::Mobilefacenet(c) => c.embedding_dim,
        }
    }
}

/// A built face backbone: `(B, 3, 112, 112)` normalized images → `(B, D)` embeddings.
#[derive(Debug, Clone)]
pub enum FaceModel {
    /// IResNet.
    IResNet(IResNet),
    /// MobileFaceNet.
    MobileFaceNet(MobileFaceNet),
}

impl FaceModel {
    /// Builds the backbone, reading or (from a `VarMap`) creating its variables.
    pub fn new(cfg: &FaceModelConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(match cfg {
            FaceModelConfig::Iresnet(c) => Self::IResNet(IResNet::new(c, vb)?),
            FaceModelConfig::Mobilefacenet(c) => Self::MobileFaceNet(MobileFaceNet::new(c, vb)?),
        })
    }

    /// Builds the backbone with fresh variables in a new `VarMap`, drawn from `seed` (the same
    /// seed gives the same initial weights; see `train_kit::init`).
    pub fn fresh(
        cfg: &FaceModelConfig,
        seed: u64,
        device: &Device,
    ) -> candle_core::Result<(Self, VarMap)> {
        let varmap = VarMap::new();
        let model = Self::new(cfg, seeded_var_builder(&varmap, seed, DType::F32, device))?;
        Ok((model, varmap))
    }

    /// Embeddings of a batch; `train` selects BatchNorm batch statistics (and dropout).
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        match self {
            Self::IResNet(m) => m.forward_t(xs, train),
            Self::MobileFaceNet(m) => m.forward_t(xs, train),
        }
    }

    /// The config this backbone was built with.
    pub fn config(&self) -> FaceModelConfig {
        match self {
            Self::IResNet(m) => FaceModelConfig::Iresnet(m.config().clone()),
            Self::MobileFaceNet(m) => FaceModelConfig::Mobilefacenet(m.config().clone()),
        }
    }
}

/// `config.json` of a bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BundleConfig {
    format: String,
    version: u32,
    model: FaceModelConfig,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// Writes `varmap` as `dir/model.safetensors` and `dir/config.json` (the backbone config plus
/// the fields of `extra`, which must be a JSON object or null), creating `dir`. Both files are
/// written to a temporary name first and renamed, so a crash never leaves half a bundle.
pub fn save_bundle(
    dir: &Path,
    cfg: &FaceModelConfig,
    varmap: &VarMap,
    extra: serde_json::Value,
) -> Result<()> {
    let extra = match extra {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => serde_json::Map::new(),
        other => bail!("bundle extra fields must be a JSON object, got {other}"),
    };
    fs::create_dir_all(dir).with_context(|| format!("creating model folder {}", dir.display()))?;
    let weights = dir.join(WEIGHTS_FILE);
    let tmp = dir.join(format!(".{WEIGHTS_FILE}.tmp"));
    varmap
        .save(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &weights).with_context(|| format!("writing {}", weights.display()))?;
    let config = BundleConfig {
        format: BUNDLE_FORMAT.into(),
        version: BUNDLE_VERSION,
        model: cfg.clone(),
        extra,
    };
    let json = serde_json::to_string_pretty(&config)?;
    let path = dir.join(CONFIG_FILE);
    let tmp = dir.join(format!(".{CONFIG_FILE}.tmp"));
    fs::write(&tmp, json + "\n").with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A bundle read back: the backbone, its variables (trainable, for fine-tuning) and the extra
/// fields of `config.json`.
pub struct LoadedBundle {
    /// The backbone, built over `varmap`.
    pub model: FaceModel,
    /// Its variables.
    pub varmap: VarMap,
    /// The fields of `config.json` other than `format`, `version` and `model`.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// The folder it was read from.
    pub dir: PathBuf,
}

/// Reads the backbone config of the bundle in `dir` without loading weights.
pub fn read_bundle_config(dir: &Path) -> Result<FaceModelConfig> {
    Ok(read_config(dir)?.model)
}

fn read_config(dir: &Path) -> Result<BundleConfig> {
    let path = dir.join(CONFIG_FILE);
    let text = fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (a face model folder holds {CONFIG_FILE} and {WEIGHTS_FILE})",
            path.display()
        )
    })?;
    let config: BundleConfig = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a face-app model config", path.display()))?;
    if config.format != BUNDLE_FORMAT {
        bail!(
            "{}: format is {:?}, expected {BUNDLE_FORMAT:?}",
            path.display(),
            config.format
        );
    }
    if config.version > BUNDLE_VERSION {
        bail!(
            "{}: version {} is newer than this face-app reads ({BUNDLE_VERSION})",
            path.display(),
            config.version
        );
    }
    Ok(config)
}

/// Loads the bundle in `dir` on `device`. Errors name the file and what is wrong with it (missing,
/// not a face-model config, a tensor missing or mis-shaped).
pub fn load_bundle(dir: &Path, device: &Device) -> Result<LoadedBundle> {
    let config = read_config(dir)?;
    let (model, mut varmap) = FaceModel::fresh(&config.model, 0, device)
        .with_context(|| format!("building the backbone described in {}", dir.display()))?;
    let weights = dir.join(WEIGHTS_FILE);
    if !weights.is_file() {
        bail!("{}: no such file", weights.display());
    }
    varmap
        .load(&weights)
        .with_context(|| format!("loading weights from {}", weights.display()))?;
    Ok(LoadedBundle {
        model,
        varmap,
        extra: config.extra,
        dir: dir.to_path_buf(),
    })
}
