//! `speaker-app data check PATH [--json]`.

use clap::Subcommand;
use datasets::speech::check::{check_speech_data, DataCheckReport};

/// `speaker-app data ...`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Count speakers, utterances and seconds of a VoxCeleb-layout folder, a Kaldi data dir
    /// (`wav.scp` + `utt2spk`), a wespeaker raw list, one audio file, `synthetic` or `debian`,
    /// decoding every file. A file is usable when it decodes, every sample is finite and it is at
    /// least --min-seconds long, the rules training applies; unreadable and too-short files are
    /// counted and named, and the command still exits 0. It fails only when PATH cannot be read.
    Check {
        /// A data folder or list, an audio file, or `synthetic` / `debian`.
        path: String,
        /// Shortest usable utterance, seconds (training's data.min_seconds).
        #[arg(long, default_value_t = 1.0)]
        min_seconds: f64,
        /// Print one JSON object: format, speakers, utterances, seconds, unreadable,
        /// unreadable_examples, too_short, too_short_examples, min_seconds.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `speaker-app data`.
pub fn run(command: DataCommand) -> anyhow::Result<()> {
    match command {
        DataCommand::Check {
            path,
            min_seconds,
            json,
        } => {
            if !(min_seconds.is_finite() && min_seconds >= 0.0) {
                anyhow::bail!("--min-seconds {min_seconds}: must be a finite number >= 0");
            }
            let report = check_speech_data(&path, min_seconds)?;
            if json {
                println!("{}", serde_json_line(&report)?);
            } else {
                println!("format      {}", report.format);
                println!("speakers    {}", report.speakers);
                println!("utterances  {}", report.utterances);
                println!("seconds     {:.1}", report.seconds);
                println!("unreadable  {}", report.unreadable);
                for example in &report.unreadable_examples {
                    println!("  {example}");
                }
                println!(
                    "too short   {} (under {} s)",
                    report.too_short, report.min_seconds
                );
                for example in &report.too_short_examples {
                    println!("  {example}");
                }
            }
            Ok(())
        }
    }
}

fn serde_json_line(report: &DataCheckReport) -> anyhow::Result<String> {
    Ok(serde_json::to_string(report)?)
}
