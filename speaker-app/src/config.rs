//! Speaker-app's own keys of the run config: how training chunks are cut and augmented
//! (`[data]`, `[data.synthetic]`) and how held-out utterances are embedded (`[eval]`). The shared
//! keys are app-kit's.

use std::cmp::Ordering;
use std::path::PathBuf;

use anyhow::{bail, Result};
use app_kit::AppSection;
use serde::{Deserialize, Serialize};

/// Speaker-app's own `[data]` keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechData {
    /// Training chunk length in seconds (wespeaker: 200 frames = 2.015 s).
    #[serde(default = "default_chunk")]
    pub chunk_seconds: f64,
    /// Utterances shorter than this are dropped (wespeaker: 1 s).
    #[serde(default = "one")]
    pub min_seconds: f64,
    /// Speed perturbation 0.9 / 1.1 as extra classes (speaker + N, speaker + 2N).
    #[serde(default = "yes")]
    pub speed_perturb: bool,
    /// MUSAN-style folder (`music/`, `noise/`, `speech/` below it) for additive noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub musan: Option<PathBuf>,
    /// Folder of room impulse responses for reverberation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rir: Option<PathBuf>,
    /// Probability that a chunk is augmented (noise or reverb) when a folder is set.
    #[serde(default = "default_aug_prob")]
    pub aug_prob: f64,
    /// `[data.synthetic]`: the generated voices (`data.source = "synthetic"`).
    #[serde(default)]
    pub synthetic: SyntheticVoicesSettings,
}

/// `[data.synthetic]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticVoicesSettings {
    /// Seed of the voices.
    #[serde(default)]
    pub seed: u64,
    /// All speakers, the held-out ones (the last `eval.heldout_identities`) included.
    pub identities: usize,
    /// Utterances per speaker.
    pub utterances_per_identity: usize,
    /// Shortest utterance in seconds.
    pub min_seconds: f32,
    /// Longest utterance in seconds.
    pub max_seconds: f32,
}

impl Default for SyntheticVoicesSettings {
    fn default() -> Self {
        Self {
            seed: 0,
            identities: 50,
            utterances_per_identity: 10,
            min_seconds: 2.0,
            max_seconds: 4.0,
        }
    }
}

fn default_chunk() -> f64 {
    2.0
}
fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn default_aug_prob() -> f64 {
    0.6
}

impl AppSection for SpeechData {
    fn validate(&self) -> Result<()> {
        if self.chunk_seconds.partial_cmp(&0.1) != Some(Ordering::Greater) {
            bail!("data.chunk_seconds = {}: must be > 0.1", self.chunk_seconds);
        }
        if self.min_seconds.partial_cmp(&0.0) != Some(Ordering::Greater) {
            bail!("data.min_seconds = {}: must be > 0", self.min_seconds);
        }
        if !(0.0..=1.0).contains(&self.aug_prob) {
            bail!("data.aug_prob = {}: must be in [0, 1]", self.aug_prob);
        }
        let s = &self.synthetic;
        if s.identities < 2 || s.utterances_per_identity == 0 {
            bail!("data.synthetic: identities must be >= 2 and utterances_per_identity >= 1");
        }
        Ok(())
    }
}

/// Speaker-app's own `[eval]` keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechEval {
    /// Held-out utterances longer than this are cut to their first `max_seconds`.
    #[serde(default = "default_max_seconds")]
    pub max_seconds: f64,
}

fn default_max_seconds() -> f64 {
    10.0
}

impl Default for SpeechEval {
    fn default() -> Self {
        Self {
            max_seconds: default_max_seconds(),
        }
    }
}

impl AppSection for SpeechEval {
    fn validate(&self) -> Result<()> {
        if self.max_seconds.partial_cmp(&0.0) != Some(Ordering::Greater) {
            bail!("eval.max_seconds = {}: must be > 0", self.max_seconds);
        }
        Ok(())
    }
}
