//! What a face data path holds, decided in one place for `data check` and for training.

use std::path::Path;
use std::sync::Arc;

use crate::error::{DataError, Result};
use crate::face::recordio::writer::with_suffix;
use crate::face::recordio::{resolve_prefix, RecordDataset};
use crate::face::{FaceImages, ImageFolder};

/// The kinds of face data a path can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceFormat {
    /// insightface's MXNet RecordIO (`train.rec` + `train.idx`): a folder, a prefix or the `.rec`.
    RecordIo,
    /// `root/<identity>/<image>`.
    ImageFolder,
    /// A list file: `path label [landmarks]` or im2rec's `index<TAB>label<TAB>path`.
    ImageList,
    /// An insightface validation `.bin` (pairs, no identities).
    ValidationBin,
}

impl FaceFormat {
    /// The name used in reports (`data check --json`'s `format`).
    pub fn name(self) -> &'static str {
        match self {
            Self::RecordIo => "recordio",
            Self::ImageFolder => "image-folder",
            Self::ImageList => "image-list",
            Self::ValidationBin => "validation-bin",
        }
    }
}

/// What `path` holds; an error names it when it holds none of the [`FaceFormat`]s.
pub fn detect(path: &Path) -> Result<FaceFormat> {
    if with_suffix(&resolve_prefix(path), "rec").is_file() {
        return Ok(FaceFormat::RecordIo);
    }
    if path.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("bin"))
    {
        return Ok(FaceFormat::ValidationBin);
    }
    if path.is_dir() {
        return Ok(FaceFormat::ImageFolder);
    }
    if path.is_file() {
        return Ok(FaceFormat::ImageList);
    }
    Err(DataError::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such data set (expected a RecordIO prefix or folder, an image folder, an image list or a .bin validation set)",
        ),
    ))
}

/// Opens the labelled images `path` holds (a `.bin` has pairs, not identities, and is refused).
pub fn open_images(path: &Path) -> Result<(Arc<dyn FaceImages>, FaceFormat)> {
    let format = detect(path)?;
    let images: Arc<dyn FaceImages> = match format {
        FaceFormat::RecordIo => Arc::new(RecordDataset::open(path)?),
        FaceFormat::ImageFolder => Arc::new(ImageFolder::open(path)?),
        FaceFormat::ImageList => Arc::new(ImageFolder::from_list(path, None)?),
        FaceFormat::ValidationBin => {
            return Err(DataError::format(
                path,
                "a .bin validation set holds pairs, not labelled identities; train on RecordIO, an image folder or a list (use it as eval.val_bins)",
            ))
        }
    };
    Ok((images, format))
}
