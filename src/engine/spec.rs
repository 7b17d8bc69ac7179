//! What to compute: column kinds, binning strategies, column specs and engine options.

use serde::{Deserialize, Serialize};

use super::error::EngineError;
use crate::domain::ColumnRole;

/// Kind of a characteristic (serialised lowercase: `numeric`, `categorical`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Numbers binned by edges; `NaN` is missing.
    Numeric,
    /// Text levels, one bin per benchmark level plus `unseen` and `missing`.
    Categorical,
}

/// How the bin edges of a numeric column are chosen (ignored for categorical columns).
///
/// Serialised with a `strategy` tag: `{"strategy": "quantile", "bins": 10}`,
/// `{"strategy": "equal_width", "bins": 10}`, `{"strategy": "fixed", "edges": [0.1, 0.2]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Binning {
    /// Edges = benchmark quantiles at k/`bins`, k = 1..bins−1, numpy's default "linear" method,
    /// ties collapsed (README, Design §6). `bins` ≥ 1; fewer bins result when edges tie.
    Quantile {
        /// Requested number of bins B (default 10).
        bins: usize,
    },
    /// `bins` bins of equal width between the benchmark's non-missing min and max: interior edges
    /// `min + k·(max − min)/bins`, k = 1..bins−1 (as `numpy.linspace(min, max, bins + 1)[1:-1]`),
    /// ties collapsed (a constant column gives one edge).
    EqualWidth {
        /// Number of bins (≥ 1).
        bins: usize,
    },
    /// Edges given by configuration: finite and strictly increasing, at least one.
    Fixed {
        /// Interior edges e_1 < … < e_m; bins are `(-inf, e_1]`, …, `(e_m, +inf)`.
        edges: Vec<f64>,
    },
}

impl Default for Binning {
    /// Deciles: `Quantile { bins: 10 }`.
    fn default() -> Self {
        Binning::Quantile { bins: DEFAULT_BINS }
    }
}

/// Default number of quantile bins B.
pub const DEFAULT_BINS: usize = 10;

/// Largest number of bins accepted for `Quantile` and `EqualWidth` (and of fixed edges + 1).
pub const MAX_BINS: usize = 100_000;

/// One column to score: its name in both populations, its role, kind and binning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// Column name (same in benchmark and current).
    pub name: String,
    /// `Score` (its index is the PSI) or `Characteristic` (its index is a CSI).
    pub role: ColumnRole,
    /// Numeric or categorical.
    pub kind: Kind,
    /// Edge strategy for numeric columns; ignored for categorical ones.
    #[serde(default)]
    pub binning: Binning,
}

impl ColumnSpec {
    /// A numeric column with `bins` quantile bins.
    pub fn numeric(name: impl Into<String>, role: ColumnRole, bins: usize) -> Self {
        Self {
            name: name.into(),
            role,
            kind: Kind::Numeric,
            binning: Binning::Quantile { bins },
        }
    }

    /// A categorical column.
    pub fn categorical(name: impl Into<String>, role: ColumnRole) -> Self {
        Self {
            name: name.into(),
            role,
            kind: Kind::Categorical,
            binning: Binning::default(),
        }
    }
}

/// Engine options shared by every column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EngineOptions {
    /// ε: a bin share of exactly 0 is replaced by this before the log, without renormalisation
    /// (feature-engine's DropHighPSIFeatures and evidently practice). Default 1e-4; must be finite
    /// and in (0, 1).
    pub eps: f64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self { eps: DEFAULT_EPS }
    }
}

/// Default ε (1e-4).
pub const DEFAULT_EPS: f64 = 1e-4;

impl EngineOptions {
    /// Checks ε.
    ///
    /// # Errors
    /// [`EngineError::InvalidOptions`] unless 0 < ε < 1.
    pub fn validate(&self) -> Result<(), EngineError> {
        validate_eps(self.eps)
    }
}

pub(crate) fn validate_eps(eps: f64) -> Result<(), EngineError> {
    if eps.is_finite() && eps > 0.0 && eps < 1.0 {
        Ok(())
    } else {
        Err(EngineError::InvalidOptions {
            reason: format!("eps must be finite and in (0, 1), got {eps}"),
        })
    }
}
