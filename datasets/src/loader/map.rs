//! A map stage: [`Mapped`] applies a function to every sample of a [`Source`] inside the
//! loader's decode threads (e.g. filterbank features from waveform chunks), so the training
//! thread receives ready inputs.

use std::sync::Arc;

use crate::error::Result;
use crate::loader::{Collate, ItemRng, Source};

/// The function of a [`Mapped`] source.
pub type MapFn<I, O> = Arc<dyn Fn(I, &mut ItemRng) -> Result<O> + Send + Sync>;

/// `source` with a function applied to each loaded sample; the function draws any randomness
/// (dither) from the item's generator after `source` did.
pub struct Mapped<S: Source, O> {
    source: S,
    map: MapFn<S::Sample, O>,
}

impl<S: Source, O> Mapped<S, O> {
    /// Wraps `source`.
    pub fn new(
        source: S,
        map: impl Fn(S::Sample, &mut ItemRng) -> Result<O> + Send + Sync + 'static,
    ) -> Self {
        Self {
            source,
            map: Arc::new(map),
        }
    }

    /// The source being mapped.
    pub fn inner(&self) -> &S {
        &self.source
    }
}

impl<S: Source, O: Collate + 'static> Source for Mapped<S, O> {
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
