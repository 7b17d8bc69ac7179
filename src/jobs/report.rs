//! Text and JSON reports for the CLI: the models table (`driftdeck status`) and the drift summary
//! printed after a backfill.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::{Band, RunStatus, Thresholds};
use crate::store::{ModelOverview, ResultsStore, StoreError};

/// A model as the reports need it.
#[derive(Debug, Clone)]
pub struct ModelRef {
    /// Value stream.
    pub value_stream: String,
    /// Model id.
    pub model_id: String,
    /// Thresholds for bands.
    pub thresholds: Thresholds,
}

/// One line of `driftdeck status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusRow {
    /// Value stream.
    pub value_stream: String,
    /// Model id.
    pub model_id: String,
    /// Latest calculation date with a result.
    pub last_date: Option<NaiveDate>,
    /// Status of the newest attempt.
    pub run_status: Option<RunStatus>,
    /// Error of the newest attempt, when it failed.
    pub run_error: Option<String>,
    /// PSI of the latest result.
    pub psi: Option<f64>,
    /// Band of that PSI.
    pub band: Option<Band>,
    /// Largest CSI of the latest result.
    pub csi: Option<f64>,
    /// Characteristic with the largest CSI.
    pub worst_characteristic: Option<String>,
    /// Run id of the newest attempt.
    pub run_id: Option<String>,
    /// Current rows of the newest attempt (recorded when it succeeded).
    pub rows_current: Option<u64>,
    /// Data-quality findings of the newest attempt (empty when every check passed).
    pub findings: Vec<crate::quality::Finding>,
}

/// Builds the models table from the store, in registry order.
///
/// # Errors
/// Store errors.
pub fn status_rows(
    store: &dyn ResultsStore,
    models: &[ModelRef],
) -> Result<Vec<StatusRow>, StoreError> {
    // One store call for the whole estate (not one per model).
    let overview: HashMap<String, ModelOverview> = store
        .overview()?
        .into_iter()
        .map(|r| (r.model_id.clone(), r))
        .collect();
    // One call for the findings of every newest attempt.
    let run_ids: Vec<String> = overview
        .values()
        .filter_map(|l| l.latest_run.as_ref().map(|r| r.run_id.clone()))
        .collect();
    let mut findings: HashMap<(String, u32), Vec<crate::quality::Finding>> = HashMap::new();
    for f in store.findings(&run_ids)? {
        findings
            .entry((f.run_id, f.attempt))
            .or_default()
            .push(f.finding);
    }
    let mut rows = Vec::with_capacity(models.len());
    for m in models {
        let line = overview.get(&m.model_id);
        let result = line.and_then(|l| l.latest.as_ref());
        let run = line.and_then(|l| l.latest_run.as_ref());
        let worst = line
            .and_then(|l| l.worst.as_ref())
            .map(|w| w.characteristic.clone());
        rows.push(StatusRow {
            value_stream: m.value_stream.clone(),
            model_id: m.model_id.clone(),
            last_date: result.map(|r| r.calculation_date),
            run_status: run.map(|r| r.status),
            run_error: run.and_then(|r| r.error.clone()),
            psi: result.map(|r| r.psi_score),
            band: result.map(|r| m.thresholds.band(r.psi_score)),
            csi: result.map(|r| r.csi_score),
            worst_characteristic: worst,
            run_id: run.map(|r| r.run_id.clone()),
            rows_current: run.and_then(|r| r.rows_current),
            findings: run
                .and_then(|r| findings.remove(&(r.run_id.clone(), r.attempt)))
                .unwrap_or_default(),
        });
    }
    Ok(rows)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into())
}

/// Renders [`StatusRow`]s as an aligned text table.
pub fn render_status(rows: &[StatusRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:<16} {:<10} {:<9} {:>8} {:<5} {:>8}  WORST_CHARACTERISTIC",
        "VALUE_STREAM", "MODEL", "LAST_DATE", "RUN", "PSI", "BAND", "MAX_CSI"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<12} {:<16} {:<10} {:<9} {:>8} {:<5} {:>8}  {}",
            r.value_stream,
            r.model_id,
            opt(r.last_date),
            opt(r.run_status),
            num(r.psi),
            opt(r.band),
            num(r.csi),
            r.worst_characteristic.as_deref().unwrap_or("-"),
        );
    }
    out
}

/// Drift over a period for one model (the summary printed after a backfill).
#[derive(Debug, Clone, Serialize)]
pub struct PeriodSummary {
    /// Value stream.
    pub value_stream: String,
    /// Model id.
    pub model_id: String,
    /// Dates with a result.
    pub days: usize,
    /// Mean PSI.
    pub mean_psi: f64,
    /// Largest PSI and its date.
    pub max_psi: Option<(NaiveDate, f64)>,
    /// Days in the warn band.
    pub warn_days: usize,
    /// Days in the alert band.
    pub alert_days: usize,
    /// Mean of the daily largest CSI.
    pub mean_csi: f64,
    /// Largest CSI over the period.
    pub max_csi: f64,
}

/// Summarises results between `from` and `to` per model, in registry order.
///
/// # Errors
/// Store errors.
pub fn period_summary(
    store: &dyn ResultsStore,
    models: &[ModelRef],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<PeriodSummary>, StoreError> {
    let mut by_model: HashMap<String, Vec<_>> = HashMap::new();
    for r in store.history_all(Some(from), Some(to))? {
        by_model.entry(r.model_id.clone()).or_default().push(r);
    }
    Ok(models
        .iter()
        .map(|m| {
            let rs = by_model.remove(&m.model_id).unwrap_or_default();
            let n = rs.len();
            let mean = |f: &dyn Fn(&crate::store::ResultRecord) -> f64| {
                if n == 0 {
                    0.0
                } else {
                    rs.iter().map(f).sum::<f64>() / n as f64
                }
            };
            PeriodSummary {
                value_stream: m.value_stream.clone(),
                model_id: m.model_id.clone(),
                days: n,
                mean_psi: mean(&|r| r.psi_score),
                max_psi: rs
                    .iter()
                    .max_by(|a, b| a.psi_score.total_cmp(&b.psi_score))
                    .map(|r| (r.calculation_date, r.psi_score)),
                warn_days: rs
                    .iter()
                    .filter(|r| m.thresholds.band(r.psi_score) == Band::Warn)
                    .count(),
                alert_days: rs
                    .iter()
                    .filter(|r| m.thresholds.band(r.psi_score) == Band::Alert)
                    .count(),
                mean_csi: mean(&|r| r.csi_score),
                max_csi: rs.iter().map(|r| r.csi_score).fold(0.0, f64::max),
            }
        })
        .collect())
}

/// Renders [`PeriodSummary`]s as an aligned text table.
pub fn render_summary(rows: &[PeriodSummary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:<16} {:>5} {:>9} {:>9} {:<10} {:>5} {:>6} {:>9} {:>9}",
        "VALUE_STREAM",
        "MODEL",
        "DAYS",
        "MEAN_PSI",
        "MAX_PSI",
        "ON",
        "WARN",
        "ALERT",
        "MEAN_CSI",
        "MAX_CSI"
    );
    for r in rows {
        let (on, max) = match r.max_psi {
            Some((d, v)) => (d.to_string(), format!("{v:.4}")),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "{:<12} {:<16} {:>5} {:>9.4} {:>9} {:<10} {:>5} {:>6} {:>9.4} {:>9.4}",
            r.value_stream,
            r.model_id,
            r.days,
            r.mean_psi,
            max,
            on,
            r.warn_days,
            r.alert_days,
            r.mean_csi,
            r.max_csi
        );
    }
    out
}
