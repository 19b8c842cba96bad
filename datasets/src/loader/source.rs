//! The [`Source`] trait every data set implements, and the per-item random generator.

use rand::SeedableRng;

use crate::error::Result;

/// The random generator handed to [`Source::load`]; seeded from `(seed, epoch, index)` only.
pub type ItemRng = rand_chacha::ChaCha8Rng;

/// The generator for item `index` in `epoch` of a run seeded with `seed`.
///
/// The same triple always gives the same stream, whichever thread loads the item and in
/// whatever order, which keeps random augmentation reproducible.
pub fn item_rng(seed: u64, epoch: u64, index: usize) -> ItemRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&epoch.to_le_bytes());
    key[16..24].copy_from_slice(&(index as u64).to_le_bytes());
    key[24..].copy_from_slice(b"item-rng");
    ItemRng::from_seed(key)
}

/// A labelled data set that the [`Loader`](crate::loader::Loader) can draw from.
///
/// Indices run over `0..len()`. `label` must be cheap (the loader calls it for every item of
/// every batch) and `load` must be safe to call from several threads at once; all randomness
/// of `load` (augmentation, chunk offsets) must come from the `rng` argument.
///
/// ```
/// use datasets::loader::{ItemRng, Loader, LoaderConfig, Source, TensorSample};
/// use datasets::DataError;
///
/// /// Item `i` is the vector `[i, i]`; labels alternate 0, 1.
/// struct Pairs;
///
/// impl Source for Pairs {
///     type Sample = TensorSample;
///     fn len(&self) -> usize { 10 }
///     fn label(&self, index: usize) -> u32 { (index % 2) as u32 }
///     fn num_classes(&self) -> usize { 2 }
///     fn describe(&self, index: usize) -> String { format!("pair #{index}") }
///     fn load(&self, index: usize, _rng: &mut ItemRng) -> Result<TensorSample, DataError> {
///         TensorSample::new(vec![index as f32; 2], vec![2])
///     }
/// }
///
/// let loader = Loader::new(Pairs, LoaderConfig { batch_size: 4, seed: 7, ..LoaderConfig::default() })?;
/// let batches: Vec<_> = loader.epoch(0).collect::<Result<_, _>>()?;
/// assert_eq!(batches.len(), 2); // drop_last: 10 items make two full batches of 4
/// assert_eq!(batches[0].inputs.dims(), &[4, 2]);
/// assert_eq!(batches[0].labels.dims(), &[4]);
/// # Ok::<(), DataError>(())
/// ```
pub trait Source: Send + Sync + 'static {
    /// What `load` returns; batches are stacked from these by [`Collate`](crate::loader::Collate).
    type Sample: crate::loader::Collate;

    /// Number of items.
    fn len(&self) -> usize;

    /// Whether the source has no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class index (identity, speaker) of item `index`, in `0..num_classes()`.
    fn label(&self, index: usize) -> u32;

    /// Number of classes; labels are `0..num_classes()`.
    fn num_classes(&self) -> usize;

    /// A human-readable name of item `index` (a path, `file.rec#key`) used in skip reports.
    fn describe(&self, index: usize) -> String;

    /// Reads, decodes and augments item `index`, drawing any randomness from `rng`.
    fn load(&self, index: usize, rng: &mut ItemRng) -> Result<Self::Sample>;
}

/// The item indices of every class: entry `c` lists, in increasing order, the items labelled `c`.
///
/// Labels at or above `num_classes()` are ignored here (they are a bug of the source).
pub fn class_indices<S: Source + ?Sized>(source: &S) -> Vec<Vec<usize>> {
    let mut classes = vec![Vec::new(); source.num_classes()];
    for index in 0..source.len() {
        if let Some(members) = classes.get_mut(source.label(index) as usize) {
            members.push(index);
        }
    }
    classes
}
