//! Integration tests of the `face-app` binary and its library (`face_app::models`).

mod data_cli;
mod models_fixtures;
mod models_iresnet;
mod models_mobilefacenet;
