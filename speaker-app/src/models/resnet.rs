//! The ResNet speaker backbone as wespeaker builds it (`wespeaker/models/resnet.py`, after He et
//! al., arXiv:1512.03385): 2-D convolutions over `(B, 1, F, T)` log-mel "images", BasicBlock
//! stages, temporal statistics pooling (TSTP) and one linear embedding layer (`seg_1`).
//!
//! Differences from an image ResNet, as in wespeaker: a 3×3 stride-1 stem, no max-pooling, and
//! `m_channels` (32 for ResNet34) as the base width. Variable names equal wespeaker's state-dict
//! keys (`conv1.weight`, `bn1.running_mean`, `layer2.0.shortcut.0.weight`,
//! `layer2.0.shortcut.1.bias`, `seg_1.weight`, ...), so an `avg_model.pt` loads without renaming
//! (its `projection.*` head is not part of the backbone and is ignored).

use app_kit::registry::{parse, Arch, Preset};
use candle_core::{ModuleT, Result, Tensor};
use candle_nn::{Linear, Module, VarBuilder};
use serde::{Deserialize, Serialize};

use super::{add_relu, batch_norm, conv2d, relu, BatchNorm, Conv2d, NetShape, SpeakerModel};

fn preset(cfg: ResNetConfig) -> serde_json::Value {
    serde_json::to_value(cfg).expect("configs serialize")
}

/// The registry entry of the ResNet (`arch = "resnet"`): wespeaker's ResNet34 / ResNet18 and
/// the small CPU variant.
pub const ARCH: Arch<SpeakerModel> = Arch {
    name: "resnet",
    presets: &[
        Preset {
            name: "resnet34",
            config: || preset(ResNetConfig::resnet34()),
        },
        Preset {
            name: "resnet18",
            config: || preset(ResNetConfig::resnet18()),
        },
        Preset {
            name: "small",
            config: || preset(ResNetConfig::small()),
        },
    ],
    check: |fields| Ok(parse::<ResNetConfig>("resnet", fields)?.validate()?),
    build: |fields, vb| {
        let cfg: ResNetConfig = parse("resnet", fields)?;
        let dtype = vb.dtype();
        let shape = NetShape {
            arch: "resnet",
            feat_dim: cfg.feat_dim,
            embed_dim: cfg.embed_dim,
            // TSTP needs ⌈T/8⌉ ≥ 2 pooled frames.
            min_frames: 9,
        };
        Ok(Box::new(SpeakerModel::wrap(
            ResNet::new(&cfg, vb)?,
            shape,
            dtype,
        )))
    },
};

/// Shape of a wespeaker ResNet with BasicBlocks and TSTP pooling (`two_emb_layer=False`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResNetConfig {
    /// BasicBlocks per stage; stages 2–4 halve both feature and time resolution.
    pub num_blocks: [usize; 4],
    /// Width of the stem and of stage 1; stages 2–4 use 2×, 4×, 8×.
    pub m_channels: usize,
    /// Mel bins per frame (`F` of the `(B, T, F)` input); a multiple of 8.
    pub feat_dim: usize,
    /// Size of the embedding `seg_1` produces.
    pub embed_dim: usize,
}

impl ResNetConfig {
    /// wespeaker `ResNet34` in the VoxCeleb recipe (`conf/resnet.yaml`): blocks `[3, 4, 6, 3]`,
    /// width 32, 80 mel bins, 256-d embedding; 6,634,336 parameters.
    pub fn resnet34() -> Self {
        Self {
            num_blocks: [3, 4, 6, 3],
            m_channels: 32,
            feat_dim: 80,
            embed_dim: 256,
        }
    }

    /// wespeaker `ResNet18`: blocks `[2, 2, 2, 2]`, otherwise as [`ResNetConfig::resnet34`].
    pub fn resnet18() -> Self {
        Self {
            num_blocks: [2, 2, 2, 2],
            ..Self::resnet34()
        }
    }

    /// A CPU demo model: blocks `[1, 1, 1, 1]`, width 8, 128-d embedding (about 0.2M
    /// parameters), small enough that a batch of 32 × 200 frames trains in a fraction of a second.
    pub fn small() -> Self {
        Self {
            num_blocks: [1, 1, 1, 1],
            m_channels: 8,
            feat_dim: 80,
            embed_dim: 128,
        }
    }

    /// Checks that every size is usable (non-zero, `feat_dim` a multiple of 8).
    pub fn validate(&self) -> Result<()> {
        if self.m_channels == 0 || self.embed_dim == 0 || self.num_blocks.contains(&0) {
            candle_core::bail!("resnet config: sizes must be non-zero, got {self:?}")
        }
        if self.feat_dim == 0 || !self.feat_dim.is_multiple_of(8) {
            candle_core::bail!(
                "resnet config: feat_dim must be a positive multiple of 8 (three stride-2 stages), got {}",
                self.feat_dim
            )
        }
        Ok(())
    }

    /// Channels × feature bins after stage 4: `m_channels · 8 · feat_dim / 8`.
    fn stats_dim(&self) -> usize {
        self.m_channels * 8 * (self.feat_dim / 8)
    }
}

/// wespeaker's `BasicBlock`: conv3×3(s)-BN-ReLU-conv3×3-BN plus a shortcut (1×1 conv + BN when
/// the stride or width changes), then ReLU.
#[derive(Debug, Clone)]
struct BasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    shortcut: Option<(Conv2d, BatchNorm)>,
}

impl BasicBlock {
    fn new(in_planes: usize, planes: usize, stride: usize, vb: VarBuilder) -> Result<Self> {
        let shortcut = if stride != 1 || in_planes != planes {
            let sc = vb.pp("shortcut");
            Some((
                conv2d(in_planes, planes, 1, stride, 0, sc.pp(0))?,
                batch_norm(planes, true, sc.pp(1))?,
            ))
        } else {
            None
        };
        Ok(Self {
            conv1: conv2d(in_planes, planes, 3, stride, 1, vb.pp("conv1"))?,
            bn1: batch_norm(planes, true, vb.pp("bn1"))?,
            conv2: conv2d(planes, planes, 3, 1, 1, vb.pp("conv2"))?,
            bn2: batch_norm(planes, true, vb.pp("bn2"))?,
            shortcut,
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let out = relu(&self.bn1.forward_t(&self.conv1.forward(x)?, train)?)?;
        let out = self.bn2.forward_t(&self.conv2.forward(&out)?, train)?;
        let short = match &self.shortcut {
            Some((conv, bn)) => bn.forward_t(&conv.forward(x)?, train)?,
            None => x.clone(),
        };
        add_relu(&out, &short)
    }
}

/// wespeaker's ResNet with BasicBlocks: `(B, T, F)` features to `(B, embed_dim)` embeddings.
#[derive(Debug, Clone)]
pub struct ResNet {
    conv1: Conv2d,
    bn1: BatchNorm,
    layers: Vec<Vec<BasicBlock>>,
    seg_1: Linear,
}

impl ResNet {
    /// Builds the network, creating or loading every variable under wespeaker's names.
    pub fn new(cfg: &ResNetConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let m = cfg.m_channels;
        let mut in_planes = m;
        let mut layers = Vec::with_capacity(4);
        for (stage, &blocks) in cfg.num_blocks.iter().enumerate() {
            let planes = m << stage;
            let first_stride = if stage == 0 { 1 } else { 2 };
            let vb_stage = vb.pp(format!("layer{}", stage + 1));
            let mut stage_blocks = Vec::with_capacity(blocks);
            for i in 0..blocks {
                let stride = if i == 0 { first_stride } else { 1 };
                stage_blocks.push(BasicBlock::new(in_planes, planes, stride, vb_stage.pp(i))?);
                in_planes = planes;
            }
            layers.push(stage_blocks);
        }
        Ok(Self {
            conv1: conv2d(1, m, 3, 1, 1, vb.pp("conv1"))?,
            bn1: batch_norm(m, true, vb.pp("bn1"))?,
            layers,
            seg_1: candle_nn::linear(cfg.stats_dim() * 2, cfg.embed_dim, vb.pp("seg_1"))?,
        })
    }

    /// Frame-level maps `(B, 8·m_channels, F/8, ⌈T/8⌉)` from `(B, T, F)` features.
    pub fn frame_level(&self, feats: &Tensor, train: bool) -> Result<Tensor> {
        // (B, T, F) -> (B, 1, F, T): frequency is the image height, time the width.
        let x = feats.transpose(1, 2)?.unsqueeze(1)?.contiguous()?;
        let mut out = relu(&self.bn1.forward_t(&self.conv1.forward(&x)?, train)?)?;
        for block in self.layers.iter().flatten() {
            out = block.forward_t(&out, train)?;
        }
        Ok(out)
    }
}

impl ModuleT for ResNet {
    /// `(B, T, F)` → `(B, embed_dim)`; the shape checks live in [`super::SpeakerModel`].
    fn forward_t(&self, feats: &Tensor, train: bool) -> Result<Tensor> {
        let maps = self.frame_level(feats, train)?;
        let stats = super::pooling::tstp(&maps)?;
        self.seg_1.forward(&stats)
    }
}
