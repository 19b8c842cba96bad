//! `data check`: what a path holds and how much of it is readable.

use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::face::recordio::RecordDataset;
use crate::face::{
    detect, FaceFormat, FaceImages, ImageFolder, SyntheticConfig, SyntheticFaces, ValidationBin,
};

/// How many unreadable items a report names.
pub const MAX_UNREADABLE_EXAMPLES: usize = 10;

/// The result of [`check_path`], serialised as the `data check --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataReport {
    /// `"recordio"`, `"image-folder"`, `"image-list"`, `"validation-bin"` or `"synthetic"`.
    pub format: String,
    /// Number of identities (0 for a `.bin` validation set, which has pairs, not identities).
    pub identities: usize,
    /// Number of images, readable or not.
    pub images: usize,
    /// Images (or records) that could not be read or decoded.
    pub unreadable: usize,
    /// The first few unreadable items as `"item: reason"`.
    pub unreadable_examples: Vec<String>,
}

impl DataReport {
    /// The report as a one-line JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// Decodes every image; returns the failures as `"item: reason"` strings.
fn decode_all<F: FaceImages>(images: &F) -> Vec<String> {
    (0..images.len())
        .into_par_iter()
        .filter_map(|i| images.image(i).err().map(|e| e.to_string()))
        .collect()
}

fn report(format: &str, identities: usize, images: usize, mut failures: Vec<String>) -> DataReport {
    let unreadable = failures.len();
    failures.truncate(MAX_UNREADABLE_EXAMPLES);
    DataReport {
        format: format.into(),
        identities,
        images,
        unreadable,
        unreadable_examples: failures,
    }
}

/// Checks `path`: a RecordIO folder or prefix (`train.rec`/`.idx`), an image folder
/// (`root/<identity>/<image>`), an image list, an insightface validation `.bin` (pairs:
/// `identities` is 0), or the word `synthetic` (the default [`SyntheticConfig`]). The format is
/// detected as training detects it ([`detect`]).
///
/// Every image is decoded. Unreadable items are counted, not fatal; an error means the path
/// itself cannot be read (missing, not a data set, broken index or header).
pub fn check_path(path: &Path) -> Result<DataReport> {
    if path.as_os_str() == "synthetic" {
        let faces = SyntheticFaces::new(SyntheticConfig::default())?;
        return Ok(report(
            "synthetic",
            faces.num_identities(),
            faces.len(),
            decode_all(&faces),
        ));
    }
    let format = detect(path)?;
    match format {
        FaceFormat::RecordIo => {
            let data = RecordDataset::open(path)?;
            let mut failures: Vec<String> = data
                .unreadable()
                .iter()
                .map(|(item, why)| format!("{item}: {why}"))
                .collect();
            failures.extend(decode_all(&data));
            let images = data.len() + data.unreadable().len();
            Ok(report(
                format.name(),
                data.num_identities(),
                images,
                failures,
            ))
        }
        FaceFormat::ValidationBin => {
            let bin = ValidationBin::open(path)?;
            let failures: Vec<String> = (0..bin.num_images())
                .into_par_iter()
                .filter_map(|i| {
                    bin.image(i)
                        .err()
                        .map(|e| format!("{}[{i}]: {e}", path.display()))
                })
                .collect();
            Ok(report(format.name(), 0, bin.num_images(), failures))
        }
        FaceFormat::ImageFolder | FaceFormat::ImageList => {
            let folder = if format == FaceFormat::ImageFolder {
                ImageFolder::open(path)?
            } else {
                ImageFolder::from_list(path, None)?
            };
            Ok(report(
                format.name(),
                folder.num_identities(),
                folder.len(),
                decode_all(&folder),
            ))
        }
    }
}
