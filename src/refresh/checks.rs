//! Validation of a new benchmark: pure functions over records and column statistics, with
//! findings as data (check, column, observed, limit, severity).
//!
//! Row rules (a failing row is quarantined with its reason, never silently dropped): the field
//! count equals the header's, required fields are valid UTF-8, numeric columns hold finite numbers
//! or a missing value (empty, `NaN`), values lie in the configured `[min, max]`, and a key is not
//! repeated. Population checks: quarantined share, minimum rows, missing share per column, row
//! count and column minimums/maximums against the previous benchmark, and the shift between the
//! old and the new benchmark (PSI of the score, largest CSI) against `VALIDATION_THRESHOLD`.
//! The missing-value convention is the readers' (`sources`): empty field or text parsing to NaN.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::config::Severity;
use crate::engine::Kind;

/// One result of a check that did not pass cleanly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Check name: `quarantined_share`, `min_rows`, `missing_share`, `row_ratio`, `min_vs_previous`,
    /// `max_vs_previous`, `psi_shift`, `csi_shift`, `columns`, `profile`.
    pub check: String,
    /// Column concerned, if any.
    pub column: Option<String>,
    /// What was observed (formatted).
    pub observed: String,
    /// The limit it was compared with (formatted).
    pub limit: String,
    /// `warn` or `fail`.
    pub severity: Severity,
}

impl Finding {
    fn new(
        check: &str,
        column: Option<&str>,
        observed: impl Into<String>,
        limit: impl Into<String>,
        severity: Severity,
    ) -> Self {
        Self {
            check: check.to_string(),
            column: column.map(str::to_string),
            observed: observed.into(),
            limit: limit.into(),
            severity,
        }
    }

    /// One line: `fail psi_shift (score): 0.83 ≥ 0.25`.
    pub fn describe(&self) -> String {
        let sev = match self.severity {
            Severity::Warn => "warn",
            Severity::Fail => "fail",
        };
        let col = self
            .column
            .as_ref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        format!(
            "{sev} {}{col}: {}, limit {}",
            self.check, self.observed, self.limit
        )
    }
}

/// A required column resolved against an extract's header.
#[derive(Debug, Clone, PartialEq)]
pub struct RowColumn {
    /// Name.
    pub name: String,
    /// Index in the header.
    pub index: usize,
    /// Numeric, categorical, or None (present, any content).
    pub kind: Option<Kind>,
    /// Inclusive allowed range (numeric only).
    pub range: Option<(f64, f64)>,
}

/// The row rules of one extract.
#[derive(Debug, Clone, PartialEq)]
pub struct RowRules {
    /// Fields per record (the header's).
    pub fields: usize,
    /// Required columns.
    pub columns: Vec<RowColumn>,
    /// Index of the key column.
    pub key: Option<usize>,
}

/// Resolves required columns (name, kind), the key and ranges against `header`.
///
/// # Errors
/// A structural message naming every missing column and, when the header is a single field
/// holding `;`, a tab or `|`, the likely wrong delimiter.
pub fn resolve_rules(
    header: &[String],
    required: &[(String, Option<Kind>)],
    key: Option<&str>,
    ranges: &[(String, f64, f64)],
) -> Result<RowRules, String> {
    let pos: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let mut missing: Vec<&str> = required
        .iter()
        .map(|(n, _)| n.as_str())
        .chain(key)
        .chain(ranges.iter().map(|(n, _, _)| n.as_str()))
        .filter(|n| !pos.contains_key(n))
        .collect();
    missing.dedup();
    if !missing.is_empty() {
        let mut msg = format!(
            "missing column(s) {}; the header has {} field(s)",
            missing.join(", "),
            header.len()
        );
        if header.len() == 1
            && let Some(d) = [';', '\t', '|'].iter().find(|d| header[0].contains(**d))
        {
            msg.push_str(&format!(
                " — wrong delimiter? the header contains {:?}, driftdeck reads comma-separated CSV",
                d
            ));
        }
        return Err(msg);
    }
    let mut columns: Vec<RowColumn> = Vec::new();
    for (name, kind) in required {
        if columns.iter().any(|c| &c.name == name) {
            continue;
        }
        columns.push(RowColumn {
            name: name.clone(),
            index: pos[name.as_str()],
            kind: *kind,
            range: None,
        });
    }
    for (name, lo, hi) in ranges {
        match columns.iter_mut().find(|c| &c.name == name) {
            Some(c) => {
                c.range = Some((*lo, *hi));
                c.kind = Some(Kind::Numeric);
            }
            None => columns.push(RowColumn {
                name: name.clone(),
                index: pos[name.as_str()],
                kind: Some(Kind::Numeric),
                range: Some((*lo, *hi)),
            }),
        }
    }
    Ok(RowRules {
        fields: header.len(),
        columns,
        key: key.map(|k| pos[k]),
    })
}

/// A parsed numeric field: `None` = missing (empty or NaN text).
///
/// # Errors
/// The reason text for a non-number or an infinite value.
pub fn parse_numeric(text: &str) -> Result<Option<f64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_nan() => Ok(None),
        Ok(v) if v.is_infinite() => Err(format!("{t:?} is not a finite number")),
        Ok(v) => Ok(Some(v)),
        Err(_) => Err(format!("{:?} is not a number", excerpt(t))),
    }
}

/// At most 40 characters of a value, for messages (control characters escaped).
pub fn excerpt(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(40)
        .flat_map(char::escape_default)
        .collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// Running statistics of the kept rows of one required column.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ColumnStats {
    /// Column name.
    pub name: String,
    /// Missing values.
    pub missing: u64,
    /// Smallest non-missing numeric value (numeric columns).
    pub min: Option<f64>,
    /// Largest non-missing numeric value (numeric columns).
    pub max: Option<f64>,
}

impl ColumnStats {
    fn add(&mut self, v: Option<f64>) {
        match v {
            None => self.missing += 1,
            Some(x) => {
                self.min = Some(self.min.map_or(x, |m| m.min(x)));
                self.max = Some(self.max.map_or(x, |m| m.max(x)));
            }
        }
    }
}

/// Checks one record against the rules. Returns the reason it fails, or `None`, and updates
/// `stats` (parallel to `rules.columns`) only for a record that passes.
pub fn check_record(
    record: &csv::ByteRecord,
    rules: &RowRules,
    stats: &mut [ColumnStats],
    values: &mut Vec<Option<f64>>,
) -> Option<String> {
    if record.len() != rules.fields {
        return Some(format!(
            "{} field(s) instead of {} (truncated or shifted row)",
            record.len(),
            rules.fields
        ));
    }
    values.clear();
    for col in &rules.columns {
        let raw = &record[col.index];
        let Ok(text) = std::str::from_utf8(raw) else {
            return Some(format!("column {}: invalid UTF-8", col.name));
        };
        let value = match col.kind {
            Some(Kind::Numeric) => match parse_numeric(text) {
                Ok(v) => v,
                Err(e) => return Some(format!("column {}: {e}", col.name)),
            },
            Some(Kind::Categorical) | None => {
                if text.is_empty() {
                    None
                } else {
                    Some(0.0)
                }
            }
        };
        if let (Some(v), Some((lo, hi))) = (value, col.range)
            && !(lo..=hi).contains(&v)
        {
            return Some(format!(
                "column {}: {v} outside the allowed range [{lo}, {hi}]",
                col.name
            ));
        }
        values.push(value);
    }
    for ((s, col), v) in stats.iter_mut().zip(&rules.columns).zip(values.iter()) {
        if col.kind == Some(Kind::Numeric) {
            s.add(*v);
        } else if v.is_none() {
            s.missing += 1;
        }
    }
    None
}

/// The limits of the population checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest quarantined share of the rows read.
    pub max_quarantined_share: f64,
    /// Minimum kept rows.
    pub min_rows: u64,
    /// Largest missing share per column (default for every column).
    pub max_missing_share: f64,
    /// Per-column overrides of `max_missing_share`.
    pub missing: HashMap<String, f64>,
    /// Kept rows / previous rows must lie in [min, max].
    pub row_ratio: (f64, f64),
    /// Tolerance on min/max against the previous benchmark, as a share of its range.
    pub range_tolerance: f64,
    /// Severity of a minimum/maximum beyond the previous range plus tolerance.
    pub range_severity: Severity,
    /// PSI (score) old vs new at or above this fails; the largest CSI gets `csi_severity`.
    pub threshold: f64,
    /// Severity of a largest CSI at or above `threshold`.
    pub csi_severity: Severity,
}

/// What is known of the previous benchmark.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Previous {
    /// Its rows.
    pub rows: u64,
    /// Its numeric columns' (min, max), by name.
    pub ranges: HashMap<String, (f64, f64)>,
}

/// Population checks on the staging pass's counts and statistics.
pub fn population_findings(
    rows_read: u64,
    quarantined: u64,
    stats: &[ColumnStats],
    previous: Option<&Previous>,
    limits: &Limits,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let kept = rows_read.saturating_sub(quarantined);
    if rows_read > 0 && quarantined > 0 {
        let share = quarantined as f64 / rows_read as f64;
        let sev = if share > limits.max_quarantined_share {
            Severity::Fail
        } else {
            Severity::Warn
        };
        out.push(Finding::new(
            "quarantined_share",
            None,
            format!("{quarantined} of {rows_read} rows ({:.2}%)", share * 100.0),
            format!("{:.2}%", limits.max_quarantined_share * 100.0),
            sev,
        ));
    }
    if kept < limits.min_rows {
        out.push(Finding::new(
            "min_rows",
            None,
            format!("{kept} rows"),
            format!("at least {}", limits.min_rows),
            Severity::Fail,
        ));
    }
    if kept > 0 {
        for s in stats {
            let limit = limits
                .missing
                .get(&s.name)
                .copied()
                .unwrap_or(limits.max_missing_share);
            let share = s.missing as f64 / kept as f64;
            if share > limit || s.missing == kept {
                out.push(Finding::new(
                    "missing_share",
                    Some(&s.name),
                    format!("{:.1}% missing", share * 100.0),
                    format!("{:.1}%", limit * 100.0),
                    Severity::Fail,
                ));
            }
        }
    }
    if let Some(prev) = previous
        && prev.rows > 0
    {
        let ratio = kept as f64 / prev.rows as f64;
        let (lo, hi) = limits.row_ratio;
        if !(lo..=hi).contains(&ratio) {
            out.push(Finding::new(
                "row_ratio",
                None,
                format!("{kept} rows vs {} before (×{ratio:.2})", prev.rows),
                format!("×{lo}..×{hi}"),
                Severity::Fail,
            ));
        }
        for s in stats {
            let (Some(&(pmin, pmax)), Some(min), Some(max)) =
                (prev.ranges.get(&s.name), s.min, s.max)
            else {
                continue;
            };
            let slack = (pmax - pmin).abs() * limits.range_tolerance;
            if min < pmin - slack {
                out.push(Finding::new(
                    "min_vs_previous",
                    Some(&s.name),
                    format!("minimum {min}"),
                    format!("≥ {} (previous minimum {pmin})", round6(pmin - slack)),
                    limits.range_severity,
                ));
            }
            if max > pmax + slack {
                out.push(Finding::new(
                    "max_vs_previous",
                    Some(&s.name),
                    format!("maximum {max}"),
                    format!("≤ {} (previous maximum {pmax})", round6(pmax + slack)),
                    limits.range_severity,
                ));
            }
        }
    }
    out
}

/// `x` rounded to 6 decimals, for messages.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Shift between the old and the new benchmark: PSI of the score (fail at or above the
/// threshold) and the largest CSI (`csi_severity` at or above it).
pub fn shift_findings(
    psi: Option<f64>,
    max_csi: Option<(&str, f64)>,
    score: &str,
    limits: &Limits,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(p) = psi
        && p >= limits.threshold
    {
        out.push(Finding::new(
            "psi_shift",
            Some(score),
            format!("PSI {p:.4} old vs new"),
            format!("< {}", limits.threshold),
            Severity::Fail,
        ));
    }
    if let Some((name, c)) = max_csi
        && c >= limits.threshold
    {
        out.push(Finding::new(
            "csi_shift",
            Some(name),
            format!("largest CSI {c:.4} old vs new"),
            format!("< {}", limits.threshold),
            limits.csi_severity,
        ));
    }
    out
}

/// A failing finding for a problem outside the numeric checks (structure, engine).
pub fn structural(check: &str, message: impl Into<String>) -> Finding {
    Finding::new(check, None, message, "-", Severity::Fail)
}

/// True when any finding fails the refresh.
pub fn any_fail(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fields: &[&str]) -> csv::ByteRecord {
        csv::ByteRecord::from(fields.to_vec())
    }

    fn rules() -> RowRules {
        let header: Vec<String> = ["id", "score", "carrier"].map(String::from).to_vec();
        resolve_rules(
            &header,
            &[
                ("score".into(), Some(Kind::Numeric)),
                ("carrier".into(), Some(Kind::Categorical)),
            ],
            Some("id"),
            &[("score".into(), 0.0, 1.0)],
        )
        .expect("rules")
    }

    #[test]
    fn row_rules_name_the_fault() {
        let r = rules();
        let mut stats = vec![ColumnStats::default(); r.columns.len()];
        let mut v = Vec::new();
        assert_eq!(
            check_record(&rec(&["1", "0.5", "AA"]), &r, &mut stats, &mut v),
            None
        );
        let reason = check_record(&rec(&["1", "oops", "AA"]), &r, &mut stats, &mut v);
        assert!(reason.is_some_and(|r| r.contains("score") && r.contains("oops")));
        let reason = check_record(&rec(&["1", "1.5", "AA"]), &r, &mut stats, &mut v);
        assert!(reason.is_some_and(|r| r.contains("outside")));
        let reason = check_record(&rec(&["1", "inf", "AA"]), &r, &mut stats, &mut v);
        assert!(reason.is_some_and(|r| r.contains("finite")));
        let reason = check_record(&rec(&["1", "0.5"]), &r, &mut stats, &mut v);
        assert!(reason.is_some_and(|r| r.contains("2 field(s) instead of 3")));
        assert_eq!(
            check_record(&rec(&["2", "", ""]), &r, &mut stats, &mut v),
            None
        );
        assert_eq!(stats[0].missing, 1);
        assert_eq!(stats[1].missing, 1);
        assert_eq!(stats[0].min, Some(0.5));
    }

    #[test]
    fn wrong_delimiter_is_named() {
        let header = vec!["id;score;carrier".to_string()];
        let err = resolve_rules(&header, &[("score".into(), Some(Kind::Numeric))], None, &[])
            .expect_err("missing");
        assert!(err.contains("wrong delimiter"), "{err}");
        assert!(err.contains("score"), "{err}");
    }

    fn limits() -> Limits {
        Limits {
            max_quarantined_share: 0.01,
            min_rows: 10,
            max_missing_share: 0.5,
            missing: HashMap::new(),
            row_ratio: (0.5, 3.0),
            range_tolerance: 0.5,
            range_severity: Severity::Fail,
            threshold: 0.25,
            csi_severity: Severity::Warn,
        }
    }

    #[test]
    fn population_checks_fail_on_each_limit() {
        let stats = vec![ColumnStats {
            name: "score".into(),
            missing: 0,
            min: Some(0.0),
            max: Some(1.0),
        }];
        let prev = Previous {
            rows: 100,
            ranges: [("score".to_string(), (0.0, 1.0))].into_iter().collect(),
        };
        assert!(population_findings(100, 0, &stats, Some(&prev), &limits()).is_empty());
        // 10x larger file
        let f = population_findings(1000, 0, &stats, Some(&prev), &limits());
        assert!(
            f.iter()
                .any(|f| f.check == "row_ratio" && f.severity == Severity::Fail)
        );
        // too many quarantined rows
        let f = population_findings(100, 5, &stats, Some(&prev), &limits());
        assert!(any_fail(&f) && f[0].check == "quarantined_share");
        // all-missing column
        let all_missing = vec![ColumnStats {
            name: "score".into(),
            missing: 100,
            min: None,
            max: None,
        }];
        let f = population_findings(100, 0, &all_missing, None, &limits());
        assert!(f.iter().any(|f| f.check == "missing_share"));
        // min far below the previous range
        let wide = vec![ColumnStats {
            name: "score".into(),
            missing: 0,
            min: Some(-5.0),
            max: Some(1.0),
        }];
        let f = population_findings(100, 0, &wide, Some(&prev), &limits());
        assert!(f.iter().any(|f| f.check == "min_vs_previous"));
        let f = shift_findings(Some(0.3), Some(("temp", 0.3)), "score", &limits());
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::Fail);
        assert_eq!(f[1].severity, Severity::Warn);
    }
}
