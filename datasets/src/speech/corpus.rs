//! The speech data of a training run: whole utterances of `synthetic` voices, the `debian`
//! voices, or a path ([`read_list`]), split into training and held-out speakers by the rules of
//! [`split`](crate::split).

use std::path::Path;

use crate::error::{DataError, Result};
use crate::speech::audio::{load_mono, TARGET_SAMPLE_RATE_HZ};
use crate::speech::debian::installed_debian_voices;
use crate::speech::detect::read_list;
use crate::speech::lists::UtteranceList;
use crate::speech::synthetic::{SyntheticVoices, SyntheticVoicesConfig};
use crate::split::HeldoutSpec;

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

    /// The name of speaker `label`: as the list names it, or `synthetic voice N`.
    pub fn speaker_name(&self, label: u32) -> String {
        match self {
            Self::Synthetic { speakers, .. } => speakers
                .get(label as usize)
                .map_or_else(|| label.to_string(), |v| format!("synthetic voice {v}")),
            Self::Files(list) => list
                .speakers
                .get(label as usize)
                .cloned()
                .unwrap_or_else(|| label.to_string()),
        }
    }

    /// Utterances per speaker.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_speakers()];
        for i in 0..self.len() {
            counts[self.speaker(i) as usize] += 1;
        }
        counts
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
    pub fn waveform(&self, i: usize) -> Result<Vec<f32>> {
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
    /// Held-out speakers, capped per speaker (empty when none are held out).
    pub heldout: Utterances,
    /// Where it came from, for logs.
    pub description: String,
    /// `synthetic`, `debian`, or the list format read.
    pub format: &'static str,
}

/// Opens `source` and splits it as `heldout` says. `synthetic` voices hold out the last
/// `heldout.identities` of `synthetic.num_speakers` voices (with their first
/// `heldout.per_identity` utterances); `debian` and paths hold out speakers drawn with
/// `heldout.seed`, at most `per_identity` utterances each, spread over their lists.
pub fn open(
    source: &str,
    synthetic: SyntheticVoicesConfig,
    heldout: HeldoutSpec,
) -> Result<Corpus> {
    let held = heldout.identities;
    match source.trim() {
        "synthetic" => {
            let n = synthetic.num_speakers;
            if held + 2 > n {
                return Err(DataError::InvalidArgument(format!(
                    "synthetic voices: holding out {held} of {n} voices leaves fewer than 2 to train on"
                )));
            }
            let per_speaker = synthetic.utterances_per_speaker;
            let voices = SyntheticVoices::new(synthetic)?;
            let split = |speakers: Vec<usize>, per_speaker| Utterances::Synthetic {
                voices: voices.clone(),
                speakers,
                per_speaker,
            };
            Ok(Corpus {
                train: split((0..n - held).collect(), per_speaker),
                heldout: split((n - held..n).collect(), heldout.per_identity.min(per_speaker)),
                description: format!(
                    "synthetic voices: {n} speakers x {per_speaker} utterances (seed {}), {held} held out",
                    synthetic.seed
                ),
                format: "synthetic",
            })
        }
        "debian" => {
            let (train, test) = installed_debian_voices()?.split_speakers(held, heldout.seed)?;
            Ok(from_lists(
                train,
                test.cap_per_speaker(heldout.per_identity),
                "Debian voices",
                "debian",
            ))
        }
        path => {
            let path = Path::new(path);
            let (list, format) = read_list(path)?;
            let (train, test) = list
                .split_speakers(held, heldout.seed)
                .map_err(|e| DataError::format(path, e.to_string()))?;
            Ok(from_lists(
                train,
                test.cap_per_speaker(heldout.per_identity),
                &path.display().to_string(),
                format,
            ))
        }
    }
}

fn from_lists(
    train: UtteranceList,
    test: UtteranceList,
    what: &str,
    format: &'static str,
) -> Corpus {
    Corpus {
        description: format!(
            "{what}: {} training speakers ({} utterances), {} held out ({} utterances)",
            train.speakers.len(),
            train.len(),
            test.speakers.len(),
            test.len()
        ),
        train: Utterances::Files(train),
        heldout: Utterances::Files(test),
        format,
    }
}
