//! Speech sources for the generic [`Loader`](crate::loader::Loader): fixed-length waveform
//! chunks `(chunk_samples,)` labelled by speaker, batched as `(B, chunk_samples)` f32 + `(B,)` u32.

use crate::error::{DataError, Result};
use crate::loader::{ItemRng, Source, TensorSample};
use crate::speech::audio::{load_mono, TARGET_SAMPLE_RATE_HZ};
use crate::speech::chunk::ChunkConfig;
use crate::speech::lists::UtteranceList;
use crate::speech::synthetic::SyntheticVoices;

/// Cuts a chunk or explains why the clip is dropped.
fn chunk_sample(
    wave: &[f32],
    chunk: &ChunkConfig,
    item: &str,
    rng: &mut ItemRng,
) -> Result<TensorSample> {
    let samples = chunk.chunk(wave, rng).ok_or_else(|| {
        DataError::decode(
            item,
            format!(
                "too short: {} samples, the minimum is {}",
                wave.len(),
                chunk.min_samples
            ),
        )
    })?;
    TensorSample::new(samples, vec![chunk.chunk_samples])
}

/// Utterances on disk (VoxCeleb folder, wespeaker list, Kaldi dir, Debian voices), decoded,
/// mixed to mono and resampled to 16 kHz on load.
///
/// A file that cannot be decoded, or is shorter than `chunk.min_samples`, makes `load` fail
/// with the path and the reason, so the loader skips and counts it.
#[derive(Debug, Clone)]
pub struct SpeechFileSource {
    list: UtteranceList,
    chunk: ChunkConfig,
}

impl SpeechFileSource {
    /// A source over `list`, cutting chunks with `chunk`.
    pub fn new(list: UtteranceList, chunk: ChunkConfig) -> Result<Self> {
        chunk.validate()?;
        Ok(Self { list, chunk })
    }

    /// The utterance list (keys, speakers, paths).
    pub fn list(&self) -> &UtteranceList {
        &self.list
    }

    /// The whole utterance `index` as 16 kHz mono (for embedding extraction), without chunking.
    pub fn waveform(&self, index: usize) -> Result<Vec<f32>> {
        let entry = self.list.entries.get(index).ok_or_else(|| {
            DataError::InvalidArgument(format!("utterance {index} of {}", self.list.len()))
        })?;
        load_mono(&entry.path, TARGET_SAMPLE_RATE_HZ)
    }
}

impl Source for SpeechFileSource {
    type Sample = TensorSample;

    fn len(&self) -> usize {
        self.list.len()
    }

    fn label(&self, index: usize) -> u32 {
        self.list.labels[index]
    }

    fn num_classes(&self) -> usize {
        self.list.speakers.len()
    }

    fn describe(&self, index: usize) -> String {
        self.list.entries[index].path.display().to_string()
    }

    fn load(&self, index: usize, rng: &mut ItemRng) -> Result<TensorSample> {
        let wave = self.waveform(index)?;
        chunk_sample(&wave, &self.chunk, &self.describe(index), rng)
    }
}

/// The synthetic voices as a source: item `i` is utterance `i % utterances_per_speaker` of
/// speaker `i / utterances_per_speaker`, labelled by the speaker.
#[derive(Debug, Clone)]
pub struct SyntheticSource {
    voices: SyntheticVoices,
    chunk: ChunkConfig,
}

impl SyntheticSource {
    /// A source over `voices`, cutting chunks with `chunk`.
    pub fn new(voices: SyntheticVoices, chunk: ChunkConfig) -> Result<Self> {
        chunk.validate()?;
        Ok(Self { voices, chunk })
    }

    /// The generator.
    pub fn voices(&self) -> &SyntheticVoices {
        &self.voices
    }

    /// The whole utterance `index` at 16 kHz, without chunking.
    pub fn waveform(&self, index: usize) -> Result<Vec<f32>> {
        let per_speaker = self.voices.config().utterances_per_speaker;
        if index >= self.len() {
            return Err(DataError::InvalidArgument(format!(
                "utterance {index} of {}",
                self.len()
            )));
        }
        self.voices
            .utterance(index / per_speaker, index % per_speaker)
            .ok_or_else(|| DataError::InvalidArgument(format!("synthetic utterance {index}")))
    }
}

impl Source for SyntheticSource {
    type Sample = TensorSample;

    fn len(&self) -> usize {
        self.voices.num_utterances()
    }

    fn label(&self, index: usize) -> u32 {
        (index / self.voices.config().utterances_per_speaker) as u32
    }

    fn num_classes(&self) -> usize {
        self.voices.config().num_speakers
    }

    fn describe(&self, index: usize) -> String {
        let per_speaker = self.voices.config().utterances_per_speaker;
        format!(
            "synthetic speaker {} utterance {}",
            index / per_speaker,
            index % per_speaker
        )
    }

    fn load(&self, index: usize, rng: &mut ItemRng) -> Result<TensorSample> {
        let wave = self.waveform(index)?;
        chunk_sample(&wave, &self.chunk, &self.describe(index), rng)
    }
}
