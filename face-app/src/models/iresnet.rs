//! IResNet for 112×112 aligned faces, as arcface_torch builds it (insightface
//! `recognition/arcface_torch/backbones/iresnet.py`; ArcFace, arXiv:1801.07698).
//!
//! Layout: stem `conv1` (3×3, s1) → `bn1` → `prelu`; four stages `layer1..layer4` of
//! pre-activation `IBasicBlock`s (`bn1` → `conv1` 3×3 → `bn2` → `prelu` → `conv2` 3×3 with the
//! stage stride → `bn3`, plus the identity or `downsample` = 1×1 conv + BN, no activation after
//! the add), each stage starting with stride 2 (112 → 56 → 28 → 14 → 7); head `bn2` → flatten →
//! dropout → `fc` → `features` (BatchNorm1d whose scale is fixed, not trained). Every
//! BatchNorm uses eps 1e-5 and momentum 0.1, as PyTorch does by default.
//!
//! Parameter names are the arcface_torch `state_dict` keys (`conv1.weight`,
//! `layer1.0.downsample.0.weight`, `features.running_var`, ...), so a `backbone.pth` saved as
//! safetensors loads with [`IResNet::from_safetensors`], and the `.pth` itself with
//! [`IResNet::from_pth`].

use std::path::Path;

use candle_core::{bail, DType, Device, ModuleT, Result, Tensor};
use candle_nn::{BatchNormConfig, Linear, VarBuilder};
use train_kit::conv::{BatchNorm, PReLU};

use app_kit::registry::{parse, Arch, Backbone, Preset};

use super::{check_face_batch, conv2d, preset, Conv, INPUT_SIZE};

/// BatchNorm epsilon of every arcface_torch IResNet norm layer.
const BN_EPS: f64 = 1e-5;

/// Shape of an [`IResNet`].
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct IResNetConfig {
    /// Number of `IBasicBlock`s in `layer1..layer4`.
    pub layers: [usize; 4],
    /// Channels of the stem and `layer1`; `layer2..layer4` have 2×, 4×, 8× this
    /// (arcface_torch: 64, so 64/128/256/512).
    pub base_width: usize,
    /// Size of the output embedding (`fc` outputs and `features` channels); arcface_torch
    /// `num_features`, 512 for the published models.
    pub embedding_dim: usize,
    /// Dropout probability before `fc`, applied in train mode only (arcface_torch default 0).
    pub dropout: f64,
}

impl IResNetConfig {
    fn arcface(layers: [usize; 4]) -> Self {
        Self {
            layers,
            base_width: 64,
            embedding_dim: 512,
            dropout: 0.0,
        }
    }

    /// arcface_torch "r18": blocks `[2, 2, 2, 2]`, about 24.0 M parameters.
    pub fn r18() -> Self {
        Self::arcface([2, 2, 2, 2])
    }

    /// arcface_torch "r34": blocks `[3, 4, 6, 3]`, about 34.1 M parameters.
    pub fn r34() -> Self {
        Self::arcface([3, 4, 6, 3])
    }

    /// arcface_torch "r50": blocks `[3, 4, 14, 3]` (not torchvision's ResNet-50), about
    /// 43.6 M parameters.
    pub fn r50() -> Self {
        Self::arcface([3, 4, 14, 3])
    }

    /// arcface_torch "r100": blocks `[3, 13, 30, 3]`, about 65.2 M parameters.
    pub fn r100() -> Self {
        Self::arcface([3, 13, 30, 3])
    }

    /// A small IResNet for CPU demos and tests (not an arcface_torch preset): blocks
    /// `[1, 1, 1, 1]`, base width 16 (16/32/64/128 channels), 128-d embedding.
    ///
    /// 1,111,664 trainable parameters (802,944 of them in `fc`), 4.4 MB in fp32. An eval-mode
    /// forward took about 0.1 s per image (batch 8) on 2 CPU cores shared with other jobs; the
    /// `#[ignore]`d `iresnet_small_forward_time` test measures it.
    pub fn small() -> Self {
        Self {
            layers: [1, 1, 1, 1],
            base_width: 16,
            embedding_dim: 128,
            dropout: 0.0,
        }
    }

    /// Channels of `layer1..layer4`.
    pub fn stage_widths(&self) -> [usize; 4] {
        let w = self.base_width;
        [w, 2 * w, 4 * w, 8 * w]
    }

    /// Checks that every size is positive and the dropout in [0, 1).
    pub fn validate(&self) -> Result<()> {
        if self.layers.contains(&0) {
            bail!(
                "IResNetConfig: every stage needs at least one block, got layers {:?}",
                self.layers
            )
        }
        if self.base_width == 0 || self.embedding_dim == 0 {
            bail!(
                "IResNetConfig: base_width and embedding_dim must be positive, got {} and {}",
                self.base_width,
                self.embedding_dim
            )
        }
        if !(0.0..1.0).contains(&self.dropout) {
            bail!(
                "IResNetConfig: dropout must be in [0, 1), got {}",
                self.dropout
            )
        }
        Ok(())
    }
}

/// The registry entry of IResNet (`arch = "iresnet"`): arcface_torch's r18 / r34 / r50 / r100 and
/// the small CPU variant.
pub const ARCH: Arch<dyn Backbone> = Arch {
    name: "iresnet",
    presets: &[
        Preset {
            name: "r18",
            config: || preset(IResNetConfig::r18()),
        },
        Preset {
            name: "r34",
            config: || preset(IResNetConfig::r34()),
        },
        Preset {
            name: "r50",
            config: || preset(IResNetConfig::r50()),
        },
        Preset {
            name: "r100",
            config: || preset(IResNetConfig::r100()),
        },
        Preset {
            name: "small",
            config: || preset(IResNetConfig::small()),
        },
    ],
    check: |fields| Ok(parse::<IResNetConfig>("iresnet", fields)?.validate()?),
    build: |fields, vb| Ok(Box::new(IResNet::new(&parse("iresnet", fields)?, vb)?)),
};

fn batch_norm(channels: usize, vb: VarBuilder) -> Result<BatchNorm> {
    let cfg = BatchNormConfig {
        eps: BN_EPS,
        ..Default::default()
    };
    train_kit::conv::batch_norm(channels, cfg, vb)
}

/// The `downsample` shortcut: `0` = 1×1 conv with the stage stride, `1` = BatchNorm.
#[derive(Debug, Clone)]
struct Downsample {
    conv: Conv,
    bn: BatchNorm,
}

/// arcface_torch `IBasicBlock`.
#[derive(Debug, Clone)]
struct IBasicBlock {
    bn1: BatchNorm,
    conv1: Conv,
    bn2: BatchNorm,
    prelu: PReLU,
    conv2: Conv,
    bn3: BatchNorm,
    downsample: Option<Downsample>,
}

impl IBasicBlock {
    fn new(in_channels: usize, planes: usize, stride: usize, vb: VarBuilder) -> Result<Self> {
        let downsample = if stride != 1 || in_channels != planes {
            Some(Downsample {
                conv: conv2d(in_channels, planes, 1, stride, 0, 1, vb.pp("downsample.0"))?,
                bn: batch_norm(planes, vb.pp("downsample.1"))?,
            })
        } else {
            None
        };
        Ok(Self {
            bn1: batch_norm(in_channels, vb.pp("bn1"))?,
            conv1: conv2d(in_channels, planes, 3, 1, 1, 1, vb.pp("conv1"))?,
            bn2: batch_norm(planes, vb.pp("bn2"))?,
            prelu: train_kit::conv::prelu(Some(planes), vb.pp("prelu"))?,
            conv2: conv2d(planes, planes, 3, stride, 1, 1, vb.pp("conv2"))?,
            bn3: batch_norm(planes, vb.pp("bn3"))?,
            downsample,
        })
    }
}

impl ModuleT for IBasicBlock {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let out = xs
            .apply_t(&self.bn1, train)?
            .apply(&self.conv1)?
            .apply_t(&self.bn2, train)?
            .apply(&self.prelu)?
            .apply(&self.conv2)?
            .apply_t(&self.bn3, train)?;
        let identity = match &self.downsample {
            Some(d) => xs.apply(&d.conv)?.apply_t(&d.bn, train)?,
            None => xs.clone(),
        };
        out + identity
    }
}

/// IResNet face backbone (arcface_torch flavour); see the [module docs](self).
#[derive(Debug, Clone)]
pub struct IResNet {
    cfg: IResNetConfig,
    conv1: Conv,
    bn1: BatchNorm,
    prelu: PReLU,
    stages: [Vec<IBasicBlock>; 4],
    bn2: BatchNorm,
    fc: Linear,
    features: BatchNorm,
}

impl IResNet {
    /// Builds the model, reading (or, from a `VarMap`, creating) every tensor under the
    /// arcface_torch `state_dict` names.
    ///
    /// `features.weight` is frozen as in arcface_torch: it is read (and detached) when `vb`
    /// holds it, as a converted checkpoint does, and is a constant 1 otherwise, so it never
    /// appears among a `VarMap`'s trainable variables. Errors name a missing or mis-shaped
    /// tensor, or an invalid config.
    pub fn new(cfg: &IResNetConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let widths = cfg.stage_widths();
        let conv1 = conv2d(3, widths[0], 3, 1, 1, 1, vb.pp("conv1"))?;
        let bn1 = batch_norm(widths[0], vb.pp("bn1"))?;
        let prelu = train_kit::conv::prelu(Some(widths[0]), vb.pp("prelu"))?;
        let mut in_channels = widths[0];
        let mut stages: [Vec<IBasicBlock>; 4] = Default::default();
        for (s, stage) in stages.iter_mut().enumerate() {
            let vb_stage = vb.pp(format!("layer{}", s + 1));
            let planes = widths[s];
            for i in 0..cfg.layers[s] {
                let stride = if i == 0 { 2 } else { 1 };
                stage.push(IBasicBlock::new(
                    in_channels,
                    planes,
                    stride,
                    vb_stage.pp(i),
                )?);
                in_channels = planes;
            }
        }
        let bn2 = batch_norm(in_channels, vb.pp("bn2"))?;
        let spatial = INPUT_SIZE / 16;
        let fc = candle_nn::linear(
            in_channels * spatial * spatial,
            cfg.embedding_dim,
            vb.pp("fc"),
        )?;
        let features = frozen_scale_batch_norm(cfg.embedding_dim, vb.pp("features"))?;
        Ok(Self {
            cfg: cfg.clone(),
            conv1,
            bn1,
            prelu,
            stages,
            bn2,
            fc,
            features,
        })
    }

    /// Loads fp32 weights from a safetensors file holding an arcface_torch `state_dict` (a
    /// converted `backbone.pth`, or a `VarMap` saved by this crate). Extra tensors (such as
    /// `num_batches_tracked`) are ignored; a missing or mis-shaped one is an error naming it.
    pub fn from_safetensors(
        cfg: &IResNetConfig,
        path: impl AsRef<Path>,
        device: &Device,
    ) -> Result<Self> {
        let path = path.as_ref();
        let loaded = candle_core::safetensors::load(path, device).and_then(|tensors| {
            Self::new(cfg, VarBuilder::from_tensors(tensors, DType::F32, device))
        });
        loaded.map_err(|e| e.context(format!("loading IResNet weights from {}", path.display())))
    }

    /// Loads weights from a PyTorch `.pth` file holding the `state_dict` itself, as
    /// arcface_torch saves `backbone.pth` (`torch.save(model.state_dict(), path)`), through
    /// candle's pickle reader. Errors as [`IResNet::from_safetensors`].
    pub fn from_pth(cfg: &IResNetConfig, path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let path = path.as_ref();
        let loaded =
            VarBuilder::from_pth(path, DType::F32, device).and_then(|vb| Self::new(cfg, vb));
        loaded.map_err(|e| e.context(format!("loading IResNet weights from {}", path.display())))
    }

    /// The config this model was built with.
    pub fn config(&self) -> &IResNetConfig {
        &self.cfg
    }

    /// Size of the embeddings [`ModuleT::forward_t`] returns.
    pub fn embedding_dim(&self) -> usize {
        self.cfg.embedding_dim
    }
}

/// arcface_torch `features`: BatchNorm1d whose weight is fixed (1 at init, `requires_grad=False`)
/// while bias and running statistics behave as usual.
fn frozen_scale_batch_norm(channels: usize, vb: VarBuilder) -> Result<BatchNorm> {
    use candle_nn::Init;
    let running_mean = vb.get_with_hints(channels, "running_mean", Init::Const(0.))?;
    let running_var = vb.get_with_hints(channels, "running_var", Init::Const(1.))?;
    let bias = vb.get_with_hints(channels, "bias", Init::Const(0.))?;
    let weight = if vb.contains_tensor("weight") {
        vb.get(channels, "weight")?.detach()
    } else {
        Tensor::ones(channels, vb.dtype(), vb.device())?
    };
    BatchNorm::from_candle(candle_nn::BatchNorm::new(
        channels,
        running_mean,
        running_var,
        weight,
        bias,
        BN_EPS,
    )?)
}

impl Backbone for IResNet {
    fn embedding_dim(&self) -> usize {
        self.cfg.embedding_dim
    }
}

impl ModuleT for IResNet {
    /// `(B, 3, 112, 112)` in [-1, 1] → `(B, embedding_dim)`, not L2-normalised.
    ///
    /// `train` selects batch statistics (and updates the running ones) and enables dropout;
    /// it needs `B ≥ 2`. Any other input shape is an error.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        check_face_batch("IResNet", xs, train)?;
        let mut x = xs
            .apply(&self.conv1)?
            .apply_t(&self.bn1, train)?
            .apply(&self.prelu)?;
        for block in self.stages.iter().flatten() {
            x = x.apply_t(block, train)?;
        }
        let mut x = x.apply_t(&self.bn2, train)?.flatten_from(1)?;
        if train && self.cfg.dropout > 0.0 {
            x = candle_nn::ops::dropout(&x, self.cfg.dropout as f32)?;
        }
        x.apply(&self.fc)?.apply_t(&self.features, train)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::VarMap;

    #[test]
    fn small_shapes_and_bad_input() -> Result<()> {
        let dev = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
        let model = IResNet::new(&IResNetConfig::small(), vb)?;
        let x = Tensor::zeros((2, 3, 112, 112), DType::F32, &dev)?;
        assert_eq!(model.forward_t(&x, false)?.dims(), &[2, 128]);
        assert_eq!(model.forward_t(&x, true)?.dims(), &[2, 128]);

        let bad = Tensor::zeros((2, 3, 96, 96), DType::F32, &dev)?;
        let err = model.forward_t(&bad, false).unwrap_err().to_string();
        assert!(err.contains("expected input (B, 3, 112, 112)"), "{err}");
        assert!(err.contains("[2, 3, 96, 96]"), "{err}");
        let one = Tensor::zeros((1, 3, 112, 112), DType::F32, &dev)?;
        assert!(model.forward_t(&one, false).is_ok());
        assert!(model.forward_t(&one, true).is_err());
        Ok(())
    }

    #[test]
    fn invalid_config_is_an_error() {
        let dev = Device::Cpu;
        let mut cfg = IResNetConfig::small();
        cfg.layers[2] = 0;
        let err = IResNet::new(&cfg, VarBuilder::zeros(DType::F32, &dev)).unwrap_err();
        assert!(err.to_string().contains("at least one block"), "{err}");
    }

    #[test]
    fn features_weight_is_not_trainable() -> Result<()> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        IResNet::new(&IResNetConfig::small(), vb)?;
        let data = varmap.data().lock().unwrap();
        assert!(!data.contains_key("features.weight"));
        assert!(data.contains_key("features.bias"));
        assert!(data.contains_key("layer1.0.downsample.0.weight"));
        assert!(!data.contains_key("layer1.0.downsample.0.bias"));
        Ok(())
    }
}
