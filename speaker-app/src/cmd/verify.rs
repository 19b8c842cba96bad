//! `speaker-app verify A B`: app-kit's `verify` with wespeaker's whole-utterance evaluation
//! embeddings (fbank without dither, CMN, batch 1).

use anyhow::Result;
use app_kit::cli::verify::{run as verify, VerifyArgs};
use clap::Args;
use speaker_app::embed::{embed_file, eval_fbank};
use speaker_app::models::REGISTRY;

/// Speaker embeddings have no flags of their own.
#[derive(Debug, Clone, Args)]
pub struct NoFlags {}

/// Runs `speaker-app verify`.
pub fn run(args: VerifyArgs<NoFlags>) -> Result<()> {
    verify(
        &args,
        "speaker",
        &REGISTRY,
        ("same speaker", "different speakers"),
        |model, path, _| {
            let fbank = eval_fbank(&model.net)?;
            embed_file(&model.net, &fbank, path, &model.device)
        },
    )
}
