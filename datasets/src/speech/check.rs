//! `speaker-app data check PATH`: what a speech data set holds and which files cannot be read.

use crate::error::Result;
use crate::speech::audio::decode_file;
use crate::speech::debian::installed_debian_voices;
use crate::speech::detect::read_list;
use crate::speech::lists::UtteranceList;
use crate::speech::synthetic::{SyntheticVoices, SyntheticVoicesConfig, SYNTHETIC_SAMPLE_RATE_HZ};
use std::collections::BTreeSet;
use std::path::Path;

/// How many unreadable files a report names.
pub const MAX_UNREADABLE_EXAMPLES: usize = 5;

/// Summary of a speech data set; serializes to the `--json` output of `data check`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataCheckReport {
    /// `voxceleb`, `wespeaker-raw`, `kaldi`, `synthetic` or `debian`.
    pub format: String,
    /// Speakers with at least one readable utterance.
    pub speakers: usize,
    /// Readable utterances.
    pub utterances: usize,
    /// Total duration of the readable utterances, in seconds.
    pub seconds: f64,
    /// Utterances that could not be decoded.
    pub unreadable: usize,
    /// Up to [`MAX_UNREADABLE_EXAMPLES`] of them, each as `path: reason`.
    pub unreadable_examples: Vec<String>,
}

/// Checks `path`: the words `synthetic` (default synthetic corpus) or `debian` (the Debian
/// voices under `/usr/share`), a Kaldi data dir (has `wav.scp`), a VoxCeleb-layout dir, or a
/// wespeaker raw list file (detected by [`read_list`], as training does). Every utterance is
/// decoded.
///
/// Fails only when `path` itself cannot be read (missing, malformed list, no Debian voices);
/// unreadable utterances are counted in the report.
pub fn check_speech_data(path: &str) -> Result<DataCheckReport> {
    match path {
        "synthetic" => check_synthetic(&SyntheticVoices::new(SyntheticVoicesConfig::default())?),
        "debian" => Ok(check_utterance_list(
            &installed_debian_voices()?.list,
            "debian",
        )),
        _ => {
            let (list, format) = read_list(Path::new(path))?;
            Ok(check_utterance_list(&list, format))
        }
    }
}

/// Decodes every utterance of `list` (on all cores) and summarises it under `format`.
pub fn check_utterance_list(list: &UtteranceList, format: &str) -> DataCheckReport {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = list.len().div_ceil(threads).max(1);
    let outcomes: Vec<std::result::Result<f64, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = list
            .entries
            .chunks(per_thread)
            .map(|entries| {
                let worker = scope.spawn(move || {
                    entries
                        .iter()
                        .map(|e| seconds_of(&e.path))
                        .collect::<Vec<_>>()
                });
                (entries, worker)
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|(entries, worker)| {
                worker.join().unwrap_or_else(|_| {
                    entries
                        .iter()
                        .map(|e| Err(format!("{}: the decoder panicked", e.path.display())))
                        .collect()
                })
            })
            .collect()
    });
    let mut report = DataCheckReport {
        format: format.to_string(),
        speakers: 0,
        utterances: 0,
        seconds: 0.0,
        unreadable: 0,
        unreadable_examples: Vec::new(),
    };
    let mut speakers = BTreeSet::new();
    for (entry, outcome) in list.entries.iter().zip(outcomes) {
        match outcome {
            Ok(seconds) => {
                report.utterances += 1;
                report.seconds += seconds;
                speakers.insert(entry.speaker.as_str());
            }
            Err(reason) => {
                report.unreadable += 1;
                if report.unreadable_examples.len() < MAX_UNREADABLE_EXAMPLES {
                    report.unreadable_examples.push(reason);
                }
            }
        }
    }
    report.speakers = speakers.len();
    report
}

fn seconds_of(path: &Path) -> std::result::Result<f64, String> {
    decode_file(path)
        .map(|audio| audio.seconds())
        .map_err(|e| e.to_string())
}

fn check_synthetic(voices: &SyntheticVoices) -> Result<DataCheckReport> {
    let cfg = voices.config();
    let mut samples = 0usize;
    for speaker in 0..cfg.num_speakers {
        for utterance in 0..cfg.utterances_per_speaker {
            samples += voices.utterance(speaker, utterance).map_or(0, |w| w.len());
        }
    }
    Ok(DataCheckReport {
        format: "synthetic".to_string(),
        speakers: cfg.num_speakers,
        utterances: voices.num_utterances(),
        seconds: samples as f64 / f64::from(SYNTHETIC_SAMPLE_RATE_HZ),
        unreadable: 0,
        unreadable_examples: Vec::new(),
    })
}
