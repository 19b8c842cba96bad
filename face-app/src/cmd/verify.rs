//! `face-app verify A B`: app-kit's `verify` with face embeddings (aligned 112×112 images,
//! flip TTA unless `--no-flip`).

use anyhow::{Context, Result};
use app_kit::cli::verify::{run as verify, VerifyArgs};
use face_app::embed::embed_images;
use face_app::models::REGISTRY;

use super::embed::{read_image, EmbedFlags};

/// Runs `face-app verify`.
pub fn run(args: VerifyArgs<EmbedFlags>) -> Result<()> {
    verify(
        &args,
        "face",
        &REGISTRY,
        ("same person", "different people"),
        |model, path, flags| {
            let image = read_image(path)
                .map_err(|reason| anyhow::anyhow!("{}: {reason}", path.display()))?;
            embed_images(
                model.net.as_ref(),
                &[image],
                flags.options(),
                &model.device,
                |_| {},
            )
            .with_context(|| format!("embedding {}", path.display()))
        },
    )
}
