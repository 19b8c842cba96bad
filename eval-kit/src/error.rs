//! The one error type of eval-kit.

use std::path::PathBuf;

/// Everything that can go wrong while reading inputs or computing metrics.
///
/// Every variant names the file, line, key or value that failed, so a message
/// printed with `{}` is enough to find and fix the input.
#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    /// A file could not be opened, read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error (shown in the message, not chained as a source, so an
        /// error chain prints it once).
        error: std::io::Error,
    },
    /// A line of a text input is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
    /// A score is NaN or infinite.
    #[error("score at index {index} is {value}: scores must be finite")]
    NanScore {
        /// The offending value.
        value: f64,
        /// 0-based index of the trial.
        index: usize,
    },
    /// Two inputs that must have the same length do not.
    #[error("{what}: expected length {expected}, got {actual}")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// The required length.
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// An input file holds no data (an empty score file, trial list or store).
    #[error("{}: {what}", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// What it lacks, e.g. "no scored trials".
        what: &'static str,
    },
    /// One class of trials is empty, so error rates are undefined.
    #[error("no {missing} trials (there are {n_other} {other} trials): both classes are needed")]
    MissingClass {
        /// The empty class, `"target"` or `"nontarget"`.
        missing: &'static str,
        /// The other class.
        other: &'static str,
        /// How many trials the other class has.
        n_other: usize,
    },
    /// Trials refer to keys that have no embedding (each key listed once).
    #[error("{} key(s) have no embedding: {}", keys.len(), keys.join(", "))]
    MissingEmbeddings {
        /// Every missing key, once, in order of first use.
        keys: Vec<String>,
    },
    /// Trials have no score in the score file (each pair listed once).
    #[error("{} trial(s) have no score in {}: {}", pairs.len(), path.display(), pairs.join(", "))]
    MissingScores {
        /// The score file.
        path: PathBuf,
        /// Every unscored `enroll test` pair, once.
        pairs: Vec<String>,
    },
    /// A key occurs twice where keys must be unique.
    #[error("duplicate key {key:?} in {context}")]
    DuplicateKey {
        /// The key.
        key: String,
        /// Where it occurred (a file or a store).
        context: String,
    },
    /// A vector has the wrong dimension.
    #[error("{key:?}: expected dimension {expected}, got {actual}")]
    DimensionMismatch {
        /// The key of the vector.
        key: String,
        /// The required dimension.
        expected: usize,
        /// The dimension found.
        actual: usize,
    },
    /// An embedding store file is not in the documented format.
    #[error("{}: not a valid embedding store: {message}", path.display())]
    InvalidStore {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A held-out split is too small to verify on.
    #[error("held-out split: {message}")]
    HeldoutTooSmall {
        /// What it has and what it needs.
        message: String,
    },
    /// A parameter is out of its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter name.
        name: &'static str,
        /// The offending value.
        value: String,
        /// The valid range or rule.
        reason: &'static str,
    },
    /// An IJB meta file refers to something that does not exist.
    #[error("{}:{line}: {message}", path.display())]
    Protocol {
        /// The meta file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What does not match.
        message: String,
    },
    /// A plot could not be drawn or written.
    #[error("{}: cannot draw plot: {message}", path.display())]
    Plot {
        /// The output file.
        path: PathBuf,
        /// The backend's message.
        message: String,
    },
}

impl MetricError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        MetricError::Io {
            path: path.into(),
            error: source,
        }
    }

    /// A parse error at `path:line`.
    pub fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        MetricError::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}
