//! Which images a run trains on and which identities it holds out: `synthetic`, `orl`, or a
//! path (RecordIO, image folder, image list), split by identity.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use datasets::face::{
    FaceImages, ImageFolder, Landmarks, OrlFaces, OrlSplit, RecordDataset, SyntheticConfig,
    SyntheticFaces,
};
use image::RgbImage;

use super::config::DataConfig;

/// Some identities of a [`FaceImages`], relabelled `0..identities` in their original order.
#[derive(Clone)]
pub struct IdentitySubset {
    inner: Arc<dyn FaceImages>,
    items: Vec<usize>,
    labels: Vec<u32>,
    identities: usize,
}

impl IdentitySubset {
    /// The images of the identities `keep` (original labels, any order) of `inner`; at most
    /// `per_identity` images of each (the first ones) when given.
    pub fn new(inner: Arc<dyn FaceImages>, keep: &[u32], per_identity: Option<usize>) -> Self {
        let mut new_label = vec![None; inner.num_identities()];
        for (i, &old) in keep.iter().enumerate() {
            if let Some(slot) = new_label.get_mut(old as usize) {
                *slot = Some(i as u32);
            }
        }
        let mut taken = vec![0usize; keep.len()];
        let (mut items, mut labels) = (Vec::new(), Vec::new());
        for index in 0..inner.len() {
            let Some(Some(label)) = new_label.get(inner.label(index) as usize).copied() else {
                continue;
            };
            if per_identity.is_some_and(|cap| taken[label as usize] >= cap) {
                continue;
            }
            taken[label as usize] += 1;
            items.push(index);
            labels.push(label);
        }
        Self {
            inner,
            items,
            labels,
            identities: keep.len(),
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

    fn image(&self, index: usize) -> Result<RgbImage, datasets::DataError> {
        self.inner.image(self.items[index])
    }

    fn landmarks(&self, index: usize) -> Option<Landmarks> {
        self.inner.landmarks(self.items[index])
    }
}

/// The training images and the held-out identities of a run.
pub struct RunData {
    /// Training identities, labelled `0..C`.
    pub train: IdentitySubset,
    /// Held-out identities (capped per identity) for the final verification report.
    pub heldout: Option<IdentitySubset>,
    /// What was read, for logs and the report.
    pub description: String,
}

/// Opens `cfg.source` and splits it by identity.
pub fn open(cfg: &DataConfig) -> Result<RunData> {
    let cap = Some(cfg.heldout_images_per_identity);
    match cfg.source.trim() {
        "synthetic" => {
            let s = cfg.synthetic;
            let faces = SyntheticFaces::new(SyntheticConfig {
                identities: s.identities,
                images_per_identity: s.images_per_identity,
                size: 112,
                seed: s.seed,
            })
            .context("data.synthetic")?;
            let description = format!(
                "synthetic faces: {} identities x {} images (seed {})",
                s.identities, s.images_per_identity, s.seed
            );
            Ok(split_last(
                Arc::new(faces),
                cfg.heldout_identities,
                cap,
                description,
            ))
        }
        "orl" => {
            let root = datasets::face::orl_root().context(
                "data.source = orl: the ORL folder was not found (set ALPHA_VERIFY_ORL or put it at ../shared/data/orl)",
            )?;
            open_orl(&root, cap)
        }
        path => open_path(Path::new(path), cfg.heldout_identities, cap),
    }
}

/// ORL: trains on s1-s30, holds out s31-s40.
pub fn open_orl(root: &Path, cap: Option<usize>) -> Result<RunData> {
    let train = OrlFaces::open(root, OrlSplit::Train)
        .with_context(|| format!("opening ORL faces in {}", root.display()))?;
    let test = OrlFaces::open(root, OrlSplit::Test)
        .with_context(|| format!("opening ORL faces in {}", root.display()))?;
    Ok(RunData {
        train: IdentitySubset::all(Arc::new(train), None),
        heldout: Some(IdentitySubset::all(Arc::new(test), cap)),
        description: format!(
            "ORL faces in {}: s1-s30 train, s31-s40 held out",
            root.display()
        ),
    })
}

fn open_path(path: &Path, heldout: usize, cap: Option<usize>) -> Result<RunData> {
    if !path.exists() && !path.with_extension("rec").exists() {
        bail!(
            "data path {} does not exist (data.source takes synthetic, orl, a RecordIO prefix or folder, an image folder or an image list)",
            path.display()
        );
    }
    let is_rec = path.extension().is_some_and(|e| e == "rec" || e == "idx")
        || path.with_extension("rec").is_file()
        || path.join("train.rec").is_file();
    let (images, kind): (Arc<dyn FaceImages>, &str) = if is_rec {
        let d = RecordDataset::open(path)
            .with_context(|| format!("opening RecordIO data {}", path.display()))?;
        (Arc::new(d), "RecordIO")
    } else if path.is_dir() {
        let d = ImageFolder::open(path)
            .with_context(|| format!("opening image folder {}", path.display()))?;
        (Arc::new(d), "image folder")
    } else {
        let d = ImageFolder::from_list(path, None)
            .with_context(|| format!("opening image list {}", path.display()))?;
        (Arc::new(d), "image list")
    };
    if images.num_identities() < heldout + 2 {
        bail!(
            "{}: {} identities, too few to hold out data.heldout_identities = {heldout} and train on at least 2",
            path.display(),
            images.num_identities()
        );
    }
    let description = format!(
        "{kind} {}: {} identities, {} images",
        path.display(),
        images.num_identities(),
        images.len()
    );
    Ok(split_last(images, heldout, cap, description))
}

/// Trains on all but the last `heldout` identities and holds those out.
fn split_last(
    images: Arc<dyn FaceImages>,
    heldout: usize,
    cap: Option<usize>,
    description: String,
) -> RunData {
    let n = images.num_identities() as u32;
    let first_heldout = n - heldout as u32;
    let train_ids: Vec<u32> = (0..first_heldout).collect();
    let heldout_ids: Vec<u32> = (first_heldout..n).collect();
    RunData {
        train: IdentitySubset::new(Arc::clone(&images), &train_ids, None),
        heldout: (heldout > 0).then(|| IdentitySubset::new(images, &heldout_ids, cap)),
        description,
    }
}
