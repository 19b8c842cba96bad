//! `face-app`: face verification with α-divergence losses. This release has the data tools:
//! `data check` (what a path holds, how much is readable) and `data pack` (image folder → RecordIO).

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Face verification with α-divergence losses.
#[derive(Debug, Parser)]
#[command(name = "face-app", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect face data or pack an image folder into RecordIO.
    Data(cmd::data::DataArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(args) => cmd::data::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
