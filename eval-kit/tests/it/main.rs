//! Integration tests of eval-kit against committed reference fixtures
//! (see `tests/fixtures/make_fixtures.py`).

mod bootstrap;
#[cfg(feature = "cli")]
mod cli;
mod errors;
mod fixtures;
mod heldout;
mod ijb;
mod metrics;
mod pairs;
mod scoring;
mod store;
