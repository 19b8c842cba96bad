//! Durable file writes: write to a temporary name, fsync, rename, fsync the directory.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{Result, TrainError};

/// Flushes `path` (a file or directory) to disk.
pub fn fsync_path(path: &Path) -> Result<()> {
    let f = File::open(path).map_err(|e| TrainError::io("opening for fsync", path, e))?;
    f.sync_all()
        .map_err(|e| TrainError::io("fsyncing", path, e))
}

/// Writes `bytes` to `path` and fsyncs it (not atomic: use inside a temporary directory).
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(|e| TrainError::io("creating", path, e))?;
    f.write_all(bytes)
        .map_err(|e| TrainError::io("writing", path, e))?;
    f.sync_all()
        .map_err(|e| TrainError::io("fsyncing", path, e))
}

/// Replaces `path` with `bytes` atomically: readers see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    write_synced(&tmp, bytes)?;
    fs::rename(&tmp, path).map_err(|e| TrainError::io("renaming into place", path, e))?;
    fsync_path(parent)
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
