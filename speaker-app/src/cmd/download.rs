//! `speaker-app download REPO_ID`: app-kit's `download` for speaker model folders.

use anyhow::Result;
use app_kit::cli::download::{run as download, DownloadArgs};
use speaker_app::models::REGISTRY;

/// Runs `speaker-app download`.
pub fn run(args: DownloadArgs) -> Result<()> {
    download(&args, "speaker", &REGISTRY)
}
