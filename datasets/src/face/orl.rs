//! The ORL face database (Olivetti Research Laboratory, AT&T Laboratories Cambridge):
//! 40 people x 10 grayscale 92 x 112 PGMs in `s1..s40/1..10.pgm`, as a small real corpus.

use std::path::{Path, PathBuf};

use image::{imageops, RgbImage};

use crate::error::{DataError, Result};
use crate::face::{decode_rgb, FaceImages};

/// Environment variable that overrides where the ORL folder is looked for.
pub const ORL_ENV: &str = "ALPHA_VERIFY_ORL";

/// Which people of ORL to use; the split is by person, so train and test identities never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrlSplit {
    /// People s1..s30 (labels 0..29).
    Train,
    /// People s31..s40 (labels 0..9).
    Test,
    /// All 40 people (labels 0..39).
    All,
}

impl OrlSplit {
    fn people(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Self::Train => 1..=30,
            Self::Test => 31..=40,
            Self::All => 1..=40,
        }
    }
}

/// The ORL folder: `$ALPHA_VERIFY_ORL` if set, else `shared/data/orl` next to the workspace,
/// else `../shared/data/orl` from the working directory; `None` if none of them exists.
pub fn orl_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(ORL_ENV) {
        return Some(PathBuf::from(dir)).filter(|p| p.is_dir());
    }
    let beside_workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/orl");
    [beside_workspace, PathBuf::from("../shared/data/orl")]
        .into_iter()
        .find(|p| p.is_dir())
}

/// ORL faces of one split, padded to 112 x 112 (10 black columns each side) and copied to 3 channels.
#[derive(Debug, Clone)]
pub struct OrlFaces {
    items: Vec<(PathBuf, u32)>,
    identities: usize,
}

impl OrlFaces {
    /// Lists the split's PGMs under `root`; every person folder must exist and hold images.
    pub fn open(root: &Path, split: OrlSplit) -> Result<Self> {
        let mut items = Vec::new();
        for (label, person) in split.people().enumerate() {
            let dir = root.join(format!("s{person}"));
            let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(&dir)
                .map_err(|e| DataError::io(&dir, e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter_map(|p| {
                    let number = p.file_stem()?.to_str()?.parse().ok()?;
                    (p.extension()? == "pgm").then_some((number, p))
                })
                .collect();
            if files.is_empty() {
                return Err(DataError::format(&dir, "no numbered .pgm images"));
            }
            files.sort();
            items.extend(files.into_iter().map(|(_, p)| (p, label as u32)));
        }
        Ok(Self {
            items,
            identities: split.people().count(),
        })
    }
}

/// Centres `image` on a black `size x size` canvas, shrinking it first if it does not fit.
fn pad_to_square(image: RgbImage, size: u32) -> RgbImage {
    let image = if image.width() > size || image.height() > size {
        let scale = size as f32 / image.width().max(image.height()) as f32;
        let (w, h) = (
            (image.width() as f32 * scale) as u32,
            (image.height() as f32 * scale) as u32,
        );
        imageops::resize(&image, w.max(1), h.max(1), imageops::FilterType::Triangle)
    } else {
        image
    };
    let mut canvas = RgbImage::new(size, size);
    let (x, y) = ((size - image.width()) / 2, (size - image.height()) / 2);
    imageops::replace(&mut canvas, &image, i64::from(x), i64::from(y));
    canvas
}

impl FaceImages for OrlFaces {
    fn len(&self) -> usize {
        self.items.len()
    }

    fn label(&self, index: usize) -> u32 {
        self.items[index].1
    }

    fn num_identities(&self) -> usize {
        self.identities
    }

    fn describe(&self, index: usize) -> String {
        self.items[index].0.display().to_string()
    }

    fn image(&self, index: usize) -> Result<RgbImage> {
        let path = &self.items[index].0;
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        Ok(pad_to_square(
            decode_rgb(&bytes, &path.display().to_string())?,
            112,
        ))
    }
}
