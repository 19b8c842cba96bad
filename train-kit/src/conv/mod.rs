//! Fast CPU convolutions for training: candle custom ops with their own backward, built on
//! im2col + the `gemm` crate (direct kernels for depthwise), parallel over the batch.
//!
//! Backbones switch by importing [`Conv2d`]/[`Conv1d`] and the [`conv2d`]/[`conv1d`]
//! constructors from here instead of `candle_nn`: the VarBuilder names, shapes, init and config
//! structs are candle-nn's, so checkpoints are unchanged. On other devices, or for dtypes other
//! than f32/f64, the layers run candle's own ops. [`ops`] has the functional forms.
//!
//! [`BatchNorm`] (from [`batch_norm`]) does the same for candle-nn's batch norm: a fused
//! train-mode forward and closed-form backward, with the same variables and running-stat updates;
//! [`PReLU`] (from [`prelu`]) likewise for candle-nn's per-channel PReLU; [`relu`] and
//! [`add_relu`] replace candle's single-threaded ReLU and residual add.
//!
//! [`set_implementation`] (or the scoped [`with_implementation`]) switches all of them, for the
//! whole process, between the fast kernels ([`Implementation::Fast`], the default) and candle's
//! own ops ([`Implementation::Candle`]), so the same backbone on the same weights can be
//! compared or timed both ways.

mod activation;
mod batch_norm;
mod bn_kernels;
mod custom_op;
mod depthwise;
mod elem;
mod gemm_conv;
mod geometry;
mod im2col;
mod layers;
mod matmul;
pub mod ops;
mod prelu;
mod storage;
mod switch;

pub use activation::{add_relu, relu};
pub use batch_norm::{batch_norm, BatchNorm};
pub use candle_nn::{Conv1dConfig, Conv2dConfig};
pub use layers::{conv1d, conv1d_no_bias, conv2d, conv2d_no_bias, square_conv2d, Conv1d, Conv2d};
pub use prelu::{prelu, PReLU};
pub use switch::{implementation, set_implementation, with_implementation, Implementation};
