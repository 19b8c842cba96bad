//! Face backbones for 112×112 aligned faces, with parameter names matching arcface_torch
//! checkpoints, so a converted `backbone.pth` loads without renaming.
//!
//! [`REGISTRY`] lists them: each architecture is one file with its config and its
//! [`Arch`](app_kit::Arch) entry (presets, check, build). A new backbone is a new file here plus
//! one line in [`REGISTRY`].
//!
//! Every backbone builds its convolutions through [`conv2d`], and its batch norms and PReLUs
//! from `train_kit::conv`: train-kit's fast CPU layers, with candle-nn's variable names, shapes
//! and init, so checkpoints are unchanged. `train_kit::conv::set_implementation` switches them
//! all to candle's own ops (for parity tests and benchmarks).

pub mod iresnet;
pub mod mobilefacenet;

pub use iresnet::{IResNet, IResNetConfig};
pub use mobilefacenet::{MobileFaceNet, MobileFaceNetConfig};

use app_kit::{Backbone, Registry};
use candle_core::{bail, Result, Tensor};

/// Every face backbone: `(B, 3, 112, 112)` normalized images → `(B, D)` embeddings.
pub static REGISTRY: Registry<dyn Backbone> = Registry {
    archs: &[&iresnet::ARCH, &mobilefacenet::ARCH],
};

/// A preset's config fields as JSON.
fn preset(config: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(config).expect("backbone configs serialize to JSON")
}

/// Side of the square aligned face every backbone here takes: `(B, 3, 112, 112)`.
pub const INPUT_SIZE: usize = 112;

/// The convolution layer type every backbone uses (see [`conv2d`]): train-kit's fast layer.
pub type Conv = train_kit::conv::Conv2d;

/// Builds a bias-free square convolution (`weight` of shape `(out, in / groups, k, k)`), as
/// every arcface_torch backbone uses: train-kit's fast layer, its `weight` created or loaded
/// exactly as by `candle_nn::conv2d_no_bias`. All backbones here build their convolutions with it.
pub use train_kit::conv::square_conv2d as conv2d;

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
