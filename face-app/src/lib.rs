//! `face-app` library: the face backbones ([`models`]), trained-model folders ([`bundle`]) and
//! everything the binary's subcommands are built from, so tests can drive them directly.

pub mod bundle;
pub mod embed;
pub mod inputs;
pub mod model_source;
pub mod models;
pub mod train;
