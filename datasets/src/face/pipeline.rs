//! Decoding and the tensor conversion: JPEG / PNG / PGM bytes to RGB, resize, flip, `(x - 127.5) / 127.5`.

use image::{imageops, RgbImage};
use rand::Rng;

use crate::error::{DataError, Result};
use crate::face::jpeg::{self, normalise_value};
use crate::loader::{ItemRng, TensorSample};

/// Decodes JPEG, PNG or PNM (PGM/PPM) bytes to 8-bit RGB; grayscale is copied to all three channels.
///
/// Baseline JPEGs (4:2:0, 4:4:4, grayscale) go through [`jpeg::decode`], whose pixels equal
/// libjpeg-turbo's default decode (as PIL gives it); other JPEGs through zune-jpeg. Damaged
/// data (entropy-coded data cut short, a corrupt segment) is an error, as PIL makes it, never a
/// partly filled image; [`decode_rgb_lenient`] decodes what it can instead. `item` names the
/// bytes' origin (a path, `file.rec#key`) in the error.
pub fn decode_rgb(bytes: &[u8], item: &str) -> Result<RgbImage> {
    decode_rgb_with(bytes, item, false)
}

/// [`decode_rgb`] that recovers what it can from damaged JPEGs (the missing part grey), as
/// browsers do; for data sets known to hold such files.
pub fn decode_rgb_lenient(bytes: &[u8], item: &str) -> Result<RgbImage> {
    decode_rgb_with(bytes, item, true)
}

fn decode_rgb_with(bytes: &[u8], item: &str, lenient: bool) -> Result<RgbImage> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        match jpeg::decode(bytes) {
            Ok(planes) => return planes_to_image(&planes, item),
            Err(e @ jpeg::JpegError::Corrupt(_)) if !lenient => {
                return Err(DataError::decode(item, e.to_string()))
            }
            Err(_) => {}
        }
    }
    decode_rgb_general(bytes, item, lenient)
}

/// [`decode_rgb`] without the baseline JPEG decoder: JPEGs it leaves out (unsupported features,
/// and in lenient mode corrupt data) go to zune-jpeg, strict unless `lenient`.
fn decode_rgb_general(bytes: &[u8], item: &str, lenient: bool) -> Result<RgbImage> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return decode_jpeg_rgb(bytes, item, lenient);
    }
    let format = image::guess_format(bytes)
        .map_err(|e| DataError::decode(item, format!("unknown image format: {e}")))?;
    let decoded = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| DataError::decode(item, format!("cannot decode {format:?}: {e}")))?;
    Ok(decoded.into_rgb8())
}

fn planes_to_image(planes: &jpeg::Planes, item: &str) -> Result<RgbImage> {
    RgbImage::from_raw(
        planes.width() as u32,
        planes.height() as u32,
        planes.to_rgb(),
    )
    .ok_or_else(|| DataError::decode(item, "JPEG decoder returned a short pixel buffer"))
}

/// JPEG straight to RGB with zune-jpeg (the decoder the image crate uses), without an
/// intermediate image; strict (a truncated or corrupt scan is an error) unless `lenient`.
fn decode_jpeg_rgb(bytes: &[u8], item: &str, lenient: bool) -> Result<RgbImage> {
    use zune_jpeg::zune_core::{
        bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions,
    };
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_strict_mode(!lenient);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let pixels = decoder
        .decode()
        .map_err(|e| DataError::decode(item, format!("cannot decode JPEG: {e:?}")))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| DataError::decode(item, "JPEG without dimensions"))?;
    RgbImage::from_raw(width as u32, height as u32, pixels)
        .ok_or_else(|| DataError::decode(item, "JPEG decoder returned a short pixel buffer"))
}

/// [`normalise_value`] of every byte: a table load instead of a division per channel value.
static NORMALISED: [f32; 256] = {
    let mut table = [0f32; 256];
    let mut v = 0;
    while v < 256 {
        table[v] = normalise_value(v as u8);
        v += 1;
    }
    table
};

#[inline(always)]
fn normalise(v: u8) -> f32 {
    NORMALISED[usize::from(v)]
}

/// An RGB image as CHW f32 values `(x - 127.5) / 127.5` in `[-1, 1]`, mirrored left-right if `flip`.
///
/// One sequential pass per channel plane (the interleaved bytes stay in L1), with no zero-filled
/// buffer first.
pub fn image_to_chw(image: &RgbImage, flip: bool) -> TensorSample {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut data = Vec::with_capacity(3 * w * h);
    for channel in 0..3 {
        for row in image.as_raw().chunks_exact(3 * w.max(1)) {
            let pixels = row.chunks_exact(3);
            if flip {
                data.extend(pixels.rev().map(|px| normalise(px[channel])));
            } else {
                data.extend(pixels.map(|px| normalise(px[channel])));
            }
        }
    }
    TensorSample {
        data,
        shape: vec![3, h, w],
    }
}

/// What happens to a decoded face before it becomes a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct FacePipeline {
    /// Output side in pixels; other sizes are resized (bilinear) to `size x size`.
    pub size: u32,
    /// Mirror left-right with probability 0.5 (drawn from the item's generator).
    pub random_flip: bool,
    /// Decode damaged JPEGs as far as they go instead of refusing them
    /// ([`decode_rgb_lenient`]); off by default.
    pub lenient: bool,
}

impl FacePipeline {
    /// Training: 112 x 112 with random horizontal flip, as arcface_torch.
    pub fn train() -> Self {
        Self {
            size: 112,
            random_flip: true,
            lenient: false,
        }
    }

    /// Evaluation: 112 x 112, no augmentation.
    pub fn eval() -> Self {
        Self {
            size: 112,
            random_flip: false,
            lenient: false,
        }
    }

    /// Resizes `image` to the output size if needed (bilinear, like insightface `load_bin`).
    pub fn fit(&self, image: RgbImage) -> RgbImage {
        if image.width() == self.size && image.height() == self.size {
            image
        } else {
            imageops::resize(&image, self.size, self.size, imageops::FilterType::Triangle)
        }
    }

    /// Fits `image`, flips it if the pipeline and `rng` say so, and converts it to a sample.
    pub fn apply(&self, image: RgbImage, rng: &mut ItemRng) -> TensorSample {
        let image = self.fit(image);
        let flip = self.random_flip && rng.random_bool(0.5);
        image_to_chw(&image, flip)
    }

    /// [`apply`](Self::apply) to encoded image bytes: the same sample and the same draws from
    /// `rng` as `apply(decode_rgb(bytes, item)?, rng)`, but a baseline JPEG of the output size
    /// goes straight from its decoded planes to the tensor, with no RGB image in between.
    pub fn apply_encoded(
        &self,
        bytes: &[u8],
        item: &str,
        rng: &mut ItemRng,
    ) -> Result<TensorSample> {
        let size = self.size as usize;
        if bytes.starts_with(&[0xFF, 0xD8]) {
            match jpeg::decode(bytes) {
                Ok(planes) => {
                    if planes.width() != size || planes.height() != size {
                        return Ok(self.apply(planes_to_image(&planes, item)?, rng));
                    }
                    let flip = self.random_flip && rng.random_bool(0.5);
                    let mut data = Vec::with_capacity(3 * size * size);
                    planes.write_chw(flip, &mut data);
                    return Ok(TensorSample {
                        data,
                        shape: vec![3, size, size],
                    });
                }
                Err(e @ jpeg::JpegError::Corrupt(_)) if !self.lenient => {
                    return Err(DataError::decode(item, e.to_string()))
                }
                Err(_) => {}
            }
        }
        Ok(self.apply(decode_rgb_general(bytes, item, self.lenient)?, rng))
    }
}

impl Default for FacePipeline {
    /// The training pipeline.
    fn default() -> Self {
        Self::train()
    }
}
