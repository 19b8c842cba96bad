//! [`RecordDataset`]: an insightface or im2rec `.rec` as labelled face images.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::RgbImage;
use rayon::prelude::*;

use crate::error::{DataError, Result};
use crate::face::recordio::header::IR_HEADER_LEN;
use crate::face::recordio::writer::with_suffix;
use crate::face::recordio::{read_index, IrHeader, Property, RecordFile};
use crate::face::{decode_rgb, FaceImages};

/// How the records of a `.rec` are organised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordLayout {
    /// insightface (MS1MV2/MS1MV3/Glint360K): record 0 is a header with `label = [a, b]`; images
    /// are keys `1..a`, identity records are keys `a..b`.
    InsightFace {
        /// One past the last image key (`label[0]` of record 0).
        images_end: u64,
        /// One past the last identity record key (`label[1]` of record 0).
        identities_end: u64,
    },
    /// No header record (im2rec output, `shuffle_rec.py` output): every record is an image.
    Flat,
}

#[derive(Debug, Clone, Copy)]
struct RecordItem {
    key: u64,
    offset: u64,
    label: u32,
}

/// A RecordIO data set: `<prefix>.rec`, `<prefix>.idx` (rebuilt by scanning when missing) and an
/// optional `property` file in the same folder.
///
/// Records whose framing or header is broken are left out when opening and listed by
/// [`unreadable`](RecordDataset::unreadable); images that fail to decode fail in
/// [`FaceImages::image`], which the loader skips and counts.
#[derive(Debug)]
pub struct RecordDataset {
    file: RecordFile,
    items: Vec<RecordItem>,
    num_classes: usize,
    /// The label as written of each dense class id, when sparse labels were remapped.
    written_labels: Option<Vec<u32>>,
    layout: RecordLayout,
    property: Option<Property>,
    unreadable: Vec<(String, String)>,
}

/// The prefix a user path names: a folder means `<folder>/train`, `x.rec` / `x.idx` mean `x`.
pub fn resolve_prefix(path: &Path) -> PathBuf {
    if path.is_dir() {
        return path.join("train");
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("rec" | "idx") => path.with_extension(""),
        _ => path.to_path_buf(),
    }
}

impl RecordDataset {
    /// Opens the data set `path` names (a folder holding `train.rec`, a prefix, or the `.rec` itself).
    pub fn open(path: &Path) -> Result<Self> {
        let prefix = resolve_prefix(path);
        let file = RecordFile::open(&with_suffix(&prefix, "rec"))?;
        let idx_path = with_suffix(&prefix, "idx");
        let mut unreadable = Vec::new();
        let offsets: BTreeMap<u64, u64> = if idx_path.exists() {
            read_index(&idx_path)?.into_iter().collect()
        } else {
            // No index: keys are the record ordinals; a broken tail is reported, not fatal.
            let (offsets, stopped) = file.scan_offsets();
            if let Some(e) = stopped {
                unreadable.push((
                    describe(&file, offsets.len() as u64),
                    format!("{e} (scan stopped here)"),
                ));
            }
            offsets
                .into_iter()
                .enumerate()
                .map(|(k, o)| (k as u64, o))
                .collect()
        };
        let property_path = crate::face::recordio::property_path(&prefix);
        let property = if property_path.is_file() {
            Some(Property::read(&property_path)?)
        } else {
            None
        };

        let layout = detect_layout(&file, &offsets)?;
        let keys: Vec<(u64, u64)> = match layout {
            RecordLayout::InsightFace { images_end, .. } => (1..images_end)
                .filter_map(|key| match offsets.get(&key) {
                    Some(&offset) => Some((key, offset)),
                    None => {
                        unreadable.push((
                            describe(&file, key),
                            "key missing from the index".to_string(),
                        ));
                        None
                    }
                })
                .collect(),
            RecordLayout::Flat => offsets.iter().map(|(&k, &o)| (k, o)).collect(),
        };
        let labelled: Vec<std::result::Result<RecordItem, (String, String)>> = keys
            .par_iter()
            .map(|&(key, offset)| {
                read_label(&file, offset)
                    .map(|label| RecordItem { key, offset, label })
                    .map_err(|reason| (describe(&file, key), reason))
            })
            .collect();
        let mut items = Vec::with_capacity(labelled.len());
        for result in labelled {
            match result {
                Ok(item) => items.push(item),
                Err(bad) => unreadable.push(bad),
            }
        }
        let distinct: std::collections::BTreeSet<u32> = items.iter().map(|it| it.label).collect();
        let from_labels = distinct.last().map_or(0, |&l| l as usize + 1);
        let mut written_labels = None;
        let num_classes = if from_labels > distinct.len() {
            // Sparse labels (gaps, or a stray huge one) become dense ids in increasing order,
            // so nothing is ever sized by a label value.
            let dense: std::collections::HashMap<u32, u32> = distinct
                .iter()
                .enumerate()
                .map(|(id, &label)| (label, id as u32))
                .collect();
            for item in &mut items {
                item.label = dense[&item.label];
            }
            written_labels = Some(distinct.iter().copied().collect());
            distinct.len()
        } else {
            // Counts from the header or the property file add identities without images, but
            // never more than there are images.
            let from_header = match layout {
                RecordLayout::InsightFace {
                    images_end,
                    identities_end,
                } => identities_end.saturating_sub(images_end) as usize,
                RecordLayout::Flat => 0,
            };
            let stated = from_header.max(property.map_or(0, |p| p.num_classes));
            from_labels.max(stated.min(items.len()))
        };
        Ok(Self {
            file,
            items,
            num_classes,
            written_labels,
            layout,
            property,
            unreadable,
        })
    }

    /// The layout found in the file.
    pub fn layout(&self) -> RecordLayout {
        self.layout
    }

    /// The `property` file's contents, if there was one.
    pub fn property(&self) -> Option<Property> {
        self.property
    }

    /// The path of the `.rec` file.
    pub fn rec_path(&self) -> &Path {
        self.file.path()
    }

    /// Records left out when opening (broken framing or header, or missing from the index): `(record, reason)`.
    pub fn unreadable(&self) -> &[(String, String)] {
        &self.unreadable
    }

    /// The record key of image `index`.
    pub fn key(&self, index: usize) -> u64 {
        self.items[index].key
    }

    /// The header and encoded image bytes of image `index`.
    pub fn record(&self, index: usize) -> Result<(IrHeader, Vec<u8>)> {
        let item = self.items[index];
        let (payload, _) = self.file.read_record(item.offset)?;
        let (header, image) =
            IrHeader::unpack(&payload).map_err(|r| DataError::decode(self.describe(index), r))?;
        Ok((header, image.to_vec()))
    }
}

fn describe(file: &RecordFile, key: u64) -> String {
    format!("{}#{key}", file.path().display())
}

/// Reads record 0: an insightface header (label vector `[a, b]` and nothing after the header)
/// means the insightface layout; an image record (im2rec, shuffled) means the flat layout.
fn detect_layout(file: &RecordFile, offsets: &BTreeMap<u64, u64>) -> Result<RecordLayout> {
    let Some(&offset) = offsets.get(&0) else {
        return Ok(RecordLayout::Flat);
    };
    let (record, _) = file.read_record(offset)?;
    let (header, rest) = IrHeader::unpack(&record)
        .map_err(|r| DataError::format(file.path(), format!("record 0: {r}")))?;
    if header.flag < 2 || !rest.is_empty() {
        return Ok(RecordLayout::Flat);
    }
    let (a, b) = (header.labels[0], header.labels[1]);
    if a.is_finite() && b.is_finite() && a >= 1.0 && b >= a {
        Ok(RecordLayout::InsightFace {
            images_end: a as u64,
            identities_end: b as u64,
        })
    } else {
        Err(DataError::format(
            file.path(),
            format!("record 0 is a header with an invalid range [{a}, {b})"),
        ))
    }
}

/// The class label of the image record at `offset`, reading only its first bytes.
fn read_label(file: &RecordFile, offset: u64) -> std::result::Result<u32, String> {
    let prefix = file
        .read_prefix(offset, IR_HEADER_LEN + 4)
        .map_err(|e| e.to_string())?;
    let word = |o: usize| prefix.get(o..o + 4).map(|b| [b[0], b[1], b[2], b[3]]);
    let short = || {
        format!(
            "record of {} bytes is too short for its IRHeader",
            prefix.len()
        )
    };
    let flag = u32::from_le_bytes(word(0).ok_or_else(short)?);
    let at = if flag > 0 { IR_HEADER_LEN } else { 4 };
    let label = f32::from_le_bytes(word(at).ok_or_else(short)?);
    if label.is_finite() && (0.0..16_777_216.0).contains(&label) {
        Ok(label as u32)
    } else {
        Err(format!("label {label} is not a class index"))
    }
}

impl FaceImages for RecordDataset {
    fn len(&self) -> usize {
        self.items.len()
    }

    fn label(&self, index: usize) -> u32 {
        self.items[index].label
    }

    fn num_identities(&self) -> usize {
        self.num_classes
    }

    fn describe(&self, index: usize) -> String {
        describe(&self.file, self.items[index].key)
    }

    fn identity_name(&self, label: u32) -> String {
        match &self.written_labels {
            Some(written) => written
                .get(label as usize)
                .copied()
                .unwrap_or(label)
                .to_string(),
            None => label.to_string(),
        }
    }

    fn image(&self, index: usize) -> Result<RgbImage> {
        let (_, bytes) = self.record(index)?;
        decode_rgb(&bytes, &self.describe(index))
    }

    fn encoded(&self, index: usize) -> Option<Result<Vec<u8>>> {
        Some(self.record(index).map(|(_, bytes)| bytes))
    }
}
