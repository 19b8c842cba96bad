//! Integration tests of app-kit: the shared run config, bundles, registries and flags.

mod bundle;
mod config;
mod flags;
mod sweep_spec;
