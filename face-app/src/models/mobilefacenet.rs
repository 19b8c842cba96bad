//! MobileFaceNet as arcface_torch builds it ("mbf"; insightface
//! `recognition/arcface_torch/backbones/mobilefacenet.py`, adapted there from cavaface).
//!
//! Building blocks: `ConvBlock` = conv → BN → PReLU, `LinearBlock` = conv → BN, and
//! `DepthWise(in, out, g)` = ConvBlock 1×1 (in → g) → ConvBlock 3×3 depthwise (g groups, with
//! the stride) → LinearBlock 1×1 (g → out), plus the input when residual. With `s = scale`:
//!
//! | `layers.i` | module | 112² input → |
//! |---|---|---|
//! | 0 | ConvBlock 3×3 s2, 3 → 64s | 56² |
//! | 1 | ConvBlock 3×3, 64s → 64s, 64 groups (if `blocks[0] == 1`), else `blocks[0]` residual DepthWise (g 128) | 56² |
//! | 2, 3 | DepthWise s2 64s → 64s (g 128); `blocks[1]` residual (g 128) | 28² |
//! | 4, 5 | DepthWise s2 64s → 128s (g 256); `blocks[2]` residual (g 256) | 14² |
//! | 6, 7 | DepthWise s2 128s → 128s (g 512); `blocks[3]` residual (g 256) | 7² |
//!
//! then `conv_sep` (ConvBlock 1×1, 128s → 512) and the GDC head `features`: LinearBlock 7×7
//! depthwise (512 groups) → flatten → `Linear(512 → embedding_dim, no bias)` → BatchNorm1d.
//! Every BatchNorm uses PyTorch's defaults (eps 1e-5, momentum 0.1). The group counts 64, 128,
//! 256, 512 are fixed, independent of the scale, as upstream. Parameter names are the
//! arcface_torch `state_dict` keys (`layers.2.layers.1.layers.0.weight`,
//! `features.layers.3.running_var`, ...).

use std::path::Path;

use candle_core::{bail, DType, Device, ModuleT, Result, Tensor};
use candle_nn::{BatchNormConfig, Linear, VarBuilder};
use train_kit::conv::{BatchNorm, PReLU};

use app_kit::registry::{parse, Arch, Backbone, Preset};

use super::{check_face_batch, conv2d, preset, Conv};

/// Shape of a [`MobileFaceNet`].
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MobileFaceNetConfig {
    /// Residual DepthWise blocks per stage (see the [module docs](self); `blocks[0] == 1`
    /// means the single grouped ConvBlock instead).
    pub blocks: [usize; 4],
    /// Channel multiplier: stages have 64·scale, 64·scale, 128·scale, 128·scale channels.
    pub scale: usize,
    /// Size of the output embedding (arcface_torch `num_features`).
    pub embedding_dim: usize,
}

impl MobileFaceNetConfig {
    /// arcface_torch "mbf": blocks `(1, 4, 6, 2)`, scale 2, 512-d; 2,059,520 trainable
    /// parameters (about 0.45 GMACs).
    pub fn mbf() -> Self {
        Self {
            blocks: [1, 4, 6, 2],
            scale: 2,
            embedding_dim: 512,
        }
    }

    /// arcface_torch "mbf_large": blocks `(2, 8, 12, 4)`, scale 4, 512-d.
    pub fn mbf_large() -> Self {
        Self {
            blocks: [2, 8, 12, 4],
            scale: 4,
            embedding_dim: 512,
        }
    }

    /// Checks the block counts, scale and embedding size.
    pub fn validate(&self) -> Result<()> {
        if self.scale == 0 || self.embedding_dim == 0 {
            bail!(
                "MobileFaceNetConfig: scale and embedding_dim must be positive, got {} and {}",
                self.scale,
                self.embedding_dim
            )
        }
        Ok(())
    }
}

/// The registry entry of MobileFaceNet (`arch = "mobilefacenet"`): arcface_torch's mbf and
/// mbf_large.
pub const ARCH: Arch<dyn Backbone> = Arch {
    name: "mobilefacenet",
    presets: &[
        Preset {
            name: "mbf",
            config: || preset(MobileFaceNetConfig::mbf()),
        },
        Preset {
            name: "mbf-large",
            config: || preset(MobileFaceNetConfig::mbf_large()),
        },
    ],
    check: |fields| Ok(parse::<MobileFaceNetConfig>("mobilefacenet", fields)?.validate()?),
    build: |fields, vb| {
        Ok(Box::new(MobileFaceNet::new(
            &parse("mobilefacenet", fields)?,
            vb,
        )?))
    },
};

fn batch_norm(channels: usize, vb: VarBuilder) -> Result<BatchNorm> {
    train_kit::conv::batch_norm(channels, BatchNormConfig::default(), vb)
}

/// `ConvBlock` (with PReLU) or `LinearBlock` (without): `layers.0` conv, `layers.1` BN,
/// `layers.2` PReLU.
#[derive(Debug, Clone)]
struct ConvBn {
    conv: Conv,
    bn: BatchNorm,
    prelu: Option<PReLU>,
}

/// Kernel, stride, padding and groups of one conv.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    kernel: usize,
    stride: usize,
    padding: usize,
    groups: usize,
}

const POINTWISE: Geometry = Geometry {
    kernel: 1,
    stride: 1,
    padding: 0,
    groups: 1,
};

impl ConvBn {
    fn new(cin: usize, cout: usize, g: Geometry, activation: bool, vb: VarBuilder) -> Result<Self> {
        let vb = vb.pp("layers");
        let conv = conv2d(cin, cout, g.kernel, g.stride, g.padding, g.groups, vb.pp(0))?;
        let bn = batch_norm(cout, vb.pp(1))?;
        let prelu = if activation {
            Some(train_kit::conv::prelu(Some(cout), vb.pp(2))?)
        } else {
            None
        };
        Ok(Self { conv, bn, prelu })
    }
}

impl ModuleT for ConvBn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let x = xs.apply(&self.conv)?.apply_t(&self.bn, train)?;
        match &self.prelu {
            Some(p) => x.apply(p),
            None => Ok(x),
        }
    }
}

/// arcface_torch `DepthWise`: `layers.0` expand, `layers.1` depthwise 3×3, `layers.2` project.
#[derive(Debug, Clone)]
struct DepthWise {
    expand: ConvBn,
    depthwise: ConvBn,
    project: ConvBn,
    residual: bool,
}

impl DepthWise {
    fn new(
        cin: usize,
        cout: usize,
        groups: usize,
        stride: usize,
        residual: bool,
        vb: VarBuilder,
    ) -> Result<Self> {
        let vb = vb.pp("layers");
        let dw = Geometry {
            kernel: 3,
            stride,
            padding: 1,
            groups,
        };
        Ok(Self {
            expand: ConvBn::new(cin, groups, POINTWISE, true, vb.pp(0))?,
            depthwise: ConvBn::new(groups, groups, dw, true, vb.pp(1))?,
            project: ConvBn::new(groups, cout, POINTWISE, false, vb.pp(2))?,
            residual,
        })
    }

    /// arcface_torch `Residual`: `n` residual DepthWise blocks under `layers.i`.
    fn residual_stack(c: usize, n: usize, groups: usize, vb: VarBuilder) -> Result<Vec<Unit>> {
        let vb = vb.pp("layers");
        (0..n)
            .map(|i| {
                Self::new(c, c, groups, 1, true, vb.pp(i)).map(|d| Unit::DepthWise(Box::new(d)))
            })
            .collect()
    }
}

impl ModuleT for DepthWise {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let y = xs
            .apply_t(&self.expand, train)?
            .apply_t(&self.depthwise, train)?
            .apply_t(&self.project, train)?;
        if self.residual {
            y + xs
        } else {
            Ok(y)
        }
    }
}

/// One step of the trunk (`Residual` stacks are flattened into their blocks).
#[derive(Debug, Clone)]
enum Unit {
    Conv(ConvBn),
    DepthWise(Box<DepthWise>),
}

impl ModuleT for Unit {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            Unit::Conv(c) => c.forward_t(xs, train),
            Unit::DepthWise(d) => d.forward_t(xs, train),
        }
    }
}

/// MobileFaceNet face backbone (arcface_torch flavour); see the [module docs](self).
#[derive(Debug, Clone)]
pub struct MobileFaceNet {
    cfg: MobileFaceNetConfig,
    trunk: Vec<Unit>,
    conv_sep: ConvBn,
    gdc: ConvBn,
    linear: Linear,
    bn: BatchNorm,
}

impl MobileFaceNet {
    /// Builds the model, reading (or, from a `VarMap`, creating) every tensor under the
    /// arcface_torch `state_dict` names. Errors name a missing or mis-shaped tensor.
    pub fn new(cfg: &MobileFaceNetConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let c1 = 64 * cfg.scale;
        let c2 = 128 * cfg.scale;
        let vl = vb.pp("layers");
        let stem = Geometry {
            kernel: 3,
            stride: 2,
            padding: 1,
            groups: 1,
        };
        let mut trunk = vec![Unit::Conv(ConvBn::new(3, c1, stem, true, vl.pp(0))?)];
        if cfg.blocks[0] == 1 {
            let g = Geometry {
                kernel: 3,
                stride: 1,
                padding: 1,
                groups: 64,
            };
            trunk.push(Unit::Conv(ConvBn::new(c1, c1, g, true, vl.pp(1))?));
        } else {
            trunk.extend(DepthWise::residual_stack(c1, cfg.blocks[0], 128, vl.pp(1))?);
        }
        trunk.push(Unit::DepthWise(Box::new(DepthWise::new(
            c1,
            c1,
            128,
            2,
            false,
            vl.pp(2),
        )?)));
        trunk.extend(DepthWise::residual_stack(c1, cfg.blocks[1], 128, vl.pp(3))?);
        trunk.push(Unit::DepthWise(Box::new(DepthWise::new(
            c1,
            c2,
            256,
            2,
            false,
            vl.pp(4),
        )?)));
        trunk.extend(DepthWise::residual_stack(c2, cfg.blocks[2], 256, vl.pp(5))?);
        trunk.push(Unit::DepthWise(Box::new(DepthWise::new(
            c2,
            c2,
            512,
            2,
            false,
            vl.pp(6),
        )?)));
        trunk.extend(DepthWise::residual_stack(c2, cfg.blocks[3], 256, vl.pp(7))?);

        let conv_sep = ConvBn::new(c2, 512, POINTWISE, true, vb.pp("conv_sep"))?;
        let vf = vb.pp("features").pp("layers");
        let gdc_geometry = Geometry {
            kernel: 7,
            stride: 1,
            padding: 0,
            groups: 512,
        };
        let gdc = ConvBn::new(512, 512, gdc_geometry, false, vf.pp(0))?;
        let linear = candle_nn::linear_no_bias(512, cfg.embedding_dim, vf.pp(2))?;
        let bn = batch_norm(cfg.embedding_dim, vf.pp(3))?;
        Ok(Self {
            cfg: cfg.clone(),
            trunk,
            conv_sep,
            gdc,
            linear,
            bn,
        })
    }

    /// Loads fp32 weights from a safetensors file holding an arcface_torch MobileFaceNet
    /// `state_dict`. Extra tensors are ignored; a missing or mis-shaped one is an error naming
    /// it and the file.
    pub fn from_safetensors(
        cfg: &MobileFaceNetConfig,
        path: impl AsRef<Path>,
        device: &Device,
    ) -> Result<Self> {
        let path = path.as_ref();
        let loaded = candle_core::safetensors::load(path, device).and_then(|tensors| {
            Self::new(cfg, VarBuilder::from_tensors(tensors, DType::F32, device))
        });
        loaded.map_err(|e| {
            e.context(format!(
                "loading MobileFaceNet weights from {}",
                path.display()
            ))
        })
    }

    /// The config this model was built with.
    pub fn config(&self) -> &MobileFaceNetConfig {
        &self.cfg
    }
}

impl Backbone for MobileFaceNet {
    fn embedding_dim(&self) -> usize {
        self.cfg.embedding_dim
    }
}

impl ModuleT for MobileFaceNet {
    /// `(B, 3, 112, 112)` in [-1, 1] → `(B, embedding_dim)`, not L2-normalised.
    ///
    /// `train` selects batch statistics (and updates the running ones); it needs `B ≥ 2`.
    /// Any other input shape is an error.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        check_face_batch("MobileFaceNet", xs, train)?;
        let mut x = xs.clone();
        for unit in &self.trunk {
            x = x.apply_t(unit, train)?;
        }
        x.apply_t(&self.conv_sep, train)?
            .apply_t(&self.gdc, train)?
            .flatten_from(1)?
            .apply(&self.linear)?
            .apply_t(&self.bn, train)
    }
}
