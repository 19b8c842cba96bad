//! Synthetic voices: a deterministic source-filter speech generator at 16 kHz.
//!
//! Each speaker has a fixed [`VoiceIdentity`] (F0 range, vocal-tract length, spectral tilt,
//! jitter, shimmer, breathiness, speaking rate, accent); each utterance is a random sequence of
//! vowel-, fricative-, plosive- and nasal-like segments with its own prosody, a random channel
//! tilt and background noise. Everything is a function of `(seed, speaker, utterance)`.

mod phones;
mod random;
mod render;
mod voice;

pub use voice::VoiceIdentity;

use random::{seeded_rng, uniform, white_noise};

/// Sample rate of the synthetic voices.
pub const SYNTHETIC_SAMPLE_RATE_HZ: u32 = 16_000;

/// Domain tags that keep identity and utterance random streams apart.
const IDENTITY_STREAM: u64 = 1;
const UTTERANCE_STREAM: u64 = 2;

/// Size and seed of a synthetic voice corpus.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SyntheticVoicesConfig {
    /// Seed of the whole corpus.
    pub seed: u64,
    /// Number of speakers.
    pub num_speakers: usize,
    /// Utterances per speaker.
    pub utterances_per_speaker: usize,
    /// Shortest utterance, seconds.
    pub min_seconds: f32,
    /// Longest utterance, seconds.
    pub max_seconds: f32,
}

impl Default for SyntheticVoicesConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            num_speakers: 40,
            utterances_per_speaker: 10,
            min_seconds: 2.0,
            max_seconds: 4.0,
        }
    }
}

/// A synthetic voice corpus: speakers `0..num_speakers`, utterances `0..utterances_per_speaker`.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticVoices {
    config: SyntheticVoicesConfig,
    voices: Vec<VoiceIdentity>,
}

impl SyntheticVoices {
    /// Draws the speakers' identities; fails on zero speakers / utterances or a bad length range.
    pub fn new(config: SyntheticVoicesConfig) -> crate::error::Result<Self> {
        let valid_lengths = config.min_seconds > 0.0 && config.min_seconds <= config.max_seconds;
        if config.num_speakers == 0 || config.utterances_per_speaker == 0 || !valid_lengths {
            return Err(crate::error::DataError::InvalidArgument(format!(
                "synthetic voices need speakers > 0, utterances > 0 and 0 < min_seconds <= max_seconds, got {config:?}"
            )));
        }
        let voices = (0..config.num_speakers)
            .map(|speaker| {
                VoiceIdentity::draw(&mut seeded_rng(&[
                    config.seed,
                    IDENTITY_STREAM,
                    speaker as u64,
                ]))
            })
            .collect();
        Ok(Self { config, voices })
    }

    /// The corpus settings.
    pub fn config(&self) -> &SyntheticVoicesConfig {
        &self.config
    }

    /// The identity of `speaker`, if it exists.
    pub fn voice(&self, speaker: usize) -> Option<&VoiceIdentity> {
        self.voices.get(speaker)
    }

    /// Number of utterances in the corpus.
    pub fn num_utterances(&self) -> usize {
        self.config.num_speakers * self.config.utterances_per_speaker
    }

    /// Renders utterance `utterance` of `speaker` at 16 kHz (peak about 0.5).
    ///
    /// Indices beyond the configured counts are valid too (an endless supply of fresh
    /// utterances); a speaker beyond `num_speakers` gives `None`.
    pub fn utterance(&self, speaker: usize, utterance: usize) -> Option<Vec<f32>> {
        let voice = self.voices.get(speaker)?;
        let rate = SYNTHETIC_SAMPLE_RATE_HZ as f32;
        let mut rng = seeded_rng(&[
            self.config.seed,
            UTTERANCE_STREAM,
            speaker as u64,
            utterance as u64,
        ]);
        let seconds = uniform(&mut rng, self.config.min_seconds, self.config.max_seconds);
        let samples = (seconds * rate).round() as usize;
        let segments = phones::plan_utterance(voice, samples, rate, &mut rng);
        let mut wave = render::render(voice, &segments, rate, &mut rng);
        apply_channel(&mut wave, &mut rng);
        Some(wave)
    }
}

/// A per-utterance recording channel: a random first-order tilt, then noise at 15–35 dB SNR,
/// then normalisation to a peak of 0.5.
fn apply_channel(wave: &mut [f32], rng: &mut impl rand::Rng) {
    let tilt = uniform(rng, -0.5, 0.5);
    let mut previous = 0.0f32;
    for sample in wave.iter_mut() {
        let x = *sample;
        *sample = x - tilt * previous;
        previous = x;
    }
    let power = wave.iter().map(|x| x * x).sum::<f32>() / wave.len().max(1) as f32;
    let snr_db = uniform(rng, 15.0, 35.0);
    let noise_std = (power / 10f32.powf(snr_db / 10.0)).sqrt();
    for sample in wave.iter_mut() {
        *sample += noise_std * white_noise(rng);
    }
    let peak = wave.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if peak > 0.0 {
        let gain = 0.5 / peak;
        wave.iter_mut().for_each(|x| *x *= gain);
    }
}
