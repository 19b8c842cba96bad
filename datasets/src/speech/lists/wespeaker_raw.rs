//! wespeaker raw lists: one JSON object per line, `{"key": .., "spk": .., "wav": ..}`.

use super::{resolve, UtteranceEntry, UtteranceList};
use crate::error::{DataError, Result};
use std::path::Path;

#[derive(serde::Deserialize)]
struct RawLine {
    key: String,
    spk: String,
    wav: String,
}

/// Reads a wespeaker `raw.list`. Blank lines are skipped; other fields (e.g. `vad`) are ignored.
///
/// Relative `wav` paths are resolved against the list's folder. A line that is not such a
/// JSON object, or a `wav` that is a shell pipe (`cmd |`), is an error naming the file and line.
pub fn read_wespeaker_raw_list(path: &Path) -> Result<UtteranceList> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => DataError::format(
            path,
            "not a text list (not UTF-8); a wespeaker raw list is JSON lines",
        ),
        _ => DataError::io(path, e),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let raw: RawLine = serde_json::from_str(line).map_err(|e| {
            DataError::format(
                path,
                format!("line {line_no}: expected {{\"key\", \"spk\", \"wav\"}} JSON: {e}"),
            )
        })?;
        if raw.wav.trim_end().ends_with('|') {
            return Err(DataError::format(
                path,
                format!(
                    "line {line_no}: piped commands are not supported: {:?}",
                    raw.wav
                ),
            ));
        }
        entries.push(UtteranceEntry {
            key: raw.key,
            speaker: raw.spk,
            path: resolve(base, &raw.wav),
        });
    }
    if entries.is_empty() {
        return Err(DataError::format(path, "no utterances in the list"));
    }
    Ok(UtteranceList::new(entries))
}
