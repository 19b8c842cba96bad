//! Speech throughput: synthetic-voice generation and decode + resample of the test fixtures.
//!
//! `cargo bench -p datasets --bench speech_throughput` prints seconds of audio produced per
//! second of wall time (single thread). Numbers are machine-dependent; nothing is asserted.

use datasets::speech::audio::load_mono;
use datasets::speech::synthetic::{SyntheticVoices, SyntheticVoicesConfig};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), datasets::DataError> {
    let voices = SyntheticVoices::new(SyntheticVoicesConfig::default())?;
    let start = Instant::now();
    let mut samples = 0usize;
    for speaker in 0..voices.config().num_speakers {
        for utterance in 0..voices.config().utterances_per_speaker {
            samples += voices.utterance(speaker, utterance).map_or(0, |w| w.len());
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let audio_s = samples as f64 / 16_000.0;
    eprintln!(
        "synthetic voices: {} utterances, {audio_s:.0} s of audio in {elapsed:.2} s ({:.0}x real time)",
        voices.num_utterances(),
        audio_s / elapsed
    );

    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/speech");
    for name in [
        "speech16k.wav",
        "speech16k.flac",
        "speech16k.ogg",
        "speech16k.m4a",
        "speech8k.wav",
        "stereo44k.flac",
    ] {
        let path = fixtures.join(name);
        let repeats = 200;
        let start = Instant::now();
        let mut samples = 0usize;
        for _ in 0..repeats {
            samples += load_mono(&path, 16_000)?.len();
        }
        let elapsed = start.elapsed().as_secs_f64();
        eprintln!(
            "{name:>16}: decode + mono + 16 kHz at {:.0}x real time",
            samples as f64 / 16_000.0 / elapsed
        );
    }
    Ok(())
}
