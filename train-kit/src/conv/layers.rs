//! `Conv2d` and `Conv1d` layers: drop-in replacements for candle-nn's, with the same
//! VarBuilder names (`weight`, `bias`), shapes, initialisation and config structs, so
//! checkpoints do not change. They run the fast kernels on CPU and candle's ops elsewhere.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv1dConfig, Conv2dConfig, VarBuilder};

use super::ops;

/// A 2-D convolution layer: `(N, C_in, H, W)` to `(N, C_out, OH, OW)`.
#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    config: Conv2dConfig,
}

impl Conv2d {
    /// A layer from a `(C_out, C_in / groups, K, K)` weight and an optional `(C_out,)` bias.
    pub fn new(weight: Tensor, bias: Option<Tensor>, config: Conv2dConfig) -> Self {
        Self {
            weight,
            bias,
            config,
        }
    }

    /// The weight, `(C_out, C_in / groups, KH, KW)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, `(C_out,)`, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// Padding, stride, dilation and groups.
    pub fn config(&self) -> &Conv2dConfig {
        &self.config
    }
}

impl From<candle_nn::Conv2d> for Conv2d {
    fn from(layer: candle_nn::Conv2d) -> Self {
        Self::new(
            layer.weight().clone(),
            layer.bias().cloned(),
            *layer.config(),
        )
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        let y = if x.device().is_cpu() {
            ops::conv2d(x, &self.weight, c.padding, c.stride, c.dilation, c.groups)?
        } else {
            ops::candle_conv2d(
                x,
                &self.weight,
                c.padding,
                c.stride,
                c.dilation,
                c.groups,
                c.cudnn_fwd_algo,
            )?
        };
        match &self.bias {
            None => Ok(y),
            Some(bias) => y.broadcast_add(&bias.reshape((1, (), 1, 1))?),
        }
    }
}

/// A 1-D convolution layer: `(N, C_in, L)` to `(N, C_out, OL)`.
#[derive(Debug, Clone)]
pub struct Conv1d {
    weight: Tensor,
    bias: Option<Tensor>,
    config: Conv1dConfig,
}

impl Conv1d {
    /// A layer from a `(C_out, C_in / groups, K)` weight and an optional `(C_out,)` bias.
    pub fn new(weight: Tensor, bias: Option<Tensor>, config: Conv1dConfig) -> Self {
        Self {
            weight,
            bias,
            config,
        }
    }

    /// The weight, `(C_out, C_in / groups, K)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, `(C_out,)`, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// Padding, stride, dilation and groups.
    pub fn config(&self) -> &Conv1dConfig {
        &self.config
    }
}

impl From<candle_nn::Conv1d> for Conv1d {
    fn from(layer: candle_nn::Conv1d) -> Self {
        Self::new(
            layer.weight().clone(),
            layer.bias().cloned(),
            *layer.config(),
        )
    }
}

impl Module for Conv1d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        let y = if x.device().is_cpu() {
            ops::conv1d(x, &self.weight, c.padding, c.stride, c.dilation, c.groups)?
        } else {
            ops::candle_conv1d(
                x,
                &self.weight,
                c.padding,
                c.stride,
                c.dilation,
                c.groups,
                c.cudnn_fwd_algo,
            )?
        };
        match &self.bias {
            None => Ok(y),
            Some(bias) => y.broadcast_add(&bias.reshape((1, (), 1))?),
        }
    }
}

/// A [`Conv2d`] with bias, created or loaded exactly as [`candle_nn::conv2d`] does.
pub fn conv2d(
    in_channels: usize,
    out_channels: usize,
    kernel_size: usize,
    cfg: Conv2dConfig,
    vb: VarBuilder,
) -> Result<Conv2d> {
    candle_nn::conv2d(in_channels, out_channels, kernel_size, cfg, vb).map(Conv2d::from)
}

/// A [`Conv2d`] without bias, created or loaded exactly as [`candle_nn::conv2d_no_bias`] does.
pub fn conv2d_no_bias(
    in_channels: usize,
    out_channels: usize,
    kernel_size: usize,
    cfg: Conv2dConfig,
    vb: VarBuilder,
) -> Result<Conv2d> {
    candle_nn::conv2d_no_bias(in_channels, out_channels, kernel_size, cfg, vb).map(Conv2d::from)
}

/// A bias-free square convolution (`weight` of shape `(out, in / groups, k, k)`, dilation 1), as
/// the face and speaker backbones build theirs; a channel count the groups do not divide is an
/// error naming both.
pub fn square_conv2d(
    in_channels: usize,
    out_channels: usize,
    kernel_size: usize,
    stride: usize,
    padding: usize,
    groups: usize,
    vb: VarBuilder,
) -> Result<Conv2d> {
    if groups == 0 || !in_channels.is_multiple_of(groups) || !out_channels.is_multiple_of(groups) {
        candle_core::bail!(
            "conv2d: {in_channels} -> {out_channels} channels cannot be split into {groups} groups"
        )
    }
    let cfg = Conv2dConfig {
        padding,
        stride,
        dilation: 1,
        groups,
        cudnn_fwd_algo: None,
    };
    conv2d_no_bias(in_channels, out_channels, kernel_size, cfg, vb)
}

/// A [`Conv1d`] with bias, created or loaded exactly as [`candle_nn::conv1d`] does.
pub fn conv1d(
    in_channels: usize,
    out_channels: usize,
    kernel_size: usize,
    cfg: Conv1dConfig,
    vb: VarBuilder,
) -> Result<Conv1d> {
    candle_nn::conv1d(in_channels, out_channels, kernel_size, cfg, vb).map(Conv1d::from)
}

/// A [`Conv1d`] without bias, created or loaded exactly as [`candle_nn::conv1d_no_bias`] does.
pub fn conv1d_no_bias(
    in_channels: usize,
    out_channels: usize,
    kernel_size: usize,
    cfg: Conv1dConfig,
    vb: VarBuilder,
) -> Result<Conv1d> {
    candle_nn::conv1d_no_bias(in_channels, out_channels, kernel_size, cfg, vb).map(Conv1d::from)
}
