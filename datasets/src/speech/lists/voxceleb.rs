//! VoxCeleb folder layout: `root/<speaker>/<video>/<utterance>.wav|m4a|flac|ogg`.

use super::{UtteranceEntry, UtteranceList};
use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

/// File extensions accepted as utterances (case-insensitive).
const AUDIO_EXTENSIONS: [&str; 5] = ["wav", "m4a", "flac", "ogg", "aac"];

/// Reads a VoxCeleb-layout folder: every audio file two levels below a speaker folder.
///
/// Keys are `speaker/video/file` with `/` separators (wespeaker's `wav.scp` keys), sorted.
/// Other files are ignored. Errors: `root` unreadable, or no utterance found.
pub fn read_voxceleb_dir(root: &Path) -> Result<UtteranceList> {
    let mut entries = Vec::new();
    for speaker_dir in sorted_subdirs(root)? {
        let speaker = file_name(&speaker_dir);
        for video_dir in sorted_subdirs(&speaker_dir)? {
            let video = file_name(&video_dir);
            for file in sorted_children(&video_dir)? {
                let name = file_name(&file);
                if file.is_file() && is_audio(&file) {
                    entries.push(UtteranceEntry {
                        key: format!("{speaker}/{video}/{name}"),
                        speaker: speaker.clone(),
                        path: file,
                    });
                }
            }
        }
    }
    if entries.is_empty() {
        return Err(DataError::format(
            root,
            "no utterances found: expected <speaker>/<video>/<utterance>.wav|m4a|flac|ogg",
        ));
    }
    Ok(UtteranceList::new(entries))
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sorted_children(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut children = Vec::new();
    for item in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        children.push(item.map_err(|e| DataError::io(dir, e))?.path());
    }
    children.sort();
    Ok(children)
}

fn sorted_subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(sorted_children(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect())
}
