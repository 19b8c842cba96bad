//! The `property` file next to an insightface `.rec`: `num_classes,height,width` (and the image count on a second line).
//!
//! insightface keeps one `property` per folder, describing `train.rec`; a folder holding
//! several prefixes keeps one `<prefix>.property` per prefix ([`property_path`]).

use std::path::{Path, PathBuf};

/// Where the property file of the data set with `prefix` lives: `property` for insightface's
/// `train` prefix, `<prefix>.property` for any other, so prefixes sharing a folder never
/// overwrite each other's.
pub fn property_path(prefix: &Path) -> PathBuf {
    let dir = prefix.parent().unwrap_or(Path::new("."));
    match prefix.file_name().and_then(|n| n.to_str()) {
        Some("train") | None => dir.join("property"),
        Some(name) => dir.join(format!("{name}.property")),
    }
}

use crate::error::{DataError, Result};

/// The contents of a `property` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    /// Number of identities.
    pub num_classes: usize,
    /// Image height in pixels.
    pub height: u32,
    /// Image width in pixels.
    pub width: u32,
    /// Number of images, from the optional second line (newer `RecBuilder`).
    pub num_images: Option<usize>,
}

impl Property {
    /// Parses a `property` file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines
            .next()
            .ok_or_else(|| DataError::format(path, "empty property file"))?;
        let fields: Vec<&str> = first.split(',').map(str::trim).collect();
        let bad = || {
            DataError::format(
                path,
                format!("expected `num_classes,height,width`, got {first:?}"),
            )
        };
        let [classes, height, width] = fields.as_slice() else {
            return Err(bad());
        };
        let num_images = match lines.next() {
            Some(line) => Some(line.parse().map_err(|_| {
                DataError::format(
                    path,
                    format!("second line should be the image count, got {line:?}"),
                )
            })?),
            None => None,
        };
        Ok(Self {
            num_classes: classes.parse().map_err(|_| bad())?,
            height: height.parse().map_err(|_| bad())?,
            width: width.parse().map_err(|_| bad())?,
            num_images,
        })
    }

    /// Writes the file: `num_classes,height,width`, then the image count if known.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = format!("{},{},{}\n", self.num_classes, self.height, self.width);
        if let Some(n) = self.num_images {
            text.push_str(&format!("{n}\n"));
        }
        std::fs::write(path, text).map_err(|e| DataError::io(path, e))
    }
}
