//! Record framing: reading one (possibly split) record at an offset, and encoding one.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

/// The RecordIO magic word (dmlc-core `kMagic`), stored little-endian.
pub const MAGIC: u32 = 0xCED7_230A;

const HEAD: u64 = 8;

/// A `.rec` file opened for random access from many threads at once.
#[derive(Debug)]
pub struct RecordFile {
    path: PathBuf,
    file: File,
    len: u64,
}

/// The two header words of one record part.
#[derive(Debug, Clone, Copy)]
struct PartHead {
    cflag: u32,
    length: u64,
}

impl RecordFile {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let len = file.metadata().map_err(|e| DataError::io(path, e))?.len();
        Ok(Self {
            path: path.to_path_buf(),
            file,
            len,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        if offset + buf.len() as u64 > self.len {
            return Err(DataError::format(
                &self.path,
                format!(
                    "truncated: {} bytes needed at offset {offset}, file ends at {}",
                    buf.len(),
                    self.len
                ),
            ));
        }
        read_exact_at(&self.file, buf, offset).map_err(|e| DataError::io(&self.path, e))
    }

    fn part_head(&self, offset: u64) -> Result<PartHead> {
        let mut head = [0u8; HEAD as usize];
        self.read_at(offset, &mut head)?;
        let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if magic != MAGIC {
            return Err(DataError::format(
                &self.path,
                format!("bad magic {magic:#010x} at offset {offset} (expected {MAGIC:#010x})"),
            ));
        }
        let lrec = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let part = PartHead {
            cflag: lrec >> 29,
            length: u64::from(lrec & ((1 << 29) - 1)),
        };
        if offset + HEAD + part.length > self.len {
            return Err(DataError::format(
                &self.path,
                format!(
                    "truncated record at offset {offset}: {} payload bytes announced, file ends at {}",
                    part.length, self.len
                ),
            ));
        }
        Ok(part)
    }

    /// Reads the record starting at `offset`, joining split parts; returns it and the offset of the next record.
    pub fn read_record(&self, offset: u64) -> Result<(Vec<u8>, u64)> {
        let mut payload = Vec::new();
        let mut at = offset;
        let mut first = true;
        loop {
            let part = self.part_head(at)?;
            let expected = if first {
                part.cflag <= 1
            } else {
                part.cflag == 2 || part.cflag == 3
            };
            if !expected {
                return Err(DataError::format(
                    &self.path,
                    format!("unexpected continuation flag {} at offset {at} (record starts at {offset})", part.cflag),
                ));
            }
            if !first {
                payload.extend_from_slice(&MAGIC.to_le_bytes());
            }
            let start = payload.len();
            payload.resize(start + part.length as usize, 0);
            self.read_at(at + HEAD, &mut payload[start..])?;
            at += HEAD + part.length.next_multiple_of(4);
            if part.cflag == 0 || part.cflag == 3 {
                return Ok((payload, at));
            }
            first = false;
        }
    }

    /// The first `n` payload bytes of the record at `offset` (fewer if the record is shorter),
    /// reading only those bytes when the record is not split.
    pub fn read_prefix(&self, offset: u64, n: usize) -> Result<Vec<u8>> {
        let part = self.part_head(offset)?;
        if part.cflag == 0 {
            let mut buf = vec![0u8; n.min(part.length as usize)];
            self.read_at(offset + HEAD, &mut buf)?;
            return Ok(buf);
        }
        let (mut payload, _) = self.read_record(offset)?;
        payload.truncate(n);
        Ok(payload)
    }

    /// The offsets of all readable records in file order, by walking the framing from the start,
    /// and the error that stopped the walk early (a malformed or truncated record), if any.
    pub fn scan_offsets(&self) -> (Vec<u64>, Option<DataError>) {
        let mut offsets = Vec::new();
        let mut at = 0;
        while at < self.len {
            match self.read_record(at) {
                Ok((_, next)) => {
                    offsets.push(at);
                    at = next;
                }
                Err(e) => return (offsets, Some(e)),
            }
        }
        (offsets, None)
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// Appends `payload` framed as one record to `out`, splitting it where the magic occurs at a
/// 4-aligned offset (dmlc-core `RecordIOWriter::WriteRecord`). Fails above 2^29 - 1 bytes.
pub(crate) fn encode_record(payload: &[u8], out: &mut Vec<u8>) -> std::result::Result<(), String> {
    if payload.len() >= 1 << 29 {
        return Err(format!(
            "record of {} bytes exceeds the RecordIO limit of 2^29 - 1",
            payload.len()
        ));
    }
    let push_part = |out: &mut Vec<u8>, cflag: u32, part: &[u8]| {
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&((cflag << 29) | part.len() as u32).to_le_bytes());
        out.extend_from_slice(part);
    };
    let magic = MAGIC.to_le_bytes();
    let mut start = 0;
    for i in (0..payload.len() / 4 * 4).step_by(4) {
        if payload[i..i + 4] == magic {
            push_part(out, if start == 0 { 1 } else { 2 }, &payload[start..i]);
            start = i + 4;
        }
    }
    push_part(out, if start == 0 { 0 } else { 3 }, &payload[start..]);
    out.resize(out.len().next_multiple_of(4), 0);
    Ok(())
}
