//! Integration tests of alpha-loss against independent references.

mod config;
mod edge_cases;
mod errors;
mod helpers;
mod identities;
mod margins;
mod reference;
mod run_support;
