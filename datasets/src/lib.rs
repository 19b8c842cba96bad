//! Readers and loaders for face and speech data, plus the embedded demo data.
//!
//! `datasets` knows formats, not models: it turns data on disk (or generated in memory) into
//! decoded, labelled samples and batches. Face formats live in [`face`], speech formats in
//! [`speech`], and the format-agnostic multi-threaded loader in [`loader`].

pub mod error;
pub mod face;
pub mod loader;
pub mod speech;
pub mod split;

pub use error::DataError;
