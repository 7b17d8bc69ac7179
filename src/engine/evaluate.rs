//! Scoring a current population against a frozen [`BenchmarkProfile`].

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::count_numeric;
use super::categorical::current_bins;
use super::column::{Column, Table};
use super::error::{EngineError, Side};
use super::profile::{BenchmarkProfile, ColumnProfile, build_profile, lookup};
use super::psi::bin_table;
use super::spec::{ColumnSpec, EngineOptions, Kind};
use crate::domain::BinStat;
use crate::domain::ColumnRole;

/// PSI/CSI of every profiled column for one current population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Benchmark rows (all, missing included).
    pub rows_benchmark: u64,
    /// Current rows (all, missing included).
    pub rows_current: u64,
    /// One result per profiled column, in profile (spec) order.
    pub columns: Vec<ColumnResult>,
}

/// PSI (score) or CSI (characteristic) of one column with its per-bin table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnResult {
    /// Column name.
    pub name: String,
    /// Score or characteristic.
    pub role: ColumnRole,
    /// Numeric or categorical.
    pub kind: Kind,
    /// Σ (A_i − E_i) · ln(A_i / E_i) over the bins (dimensionless, ≥ 0).
    pub index: f64,
    /// Bins in profile order (numeric: ascending, then missing; categorical: levels, unseen,
    /// missing).
    pub bins: Vec<BinStat>,
}

impl Evaluation {
    /// The PSI: index of the first column with role `Score`, if one was scored.
    pub fn psi(&self) -> Option<f64> {
        self.columns
            .iter()
            .find(|c| c.role == ColumnRole::Score)
            .map(|c| c.index)
    }

    /// The largest CSI over the characteristics, with its column name (first on ties).
    pub fn max_csi(&self) -> Option<(&str, f64)> {
        self.columns
            .iter()
            .filter(|c| c.role == ColumnRole::Characteristic)
            .fold(None, |best: Option<&ColumnResult>, c| match best {
                Some(b) if b.index >= c.index => Some(b),
                _ => Some(c),
            })
            .map(|c| (c.name.as_str(), c.index))
    }

    /// The result of column `name`, if scored.
    pub fn column(&self, name: &str) -> Option<&ColumnResult> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Current rows per bin of one profiled column.
fn actual_counts(profile: &ColumnProfile, current: &Table) -> Result<Vec<u64>, EngineError> {
    let col = lookup(current, &profile.name, profile.kind, Side::Current)?;
    Ok(match col {
        Column::Numeric(values) => {
            let mut counts = vec![0u64; profile.edges.len() + 2];
            count_numeric(values, &profile.edges, &mut counts);
            counts
        }
        Column::Categorical(c) => current_bins(&profile.name, &profile.levels, c)?,
    })
}

/// Bins the current population with the profile's frozen bins and computes each column's
/// PSI/CSI (columns in parallel; only the current side is read).
///
/// # Errors
/// [`EngineError::EmptyCurrent`] (0 rows), [`EngineError::UnknownColumn`] (side current),
/// [`EngineError::KindMismatch`], [`EngineError::RaggedTable`], [`EngineError::InvalidCode`],
/// and the profile's own [`BenchmarkProfile::validate`] errors.
pub fn evaluate(profile: &BenchmarkProfile, current: &Table) -> Result<Evaluation, EngineError> {
    profile.validate()?;
    if current.rows == 0 {
        return Err(EngineError::EmptyCurrent);
    }
    let rows_current = current.rows as u64;
    let columns = profile
        .columns
        .par_iter()
        .map(|cp| {
            let actual = actual_counts(cp, current)?;
            let (index, bins) = bin_table(
                &cp.labels,
                &cp.expected_counts,
                &actual,
                profile.rows,
                rows_current,
                profile.eps,
            );
            Ok(ColumnResult {
                name: cp.name.clone(),
                role: cp.role,
                kind: cp.kind,
                index,
                bins,
            })
        })
        .collect::<Result<Vec<_>, EngineError>>()?;
    Ok(Evaluation {
        rows_benchmark: profile.rows,
        rows_current,
        columns,
    })
}

/// Ad-hoc comparison of two populations: [`build_profile`] on `benchmark` (empty checksum) then
/// [`evaluate`] on `current`.
///
/// # Errors
/// Those of [`build_profile`] and [`evaluate`]; an empty current population is reported before
/// the benchmark is binned.
pub fn compare(
    benchmark: &Table,
    current: &Table,
    specs: &[ColumnSpec],
    opts: &EngineOptions,
) -> Result<Evaluation, EngineError> {
    if current.rows == 0 && benchmark.rows > 0 {
        return Err(EngineError::EmptyCurrent);
    }
    let profile = build_profile(benchmark, specs, opts, "")?;
    evaluate(&profile, current)
}
