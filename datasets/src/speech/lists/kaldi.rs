//! Kaldi data folders: `wav.scp` (`key path`) and `utt2spk` (`key speaker`).

use super::{resolve, UtteranceEntry, UtteranceList};
use crate::error::{DataError, Result};
use std::collections::HashMap;
use std::path::Path;

/// Reads `dir/wav.scp` and `dir/utt2spk`, in `wav.scp` order.
///
/// Relative audio paths are resolved against `dir`. Errors name the file and line: a line
/// without two fields, a duplicate key, a piped command (`cmd |`), a `wav.scp` key missing
/// from `utt2spk`.
pub fn read_kaldi_dir(dir: &Path) -> Result<UtteranceList> {
    let scp_path = dir.join("wav.scp");
    let spk_path = dir.join("utt2spk");
    let speakers: HashMap<String, String> = read_pairs(&spk_path)?
        .into_iter()
        .map(|(_, k, v)| (k, v))
        .collect();
    let mut entries = Vec::new();
    for (line_no, key, wav) in read_pairs(&scp_path)? {
        if wav.trim_end().ends_with('|') {
            return Err(DataError::format(
                &scp_path,
                format!("line {line_no}: piped commands are not supported: {wav:?}"),
            ));
        }
        let speaker = speakers.get(&key).ok_or_else(|| {
            DataError::format(
                &scp_path,
                format!(
                    "line {line_no}: key {key:?} has no speaker in {}",
                    spk_path.display()
                ),
            )
        })?;
        entries.push(UtteranceEntry {
            path: resolve(dir, &wav),
            speaker: speaker.clone(),
            key,
        });
    }
    if entries.is_empty() {
        return Err(DataError::format(&scp_path, "no utterances in the list"));
    }
    Ok(UtteranceList::new(entries))
}

/// Reads `key value` lines (value = rest of the line, trimmed); blank lines are skipped.
fn read_pairs(path: &Path) -> Result<Vec<(usize, String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let mut seen = HashMap::new();
    let mut pairs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(char::is_whitespace) else {
            return Err(DataError::format(
                path,
                format!("line {line_no}: expected `key value`, got {line:?}"),
            ));
        };
        let value = value.trim();
        if let Some(first) = seen.insert(key.to_string(), line_no) {
            return Err(DataError::format(
                path,
                format!("line {line_no}: duplicate key {key:?} (first on line {first})"),
            ));
        }
        pairs.push((line_no, key.to_string(), value.to_string()));
    }
    Ok(pairs)
}
