//! `speaker-app`: speaker verification with α-divergence losses. This release has the data tools:
//! `data check` (speakers, utterances and duration of a speech data set, and what is unreadable),
//! and `fbank` (Kaldi-compatible log-mel filterbank features of an audio file, as .npy).

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Speaker verification with α-divergence losses.
#[derive(Debug, Parser)]
#[command(name = "speaker-app", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect speech data.
    Data(cmd::data::DataArgs),
    /// Write the log-mel filterbank features of an audio file as a float32 `[frames, bins]` .npy.
    Fbank(cmd::fbank::FbankArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(args) => cmd::data::run(args),
        Command::Fbank(args) => cmd::fbank::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
