//! insightface validation `.bin` files (lfw, cfp_fp, agedb_30, ...): a pickle of `(images, issame)`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use image::RgbImage;
use rayon::prelude::*;
use serde_pickle::Value;

use crate::error::{DataError, Result};
use crate::face::{decode_rgb, image_to_chw, FacePipeline};
use crate::loader::{Collate, TensorSample};

/// A verification set: `2 * P` encoded images and `P` same-person flags; pair `i` is images `2i`, `2i + 1`.
///
/// Reads the pickles insightface ships (written by Python 2, protocol 2, images as `str`) and
/// Python 3 ones (images as `bytes`, any protocol).
#[derive(Debug, Clone)]
pub struct ValidationBin {
    path: PathBuf,
    images: Vec<Vec<u8>>,
    issame: Vec<bool>,
}

fn as_sequence(value: Value) -> Option<Vec<Value>> {
    match value {
        Value::List(v) | Value::Tuple(v) => Some(v),
        _ => None,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::None => "None",
        Value::Bool(_) => "bool",
        Value::I64(_) | Value::Int(_) => "int",
        Value::F64(_) => "float",
        Value::Bytes(_) => "bytes",
        Value::String(_) => "str",
        Value::List(_) => "list",
        Value::Tuple(_) => "tuple",
        Value::Set(_) | Value::FrozenSet(_) => "set",
        Value::Dict(_) => "dict",
    }
}

impl ValidationBin {
    /// Reads and checks a `.bin` file (the images stay encoded until used).
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        let bad = |reason: String| DataError::format(path, reason);
        let value = serde_pickle::value_from_slice(&bytes, serde_pickle::DeOptions::new())
            .map_err(|e| bad(format!("not a readable pickle: {e}")))?;
        let top = as_sequence(value)
            .ok_or_else(|| bad("expected a pickled (images, issame) tuple".into()))?;
        let [images, issame]: [Value; 2] = top.try_into().map_err(|v: Vec<Value>| {
            bad(format!(
                "expected 2 elements (images, issame), got {}",
                v.len()
            ))
        })?;
        let images = as_sequence(images).ok_or_else(|| bad("images is not a list".into()))?;
        let images = images
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Bytes(b) => Ok(b),
                other => Err(bad(format!(
                    "image {i} is a {}, expected bytes",
                    kind(&other)
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let issame = as_sequence(issame).ok_or_else(|| bad("issame is not a list".into()))?;
        let issame = issame
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Bool(b) => Ok(b),
                Value::I64(n @ (0 | 1)) => Ok(n == 1),
                other => Err(bad(format!(
                    "issame[{i}] is a {}, expected bool",
                    kind(&other)
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        if images.len() != 2 * issame.len() {
            return Err(bad(format!(
                "{} images for {} pairs (expected twice as many)",
                images.len(),
                issame.len()
            )));
        }
        Ok(Self {
            path: path.to_path_buf(),
            images,
            issame,
        })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of pairs.
    pub fn num_pairs(&self) -> usize {
        self.issame.len()
    }

    /// Number of images (twice the pairs).
    pub fn num_images(&self) -> usize {
        self.images.len()
    }

    /// Whether pair `i` shows the same person, for every pair.
    pub fn issame(&self) -> &[bool] {
        &self.issame
    }

    /// The encoded bytes of image `index`.
    pub fn encoded(&self, index: usize) -> &[u8] {
        &self.images[index]
    }

    /// Decodes image `index` to RGB, resized to 112 x 112 if it has another size (as `load_bin`).
    pub fn image(&self, index: usize) -> Result<RgbImage> {
        let name = format!("{}#image{index}", self.path.display());
        let bytes = self.images.get(index).ok_or_else(|| {
            DataError::InvalidArgument(format!("image {index} of {}", self.images.len()))
        })?;
        Ok(FacePipeline::eval().fit(decode_rgb(bytes, &name)?))
    }

    /// Images `range` as a `(n, 3, 112, 112)` tensor normalised to `[-1, 1]`, mirrored if `flip`
    /// (for flip-sum embeddings); decoded in parallel. Any undecodable image is an error.
    pub fn batch(&self, range: Range<usize>, flip: bool, device: &Device) -> Result<Tensor> {
        if range.end > self.images.len() || range.start >= range.end {
            return Err(DataError::InvalidArgument(format!(
                "image range {range:?} of a set with {} images",
                self.images.len()
            )));
        }
        let samples: Vec<TensorSample> = range
            .into_par_iter()
            .map(|i| self.image(i).map(|img| image_to_chw(&img, flip)))
            .collect::<Result<_>>()?;
        TensorSample::collate(samples, device)
    }
}
