//! The embedding store: keys plus a float32 matrix in one safetensors file.
//!
//! # Format (version 1)
//!
//! A [safetensors](https://github.com/huggingface/safetensors) file with
//! - tensor `embeddings`: `F32`, shape `[N, D]`, row `i` belongs to key `i`;
//! - tensor `keys`: `U8`, shape `[bytes]`, the UTF-8 keys joined by `\n`
//!   (no trailing newline);
//! - metadata `format = "eval-kit.embeddings"`, `version = "1"`.
//!
//! Keys are unique, non-empty and contain no whitespace (they appear in
//! whitespace-separated trial files). Vectors are stored as produced (not
//! normalized). From Python: `d = safetensors.numpy.load_file(p)`;
//! `keys = d["keys"].tobytes().decode().split("\n")`; `x = d["embeddings"]`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::error::MetricError;

const FORMAT: &str = "eval-kit.embeddings";
const VERSION: &str = "1";

/// Keys with one float32 vector each, in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingStore {
    keys: Vec<String>,
    dim: usize,
    data: Vec<f32>,
    index: HashMap<String, usize>,
}

/// Errors unless `key` is non-empty and has no whitespace.
fn check_key(key: &str) -> Result<(), MetricError> {
    if key.is_empty() || key.chars().any(char::is_whitespace) {
        return Err(MetricError::InvalidParameter {
            name: "key",
            value: format!("{key:?}"),
            reason: "keys must be non-empty and contain no whitespace",
        });
    }
    Ok(())
}

impl EmbeddingStore {
    /// An empty store of `dim`-dimensional vectors.
    pub fn new(dim: usize) -> Self {
        Self {
            keys: Vec::new(),
            dim,
            data: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// A store from keys and their row-major `[keys.len(), dim]` matrix.
    pub fn from_rows(keys: Vec<String>, dim: usize, data: Vec<f32>) -> Result<Self, MetricError> {
        if data.len() != keys.len() * dim {
            return Err(MetricError::LengthMismatch {
                what: "embedding matrix (keys x dim)",
                expected: keys.len() * dim,
                actual: data.len(),
            });
        }
        let mut index = HashMap::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            check_key(key)?;
            if index.insert(key.clone(), i).is_some() {
                return Err(MetricError::DuplicateKey {
                    key: key.clone(),
                    context: "embedding store".to_string(),
                });
            }
        }
        Ok(Self {
            keys,
            dim,
            data,
            index,
        })
    }

    /// Appends `vector` under `key`; the key must be new and the length `dim`.
    pub fn push(&mut self, key: impl Into<String>, vector: &[f32]) -> Result<(), MetricError> {
        let key = key.into();
        check_key(&key)?;
        if vector.len() != self.dim {
            return Err(MetricError::DimensionMismatch {
                key,
                expected: self.dim,
                actual: vector.len(),
            });
        }
        if self.index.contains_key(&key) {
            return Err(MetricError::DuplicateKey {
                key,
                context: "embedding store".to_string(),
            });
        }
        self.index.insert(key.clone(), self.keys.len());
        self.keys.push(key);
        self.data.extend_from_slice(vector);
        Ok(())
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the store holds no vector.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Dimension of every vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The keys in row order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The row-major `[len, dim]` matrix.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Row `i`. Panics if `i >= len()`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The row index of `key`.
    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// The vector of `key`.
    pub fn get(&self, key: &str) -> Option<&[f32]> {
        self.index_of(key).map(|i| self.row(i))
    }

    /// The mean vector (accumulated in f64); zeros for an empty store.
    pub fn mean(&self) -> Vec<f32> {
        let mut sum = vec![0f64; self.dim];
        for i in 0..self.len() {
            for (s, &x) in sum.iter_mut().zip(self.row(i)) {
                *s += f64::from(x);
            }
        }
        let n = self.len().max(1) as f64;
        sum.iter().map(|s| (s / n) as f32).collect()
    }

    /// Writes the store to `path` in the format of this module.
    pub fn save(&self, path: &Path) -> Result<(), MetricError> {
        let invalid = |message: String| MetricError::InvalidStore {
            path: path.to_path_buf(),
            message,
        };
        let keys = self.keys.join("\n").into_bytes();
        let data: Vec<u8> = self.data.iter().flat_map(|x| x.to_le_bytes()).collect();
        let tensors = [
            (
                "embeddings",
                TensorView::new(Dtype::F32, vec![self.len(), self.dim], &data)
                    .map_err(|e| invalid(e.to_string()))?,
            ),
            (
                "keys",
                TensorView::new(Dtype::U8, vec![keys.len()], &keys)
                    .map_err(|e| invalid(e.to_string()))?,
            ),
        ];
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
        ]);
        safetensors::serialize_to_file(tensors, Some(metadata), path).map_err(|e| match e {
            safetensors::SafeTensorError::IoError(source) => MetricError::io(path, source),
            other => invalid(other.to_string()),
        })
    }

    /// Reads a store written by [`EmbeddingStore::save`] (or any program
    /// following the format).
    pub fn load(path: &Path) -> Result<Self, MetricError> {
        let mapped = MappedEmbeddings::open(path)?;
        let mut data = Vec::with_capacity(mapped.len() * mapped.dim());
        mapped.for_each_row(|_, row| data.extend_from_slice(row))?;
        let keys = mapped.keys.clone();
        let dim = mapped.dim();
        Self::from_rows(keys, dim, data).map_err(|e| MetricError::InvalidStore {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// A store file mapped into memory: keys are read, rows are decoded on
/// demand, so stores larger than memory can be streamed (IJB-C features).
pub struct MappedEmbeddings {
    path: PathBuf,
    map: memmap2::Mmap,
    keys: Vec<String>,
    dim: usize,
    data_start: usize,
}

impl MappedEmbeddings {
    /// Maps `path` and checks the format.
    pub fn open(path: &Path) -> Result<Self, MetricError> {
        let invalid = |message: String| MetricError::InvalidStore {
            path: path.to_path_buf(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| MetricError::io(path, e))?;
        // SAFETY: the file is only read; like every mmap reader we rely on
        // no other process truncating it while it is mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| MetricError::io(path, e))?;
        let tensors = SafeTensors::deserialize(&map).map_err(|e| invalid(e.to_string()))?;
        let (header_len, metadata) =
            SafeTensors::read_metadata(&map).map_err(|e| invalid(e.to_string()))?;
        let format = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get("format").cloned());
        if format.as_deref() != Some(FORMAT) {
            return Err(invalid(format!(
                "metadata format is {format:?}, expected {FORMAT:?}"
            )));
        }
        let embeddings = tensors
            .tensor("embeddings")
            .map_err(|_| invalid("no tensor `embeddings`".to_string()))?;
        let key_bytes = tensors
            .tensor("keys")
            .map_err(|_| invalid("no tensor `keys`".to_string()))?;
        if embeddings.dtype() != Dtype::F32 || embeddings.shape().len() != 2 {
            return Err(invalid(format!(
                "`embeddings` must be F32 [N, D], got {:?} {:?}",
                embeddings.dtype(),
                embeddings.shape()
            )));
        }
        if key_bytes.dtype() != Dtype::U8 {
            return Err(invalid(format!(
                "`keys` must be U8, got {:?}",
                key_bytes.dtype()
            )));
        }
        let (n, dim) = (embeddings.shape()[0], embeddings.shape()[1]);
        let text = std::str::from_utf8(key_bytes.data())
            .map_err(|e| invalid(format!("`keys` is not UTF-8: {e}")))?;
        let keys: Vec<String> = if text.is_empty() {
            Vec::new()
        } else {
            text.split('\n').map(str::to_string).collect()
        };
        if keys.len() != n {
            return Err(invalid(format!(
                "{} keys for {n} embedding rows",
                keys.len()
            )));
        }
        let info = metadata
            .info("embeddings")
            .ok_or_else(|| invalid("no tensor `embeddings`".to_string()))?;
        let data_start = 8 + header_len + info.data_offsets.0;
        Ok(Self {
            path: path.to_path_buf(),
            map,
            keys,
            dim,
            data_start,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keys in row order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the file holds no row.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Dimension of the rows.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Calls `f(i, row)` for every row in order, reading the file in blocks
    /// with ordinary reads, so memory use stays at one block (the mapped
    /// pages of a multi-gigabyte feature file are never touched).
    pub fn for_each_row(&self, mut f: impl FnMut(usize, &[f32])) -> Result<(), MetricError> {
        use std::io::{Read, Seek, SeekFrom};
        let io = |e| MetricError::io(&self.path, e);
        if self.dim == 0 {
            (0..self.len()).for_each(|i| f(i, &[]));
            return Ok(());
        }
        let mut file = std::fs::File::open(&self.path).map_err(io)?;
        file.seek(SeekFrom::Start(self.data_start as u64))
            .map_err(io)?;
        let rows_per_block = (1usize << 22) / (4 * self.dim) + 1;
        let mut bytes = vec![0u8; rows_per_block * 4 * self.dim];
        let mut floats = vec![0f32; rows_per_block * self.dim];
        let mut done = 0;
        while done < self.len() {
            let rows = rows_per_block.min(self.len() - done);
            let chunk = &mut bytes[..rows * 4 * self.dim];
            file.read_exact(chunk).map_err(io)?;
            for (x, b) in floats.iter_mut().zip(chunk.chunks_exact(4)) {
                *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
            for (k, row) in floats[..rows * self.dim].chunks_exact(self.dim).enumerate() {
                f(done + k, row);
            }
            done += rows;
        }
        Ok(())
    }

    /// Decodes row `i` into `out` (`out.len() == dim`). Panics if `i >= len()`.
    pub fn read_row(&self, i: usize, out: &mut [f32]) {
        let start = self.data_start + 4 * i * self.dim;
        let bytes = &self.map[start..start + 4 * self.dim];
        for (x, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
            *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }
}
