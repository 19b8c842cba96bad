//! The one error type of the `datasets` crate. Every variant names the file, key or value that failed.

use std::path::PathBuf;

/// Errors from reading, decoding or loading data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder could not be opened, read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying I/O error (shown in the message, not chained as a source, so an
        /// error chain prints it once).
        error: std::io::Error,
    },
    /// A file does not follow its format (bad magic, truncated record, malformed line, ...).
    #[error("{}: {reason}", path.display())]
    Format {
        /// The file that is malformed.
        path: PathBuf,
        /// What is wrong, with the offending offset, line or value where known.
        reason: String,
    },
    /// One item (an image, an utterance, a record) could not be decoded.
    #[error("{item}: {reason}")]
    Decode {
        /// The item: a path, `file#record`, or a key.
        item: String,
        /// Why decoding failed.
        reason: String,
    },
    /// A setting or argument is out of its valid range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl DataError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            error: source,
        }
    }

    /// A format error for `path` with a human-readable reason.
    pub fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// A decode error for one item.
    pub fn decode(item: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Decode {
            item: item.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, DataError>;
