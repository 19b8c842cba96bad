//! `face-app download REPO_ID`: app-kit's `download` for face model folders.

use anyhow::Result;
use app_kit::cli::download::{run as download, DownloadArgs};
use face_app::models::REGISTRY;

/// Runs `face-app download`.
pub fn run(args: DownloadArgs) -> Result<()> {
    download(&args, "face", &REGISTRY)
}
