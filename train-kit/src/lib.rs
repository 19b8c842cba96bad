//! What every training run shares: optimizers, LR schedules, checkpoints and exact resume,
//! metrics logging and progress, and fast CPU kernels the backbones need.
//!
//! It knows parameters, gradients and time, not faces or voices.

pub mod conv;
