//! The `.idx` file: one `key<TAB>byte_offset` line per record.

use std::io::Write;
use std::path::Path;

use crate::error::{DataError, Result};

/// Reads a `.idx` file into `(key, offset)` pairs in file order.
pub fn read_index(path: &Path) -> Result<Vec<(u64, u64)>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let parsed = match (fields.next(), fields.next(), fields.next()) {
            (Some(k), Some(o), None) => k.parse::<u64>().ok().zip(o.parse::<u64>().ok()),
            _ => None,
        };
        let entry = parsed.ok_or_else(|| {
            DataError::format(
                path,
                format!("line {}: expected `key<TAB>offset`, got {line:?}", n + 1),
            )
        })?;
        entries.push(entry);
    }
    Ok(entries)
}

/// Writes `(key, offset)` pairs as a `.idx` file.
pub fn write_index(path: &Path, entries: &[(u64, u64)]) -> Result<()> {
    let mut text = String::with_capacity(entries.len() * 16);
    for (key, offset) in entries {
        text.push_str(&format!("{key}\t{offset}\n"));
    }
    let mut file = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| DataError::io(path, e))
}
