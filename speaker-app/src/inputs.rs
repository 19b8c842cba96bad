//! The utterances a command should embed, from audio files, folders and list files, each with the
//! key it gets in the embedding store.
//!
//! * An audio file (`.wav`, `.flac`, `.ogg`, `.m4a`, `.aac`): key = its path relative to `--root`
//!   when it lies under it, else the path as given.
//! * A folder: every audio file below it, sorted; key = the path relative to the folder, so a
//!   VoxCeleb tree `id/video/utt.wav` gives the keys of the trial lists.
//! * Any other file is a list: `key path` lines (Kaldi `wav.scp`) or one path per line (key = the
//!   path as written). Relative paths are taken under `--root` when given. Blank lines and
//!   lines starting with `#` are skipped.
//!
//! Keys must be unique and free of whitespace (the embedding store's rule).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Extensions (lowercase) treated as audio.
pub const AUDIO_EXTENSIONS: [&str; 5] = ["wav", "flac", "ogg", "m4a", "aac"];

/// One utterance to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utterance {
    /// Key in the embedding store.
    pub key: String,
    /// Audio file.
    pub path: PathBuf,
}

/// True when `path` has an audio extension.
pub fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// A path as a key: `/`-separated, without a leading `./`.
fn path_key(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => Some("..".to_string()),
            _ => None,
        })
        .collect();
    let joined = parts.join("/");
    if path.has_root() {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Every audio file below `dir`, sorted by path.
fn audio_files_below(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).with_context(|| format!("reading folder {}", d.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading folder {}", d.display()))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if is_audio(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a list file: `key path` or `path` per line.
fn read_list(list: &Path, root: Option<&Path>) -> anyhow::Result<Vec<Utterance>> {
    let text = std::fs::read_to_string(list)
        .with_context(|| format!("reading list {}", list.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let (key, path) = match tokens.as_slice() {
            [path] => (path_key(Path::new(path)), *path),
            [key, path] => ((*key).to_string(), *path),
            _ => anyhow::bail!(
                "{}:{}: expected `<path>` or `<key> <path>`, got {} fields (commands in wav.scp are not supported)",
                list.display(),
                i + 1,
                tokens.len()
            ),
        };
        let path = Path::new(path);
        let path = match root {
            Some(r) if path.is_relative() => r.join(path),
            _ => path.to_path_buf(),
        };
        out.push(Utterance { key, path });
    }
    Ok(out)
}

/// The utterances named by `inputs` (files, folders, lists, in order), with their keys.
///
/// Errors when an input does not exist, a list line is malformed (naming the file and line), a
/// key is empty or holds whitespace, or two inputs give the same key (naming both files).
pub fn collect_utterances(
    inputs: &[PathBuf],
    root: Option<&Path>,
) -> anyhow::Result<Vec<Utterance>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            for path in audio_files_below(input)? {
                let rel = path.strip_prefix(input).unwrap_or(&path);
                out.push(Utterance {
                    key: path_key(rel),
                    path,
                });
            }
        } else if input.is_file() {
            if is_audio(input) {
                let shown = match root {
                    Some(r) => input.strip_prefix(r).unwrap_or(input),
                    None => input,
                };
                out.push(Utterance {
                    key: path_key(shown),
                    path: input.clone(),
                });
            } else {
                out.extend(read_list(input, root)?);
            }
        } else {
            anyhow::bail!("{}: no such file or folder", input.display())
        }
    }
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for utt in &out {
        if utt.key.is_empty() || utt.key.chars().any(char::is_whitespace) {
            anyhow::bail!(
                "key {:?} of {} is empty or contains whitespace",
                utt.key,
                utt.path.display()
            )
        }
        if let Some(first) = seen.insert(&utt.key, &utt.path) {
            anyhow::bail!(
                "key {:?} is given twice: {} and {}",
                utt.key,
                first.display(),
                utt.path.display()
            )
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_key_drops_current_dir_and_keeps_absolute() {
        assert_eq!(path_key(Path::new("./a/b.wav")), "a/b.wav");
        assert_eq!(path_key(Path::new("id1/v/1.wav")), "id1/v/1.wav");
        assert_eq!(path_key(Path::new("/x/y.wav")), "/x/y.wav");
    }
}
