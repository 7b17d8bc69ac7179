//! Engine errors: every input the engine cannot score gives a typed error, never a silent zero
//! (README, Design §6).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::spec::Kind;

/// Which population a column was looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The benchmark (expected) population.
    Benchmark,
    /// The current (actual) population.
    Current,
}

impl Side {
    /// Lowercase name: `benchmark` or `current`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Benchmark => "benchmark",
            Side::Current => "current",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the engine refused to compute a PSI/CSI.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The current population has no rows: a PSI of an empty population is undefined, not 0.
    #[error("the current population is empty (0 rows): PSI/CSI is undefined")]
    EmptyCurrent,
    /// The benchmark population has no rows.
    #[error("the benchmark population is empty (0 rows): no bins can be built")]
    EmptyBenchmark,
    /// A numeric benchmark column whose values are all missing: no quantile edges exist.
    #[error("benchmark column {column:?} has only missing values: no bin edges can be built")]
    AllMissingBenchmark {
        /// Column name.
        column: String,
    },
    /// A numeric benchmark column holding an infinite value (edges would not be finite).
    #[error(
        "benchmark column {column:?} holds an infinite value ({value}): bin edges must be finite"
    )]
    NonFiniteBenchmark {
        /// Column name.
        column: String,
        /// The offending value (`inf` or `-inf`).
        value: f64,
    },
    /// A requested column is absent from one population.
    #[error("column {column:?} is not in the {side} population")]
    UnknownColumn {
        /// Column name.
        column: String,
        /// Population that lacks it.
        side: Side,
    },
    /// A column's kind in a population differs from the kind requested (spec or profile).
    #[error(
        "column {column:?} is {found:?} in the {side} population but {expected:?} was requested"
    )]
    KindMismatch {
        /// Column name.
        column: String,
        /// Kind requested by the spec or frozen in the profile.
        expected: Kind,
        /// Kind found in the table.
        found: Kind,
        /// Population holding the column.
        side: Side,
    },
    /// A binning strategy that cannot produce bins (0 bins, unsorted or non-finite fixed edges).
    #[error("invalid binning for column {column:?}: {reason}")]
    InvalidBinning {
        /// Column name.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// Engine options out of range (ε must be finite and in (0, 1)).
    #[error("invalid engine options: {reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: String,
    },
    /// No columns were requested.
    #[error("no columns requested: give at least the score or one characteristic")]
    NoColumns,
    /// The same column is requested twice.
    #[error("column {column:?} is requested more than once")]
    DuplicateColumn {
        /// Column name.
        column: String,
    },
    /// A table whose column length differs from its row count (a bug in the source that built it).
    #[error(
        "column {column:?} of the {side} population has {len} values but the table has {rows} rows"
    )]
    RaggedTable {
        /// Column name.
        column: String,
        /// Population.
        side: Side,
        /// Values in the column.
        len: usize,
        /// Declared row count.
        rows: usize,
    },
    /// A categorical code that is neither a level index nor `MISSING_CODE` (a source bug).
    #[error(
        "column {column:?} of the {side} population holds code {code} but has only {levels} levels"
    )]
    InvalidCode {
        /// Column name.
        column: String,
        /// Population.
        side: Side,
        /// The offending code.
        code: u32,
        /// Number of levels of the column.
        levels: usize,
    },
    /// A benchmark profile that is internally inconsistent (hand-edited or corrupt
    /// `benchmark.profile.json`).
    #[error("benchmark profile is inconsistent for column {column:?}: {reason}")]
    InvalidProfile {
        /// Column name (empty for profile-wide problems).
        column: String,
        /// What is wrong.
        reason: String,
    },
}
