//! Where a speaker model comes from, resolved in one place for every command: a bundle folder
//! (`--model DIR`: `config.json` + `model.safetensors`), a Hugging Face Hub repository holding
//! such a bundle (`--hub OWNER/NAME[@REVISION]`, through the local HF cache), or a wespeaker
//! PyTorch checkpoint (`--pth avg_model.pt --arch resnet34`).
//!
//! The HF cache is the hub's own layout (`models--owner--name/{blobs,snapshots,refs}`), found
//! from `--cache-dir`, else `HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
//! `--offline` or `HF_HUB_OFFLINE=1` resolves from the cache only and never touches the network.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use candle_core::Device;
use clap::Args;
use hf_hub::{HFClient, HFClientSync, HFError};

use crate::models::{load_bundle, SpeakerModel, SpeakerModelConfig, BUNDLE_CONFIG, BUNDLE_WEIGHTS};

/// The files a bundle repository must hold.
pub const BUNDLE_FILES: [&str; 2] = [BUNDLE_CONFIG, BUNDLE_WEIGHTS];

/// How to reach the Hugging Face Hub cache (shared by `--hub` and `download`).
#[derive(Debug, Clone, Default, Args)]
pub struct HubOptions {
    /// Hugging Face cache folder (default: HF_HUB_CACHE, else $HF_HOME/hub, else
    /// ~/.cache/huggingface/hub).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Use the local Hugging Face cache only, never the network (also HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
}

impl HubOptions {
    /// True when `--offline` is given or `HF_HUB_OFFLINE` is `1`, `true`, `yes` or `on`.
    pub fn is_offline(&self) -> bool {
        self.offline
            || std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "1" | "true" | "yes" | "on"
                )
            })
    }

    /// The cache folder that will be used.
    pub fn resolved_cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(hf_hub::resolve_cache_dir)
    }

    fn client(&self) -> anyhow::Result<HFClientSync> {
        let builder = HFClient::builder().cache_dir(self.resolved_cache_dir());
        builder
            .build_sync()
            .context("setting up the Hugging Face Hub client")
    }
}

/// A model repository on the Hub: `owner/name` and an optional revision (branch, tag or commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSpec {
    /// `owner/name`.
    pub repo_id: String,
    /// Revision; `None` is `main`.
    pub revision: Option<String>,
}

impl RepoSpec {
    /// Parses `owner/name` or `owner/name@revision`.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let (repo_id, revision) = match spec.split_once('@') {
            Some((id, rev)) => (id, Some(rev)),
            None => (spec, None),
        };
        let valid_part = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match repo_id.split_once('/') {
            Some((owner, name)) if valid_part(owner) && valid_part(name) => {}
            _ => anyhow::bail!(
                "bad repository id {spec:?}: expected OWNER/NAME or OWNER/NAME@REVISION"
            ),
        }
        if revision.is_some_and(str::is_empty) {
            anyhow::bail!("bad repository id {spec:?}: empty revision after '@'")
        }
        Ok(Self {
            repo_id: repo_id.to_string(),
            revision: revision.map(str::to_string),
        })
    }

    fn revision_name(&self) -> &str {
        self.revision.as_deref().unwrap_or("main")
    }
}

impl std::fmt::Display for RepoSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.revision {
            Some(rev) => write!(f, "{}@{rev}", self.repo_id),
            None => f.write_str(&self.repo_id),
        }
    }
}

/// Puts a bundle repository's files ([`BUNDLE_FILES`]) in the HF cache (downloading what is
/// missing unless offline) and returns the snapshot folder holding them, ready for
/// [`load_bundle`]. Offline, a file not in the cache is an error naming the file, the
/// repository and the cache folder.
pub fn fetch_bundle(spec: &RepoSpec, hub: &HubOptions) -> anyhow::Result<PathBuf> {
    let client = hub.client()?;
    let (owner, name) = spec
        .repo_id
        .split_once('/')
        .context("repository id without '/'")?;
    let repo = client.model(owner, name);
    let offline = hub.is_offline();
    let mut folder: Option<PathBuf> = None;
    for file in BUNDLE_FILES {
        let path = repo
            .download_file()
            .filename(file)
            .maybe_revision(spec.revision.clone())
            .local_files_only(offline)
            .send()
            .map_err(|e| match e {
                HFError::LocalEntryNotFound { .. } => anyhow::anyhow!(
                    "{file} of {} (revision {}) is not in the Hugging Face cache {} (offline; run `speaker-app download {spec}` with network access)",
                    spec.repo_id,
                    spec.revision_name(),
                    hub.resolved_cache_dir().display()
                ),
                other => anyhow::Error::new(other).context(format!(
                    "fetching {file} of {} (revision {})",
                    spec.repo_id,
                    spec.revision_name()
                )),
            })?;
        let parent = path
            .parent()
            .map(Path::to_path_buf)
            .context("cached file without a folder")?;
        match &folder {
            None => folder = Some(parent),
            Some(f) if *f != parent => anyhow::bail!(
                "{} of {} resolved to {}, outside the snapshot {}",
                file,
                spec.repo_id,
                path.display(),
                f.display()
            ),
            Some(_) => {}
        }
    }
    folder.context("no bundle files")
}

/// Model selection flags shared by `embed`, `verify` and `eval`.
#[derive(Debug, Clone, Default, Args)]
pub struct ModelArgs {
    /// Model bundle folder: config.json + model.safetensors.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["hub", "pth"])]
    pub model: Option<PathBuf>,
    /// Hugging Face repository holding a bundle, OWNER/NAME[@REVISION], read through the HF cache.
    #[arg(long, value_name = "REPO_ID[@REVISION]", conflicts_with = "pth")]
    pub hub: Option<String>,
    /// wespeaker PyTorch checkpoint (avg_model.pt); needs --arch.
    #[arg(long, value_name = "FILE", requires = "arch")]
    pub pth: Option<PathBuf>,
    /// Architecture of --pth: resnet34, resnet18, ecapa-c512, ecapa-c1024 or small.
    #[arg(long, value_name = "NAME")]
    pub arch: Option<String>,
    /// How `--hub` reaches the Hugging Face cache.
    #[command(flatten)]
    pub hub_options: HubOptions,
    /// Device: cpu, or cuda / cuda:N in a build with the `cuda` feature.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// A loaded model with what the commands need to know about it.
#[derive(Debug)]
pub struct LoadedModel {
    /// The network, in eval use.
    pub model: SpeakerModel,
    /// The extra fields of the bundle's `config.json` (`null` for a `.pth`).
    pub extra: serde_json::Value,
    /// Where it came from, for messages and reports (a folder, `hub:owner/name@rev` or a file).
    pub origin: String,
    /// The device it lives on.
    pub device: Device,
}

/// Parses `cpu`, `cuda` or `cuda:N`.
pub fn parse_device(name: &str) -> anyhow::Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Device::new_cuda(0).context("opening cuda:0"),
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => Device::new_cuda(n).with_context(|| format!("opening {other}")),
            _ => anyhow::bail!("unknown device {other:?}: expected cpu, cuda or cuda:N"),
        },
    }
}

impl ModelArgs {
    /// True when a model was named (`--model`, `--hub` or `--pth`).
    pub fn is_given(&self) -> bool {
        self.model.is_some() || self.hub.is_some() || self.pth.is_some()
    }

    /// Loads the model the flags name; errors when none is named.
    pub fn load(&self) -> anyhow::Result<LoadedModel> {
        let device = parse_device(&self.device)?;
        if let Some(dir) = &self.model {
            return load_bundle_dir(dir, dir.display().to_string(), device);
        }
        if let Some(spec) = &self.hub {
            let spec = RepoSpec::parse(spec)?;
            let dir = fetch_bundle(&spec, &self.hub_options)?;
            return load_bundle_dir(&dir, format!("hub:{spec}"), device);
        }
        if let Some(path) = &self.pth {
            let arch = self.arch.as_deref().context("--pth needs --arch")?;
            let cfg = SpeakerModelConfig::by_name(arch)?;
            let (model, _) = SpeakerModel::from_pth(&cfg, path, &device)?;
            return Ok(LoadedModel {
                model,
                extra: serde_json::Value::Null,
                origin: path.display().to_string(),
                device,
            });
        }
        anyhow::bail!(
            "no model: give --model DIR, --hub OWNER/NAME[@REVISION] or --pth FILE --arch NAME"
        )
    }
}

fn load_bundle_dir(dir: &Path, origin: String, device: Device) -> anyhow::Result<LoadedModel> {
    let (model, _, extra) =
        load_bundle(dir, &device).with_context(|| format!("loading model {origin}"))?;
    Ok(LoadedModel {
        model,
        extra,
        origin,
        device,
    })
}
