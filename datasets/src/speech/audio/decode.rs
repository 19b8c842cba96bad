//! Decoding audio files with symphonia: WAV (PCM), FLAC, Ogg Vorbis and M4A / ADTS (AAC-LC).

use super::mix_to_mono;
use crate::error::{DataError, Result};
use std::io::ErrorKind;
use std::path::Path;
use symphonia::core::codecs::audio::well_known::CODEC_ID_AAC;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

/// Encoder priming frames at the start of an AAC-LC stream.
///
/// symphonia 0.6 neither reads the M4A edit list nor trims them (`Track::delay` is `None`), so the
/// decoder output starts with this many frames of encoder delay; [`decode_file`] drops them.
/// 1024 is the delay written by ffmpeg's native AAC encoder and by most others. When the
/// container states the track length (MP4 `stts`, which counts the priming frames), the end
/// padding of the last AAC frame is cut as well, so the output has the original length.
pub const AAC_PRIMING_FRAMES: usize = 1024;

/// Decoded audio: interleaved f32 samples in [-1, 1] at the file's own rate.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// Interleaved samples (`frames * channels`).
    pub samples: Vec<f32>,
    /// Number of channels (at least 1).
    pub channels: usize,
    /// Sample rate of the file.
    pub sample_rate_hz: u32,
}

impl DecodedAudio {
    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate_hz.max(1))
    }
}

/// Decodes the audio file at `path` (the extension is used as a hint; the content decides).
///
/// Errors name the file and the problem: unknown container, unsupported codec, a malformed
/// packet, a truncated stream (fewer frames than the header promises), a NaN or infinite
/// sample, or no audio track.
/// Streams whose header states no length (Ogg without a final granule, ADTS) end where their
/// last complete packet ends. Chained Ogg streams are joined; if their channel counts differ,
/// the whole file is mixed down to mono (a change of sample rate is an error).
pub fn decode_file(path: &Path) -> Result<DecodedAudio> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let extension = path.extension().and_then(|e| e.to_str());
    decode_source(Box::new(file), extension, &path.display().to_string())
}

/// Decodes an in-memory audio file; `name` is used in errors and `extension` (e.g. `"m4a"`) as a hint.
pub fn decode_bytes(bytes: Vec<u8>, extension: Option<&str>, name: &str) -> Result<DecodedAudio> {
    decode_source(Box::new(std::io::Cursor::new(bytes)), extension, name)
}

fn decode_source(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
    name: &str,
) -> Result<DecodedAudio> {
    let fail = |reason: String| DataError::decode(name, reason);
    let stream = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(extension) = extension {
        hint.with_extension(extension);
    }
    let mut reader = symphonia::default::get_probe()
        .probe(
            &hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| fail(format!("not a readable audio file ({e})")))?;
    let mut track = open_track(reader.as_ref(), name)?;
    let expected_frames = track.num_frames;
    let params = track.params.clone();
    let mut chained = false;

    let mut samples = Vec::new();
    let mut packet_samples = Vec::new();
    let mut spec = None;
    let mut packet_index = 0usize;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // Valid files can end without an end-of-stream mark (KLettres' Ogg files lack the
            // EOS page flag), so running out of bytes ends the stream; truncation is caught by
            // the frame count below wherever the header states one (WAV, FLAC, MP4).
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            // Chained Ogg streams (several recordings back to back) announce each new stream so.
            Err(SymphoniaError::ResetRequired) => {
                track = open_track(reader.as_ref(), name)?;
                chained = true;
                continue;
            }
            Err(e) => return Err(fail(format!("demuxing packet {packet_index}: {e}"))),
        };
        if packet.track_id != track.id {
            continue;
        }
        let buffer = track
            .decoder
            .decode(&packet)
            .map_err(|e| fail(format!("decoding packet {packet_index}: {e}")))?;
        let rate = buffer.spec().rate();
        let channels = buffer.spec().channels().count().max(1);
        buffer.copy_to_vec_interleaved::<f32>(&mut packet_samples);
        match spec {
            None => spec = Some((rate, channels)),
            Some((previous_rate, _)) if previous_rate != rate => {
                return Err(fail(format!(
                    "sample rate changes mid-stream at packet {packet_index}: {previous_rate} -> {rate} Hz"
                )))
            }
            // A chained stream with another channel count: everything becomes mono.
            Some((_, previous_channels)) if previous_channels != channels => {
                if previous_channels > 1 {
                    samples = mix_to_mono(&samples, previous_channels);
                }
                spec = Some((rate, 1));
            }
            Some(_) => {}
        }
        let output_channels = spec.map_or(channels, |(_, c)| c);
        if output_channels == channels {
            samples.extend_from_slice(&packet_samples);
        } else {
            samples.extend(mix_to_mono(&packet_samples, channels));
        }
        packet_index += 1;
    }
    let (sample_rate_hz, channels) = spec
        .or_else(|| {
            params
                .sample_rate
                .map(|r| (r, params.channels.as_ref().map_or(1, |c| c.count())))
        })
        .ok_or_else(|| fail("empty stream: no audio packets and no sample rate".to_string()))?;
    if sample_rate_hz == 0 {
        return Err(fail("sample rate is 0".to_string()));
    }
    // A chained stream's header describes its first part only.
    let mut expected_frames = expected_frames.filter(|_| !chained);
    if params.codec == CODEC_ID_AAC {
        // The container's frame count (MP4 `stts`) includes the priming frames; the decoder's
        // last packet also carries end padding, which that count lets us cut.
        let skip = (AAC_PRIMING_FRAMES * channels).min(samples.len());
        samples.drain(..skip);
        expected_frames = expected_frames.map(|n| n.saturating_sub(AAC_PRIMING_FRAMES as u64));
        if let Some(expected) = expected_frames {
            samples.truncate(samples.len().min(expected as usize * channels));
        }
    }
    // A NaN or Inf sample (float WAV) would poison resampling and features: refuse the file.
    if let Some(i) = samples.iter().position(|x| !x.is_finite()) {
        let (frame, channel) = (i / channels, i % channels);
        return Err(fail(format!(
            "sample {frame} (channel {channel}, at {:.3} s) is {}: the file holds non-finite samples",
            frame as f64 / f64::from(sample_rate_hz),
            samples[i]
        )));
    }
    let frames = samples.len() / channels;
    if let Some(expected) = expected_frames {
        if (frames as u64) < expected {
            return Err(fail(format!(
                "truncated: decoded {frames} frames but the header promises {expected}"
            )));
        }
    }
    Ok(DecodedAudio {
        samples,
        channels,
        sample_rate_hz,
    })
}

/// The audio track being decoded and its decoder.
struct OpenTrack {
    id: u32,
    params: AudioCodecParameters,
    num_frames: Option<u64>,
    decoder: Box<dyn AudioDecoder>,
}

/// Picks the default audio track of `reader` and makes a decoder for it.
fn open_track(reader: &dyn FormatReader, name: &str) -> Result<OpenTrack> {
    let fail = |reason: String| DataError::decode(name, reason);
    let track = reader
        .default_track(TrackType::Audio)
        .ok_or_else(|| fail("no audio track".to_string()))?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| fail("audio track has no codec parameters".to_string()))?
        .clone();
    let decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| fail(format!("cannot decode this codec ({e})")))?;
    Ok(OpenTrack {
        id: track.id,
        num_frames: track.num_frames,
        params,
        decoder,
    })
}
