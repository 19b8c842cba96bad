//! `speaker-app`: speaker verification with α-divergence losses: train, embed, verify, evaluate
//! on VoxCeleb trial lists, fetch models from the Hub, `fbank` features and `data check`.

mod cmd;

use std::process::ExitCode;

use clap::Subcommand;

/// The subcommands of `speaker-app`.
#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect speech data.
    #[command(subcommand)]
    Data(cmd::data::DataCommand),
    /// Write the log-mel filterbank features of an audio file as a float32 `[frames, bins]` .npy.
    Fbank(cmd::fbank::FbankArgs),
    /// Embed audio files, folders or lists into an eval-kit embedding store.
    Embed(cmd::embed::EmbedArgs),
    /// Score two recordings: same speaker or not.
    Verify(app_kit::cli::verify::VerifyArgs<cmd::verify::NoFlags>),
    /// Evaluate embeddings on VoxCeleb trial lists: EER, minDCF, TAR@FAR, AS-norm, DET plot.
    Eval(cmd::eval::EvalArgs),
    /// Fetch a model bundle from the Hugging Face Hub into the local cache.
    Download(app_kit::cli::download::DownloadArgs),
    /// Train a speaker model (default: a small model on synthetic voices) and evaluate it on
    /// held-out speakers.
    Train(cmd::train::TrainCmd),
    /// Compare losses under one recipe: train every variant of a sweep file on every protocol
    /// and seed, then write bootstrap intervals, paired differences and plots (RESULTS.md).
    Sweep(app_kit::cli::sweep::SweepArgs),
}

fn main() -> ExitCode {
    let about = "Speaker verification with α-divergence losses.";
    app_kit::cli::main(
        "speaker-app",
        about,
        env!("CARGO_PKG_VERSION"),
        |command| match command {
            Command::Data(args) => cmd::data::run(args),
            Command::Fbank(args) => cmd::fbank::run(args),
            Command::Embed(args) => cmd::embed::run(args),
            Command::Verify(args) => cmd::verify::run(args),
            Command::Eval(args) => cmd::eval::run(args),
            Command::Download(args) => cmd::download::run(args),
            Command::Train(args) => cmd::train::run(args),
            Command::Sweep(args) => {
                app_kit::cli::sweep::run::<speaker_app::train::SpeakerApp>(&args)
            }
        },
    )
}
