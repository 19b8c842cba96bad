//! ECAPA-TDNN as wespeaker builds it (`wespeaker/models/ecapa_tdnn.py`, `ECAPA_TDNN_GLOB_c512` /
//! `_c1024`; Desplanques et al., arXiv:2005.07143): a 1-D TDNN over `(B, F, T)` with three
//! SE-Res2Net blocks (dilations 2, 3, 4), multi-layer feature aggregation, attentive statistics
//! pooling with global context (ASTP) and a BatchNorm + linear embedding.
//!
//! wespeaker details kept here: every "Conv1dReluBn" is conv → ReLU → BN (in that order); the
//! Res2Net split passes its **last** chunk through unchanged; the aggregation conv maps
//! `3·channels` to 1536 channels for both c512 and c1024 (`pool_channels`). Variable names equal
//! wespeaker's state-dict keys (`layer1.conv.weight`, `layer2.se_res2block.1.convs.0.weight`,
//! `layer3.se_res2block.3.linear1.bias`, `pool.linear1.weight`, `bn.running_var`,
//! `linear.weight`, ...).

use app_kit::registry::{parse, Arch, Preset};
use candle_core::{ModuleT, Result, Tensor, D};
use candle_nn::{Linear, Module, VarBuilder};
use serde::{Deserialize, Serialize};

use super::{batch_norm, conv1d, relu, BatchNorm, Conv1d, NetShape, SpeakerModel};

fn preset(cfg: EcapaConfig) -> serde_json::Value {
    serde_json::to_value(cfg).expect("configs serialize")
}

/// The registry entry of ECAPA-TDNN (`arch = "ecapa"`): wespeaker's c512 and c1024.
pub const ARCH: Arch<SpeakerModel> = Arch {
    name: "ecapa",
    presets: &[
        Preset {
            name: "ecapa-c512",
            config: || preset(EcapaConfig::c512()),
        },
        Preset {
            name: "ecapa-c1024",
            config: || preset(EcapaConfig::c1024()),
        },
    ],
    check: |fields| Ok(parse::<EcapaConfig>("ecapa", fields)?.validate()?),
    build: |fields, vb| {
        let cfg: EcapaConfig = parse("ecapa", fields)?;
        let dtype = vb.dtype();
        let shape = NetShape {
            arch: "ecapa",
            feat_dim: cfg.feat_dim,
            embed_dim: cfg.embed_dim,
            // ASTP's standard deviation needs two frames.
            min_frames: 2,
        };
        Ok(Box::new(SpeakerModel::wrap(
            EcapaTdnn::new(&cfg, vb)?,
            shape,
            dtype,
        )))
    },
};

/// Shape of a wespeaker ECAPA-TDNN with ASTP pooling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcapaConfig {
    /// Width `C` of the TDNN and SE-Res2Net blocks (512 or 1024 upstream).
    pub channels: usize,
    /// Mel bins per frame (`F` of the `(B, T, F)` input).
    pub feat_dim: usize,
    /// Size of the embedding.
    pub embed_dim: usize,
    /// Output channels of the aggregation conv, pooled by ASTP (wespeaker fixes 512·3 = 1536).
    pub pool_channels: usize,
    /// Bottleneck of the ASTP attention (wespeaker: 128).
    pub attention_dim: usize,
    /// Bottleneck of the squeeze-excitation layers (wespeaker: 128).
    pub se_bottleneck: usize,
    /// Res2Net scale: number of chunks each block splits its channels into (wespeaker: 8).
    pub res2_scale: usize,
    /// ASTP attention sees the utterance mean and std next to each frame (the `GLOB` models).
    pub global_context: bool,
    /// A BatchNorm (`bn2`) after the embedding layer (wespeaker's `emb_bn`, off in the recipes).
    pub emb_bn: bool,
}

impl EcapaConfig {
    /// wespeaker `ECAPA_TDNN_GLOB_c512`: 512 channels, 192-d embedding; 6,190,720 parameters.
    pub fn c512() -> Self {
        Self {
            channels: 512,
            feat_dim: 80,
            embed_dim: 192,
            pool_channels: 1536,
            attention_dim: 128,
            se_bottleneck: 128,
            res2_scale: 8,
            global_context: true,
            emb_bn: false,
        }
    }

    /// wespeaker `ECAPA_TDNN_GLOB_c1024`: 1024 channels, 192-d embedding; 14,657,088 parameters.
    pub fn c1024() -> Self {
        Self {
            channels: 1024,
            ..Self::c512()
        }
    }

    /// Checks that every size is usable (non-zero, `channels` divisible by `res2_scale`).
    pub fn validate(&self) -> Result<()> {
        let sizes = [
            self.channels,
            self.feat_dim,
            self.embed_dim,
            self.pool_channels,
            self.attention_dim,
            self.se_bottleneck,
            self.res2_scale,
        ];
        if sizes.contains(&0) {
            candle_core::bail!("ecapa config: sizes must be non-zero, got {self:?}")
        }
        if !self.channels.is_multiple_of(self.res2_scale) {
            candle_core::bail!(
                "ecapa config: channels {} must be divisible by res2_scale {}",
                self.channels,
                self.res2_scale
            )
        }
        Ok(())
    }
}

/// wespeaker's `Conv1dReluBn`: conv (with bias) → ReLU → BN.
#[derive(Debug, Clone)]
struct ConvReluBn {
    conv: Conv1d,
    bn: BatchNorm,
}

impl ConvReluBn {
    fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        padding: usize,
        dilation: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        Ok(Self {
            conv: conv1d(c_in, c_out, kernel, padding, dilation, vb.pp("conv"))?,
            bn: batch_norm(c_out, true, vb.pp("bn"))?,
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.bn.forward_t(&relu(&self.conv.forward(x)?)?, train)
    }
}

/// wespeaker's `Res2Conv1dReluBn`: `scale` chunks; chunk `i < scale - 1` goes through
/// conv → ReLU → BN after adding the previous chunk's output; the last chunk passes through.
#[derive(Debug, Clone)]
struct Res2ConvReluBn {
    convs: Vec<Conv1d>,
    bns: Vec<BatchNorm>,
    width: usize,
}

impl Res2ConvReluBn {
    fn new(channels: usize, scale: usize, dilation: usize, vb: VarBuilder) -> Result<Self> {
        let width = channels / scale;
        let nums = if scale == 1 { 1 } else { scale - 1 };
        let mut convs = Vec::with_capacity(nums);
        let mut bns = Vec::with_capacity(nums);
        for i in 0..nums {
            convs.push(conv1d(
                width,
                width,
                3,
                dilation,
                dilation,
                vb.pp("convs").pp(i),
            )?);
            bns.push(batch_norm(width, true, vb.pp("bns").pp(i))?);
        }
        Ok(Self { convs, bns, width })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut out = Vec::with_capacity(self.convs.len() + 1);
        let mut sp: Option<Tensor> = None;
        for (i, (conv, bn)) in self.convs.iter().zip(&self.bns).enumerate() {
            let chunk = x.narrow(1, i * self.width, self.width)?;
            let input = match sp {
                None => chunk,
                Some(prev) => (prev + chunk)?,
            };
            let y = bn.forward_t(&relu(&conv.forward(&input.contiguous()?)?)?, train)?;
            out.push(y.clone());
            sp = Some(y);
        }
        let chunks = x.dim(1)? / self.width;
        if chunks != 1 {
            out.push(x.narrow(1, self.convs.len() * self.width, self.width)?);
        }
        Tensor::cat(&out, 1)
    }
}

/// wespeaker's `SE_Connect`: time mean → linear → ReLU → linear → sigmoid, scaling each channel.
#[derive(Debug, Clone)]
struct SqueezeExcite {
    linear1: Linear,
    linear2: Linear,
}

impl SqueezeExcite {
    fn new(channels: usize, bottleneck: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            linear1: candle_nn::linear(channels, bottleneck, vb.pp("linear1"))?,
            linear2: candle_nn::linear(bottleneck, channels, vb.pp("linear2"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let s = x.mean(D::Minus1)?;
        let s = self.linear1.forward(&s)?.relu()?;
        let s = candle_nn::ops::sigmoid(&self.linear2.forward(&s)?)?;
        x.broadcast_mul(&s.unsqueeze(2)?)
    }
}

/// wespeaker's `SE_Res2Block`: `x + SE(conv1×1(Res2(conv1×1(x))))`, stored as the
/// `se_res2block` sequential (indices 0–3).
#[derive(Debug, Clone)]
struct SeRes2Block {
    pre: ConvReluBn,
    res2: Res2ConvReluBn,
    post: ConvReluBn,
    se: SqueezeExcite,
}

impl SeRes2Block {
    fn new(cfg: &EcapaConfig, dilation: usize, vb: VarBuilder) -> Result<Self> {
        let c = cfg.channels;
        let vb = vb.pp("se_res2block");
        Ok(Self {
            pre: ConvReluBn::new(c, c, 1, 0, 1, vb.pp(0))?,
            res2: Res2ConvReluBn::new(c, cfg.res2_scale, dilation, vb.pp(1))?,
            post: ConvReluBn::new(c, c, 1, 0, 1, vb.pp(2))?,
            se: SqueezeExcite::new(c, cfg.se_bottleneck, vb.pp(3))?,
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let out = self.pre.forward_t(x, train)?;
        let out = self.res2.forward_t(&out, train)?;
        let out = self.post.forward_t(&out, train)?;
        x + self.se.forward(&out)?
    }
}

/// wespeaker's `ASTP`: attentive statistics pooling, `(B, C, T)` → `(B, 2C)` (weighted means then
/// weighted standard deviations); with `global_context` the attention also sees the utterance
/// mean and unbiased std of each channel.
#[derive(Debug, Clone)]
struct AttentiveStatsPool {
    linear1: Conv1d,
    linear2: Conv1d,
    global_context: bool,
}

impl AttentiveStatsPool {
    fn new(cfg: &EcapaConfig, vb: VarBuilder) -> Result<Self> {
        let c = cfg.pool_channels;
        let c_in = if cfg.global_context { 3 * c } else { c };
        Ok(Self {
            linear1: conv1d(c_in, cfg.attention_dim, 1, 0, 1, vb.pp("linear1"))?,
            linear2: conv1d(cfg.attention_dim, c, 1, 0, 1, vb.pp("linear2"))?,
            global_context: cfg.global_context,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x_in = if self.global_context {
            let (mean, std) = super::pooling::mean_std_keepdim(x)?;
            let shape = x.shape();
            Tensor::cat(
                &[
                    x.clone(),
                    mean.broadcast_as(shape)?.contiguous()?,
                    std.broadcast_as(shape)?.contiguous()?,
                ],
                1,
            )?
        } else {
            x.clone()
        };
        let alpha = self.linear1.forward(&x_in)?.tanh()?;
        let alpha = candle_nn::ops::softmax(&self.linear2.forward(&alpha)?, D::Minus1)?;
        let mean = (&alpha * x)?.sum(D::Minus1)?;
        let var = ((&alpha * x.sqr()?)?.sum(D::Minus1)? - mean.sqr()?)?;
        let std = var.clamp(super::pooling::STD_EPS, f64::INFINITY)?.sqrt()?;
        Tensor::cat(&[mean, std], 1)
    }
}

/// wespeaker's ECAPA-TDNN: `(B, T, F)` features to `(B, embed_dim)` embeddings.
#[derive(Debug, Clone)]
pub struct EcapaTdnn {
    layer1: ConvReluBn,
    blocks: [SeRes2Block; 3],
    conv: Conv1d,
    pool: AttentiveStatsPool,
    bn: BatchNorm,
    linear: Linear,
    bn2: Option<BatchNorm>,
}

impl EcapaTdnn {
    /// Builds the network, creating or loading every variable under wespeaker's names.
    pub fn new(cfg: &EcapaConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let c = cfg.channels;
        let pooled = 2 * cfg.pool_channels;
        Ok(Self {
            layer1: ConvReluBn::new(cfg.feat_dim, c, 5, 2, 1, vb.pp("layer1"))?,
            blocks: [
                SeRes2Block::new(cfg, 2, vb.pp("layer2"))?,
                SeRes2Block::new(cfg, 3, vb.pp("layer3"))?,
                SeRes2Block::new(cfg, 4, vb.pp("layer4"))?,
            ],
            conv: conv1d(3 * c, cfg.pool_channels, 1, 0, 1, vb.pp("conv"))?,
            pool: AttentiveStatsPool::new(cfg, vb.pp("pool"))?,
            bn: batch_norm(pooled, true, vb.pp("bn"))?,
            linear: candle_nn::linear(pooled, cfg.embed_dim, vb.pp("linear"))?,
            bn2: if cfg.emb_bn {
                Some(batch_norm(cfg.embed_dim, true, vb.pp("bn2"))?)
            } else {
                None
            },
        })
    }
}

impl ModuleT for EcapaTdnn {
    /// `(B, T, F)` → `(B, embed_dim)`; the shape checks live in [`super::SpeakerModel`].
    fn forward_t(&self, feats: &Tensor, train: bool) -> Result<Tensor> {
        let x = feats.transpose(1, 2)?.contiguous()?; // (B, T, F) -> (B, F, T)
        let out1 = self.layer1.forward_t(&x, train)?;
        let out2 = self.blocks[0].forward_t(&out1, train)?;
        let out3 = self.blocks[1].forward_t(&out2, train)?;
        let out4 = self.blocks[2].forward_t(&out3, train)?;
        let cat = Tensor::cat(&[out2, out3, out4], 1)?;
        let out = relu(&self.conv.forward(&cat)?)?;
        let out = self.bn.forward_t(&self.pool.forward(&out)?, train)?;
        let out = self.linear.forward(&out)?;
        match &self.bn2 {
            Some(bn2) => bn2.forward_t(&out, train),
            None => Ok(out),
        }
    }
}
