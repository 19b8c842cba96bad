//! A3M-I prototype re-initialization: class-mean embeddings of the training identities (eval-mode
//! backbone over up to K images per class), written into the margin head, and the head's
//! optimizer state (momentum / Adam moments) cleared so old velocity does not undo it.

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use datasets::face::FaceImages;
use train_kit::Optimizer;

use super::report::embed_indices;
use crate::bundle::FaceModel;

/// Class means `(C, D)` of L2-normalized embeddings (no flip), from the first `per_class` images
/// of each class; a class without images gets a zero row (its prototype is then kept).
pub fn class_means(
    model: &FaceModel,
    train: &dyn FaceImages,
    per_class: usize,
    batch_size: usize,
    device: &Device,
) -> Result<Tensor> {
    let classes = train.num_identities();
    let mut chosen = Vec::new();
    let mut taken = vec![0usize; classes];
    for i in 0..train.len() {
        let c = train.label(i) as usize;
        if c < classes && taken[c] < per_class {
            taken[c] += 1;
            chosen.push(i);
        }
    }
    let (emb, dim) = embed_indices(model, train, &chosen, batch_size, false, device)
        .context("A3M-I: embedding the training identities")?;
    let mut sums = vec![0f32; classes * dim];
    for (row, &i) in chosen.iter().enumerate() {
        let c = train.label(i) as usize;
        for (s, e) in sums[c * dim..(c + 1) * dim]
            .iter_mut()
            .zip(&emb[row * dim..(row + 1) * dim])
        {
            *s += e;
        }
    }
    for (c, &n) in taken.iter().enumerate() {
        if n > 0 {
            sums[c * dim..(c + 1) * dim]
                .iter_mut()
                .for_each(|s| *s /= n as f32);
        }
    }
    Ok(Tensor::from_vec(sums, (classes, dim), device)?)
}

/// Drops every optimizer buffer of the parameters whose qualified name starts with `prefix`
/// (e.g. `head/`); returns how many buffers were dropped. The other state is kept as is.
pub fn clear_state_of(optimizer: &mut dyn Optimizer, prefix: &str) -> Result<usize> {
    let names: Vec<String> = optimizer
        .groups()
        .iter()
        .flat_map(|g| g.params.iter().map(|p| p.name.clone()))
        .filter(|n| n.starts_with(prefix))
        .collect();
    let mut state = optimizer.state()?;
    let before = state.tensors.len();
    state.tensors.retain(|key, _| {
        !names.iter().any(|n| {
            key.strip_suffix(n.as_str())
                .is_some_and(|head| head.is_empty() || head.ends_with('/'))
        })
    });
    let dropped = before - state.tensors.len();
    optimizer.load_state(state)?;
    Ok(dropped)
}
