//! `driftdeck psi`: PSI/CSI between any two files, without config or store.

use std::path::Path;

use serde::Serialize;

use super::JobError;
use crate::domain::BinStat;
use crate::engine::column::Column;
use crate::engine::{self, Binning, ColumnSpec, EngineOptions, Kind};
use crate::sources::{ColumnRequest, KindHint, column_names, read_table};
use crate::store::ColumnRole;

/// Which columns to compare and how.
#[derive(Debug, Clone, Default)]
pub struct AdhocOptions {
    /// Only these columns (empty = every benchmark column).
    pub columns: Vec<String>,
    /// Forced categorical.
    pub categorical: Vec<String>,
    /// Forced numeric.
    pub numeric: Vec<String>,
    /// Skipped.
    pub exclude: Vec<String>,
    /// Quantile bins.
    pub bins: usize,
    /// ε for empty bins.
    pub eps: f64,
}

/// Result of one column, shaped like `psi_reference.py --json`.
#[derive(Debug, Clone, Serialize)]
pub struct AdhocColumn {
    /// `numeric` or `categorical`.
    pub kind: &'static str,
    /// PSI of the column.
    pub psi: f64,
    /// Bins in order.
    pub bins: Vec<BinStat>,
    /// Numeric bin edges, or sorted benchmark categories.
    pub edges: serde_json::Value,
}

/// Result of `driftdeck psi`, shaped like `psi_reference.py --json`.
#[derive(Debug, Clone, Serialize)]
pub struct AdhocReport {
    /// Benchmark rows.
    pub rows_benchmark: u64,
    /// Current rows.
    pub rows_current: u64,
    /// Columns in benchmark order.
    pub columns: Vec<(String, AdhocColumn)>,
}

impl AdhocReport {
    /// JSON with `columns` as an object keyed by column name (the oracle's shape).
    pub fn to_json(&self) -> serde_json::Value {
        let mut columns = serde_json::Map::new();
        for (name, c) in &self.columns {
            columns.insert(name.clone(), serde_json::to_value(c).unwrap_or_default());
        }
        serde_json::json!({
            "rows_benchmark": self.rows_benchmark,
            "rows_current": self.rows_current,
            "columns": columns,
        })
    }
}

/// Compares two files column by column.
///
/// Column kinds: `--categorical`/`--numeric` when given, else inferred from the benchmark (numeric
/// when every non-missing value is a number); the current file is then read with the same kinds,
/// so a text value in a numeric column of the current file is an error naming its line.
///
/// # Errors
/// Source errors (file, line, column), unknown columns, engine errors.
pub fn compare_files(
    benchmark: &Path,
    current: &Path,
    options: &AdhocOptions,
) -> Result<AdhocReport, JobError> {
    let hint = |name: &str| {
        if options.categorical.iter().any(|c| c == name) {
            KindHint::Categorical
        } else if options.numeric.iter().any(|c| c == name) {
            KindHint::Numeric
        } else {
            KindHint::Infer
        }
    };
    // The columns to read: the chosen ones, else every header column that is not excluded, so
    // excluded columns are never parsed and forced kinds need no second read.
    let names = if options.columns.is_empty() {
        column_names(benchmark)?
            .into_iter()
            .filter(|n| !options.exclude.contains(n))
            .collect()
    } else {
        options.columns.clone()
    };
    let bench_requests: Vec<ColumnRequest> = names
        .iter()
        .map(|n| ColumnRequest {
            name: n.clone(),
            kind: hint(n),
        })
        .collect();
    let bench = read_table(benchmark, Some(&bench_requests))?;
    let specs: Vec<ColumnSpec> = bench
        .names
        .iter()
        .zip(&bench.columns)
        .filter(|(n, _)| !options.exclude.contains(n))
        .map(|(n, c)| ColumnSpec {
            name: n.clone(),
            role: ColumnRole::Characteristic,
            kind: match c {
                Column::Numeric(_) => Kind::Numeric,
                Column::Categorical(_) => Kind::Categorical,
            },
            binning: Binning::Quantile { bins: options.bins },
        })
        .collect();
    let current_requests: Vec<ColumnRequest> = ColumnRequest::for_specs(&specs);
    let opts = EngineOptions { eps: options.eps };
    let engine_err = |source| JobError::Adhoc {
        benchmark: benchmark.to_path_buf(),
        current: current.to_path_buf(),
        source,
    };
    // No checksum: an ad-hoc comparison stores no profile version. The benchmark table is
    // dropped once its profile is built, before the current file is read (peak memory = one
    // table, not two).
    let profile = engine::build_profile(&bench, &specs, &opts, "").map_err(engine_err)?;
    drop(bench);
    let curr = read_table(current, Some(&current_requests))?;
    let evaluation = engine::evaluate(&profile, &curr).map_err(engine_err)?;
    let columns = evaluation
        .columns
        .into_iter()
        .zip(&profile.columns)
        .map(|(c, p)| {
            let edges = match c.kind {
                Kind::Numeric => serde_json::json!(p.edges),
                Kind::Categorical => serde_json::json!(p.levels),
            };
            (
                c.name,
                AdhocColumn {
                    kind: match c.kind {
                        Kind::Numeric => "numeric",
                        Kind::Categorical => "categorical",
                    },
                    psi: c.index,
                    bins: c.bins,
                    edges,
                },
            )
        })
        .collect();
    Ok(AdhocReport {
        rows_benchmark: evaluation.rows_benchmark,
        rows_current: evaluation.rows_current,
        columns,
    })
}
