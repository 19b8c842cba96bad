//! Backbone registries. An app lists its architectures once ([`Registry`]); each architecture
//! lives in its own file with its config type and one [`Arch`] entry: its `arch` tag, its
//! presets, how to check a config and how to build the network. Adding a backbone is that file
//! plus one line in the app's registry.
//!
//! A backbone config is a JSON object `{"arch": "<tag>", ...fields}` (what a bundle's
//! `config.json` stores under `model`); `[model]` in a run config names a preset
//! (`backbone = "r50"`) and may override any of the preset's fields (`embedding_dim = 128`).

use anyhow::{bail, Context, Result};
use candle_core::ModuleT;
use candle_nn::VarBuilder;
use serde::de::DeserializeOwned;

/// What every backbone is: a candle [`ModuleT`] from a batch of inputs to embeddings `(B, D)`
/// (`train` selects BatchNorm batch statistics and updates the running ones), with its `D`.
pub trait Backbone: ModuleT + Send + Sync {
    /// Size `D` of the embeddings.
    fn embedding_dim(&self) -> usize;
}

/// A named configuration of an architecture (`r50` of `iresnet`).
pub struct Preset {
    /// The name `[model] backbone` and `--backbone` take.
    pub name: &'static str,
    /// Its config fields (without the `arch` tag).
    pub config: fn() -> serde_json::Value,
}

/// One architecture of a registry.
pub struct Arch<M: ?Sized> {
    /// The `arch` tag of its configs.
    pub name: &'static str,
    /// Its presets.
    pub presets: &'static [Preset],
    /// Checks a config (the fields, without the tag): every size and value it depends on.
    pub check: fn(&serde_json::Value) -> Result<()>,
    /// Builds the network from a checked config, creating (from a `VarMap`) or loading its
    /// variables through the VarBuilder under the upstream names.
    pub build: fn(&serde_json::Value, VarBuilder) -> Result<Box<M>>,
}

/// Deserializes `fields` as `C` with serde's error naming the field: the usual `check` and the
/// first step of `build`.
pub fn parse<C: DeserializeOwned>(arch: &str, fields: &serde_json::Value) -> Result<C> {
    serde_path_to_error::deserialize(fields.clone())
        .map_err(|e| anyhow::anyhow!("backbone {arch}: {}: {}", e.path(), e.inner()))
}

/// The architectures of one app.
pub struct Registry<M: ?Sized + 'static> {
    /// Every architecture, in the order names are listed.
    pub archs: &'static [&'static Arch<M>],
}

impl<M: ?Sized + 'static> Registry<M> {
    /// Every preset name.
    pub fn preset_names(&self) -> Vec<&'static str> {
        self.archs
            .iter()
            .flat_map(|a| a.presets.iter().map(|p| p.name))
            .collect()
    }

    fn arch(&self, tag: &str) -> Result<&'static Arch<M>> {
        self.archs
            .iter()
            .copied()
            .find(|a| a.name == tag)
            .with_context(|| {
                let tags: Vec<&str> = self.archs.iter().map(|a| a.name).collect();
                format!(
                    "unknown backbone arch {tag:?}: expected one of {}",
                    tags.join(", ")
                )
            })
    }

    /// The config of preset `name` (`_` and `-` alike, any case) with `overrides` replacing
    /// some of its fields, checked. An override of a field the preset does not have is an
    /// error naming it as `model.<key>`.
    pub fn resolve(
        &self,
        name: &str,
        overrides: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let wanted = name.trim().to_ascii_lowercase().replace('_', "-");
        let found = self
            .archs
            .iter()
            .find_map(|a| a.presets.iter().find(|p| p.name == wanted).map(|p| (a, p)));
        let Some((arch, preset)) = found else {
            bail!(
                "unknown backbone {name:?}: expected one of {}",
                self.preset_names().join(", ")
            );
        };
        let mut fields = (preset.config)();
        let object = fields
            .as_object_mut()
            .expect("a preset config is a JSON object");
        for (key, value) in overrides {
            if !object.contains_key(key) {
                let mut known: Vec<&String> = object.keys().collect();
                known.sort();
                let known: Vec<&str> = known.iter().map(|k| k.as_str()).collect();
                bail!(
                    "model.{key}: backbone {name} ({}) has no such setting (it has: {})",
                    arch.name,
                    known.join(", ")
                );
            }
            object.insert(key.clone(), value.clone());
        }
        (arch.check)(&fields).with_context(|| format!("[model] backbone {name}"))?;
        if let Some(object) = fields.as_object_mut() {
            object.insert("arch".into(), arch.name.into());
        }
        Ok(fields)
    }

    /// A preset name, or a JSON file holding a config (`{"arch": ..., ...}`), as `--backbone`
    /// takes it.
    pub fn from_spec(&self, spec: &str) -> Result<serde_json::Value> {
        let path = std::path::Path::new(spec);
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            || path.is_file()
        {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading backbone config {}", path.display()))?;
            let config: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a backbone config (JSON)", path.display()))?;
            self.check(&config)
                .with_context(|| format!("{}: not a usable backbone config", path.display()))?;
            return Ok(config);
        }
        self.resolve(spec, &serde_json::Map::new())
    }

    /// Splits a config into its arch and fields.
    fn split(&self, config: &serde_json::Value) -> Result<(&'static Arch<M>, serde_json::Value)> {
        let object = config
            .as_object()
            .with_context(|| format!("a backbone config is a JSON object, got {config}"))?;
        let tag = object
            .get("arch")
            .and_then(|t| t.as_str())
            .context("a backbone config needs an \"arch\" field")?;
        let mut fields = object.clone();
        fields.remove("arch");
        Ok((self.arch(tag)?, serde_json::Value::Object(fields)))
    }

    /// Checks a full config (with its `arch`).
    pub fn check(&self, config: &serde_json::Value) -> Result<()> {
        let (arch, fields) = self.split(config)?;
        (arch.check)(&fields)
    }

    /// Builds the network a full config describes.
    pub fn build(&self, config: &serde_json::Value, vb: VarBuilder) -> Result<Box<M>> {
        let (arch, fields) = self.split(config)?;
        (arch.check)(&fields)?;
        (arch.build)(&fields, vb).with_context(|| format!("building the {} backbone", arch.name))
    }
}
