//! Where a model comes from, for every command that runs one, in both apps: a bundle folder
//! (`--model DIR`), a Hugging Face Hub repository holding one (`--hub owner/name[@revision]`),
//! or an upstream PyTorch state dict (`--pth FILE --backbone NAME|FILE`: arcface_torch's
//! `backbone.pth`, wespeaker's `avg_model.pt`); and on which device (`--device`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use clap::Args;

use crate::bundle::{load_weights, read_meta, BundleMeta};
use crate::device::DeviceChoice;
use crate::hub::{fetch_hub_bundle, HubOptions, HubRepo};
use crate::registry::Registry;

/// The model flags shared by every command that runs a model.
#[derive(Debug, Clone, Default, Args)]
pub struct ModelArgs {
    /// Model folder holding `config.json` and `model.safetensors` (as `train` writes it).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["hub", "pth"])]
    pub model: Option<PathBuf>,
    /// Hugging Face Hub repository holding a model folder, `owner/name` or
    /// `owner/name@revision`; read from the local Hub cache, downloaded only when missing.
    #[arg(long, value_name = "REPO_ID[@REVISION]", conflicts_with = "pth")]
    pub hub: Option<String>,
    /// An upstream PyTorch state dict (arcface_torch `backbone.pth`, wespeaker `avg_model.pt`);
    /// needs `--backbone`.
    #[arg(long, value_name = "FILE", requires = "backbone")]
    pub pth: Option<PathBuf>,
    /// Backbone of `--pth`: a preset name, or a JSON file holding a backbone config (the
    /// `model` object of a bundle's config.json).
    #[arg(long, value_name = "NAME|FILE")]
    pub backbone: Option<String>,
    /// Hub cache options for `--hub`.
    #[command(flatten)]
    pub hub_options: HubOptions,
    /// Device: auto (a GPU when the build has `cuda` and one is present), cpu, cuda or cuda:N.
    #[arg(long, value_name = "DEVICE", default_value = "auto")]
    pub device: DeviceChoice,
}

/// A model ready to embed.
pub struct LoadedModel<M: ?Sized> {
    /// The network (use it in eval mode).
    pub net: Box<M>,
    /// Its backbone config (`{"arch": ..., ...}`).
    pub config: serde_json::Value,
    /// The bundle's `config.json` (`None` for a `--pth`).
    pub meta: Option<BundleMeta>,
    /// `--model DIR`, `--hub owner/name@rev (DIR)` or `--pth FILE (backbone)`, for messages.
    pub origin: String,
    /// The device it lives on.
    pub device: Device,
}

impl<M: ?Sized> LoadedModel<M> {
    /// The stored threshold for `far`, or an error saying what there is.
    pub fn threshold_for(&self, far: f64) -> Result<f64> {
        match &self.meta {
            Some(meta) => meta.threshold_for(far, &self.origin),
            None => bail!(
                "the model ({}) is a PyTorch state dict without stored thresholds; give --threshold T",
                self.origin
            ),
        }
    }
}

impl ModelArgs {
    /// Whether a model was named.
    pub fn is_given(&self) -> bool {
        self.model.is_some() || self.hub.is_some() || self.pth.is_some()
    }

    /// Loads the model the flags name, as an `app` model built by `registry`.
    pub fn load<M: ?Sized>(&self, app: &str, registry: &Registry<M>) -> Result<LoadedModel<M>> {
        let device = self.device.open()?;
        if let Some(dir) = &self.model {
            return load_bundle(
                dir,
                app,
                registry,
                &device,
                format!("--model {}", dir.display()),
            );
        }
        if let Some(spec) = &self.hub {
            let repo: HubRepo = spec.parse()?;
            let dir = fetch_hub_bundle(&repo, &self.hub_options, &format!("{app}-app"))?;
            let origin = format!("--hub {repo} ({})", dir.display());
            return load_bundle(&dir, app, registry, &device, origin)
                .with_context(|| format!("loading Hub repository {repo}"));
        }
        if let Some(file) = &self.pth {
            let Some(spec) = &self.backbone else {
                bail!(
                    "--pth {} needs --backbone (one of {}, or a JSON config file)",
                    file.display(),
                    registry.preset_names().join(", ")
                );
            };
            let config = registry.from_spec(spec)?;
            let (net, _) = load_pth(file, &config, registry, &device)?;
            return Ok(LoadedModel {
                net,
                config,
                meta: None,
                origin: format!("--pth {} ({spec})", file.display()),
                device,
            });
        }
        bail!(
            "give a model: --model DIR, --hub OWNER/NAME[@REVISION] or --pth FILE --backbone NAME"
        )
    }
}

/// Loads the bundle in `dir`: its config, then the weights (strictly, finite only).
pub fn load_bundle<M: ?Sized>(
    dir: &Path,
    app: &str,
    registry: &Registry<M>,
    device: &Device,
    origin: String,
) -> Result<LoadedModel<M>> {
    let meta = read_meta(dir, app)?;
    let varmap = VarMap::new();
    let net = registry
        .build(
            &meta.model,
            VarBuilder::from_varmap(&varmap, DType::F32, device),
        )
        .with_context(|| format!("building the backbone described in {}", dir.display()))?;
    load_weights(dir, &varmap)?;
    Ok(LoadedModel {
        net,
        config: meta.model.clone(),
        meta: Some(meta),
        origin,
        device: device.clone(),
    })
}

/// Builds the backbone `config` in a fresh `VarMap` on `device` and fills it from the PyTorch
/// state dict in `path` (top level, or under `state_dict` / `model`; a `module.` prefix from
/// DataParallel is removed). Tensors the backbone does not have (a projection head,
/// `num_batches_tracked`) are ignored; a missing tensor or a wrong shape is an error naming it.
/// The `VarMap` is returned for fine-tuning.
pub fn load_pth<M: ?Sized>(
    path: &Path,
    config: &serde_json::Value,
    registry: &Registry<M>,
    device: &Device,
) -> Result<(Box<M>, VarMap)> {
    if !path.is_file() {
        bail!("{}: no such file", path.display());
    }
    let tensors = read_state_dict(path)?;
    let varmap = VarMap::new();
    let net = registry.build(config, VarBuilder::from_varmap(&varmap, DType::F32, device))?;
    for (name, var) in train_kit::sorted_vars(&varmap) {
        let t = tensors.get(name.as_str()).with_context(|| {
            format!(
                "{}: no tensor {name:?} for the {} backbone",
                path.display(),
                config["arch"].as_str().unwrap_or("chosen")
            )
        })?;
        if t.dims() != var.dims() {
            bail!(
                "{}: tensor {name:?} has shape {:?}, the backbone expects {:?}",
                path.display(),
                t.dims(),
                var.dims()
            );
        }
        var.set(&t.to_dtype(DType::F32)?.to_device(device)?)
            .with_context(|| format!("{}: setting {name:?}", path.display()))?;
    }
    if let Some(name) = train_kit::first_non_finite(&varmap)? {
        bail!("{}: tensor {name:?} contains NaN or Inf", path.display());
    }
    Ok((net, varmap))
}

/// The tensors of a PyTorch state-dict pickle, from the top level or under `state_dict` /
/// `model`, with any `module.` prefix removed.
fn read_state_dict(path: &Path) -> Result<HashMap<String, Tensor>> {
    let mut found = Vec::new();
    for key in [None, Some("state_dict"), Some("model")] {
        found = candle_core::pickle::read_all_with_key(path, key).map_err(|e| {
            anyhow::anyhow!(
                "{}: not a PyTorch checkpoint this release reads ({e}); PyTorch's legacy pre-1.6 format is not read: re-save it with torch.save(state_dict, path)",
                path.display()
            )
        })?;
        if !found.is_empty() {
            break;
        }
    }
    if found.is_empty() {
        bail!(
            "{}: no tensors found (expected a state dict at the top level or under \"state_dict\" / \"model\")",
            path.display()
        )
    }
    Ok(found
        .into_iter()
        .map(|(name, t)| match name.strip_prefix("module.") {
            Some(stripped) => (stripped.to_string(), t),
            None => (name, t),
        })
        .collect())
}
