//! Some identities of a [`FaceImages`], relabelled `0..n`: the training and held-out sides of a
//! split.

use std::sync::Arc;

use image::RgbImage;

use crate::error::Result;
use crate::face::{FaceImages, Landmarks};
use crate::split::spread_pick;

/// The images of some identities of `inner`, relabelled `0..identities` in the order given.
#[derive(Clone)]
pub struct IdentitySubset {
    inner: Arc<dyn FaceImages>,
    items: Vec<usize>,
    labels: Vec<u32>,
    identities: usize,
    originals: Vec<u32>,
}

impl IdentitySubset {
    /// The images of the identities `keep` (original labels) of `inner`; with `per_identity`,
    /// at most that many of each, spread evenly over its images.
    pub fn new(inner: Arc<dyn FaceImages>, keep: &[u32], per_identity: Option<usize>) -> Self {
        let mut new_label = vec![None; inner.num_identities()];
        for (i, &old) in keep.iter().enumerate() {
            if let Some(slot) = new_label.get_mut(old as usize) {
                *slot = Some(i);
            }
        }
        let mut members = vec![Vec::new(); keep.len()];
        for index in 0..inner.len() {
            if let Some(Some(label)) = new_label.get(inner.label(index) as usize).copied() {
                members[label].push(index);
            }
        }
        let mut chosen: Vec<(usize, u32)> = Vec::new();
        for (label, list) in members.iter().enumerate() {
            let picked = match per_identity {
                Some(k) => spread_pick(list, k),
                None => list.clone(),
            };
            chosen.extend(picked.into_iter().map(|i| (i, label as u32)));
        }
        chosen.sort_unstable();
        Self {
            inner,
            items: chosen.iter().map(|(i, _)| *i).collect(),
            labels: chosen.iter().map(|(_, l)| *l).collect(),
            identities: keep.len(),
            originals: keep.to_vec(),
        }
    }

    /// All images of `inner`, optionally capped per identity.
    pub fn all(inner: Arc<dyn FaceImages>, per_identity: Option<usize>) -> Self {
        let keep: Vec<u32> = (0..inner.num_identities() as u32).collect();
        Self::new(inner, &keep, per_identity)
    }

    /// Labels of the images, in order.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Images per identity.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.identities];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }
}

impl FaceImages for IdentitySubset {
    fn len(&self) -> usize {
        self.items.len()
    }

    fn label(&self, index: usize) -> u32 {
        self.labels[index]
    }

    fn num_identities(&self) -> usize {
        self.identities
    }

    fn describe(&self, index: usize) -> String {
        self.inner.describe(self.items[index])
    }

    fn identity_name(&self, label: u32) -> String {
        match self.originals.get(label as usize) {
            Some(&original) => self.inner.identity_name(original),
            None => label.to_string(),
        }
    }

    fn image(&self, index: usize) -> Result<RgbImage> {
        self.inner.image(self.items[index])
    }

    fn encoded(&self, index: usize) -> Option<Result<Vec<u8>>> {
        self.inner.encoded(self.items[index])
    }

    fn landmarks(&self, index: usize) -> Option<Landmarks> {
        self.inner.landmarks(self.items[index])
    }
}
