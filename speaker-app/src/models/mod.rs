//! Speaker backbones with wespeaker's architectures and parameter names: ResNet (ResNet34 and a
//! small CPU variant) and ECAPA-TDNN (c512, c1024), mapping CMN'd log-mel features `(B, T, F)` to
//! embeddings `(B, D)`.
//!
//! * [`REGISTRY`] lists the architectures; each is one file with its config type and its
//!   [`Arch`](app_kit::Arch) entry (presets, check, build). A new backbone is a new file here
//!   plus one line in [`REGISTRY`]. A config is JSON `{"arch": "resnet", ...fields}`, as a
//!   bundle's `config.json` stores it under `model` (app-kit reads and writes bundles and
//!   imports wespeaker's `avg_model.pt`).
//! * [`SpeakerModel`] is a built network with the input checks every architecture shares.
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

use app_kit::{Backbone, Registry};
use candle_core::{bail, DType, ModuleT, Result, Tensor};
use candle_nn::VarBuilder;

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
    train_kit::conv::square_conv2d(
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        1,
        vb,
    )
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

/// Every speaker backbone.
pub static REGISTRY: Registry<SpeakerModel> = Registry {
    archs: &[&resnet::ARCH, &ecapa::ARCH],
};

/// The preset names, in the order they are listed.
pub const MODEL_NAMES: [&str; 5] = ["resnet34", "resnet18", "ecapa-c512", "ecapa-c1024", "small"];

/// The full config (`{"arch": arch, ...fields}`) of an architecture's typed config.
pub fn tagged(arch: &str, config: &impl serde::Serialize) -> serde_json::Value {
    let mut value = serde_json::to_value(config).expect("backbone configs serialize to JSON");
    if let Some(object) = value.as_object_mut() {
        object.insert("arch".into(), arch.into());
    }
    value
}

/// What the input checks and the frontend need to know about a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetShape {
    /// The registry's `arch` tag, for messages.
    pub arch: &'static str,
    /// Mel bins `F` per frame.
    pub feat_dim: usize,
    /// Size `D` of the embeddings.
    pub embed_dim: usize,
    /// Fewest frames the pooling accepts (a standard deviation needs two pooled frames).
    pub min_frames: usize,
}

/// A built backbone: `(B, T, F)` CMN'd log-mel features to `(B, D)` embeddings (not
/// L2-normalised), with input checks that turn bad shapes and dtypes into errors.
pub struct SpeakerModel {
    net: Box<dyn ModuleT + Send + Sync>,
    shape: NetShape,
    /// The dtype of the weights, which the features must share.
    dtype: DType,
}

impl std::fmt::Debug for SpeakerModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeakerModel")
            .field("shape", &self.shape)
            .field("dtype", &self.dtype)
            .finish_non_exhaustive()
    }
}

impl SpeakerModel {
    /// Wraps an architecture's network (what an [`Arch`](app_kit::Arch)'s `build` returns).
    pub fn wrap(net: impl ModuleT + Send + Sync + 'static, shape: NetShape, dtype: DType) -> Self {
        Self {
            net: Box::new(net),
            shape,
            dtype,
        }
    }

    /// Builds the backbone a full config describes (`{"arch": ..., ...}`); `vb` creates (from a
    /// `VarMap`) or loads its variables under wespeaker's names.
    pub fn new(config: &serde_json::Value, vb: VarBuilder) -> Result<Self> {
        REGISTRY
            .build(config, vb)
            .map(|model| *model)
            .map_err(|e| candle_core::Error::Msg(format!("{e:#}")))
    }

    /// The network's sizes.
    pub fn shape(&self) -> NetShape {
        self.shape
    }

    /// Mel bins `F` the backbone expects per frame.
    pub fn feat_dim(&self) -> usize {
        self.shape.feat_dim
    }

    /// Fewest input frames the backbone accepts.
    pub fn min_frames(&self) -> usize {
        self.shape.min_frames
    }

    fn check_input(&self, feats: &Tensor, train: bool) -> Result<()> {
        let NetShape {
            arch,
            feat_dim: f,
            min_frames: min_t,
            ..
        } = self.shape;
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
    /// `feats (B, T, F)` → embeddings `(B, D)`. `train` selects BatchNorm batch statistics (and
    /// updates the running ones), so it needs `B ≥ 2`. Wrong ranks, feature sizes, dtypes or too
    /// few frames are errors.
    fn forward_t(&self, feats: &Tensor, train: bool) -> Result<Tensor> {
        self.check_input(feats, train)?;
        self.net.forward_t(feats, train)
    }
}

impl Backbone for SpeakerModel {
    fn embedding_dim(&self) -> usize {
        self.shape.embed_dim
    }
}
