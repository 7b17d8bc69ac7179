//! Backfill: runs for a range of calculation dates over one or more models, with bounded
//! concurrency. Idempotent: results are upserted, and `only_missing` skips dates already stored.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDate;

use super::run::{RunOutcome, RunRequest, run_model};
use super::{JobContext, JobError, ModelJob};
use crate::domain::{RunAction, date_range};

/// One planned run of a backfill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRun {
    /// Index into the models given to [`plan`].
    pub model: usize,
    /// Calculation date.
    pub date: NaiveDate,
    /// A result already exists for this (model, date).
    pub exists: bool,
}

/// The dry run of a backfill: every (model, date) with whether a result exists.
///
/// # Errors
/// An invalid range or a store failure.
pub fn plan(
    ctx: &JobContext,
    models: &[&ModelJob],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<PlannedRun>, JobError> {
    let dates = date_range(from, to)?;
    // One store call for every model of the plan (not one per model).
    let ids: Vec<String> = models
        .iter()
        .map(|m| m.model_id.as_str().to_string())
        .collect();
    let existing: HashSet<(String, NaiveDate)> = ctx
        .store
        .date_status(&ids, from, to)?
        .into_iter()
        .filter(|s| s.has_result)
        .map(|s| (s.model_id, s.calculation_date))
        .collect();
    let mut out = Vec::with_capacity(dates.len() * models.len());
    for (i, id) in ids.iter().enumerate() {
        out.extend(dates.iter().map(|&date| PlannedRun {
            model: i,
            date,
            exists: existing.contains(&(id.clone(), date)),
        }));
    }
    Ok(out)
}

/// Outcome of a backfill.
#[derive(Debug, Default)]
pub struct BackfillSummary {
    /// Runs started.
    pub started: usize,
    /// Dates skipped because a result existed (`only_missing`).
    pub skipped: usize,
    /// Successful runs.
    pub outcomes: Vec<RunOutcome>,
    /// Failed runs: model id, date, error.
    pub failures: Vec<(String, NaiveDate, String)>,
}

/// Options of a backfill.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// First date.
    pub from: NaiveDate,
    /// Last date (included).
    pub to: NaiveDate,
    /// Skip dates that already have a result.
    pub only_missing: bool,
    /// Runs at once (≥ 1).
    pub concurrency: usize,
    /// Who started it.
    pub triggered_by: String,
    /// Run id prefix; each run gets `<prefix>-<model>-<date>`.
    pub run_id_prefix: Option<String>,
    /// Job log recorded with every run (the orchestrator's log of the whole backfill).
    pub log_path: Option<String>,
}

/// Runs the plan with at most `concurrency` runs at once (a dedicated rayon pool, which the engine
/// also uses inside each run). `progress(done, total)` is called after each run.
///
/// # Errors
/// Planning errors only; per-run failures are collected in the summary (each was recorded and
/// notified by [`run_model`]).
pub fn backfill(
    ctx: &JobContext,
    models: &[&ModelJob],
    options: &BackfillOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<BackfillSummary, JobError> {
    use rayon::prelude::*;
    let planned = plan(ctx, models, options.from, options.to)?;
    let total_planned = planned.len();
    let todo: Vec<&PlannedRun> = planned
        .iter()
        .filter(|p| !(options.only_missing && p.exists))
        .collect();
    let total = todo.len();
    let done = AtomicUsize::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.concurrency.max(1))
        .build()
        .map_err(|e| JobError::Other(format!("cannot start backfill workers: {e}")))?;
    let results: Vec<Result<RunOutcome, (String, NaiveDate, String)>> = pool.install(|| {
        todo.par_iter()
            .map(|p| {
                let job = models[p.model];
                let request = RunRequest {
                    date: p.date,
                    action: RunAction::Backfill,
                    triggered_by: options.triggered_by.clone(),
                    run_id: options
                        .run_id_prefix
                        .as_ref()
                        .map(|prefix| format!("{prefix}-{}-{}", job.model_id, p.date)),
                    log_path: options.log_path.clone(),
                };
                let r = run_model(ctx, job, &request)
                    .map_err(|e| (job.model_id.to_string(), p.date, e.to_string()));
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(n, total);
                r
            })
            .collect()
    });
    let mut summary = BackfillSummary {
        started: total,
        skipped: total_planned - total,
        ..Default::default()
    };
    for r in results {
        match r {
            Ok(o) => summary.outcomes.push(o),
            Err(f) => summary.failures.push(f),
        }
    }
    Ok(summary)
}
