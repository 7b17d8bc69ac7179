//! Data-quality checks on a current (actual) population, run before the engine (issue 10).
//!
//! Every check is a pure function over an engine [`Table`] (plus the numbers it is compared with:
//! the benchmark's range, the row counts of earlier runs) and returns its [`Finding`]s as data:
//! check, column, observed value, limit, severity. Nothing here reads a file, a store or a clock,
//! so the daily run ([`crate::jobs`]) and the benchmark refresh validation share these functions.
//!
//! Severity: a [`Severity::Fail`] finding fails the run (nothing written, retries and notification
//! as for any failure); a [`Severity::Warn`] finding lets the run succeed and is stored with it.
//!
//! Defaults live in `driftdeck.toml` `[quality]` ([`QualitySettings`]); a model overrides any key
//! in `models.yaml` under `quality:` ([`QualityOverrides`]).

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::engine::column::{Column, MISSING_CODE, Table};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The run succeeds; the finding is stored and shown.
    Warn,
    /// The run fails with the finding as its reason; nothing is written.
    Fail,
}

impl Severity {
    /// `warn` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Fail => "fail",
        }
    }

    /// Parses `warn` / `fail` (as stored).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "warn" => Some(Severity::Warn),
            "fail" => Some(Severity::Fail),
            _ => None,
        }
    }
}

/// Which check produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Current rows below the absolute minimum `min_rows`.
    RowCount,
    /// Current rows below `min_rows_vs_median` × the median rows of the last successful runs.
    RowCountHistory,
    /// A day of the trailing window without rows (`observed` = rows of that day = 0).
    WindowCoverage,
    /// Share of missing values of a column above `max_missing_share`.
    MissingShare,
    /// A value beyond the benchmark's minimum/maximum by more than the tolerance.
    BenchmarkRange,
    /// The same key appears on more than one row (`observed` = rows with a repeated key).
    DuplicateKeys,
    /// Rows that could not be read were set aside in the run's quarantine file (`observed` =
    /// quarantined share of the rows read, `limit` = `max_quarantined_share`; the message names
    /// the count, the file and the first reasons).
    Quarantine,
}

impl Check {
    /// The snake_case name (as stored and in `status --json`).
    pub fn as_str(self) -> &'static str {
        match self {
            Check::RowCount => "row_count",
            Check::RowCountHistory => "row_count_history",
            Check::WindowCoverage => "window_coverage",
            Check::MissingShare => "missing_share",
            Check::BenchmarkRange => "benchmark_range",
            Check::DuplicateKeys => "duplicate_keys",
            Check::Quarantine => "quarantine",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Check::RowCount,
            Check::RowCountHistory,
            Check::WindowCoverage,
            Check::MissingShare,
            Check::BenchmarkRange,
            Check::DuplicateKeys,
            Check::Quarantine,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One result of a check that did not pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The check.
    pub check: Check,
    /// The column concerned, when the check is about one column (or the day, for coverage).
    pub column: Option<String>,
    /// What was observed (rows, share 0..=1, value; see [`Check`]).
    pub observed: f64,
    /// The limit it was compared with, in the same unit.
    pub limit: f64,
    /// Warn or fail.
    pub severity: Severity,
    /// One human line, e.g. `412 rows, below 0.5 × median 2,196 of the last 7 runs`.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.severity.as_str(), self.check.as_str())?;
        if let Some(c) = &self.column {
            write!(f, " [{c}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// `[quality]` in `driftdeck.toml`: the defaults of every model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QualitySettings {
    /// Absolute minimum of current rows (0 disables). Default 1.
    pub min_rows: u64,
    /// Severity of `row_count`. Default `fail`.
    pub min_rows_severity: Severity,
    /// Successful runs whose median row count is the reference (0 disables). Default 7.
    pub history_runs: usize,
    /// Lowest allowed ratio of current rows to that median (0..1). Default 0.5.
    pub min_rows_vs_median: f64,
    /// Severity of `row_count_history`. Default `warn`.
    pub rows_vs_median_severity: Severity,
    /// Severity of a day of the window without rows (windows of more than one day with a date
    /// column). Default `warn`.
    pub coverage_severity: Severity,
    /// Highest allowed share (0..=1) of missing values in a column. Default 0.5.
    pub max_missing_share: f64,
    /// Severity of `missing_share`. Default `warn`.
    pub missing_severity: Severity,
    /// Tolerance beyond the benchmark's minimum/maximum, as a fraction of the benchmark's range
    /// (max − min; 0 means any value outside fails the check). Negative disables. Default 0.5.
    pub range_tolerance: f64,
    /// Severity of `benchmark_range`. Default `warn`.
    pub range_severity: Severity,
    /// Column whose values must be unique within a day's population (none by default; usually set
    /// per model).
    pub key_column: Option<String>,
    /// Severity of `duplicate_keys`. Default `fail`.
    pub duplicate_keys_severity: Severity,
    /// Highest share (0..=1) of the rows read that may be quarantined (rows whose value cannot
    /// be read); the run goes on without them up to this share (a `warn` finding) and fails above
    /// it. Default 0.01.
    pub max_quarantined_share: f64,
}

impl Default for QualitySettings {
    fn default() -> Self {
        Self {
            min_rows: 1,
            min_rows_severity: Severity::Fail,
            history_runs: 7,
            min_rows_vs_median: 0.5,
            rows_vs_median_severity: Severity::Warn,
            coverage_severity: Severity::Warn,
            max_missing_share: 0.5,
            missing_severity: Severity::Warn,
            range_tolerance: 0.5,
            range_severity: Severity::Warn,
            key_column: None,
            duplicate_keys_severity: Severity::Fail,
            max_quarantined_share: 0.01,
        }
    }
}

/// `quality:` of a model in `models.yaml`: any key of [`QualitySettings`], overriding the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each field is the same-named field of QualitySettings
pub struct QualityOverrides {
    pub min_rows: Option<u64>,
    pub min_rows_severity: Option<Severity>,
    pub history_runs: Option<usize>,
    pub min_rows_vs_median: Option<f64>,
    pub rows_vs_median_severity: Option<Severity>,
    pub coverage_severity: Option<Severity>,
    pub max_missing_share: Option<f64>,
    pub missing_severity: Option<Severity>,
    pub range_tolerance: Option<f64>,
    pub range_severity: Option<Severity>,
    pub key_column: Option<String>,
    pub duplicate_keys_severity: Option<Severity>,
    pub max_quarantined_share: Option<f64>,
}

impl QualitySettings {
    /// These defaults with a model's overrides applied.
    pub fn with(&self, o: &QualityOverrides) -> QualitySettings {
        QualitySettings {
            min_rows: o.min_rows.unwrap_or(self.min_rows),
            min_rows_severity: o.min_rows_severity.unwrap_or(self.min_rows_severity),
            history_runs: o.history_runs.unwrap_or(self.history_runs),
            min_rows_vs_median: o.min_rows_vs_median.unwrap_or(self.min_rows_vs_median),
            rows_vs_median_severity: o
                .rows_vs_median_severity
                .unwrap_or(self.rows_vs_median_severity),
            coverage_severity: o.coverage_severity.unwrap_or(self.coverage_severity),
            max_missing_share: o.max_missing_share.unwrap_or(self.max_missing_share),
            missing_severity: o.missing_severity.unwrap_or(self.missing_severity),
            range_tolerance: o.range_tolerance.unwrap_or(self.range_tolerance),
            range_severity: o.range_severity.unwrap_or(self.range_severity),
            key_column: o.key_column.clone().or_else(|| self.key_column.clone()),
            duplicate_keys_severity: o
                .duplicate_keys_severity
                .unwrap_or(self.duplicate_keys_severity),
            max_quarantined_share: o
                .max_quarantined_share
                .unwrap_or(self.max_quarantined_share),
        }
    }

    /// Checks the numbers: shares and ratios finite and within 0..=1, tolerance finite.
    ///
    /// # Errors
    /// A message naming the key and the value.
    pub fn validate(&self) -> Result<(), String> {
        for (key, v) in [
            ("min_rows_vs_median", self.min_rows_vs_median),
            ("max_missing_share", self.max_missing_share),
            ("max_quarantined_share", self.max_quarantined_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("quality.{key} must be between 0 and 1, got {v}"));
            }
        }
        if !self.range_tolerance.is_finite() {
            return Err(format!(
                "quality.range_tolerance must be a finite number, got {}",
                self.range_tolerance
            ));
        }
        if self.history_runs > 1000 {
            return Err(format!(
                "quality.history_runs must be at most 1000, got {}",
                self.history_runs
            ));
        }
        Ok(())
    }
}

/// Quarantine: `quarantined` of `rows_read` rows could not be read and were written to `file`.
/// No finding without quarantined rows; `warn` up to `max_quarantined_share` of the rows read,
/// `fail` above it. `reasons`: the first few reasons (`line N: …`), quoted in the message.
pub fn check_quarantine(
    quarantined: usize,
    rows_read: usize,
    file: &str,
    reasons: &[String],
    s: &QualitySettings,
) -> Vec<Finding> {
    if quarantined == 0 {
        return Vec::new();
    }
    let share = quarantined as f64 / rows_read.max(1) as f64;
    let severity = if share > s.max_quarantined_share {
        Severity::Fail
    } else {
        Severity::Warn
    };
    let mut message = format!(
        "{quarantined} of {rows_read} rows ({:.2}%, limit {:.2}%) quarantined to {file}",
        share * 100.0,
        s.max_quarantined_share * 100.0
    );
    if !reasons.is_empty() {
        message.push_str(": ");
        message.push_str(&reasons.join("; "));
    }
    vec![Finding {
        check: Check::Quarantine,
        column: None,
        observed: share,
        limit: s.max_quarantined_share,
        severity,
        message,
    }]
}

/// The benchmark's smallest and largest non-missing value of a numeric column.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchmarkRange {
    /// Column name.
    pub column: String,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

/// Absolute row count: a finding when `rows < min_rows` (`min_rows` 0 disables).
pub fn check_row_count(rows: usize, s: &QualitySettings) -> Vec<Finding> {
    if s.min_rows == 0 || rows as u64 >= s.min_rows {
        return Vec::new();
    }
    vec![Finding {
        check: Check::RowCount,
        column: None,
        observed: rows as f64,
        limit: s.min_rows as f64,
        severity: s.min_rows_severity,
        message: if rows == 0 {
            format!(
                "current population is empty (0 rows), minimum {}",
                s.min_rows
            )
        } else {
            format!("{rows} current rows, minimum {}", s.min_rows)
        },
    }]
}

/// Median of `values` (mean of the two middle values for an even count); `None` when empty.
pub fn median(values: &[u64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0
    })
}

/// Row count against history: a finding when `rows < min_rows_vs_median × median(history)`.
/// `history`: current rows of the model's last successful runs, newest first; only the first
/// `history_runs` are used, and no finding is made before there are at least 3.
pub fn check_row_history(rows: usize, history: &[u64], s: &QualitySettings) -> Vec<Finding> {
    let used = &history[..history.len().min(s.history_runs)];
    if s.history_runs == 0 || used.len() < 3 {
        return Vec::new();
    }
    let Some(med) = median(used) else {
        return Vec::new();
    };
    let limit = s.min_rows_vs_median * med;
    if (rows as f64) >= limit {
        return Vec::new();
    }
    vec![Finding {
        check: Check::RowCountHistory,
        column: None,
        observed: rows as f64,
        limit,
        severity: s.rows_vs_median_severity,
        message: format!(
            "{rows} current rows, below {} × median {med} of the last {} successful runs",
            s.min_rows_vs_median,
            used.len()
        ),
    }]
}

/// Window coverage: one finding per day of `days` (the trailing window, oldest first) that has no
/// row in `row_days` (the calculation date of each current row). Nothing for a one-day window.
pub fn check_coverage(
    days: &[NaiveDate],
    row_days: &[NaiveDate],
    s: &QualitySettings,
) -> Vec<Finding> {
    if days.len() < 2 {
        return Vec::new();
    }
    let mut counts: HashMap<NaiveDate, u64> = HashMap::new();
    for d in row_days {
        *counts.entry(*d).or_default() += 1;
    }
    days.iter()
        .filter(|d| !counts.contains_key(d))
        .map(|d| Finding {
            check: Check::WindowCoverage,
            column: Some(d.to_string()),
            observed: 0.0,
            limit: 1.0,
            severity: s.coverage_severity,
            message: format!("no rows for {d} in the {}-day window", days.len()),
        })
        .collect()
}

/// Missing values of one column (`NaN` numeric, [`MISSING_CODE`] categorical).
pub fn missing_count(column: &Column) -> usize {
    match column {
        Column::Numeric(v) => v.iter().filter(|x| x.is_nan()).count(),
        Column::Categorical(c) => c.codes.iter().filter(|&&k| k == MISSING_CODE).count(),
    }
}

/// Per column: a finding when the share of missing values exceeds `max_missing_share`.
/// An empty table has no share (the row-count check speaks for it).
pub fn check_missing(table: &Table, s: &QualitySettings) -> Vec<Finding> {
    if table.rows == 0 {
        return Vec::new();
    }
    table
        .names
        .iter()
        .zip(&table.columns)
        .filter_map(|(name, col)| {
            let missing = missing_count(col);
            let share = missing as f64 / table.rows as f64;
            (share > s.max_missing_share).then(|| Finding {
                check: Check::MissingShare,
                column: Some(name.clone()),
                observed: share,
                limit: s.max_missing_share,
                severity: s.missing_severity,
                message: format!(
                    "{missing} of {} values missing ({:.1} %), limit {:.1} %",
                    table.rows,
                    share * 100.0,
                    s.max_missing_share * 100.0
                ),
            })
        })
        .collect()
}

/// Per numeric column with a benchmark range: a finding when the current minimum is below
/// `min − tol` or the maximum above `max + tol`, with `tol = range_tolerance × (max − min)`.
/// A negative `range_tolerance` disables the check; missing values are ignored.
pub fn check_range(table: &Table, ranges: &[BenchmarkRange], s: &QualitySettings) -> Vec<Finding> {
    if s.range_tolerance < 0.0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for r in ranges {
        let Some(Column::Numeric(values)) = table.column(&r.column) else {
            continue;
        };
        let (lo, hi) = values
            .iter()
            .filter(|x| !x.is_nan())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        if lo > hi {
            continue;
        }
        let tol = s.range_tolerance * (r.max - r.min);
        let (low_limit, high_limit) = (r.min - tol, r.max + tol);
        if lo < low_limit {
            out.push(Finding {
                check: Check::BenchmarkRange,
                column: Some(r.column.clone()),
                observed: lo,
                limit: low_limit,
                severity: s.range_severity,
                message: format!(
                    "minimum {lo} below benchmark minimum {} − tolerance {tol}",
                    r.min
                ),
            });
        }
        if hi > high_limit {
            out.push(Finding {
                check: Check::BenchmarkRange,
                column: Some(r.column.clone()),
                observed: hi,
                limit: high_limit,
                severity: s.range_severity,
                message: format!(
                    "maximum {hi} above benchmark maximum {} + tolerance {tol}",
                    r.max
                ),
            });
        }
    }
    out
}

/// Duplicate keys: when `key_column` is set and in the table, a finding when some non-missing key
/// appears on more than one row (`observed` = rows whose key appears before on another row).
/// A declared key column that is absent from the table is itself a `fail`ing finding.
pub fn check_duplicates(table: &Table, s: &QualitySettings) -> Vec<Finding> {
    let Some(key) = &s.key_column else {
        return Vec::new();
    };
    let Some(col) = table.column(key) else {
        return vec![Finding {
            check: Check::DuplicateKeys,
            column: Some(key.clone()),
            observed: 0.0,
            limit: 0.0,
            severity: Severity::Fail,
            message: format!("key column {key:?} is not in the current population"),
        }];
    };
    let (dups, example) = match col {
        Column::Numeric(v) => {
            let mut seen = std::collections::HashSet::with_capacity(v.len());
            let mut dups = 0usize;
            let mut example = None;
            for x in v.iter().filter(|x| !x.is_nan()) {
                // -0.0 and 0.0 are the same key.
                let bits = if *x == 0.0 { 0 } else { x.to_bits() };
                if !seen.insert(bits) {
                    dups += 1;
                    example.get_or_insert_with(|| x.to_string());
                }
            }
            (dups, example)
        }
        Column::Categorical(c) => {
            // Keyed by text: two codes of the same text (after a concatenation) are one key.
            let mut seen = std::collections::HashSet::with_capacity(c.levels.len());
            let mut dups = 0usize;
            let mut example = None;
            for &k in c.codes.iter().filter(|&&k| k != MISSING_CODE) {
                let Some(text) = c.levels.get(k as usize) else {
                    continue;
                };
                if !seen.insert(text.as_str()) {
                    dups += 1;
                    example.get_or_insert_with(|| text.clone());
                }
            }
            (dups, example)
        }
    };
    if dups == 0 {
        return Vec::new();
    }
    vec![Finding {
        check: Check::DuplicateKeys,
        column: Some(key.clone()),
        observed: dups as f64,
        limit: 0.0,
        severity: s.duplicate_keys_severity,
        message: format!(
            "{dups} rows repeat a key, e.g. {:?}",
            example.unwrap_or_default()
        ),
    }]
}

/// What the gate needs besides the table.
#[derive(Debug, Clone, Default)]
pub struct GateInput<'a> {
    /// Current rows of the model's last successful runs, newest first.
    pub history_rows: &'a [u64],
    /// The benchmark's range of each numeric column.
    pub ranges: &'a [BenchmarkRange],
    /// The days of the trailing window (oldest first) and each row's day, when the source has a
    /// date column; `None` skips the coverage check.
    pub coverage: Option<(&'a [NaiveDate], &'a [NaiveDate])>,
}

/// Runs every check on `table` and returns the findings, `fail`s first.
pub fn run_checks(table: &Table, input: &GateInput<'_>, s: &QualitySettings) -> Vec<Finding> {
    let mut out = check_row_count(table.rows, s);
    out.extend(check_row_history(table.rows, input.history_rows, s));
    if let Some((days, row_days)) = input.coverage {
        out.extend(check_coverage(days, row_days, s));
    }
    out.extend(check_missing(table, s));
    out.extend(check_range(table, input.ranges, s));
    out.extend(check_duplicates(table, s));
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// True when any finding fails the run.
pub fn fails(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Fail)
}

/// Findings worst first as lines (for the error of a failed run and the notification).
pub fn summary(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
