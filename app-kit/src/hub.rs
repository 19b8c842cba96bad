//! The Hugging Face Hub as both apps use it: a repository holding a model bundle
//! (`config.json` + `model.safetensors`), resolved through the local Hub cache (the hub's own
//! layout, `models--owner--name/{blobs,snapshots,refs}`).
//!
//! The cache folder is `--cache-dir`, else `HF_HUB_CACHE`, else `$HF_HOME/hub` (hf-hub's
//! order). With `--offline` or `HF_HUB_OFFLINE=1` nothing is downloaded, and a file missing
//! from the cache is an error naming the file, the repository and the cache folder.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::bundle::{CONFIG_FILE, WEIGHTS_FILE};

/// Options of the Hub cache, used by `--hub` and `download`.
#[derive(Debug, Clone, Default, Args)]
pub struct HubOptions {
    /// Hugging Face Hub cache folder (default: `HF_HUB_CACHE`, else `$HF_HOME/hub`, else
    /// `~/.cache/huggingface/hub`).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Never download: use only the local Hub cache (also set by `HF_HUB_OFFLINE=1`).
    #[arg(long)]
    pub offline: bool,
}

impl HubOptions {
    /// The cache folder these options and the environment select: `--cache-dir`, else a
    /// non-empty `HF_HUB_CACHE` (or the older `HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`.
    pub fn cache_dir(&self) -> PathBuf {
        if let Some(dir) = &self.cache_dir {
            return dir.clone();
        }
        ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"]
            .iter()
            .filter_map(std::env::var_os)
            .find(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_hub::hf_home().join("hub"))
    }

    /// True with `--offline` or a true `HF_HUB_OFFLINE` (`1`, `true`, `yes`, `on`).
    pub fn is_offline(&self) -> bool {
        self.offline
            || std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "1" | "true" | "yes" | "on"
                )
            })
    }
}

/// A Hub repository id with an optional revision (branch, tag or commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRepo {
    /// `owner/name`.
    pub repo_id: String,
    /// Branch, tag or commit hash; `None` is `main`.
    pub revision: Option<String>,
}

impl HubRepo {
    /// The revision, `main` when none was given.
    pub fn revision_or_main(&self) -> &str {
        self.revision.as_deref().unwrap_or("main")
    }

    /// The repository's folder in the Hub cache: `models--owner--name`.
    pub fn cache_folder_name(&self) -> String {
        format!("models--{}", self.repo_id.replace('/', "--"))
    }
}

impl std::fmt::Display for HubRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.repo_id, self.revision_or_main())
    }
}

impl FromStr for HubRepo {
    type Err = anyhow::Error;

    /// Parses `owner/name` or `owner/name@revision`.
    fn from_str(text: &str) -> Result<Self> {
        let (id, revision) = match text.rsplit_once('@') {
            Some((id, rev)) if !rev.is_empty() => (id, Some(rev.to_string())),
            Some(_) => bail!("Hub repository {text:?}: empty revision after '@'"),
            None => (text, None),
        };
        let parts: Vec<&str> = id.split('/').collect();
        let valid = parts.len() == 2
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
        if !valid {
            bail!("Hub repository {text:?}: expected `owner/name` or `owner/name@revision`");
        }
        Ok(Self {
            repo_id: id.to_string(),
            revision,
        })
    }
}

/// Why a file is not in the cache, for the error message.
fn cache_miss_detail(cache: &Path, repo: &HubRepo, file: &str) -> String {
    let folder = cache.join(repo.cache_folder_name());
    if !folder.is_dir() {
        return format!("the cache has no folder {}", folder.display());
    }
    let revision = repo.revision_or_main();
    let is_commit = revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit());
    let commit = if is_commit {
        revision.to_string()
    } else {
        let reference = folder.join("refs").join(revision);
        match std::fs::read_to_string(&reference) {
            Ok(hash) => hash.trim().to_string(),
            Err(_) => return format!("{} does not exist", reference.display()),
        }
    };
    format!(
        "{} does not exist",
        folder.join("snapshots").join(commit).join(file).display()
    )
}

/// Fetches the model folder of `repo` (`config.json` and `model.safetensors`) into the Hub
/// cache, or only finds it there when offline, and returns the snapshot folder holding both.
/// `app` names the binary in the hint of a cache miss (`face-app download ...`).
pub fn fetch_hub_bundle(repo: &HubRepo, options: &HubOptions, app: &str) -> Result<PathBuf> {
    let cache = options.cache_dir();
    let offline = options.is_offline();
    let client = hf_hub::HFClient::builder()
        .cache_dir(&cache)
        .retry_max_attempts(2)
        .build_sync()
        .context("starting the Hugging Face Hub client")?;
    let (owner, name) = hf_hub::split_id(&repo.repo_id);
    let handle = client.model(owner, name);
    let mut folder: Option<PathBuf> = None;
    for file in [CONFIG_FILE, WEIGHTS_FILE] {
        let result = handle
            .download_file()
            .filename(file)
            .maybe_revision(repo.revision.clone())
            .local_files_only(offline)
            .send();
        let path = match result {
            Ok(path) => path,
            Err(hf_hub::HFError::LocalEntryNotFound { .. }) => {
                let how = if offline {
                    "offline mode (--offline or HF_HUB_OFFLINE)"
                } else {
                    "the Hub could not be reached"
                };
                bail!(
                    "{file} of Hub repository {repo} is not in the Hugging Face cache {} ({}), \
                     and {how}; run `{app} download {}` with network access, or point \
                     --cache-dir / HF_HUB_CACHE at a cache that has it",
                    cache.display(),
                    cache_miss_detail(&cache, repo, file),
                    repo.repo_id
                )
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "getting {file} of Hub repository {repo} (cache {})",
                    cache.display()
                )))
            }
        };
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        match &folder {
            Some(dir) if *dir != parent => bail!(
                "Hub repository {repo}: {CONFIG_FILE} and {WEIGHTS_FILE} resolved to different \
                 snapshots ({} and {})",
                dir.display(),
                parent.display()
            ),
            _ => folder = Some(parent),
        }
    }
    folder.context("no file was resolved")
}
