//! Errors of the data sources. Every variant names the file; cloneable so cached failures and
//! results can be shared between threads.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a file a value sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 1-based CSV record line; the header is line 1, so the first data row is line 2
    /// (equal to the physical line unless a quoted field spans lines).
    Line(usize),
    /// 1-based data row (Parquet, or a table already in memory).
    Row(usize),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(n) => write!(f, "line {n}"),
            Position::Row(n) => write!(f, "row {n}"),
        }
    }
}

/// Why a file could not be read into a table, or rows could not be selected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// The file does not exist.
    #[error("{}: file not found", path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// Any other I/O failure.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// Neither `.csv` nor `.parquet`/`.pq`.
    #[error("{}: unsupported file type (expected .csv, .parquet or .pq)", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// No header row at all (0 bytes or only blank space).
    #[error("{}: empty file (no header row)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Two header columns share a name.
    #[error("{}: duplicate column name {column:?} in the header", path.display())]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        column: String,
    },
    /// The same column was requested twice.
    #[error("{}: column {column:?} requested twice", path.display())]
    DuplicateRequest {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        column: String,
    },
    /// A requested column is not in the file.
    #[error("{}: no column {column:?}; available columns: {}", path.display(), crate::sanitize::list_excerpt(available, 24))]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The requested name.
        column: String,
        /// Every column of the file, in file order.
        available: Vec<String>,
    },
    /// Malformed CSV structure: ragged row, unterminated quote, invalid UTF-8.
    #[error("{}: {}malformed CSV: {message}", path.display(), line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line where it was detected, when known.
        line: Option<usize>,
        /// What is wrong (e.g. "expected 23 fields, found 22").
        message: String,
    },
    /// Text that is not a number in a column read as numeric.
    #[error("{}: {at}, column {column:?}: {value:?} is not a number", path.display())]
    NotNumeric {
        /// The file.
        path: PathBuf,
        /// Line (CSV) or row (Parquet).
        at: Position,
        /// Column name.
        column: String,
        /// The offending text.
        value: String,
    },
    /// An infinite value (`inf`, `-inf`, `infinity`, or a number beyond `f64`).
    #[error("{}: {at}, column {column:?}: infinite value {value:?} is not allowed", path.display())]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Line (CSV) or row (Parquet).
        at: Position,
        /// Column name.
        column: String,
        /// The offending text.
        value: String,
    },
    /// A value of the date column that is not an ISO `YYYY-MM-DD` date.
    #[error("{}: {at}, date column {column:?}: {value:?} is not a YYYY-MM-DD date", path.display())]
    BadDate {
        /// The file.
        path: PathBuf,
        /// Where the first such value occurs.
        at: Position,
        /// Column name.
        column: String,
        /// The offending text.
        value: String,
    },
    /// A column type that cannot become a numeric or categorical column.
    #[error("{}: column {column:?} has unsupported type {data_type}", path.display())]
    UnsupportedType {
        /// The file.
        path: PathBuf,
        /// Column name.
        column: String,
        /// The Arrow type, as text.
        data_type: String,
    },
    /// The Parquet reader failed (corrupt file, unsupported encoding...).
    #[error("{}: cannot read Parquet: {message}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
    /// A filter that cannot apply to its column (e.g. a non-number filter on a numeric column).
    #[error("{}: filter on column {column:?}: {message}", path.display())]
    BadFilter {
        /// The file the filter was applied to.
        path: PathBuf,
        /// Column name.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// Tables to combine have different columns or kinds.
    #[error("{}: cannot combine with the previous files: {message}", path.display())]
    Mismatch {
        /// The file whose table differs.
        path: PathBuf,
        /// What differs.
        message: String,
    },
    /// A current-source path pattern or option is invalid.
    #[error("current source {pattern:?}: {message}")]
    Pattern {
        /// The pattern as configured.
        pattern: String,
        /// What is wrong.
        message: String,
    },
}

impl SourceError {
    /// Maps an I/O error on `path` (not found → [`SourceError::NotFound`]).
    pub fn io(path: &Path, err: &std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::NotFound {
            SourceError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            SourceError::Io {
                path: path.to_path_buf(),
                message: err.to_string(),
            }
        }
    }
}
