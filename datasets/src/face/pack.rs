//! `data pack`: an image folder to an insightface-layout `.rec` + `.idx` + `property`.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::face::recordio::{IrHeader, Property, RecordWriter};
use crate::face::{decode_rgb, FaceImages, ImageFolder};

/// What [`pack_folder`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackReport {
    /// Images written.
    pub images: usize,
    /// Identities (labels `0..identities`, by sorted folder name).
    pub identities: usize,
    /// Images left out because they could not be read or decoded.
    pub skipped: usize,
    /// The first skipped images as `"item: reason"`.
    pub skipped_examples: Vec<String>,
    /// The `.rec` written.
    pub rec: PathBuf,
    /// The `.idx` written.
    pub idx: PathBuf,
    /// The property file written.
    pub property: PathBuf,
}

/// Packs `folder` (`<identity>/<image>`) into `<out_prefix>.rec` / `.idx` and its property file
/// (`property` for a `train` prefix, else `<prefix>.property`, so prefixes sharing a folder keep
/// their own) in the
/// insightface layout that [`RecordDataset`](crate::face::RecordDataset) and `MXFaceDataset` read:
/// images are keys `1..=N` grouped by identity with scalar labels, identity `c` is key `N + 1 + c`
/// with labels `[first_key, end_key]`, and key 0 is the header `[N + 1, N + 1 + identities]`.
///
/// JPEG and PNG files are stored as they are; other formats (PGM, PPM) are stored as PNG.
/// Every image is decoded first; undecodable ones are skipped and reported, not packed.
pub fn pack_folder(folder: &Path, out_prefix: &Path) -> Result<PackReport> {
    let images = ImageFolder::open(folder)?;
    if let Some(dir) = out_prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    }
    let checked: Vec<std::result::Result<(u32, u32), String>> = (0..images.len())
        .into_par_iter()
        .map(|i| {
            images
                .image(i)
                .map(|im| (im.width(), im.height()))
                .map_err(|e| e.to_string())
        })
        .collect();
    let mut skipped_examples = Vec::new();
    let mut keep = Vec::new();
    for (i, result) in checked.iter().enumerate() {
        match result {
            Ok(_) => keep.push(i),
            Err(reason) => skipped_examples.push(reason.clone()),
        }
    }
    let skipped = skipped_examples.len();
    skipped_examples.truncate(crate::face::check::MAX_UNREADABLE_EXAMPLES);
    let n = keep.len() as u64;
    let identities = images.num_identities();
    let mut writer = RecordWriter::create(out_prefix)?;
    let header = IrHeader::vector(vec![(n + 1) as f32, (n + 1 + identities as u64) as f32], 0);
    writer.write(0, &header.pack(&[]))?;
    let mut ranges = vec![(0u64, 0u64); identities];
    for (k, &i) in keep.iter().enumerate() {
        let key = k as u64 + 1;
        let label = images.label(i);
        let bytes = stored_bytes(images.path(i))?;
        writer.write(key, &IrHeader::scalar(label as f32, key).pack(&bytes))?;
        let range = &mut ranges[label as usize];
        if range.1 == 0 {
            range.0 = key;
        }
        range.1 = key + 1;
    }
    for (c, &(first, end)) in ranges.iter().enumerate() {
        let (first, end) = if end == 0 {
            (n + 1, n + 1)
        } else {
            (first, end)
        };
        let key = n + 1 + c as u64;
        writer.write(
            key,
            &IrHeader::vector(vec![first as f32, end as f32], key).pack(&[]),
        )?;
    }
    let (rec, idx) = writer.finish()?;
    let (width, height) = keep
        .first()
        .and_then(|&i| checked[i].clone().ok())
        .unwrap_or((0, 0));
    let property = crate::face::recordio::property_path(out_prefix);
    Property {
        num_classes: identities,
        height,
        width,
        num_images: Some(keep.len()),
    }
    .write(&property)?;
    Ok(PackReport {
        images: keep.len(),
        identities,
        skipped,
        skipped_examples,
        rec,
        idx,
        property,
    })
}

/// The bytes to store for an image file: JPEG/PNG as they are, anything else re-encoded as PNG.
fn stored_bytes(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if bytes.starts_with(&[0xFF, 0xD8]) || bytes.starts_with(b"\x89PNG") {
        return Ok(bytes);
    }
    let name = path.display().to_string();
    let image = decode_rgb(&bytes, &name)?;
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| DataError::decode(name, format!("cannot encode PNG: {e}")))?;
    Ok(png)
}
