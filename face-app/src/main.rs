//! `face-app`: face verification with α-divergence losses: train, embed, verify, evaluate
//! (`.bin` pairs, IJB-B/C), fetch models from the Hub, and the data tools (`data check`,
//! `data pack`).

mod cmd;

use std::process::ExitCode;

use clap::Subcommand;

/// The subcommands of `face-app`.
#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect face data or pack an image folder into RecordIO.
    #[command(subcommand)]
    Data(cmd::data::DataCommand),
    /// Train a face model (default: a small demo on synthetic faces with Q-Margin).
    Train(cmd::train::TrainCmd),
    /// Compare losses under one recipe: train every variant of a sweep file on every protocol
    /// and seed, then write bootstrap intervals, paired differences and plots (RESULTS.md).
    Sweep(app_kit::cli::sweep::SweepArgs),
    /// Embed images, folders or image lists into an eval-kit embedding store (flip TTA).
    Embed(cmd::embed::EmbedArgs),
    /// Score two face images and decide "same person" at a FAR's threshold.
    Verify(app_kit::cli::verify::VerifyArgs<cmd::embed::EmbedFlags>),
    /// 10-fold accuracy, EER and TAR@FAR on insightface `.bin` sets (lfw, cfp_fp, agedb_30).
    Eval(cmd::eval::EvalArgs),
    /// IJB-B / IJB-C 1:1 verification TAR@FAR from the release's loose crops and meta files.
    EvalIjb(cmd::eval_ijb::EvalIjbArgs),
    /// Fetch a model folder from the Hugging Face Hub into the local cache.
    Download(app_kit::cli::download::DownloadArgs),
}

fn main() -> ExitCode {
    let about = "Face verification with α-divergence losses.";
    app_kit::cli::main(
        "face-app",
        about,
        env!("CARGO_PKG_VERSION"),
        |command| match command {
            Command::Data(args) => cmd::data::run(args),
            Command::Train(args) => cmd::train::run(args),
            Command::Sweep(args) => app_kit::cli::sweep::run::<face_app::train::FaceApp>(&args),
            Command::Embed(args) => cmd::embed::run(args),
            Command::Verify(args) => cmd::verify::run(args),
            Command::Eval(args) => cmd::eval::run(args),
            Command::EvalIjb(args) => cmd::eval_ijb::run(args),
            Command::Download(args) => cmd::download::run(args),
        },
    )
}
