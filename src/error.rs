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
    Exact(#[from] ExactError),
    /// The solver failed to produce a usable answer.
    #[error("{0}")]
    Solver(String),
}

/// Why an exact enumeration was refused or failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExactError {
    /// The bound `cell_count_bound(hyperplanes, rank)` on the number of cells exceeds the limit
    /// `limit`, so enumeration was refused before any work was done.
    #[error(
        "exact arrangement enumeration refused: {hyperplanes} distinct hyperplanes spanning rank \
         {rank} may have up to {bound} cells, more than the limit of {limit}; use arrangements \
         mode \"sample\" or raise max_patterns"
    )]
    TooLarge {
        /// `cell_count_bound(hyperplanes, rank)`.
        bound: f64,
        /// The `max_cells` that was passed in.
        limit: usize,
        /// Number of distinct hyperplanes among the rows.
        hyperplanes: usize,
        /// Dimension of the span of the rows.
        rank: usize,
    },
    /// A floating-point consistency check failed: non-finite input, a cell too thin to certify with
    /// margin [`MIN_MARGIN`](crate::arrangement::exact::MIN_MARGIN), or inconsistent intermediate
    /// results (near-degenerate rows).
    #[error("exact arrangement enumeration failed numerically: {0}")]
    Numerical(String),
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
