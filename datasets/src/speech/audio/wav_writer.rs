//! Writing mono audio as 16-bit PCM WAV with `hound`.

use crate::error::{DataError, Result};
use std::path::Path;

/// Writes mono f32 samples in [-1, 1] to `path` as 16-bit PCM WAV at `sample_rate_hz`.
///
/// Samples outside [-1, 1] are clipped; each sample is rounded to the nearest 16-bit step.
pub fn write_wav_pcm16(path: &Path, samples: &[f32], sample_rate_hz: u32) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sample_rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let to_error = |e: hound::Error| match e {
        hound::Error::IoError(source) => DataError::io(path, source),
        other => DataError::format(path, format!("writing WAV: {other}")),
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(to_error)?;
    for &sample in samples {
        let scaled = (sample.clamp(-1.0, 1.0) * 32768.0)
            .round()
            .clamp(-32768.0, 32767.0);
        writer.write_sample(scaled as i16).map_err(to_error)?;
    }
    writer.finalize().map_err(to_error)
}
