//! Audio in and out: decode wav / flac / ogg-vorbis / m4a (AAC-LC), mix down to mono, resample, write WAV.

mod decode;
mod mixdown;
mod resample;
mod wav_writer;

pub use decode::{decode_bytes, decode_file, DecodedAudio, AAC_PRIMING_FRAMES};
pub use mixdown::mix_to_mono;
pub use resample::resample;
pub use wav_writer::write_wav_pcm16;

use crate::error::Result;
use std::path::Path;

/// The sample rate every speech model in this workspace expects.
pub const TARGET_SAMPLE_RATE_HZ: u32 = 16_000;

/// Decodes `path`, mixes it down to mono and resamples it to `sample_rate_hz`.
///
/// Samples are f32 in [-1, 1] (16-bit PCM / 32768). Errors name the file and the problem.
pub fn load_mono(path: &Path, sample_rate_hz: u32) -> Result<Vec<f32>> {
    let audio = decode_file(path)?;
    let mono = mix_to_mono(&audio.samples, audio.channels);
    resample(&mono, audio.sample_rate_hz, sample_rate_hz)
}
