//! The face data of a training run: `synthetic`, `orl` or a path (format detected by
//! [`detect`](crate::face::detect::detect)), split into training and held-out identities by the
//! rules of [`split`](crate::split).

use std::path::Path;
use std::sync::Arc;

use crate::error::{DataError, Result};
use crate::face::detect::open_images;
use crate::face::{
    orl_root, FaceImages, IdentitySubset, OrlFaces, OrlSplit, SyntheticConfig, SyntheticFaces,
};
use crate::split::{held_out_identities, HeldoutSpec};

/// The training images and held-out identities of a run.
pub struct FaceData {
    /// Training identities, labelled `0..C`.
    pub train: IdentitySubset,
    /// Held-out identities (capped per identity); `None` when none are held out.
    pub heldout: Option<IdentitySubset>,
    /// What was read, for logs and reports.
    pub description: String,
    /// `synthetic`, `orl`, or the detected format's name.
    pub format: &'static str,
}

/// Opens `source` (`synthetic`, `orl`, or a RecordIO / image folder / image list path) and
/// splits it as `heldout` says. Synthetic faces hold out the last `heldout.identities` of
/// `synthetic.identities`; ORL trains on s1-s30 and holds out s31-s40; a path holds out
/// identities drawn with `heldout.seed`. At least two training identities must remain.
pub fn open(source: &str, synthetic: SyntheticConfig, heldout: HeldoutSpec) -> Result<FaceData> {
    let cap = Some(heldout.per_identity);
    match source.trim() {
        "synthetic" => {
            let n = synthetic.identities;
            if heldout.identities + 2 > n {
                return Err(DataError::InvalidArgument(format!(
                    "synthetic faces: holding out {} of {n} identities leaves fewer than 2 to train on",
                    heldout.identities
                )));
            }
            let faces: Arc<dyn FaceImages> = Arc::new(SyntheticFaces::new(synthetic)?);
            let first_held = (n - heldout.identities) as u32;
            let train: Vec<u32> = (0..first_held).collect();
            let held: Vec<u32> = (first_held..n as u32).collect();
            Ok(FaceData {
                description: format!(
                    "synthetic faces: {n} identities x {} images (seed {}), {} held out",
                    synthetic.images_per_identity, synthetic.seed, heldout.identities
                ),
                train: IdentitySubset::new(Arc::clone(&faces), &train, None),
                heldout: (heldout.identities > 0).then(|| IdentitySubset::new(faces, &held, cap)),
                format: "synthetic",
            })
        }
        "orl" => {
            let root = orl_root().ok_or_else(|| {
                DataError::InvalidArgument(
                    "the ORL folder was not found (set ALPHA_VERIFY_ORL or put it at ../shared/data/orl)".into(),
                )
            })?;
            let train = OrlFaces::open(&root, OrlSplit::Train)?;
            let test = OrlFaces::open(&root, OrlSplit::Test)?;
            Ok(FaceData {
                train: IdentitySubset::all(Arc::new(train), None),
                heldout: (heldout.identities > 0).then(|| IdentitySubset::all(Arc::new(test), cap)),
                description: format!(
                    "ORL faces in {} (Olivetti Research Laboratory, AT&T Laboratories Cambridge): s1-s30 train, s31-s40 held out",
                    root.display()
                ),
                format: "orl",
            })
        }
        path => open_path(Path::new(path), heldout),
    }
}

fn open_path(path: &Path, heldout: HeldoutSpec) -> Result<FaceData> {
    let (images, format) = open_images(path)?;
    let n = images.num_identities();
    if n < heldout.identities + 2 {
        return Err(DataError::format(
            path,
            format!(
                "{n} identities: too few to hold out {} and train on at least 2",
                heldout.identities
            ),
        ));
    }
    let held = held_out_identities(n, heldout.identities, heldout.seed);
    let train: Vec<u32> = (0..n as u32).filter(|i| !held.contains(i)).collect();
    let held: Vec<u32> = held.into_iter().collect();
    Ok(FaceData {
        description: format!(
            "{} {}: {n} identities, {} images, {} held out",
            format.name(),
            path.display(),
            images.len(),
            held.len()
        ),
        train: IdentitySubset::new(Arc::clone(&images), &train, None),
        heldout: (!held.is_empty())
            .then(|| IdentitySubset::new(images, &held, Some(heldout.per_identity))),
        format: format.name(),
    })
}
