//! One run: one model, one calculation date, with retries. Every attempt is recorded in
//! `PCI_CSI_RUNS` and logged as one structured line; the result is written by upsert only when the
//! whole calculation succeeded, so a failure never leaves half a result.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};

use super::metrics::{Tags, names};
use super::profile::ensure_profile;
use super::{JobContext, JobError, ModelJob, Notification};
use crate::domain::{Band, RunAction, RunStatus};
use crate::engine::column::{Column, Table};
use crate::engine::{self, BenchmarkProfile, ColumnResult, Kind};
use crate::quality::{self, BenchmarkRange, Finding, GateInput};
use crate::sources::{ColumnRequest, KindHint};
use crate::store::{CharacteristicRecord, ResultRecord, RunRecord};

/// What to run and on whose behalf.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Calculation date.
    pub date: NaiveDate,
    /// `run` or `backfill`.
    pub action: RunAction,
    /// `schedule` or a user name.
    pub triggered_by: String,
    /// Run id to record; generated as `<model>-<date>-<unix ms>` when `None`.
    pub run_id: Option<String>,
    /// Job log path to record, when an orchestrator keeps one.
    pub log_path: Option<String>,
}

/// A successful run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The stored `PCI_CSI_RESULTS` row.
    pub result: ResultRecord,
    /// Band of the PSI against the model's thresholds.
    pub band: Band,
    /// Characteristic with the largest CSI, and that CSI.
    pub worst: Option<(String, f64)>,
    /// Attempts used.
    pub attempts: u32,
    /// Run id recorded.
    pub run_id: String,
}

/// Computes one (model, date) once: profile, current population, data-quality gate, engine,
/// records. No store writes happen here; the gate's findings are left in `findings` (also when
/// the gate fails the run).
fn calculate(
    ctx: &JobContext,
    job: &ModelJob,
    date: NaiveDate,
    run_id: &str,
    findings: &mut Vec<Finding>,
) -> Result<(ResultRecord, Vec<CharacteristicRecord>, Meta), JobError> {
    let profile = ensure_profile(ctx, job)?;
    let mut requests = ColumnRequest::for_specs(&job.specs);
    // The gate also reads the window's date column (coverage) and the key column (duplicates);
    // the engine looks its columns up by name, so the extra columns do not change the PSI.
    let window = job.current.window(date);
    let extra = window
        .as_ref()
        .map(|(c, _)| c.clone())
        .into_iter()
        .chain(job.quality.key_column.clone());
    for name in extra {
        if !requests.iter().any(|r| r.name == name) {
            requests.push(ColumnRequest::new(name, KindHint::Categorical));
        }
    }
    let population = job.current.load_population(date, &requests)?;
    let quarantined = quarantine(job, date, run_id, &population.quarantined)?;
    let current = population.table;
    *findings = gate(ctx, job, date, &profile.profile, &current, window.as_ref())?;
    if let Some((file, count, reasons)) = quarantined {
        let found = quality::check_quarantine(
            count,
            current.rows + count,
            &file.display().to_string(),
            &reasons,
            &job.quality,
        );
        for f in found.into_iter().rev() {
            findings.insert(0, f);
        }
    }
    if quality::fails(findings) {
        return Err(JobError::Quality {
            model: job.model_id.to_string(),
            date,
            summary: quality::summary(findings),
        });
    }
    let evaluation =
        engine::evaluate(&profile.profile, &current).map_err(|source| JobError::Engine {
            model: job.model_id.to_string(),
            date,
            source,
        })?;
    let psi = evaluation
        .psi()
        .ok_or_else(|| JobError::Other(format!("model {} has no score column", job.model_id)))?;
    let worst = evaluation.max_csi().map(|(n, v)| (n.to_string(), v));
    let csi = worst.as_ref().map(|(_, v)| *v).unwrap_or(0.0);
    let result = ResultRecord {
        model_id: job.model_id.to_string(),
        value_stream: job.value_stream.to_string(),
        calculation_date: date,
        psi_score: psi,
        csi_score: csi,
        execution_time: Utc::now(),
    };
    let characteristics = evaluation
        .columns
        .iter()
        .map(|c: &ColumnResult| CharacteristicRecord {
            model_id: job.model_id.to_string(),
            calculation_date: date,
            characteristic: c.name.clone(),
            role: c.role,
            kind: match c.kind {
                Kind::Numeric => "numeric".to_string(),
                Kind::Categorical => "categorical".to_string(),
            },
            index_value: c.index,
            bins: c.bins.clone(),
        })
        .collect();
    let meta = Meta {
        benchmark_version: profile.version.clone(),
        rows_benchmark: evaluation.rows_benchmark,
        rows_current: evaluation.rows_current,
        worst,
    };
    Ok((result, characteristics, meta))
}

/// Reasons quoted in the quarantine finding.
const QUARANTINE_REASONS: usize = 3;

/// Writes the run's quarantine file (`<workspace>/quarantine/<model>/<date>/<run_id>.csv`, see
/// [`crate::quarantine`]) when rows were set aside; returns the file, the row count and the first
/// reasons (`<file> line N: …`).
fn quarantine(
    job: &ModelJob,
    date: NaiveDate,
    run_id: &str,
    files: &[crate::sources::QuarantinedRows],
) -> Result<Option<(std::path::PathBuf, usize, Vec<String>)>, JobError> {
    let Some(first) = files.first() else {
        return Ok(None);
    };
    let target =
        crate::quarantine::daily_path(&job.quarantine_root, job.model_id.as_str(), date, run_id);
    let write_err = |e: crate::quarantine::QuarantineError| JobError::Other(e.to_string());
    let mut w =
        crate::quarantine::QuarantineWriter::create(&target, &first.header).map_err(write_err)?;
    let mut reasons = Vec::new();
    for f in files {
        let name = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for r in &f.rows {
            // Rows of several files share one header: a reason names its file.
            let reason = format!("{} line {}: {}", name, r.line, r.reason);
            w.push_raw(&r.raw, r.line as u64, &reason)
                .map_err(write_err)?;
            if reasons.len() < QUARANTINE_REASONS {
                reasons.push(crate::sanitize::excerpt(&reason, 200));
            }
        }
    }
    let count = w.rows() as usize;
    let file = w.finish().map_err(write_err)?;
    Ok(Some((file, count, reasons)))
}

/// The data-quality checks of one run (pure checks of [`crate::quality`] fed with the model's
/// history from the store and the benchmark's ranges from the profile).
fn gate(
    ctx: &JobContext,
    job: &ModelJob,
    date: NaiveDate,
    profile: &BenchmarkProfile,
    current: &Table,
    window: Option<&(String, Vec<NaiveDate>)>,
) -> Result<Vec<Finding>, JobError> {
    let s = &job.quality;
    let history: Vec<u64> = if s.history_runs == 0 {
        Vec::new()
    } else {
        ctx.store
            // The newest attempts only (a few more than needed, for retries and failures):
            // this query is the gate's main cost per run.
            .runs(
                Some(job.model_id.as_str()),
                s.history_runs.saturating_add(3),
            )?
            .into_iter()
            .filter(|r| r.status == RunStatus::Succeeded && r.calculation_date != date)
            .filter_map(|r| r.rows_current)
            .take(s.history_runs)
            .collect()
    };
    let ranges: Vec<BenchmarkRange> = profile
        .columns
        .iter()
        .filter_map(|c| {
            c.range.map(|[min, max]| BenchmarkRange {
                column: c.name.clone(),
                min,
                max,
            })
        })
        .collect();
    let row_days = window.map(|(column, _)| row_days(current, column));
    let coverage = match (window, &row_days) {
        (Some((_, days)), Some(rows)) => Some((days.as_slice(), rows.as_slice())),
        _ => None,
    };
    let input = GateInput {
        history_rows: &history,
        ranges: &ranges,
        coverage,
    };
    Ok(quality::run_checks(current, &input, s))
}

/// The date of every row of `column` (categorical ISO dates; rows whose text is not a date are
/// left out: the source's date selection already refused such files).
fn row_days(current: &Table, column: &str) -> Vec<NaiveDate> {
    match current.column(column) {
        Some(Column::Categorical(c)) => {
            let levels: Vec<Option<NaiveDate>> = c
                .levels
                .iter()
                .map(|l| crate::domain::parse_date(l).ok())
                .collect();
            c.codes
                .iter()
                .filter_map(|&k| levels.get(k as usize).copied().flatten())
                .collect()
        }
        _ => Vec::new(),
    }
}

struct Meta {
    benchmark_version: String,
    rows_benchmark: u64,
    rows_current: u64,
    worst: Option<(String, f64)>,
}

/// How long recording one attempt may keep retrying a busy store (each try already waits the
/// store's own busy timeout). A lock held longer fails the run with the store's error.
pub const RECORD_RETRY_BUDGET: Duration = Duration::from_secs(60);

/// Records an attempt, retrying [`StoreError::Busy`](crate::store::StoreError::Busy) with
/// exponential backoff (0.25 s doubling up to 4 s) within [`RECORD_RETRY_BUDGET`], so a store
/// locked for a while (a long write, a backup) delays the run instead of losing it (issue 11 #12).
///
/// # Errors
/// The store's error when it is not `Busy`, or still `Busy` after the budget.
pub fn record_attempt(ctx: &JobContext, record: &RunRecord) -> Result<(), JobError> {
    let what = format!("recording attempt {} of {}", record.attempt, record.run_id);
    with_busy_retry(&what, || {
        // Non-final attempts carry a lease the heartbeat renews (issue 11 #1).
        if record.status.is_final() {
            ctx.store.record_attempt(record)
        } else {
            ctx.store
                .record_attempt_leased(record, super::lease::lease_until())
        }
    })?;
    super::lease::track(&ctx.store, record);
    Ok(())
}

/// Runs a store write, retrying [`StoreError::Busy`](crate::store::StoreError::Busy) with
/// exponential backoff (0.25 s doubling up to 4 s) within [`RECORD_RETRY_BUDGET`]; each retry is
/// logged (`store_busy`, `what`).
///
/// # Errors
/// The store's error when it is not `Busy`, or still `Busy` after the budget.
pub fn with_busy_retry<T>(
    what: &str,
    mut write: impl FnMut() -> Result<T, crate::store::StoreError>,
) -> Result<T, crate::store::StoreError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        match write() {
            Err(crate::store::StoreError::Busy(message))
                if start.elapsed() + pause < RECORD_RETRY_BUDGET =>
            {
                tracing::warn!(
                    event = "store_busy",
                    what,
                    retry_in_ms = pause.as_millis() as u64,
                    "results store busy; retrying: {message}"
                );
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(4));
            }
            other => return other,
        }
    }
}

/// A run id no other process or host can produce: `<model>-<date>-<UUIDv7>` (48 bits of
/// milliseconds and 74 random bits; the millisecond timestamp alone collided between concurrent
/// processes, issue 11 #4).
pub fn new_run_id(model_id: &str, date: chrono::NaiveDate) -> String {
    format!("{model_id}-{date}-{}", uuid::Uuid::now_v7())
}

/// Longest error text stored with an attempt, logged or sent in a notification (characters).
pub const MAX_ERROR_CHARS: usize = 2_000;

/// Most findings listed in a failure notification (the rest are counted).
pub const MAX_NOTIFIED_FINDINGS: usize = 20;

/// The body of a failure notification: the last error, then the data-quality findings of the
/// failed attempt (severity, check, column, message; at most [`MAX_NOTIFIED_FINDINGS`], each
/// bounded and with controls escaped), so the on-call engineer sees every reason in the outbox,
/// Slack or e-mail without opening the console.
pub fn failure_body(error: &JobError, findings: &[crate::quality::Finding]) -> String {
    let mut body = crate::sanitize::excerpt(&error.to_string(), MAX_ERROR_CHARS);
    if !findings.is_empty() {
        body.push_str(&format!(
            "\ndata-quality findings of the failed attempt ({}):",
            findings.len()
        ));
        for f in findings.iter().take(MAX_NOTIFIED_FINDINGS) {
            body.push_str("\n- ");
            body.push_str(&crate::sanitize::excerpt(&f.to_string(), 300));
        }
        if findings.len() > MAX_NOTIFIED_FINDINGS {
            body.push_str(&format!(
                "\n- … and {} more",
                findings.len() - MAX_NOTIFIED_FINDINGS
            ));
        }
    }
    body
}

/// Runs one model on one date with the context's retry policy.
///
/// Each attempt is recorded (`running`, then `succeeded`, `retrying` or `failed`) and logged.
/// After the final failed attempt the model's recipients are notified.
///
/// # Errors
/// The last attempt's error. A failure to record an attempt is also an error (the run cannot be
/// audited); a busy store is retried first ([`record_attempt`]).
pub fn run_model(
    ctx: &JobContext,
    job: &ModelJob,
    request: &RunRequest,
) -> Result<RunOutcome, JobError> {
    let run_id = request
        .run_id
        .clone()
        .unwrap_or_else(|| new_run_id(job.model_id.as_str(), request.date));
    let max_attempts = ctx.retry.attempts.max(1);
    let (model, value_stream) = (job.model_id.to_string(), job.value_stream.to_string());
    let tags = Tags {
        model: &model,
        value_stream: &value_stream,
        action: request.action.as_str(),
    };
    ctx.metrics.count(names::RUN_STARTED, 1, &tags);
    let mut last_error = None;
    // Data-quality findings of the last failed attempt, for the failure notification.
    let mut last_findings: Vec<crate::quality::Finding> = Vec::new();
    for attempt in 1..=max_attempts {
        let started = Utc::now();
        let clock = Instant::now();
        let mut record = RunRecord {
            run_id: run_id.clone(),
            attempt,
            max_attempts,
            model_id: job.model_id.to_string(),
            value_stream: job.value_stream.to_string(),
            calculation_date: request.date,
            action: request.action,
            status: RunStatus::Running,
            error: None,
            started_at: started,
            finished_at: None,
            benchmark_version: None,
            rows_benchmark: None,
            rows_current: None,
            triggered_by: request.triggered_by.clone(),
            log_path: request.log_path.clone(),
        };
        record_attempt(ctx, &record)?;
        let _heartbeat = super::lease::Heartbeat::start(ctx.store.clone(), run_id.clone(), attempt);
        let mut findings = Vec::new();
        let outcome = calculate(ctx, job, request.date, &run_id, &mut findings).and_then(
            |(result, chars, meta)| {
                ctx.store
                    .save_result_of_run(&result, &chars, Some(&run_id))?;
                Ok((result, meta))
            },
        );
        if !findings.is_empty() {
            ctx.store.record_findings(&run_id, attempt, &findings)?;
        }
        record.finished_at = Some(Utc::now());
        let elapsed = clock.elapsed();
        let millis = elapsed.as_secs_f64() * 1000.0;
        ctx.metrics.count(names::ATTEMPT, 1, &tags);
        ctx.metrics.timing(names::ATTEMPT_DURATION, elapsed, &tags);
        match outcome {
            Ok((result, meta)) => {
                record.status = RunStatus::Succeeded;
                record.benchmark_version = Some(meta.benchmark_version);
                record.rows_benchmark = Some(meta.rows_benchmark);
                record.rows_current = Some(meta.rows_current);
                record_attempt(ctx, &record)?;
                let band = job.thresholds.band(result.psi_score);
                ctx.metrics.count(names::RUN_SUCCEEDED, 1, &tags);
                ctx.metrics.gauge(names::PSI, result.psi_score, &tags);
                ctx.metrics.gauge(names::CSI, result.csi_score, &tags);
                tracing::info!(
                    event = "attempt",
                    run_id = %run_id,
                    model = %job.model_id,
                    value_stream = %job.value_stream,
                    date = %request.date,
                    attempt,
                    max_attempts,
                    status = "succeeded",
                    psi = result.psi_score,
                    csi = result.csi_score,
                    band = band.as_str(),
                    rows_current = meta.rows_current,
                    duration_ms = millis,
                    "run succeeded"
                );
                return Ok(RunOutcome {
                    result,
                    band,
                    worst: meta.worst,
                    attempts: attempt,
                    run_id,
                });
            }
            Err(error) => {
                let last = attempt == max_attempts;
                record.status = if last {
                    RunStatus::Failed
                } else {
                    RunStatus::Retrying
                };
                // Stored, logged and mailed: controls escaped, bounded (issue 11 #10, #13).
                let message = crate::sanitize::excerpt(&error.to_string(), MAX_ERROR_CHARS);
                record.error = Some(message.clone());
                record_attempt(ctx, &record)?;
                tracing::warn!(
                    event = "attempt",
                    run_id = %run_id,
                    model = %job.model_id,
                    value_stream = %job.value_stream,
                    date = %request.date,
                    attempt,
                    max_attempts,
                    status = record.status.as_str(),
                    error = %message,
                    duration_ms = millis,
                    "attempt failed"
                );
                last_error = Some(error);
                last_findings = findings;
                if !last && !ctx.retry.delay.is_zero() {
                    std::thread::sleep(ctx.retry.delay);
                }
            }
        }
    }
    let error = last_error.unwrap_or_else(|| JobError::Other("no attempt ran".into()));
    ctx.metrics.count(names::RUN_FAILED, 1, &tags);
    let notification = Notification {
        at: Utc::now(),
        subject: format!(
            "driftdeck: {} {} failed after {} attempts",
            job.model_id, request.date, max_attempts
        ),
        body: failure_body(&error, &last_findings),
        email: job.email_recipients.clone(),
        slack: job.slack.clone(),
    };
    if let Err(e) = ctx.notifier.notify(&notification) {
        tracing::error!(event = "notify", model = %job.model_id, error = %e, "notification failed");
    }
    Err(error)
}
