//! `metrics.jsonl`: one JSON object per logging step.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file::write_atomic;
use crate::error::{Result, TrainError};

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRecord {
    /// Optimizer steps completed.
    pub step: u64,
    /// The app's epoch counter.
    pub epoch: u64,
    /// Learning rate of the last update.
    pub lr: f64,
    /// Mean loss over the steps applied since the previous line (`null` if all were skipped).
    pub loss: Option<f64>,
    /// Samples per second of wall time since the previous line (0 if the app reports no samples).
    pub samples_per_s: f64,
    /// Steps skipped by the NaN/Inf guard since the start of the run.
    pub skipped_steps: u64,
    /// App-provided fields (e.g. alpha-loss telemetry), flattened into the object.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The fields every [`MetricRecord`] has; extra fields may not reuse these names.
pub const STANDARD_FIELDS: [&str; 6] = [
    "step",
    "epoch",
    "lr",
    "loss",
    "samples_per_s",
    "skipped_steps",
];

/// An append-only `metrics.jsonl`.
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Opens `path` for appending. With `resume_at = Some(step)`, first drops the lines with a
    /// step greater than `step`, i.e. those logged after the checkpoint being resumed, so the
    /// file has no duplicates after a restart.
    pub fn open(path: impl Into<PathBuf>, resume_at: Option<u64>) -> Result<Self> {
        let path = path.into();
        if let Some(step) = resume_at {
            if path.exists() {
                truncate_after(&path, step)?;
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| TrainError::io("opening", &path, e))?;
        Ok(Self { path, file })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` as one line and flushes it. An extra field named like a standard one
    /// (`step`, `loss`, …) is an error rather than a duplicate JSON key.
    pub fn append(&mut self, record: &MetricRecord) -> Result<()> {
        check_extra_fields(&record.extra)?;
        let mut line =
            serde_json::to_string(record).map_err(|e| TrainError::format(&self.path, e))?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| TrainError::io("appending to", &self.path, e))
    }

    /// Reads every record of a `metrics.jsonl` (e.g. for plots or tests).
    pub fn read_all(path: &Path) -> Result<Vec<MetricRecord>> {
        read_lines(path)?.into_iter().map(|(_, r)| Ok(r)).collect()
    }
}

/// Fails if an app-provided field reuses a name of [`STANDARD_FIELDS`].
pub fn check_extra_fields(extra: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
    match extra.keys().find(|k| STANDARD_FIELDS.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => Err(TrainError::InvalidConfig {
            field: "metrics extra field",
            value: key.clone(),
            reason: "collides with a standard metrics.jsonl field",
        }),
    }
}

fn read_lines(path: &Path) -> Result<Vec<(String, MetricRecord)>> {
    let file = File::open(path).map_err(|e| TrainError::io("opening", path, e))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| TrainError::io("reading", path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: MetricRecord = serde_json::from_str(&line)
            .map_err(|e| TrainError::format(path, format!("line {}: {e}", i + 1)))?;
        out.push((line, record));
    }
    Ok(out)
}

fn truncate_after(path: &Path, step: u64) -> Result<()> {
    let kept: String = read_lines(path)?
        .into_iter()
        .filter(|(_, r)| r.step <= step)
        .map(|(line, _)| line + "\n")
        .collect();
    write_atomic(path, kept.as_bytes())
}
