//! Face backbones for 112×112 aligned faces, with parameter names matching arcface_torch
//! checkpoints, so a converted `backbone.pth` loads without renaming.
//!
//! Every backbone builds its convolutions through [`conv2d`], and its batch norms and PReLUs
//! from `train_kit::conv`: train-kit's fast CPU layers, with candle-nn's variable names, shapes
//! and init, so checkpoints are unchanged. `train_kit::conv::set_implementation` switches them
//! all to candle's own ops (for parity tests and benchmarks).

pub mod iresnet;
pub mod mobilefacenet;

pub use iresnet::{IResNet, IResNetConfig};
pub use mobilefacenet::{MobileFaceNet, MobileFaceNetConfig};

use candle_core::{bail, Result, Tensor};
use candle_nn::{VarBuilder, VarMap};

/// Side of the square aligned face every backbone here takes: `(B, 3, 112, 112)`.
pub const INPUT_SIZE: usize = 112;

/// The convolution layer type every backbone uses (see [`conv2d`]): train-kit's fast layer.
pub type Conv = train_kit::conv::Conv2d;

/// Builds a bias-free square convolution (`weight` of shape `(out, in / groups, k, k)`), as
/// every arcface_torch backbone uses.
///
/// All backbones in this module build their convolutions here; the `weight` is created or
/// loaded exactly as by `candle_nn::conv2d_no_bias`.
pub fn conv2d(
    in_channels: usize,
    out_channels: usize,
    kernel_size: usize,
    stride: usize,
    padding: usize,
    groups: usize,
    vb: VarBuilder,
) -> Result<Conv> {
    if groups == 0 || !in_channels.is_multiple_of(groups) || !out_channels.is_multiple_of(groups) {
        bail!(
            "conv2d: {in_channels} -> {out_channels} channels cannot be split into {groups} groups"
        )
    }
    let cfg = train_kit::conv::Conv2dConfig {
        padding,
        stride,
        dilation: 1,
        groups,
        cudnn_fwd_algo: None,
    };
    train_kit::conv::conv2d_no_bias(in_channels, out_channels, kernel_size, cfg, vb)
}

/// Number of trainable scalars in `varmap`: every variable except BatchNorm running statistics
/// (names ending in `running_mean` / `running_var`).
///
/// Build a model with `VarBuilder::from_varmap` first; no forward pass is needed.
pub fn trainable_parameter_count(varmap: &VarMap) -> usize {
    let data = varmap
        .data()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    data.iter()
        .filter(|(name, _)| !name.ends_with("running_mean") && !name.ends_with("running_var"))
        .map(|(_, var)| var.elem_count())
        .sum()
}

/// Checks that `xs` is `(B, 3, 112, 112)` with `B ≥ 1` (`B ≥ 2` when `train`, since batch
/// statistics need two samples).
pub(crate) fn check_face_batch(model: &str, xs: &Tensor, train: bool) -> Result<()> {
    let dims = xs.dims();
    match *dims {
        [b, 3, INPUT_SIZE, INPUT_SIZE] if b >= 1 => {
            if train && b < 2 {
                bail!("{model}: train-mode forward needs a batch of at least 2 for BatchNorm statistics, got input {:?}", xs.shape())
            }
            Ok(())
        }
        _ => bail!(
            "{model}: expected input (B, 3, {INPUT_SIZE}, {INPUT_SIZE}) with B >= 1, got {:?}",
            xs.shape()
        ),
    }
}
