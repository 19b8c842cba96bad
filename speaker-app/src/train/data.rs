//! The training data: a corpus of whole utterances (synthetic voices, Debian voices, or a
//! VoxCeleb folder / wespeaker raw list / Kaldi dir), split into training speakers and held-out
//! speakers, and the loader source that cuts speed-perturbed, augmented training chunks.

use std::path::Path;

use anyhow::{bail, Context as _};
use datasets::loader::{ItemRng, Source, TensorSample};
use datasets::speech::audio::{load_mono, TARGET_SAMPLE_RATE_HZ};
use datasets::speech::chunk::ChunkConfig;
use datasets::speech::debian::{discover_debian_voices, DEBIAN_PACKAGES, DEFAULT_DEBIAN_ROOT};
use datasets::speech::lists::{
    read_kaldi_dir, read_voxceleb_dir, read_wespeaker_raw_list, UtteranceList,
};
use datasets::speech::synthetic::{SyntheticVoices, SyntheticVoicesConfig};
use datasets::DataError;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::train::augment::{speed_chunk, Augmenter, SPEEDS};
use crate::train::config::{DataConfig, TrainConfig};

/// Whole utterances with dense speaker labels `0..num_speakers()`.
#[derive(Debug, Clone)]
pub enum Utterances {
    /// Synthetic voices: item `i` is utterance `i % per_speaker` of voice
    /// `speakers[i / per_speaker]`.
    Synthetic {
        /// The generator (holds every voice, training and held-out).
        voices: SyntheticVoices,
        /// The voices of this split.
        speakers: Vec<usize>,
        /// Utterances per voice.
        per_speaker: usize,
    },
    /// Audio files.
    Files(UtteranceList),
}

impl Utterances {
    /// Number of utterances.
    pub fn len(&self) -> usize {
        match self {
            Self::Synthetic {
                speakers,
                per_speaker,
                ..
            } => speakers.len() * per_speaker,
            Self::Files(list) => list.len(),
        }
    }

    /// Whether there is no utterance.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of speakers.
    pub fn num_speakers(&self) -> usize {
        match self {
            Self::Synthetic { speakers, .. } => speakers.len(),
            Self::Files(list) => list.speakers.len(),
        }
    }

    /// Speaker label of utterance `i`.
    pub fn speaker(&self, i: usize) -> u32 {
        match self {
            Self::Synthetic { per_speaker, .. } => (i / per_speaker) as u32,
            Self::Files(list) => list.labels[i],
        }
    }

    /// A name of utterance `i` (a path, or the synthetic voice and utterance).
    pub fn describe(&self, i: usize) -> String {
        match self {
            Self::Synthetic {
                speakers,
                per_speaker,
                ..
            } => format!(
                "synthetic voice {} utterance {}",
                speakers[i / per_speaker],
                i % per_speaker
            ),
            Self::Files(list) => list.entries[i].path.display().to_string(),
        }
    }

    /// Utterance `i` as 16 kHz mono in [-1, 1].
    pub fn waveform(&self, i: usize) -> datasets::error::Result<Vec<f32>> {
        match self {
            Self::Synthetic {
                voices,
                speakers,
                per_speaker,
            } => voices
                .utterance(speakers[i / per_speaker], i % per_speaker)
                .ok_or_else(|| DataError::InvalidArgument(format!("synthetic utterance {i}"))),
            Self::Files(list) => load_mono(&list.entries[i].path, TARGET_SAMPLE_RATE_HZ),
        }
    }
}

/// The training and held-out utterances of a run.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Training speakers.
    pub train: Utterances,
    /// Held-out speakers (empty when evaluation is off).
    pub held_out: Utterances,
    /// Where it came from, for logs.
    pub description: String,
}

/// Reads `cfg.data.source` and splits off `cfg.eval.held_out_speakers` speakers (drawn with the
/// run's seed; synthetic data draws extra voices instead).
pub fn load_corpus(cfg: &TrainConfig) -> anyhow::Result<Corpus> {
    let held = cfg.eval.held_out_speakers;
    let seed = cfg.train.seed;
    let source = cfg.data.source.as_str();
    match source {
        "synthetic" => {
            let s = &cfg.data.synthetic;
            let voices = SyntheticVoices::new(SyntheticVoicesConfig {
                seed: s.seed,
                num_speakers: s.train_speakers + held,
                utterances_per_speaker: s.utterances_per_speaker,
                min_seconds: s.min_seconds,
                max_seconds: s.max_seconds,
            })?;
            let split = |speakers: Vec<usize>, per_speaker| Utterances::Synthetic {
                voices: voices.clone(),
                speakers,
                per_speaker,
            };
            Ok(Corpus {
                train: split((0..s.train_speakers).collect(), s.utterances_per_speaker),
                held_out: split(
                    (s.train_speakers..s.train_speakers + held).collect(),
                    cfg.eval.utterances_per_speaker,
                ),
                description: format!(
                    "synthetic voices: {} training speakers x {} utterances, {held} held out",
                    s.train_speakers, s.utterances_per_speaker
                ),
            })
        }
        "debian" => {
            let root = Path::new(DEFAULT_DEBIAN_ROOT);
            let Some(voices) = discover_debian_voices(root)? else {
                bail!(
                    "--data debian: no Debian voices under {}; install {}",
                    root.display(),
                    DEBIAN_PACKAGES.join(" ")
                );
            };
            let (train, test) = if held == 0 {
                (voices.list.clone(), UtteranceList::new(Vec::new()))
            } else {
                voices.split_speakers(held, seed)?
            };
            Ok(corpus_from_lists(train, test, "Debian voices"))
        }
        path => {
            let path = Path::new(path);
            let list = read_list(path)?;
            let (train, test) = split_list(&list, held, seed)?;
            Ok(corpus_from_lists(train, test, &path.display().to_string()))
        }
    }
}

fn corpus_from_lists(train: UtteranceList, test: UtteranceList, what: &str) -> Corpus {
    Corpus {
        description: format!(
            "{what}: {} training speakers ({} utterances), {} held out ({} utterances)",
            train.speakers.len(),
            train.len(),
            test.speakers.len(),
            test.len()
        ),
        train: Utterances::Files(train),
        held_out: Utterances::Files(test),
    }
}

/// A VoxCeleb folder, a Kaldi data dir (has `wav.scp`) or a wespeaker raw list (a file).
fn read_list(path: &Path) -> anyhow::Result<UtteranceList> {
    let list = if path.is_file() {
        read_wespeaker_raw_list(path)?
    } else if path.join("wav.scp").is_file() {
        read_kaldi_dir(path)?
    } else if path.is_dir() {
        read_voxceleb_dir(path)?
    } else {
        bail!(
            "--data {}: no such file or folder (expected synthetic, debian, a VoxCeleb folder, a wespeaker raw list or a Kaldi dir)",
            path.display()
        );
    };
    if list.is_empty() {
        bail!("--data {}: no utterances found", path.display());
    }
    Ok(list)
}

/// `held` speakers drawn with `seed` go to the second list, the rest to the first.
fn split_list(
    list: &UtteranceList,
    held: usize,
    seed: u64,
) -> anyhow::Result<(UtteranceList, UtteranceList)> {
    if held == 0 {
        return Ok((list.clone(), UtteranceList::new(Vec::new())));
    }
    if held + 2 > list.speakers.len() {
        bail!(
            "cannot hold out {held} of {} speakers and keep 2 for training",
            list.speakers.len()
        );
    }
    let mut speakers = list.speakers.clone();
    speakers.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let test: std::collections::HashSet<String> = speakers.into_iter().take(held).collect();
    Ok((
        list.filter_speakers(|s| !test.contains(s)),
        list.filter_speakers(|s| test.contains(s)),
    ))
}

/// Training chunks for the loader: item `i` is utterance `i % n` at speed `SPEEDS[i / n]` (with
/// speed perturbation; `n` utterances), labelled `speaker + k·N` for speed index `k` and `N`
/// speakers, so every epoch sees every utterance once at each speed (wespeaker draws the speed
/// per sample; the expectation is the same).
#[derive(Debug, Clone)]
pub struct TrainSource {
    utterances: Utterances,
    chunk: ChunkConfig,
    speeds: Vec<f64>,
    augmenter: Augmenter,
}

impl TrainSource {
    /// The training source of `cfg` over `utterances`.
    pub fn new(utterances: Utterances, data: &DataConfig) -> anyhow::Result<Self> {
        if utterances.num_speakers() < 2 {
            bail!(
                "training needs at least 2 speakers, the data has {}",
                utterances.num_speakers()
            );
        }
        let chunk = ChunkConfig::from_seconds(
            data.chunk_seconds,
            data.min_seconds.min(data.chunk_seconds),
            TARGET_SAMPLE_RATE_HZ,
        )?;
        let speeds = if data.speed_perturb {
            SPEEDS.to_vec()
        } else {
            vec![1.0]
        };
        let augmenter = Augmenter::new(data.musan.as_deref(), data.rir.as_deref(), data.aug_prob)
            .context("augmentation")?;
        Ok(Self {
            utterances,
            chunk,
            speeds,
            augmenter,
        })
    }

    /// The utterances chunks are cut from.
    pub fn utterances(&self) -> &Utterances {
        &self.utterances
    }

    /// Chunk length in samples.
    pub fn chunk_samples(&self) -> usize {
        self.chunk.chunk_samples
    }

    /// The speed factors in label order.
    pub fn speeds(&self) -> &[f64] {
        &self.speeds
    }

    /// Utterance index and speed of item `index`.
    pub fn item(&self, index: usize) -> (usize, f64) {
        let n = self.utterances.len();
        (index % n, self.speeds[index / n])
    }

    /// The chunk of item `index` (the same as [`Source::load`], as a plain vector).
    pub fn chunk_of(&self, index: usize, rng: &mut ItemRng) -> anyhow::Result<Vec<f32>> {
        let (utt, speed) = self.item(index);
        let wave = self.utterances.waveform(utt)?;
        let mut chunk = speed_chunk(&wave, &self.chunk, speed, rng)?.with_context(|| {
            format!(
                "too short: {} samples, the minimum is {}",
                wave.len(),
                self.chunk.min_samples
            )
        })?;
        self.augmenter.apply(&mut chunk, rng)?;
        Ok(chunk)
    }
}

impl Source for TrainSource {
    type Sample = TensorSample;

    fn len(&self) -> usize {
        self.utterances.len() * self.speeds.len()
    }

    fn label(&self, index: usize) -> u32 {
        let n = self.utterances.len();
        let k = (index / n) as u32;
        self.utterances.speaker(index % n) + k * self.utterances.num_speakers() as u32
    }

    fn num_classes(&self) -> usize {
        self.utterances.num_speakers() * self.speeds.len()
    }

    fn describe(&self, index: usize) -> String {
        let (utt, speed) = self.item(index);
        format!("{} at speed {speed}", self.utterances.describe(utt))
    }

    fn load(&self, index: usize, rng: &mut ItemRng) -> datasets::error::Result<TensorSample> {
        let chunk = self
            .chunk_of(index, rng)
            .map_err(|e| DataError::decode(self.describe(index), format!("{e:#}")))?;
        TensorSample::new(chunk, vec![self.chunk.chunk_samples])
    }
}
