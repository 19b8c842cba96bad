//! `face-app` library: the face backbones and their registry ([`models`]), embeddings with flip
//! TTA ([`embed`]), `.bin` validation ([`valbin`]), the inputs of `embed` ([`inputs`]) and faces
//! as app-kit's training app ([`train`], its own config keys in [`config`]), so tests and benches can drive them directly.

pub mod config;
pub mod embed;
pub mod inputs;
pub mod models;
pub mod train;
pub mod valbin;
