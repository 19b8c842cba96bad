//! Speaker embeddings of whole utterances, as wespeaker's `bin/extract.py` computes them for
//! evaluation: 16 kHz mono samples at int16 scale → fbank without dither (Hamming, 80 bins,
//! [`FbankConfig::wespeaker`]) → per-utterance CMN → the backbone in eval mode with batch 1 →
//! the raw (not L2-normalised) embedding.
//!
//! * [`eval_fbank`] builds the matching extractor for a model, [`load_audio`] reads a file at the
//!   scale the fbank expects ([`INT16_SCALE`] times [`datasets::speech::audio::load_mono`]).
//! * [`embed_waveform`] embeds one utterance, [`embed_equal_length`] a batch of equally long
//!   ones, [`embed_file`] / [`embed_files`] files (in parallel on the CPU).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use candle_core::{Device, ModuleT, Tensor};
use datasets::speech::audio::{load_mono, TARGET_SAMPLE_RATE_HZ};
use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::fbank::{Fbank, FbankConfig};
use crate::models::SpeakerModel;

/// Factor from the `[-1, 1]` samples of [`load_mono`] to the int16 scale the Kaldi fbank (and
/// wespeaker's `waveform * (1 << 15)`) works on.
pub const INT16_SCALE: f32 = 32768.0;

/// Longest stretch of frames the backbone sees at once: 60 s at the 10 ms frame shift.
///
/// An utterance up to this long is embedded whole, exactly as wespeaker does. A longer one is
/// embedded over windows of this many frames every [`WINDOW_HOP_FRAMES`] (10 s of overlap; the
/// last window ends at the last frame), and its embedding is the mean of the window embeddings
/// weighted by the frames each window adds, so the backbone's memory does not grow with the
/// length (a ResNet34 on 30 minutes at once took 15 GB). The features themselves are computed
/// over the whole utterance first, so the per-utterance CMN is the same.
pub const WINDOW_FRAMES: usize = 6000;

/// Frames between the starts of two windows of a long utterance (see [`WINDOW_FRAMES`]).
pub const WINDOW_HOP_FRAMES: usize = 5000;

/// The windows `(start, frames, weight)` a long utterance of `frames` frames is embedded over:
/// one window for `frames <= WINDOW_FRAMES`; the weights (frames new to each window) sum to
/// `frames`.
pub fn windows(frames: usize) -> Vec<(usize, usize, usize)> {
    if frames <= WINDOW_FRAMES {
        return vec![(0, frames, frames)];
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut covered = 0;
    loop {
        let start_here = start.min(frames - WINDOW_FRAMES);
        let end = start_here + WINDOW_FRAMES;
        out.push((start_here, WINDOW_FRAMES, end - covered));
        covered = end;
        if end == frames {
            return out;
        }
        start += WINDOW_HOP_FRAMES;
    }
}

/// The evaluation frontend for `model`: [`FbankConfig::wespeaker`] (dither 0, CMN) with the
/// model's mel bins.
pub fn eval_fbank(model: &SpeakerModel) -> anyhow::Result<Fbank> {
    let fbank_cfg = FbankConfig {
        num_mel_bins: model.feat_dim(),
        ..FbankConfig::wespeaker()
    };
    Ok(Fbank::new(fbank_cfg)?)
}

/// Reads an audio file (any format `datasets` decodes) as 16 kHz mono samples at int16 scale,
/// the input of [`embed_waveform`]. Errors name the file.
pub fn load_audio(path: &Path) -> anyhow::Result<Vec<f32>> {
    let mut samples = load_mono(path, TARGET_SAMPLE_RATE_HZ)
        .with_context(|| format!("reading audio {}", path.display()))?;
    samples.iter_mut().for_each(|x| *x *= INT16_SCALE);
    Ok(samples)
}

/// Checks that `fbank` can feed `model` at evaluation: no dither, 16 kHz, the model's mel bins.
fn check_frontend(model: &SpeakerModel, fbank: &Fbank) -> anyhow::Result<()> {
    let cfg = fbank.config();
    let want = model.feat_dim();
    if fbank.num_bins() != want {
        anyhow::bail!(
            "the fbank has {} mel bins, the model expects {want}",
            fbank.num_bins()
        )
    }
    if cfg.sample_rate_hz != TARGET_SAMPLE_RATE_HZ {
        anyhow::bail!(
            "the fbank expects {} Hz input, embeddings are computed at {TARGET_SAMPLE_RATE_HZ} Hz",
            cfg.sample_rate_hz
        )
    }
    if cfg.dither != 0.0 {
        anyhow::bail!(
            "the fbank dithers ({}); evaluation embeddings need dither 0 (see eval_fbank)",
            cfg.dither
        )
    }
    Ok(())
}

/// Fewest samples that give the model enough frames.
fn min_samples(model: &SpeakerModel, fbank: &Fbank) -> usize {
    let cfg = fbank.config();
    cfg.frame_length_samples() + (model.min_frames() - 1) * cfg.frame_shift_samples()
}

/// Runs the model on `(B, T, F)` features and returns the `B` embeddings, refusing non-finite
/// output.
fn forward_rows(model: &SpeakerModel, feats: Tensor) -> anyhow::Result<Vec<Vec<f32>>> {
    let rows = model
        .forward_t(&feats, false)
        .context("speaker model forward")?
        .to_dtype(candle_core::DType::F32)?
        .to_vec2::<f32>()?;
    if rows.iter().flatten().any(|x| !x.is_finite()) {
        anyhow::bail!("the model produced a non-finite embedding")
    }
    Ok(rows)
}

/// Embedding of one whole utterance: `samples` are 16 kHz mono at int16 scale ([`load_audio`],
/// or [`INT16_SCALE`] times `[-1, 1]` samples); `fbank` is the evaluation frontend
/// ([`eval_fbank`]), `device` where `model` lives. Returns the raw `D`-dimensional embedding
/// (batch 1, eval mode, not L2-normalised), as wespeaker extracts VoxCeleb1; an utterance longer
/// than [`WINDOW_FRAMES`] is embedded over windows (see there).
///
/// Errors when the frontend does not match the model (bins, rate, dither), when the utterance is
/// shorter than the model's fewest frames (the message gives the durations), or when a sample or
/// the result is not finite.
pub fn embed_waveform(
    model: &SpeakerModel,
    fbank: &Fbank,
    samples: &[f32],
    device: &Device,
) -> anyhow::Result<Vec<f32>> {
    check_frontend(model, fbank)?;
    let need = min_samples(model, fbank);
    if samples.len() < need {
        anyhow::bail!(
            "utterance too short: {} samples ({:.3} s); the model needs at least {need} ({:.3} s)",
            samples.len(),
            samples.len() as f64 / f64::from(TARGET_SAMPLE_RATE_HZ),
            need as f64 / f64::from(TARGET_SAMPLE_RATE_HZ)
        )
    }
    let features = fbank.compute(samples)?;
    let (frames, bins) = (features.frames, features.bins);
    let parts = windows(frames);
    if let [(_, _, _)] = parts[..] {
        let feats = Tensor::from_vec(features.data, (1, frames, bins), device)?;
        let mut rows = forward_rows(model, feats)?;
        return Ok(rows.swap_remove(0));
    }
    let mut sum: Vec<f64> = Vec::new();
    for (start, len, weight) in parts {
        let window = features.data[start * bins..(start + len) * bins].to_vec();
        let feats = Tensor::from_vec(window, (1, len, bins), device)?;
        let row = forward_rows(model, feats)?.swap_remove(0);
        sum.resize(row.len(), 0.0);
        for (s, v) in sum.iter_mut().zip(&row) {
            *s += weight as f64 * f64::from(*v);
        }
    }
    Ok(sum.iter().map(|s| (s / frames as f64) as f32).collect())
}

/// Embeddings of equally long utterances in one forward pass (batch `B` = `waveforms.len()`):
/// the same as calling [`embed_waveform`] on each (eval-mode BatchNorm makes rows independent),
/// but faster on a GPU. Errors as [`embed_waveform`], and when the lengths differ.
pub fn embed_equal_length(
    model: &SpeakerModel,
    fbank: &Fbank,
    waveforms: &[&[f32]],
    device: &Device,
) -> anyhow::Result<Vec<Vec<f32>>> {
    check_frontend(model, fbank)?;
    let Some(first) = waveforms.first() else {
        return Ok(Vec::new());
    };
    let len = first.len();
    if let Some(i) = waveforms.iter().position(|w| w.len() != len) {
        anyhow::bail!(
            "embed_equal_length: waveform {i} has {} samples, waveform 0 has {len}",
            waveforms[i].len()
        )
    }
    let need = min_samples(model, fbank);
    if len < need {
        anyhow::bail!("utterances too short: {len} samples each; the model needs at least {need}")
    }
    let joined: Vec<f32> = waveforms.concat();
    let batch = fbank.compute_batch(&joined, waveforms.len(), 0)?;
    let feats = Tensor::from_vec(batch.data, (batch.batch, batch.frames, batch.bins), device)?;
    forward_rows(model, feats)
}

/// Embedding of one audio file ([`load_audio`] then [`embed_waveform`]); errors name the file.
pub fn embed_file(
    model: &SpeakerModel,
    fbank: &Fbank,
    path: &Path,
    device: &Device,
) -> anyhow::Result<Vec<f32>> {
    let samples = load_audio(path)?;
    embed_waveform(model, fbank, &samples, device)
        .with_context(|| format!("embedding {}", path.display()))
}

/// Embeddings of `paths`, one result per path in the same order, so a caller can skip and count
/// the files that fail. On the CPU, files are processed in parallel (rayon); on other devices
/// they are decoded in parallel and embedded one at a time. `progress`, when given, advances by
/// one per file.
pub fn embed_files(
    model: &SpeakerModel,
    fbank: &Fbank,
    paths: &[PathBuf],
    device: &Device,
    progress: Option<&ProgressBar>,
) -> Vec<anyhow::Result<Vec<f32>>> {
    let tick = || {
        if let Some(bar) = progress {
            bar.inc(1);
        }
    };
    if device.is_cpu() {
        return paths
            .par_iter()
            .map(|path| {
                let result = embed_file(model, fbank, path, device);
                tick();
                result
            })
            .collect();
    }
    let mut results = Vec::with_capacity(paths.len());
    // Decode a few files ahead in parallel, then run the device forward passes in order.
    for block in paths.chunks(rayon::current_num_threads().max(1) * 2) {
        let audio: Vec<anyhow::Result<Vec<f32>>> =
            block.par_iter().map(|path| load_audio(path)).collect();
        for (path, samples) in block.iter().zip(audio) {
            results.push(samples.and_then(|s| {
                embed_waveform(model, fbank, &s, device)
                    .with_context(|| format!("embedding {}", path.display()))
            }));
            tick();
        }
    }
    results
}
