//! The one error type of the crate: every variant names the file, tensor or value that failed.

use std::path::PathBuf;

/// Everything that can go wrong while training, checkpointing or logging.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    /// Reading or writing a file or directory failed.
    #[error("{action} {}: {error}", path.display())]
    Io {
        /// What was being done, e.g. "writing".
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying I/O error (shown in the message, not chained as a source, so an
        /// error chain prints it once).
        error: std::io::Error,
    },

    /// A JSON or TOML file could not be parsed or written.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file involved.
        path: PathBuf,
        /// What the parser or serializer reported.
        message: String,
    },

    /// A configuration value is out of range.
    #[error("invalid {field} = {value}: {reason}")]
    InvalidConfig {
        /// The offending field, e.g. "sgd.momentum".
        field: &'static str,
        /// The value given, as text.
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },

    /// The loss or a gradient was NaN or infinite and the policy says stop.
    #[error("step {step}: {what} is not finite ({value}); stopping as configured ({skipped_so_far} steps skipped before)")]
    NonFinite {
        /// The step at which it happened.
        step: u64,
        /// "loss" or "gradient of <parameter>".
        what: String,
        /// The offending value (loss, or the gradient's sum of squares).
        value: f64,
        /// Steps skipped by the guard before this one.
        skipped_so_far: u64,
    },

    /// Too many steps in a row were skipped because of NaN/Inf.
    #[error("step {step}: {consecutive} consecutive steps skipped for NaN/Inf (limit {limit}); last: {what}")]
    TooManySkipped {
        /// The step at which the limit was reached.
        step: u64,
        /// How many consecutive steps were skipped.
        consecutive: u64,
        /// The configured limit.
        limit: u64,
        /// What was not finite at the last skipped step.
        what: String,
    },

    /// A checkpoint would contain a NaN or infinite value, so it was not written.
    #[error("refusing to write checkpoint {}: tensor {name} contains NaN or Inf", path.display())]
    NonFiniteCheckpoint {
        /// The checkpoint that was not written.
        path: PathBuf,
        /// The tensor holding the bad value, e.g. "model/fc1.weight".
        name: String,
    },

    /// A checkpoint or optimizer state does not match the model it is loaded into.
    #[error("{}: {problem}", path.display())]
    Mismatch {
        /// The file being loaded (or the checkpoint directory).
        path: PathBuf,
        /// What does not match, naming the tensor or field.
        problem: String,
    },

    /// Optimizer state given in memory does not match the optimizer's parameters.
    #[error("optimizer state: {problem}")]
    StateMismatch {
        /// What does not match, naming the parameter.
        problem: String,
    },

    /// A key of a run configuration is unknown, renamed, malformed or out of range.
    #[error("{origin}: {key}: {problem}")]
    Config {
        /// Where the configuration came from (a file name, `--set`, `the built-in demo config`).
        origin: String,
        /// The dotted key, e.g. `train.batch_size` or `[trian]`.
        key: String,
        /// What is wrong with it.
        problem: String,
    },

    /// The run folder is in use by another live process.
    #[error("{}: {problem}", path.display())]
    RunInUse {
        /// The run folder's lock file.
        path: PathBuf,
        /// Which process holds it.
        problem: String,
    },

    /// An app's [`Task`](crate::task::Task) failed; the message is the task's own.
    #[error(transparent)]
    Task(Box<dyn std::error::Error + Send + Sync>),

    /// A name predicate or group rule selected nothing, or something twice.
    #[error("parameter group {group}: {problem}")]
    ParamGroup {
        /// The group name.
        group: String,
        /// What is wrong.
        problem: String,
    },
}

impl TrainError {
    /// Wraps an I/O error with the action and path that failed.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            error: source,
        }
    }

    /// A configuration error at `key` of the config from `origin`.
    pub fn config(
        origin: impl Into<String>,
        key: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Self::Config {
            origin: origin.into(),
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// Wraps a (de)serialisation message with the file it concerns.
    pub fn format(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::Format {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, TrainError>;
