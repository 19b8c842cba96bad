//! `face-app` library: the face backbones ([`models`]) used by the binary and its tests.

pub mod models;
