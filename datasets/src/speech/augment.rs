//! Waveform augmentation as wespeaker's pipeline does it (`dataset/processor.py`): speed
//! perturbation by resampling, additive MUSAN noise at a random SNR, and reverberation with a
//! random room impulse response. Every random choice comes from the caller's generator.
//!
//! Waveforms are 16 kHz mono f32 in [-1, 1].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::Rng;
use realfft::RealFftPlanner;

use crate::error::{DataError, Result};
use crate::speech::audio::{load_mono, resample, TARGET_SAMPLE_RATE_HZ};
use crate::speech::chunk::ChunkConfig;

/// Samples kept on each side of a chunk before resampling, so the resampler's edge transient
/// falls outside the chunk.
const SPEED_PAD: usize = 2048;

/// The whole waveform played at `speed` (sox `speed`: pitch and tempo change together, the
/// length becomes `len / speed`), by treating it as sampled at `16000·speed` Hz and resampling
/// to 16 kHz.
pub fn speed_perturb(wave: &[f32], speed: f64) -> Result<Vec<f32>> {
    if speed == 1.0 {
        return Ok(wave.to_vec());
    }
    let from = speed_rate(speed)?;
    resample(wave, from, TARGET_SAMPLE_RATE_HZ)
}

fn speed_rate(speed: f64) -> Result<u32> {
    if !(0.5..=2.0).contains(&speed) {
        return Err(DataError::InvalidArgument(format!(
            "speed factor {speed} is outside [0.5, 2]"
        )));
    }
    Ok((f64::from(TARGET_SAMPLE_RATE_HZ) * speed).round() as u32)
}

/// A random chunk of `chunk.chunk_samples` samples of `wave` played at `speed`: the source span
/// of `chunk_samples · speed` samples (plus a margin) is cut with `chunk` rules (random start,
/// short clips tiled) and resampled, which equals perturbing the whole utterance and then
/// cutting, at a fraction of the cost. `None` when the clip is too short.
pub fn speed_chunk(
    wave: &[f32],
    chunk: &ChunkConfig,
    speed: f64,
    rng: &mut impl Rng,
) -> Result<Option<Vec<f32>>> {
    if speed == 1.0 {
        return Ok(chunk.chunk(wave, rng));
    }
    let from = speed_rate(speed)?;
    let span = (chunk.chunk_samples as f64 * speed).ceil() as usize + 2 * SPEED_PAD;
    let source = ChunkConfig {
        chunk_samples: span,
        min_samples: chunk.min_samples,
    };
    let Some(piece) = source.chunk(wave, rng) else {
        return Ok(None);
    };
    let out = resample(&piece, from, TARGET_SAMPLE_RATE_HZ)?;
    let offset = (SPEED_PAD as f64 / speed).round() as usize;
    if out.len() < offset + chunk.chunk_samples {
        return Err(DataError::InvalidArgument(format!(
            "speed {speed}: resampled span has {} samples, {} needed",
            out.len(),
            offset + chunk.chunk_samples
        )));
    }
    Ok(Some(out[offset..offset + chunk.chunk_samples].to_vec()))
}

/// wespeaker's level in dB: `10·log10(mean(x²) + 1e-4)`.
pub fn level_db(x: &[f32]) -> f64 {
    let power = x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len().max(1) as f64;
    10.0 * (power + 1e-4).log10()
}

/// `speech + g·noise` with `g` chosen so that the levels differ by `snr_db` (wespeaker's rule,
/// levels from [`level_db`]); `noise` must be as long as `speech`.
pub fn mix_at_snr(speech: &[f32], noise: &[f32], snr_db: f64) -> Vec<f32> {
    let gain = 10f64
        .powf((level_db(speech) - level_db(noise) - snr_db) / 10.0)
        .sqrt() as f32;
    speech
        .iter()
        .zip(noise)
        .map(|(s, n)| s + gain * n)
        .collect()
}

/// Divides by `max|x| + 1e-4`, as wespeaker does to every augmented chunk.
pub fn peak_normalize(x: &mut [f32]) {
    let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = 1.0 / (peak + 1e-4);
    x.iter_mut().for_each(|v| *v *= scale);
}

/// Full linear convolution of `x` with `h`, truncated to `x.len()` samples (no delay
/// compensation, as wespeaker's `signal.convolve(...)[:len]`), computed with real FFTs.
pub fn convolve_truncated(x: &[f32], h: &[f32]) -> Vec<f32> {
    if x.is_empty() || h.is_empty() {
        return vec![0.0; x.len()];
    }
    let n = (x.len() + h.len() - 1).next_power_of_two();
    let mut planner = RealFftPlanner::<f32>::new();
    let forward = planner.plan_fft_forward(n);
    let inverse = planner.plan_fft_inverse(n);
    let spectrum = |signal: &[f32]| {
        let mut buf = vec![0f32; n];
        buf[..signal.len()].copy_from_slice(signal);
        let mut out = forward.make_output_vec();
        forward
            .process(&mut buf, &mut out)
            .expect("buffer sizes come from the plan");
        out
    };
    let a = spectrum(x);
    let b = spectrum(h);
    let mut product: Vec<_> = a.iter().zip(&b).map(|(p, q)| p * q).collect();
    // The DC and Nyquist bins of a real signal's spectrum are real; clear rounding residue.
    product[0].im = 0.0;
    if let Some(last) = product.last_mut() {
        last.im = 0.0;
    }
    let mut time = inverse.make_output_vec();
    inverse
        .process(&mut product, &mut time)
        .expect("buffer sizes come from the plan");
    let scale = 1.0 / n as f32;
    time[..x.len()].iter().map(|v| v * scale).collect()
}

/// `x` reverberated with `rir` normalized to unit L2 norm (wespeaker's reverb).
pub fn reverberate(x: &[f32], rir: &[f32]) -> Vec<f32> {
    let norm = rir.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm == 0.0 {
        return x.to_vec();
    }
    let h: Vec<f32> = rir.iter().map(|v| v / norm).collect();
    convolve_truncated(x, &h)
}

/// Kinds of MUSAN noise, with wespeaker's SNR ranges in dB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseKind {
    /// `noise/`: SNR 0–15 dB.
    Noise,
    /// `speech/` (babble): SNR 10–30 dB.
    Speech,
    /// `music/`: SNR 5–15 dB.
    Music,
}

impl NoiseKind {
    /// wespeaker's SNR range for this kind.
    pub fn snr_range_db(self) -> (f64, f64) {
        match self {
            NoiseKind::Noise => (0.0, 15.0),
            NoiseKind::Speech => (10.0, 30.0),
            NoiseKind::Music => (5.0, 15.0),
        }
    }

    /// The kind of a file from the first folder below the MUSAN root (others count as noise).
    fn from_relative(path: &Path) -> Self {
        match path
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
        {
            Some("speech") => NoiseKind::Speech,
            Some("music") => NoiseKind::Music,
            _ => NoiseKind::Noise,
        }
    }
}

/// Noise and RIR files to augment with, and how often.
#[derive(Debug, Clone, Default)]
pub struct Augmenter {
    noises: Arc<Vec<(PathBuf, NoiseKind)>>,
    rirs: Arc<Vec<PathBuf>>,
    prob: f64,
}

/// What [`Augmenter::apply`] did to a chunk.
#[derive(Debug, Clone, PartialEq)]
pub enum Augmentation {
    /// Left as it was.
    None,
    /// Noise of this kind at this SNR (dB) added.
    Noise(NoiseKind, f64),
    /// Reverberated.
    Reverb,
}

impl Augmenter {
    /// Scans the folders (MUSAN-style `music/ noise/ speech/` below `musan`; any audio below
    /// `rir`) for `wav`/`flac`/`ogg` files. A folder given but empty or missing is an error.
    pub fn new(musan: Option<&Path>, rir: Option<&Path>, prob: f64) -> Result<Self> {
        let mut noises = Vec::new();
        if let Some(root) = musan {
            for path in audio_files(root)? {
                let kind = NoiseKind::from_relative(path.strip_prefix(root).unwrap_or(&path));
                noises.push((path, kind));
            }
            if noises.is_empty() {
                return Err(DataError::format(
                    root,
                    "MUSAN folder: no wav/flac/ogg files found",
                ));
            }
        }
        let rirs = match rir {
            Some(root) => {
                let files = audio_files(root)?;
                if files.is_empty() {
                    return Err(DataError::format(
                        root,
                        "RIR folder: no wav/flac/ogg files found",
                    ));
                }
                files
            }
            None => Vec::new(),
        };
        Ok(Self {
            noises: Arc::new(noises),
            rirs: Arc::new(rirs),
            prob,
        })
    }

    /// Whether any augmentation is configured.
    pub fn is_active(&self) -> bool {
        self.prob > 0.0 && !(self.noises.is_empty() && self.rirs.is_empty())
    }

    /// With probability `prob`, adds noise or reverb (chosen uniformly among the configured
    /// ones) and peak-normalizes; otherwise leaves `chunk` untouched.
    pub fn apply(&self, chunk: &mut Vec<f32>, rng: &mut impl Rng) -> Result<Augmentation> {
        if !self.is_active() || !rng.random_bool(self.prob) {
            return Ok(Augmentation::None);
        }
        let use_noise = match (self.noises.is_empty(), self.rirs.is_empty()) {
            (false, false) => rng.random_bool(0.5),
            (false, true) => true,
            _ => false,
        };
        let done = if use_noise {
            let (path, kind) = &self.noises[rng.random_range(0..self.noises.len())];
            let noise = load_mono(path, TARGET_SAMPLE_RATE_HZ)?;
            let piece = ChunkConfig {
                chunk_samples: chunk.len(),
                min_samples: 1,
            }
            .chunk(&noise, rng)
            .ok_or_else(|| DataError::format(path, "noise file is empty"))?;
            let (lo, hi) = kind.snr_range_db();
            let snr = rng.random_range(lo..=hi);
            *chunk = mix_at_snr(chunk, &piece, snr);
            Augmentation::Noise(*kind, snr)
        } else {
            let path = &self.rirs[rng.random_range(0..self.rirs.len())];
            let rir = load_mono(path, TARGET_SAMPLE_RATE_HZ)?;
            *chunk = reverberate(chunk, &rir);
            Augmentation::Reverb
        };
        peak_normalize(chunk);
        Ok(done)
    }
}

/// Audio files below `root`, sorted (so the choice of a file is reproducible).
fn audio_files(root: &Path) -> Result<Vec<PathBuf>> {
    if !root.is_dir() {
        return Err(DataError::format(root, "not a folder"));
    }
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for item in std::fs::read_dir(&dir).map_err(|e| DataError::io(&dir, e))? {
            let path = item.map_err(|e| DataError::io(&dir, e))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "wav" | "flac" | "ogg"))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}
