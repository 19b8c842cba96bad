//! `speaker-app download OWNER/NAME`: put a model bundle from the Hugging Face Hub into the local
//! HF cache and print the snapshot folder that holds it.

use clap::Args;
use speaker_app::model_source::{fetch_bundle, HubOptions, RepoSpec, BUNDLE_FILES};

/// Arguments of `speaker-app download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Repository id, OWNER/NAME (or OWNER/NAME@REVISION).
    pub repo_id: String,
    /// Branch, tag or commit (default: main).
    #[arg(long)]
    pub revision: Option<String>,
    #[command(flatten)]
    pub hub: HubOptions,
}

/// Runs `speaker-app download`: fetches config.json and model.safetensors (offline: checks that
/// they are cached) and prints the snapshot folder on stdout.
pub fn run(args: DownloadArgs) -> anyhow::Result<()> {
    let mut spec = RepoSpec::parse(&args.repo_id)?;
    if let Some(rev) = args.revision {
        if spec.revision.as_ref().is_some_and(|r| *r != rev) {
            anyhow::bail!(
                "two revisions: {} in the repository id and --revision {rev}",
                args.repo_id
            )
        }
        spec.revision = Some(rev);
    }
    let folder = fetch_bundle(&spec, &args.hub)?;
    eprintln!(
        "{spec}: {} {} in {}",
        BUNDLE_FILES.join(" and "),
        if args.hub.is_offline() {
            "cached"
        } else {
            "ready"
        },
        args.hub.resolved_cache_dir().display()
    );
    println!("{}", folder.display());
    Ok(())
}
