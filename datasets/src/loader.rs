//! The format-agnostic loader: multi-threaded decode, bounded prefetch, deterministic shuffling, resumable position.
//!
//! A data set implements [`Source`] (length, labels, `load(i, rng)`); its samples implement
//! [`Collate`] (the ready-made [`TensorSample`] does). [`Loader`] turns a source into batches of
//! candle tensors, in an order fixed by `(seed, epoch)`, with per-item randomness fixed by
//! `(seed, epoch, index)`, so that thread scheduling never changes what a run sees, and a saved
//! [`Position`] resumes exactly. Items whose `load` fails are skipped, counted and reported in
//! every [`Batch`] and in the [`SkipReport`].

mod batch;
mod iter;
mod map;
mod order;
mod sample;
mod skip;
mod source;

pub use batch::Batch;
pub use iter::{EpochIter, Loader, LoaderConfig, Stream};
pub use map::{MapFn, Mapped};
pub use order::{epoch_order, Position};
pub use sample::{Collate, TensorSample};
pub use skip::{SkipReport, SkippedItem};
pub use source::{class_indices, item_rng, ItemRng, Source};
