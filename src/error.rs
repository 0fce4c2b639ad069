//! Library errors. Every message names the offending file or value and says how to fix it.

use std::path::PathBuf;

/// Errors of the cvxcnn library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source} ({hint})", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
        /// What to do about it.
        hint: &'static str,
    },
    /// A problem or data file holds a value cvxcnn cannot use.
    #[error("{}: {message}", path.display())]
    Input {
        /// The file that holds the bad value.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A parameter passed through the library API is out of range.
    #[error("{0}")]
    Invalid(String),
    /// An exact arrangement cannot be enumerated.
    #[error("{0}")]
    Exact(#[from] crate::arrangement::exact::ExactError),
    /// The solver failed to produce a usable answer.
    #[error("{0}")]
    Solver(String),
}

/// Result alias of the library.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An input error about `path`.
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            message: message.into(),
        }
    }
}
