//! Writing, finding, loading and pruning checkpoint directories.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use candle_core::Tensor;
use candle_nn::VarMap;

use super::manifest::{CheckpointManifest, FORMAT_VERSION};
use crate::atomic_file::{fsync_path, write_synced};
use crate::error::{Result, TrainError};
use crate::finite::all_finite;
use crate::optim::{Optimizer, OptimizerState};

const MANIFEST: &str = "manifest.json";
const OPTIMIZER: &str = "optimizer.safetensors";
const PREFIX: &str = "step-";
const TMP_PREFIX: &str = ".tmp-step-";

/// The checkpoint directory of a run.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
    keep_last: usize,
}

impl CheckpointStore {
    /// A store in `dir` (created if needed) keeping the `keep_last` newest checkpoints (min 1).
    pub fn new(dir: impl Into<PathBuf>, keep_last: usize) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)
            .map_err(|e| TrainError::io("creating checkpoint directory", &dir, e))?;
        Ok(Self {
            dir,
            keep_last: keep_last.max(1),
        })
    }

    /// The directory holding the checkpoints.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the checkpoint of `step` lives.
    pub fn path_for(&self, step: u64) -> PathBuf {
        self.dir.join(format!("{PREFIX}{step:08}"))
    }

    /// Writes a checkpoint atomically, then deletes all but the newest `keep_last`.
    ///
    /// Fails with [`TrainError::NonFiniteCheckpoint`] (writing nothing) if any variable or
    /// optimizer buffer holds NaN/Inf. An existing checkpoint of the same step is replaced.
    pub fn save(
        &self,
        manifest: &CheckpointManifest,
        var_sets: &[(&str, &VarMap)],
        optimizer: &OptimizerState,
    ) -> Result<PathBuf> {
        let final_dir = self.path_for(manifest.step);
        let set_tensors: Vec<(&str, HashMap<String, Tensor>)> = var_sets
            .iter()
            .map(|(name, map)| (*name, snapshot(map)))
            .collect();
        for (set, tensors) in &set_tensors {
            reject_non_finite(&final_dir, set, tensors)?;
        }
        reject_non_finite(&final_dir, "optimizer", &optimizer.tensors)?;

        let tmp = self.dir.join(format!(
            "{TMP_PREFIX}{:08}-{}",
            manifest.step,
            std::process::id()
        ));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| TrainError::io("removing stale", &tmp, e))?;
        }
        fs::create_dir_all(&tmp).map_err(|e| TrainError::io("creating", &tmp, e))?;
        for (set, tensors) in &set_tensors {
            let path = tmp.join(format!("{set}.safetensors"));
            candle_core::safetensors::save(tensors, &path)
                .map_err(|e| TrainError::format(&path, e))?;
            fsync_path(&path)?;
        }
        let opt_path = tmp.join(OPTIMIZER);
        optimizer.save(&opt_path)?;
        fsync_path(&opt_path)?;
        let mut manifest = manifest.clone();
        manifest.format_version = FORMAT_VERSION;
        manifest.var_sets = var_sets.iter().map(|(n, _)| n.to_string()).collect();
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| TrainError::format(tmp.join(MANIFEST), e))?;
        write_synced(&tmp.join(MANIFEST), &json)?;
        fsync_path(&tmp)?;

        if final_dir.exists() {
            fs::remove_dir_all(&final_dir)
                .map_err(|e| TrainError::io("replacing", &final_dir, e))?;
        }
        fs::rename(&tmp, &final_dir)
            .map_err(|e| TrainError::io("renaming checkpoint into", &final_dir, e))?;
        fsync_path(&self.dir)?;
        self.prune()?;
        Ok(final_dir)
    }

    /// Completed checkpoints (those with a manifest), oldest first, as `(step, path)`.
    pub fn list(&self) -> Result<Vec<(u64, PathBuf)>> {
        let entries =
            fs::read_dir(&self.dir).map_err(|e| TrainError::io("listing", &self.dir, e))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| TrainError::io("listing", &self.dir, e))?;
            let name = entry.file_name();
            let Some(step) = name
                .to_str()
                .and_then(|n| n.strip_prefix(PREFIX))
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            if entry.path().join(MANIFEST).is_file() {
                found.push((step, entry.path()));
            }
        }
        found.sort();
        Ok(found)
    }

    /// The newest complete checkpoint, if any.
    pub fn latest(&self) -> Result<Option<PathBuf>> {
        Ok(self.list()?.pop().map(|(_, p)| p))
    }

    /// Deletes all but the newest `keep_last` checkpoints and leftover temporary directories.
    pub fn prune(&self) -> Result<()> {
        let list = self.list()?;
        let excess = list.len().saturating_sub(self.keep_last);
        for (_, path) in &list[..excess] {
            fs::remove_dir_all(path)
                .map_err(|e| TrainError::io("removing old checkpoint", path, e))?;
        }
        let entries =
            fs::read_dir(&self.dir).map_err(|e| TrainError::io("listing", &self.dir, e))?;
        for entry in entries.flatten() {
            let own_tmp = entry.file_name().to_str().is_some_and(|n| {
                n.starts_with(TMP_PREFIX) && n.ends_with(&format!("-{}", std::process::id()))
            });
            if own_tmp {
                let path = entry.path();
                fs::remove_dir_all(&path)
                    .map_err(|e| TrainError::io("removing temporary", &path, e))?;
            }
        }
        Ok(())
    }

    /// Deletes every temporary checkpoint directory (`.tmp-step-*`), including those of killed
    /// processes; returns how many there were. Call it only while holding the run folder's lock.
    pub fn remove_temporaries(&self) -> Result<usize> {
        let entries =
            fs::read_dir(&self.dir).map_err(|e| TrainError::io("listing", &self.dir, e))?;
        let mut removed = 0;
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(TMP_PREFIX))
            {
                let path = entry.path();
                fs::remove_dir_all(&path)
                    .map_err(|e| TrainError::io("removing temporary", &path, e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Reads the manifest of the checkpoint at `path`.
    pub fn read_manifest(path: &Path) -> Result<CheckpointManifest> {
        let file = path.join(MANIFEST);
        let text = fs::read_to_string(&file).map_err(|e| TrainError::io("reading", &file, e))?;
        let manifest: CheckpointManifest =
            serde_json::from_str(&text).map_err(|e| TrainError::format(&file, e))?;
        if manifest.format_version != FORMAT_VERSION {
            return Err(TrainError::Mismatch {
                path: file,
                problem: format!(
                    "format_version {} but this build reads {FORMAT_VERSION}",
                    manifest.format_version
                ),
            });
        }
        Ok(manifest)
    }

    /// Restores variables and optimizer state from the checkpoint at `path`; returns its manifest.
    ///
    /// `var_sets` must name the same sets as when saving, with the same variables and shapes.
    pub fn load(
        path: &Path,
        var_sets: &[(&str, &VarMap)],
        optimizer: &mut dyn Optimizer,
    ) -> Result<CheckpointManifest> {
        let manifest = Self::read_manifest(path)?;
        let given: Vec<String> = var_sets.iter().map(|(n, _)| n.to_string()).collect();
        if given != manifest.var_sets {
            return Err(TrainError::Mismatch {
                path: path.to_path_buf(),
                problem: format!(
                    "holds variable sets {:?}, the trainer has {given:?}",
                    manifest.var_sets
                ),
            });
        }
        for (set, map) in var_sets {
            load_var_set(&path.join(format!("{set}.safetensors")), map)?;
        }
        let opt_path = path.join(OPTIMIZER);
        let device = optimizer
            .groups()
            .iter()
            .flat_map(|g| &g.params)
            .next()
            .map(|p| p.var.device().clone())
            .unwrap_or(candle_core::Device::Cpu);
        let state = OptimizerState::load(&opt_path, &device)?;
        optimizer
            .load_state(state)
            .map_err(|e| TrainError::Mismatch {
                path: opt_path.clone(),
                problem: e.to_string(),
            })?;
        Ok(manifest)
    }
}

/// Sets every variable of `map` from the safetensors file at `path`, strictly: a missing or
/// extra tensor, or a different shape or dtype, is an error naming it.
pub fn load_var_set(path: &Path, map: &VarMap) -> Result<()> {
    let file = path.to_path_buf();
    let mut tensors = candle_core::safetensors::load(path, &candle_core::Device::Cpu)
        .map_err(|e| TrainError::format(&file, format!("reading tensors: {e}")))?;
    for (name, var) in crate::varmap::sorted_vars(map) {
        let t = tensors.remove(&name).ok_or_else(|| TrainError::Mismatch {
            path: file.clone(),
            problem: format!("no tensor {name}"),
        })?;
        if t.dims() != var.dims() || t.dtype() != var.dtype() {
            return Err(TrainError::Mismatch {
                path: file.clone(),
                problem: format!(
                    "{name} is {:?} {:?}, the model has {:?} {:?}",
                    t.dtype(),
                    t.dims(),
                    var.dtype(),
                    var.dims()
                ),
            });
        }
        var.set(&t.to_device(var.device())?)?;
    }
    if let Some(extra) = tensors.keys().min() {
        return Err(TrainError::Mismatch {
            path: file.clone(),
            problem: format!(
                "{} tensor(s) not in the model, first {extra}",
                tensors.len()
            ),
        });
    }
    Ok(())
}

fn snapshot(map: &VarMap) -> HashMap<String, Tensor> {
    let data = map
        .data()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    data.iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect()
}

fn reject_non_finite(path: &Path, set: &str, tensors: &HashMap<String, Tensor>) -> Result<()> {
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        if !all_finite(&tensors[name])? {
            return Err(TrainError::NonFiniteCheckpoint {
                path: path.to_path_buf(),
                name: format!("{set}/{name}"),
            });
        }
    }
    Ok(())
}
