//! Images → L2-normalized embeddings, with insightface's flip test-time augmentation (the
//! embedding of an image plus that of its mirror image, then normalized).
//!
//! Training (A3M-I class means, held-out evaluation, validation), `embed`, `verify` and `eval`
//! all embed through here.

use app_kit::Backbone;
use candle_core::{DType, Device, Tensor, D};
use datasets::face::{image_to_chw, FaceImages, FacePipeline};
use image::RgbImage;
use rayon::prelude::*;

/// How images are embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbedOptions {
    /// Images per forward pass.
    pub batch_size: usize,
    /// Add the mirrored image's embedding before normalizing (insightface's evaluation default).
    pub flip_tta: bool,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        Self {
            batch_size: 64,
            flip_tta: true,
        }
    }
}

/// Mirrors a `(B, C, H, W)` batch left-right.
pub fn flip_horizontal(batch: &Tensor) -> candle_core::Result<Tensor> {
    let width = batch.dim(D::Minus1)?;
    let reversed: Vec<u32> = (0..width as u32).rev().collect();
    let index = Tensor::from_vec(reversed, width, batch.device())?;
    batch.index_select(&index, 3)
}

/// Embeddings `(B, D)` of a normalized `(B, 3, 112, 112)` batch in eval mode, L2-normalized
/// (after adding the mirrored batch's embeddings when `flip_tta`).
pub fn embed_batch(
    model: &dyn Backbone,
    batch: &Tensor,
    flip_tta: bool,
) -> candle_core::Result<Tensor> {
    let mut emb = model.forward_t(batch, false)?;
    if flip_tta {
        emb = (emb + model.forward_t(&flip_horizontal(batch)?, false)?)?;
    }
    alpha_loss::l2_normalize(&emb.to_dtype(DType::F32)?)
}

/// Embeds decoded images (resized to 112×112 if needed) in batches; returns the row-major
/// `(N, D)` matrix of L2-normalized embeddings. `on_batch` is called with the number of images
/// done after each batch (for progress bars).
pub fn embed_images(
    model: &dyn Backbone,
    images: &[RgbImage],
    options: EmbedOptions,
    device: &Device,
    mut on_batch: impl FnMut(usize),
) -> candle_core::Result<Vec<f32>> {
    let pipeline = FacePipeline::eval();
    let mut out = Vec::new();
    let mut done = 0;
    for chunk in images.chunks(options.batch_size.max(1)) {
        let samples: Vec<Vec<f32>> = chunk
            .par_iter()
            .map(|img| image_to_chw(&pipeline.fit(img.clone()), false).data)
            .collect();
        let side = pipeline.size as usize;
        let flat: Vec<f32> = samples.into_iter().flatten().collect();
        let batch = Tensor::from_vec(flat, (chunk.len(), 3, side, side), device)?;
        let emb = embed_batch(model, &batch, options.flip_tta)?;
        out.extend(emb.flatten_all()?.to_vec1::<f32>()?);
        done += chunk.len();
        on_batch(done);
    }
    Ok(out)
}

/// Embeddings of the images `indices` of `images` (eval mode, flip TTA when asked) in batches of
/// `batch_size`: the L2-normalized rows of those that decode, with their indices; the others
/// are returned as `item: reason` (skipped, not fatal).
pub fn embed_items(
    model: &dyn Backbone,
    images: &dyn FaceImages,
    indices: &[usize],
    options: EmbedOptions,
    device: &Device,
) -> candle_core::Result<(Vec<f32>, Vec<usize>, Vec<String>)> {
    let pipeline = FacePipeline::eval();
    let side = pipeline.size as usize;
    let (mut rows, mut done, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for chunk in indices.chunks(options.batch_size.max(1)) {
        let decoded: Vec<(usize, Result<Vec<f32>, String>)> = chunk
            .par_iter()
            .map(|&i| {
                let sample = images
                    .image(i)
                    .map(|img| image_to_chw(&pipeline.fit(img), false).data)
                    .map_err(|e| e.to_string());
                (i, sample)
            })
            .collect();
        let mut flat = Vec::with_capacity(chunk.len() * 3 * side * side);
        let mut ok = Vec::with_capacity(chunk.len());
        for (i, sample) in decoded {
            match sample {
                Ok(data) => {
                    flat.extend(data);
                    ok.push(i);
                }
                Err(reason) => skipped.push(reason),
            }
        }
        if ok.is_empty() {
            continue;
        }
        let batch = Tensor::from_vec(flat, (ok.len(), 3, side, side), device)?;
        let emb = embed_batch(model, &batch, options.flip_tta)?;
        rows.extend(emb.flatten_all()?.to_vec1::<f32>()?);
        done.extend(ok);
    }
    Ok((rows, done, skipped))
}
