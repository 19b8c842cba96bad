//! Decoding and the tensor conversion: JPEG / PNG / PGM bytes to RGB, resize, flip, `(x - 127.5) / 127.5`.

use image::{imageops, RgbImage};
use rand::Rng;

use crate::error::{DataError, Result};
use crate::loader::{ItemRng, TensorSample};

/// Decodes JPEG, PNG or PNM (PGM/PPM) bytes to 8-bit RGB; grayscale is copied to all three channels.
///
/// `item` names the bytes' origin (a path, `file.rec#key`) in the error.
pub fn decode_rgb(bytes: &[u8], item: &str) -> Result<RgbImage> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return decode_jpeg_rgb(bytes, item);
    }
    let format = image::guess_format(bytes)
        .map_err(|e| DataError::decode(item, format!("unknown image format: {e}")))?;
    let decoded = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| DataError::decode(item, format!("cannot decode {format:?}: {e}")))?;
    Ok(decoded.into_rgb8())
}

/// JPEG straight to RGB with zune-jpeg (the decoder the image crate uses), without an intermediate image.
fn decode_jpeg_rgb(bytes: &[u8], item: &str) -> Result<RgbImage> {
    use zune_jpeg::zune_core::{
        bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions,
    };
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
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

/// `(v - 127.5) / 127.5`, the arcface_torch normalisation (`ToTensor` then `Normalize(0.5, 0.5)`).
#[inline(always)]
fn normalise(v: u8) -> f32 {
    (f32::from(v) - 127.5) / 127.5
}

/// Writes one row of interleaved RGB into the three planes' rows, in the given pixel order.
#[inline(always)]
fn split_row<'a>(
    pixels: impl Iterator<Item = &'a [u8]>,
    r: &mut [f32],
    g: &mut [f32],
    b: &mut [f32],
) {
    for (((px, r), g), b) in pixels.zip(r).zip(g).zip(b) {
        *r = normalise(px[0]);
        *g = normalise(px[1]);
        *b = normalise(px[2]);
    }
}

/// An RGB image as CHW f32 values `(x - 127.5) / 127.5` in `[-1, 1]`, mirrored left-right if `flip`.
pub fn image_to_chw(image: &RgbImage, flip: bool) -> TensorSample {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let plane = w * h;
    let mut data = vec![0f32; 3 * plane];
    let (r, rest) = data.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    let rows = image.as_raw().chunks_exact(3 * w.max(1));
    let planes = r
        .chunks_exact_mut(w.max(1))
        .zip(g.chunks_exact_mut(w.max(1)))
        .zip(b.chunks_exact_mut(w.max(1)));
    for (row, ((r, g), b)) in rows.zip(planes) {
        if flip {
            split_row(row.chunks_exact(3).rev(), r, g, b);
        } else {
            split_row(row.chunks_exact(3), r, g, b);
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
}

impl FacePipeline {
    /// Training: 112 x 112 with random horizontal flip, as arcface_torch.
    pub fn train() -> Self {
        Self {
            size: 112,
            random_flip: true,
        }
    }

    /// Evaluation: 112 x 112, no augmentation.
    pub fn eval() -> Self {
        Self {
            size: 112,
            random_flip: false,
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
}

impl Default for FacePipeline {
    /// The training pipeline.
    fn default() -> Self {
        Self::train()
    }
}
