//! Finding the Debian voice folders and their audio files.

use crate::error::{DataError, Result};
use crate::speech::lists::{UtteranceEntry, UtteranceList};
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// Where Debian installs the voice packages.
pub const DEFAULT_DEBIAN_ROOT: &str = "/usr/share";

/// The Debian packages that provide voices (install them all for the full set).
pub const DEBIAN_PACKAGES: [&str; 7] = [
    "asterisk-core-sounds-en-wav",
    "asterisk-core-sounds-es-wav",
    "asterisk-core-sounds-fr-wav",
    "asterisk-core-sounds-it-wav",
    "asterisk-core-sounds-ru-wav",
    "klettres-data",
    "ktuberling-data",
];

/// Asterisk prompts that are not speech.
const ASTERISK_NON_SPEECH: [&str; 5] = [
    "ascending-2tone",
    "beep",
    "beeperr",
    "descending-2tone",
    "tt-monkeys",
];

/// One voice folder and the speaker it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceSet {
    /// Speaker id, e.g. `asterisk-allison`, `klettres-fr`, `ktuberling-sr`.
    pub speaker: String,
    /// The folder the files come from.
    pub folder: PathBuf,
    /// Number of audio files taken from it.
    pub files: usize,
}

/// All Debian voices found under a root, as one utterance list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebianVoices {
    /// The voice folders found, in discovery order.
    pub sets: Vec<VoiceSet>,
    /// Every utterance (key = path relative to the root), labelled by speaker id.
    pub list: UtteranceList,
}

impl DebianVoices {
    /// Splits the speakers into disjoint (train, test) lists: `test_speakers` speakers drawn with
    /// `seed` go to test, the rest to train; labels are dense within each list.
    pub fn split_speakers(
        &self,
        test_speakers: usize,
        seed: u64,
    ) -> Result<(UtteranceList, UtteranceList)> {
        if test_speakers >= self.list.speakers.len() {
            return Err(DataError::InvalidArgument(format!(
                "debian voices: cannot hold out {test_speakers} of {} speakers",
                self.list.speakers.len()
            )));
        }
        self.list.split_speakers(test_speakers, seed)
    }
}

/// The Debian voices under [`DEFAULT_DEBIAN_ROOT`], or an error saying which packages to
/// install when none is found (what `debian` as a data source means).
pub fn installed_debian_voices() -> Result<DebianVoices> {
    let root = Path::new(DEFAULT_DEBIAN_ROOT);
    discover_debian_voices(root)?.ok_or_else(|| {
        DataError::format(
            root,
            format!(
                "no Debian voices found; install {}",
                DEBIAN_PACKAGES.join(" ")
            ),
        )
    })
}

/// Finds the Debian voices under `root` (normally [`DEFAULT_DEBIAN_ROOT`]).
///
/// Returns `Ok(None)` when none of the packages is installed; errors only on unreadable folders.
pub fn discover_debian_voices(root: &Path) -> Result<Option<DebianVoices>> {
    let mut sets = Vec::new();
    let mut entries = Vec::new();
    let mut add = |speaker: String, folder: &Path, files: Vec<PathBuf>| {
        sets.push(VoiceSet {
            speaker: speaker.clone(),
            folder: folder.to_path_buf(),
            files: files.len(),
        });
        for path in files {
            let key = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            entries.push(UtteranceEntry {
                key,
                speaker: speaker.clone(),
                path,
            });
        }
    };

    for folder in subdirs(&root.join("asterisk/sounds"))? {
        let name = file_name(&folder);
        if let Some(voice) = asterisk_voice_name(&name) {
            let files = audio_files(&folder, &["wav"], &|p| !is_asterisk_non_speech(&folder, p))?;
            add(format!("asterisk-{}", voice.to_lowercase()), &folder, files);
        }
    }
    for folder in subdirs(&root.join("klettres"))? {
        let files = audio_files(&folder, &["ogg", "wav"], &|_| true)?;
        if !files.is_empty() {
            add(format!("klettres-{}", file_name(&folder)), &folder, files);
        }
    }
    let mut ktuberling: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for folder in subdirs(&root.join("ktuberling/sounds"))? {
        let name = file_name(&folder);
        let language = name.split('@').next().unwrap_or(&name).to_string();
        ktuberling.entry(language).or_default().push(folder);
    }
    for (language, folders) in ktuberling {
        let mut seen = HashSet::new();
        let mut files = Vec::new();
        for folder in &folders {
            for file in audio_files(folder, &["ogg", "wav"], &|_| true)? {
                let bytes = std::fs::read(&file).map_err(|e| DataError::io(&file, e))?;
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                bytes.hash(&mut hasher);
                if seen.insert((bytes.len(), hasher.finish())) {
                    files.push(file);
                }
            }
        }
        if !files.is_empty() {
            add(format!("ktuberling-{language}"), &folders[0], files);
        }
    }
    if entries.is_empty() {
        return Ok(None);
    }
    Ok(Some(DebianVoices {
        sets,
        list: UtteranceList::new(entries),
    }))
}

/// `en_US_f_Allison` -> `Allison`; other names (the language symlinks) -> `None`.
fn asterisk_voice_name(folder: &str) -> Option<&str> {
    let parts: Vec<&str> = folder.splitn(4, '_').collect();
    match parts.as_slice() {
        [_, _, "f" | "m", name] if !name.is_empty() => Some(name),
        _ => None,
    }
}

fn is_asterisk_non_speech(voice_folder: &Path, path: &Path) -> bool {
    let relative = path.strip_prefix(voice_folder).unwrap_or(path);
    let in_silence = relative
        .components()
        .next()
        .is_some_and(|c| c.as_os_str() == "silence");
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    in_silence || (relative.parent() == Some(Path::new("")) && ASTERISK_NON_SPEECH.contains(&stem))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Real (non-symlink) subfolders of `dir`, sorted; a missing `dir` has none.
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut dirs = Vec::new();
    for item in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let item = item.map_err(|e| DataError::io(dir, e))?;
        let kind = item
            .file_type()
            .map_err(|e| DataError::io(item.path(), e))?;
        if kind.is_dir() {
            dirs.push(item.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Audio files (by extension) anywhere below `dir` that pass `keep`, sorted.
fn audio_files(
    dir: &Path,
    extensions: &[&str],
    keep: &dyn Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for item in std::fs::read_dir(&current).map_err(|e| DataError::io(&current, e))? {
            let path = item.map_err(|e| DataError::io(&current, e))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
                && keep(&path)
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asterisk_folder_names_give_voice_names() {
        assert_eq!(asterisk_voice_name("en_US_f_Allison"), Some("Allison"));
        assert_eq!(
            asterisk_voice_name("ru_RU_f_IvrvoiceRU"),
            Some("IvrvoiceRU")
        );
        assert_eq!(asterisk_voice_name("en_US"), None);
        assert_eq!(asterisk_voice_name("en"), None);
    }
}
