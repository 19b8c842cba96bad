//! Training chunks: fixed-length random crops, with short clips tiled and too-short clips dropped.

use crate::error::{DataError, Result};
use rand::Rng;

/// How waveforms become fixed-length training chunks (wespeaker's `random_chunk` plus its length filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkConfig {
    /// Chunk length in samples (default 32,000 = 2 s at 16 kHz).
    pub chunk_samples: usize,
    /// Clips shorter than this are dropped (default 16,000 = 1 s, wespeaker's 100-frame filter).
    pub min_samples: usize,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        Self {
            chunk_samples: 32_000,
            min_samples: 16_000,
        }
    }
}

impl ChunkConfig {
    /// wespeaker's VoxCeleb recipe: exactly 200 fbank frames (25 ms window, 10 ms shift) =
    /// 32,240 samples at 16 kHz, dropping clips under 1 s.
    pub fn wespeaker() -> Self {
        Self {
            chunk_samples: 32_240,
            min_samples: 16_000,
        }
    }

    /// A config from durations in seconds at `sample_rate_hz`.
    pub fn from_seconds(chunk_s: f64, min_s: f64, sample_rate_hz: u32) -> Result<Self> {
        let cfg = Self {
            chunk_samples: (chunk_s * f64::from(sample_rate_hz)).round() as usize,
            min_samples: (min_s * f64::from(sample_rate_hz)).round() as usize,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks that the chunk is non-empty and the minimum is at least one sample.
    pub fn validate(&self) -> Result<()> {
        if self.chunk_samples == 0 || self.min_samples == 0 {
            return Err(DataError::InvalidArgument(format!(
                "chunk: chunk_samples ({}) and min_samples ({}) must be positive",
                self.chunk_samples, self.min_samples
            )));
        }
        Ok(())
    }

    /// Whether a clip of `len` samples is long enough to be used.
    pub fn keeps(&self, len: usize) -> bool {
        len >= self.min_samples && len > 0
    }

    /// Cuts one chunk of exactly `chunk_samples` from `wave`, or `None` if the clip is too short.
    ///
    /// Longer clips: a crop at a start drawn uniformly from `0..=len-chunk` with `rng`. Equal
    /// length: the clip itself (no draw). Shorter clips: the clip repeated end to end and cut to
    /// length (no draw). The same rng state gives the same chunk.
    pub fn chunk(&self, wave: &[f32], rng: &mut impl Rng) -> Option<Vec<f32>> {
        if !self.keeps(wave.len()) {
            return None;
        }
        let len = wave.len();
        let n = self.chunk_samples;
        Some(if len > n {
            let start = rng.random_range(0..=len - n);
            wave[start..start + n].to_vec()
        } else {
            wave.iter().copied().cycle().take(n).collect()
        })
    }
}
