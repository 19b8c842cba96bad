//! A3M-I re-initialization: class-mean embeddings from the eval-mode model, written into the
//! head's prototypes, with the head's momentum cleared.

use anyhow::Context as _;
use candle_core::{Device, Tensor};
use datasets::loader::{class_indices, item_rng};
use train_kit::Optimizer;

use crate::fbank::Fbank;
use crate::models::SpeakerModel;
use crate::train::data::TrainSource;

/// Chunks embedded per class for the class means.
pub const CHUNKS_PER_CLASS: usize = 2;

/// Chunks per forward pass.
const BATCH: usize = 32;

/// The mean L2-normalized eval-mode embedding of every class of `source`, `[C, D]`, from the
/// first [`CHUNKS_PER_CLASS`] items of each class (chunks drawn with `seed` and `salt`, fbank
/// without dither from `fbank`). A class without items gets a zero row (its prototype is kept).
pub fn class_means(
    model: &SpeakerModel,
    fbank: &Fbank,
    source: &TrainSource,
    seed: u64,
    salt: u64,
    device: &Device,
) -> anyhow::Result<Tensor> {
    let classes = class_indices(source);
    let dim = model.config().embedding_dim();
    let mut sums = vec![0f32; classes.len() * dim];
    let mut counts = vec![0usize; classes.len()];
    let items: Vec<(usize, usize)> = classes
        .iter()
        .enumerate()
        .flat_map(|(c, members)| members.iter().take(CHUNKS_PER_CLASS).map(move |&i| (c, i)))
        .collect();
    for group in items.chunks(BATCH) {
        let mut waves = Vec::with_capacity(group.len() * source.chunk_samples());
        for &(_, index) in group {
            let chunk = source
                .chunk_of(index, &mut item_rng(seed, salt, index))
                .with_context(|| format!("A3M-I class means: {}", describe(source, index)))?;
            waves.extend(chunk.iter().map(|x| x * crate::embed::INT16_SCALE));
        }
        let feats = fbank.compute_batch(&waves, group.len(), 0)?;
        let x = Tensor::from_vec(feats.data, (feats.batch, feats.frames, feats.bins), device)?;
        let emb = alpha_loss::l2_normalize(&model.forward_t(&x, false)?)?.to_vec2::<f32>()?;
        for (&(c, _), row) in group.iter().zip(&emb) {
            counts[c] += 1;
            sums[c * dim..(c + 1) * dim]
                .iter_mut()
                .zip(row)
                .for_each(|(s, v)| *s += v);
        }
    }
    for (c, &n) in counts.iter().enumerate() {
        if n > 0 {
            sums[c * dim..(c + 1) * dim]
                .iter_mut()
                .for_each(|s| *s /= n as f32);
        }
    }
    Ok(Tensor::from_vec(sums, (classes.len(), dim), device)?)
}

fn describe(source: &TrainSource, index: usize) -> String {
    use datasets::loader::Source as _;
    source.describe(index)
}

/// Drops the optimizer state (momentum) of every variable of the set `set` (e.g. `"head"`),
/// keeping the rest; returns how many buffers were dropped.
pub fn clear_optimizer_state(optimizer: &mut dyn Optimizer, set: &str) -> anyhow::Result<usize> {
    let mut state = optimizer.state()?;
    let marker = format!("/{set}/");
    let before = state.tensors.len();
    state.tensors.retain(|key, _| !key.contains(&marker));
    let dropped = before - state.tensors.len();
    optimizer.load_state(state)?;
    Ok(dropped)
}
