//! Speaker backbones with wespeaker's architectures and parameter names: ResNet (ResNet34 and a
//! small CPU variant) and ECAPA-TDNN (c512, c1024), mapping CMN'd log-mel features `(B, T, F)` to
//! embeddings `(B, D)`.
//!
//! * [`SpeakerModelConfig`] is the serializable choice of backbone (saved in `config.json`);
//!   [`SpeakerModel`] is the built network.
//! * [`save_bundle`] / [`load_bundle`] store a model as `model.safetensors` + `config.json`;
//!   [`SpeakerModel::from_pth`] imports a wespeaker PyTorch checkpoint (`avg_model.pt`).
//! * Every convolution and batch norm is built through [`conv2d`], [`conv1d`] and
//!   [`batch_norm`] (types [`Conv2d`], [`Conv1d`], [`BatchNorm`]): the one place to switch all
//!   backbones to another implementation. They are train-kit's fast CPU layers (candle's own
//!   conv1d weight gradient is wrong for batch > 1). ReLUs and the ResNet block's residual
//!   add + ReLU go through train-kit's parallel [`relu`] and [`add_relu`] likewise.

pub mod ecapa;
pub mod pooling;
pub mod resnet;

pub use ecapa::{EcapaConfig, EcapaTdnn};
pub use resnet::{ResNet, ResNetConfig};

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use candle_core::{bail, DType, Device, ModuleT, Result, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

pub use train_kit::conv::{add_relu, relu};

/// The 2-D convolution layer every backbone uses (see [`conv2d`]).
pub type Conv2d = train_kit::conv::Conv2d;
/// The 1-D convolution layer every backbone uses (see [`conv1d`]).
pub type Conv1d = train_kit::conv::Conv1d;
/// The batch-norm layer every backbone uses (see [`batch_norm`]).
pub type BatchNorm = train_kit::conv::BatchNorm;

/// Builds a bias-free square 2-D convolution, `weight` of shape `(out, in, k, k)` (all of
/// wespeaker's ResNet convolutions are bias-free).
pub fn conv2d(
    in_channels: usize,
    out_channels: usize,
    kernel_size: usize,
    stride: usize,
    padding: usize,
    vb: VarBuilder,
) -> Result<Conv2d> {
    let cfg = train_kit::conv::Conv2dConfig {
        padding,
        stride,
        dilation: 1,
        groups: 1,
        cudnn_fwd_algo: None,
    };
    train_kit::conv::conv2d_no_bias(in_channels, out_channels, kernel_size, cfg, vb)
}

/// Builds a stride-1 1-D convolution with bias, `weight` of shape `(out, in, k)` (ECAPA's
/// convolutions, PyTorch's `nn.Conv1d` default `bias=True`).
pub fn conv1d(
    in_channels: usize,
    out_channels: usize,
    kernel_size: usize,
    padding: usize,
    dilation: usize,
    vb: VarBuilder,
) -> Result<Conv1d> {
    let cfg = train_kit::conv::Conv1dConfig {
        padding,
        stride: 1,
        dilation,
        groups: 1,
        cudnn_fwd_algo: None,
    };
    train_kit::conv::conv1d(in_channels, out_channels, kernel_size, cfg, vb)
}

/// Builds a batch norm with PyTorch's defaults (eps `1e-5`, momentum 0.1), with or without the
/// affine `weight`/`bias`; `running_mean`/`running_var` are variables of the VarBuilder.
pub fn batch_norm(num_features: usize, affine: bool, vb: VarBuilder) -> Result<BatchNorm> {
    let cfg = candle_nn::BatchNormConfig {
        eps: 1e-5,
        remove_mean: true,
        affine,
        momentum: 0.1,
    };
    train_kit::conv::batch_norm(num_features, cfg, vb)
}

/// Serializable choice of backbone, saved in `config.json` as `{"arch": "resnet", ...}` or
/// `{"arch": "ecapa", ...}` with the config's fields next to the tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "arch")]
pub enum SpeakerModelConfig {
    /// wespeaker's ResNet (BasicBlocks, TSTP pooling).
    #[serde(rename = "resnet")]
    ResNet(ResNetConfig),
    /// wespeaker's ECAPA-TDNN (SE-Res2Net blocks, ASTP pooling).
    #[serde(rename = "ecapa")]
    Ecapa(EcapaConfig),
}

/// The names [`SpeakerModelConfig::by_name`] accepts.
pub const MODEL_NAMES: [&str; 5] = ["resnet34", "resnet18", "ecapa-c512", "ecapa-c1024", "small"];

impl SpeakerModelConfig {
    /// Size `D` of the embeddings the backbone produces.
    pub fn embedding_dim(&self) -> usize {
        match self {
            Self::ResNet(c) => c.embed_dim,
            Self::Ecapa(c) => c.embed_dim,
        }
    }

    /// Mel bins `F` the backbone expects per frame.
    pub fn feat_dim(&self) -> usize {
        match self {
            Self::ResNet(c) => c.feat_dim,
            Self::Ecapa(c) => c.feat_dim,
        }
    }

    /// The small CPU demo ResNet ([`ResNetConfig::small`]).
    pub fn small() -> Self {
        Self::ResNet(ResNetConfig::small())
    }

    /// A preset by name: `resnet34`, `resnet18`, `ecapa-c512`, `ecapa-c1024` or `small`
    /// ([`MODEL_NAMES`]); `_` and `-` are interchangeable.
    pub fn by_name(name: &str) -> anyhow::Result<Self> {
        Ok(match name.replace('_', "-").as_str() {
            "resnet34" => Self::ResNet(ResNetConfig::resnet34()),
            "resnet18" => Self::ResNet(ResNetConfig::resnet18()),
            "ecapa-c512" => Self::Ecapa(EcapaConfig::c512()),
            "ecapa-c1024" => Self::Ecapa(EcapaConfig::c1024()),
            "small" => Self::small(),
            _ => anyhow::bail!(
                "unknown speaker model {name:?}; expected one of {}",
                MODEL_NAMES.join(", ")
            ),
        })
    }

    /// Fewest input frames the backbone accepts: its pooling needs two frames for a standard
    /// deviation (ResNet: `⌈T/8⌉ ≥ 2`, so 9 frames).
    pub fn min_frames(&self) -> usize {
        match self {
            Self::ResNet(_) => 9,
            Self::Ecapa(_) => 2,
        }
    }

    /// Checks every size of the chosen backbone.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::ResNet(c) => c.validate(),
            Self::Ecapa(c) => c.validate(),
        }
    }
}

/// The network inside a [`SpeakerModel`].
#[derive(Debug, Clone)]
pub enum Backbone {
    /// A wespeaker ResNet.
    ResNet(ResNet),
    /// A wespeaker ECAPA-TDNN.
    Ecapa(Box<EcapaTdnn>),
}

/// A built backbone with its config: `(B, T, F)` features to `(B, D)` embeddings (not
/// L2-normalised), with input checks that turn bad shapes into errors.
#[derive(Debug, Clone)]
pub struct SpeakerModel {
    config: SpeakerModelConfig,
    backbone: Backbone,
    /// The dtype of the weights, which the features must share.
    dtype: DType,
}

impl SpeakerModel {
    /// Builds the backbone `cfg` describes; `vb` creates (from a `VarMap`) or loads (from
    /// safetensors or a `.pth`) its variables under wespeaker's names.
    pub fn new(cfg: &SpeakerModelConfig, vb: VarBuilder) -> Result<Self> {
        let dtype = vb.dtype();
        let backbone = match cfg {
            SpeakerModelConfig::ResNet(c) => Backbone::ResNet(ResNet::new(c, vb)?),
            SpeakerModelConfig::Ecapa(c) => Backbone::Ecapa(Box::new(EcapaTdnn::new(c, vb)?)),
        };
        Ok(Self {
            config: cfg.clone(),
            backbone,
            dtype,
        })
    }

    /// `feats (B, T, F)` (CMN'd log-mel, `F` = [`SpeakerModelConfig::feat_dim`]) → embeddings
    /// `(B, D)`. `train` selects BatchNorm batch statistics (and updates the running ones), so it
    /// needs `B ≥ 2`. Wrong ranks, feature sizes, dtypes or too few frames are errors.
    pub fn forward_t(&self, feats: &Tensor, train: bool) -> Result<Tensor> {
        self.check_input(feats, train)?;
        match &self.backbone {
            Backbone::ResNet(m) => m.forward_t(feats, train),
            Backbone::Ecapa(m) => m.forward_t(feats, train),
        }
    }

    /// The config the model was built from.
    pub fn config(&self) -> &SpeakerModelConfig {
        &self.config
    }

    /// The network itself.
    pub fn backbone(&self) -> &Backbone {
        &self.backbone
    }

    /// Builds the model in a fresh f32 `VarMap` on `device` and fills it from a PyTorch
    /// checkpoint (`torch.save(model.state_dict())`, as wespeaker's `avg_model.pt`).
    ///
    /// The state dict may sit at the top level or under `state_dict` / `model`; keys may carry a
    /// `module.` prefix (DataParallel). Keys the backbone does not have (`projection.*`,
    /// `num_batches_tracked`) are ignored; a missing key or a wrong shape is an error naming it.
    /// The returned `VarMap` holds the trainable variables, for fine-tuning.
    pub fn from_pth(
        cfg: &SpeakerModelConfig,
        path: &Path,
        device: &Device,
    ) -> anyhow::Result<(Self, VarMap)> {
        let tensors = read_pth_state_dict(path)?;
        let varmap = VarMap::new();
        let model = Self::new(cfg, VarBuilder::from_varmap(&varmap, DType::F32, device))
            .with_context(|| format!("building {cfg:?}"))?;
        {
            let vars = varmap
                .data()
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut names: Vec<&String> = vars.keys().collect();
            names.sort();
            for name in names {
                let var = &vars[name];
                let t = tensors.get(name.as_str()).with_context(|| {
                    format!(
                        "{}: no tensor {name:?} for the {} backbone",
                        path.display(),
                        arch_name(cfg)
                    )
                })?;
                if t.dims() != var.dims() {
                    anyhow::bail!(
                        "{}: tensor {name:?} has shape {:?}, the model expects {:?}",
                        path.display(),
                        t.dims(),
                        var.dims()
                    )
                }
                var.set(&t.to_dtype(DType::F32)?.to_device(device)?)
                    .with_context(|| format!("{}: setting {name:?}", path.display()))?;
            }
        }
        Ok((model, varmap))
    }

    fn check_input(&self, feats: &Tensor, train: bool) -> Result<()> {
        let f = self.config.feat_dim();
        let min_t = self.config.min_frames();
        let arch = arch_name(&self.config);
        match *feats.dims() {
            [b, t, ff] if ff == f && b >= 1 && t >= min_t => {
                if train && b < 2 {
                    bail!("{arch}: train-mode forward needs a batch of at least 2 for BatchNorm statistics, got input {:?}", feats.shape())
                }
                if feats.dtype() != self.dtype {
                    bail!(
                        "{arch}: expected {} features like the weights, got {}",
                        self.dtype.as_str(),
                        feats.dtype().as_str()
                    )
                }
                Ok(())
            }
            _ => bail!(
                "{arch}: expected features (B, T, {f}) with B >= 1 and T >= {min_t}, got {:?}",
                feats.shape()
            ),
        }
    }
}

impl ModuleT for SpeakerModel {
    fn forward_t(&self, feats: &Tensor, train: bool) -> Result<Tensor> {
        SpeakerModel::forward_t(self, feats, train)
    }
}

fn arch_name(cfg: &SpeakerModelConfig) -> &'static str {
    match cfg {
        SpeakerModelConfig::ResNet(_) => "resnet",
        SpeakerModelConfig::Ecapa(_) => "ecapa",
    }
}

/// Reads the tensors of a PyTorch state-dict pickle, from the top level or under `state_dict` /
/// `model`, with any `module.` prefix removed.
fn read_pth_state_dict(path: &Path) -> anyhow::Result<HashMap<String, Tensor>> {
    let mut found = Vec::new();
    for key in [None, Some("state_dict"), Some("model")] {
        found = candle_core::pickle::read_all_with_key(path, key)
            .with_context(|| format!("reading PyTorch checkpoint {}", path.display()))?;
        if !found.is_empty() {
            break;
        }
    }
    if found.is_empty() {
        anyhow::bail!(
            "{}: no tensors found (expected a state dict at the top level or under \"state_dict\" / \"model\")",
            path.display()
        )
    }
    Ok(found
        .into_iter()
        .map(|(name, t)| match name.strip_prefix("module.") {
            Some(stripped) => (stripped.to_string(), t),
            None => (name, t),
        })
        .collect())
}

/// Number of trainable scalars in `varmap`: every variable except BatchNorm running statistics
/// (names ending in `running_mean` / `running_var`).
pub fn trainable_parameter_count(varmap: &VarMap) -> usize {
    trainable_vars(varmap).iter().map(|v| v.elem_count()).sum()
}

/// The variables an optimizer should update: all of `varmap` except BatchNorm running
/// statistics, sorted by name so the order is reproducible.
pub fn trainable_vars(varmap: &VarMap) -> Vec<candle_core::Var> {
    let data = varmap
        .data()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut named: Vec<(&String, &candle_core::Var)> = data
        .iter()
        .filter(|(name, _)| !is_running_stat(name))
        .collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    named.into_iter().map(|(_, v)| v.clone()).collect()
}

fn is_running_stat(name: &str) -> bool {
    name.ends_with("running_mean") || name.ends_with("running_var")
}

/// `format` field of a bundle's `config.json`.
pub const BUNDLE_FORMAT: &str = "alpha-verify.speaker-model";
/// `version` field of a bundle's `config.json`.
pub const BUNDLE_VERSION: u64 = 1;
/// Weights file of a bundle.
pub const BUNDLE_WEIGHTS: &str = "model.safetensors";
/// Config file of a bundle.
pub const BUNDLE_CONFIG: &str = "config.json";

/// Saves a model as a bundle in `dir` (created if missing): `varmap` as `model.safetensors` and
/// `config.json` = `{"format": "alpha-verify.speaker-model", "version": 1, "model": cfg, ...}`
/// with the fields of `extra` (a JSON object, or null for none) added at the top level. Each
/// file is written to a temporary name and renamed, so a reader never sees half a file.
pub fn save_bundle(
    dir: &Path,
    cfg: &SpeakerModelConfig,
    varmap: &VarMap,
    extra: serde_json::Value,
) -> anyhow::Result<()> {
    let mut config = serde_json::Map::new();
    config.insert("format".into(), BUNDLE_FORMAT.into());
    config.insert("version".into(), BUNDLE_VERSION.into());
    config.insert("model".into(), serde_json::to_value(cfg)?);
    match extra {
        serde_json::Value::Null => {}
        serde_json::Value::Object(fields) => {
            for (key, value) in fields {
                if config.contains_key(&key) {
                    anyhow::bail!("save_bundle: extra field {key:?} clashes with a reserved field of {BUNDLE_CONFIG}")
                }
                config.insert(key, value);
            }
        }
        other => anyhow::bail!("save_bundle: extra must be a JSON object or null, got {other}"),
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let weights = dir.join(BUNDLE_WEIGHTS);
    let tmp = dir.join(format!("{BUNDLE_WEIGHTS}.tmp"));
    varmap
        .save(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &weights).with_context(|| format!("writing {}", weights.display()))?;
    let config_path = dir.join(BUNDLE_CONFIG);
    let tmp = dir.join(format!("{BUNDLE_CONFIG}.tmp"));
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(config))?;
    std::fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &config_path)
        .with_context(|| format!("writing {}", config_path.display()))?;
    Ok(())
}

/// Loads a bundle written by [`save_bundle`] onto `device`: the model, its `VarMap` (every
/// variable, ready for further training) and the extra `config.json` fields as a JSON object.
/// A missing or malformed file, a wrong format/version or a missing tensor is an error naming
/// the file.
pub fn load_bundle(
    dir: &Path,
    device: &Device,
) -> anyhow::Result<(SpeakerModel, VarMap, serde_json::Value)> {
    let config_path = dir.join(BUNDLE_CONFIG);
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("parsing {}", config_path.display()))?;
    let serde_json::Value::Object(mut fields) = value else {
        anyhow::bail!("{}: expected a JSON object", config_path.display())
    };
    let format = fields.remove("format");
    if format.as_ref().and_then(|f| f.as_str()) != Some(BUNDLE_FORMAT) {
        anyhow::bail!(
            "{}: format is {}, expected {BUNDLE_FORMAT:?}",
            config_path.display(),
            format.map_or("missing".to_string(), |f| f.to_string())
        )
    }
    let version = fields.remove("version");
    if version.as_ref().and_then(|v| v.as_u64()) != Some(BUNDLE_VERSION) {
        anyhow::bail!(
            "{}: version is {}, this build reads version {BUNDLE_VERSION}",
            config_path.display(),
            version.map_or("missing".to_string(), |v| v.to_string())
        )
    }
    let model = fields
        .remove("model")
        .with_context(|| format!("{}: no \"model\" field", config_path.display()))?;
    let cfg: SpeakerModelConfig = serde_json::from_value(model)
        .with_context(|| format!("{}: bad \"model\" field", config_path.display()))?;
    let mut varmap = VarMap::new();
    let model = SpeakerModel::new(&cfg, VarBuilder::from_varmap(&varmap, DType::F32, device))
        .with_context(|| format!("{}: building {cfg:?}", config_path.display()))?;
    let weights = dir.join(BUNDLE_WEIGHTS);
    if !weights.is_file() {
        anyhow::bail!("{}: no such file", weights.display())
    }
    varmap
        .load(&weights)
        .with_context(|| format!("loading {}", weights.display()))?;
    Ok((model, varmap, serde_json::Value::Object(fields)))
}
