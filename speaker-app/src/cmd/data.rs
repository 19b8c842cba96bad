//! `speaker-app data check PATH [--json]`.

use anyhow::Context;
use clap::Subcommand;
use datasets::speech::check::{check_speech_data, DataCheckReport};

/// `speaker-app data ...`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Count speakers, utterances and seconds of a VoxCeleb-layout folder, a Kaldi data dir
    /// (`wav.scp` + `utt2spk`), a wespeaker raw list, `synthetic` or `debian`, decoding every
    /// file. Unreadable files are counted and named, and the command still exits 0; it fails only
    /// when PATH cannot be read.
    Check {
        /// A data folder or list, or `synthetic` / `debian`.
        path: String,
        /// Print one JSON object: format, speakers, utterances, seconds, unreadable,
        /// unreadable_examples.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `speaker-app data`.
pub fn run(command: DataCommand) -> anyhow::Result<()> {
    match command {
        DataCommand::Check { path, json } => {
            let report = check_speech_data(&path).with_context(|| format!("checking {path}"))?;
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
            }
            Ok(())
        }
    }
}

fn serde_json_line(report: &DataCheckReport) -> anyhow::Result<String> {
    Ok(serde_json::to_string(report)?)
}
