//! Writing `.rec` + `.idx` pairs.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::face::recordio::framing::encode_record;
use crate::face::recordio::write_index;

/// Writes records to `<prefix>.rec` and, on [`finish`](RecordWriter::finish), their offsets to `<prefix>.idx`.
pub struct RecordWriter {
    rec_path: PathBuf,
    idx_path: PathBuf,
    out: BufWriter<File>,
    offset: u64,
    index: Vec<(u64, u64)>,
    buffer: Vec<u8>,
}

impl RecordWriter {
    /// Creates (or truncates) `<prefix>.rec`; `prefix` is e.g. `out/train`.
    pub fn create(prefix: &Path) -> Result<Self> {
        let rec_path = with_suffix(prefix, "rec");
        let idx_path = with_suffix(prefix, "idx");
        let file = File::create(&rec_path).map_err(|e| DataError::io(&rec_path, e))?;
        Ok(Self {
            rec_path,
            idx_path,
            out: BufWriter::new(file),
            offset: 0,
            index: Vec::new(),
            buffer: Vec::new(),
        })
    }

    /// Appends one record under `key`.
    pub fn write(&mut self, key: u64, payload: &[u8]) -> Result<()> {
        self.buffer.clear();
        encode_record(payload, &mut self.buffer)
            .map_err(|reason| DataError::format(&self.rec_path, reason))?;
        self.out
            .write_all(&self.buffer)
            .map_err(|e| DataError::io(&self.rec_path, e))?;
        self.index.push((key, self.offset));
        self.offset += self.buffer.len() as u64;
        Ok(())
    }

    /// Number of records written so far.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Flushes the `.rec` and writes the `.idx`; returns both paths.
    pub fn finish(mut self) -> Result<(PathBuf, PathBuf)> {
        self.out
            .flush()
            .map_err(|e| DataError::io(&self.rec_path, e))?;
        write_index(&self.idx_path, &self.index)?;
        Ok((self.rec_path, self.idx_path))
    }
}

/// `prefix` with `.ext` appended (`out/train` -> `out/train.rec`).
pub(crate) fn with_suffix(prefix: &Path, ext: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_os_string();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}
