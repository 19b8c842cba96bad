//! Integration tests of the `face-app` binary and its library (`face_app::models`).

mod bundle;
mod data_cli;
mod download_cli;
mod embed_cli;
mod embed_support;
mod eval_cli;
mod ijb_cli;
mod models_fast_layers;
mod models_fixtures;
mod models_iresnet;
mod models_mobilefacenet;
mod sweep_ci;
mod train_errors;
mod train_resume;
mod train_run;
mod train_safety;
mod train_support;
mod verify_cli;
