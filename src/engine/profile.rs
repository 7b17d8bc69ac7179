//! The benchmark profile: bins frozen per benchmark version (README, Design §6), saved as
//! `benchmark.profile.json` beside the benchmark, so daily runs bin only the current data and PSI
//! over time stays comparable.

use std::collections::HashSet;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::ENGINE_VERSION;
use super::binning::{check_len, count_numeric, edges_for, validate_binning, validate_edges};
use super::categorical::{MISSING_LABEL, UNSEEN_LABEL, benchmark_bins};
use super::column::{Column, Table};
use super::error::{EngineError, Side};
use super::labels::numeric_labels;
use super::spec::{Binning, ColumnSpec, EngineOptions, Kind, validate_eps};
use crate::domain::ColumnRole;

/// Frozen bins of every scored column of one benchmark, plus what it was built from.
///
/// Serialised as `benchmark.profile.json`. Rebuild it when `source_checksum` (sha256 of the
/// benchmark file) or `engine_version` changes, or when the column specs change
/// ([`BenchmarkProfile::matches_specs`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkProfile {
    /// [`ENGINE_VERSION`] of the engine that built it.
    pub engine_version: String,
    /// Checksum of the benchmark source (hex sha256 of the file; empty for ad-hoc compares).
    pub source_checksum: String,
    /// Benchmark rows (all rows, missing included): the denominator of every expected share.
    pub rows: u64,
    /// ε used for zero shares (copied from [`EngineOptions`]).
    pub eps: f64,
    /// One entry per scored column, in spec order.
    pub columns: Vec<ColumnProfile>,
}

/// Frozen bins of one column.
///
/// Numeric: `edges` strictly increasing, `levels` empty, `edges.len() + 2` bins (last = missing).
/// Categorical: `edges` empty, `levels` sorted by code point, `levels.len() + 2` bins
/// (`unseen`, then `missing`). `labels` and `expected_counts` have one entry per bin and the
/// counts sum to [`BenchmarkProfile::rows`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// Score or characteristic.
    pub role: ColumnRole,
    /// Numeric or categorical.
    pub kind: Kind,
    /// The strategy the edges came from (numeric; informational for categorical).
    #[serde(default)]
    pub binning: Binning,
    /// Interior bin edges (numeric).
    #[serde(default)]
    pub edges: Vec<f64>,
    /// Benchmark levels (categorical).
    #[serde(default)]
    pub levels: Vec<String>,
    /// One label per bin.
    pub labels: Vec<String>,
    /// Benchmark rows per bin.
    pub expected_counts: Vec<u64>,
    /// Smallest and largest non-missing benchmark value (numeric; for the data-quality range
    /// check). `None` for categorical columns and profiles written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[f64; 2]>,
}

impl ColumnProfile {
    /// Number of bins (missing and unseen included).
    pub fn bins(&self) -> usize {
        self.labels.len()
    }

    /// Checks the invariants listed on [`ColumnProfile`] against `rows`.
    ///
    /// # Errors
    /// [`EngineError::InvalidProfile`] naming the column and the broken invariant.
    pub fn validate(&self, rows: u64) -> Result<(), EngineError> {
        let bad = |reason: String| EngineError::InvalidProfile {
            column: self.name.clone(),
            reason,
        };
        let bins = match self.kind {
            Kind::Numeric => {
                if !self.levels.is_empty() {
                    return Err(bad("a numeric column has levels".into()));
                }
                if !self.edges.is_empty() {
                    validate_edges(&self.edges).map_err(bad)?;
                }
                self.edges.len() + 2
            }
            Kind::Categorical => {
                if !self.edges.is_empty() {
                    return Err(bad("a categorical column has edges".into()));
                }
                if self.levels.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(bad("levels are not sorted and distinct".into()));
                }
                self.levels.len() + 2
            }
        };
        if self.labels.len() != bins || self.expected_counts.len() != bins {
            return Err(bad(format!(
                "expected {bins} bins, found {} labels and {} counts",
                self.labels.len(),
                self.expected_counts.len()
            )));
        }
        // Checked: a hostile profile file can hold counts whose sum overflows.
        let total = self
            .expected_counts
            .iter()
            .try_fold(0u64, |acc, c| acc.checked_add(*c))
            .ok_or_else(|| bad("expected counts overflow".into()))?;
        if total != rows {
            return Err(bad(format!(
                "expected counts sum to {total} but the profile has {rows} rows"
            )));
        }
        Ok(())
    }
}

impl BenchmarkProfile {
    /// The profile of column `name`, if any.
    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Checks every invariant (rows > 0, valid ε, distinct names, per-column bins).
    ///
    /// # Errors
    /// [`EngineError::InvalidProfile`], [`EngineError::InvalidOptions`],
    /// [`EngineError::EmptyBenchmark`], [`EngineError::NoColumns`].
    pub fn validate(&self) -> Result<(), EngineError> {
        validate_eps(self.eps)?;
        if self.rows == 0 {
            return Err(EngineError::EmptyBenchmark);
        }
        if self.columns.is_empty() {
            return Err(EngineError::NoColumns);
        }
        let mut seen = HashSet::new();
        for c in &self.columns {
            if !seen.insert(c.name.as_str()) {
                return Err(EngineError::DuplicateColumn {
                    column: c.name.clone(),
                });
            }
            c.validate(self.rows)?;
        }
        Ok(())
    }

    /// True when this profile was built by this engine version, from `source_checksum`, with
    /// the same ε and exactly these column specs (name, role, kind and, for numeric, binning).
    pub fn matches_specs(
        &self,
        specs: &[ColumnSpec],
        opts: &EngineOptions,
        source_checksum: &str,
    ) -> bool {
        self.engine_version == ENGINE_VERSION
            && self.source_checksum == source_checksum
            && self.eps == opts.eps
            && self.columns.len() == specs.len()
            && self.columns.iter().zip(specs).all(|(c, s)| {
                c.name == s.name
                    && c.role == s.role
                    && c.kind == s.kind
                    && (c.kind == Kind::Categorical
                        || (c.binning == s.binning && c.range.is_some()))
            })
    }
}

/// Checks the spec list: non-empty, distinct names, valid binning for numeric columns.
pub(crate) fn validate_specs(specs: &[ColumnSpec]) -> Result<(), EngineError> {
    if specs.is_empty() {
        return Err(EngineError::NoColumns);
    }
    let mut seen = HashSet::new();
    for s in specs {
        if !seen.insert(s.name.as_str()) {
            return Err(EngineError::DuplicateColumn {
                column: s.name.clone(),
            });
        }
        if s.kind == Kind::Numeric {
            validate_binning(&s.name, &s.binning)?;
        }
    }
    Ok(())
}

/// Looks up `name` in `table` and checks its kind and length.
pub(crate) fn lookup<'t>(
    table: &'t Table,
    name: &str,
    kind: Kind,
    side: Side,
) -> Result<&'t Column, EngineError> {
    let col = table
        .column(name)
        .ok_or_else(|| EngineError::UnknownColumn {
            column: name.to_string(),
            side,
        })?;
    let found = match col {
        Column::Numeric(_) => Kind::Numeric,
        Column::Categorical(_) => Kind::Categorical,
    };
    if found != kind {
        return Err(EngineError::KindMismatch {
            column: name.to_string(),
            expected: kind,
            found,
            side,
        });
    }
    check_len(name, side, col.len(), table.rows)?;
    Ok(col)
}

/// Builds the frozen bins of one benchmark column.
fn build_column(benchmark: &Table, spec: &ColumnSpec) -> Result<ColumnProfile, EngineError> {
    let col = lookup(benchmark, &spec.name, spec.kind, Side::Benchmark)?;
    let (edges, levels, labels, expected_counts) = match col {
        Column::Numeric(values) => {
            let (edges, counts) = edges_for(&spec.name, values, &spec.binning)?;
            let counts = counts.unwrap_or_else(|| {
                let mut counts = vec![0u64; edges.len() + 2];
                count_numeric(values, &edges, &mut counts);
                counts
            });
            debug_assert!({
                let mut full = vec![0u64; edges.len() + 2];
                count_numeric(values, &edges, &mut full);
                full == counts
            });
            let labels = numeric_labels(&edges);
            (edges, Vec::new(), labels, counts)
        }
        Column::Categorical(c) => {
            let (levels, counts) = benchmark_bins(&spec.name, c)?;
            let mut labels = levels.clone();
            labels.push(UNSEEN_LABEL.to_string());
            labels.push(MISSING_LABEL.to_string());
            (Vec::new(), levels, labels, counts)
        }
    };
    let range = match col {
        Column::Numeric(values) => values
            .iter()
            .filter(|x| !x.is_nan())
            .fold(None, |acc: Option<[f64; 2]>, &x| {
                Some(acc.map_or([x, x], |[lo, hi]| [lo.min(x), hi.max(x)]))
            }),
        Column::Categorical(_) => None,
    };
    Ok(ColumnProfile {
        range,
        name: spec.name.clone(),
        role: spec.role,
        kind: spec.kind,
        binning: spec.binning.clone(),
        edges,
        levels,
        labels,
        expected_counts,
    })
}

/// Computes the frozen bins of every spec'd column of `benchmark` (columns in parallel).
///
/// Numeric edges follow `spec.binning` (quantile by default: numpy "linear" quantiles at k/B,
/// ties collapsed); categorical levels are the benchmark's distinct non-missing texts, sorted.
/// `source_checksum` is stored as is (hex sha256 of the benchmark file, or "").
///
/// # Errors
/// [`EngineError::EmptyBenchmark`] (0 rows), [`EngineError::NoColumns`],
/// [`EngineError::DuplicateColumn`], [`EngineError::InvalidBinning`],
/// [`EngineError::InvalidOptions`], [`EngineError::UnknownColumn`] (side benchmark),
/// [`EngineError::KindMismatch`], [`EngineError::AllMissingBenchmark`],
/// [`EngineError::NonFiniteBenchmark`], [`EngineError::RaggedTable`], [`EngineError::InvalidCode`].
pub fn build_profile(
    benchmark: &Table,
    specs: &[ColumnSpec],
    opts: &EngineOptions,
    source_checksum: &str,
) -> Result<BenchmarkProfile, EngineError> {
    opts.validate()?;
    validate_specs(specs)?;
    if benchmark.rows == 0 {
        return Err(EngineError::EmptyBenchmark);
    }
    let columns = specs
        .par_iter()
        .map(|spec| build_column(benchmark, spec))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BenchmarkProfile {
        engine_version: ENGINE_VERSION.to_string(),
        source_checksum: source_checksum.to_string(),
        rows: benchmark.rows as u64,
        eps: opts.eps,
        columns,
    })
}
