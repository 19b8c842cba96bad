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
    /// Train a face model (default: a small demo on synthetic faces with Q-Margin).
    Train(cmd::train::TrainArgs),
    /// Embed images, folders or image lists into an eval-kit embedding store (flip TTA).
    Embed(cmd::embed::EmbedArgs),
    /// Score two face images and decide "same person" at a FAR's threshold.
    Verify(cmd::verify::VerifyArgs),
    /// 10-fold accuracy, EER and TAR@FAR on insightface `.bin` sets (lfw, cfp_fp, agedb_30).
    Eval(cmd::eval::EvalArgs),
    /// IJB-B / IJB-C 1:1 verification TAR@FAR from the release's loose crops and meta files.
    EvalIjb(cmd::eval_ijb::EvalIjbArgs),
    /// Fetch a model folder from the Hugging Face Hub into the local cache.
    Download(cmd::download::DownloadArgs),
}

fn main() -> ExitCode {
    train_kit::alloc::tune_glibc_malloc();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(args) => cmd::data::run(args),
        Command::Train(args) => cmd::train::run_cmd(args),
        Command::Embed(args) => cmd::embed::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::EvalIjb(args) => cmd::eval_ijb::run(args),
        Command::Download(args) => cmd::download::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
