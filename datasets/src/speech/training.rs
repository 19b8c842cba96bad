//! Training chunks for the loader, as wespeaker's pipeline cuts them: a random chunk of every
//! utterance, at each speed of the label space ([`SpeedLabels`]: speed perturbation as extra
//! classes), with optional MUSAN noise or RIR reverberation ([`Augmenter`]). Every random
//! choice comes from the item's generator.

use crate::error::{DataError, Result};
use crate::loader::{ItemRng, Source, TensorSample};
use crate::speech::audio::TARGET_SAMPLE_RATE_HZ;
use crate::speech::augment::{speed_chunk, Augmenter};
use crate::speech::chunk::ChunkConfig;
use crate::speech::corpus::Utterances;
use crate::speech::labels::SpeedLabels;

/// How training chunks are cut.
#[derive(Debug, Clone)]
pub struct ChunkSettings {
    /// Chunk length in seconds (wespeaker: 200 frames = 2.015 s).
    pub chunk_seconds: f64,
    /// Utterances shorter than this are dropped (wespeaker: 1 s).
    pub min_seconds: f64,
    /// Speed perturbation 0.9 / 1.1 as extra classes.
    pub speed_perturb: bool,
    /// Noise and reverberation.
    pub augmenter: Augmenter,
}

/// Item `i` is utterance `i % U` at speed `i / U` (every epoch sees every utterance once at
/// each speed; wespeaker draws the speed per sample, with the same expectation), labelled by
/// [`SpeedLabels::class`].
#[derive(Debug, Clone)]
pub struct TrainChunks {
    utterances: Utterances,
    chunk: ChunkConfig,
    labels: SpeedLabels,
    augmenter: Augmenter,
}

impl TrainChunks {
    /// The chunks of `utterances` cut as `settings` says; at least two speakers are needed.
    pub fn new(utterances: Utterances, settings: &ChunkSettings) -> Result<Self> {
        if utterances.num_speakers() < 2 {
            return Err(DataError::InvalidArgument(format!(
                "training needs at least 2 speakers, the data has {}",
                utterances.num_speakers()
            )));
        }
        let chunk = ChunkConfig::from_seconds(
            settings.chunk_seconds,
            settings.min_seconds.min(settings.chunk_seconds),
            TARGET_SAMPLE_RATE_HZ,
        )?;
        let labels = SpeedLabels::new(
            utterances.num_speakers(),
            utterances.len(),
            settings.speed_perturb,
        );
        Ok(Self {
            utterances,
            chunk,
            labels,
            augmenter: settings.augmenter.clone(),
        })
    }

    /// The utterances chunks are cut from.
    pub fn utterances(&self) -> &Utterances {
        &self.utterances
    }

    /// The label space.
    pub fn labels(&self) -> &SpeedLabels {
        &self.labels
    }

    /// The name of class `class`: the speaker's, with the speed when it is not 1 (`id10001`,
    /// `id10001 at speed 0.9`).
    pub fn class_name(&self, class: u32) -> String {
        let speaker = self.labels.speaker_of(class);
        let speed =
            self.labels.speeds()[(class / self.utterances.num_speakers().max(1) as u32) as usize];
        let name = self.utterances.speaker_name(speaker);
        if speed == 1.0 {
            name
        } else {
            format!("{name} at speed {speed}")
        }
    }

    /// Chunk length in samples.
    pub fn chunk_samples(&self) -> usize {
        self.chunk.chunk_samples
    }

    /// The chunk of item `index` (what [`Source::load`] returns, as a plain vector).
    pub fn chunk_of(&self, index: usize, rng: &mut ItemRng) -> Result<Vec<f32>> {
        let (utt, speed) = self.labels.item(index);
        let wave = self.utterances.waveform(utt)?;
        let mut chunk = speed_chunk(&wave, &self.chunk, speed, rng)?.ok_or_else(|| {
            DataError::decode(
                self.describe(index),
                format!(
                    "too short: {} samples, the minimum is {}",
                    wave.len(),
                    self.chunk.min_samples
                ),
            )
        })?;
        self.augmenter.apply(&mut chunk, rng)?;
        Ok(chunk)
    }
}

impl Source for TrainChunks {
    type Sample = TensorSample;

    fn len(&self) -> usize {
        self.labels.num_items()
    }

    fn label(&self, index: usize) -> u32 {
        let (utt, _) = self.labels.item(index);
        self.labels.class(index, self.utterances.speaker(utt))
    }

    fn num_classes(&self) -> usize {
        self.labels.num_classes()
    }

    fn describe(&self, index: usize) -> String {
        let (utt, speed) = self.labels.item(index);
        format!("{} at speed {speed}", self.utterances.describe(utt))
    }

    fn load(&self, index: usize, rng: &mut ItemRng) -> Result<TensorSample> {
        let chunk = self.chunk_of(index, rng)?;
        TensorSample::new(chunk, vec![self.chunk.chunk_samples])
    }
}
