//! A map stage: [`Mapped`] applies a function to every sample of a [`Source`] inside the
//! loader's decode threads (e.g. filterbank features from waveform chunks), so the training
//! thread receives ready inputs.

use crate::error::Result;
use crate::loader::{Collate, ItemRng, Source};

/// `source` with `map` applied to each loaded sample; `map` draws any randomness (dither) from
/// the item's generator after `source` did.
pub struct Mapped<S, F> {
    source: S,
    map: F,
}

impl<S, F> Mapped<S, F> {
    /// Wraps `source`.
    pub fn new(source: S, map: F) -> Self {
        Self { source, map }
    }

    /// The source being mapped.
    pub fn inner(&self) -> &S {
        &self.source
    }
}

impl<S, F, O> Source for Mapped<S, F>
where
    S: Source,
    O: Collate,
    F: Fn(S::Sample, &mut ItemRng) -> Result<O> + Send + Sync + 'static,
{
    type Sample = O;

    fn len(&self) -> usize {
        self.source.len()
    }

    fn label(&self, index: usize) -> u32 {
        self.source.label(index)
    }

    fn num_classes(&self) -> usize {
        self.source.num_classes()
    }

    fn describe(&self, index: usize) -> String {
        self.source.describe(index)
    }

    fn load(&self, index: usize, rng: &mut ItemRng) -> Result<O> {
        let sample = self.source.load(index, rng)?;
        (self.map)(sample, rng)
    }
}
