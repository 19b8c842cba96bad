//! `download REPO_ID [--revision R] [--cache-dir D] [--offline] [--json]`: fetches a model
//! folder (`config.json`, `model.safetensors`) from the Hugging Face Hub into the local Hub
//! cache and prints the snapshot folder; offline, it checks that both files are cached.

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

use crate::bundle::{read_meta, CONFIG_FILE, WEIGHTS_FILE};
use crate::hub::{fetch_hub_bundle, HubOptions, HubRepo};
use crate::registry::Registry;

/// Arguments of `download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Hub repository, `owner/name` (or `owner/name@revision`).
    pub repo_id: String,
    /// Branch, tag or commit (default: main).
    #[arg(long)]
    pub revision: Option<String>,
    /// Hub cache options.
    #[command(flatten)]
    pub hub: HubOptions,
    /// Print one JSON object: repo, revision, snapshot, files, backbone, offline.
    #[arg(long)]
    pub json: bool,
}

/// What `download` prints with `--json`.
#[derive(Debug, Serialize)]
struct Downloaded {
    repo: String,
    revision: String,
    snapshot: String,
    files: Vec<String>,
    backbone: serde_json::Value,
    offline: bool,
}

/// Runs `download` for an `app` whose backbones `registry` lists.
pub fn run<M: ?Sized>(args: &DownloadArgs, app: &str, registry: &Registry<M>) -> Result<()> {
    let mut repo: HubRepo = args.repo_id.parse()?;
    if let Some(revision) = &args.revision {
        if repo.revision.as_ref().is_some_and(|r| r != revision) {
            bail!(
                "{} names revision {} but --revision is {revision}",
                args.repo_id,
                repo.revision_or_main()
            );
        }
        repo.revision = Some(revision.clone());
    }
    let snapshot = fetch_hub_bundle(&repo, &args.hub, &format!("{app}-app"))?;
    eprintln!(
        "{repo}: {CONFIG_FILE} and {WEIGHTS_FILE} {} in {}",
        if args.hub.is_offline() {
            "cached"
        } else {
            "ready"
        },
        args.hub.cache_dir().display()
    );
    let meta = read_meta(&snapshot, app)?;
    registry.check(&meta.model)?;
    let result = Downloaded {
        repo: repo.repo_id.clone(),
        revision: repo.revision_or_main().to_string(),
        snapshot: snapshot.display().to_string(),
        files: [CONFIG_FILE, WEIGHTS_FILE]
            .iter()
            .map(|f| snapshot.join(f).display().to_string())
            .collect(),
        backbone: meta.model,
        offline: args.hub.is_offline(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        println!("{}", result.snapshot);
    }
    Ok(())
}
