//! `speaker-app train`: wespeaker's speaker-training recipe with alpha-loss's margins.
//!
//! Random chunks ([`data`]) with speed perturbation as extra classes and optional MUSAN noise /
//! RIR reverb ([`augment`]) → fbank with dither 1.0 and CMN → backbone → margin head (every
//! loss of alpha-loss, wespeaker's margin warm-up in [`margin_schedule`], A3M-I in [`a3mi`]) →
//! SGD with Nesterov momentum, linear warm-up and exponential decay, through train-kit's
//! `Trainer` (checkpoints, exact resume, `metrics.jsonl`, progress). At the end, held-out
//! speakers are scored ([`report`]) and the model is saved as a bundle with score thresholds.
//!
//! The run directory holds `config.toml` (the resolved config), `metrics.jsonl`,
//! `checkpoints/`, `report.json`, `det.png` and `model/` (`model.safetensors` + `config.json`).

pub mod a3mi;
pub mod augment;
pub mod config;
pub mod data;
pub mod margin_schedule;
pub mod report;
mod run;

pub use config::{Overrides, TrainConfig, DEMO_CONFIG};
pub use run::{train, RunOptions, TrainSummary};
