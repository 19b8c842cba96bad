//! The run directory: `config.toml`, `metrics.jsonl`, `checkpoints/`, `report.json`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::atomic_file::write_atomic;
use crate::error::{Result, TrainError};

/// A training run's directory and the files in it.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Uses `root` as the run directory, creating it if needed.
    pub fn create(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)
            .map_err(|e| TrainError::io("creating run directory", &root, e))?;
        Ok(Self { root })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/config.toml`: the resolved configuration.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// `<root>/metrics.jsonl`.
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }

    /// `<root>/checkpoints`.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// `<root>/report.json`.
    pub fn report_path(&self) -> PathBuf {
        self.root.join("report.json")
    }

    /// Writes the resolved config as TOML, atomically.
    pub fn write_config<T: Serialize>(&self, config: &T) -> Result<()> {
        let path = self.config_path();
        let text = toml::to_string_pretty(config).map_err(|e| TrainError::format(&path, e))?;
        write_atomic(&path, text.as_bytes())
    }

    /// Writes the final report (content chosen by the app) as pretty JSON, atomically.
    pub fn write_report(&self, report: &serde_json::Value) -> Result<()> {
        let path = self.report_path();
        let mut text =
            serde_json::to_string_pretty(report).map_err(|e| TrainError::format(&path, e))?;
        text.push('\n');
        write_atomic(&path, text.as_bytes())
    }
}
