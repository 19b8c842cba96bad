//! End-to-end tests of the `speaker-app` binary.

mod bad_audio;
mod data_cli;
mod download_cli;
mod embed_api;
mod embed_cli;
mod eval_cli;
mod fbank;
mod fbank_cli;
mod models_arch;
mod models_fast_layers;
mod models_parity;
mod sweep_ci;
mod train_config;
mod train_run;
mod verify_cli;
