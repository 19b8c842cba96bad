//! The insightface IResNet basic block (BN-conv3x3-BN-PReLU-conv3x3-BN + residual), buildable
//! with candle-nn's convolutions or the fast ones on the same VarBuilder. Shared by the tests
//! and the `conv` bench.

use candle_core::{Module, ModuleT, Result, Tensor};
use candle_nn::{batch_norm, prelu, Conv2dConfig, VarBuilder};

/// Which layers a block uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvKind {
    /// `candle_nn::Conv2d` and `candle_nn::BatchNorm`.
    Candle,
    /// `train_kit::conv::Conv2d` and `candle_nn::BatchNorm`.
    FastConv,
    /// `train_kit::conv::{Conv2d, BatchNorm, PReLU}`.
    Fast,
}

fn bn(kind: ConvKind, c: usize, vb: VarBuilder) -> Result<Box<dyn ModuleT>> {
    Ok(match kind {
        ConvKind::Candle | ConvKind::FastConv => Box::new(batch_norm(c, 1e-5, vb)?),
        ConvKind::Fast => Box::new(train_kit::conv::batch_norm(c, 1e-5, vb)?),
    })
}

fn conv(
    kind: ConvKind,
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    vb: VarBuilder,
) -> Result<Box<dyn Module>> {
    let cfg = Conv2dConfig {
        padding: k / 2,
        stride,
        ..Default::default()
    };
    Ok(match kind {
        ConvKind::Candle => Box::new(candle_nn::conv2d_no_bias(c_in, c_out, k, cfg, vb)?),
        ConvKind::FastConv | ConvKind::Fast => {
            Box::new(train_kit::conv::conv2d_no_bias(c_in, c_out, k, cfg, vb)?)
        }
    })
}

/// `IBasicBlock` of insightface's `iresnet.py`, with the same parameter names.
pub struct IResNetBlock {
    bn1: Box<dyn ModuleT>,
    conv1: Box<dyn Module>,
    bn2: Box<dyn ModuleT>,
    prelu: Box<dyn Module>,
    conv2: Box<dyn Module>,
    bn3: Box<dyn ModuleT>,
    downsample: Option<(Box<dyn Module>, Box<dyn ModuleT>)>,
}

impl IResNetBlock {
    /// A block from `c_in` to `c_out` channels; `stride` 2 halves the size.
    pub fn new(
        c_in: usize,
        c_out: usize,
        stride: usize,
        kind: ConvKind,
        vb: VarBuilder,
    ) -> Result<Self> {
        let downsample = if stride != 1 || c_in != c_out {
            let ds = vb.pp("downsample");
            Some((
                conv(kind, c_in, c_out, 1, stride, ds.pp(0))?,
                bn(kind, c_out, ds.pp(1))?,
            ))
        } else {
            None
        };
        Ok(Self {
            bn1: bn(kind, c_in, vb.pp("bn1"))?,
            conv1: conv(kind, c_in, c_out, 3, 1, vb.pp("conv1"))?,
            bn2: bn(kind, c_out, vb.pp("bn2"))?,
            prelu: match kind {
                ConvKind::Candle | ConvKind::FastConv => {
                    Box::new(prelu(Some(c_out), vb.pp("prelu"))?)
                }
                ConvKind::Fast => Box::new(train_kit::conv::prelu(Some(c_out), vb.pp("prelu"))?),
            },
            conv2: conv(kind, c_out, c_out, 3, stride, vb.pp("conv2"))?,
            bn3: bn(kind, c_out, vb.pp("bn3"))?,
            downsample,
        })
    }

    /// `(B, C_in, H, W)` to `(B, C_out, H / stride, W / stride)`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let y = self.bn1.forward_t(x, train)?;
        let y = self.conv1.forward(&y)?;
        let y = self.bn2.forward_t(&y, train)?;
        let y = self.prelu.forward(&y)?;
        let y = self.conv2.forward(&y)?;
        let y = self.bn3.forward_t(&y, train)?;
        let identity = match &self.downsample {
            Some((conv, bn)) => bn.forward_t(&conv.forward(x)?, train)?,
            None => x.clone(),
        };
        y + identity
    }
}
