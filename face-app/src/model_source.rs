//! Where a face model comes from, for every command that runs one: a model folder
//! (`--model DIR`, as `face-app train` writes), a Hugging Face Hub repository holding such a
//! folder (`--hub owner/name[@revision]`, resolved through the local Hub cache), or an
//! arcface_torch `backbone.pth` (`--pth FILE --backbone r50`).
//!
//! Hub lookups use the cache folder of `--cache-dir`, else `HF_HUB_CACHE`, else `$HF_HOME/hub`
//! (hf-hub's order). With `--offline` or `HF_HUB_OFFLINE=1` nothing is downloaded and a file
//! missing from the cache is an error naming the file, the repository and the cache folder.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use clap::Args;

use crate::bundle::{load_bundle, FaceModel, FaceModelConfig, CONFIG_FILE, WEIGHTS_FILE};

/// The model options shared by `embed`, `verify`, `eval` and `eval-ijb`.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Which model.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Backbone of `--pth`: r18, r34, r50, r100, small, mbf, mbf-large, or a JSON file holding
    /// a model config (the `model` object of a bundle's config.json).
    #[arg(long, value_name = "NAME|FILE", requires = "pth")]
    pub backbone: Option<String>,
    /// Hub cache options for `--hub`.
    #[command(flatten)]
    pub hub: HubOptions,
}

/// Exactly one model source.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct SourceArgs {
    /// Model folder holding `config.json` and `model.safetensors` (as `face-app train` writes).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Hugging Face Hub repository holding a model folder, `owner/name` or `owner/name@revision`;
    /// read from the local Hub cache, downloaded only when missing and not offline.
    #[arg(long, value_name = "REPO_ID[@REVISION]")]
    pub hub: Option<String>,
    /// arcface_torch `backbone.pth` (a pickled state_dict); needs `--backbone`.
    #[arg(long, value_name = "FILE")]
    pub pth: Option<PathBuf>,
}

/// Options of the Hub cache, used by `--hub` and `face-app download`.
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
pub fn fetch_hub_bundle(repo: &HubRepo, options: &HubOptions) -> Result<PathBuf> {
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
                     and {how}; run `face-app download {}` with network access, or point \
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

/// A model ready to embed: the backbone, the extra fields of its `config.json` (empty for a
/// `.pth`) and a description of where it came from.
pub struct ResolvedModel {
    /// The backbone, in eval mode when called with `train = false`.
    pub model: FaceModel,
    /// Trainer-recorded fields of `config.json` (e.g. `thresholds`).
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// `--model DIR`, `--hub owner/name@rev (DIR)` or `--pth FILE`, for messages and reports.
    pub origin: String,
}

/// The backbone config `--backbone` names: a preset name or a JSON file.
pub fn backbone_config(spec: &str) -> Result<FaceModelConfig> {
    let path = Path::new(spec);
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || path.is_file()
    {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading backbone config {}", path.display()))?;
        return serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a backbone config (expected e.g. {{\"arch\": \"iresnet\", \"layers\": \
                 [3, 4, 14, 3], \"base_width\": 64, \"embedding_dim\": 512, \"dropout\": 0.0}})",
                path.display()
            )
        });
    }
    FaceModelConfig::by_name(spec)
}

impl ModelArgs {
    /// Loads the chosen model on `device`.
    pub fn load(&self, device: &Device) -> Result<ResolvedModel> {
        let source = &self.source;
        if let Some(dir) = &source.model {
            let bundle = load_bundle(dir, device)?;
            return Ok(ResolvedModel {
                model: bundle.model,
                extra: bundle.extra,
                origin: format!("--model {}", dir.display()),
            });
        }
        if let Some(spec) = &source.hub {
            let repo: HubRepo = spec.parse()?;
            let dir = fetch_hub_bundle(&repo, &self.hub)?;
            let bundle = load_bundle(&dir, device)
                .with_context(|| format!("loading Hub repository {repo}"))?;
            return Ok(ResolvedModel {
                model: bundle.model,
                extra: bundle.extra,
                origin: format!("--hub {repo} ({})", dir.display()),
            });
        }
        if let Some(file) = &source.pth {
            let Some(spec) = &self.backbone else {
                bail!(
                    "--pth {} needs --backbone (one of {}, or a JSON config file)",
                    file.display(),
                    FaceModelConfig::NAMES.join(", ")
                );
            };
            let cfg = backbone_config(spec)?;
            if !file.is_file() {
                bail!("{}: no such file", file.display());
            }
            let model = VarBuilder::from_pth(file, DType::F32, device)
                .and_then(|vb| FaceModel::new(&cfg, vb))
                .with_context(|| {
                    format!(
                        "loading {} as a {spec} backbone (an arcface_torch state_dict)",
                        file.display()
                    )
                })?;
            return Ok(ResolvedModel {
                model,
                extra: serde_json::Map::new(),
                origin: format!("--pth {} ({spec})", file.display()),
            });
        }
        bail!("give a model: --model DIR, --hub REPO_ID or --pth FILE --backbone NAME")
    }
}

/// The device commands run on: the first CUDA GPU when built with `cuda` and one is present,
/// else the CPU.
pub fn default_device() -> Result<Device> {
    Device::cuda_if_available(0).context("opening the GPU")
}
