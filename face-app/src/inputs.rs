//! What `face-app embed` embeds: image files, folders (searched recursively) and list files,
//! expanded to `(key, path)` pairs.
//!
//! - An image file is keyed by its path as given.
//! - A folder contributes every image below it (sorted, not following symlinked folders), keyed
//!   by its path relative to the folder, with `/` separators.
//! - A list file (`.txt` or `.lst`) holds one image per line: the first whitespace-separated
//!   field, or for im2rec `.lst` lines (`index<TAB>label<TAB>path`) the last tab-separated field.
//!   Relative paths are resolved against `--root` when given, else against the list's folder;
//!   the key is the path as written. Blank lines and `#` comments are skipped.
//!
//! Image files have one of [`IMAGE_EXTENSIONS`] (any case). Keys must be unique and free of
//! whitespace (the embedding store requires it); a path with whitespace is skipped and reported.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// File extensions treated as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 7] = ["jpg", "jpeg", "png", "bmp", "pgm", "ppm", "pnm"];

/// File extensions treated as list files.
pub const LIST_EXTENSIONS: [&str; 2] = ["txt", "lst"];

/// One image to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    /// The key it gets in the embedding store.
    pub key: String,
    /// Where to read it.
    pub path: PathBuf,
}

/// An input that was not embedded, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedItem {
    /// The path (or key) concerned.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// The expansion of all inputs.
#[derive(Debug, Clone, Default)]
pub struct ExpandedInputs {
    /// Images in input order.
    pub images: Vec<ImageEntry>,
    /// Paths dropped before decoding (keys with whitespace).
    pub skipped: Vec<SkippedItem>,
}

fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// True when `path` names an image by its extension.
pub fn is_image_path(path: &Path) -> bool {
    has_extension(path, &IMAGE_EXTENSIONS)
}

/// Images below `dir`, as paths relative to it, sorted.
fn walk(dir: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let here = dir.join(relative);
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(&here).with_context(|| format!("reading {}", here.display()))? {
        let entry = entry.with_context(|| format!("reading {}", here.display()))?;
        entries.push(entry);
    }
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let rel = relative.join(entry.file_name());
        let kind = entry
            .file_type()
            .with_context(|| format!("reading {}", entry.path().display()))?;
        if kind.is_dir() {
            walk(dir, &rel, out)?;
        } else if is_image_path(&rel) && entry.path().is_file() {
            out.push(rel);
        }
    }
    Ok(())
}

/// The path field of a list line, or `None` for a blank or comment line.
fn list_line_path(line: &str) -> Option<&str> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.len() >= 3 && fields[0].trim().parse::<u64>().is_ok() {
        return Some(fields[fields.len() - 1].trim());
    }
    line.split_whitespace().next()
}

/// Expands `inputs` (image files, folders, list files) into images to embed; `root` resolves
/// relative paths of list files. Errors name the input that cannot be read or a key that
/// repeats.
pub fn expand_inputs(inputs: &[PathBuf], root: Option<&Path>) -> Result<ExpandedInputs> {
    let mut out = ExpandedInputs::default();
    let add = |key: String, path: PathBuf, out: &mut ExpandedInputs| {
        if key.chars().any(char::is_whitespace) {
            out.skipped.push(SkippedItem {
                path: path.display().to_string(),
                reason: "the path contains whitespace, which embedding-store keys cannot hold"
                    .into(),
            });
        } else {
            out.images.push(ImageEntry { key, path });
        }
    };
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, Path::new(""), &mut found)?;
            if found.is_empty() {
                bail!(
                    "{}: no images ({}) in this folder or below",
                    input.display(),
                    IMAGE_EXTENSIONS.join(", ")
                );
            }
            for rel in found {
                let key = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                add(key, input.join(&rel), &mut out);
            }
        } else if has_extension(input, &LIST_EXTENSIONS) {
            let text = std::fs::read_to_string(input)
                .with_context(|| format!("reading list {}", input.display()))?;
            let base = root.map(Path::to_path_buf).unwrap_or_else(|| {
                input
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("."))
            });
            let before = out.images.len() + out.skipped.len();
            for line in text.lines() {
                if let Some(path) = list_line_path(line) {
                    add(path.to_string(), base.join(path), &mut out);
                }
            }
            if out.images.len() + out.skipped.len() == before {
                bail!("{}: the list names no image", input.display());
            }
        } else if input.is_file() {
            add(input.display().to_string(), input.clone(), &mut out);
        } else if input.exists() {
            bail!("{}: not a file or folder", input.display());
        } else {
            bail!("{}: no such file or folder", input.display());
        }
    }
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for entry in &out.images {
        if let Some(first) = seen.insert(&entry.key, &entry.path) {
            bail!(
                "two images get the key {:?} ({} and {}); embed them separately or pass a \
                 common parent folder",
                entry.key,
                first.display(),
                entry.path.display()
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_lines_take_the_path_field() {
        assert_eq!(list_line_path("a/b.jpg 3"), Some("a/b.jpg"));
        assert_eq!(list_line_path("7\t3\tx/y.png"), Some("x/y.png"));
        assert_eq!(list_line_path("  # comment"), None);
        assert_eq!(list_line_path("   "), None);
    }
}
