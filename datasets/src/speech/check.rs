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
    /// `voxceleb`, `wespeaker-raw`, `kaldi`, `synthetic`, `debian` or `audio-file`.
    pub format: String,
    /// Speakers with at least one usable utterance.
    pub speakers: usize,
    /// Usable utterances: decodable, every sample finite, at least `min_seconds` long.
    pub utterances: usize,
    /// Total duration of the usable utterances, in seconds.
    pub seconds: f64,
    /// Utterances that cannot be decoded or hold NaN / infinite samples.
    pub unreadable: usize,
    /// Up to [`MAX_UNREADABLE_EXAMPLES`] of them, each as `path: reason`.
    pub unreadable_examples: Vec<String>,
    /// Readable utterances shorter than `min_seconds` (what training drops).
    pub too_short: usize,
    /// Up to [`MAX_UNREADABLE_EXAMPLES`] of them, each as `path: reason`.
    pub too_short_examples: Vec<String>,
    /// The shortest usable length, seconds.
    pub min_seconds: f64,
}

/// Extensions of single audio files (what `data check` checks alone and lists refuse).
pub const AUDIO_EXTENSIONS: [&str; 6] = ["wav", "flac", "ogg", "m4a", "aac", "mp4"];

/// Whether `path` names an audio file by its extension.
pub fn is_audio_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// Why an utterance cannot be used: `Err((too_short, reason))`.
type Verdict = std::result::Result<f64, (bool, String)>;

/// Checks `path`: the words `synthetic` (default synthetic corpus) or `debian` (the Debian
/// voices under `/usr/share`), a Kaldi data dir (has `wav.scp`), a VoxCeleb-layout dir, a
/// wespeaker raw list file (detected by [`read_list`], as training does), or one audio file.
/// Every utterance is decoded and accepted by the rules the commands that read audio apply:
/// decodable, every sample finite, and at least `min_seconds` long (training's
/// `data.min_seconds`).
///
/// Fails only when `path` itself cannot be read (missing, malformed list, no Debian voices);
/// unusable utterances are counted in the report.
pub fn check_speech_data(path: &str, min_seconds: f64) -> Result<DataCheckReport> {
    match path {
        "synthetic" => check_synthetic(
            &SyntheticVoices::new(SyntheticVoicesConfig::default())?,
            min_seconds,
        ),
        "debian" => Ok(check_utterance_list(
            &installed_debian_voices()?.list,
            "debian",
            min_seconds,
        )),
        _ if is_audio_file(Path::new(path)) => {
            let entry = crate::speech::lists::UtteranceEntry {
                key: path.to_string(),
                speaker: "-".to_string(),
                path: path.into(),
            };
            if !entry.path.is_file() {
                return Err(crate::error::DataError::io(
                    &entry.path,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such audio file"),
                ));
            }
            Ok(check_utterance_list(
                &UtteranceList::new(vec![entry]),
                "audio-file",
                min_seconds,
            ))
        }
        _ => {
            let (list, format) = read_list(Path::new(path))?;
            Ok(check_utterance_list(&list, format, min_seconds))
        }
    }
}

/// Decodes every utterance of `list` (on all cores) and summarises it under `format`.
pub fn check_utterance_list(
    list: &UtteranceList,
    format: &str,
    min_seconds: f64,
) -> DataCheckReport {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = list.len().div_ceil(threads).max(1);
    let outcomes: Vec<Verdict> = std::thread::scope(|scope| {
        let workers: Vec<_> = list
            .entries
            .chunks(per_thread)
            .map(|entries| {
                let worker = scope.spawn(move || {
                    entries
                        .iter()
                        .map(|e| verdict(&e.path, min_seconds))
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
                        .map(|e| {
                            Err((false, format!("{}: the decoder panicked", e.path.display())))
                        })
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
        too_short: 0,
        too_short_examples: Vec::new(),
        min_seconds,
    };
    let mut speakers = BTreeSet::new();
    for (entry, outcome) in list.entries.iter().zip(outcomes) {
        match outcome {
            Ok(seconds) => {
                report.utterances += 1;
                report.seconds += seconds;
                speakers.insert(entry.speaker.as_str());
            }
            Err((true, reason)) => {
                report.too_short += 1;
                if report.too_short_examples.len() < MAX_UNREADABLE_EXAMPLES {
                    report.too_short_examples.push(reason);
                }
            }
            Err((false, reason)) => {
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

/// The duration of a usable file, or why it is not (decode errors include NaN samples).
fn verdict(path: &Path, min_seconds: f64) -> Verdict {
    let seconds = decode_file(path)
        .map(|audio| audio.seconds())
        .map_err(|e| (false, e.to_string()))?;
    if seconds < min_seconds {
        return Err((
            true,
            format!(
                "{}: too short: {seconds:.3} s, the minimum is {min_seconds} s",
                path.display()
            ),
        ));
    }
    Ok(seconds)
}

fn check_synthetic(voices: &SyntheticVoices, min_seconds: f64) -> Result<DataCheckReport> {
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
        too_short: 0,
        too_short_examples: Vec::new(),
        min_seconds,
    })
}
