//! Backfill: runs for a range of calculation dates over one or more models, with bounded
//! concurrency. Idempotent: results are upserted, and `only_missing` runs only the dates without
//! a result or whose newest attempt failed.
//!
//! [`plan_dates`] holds the planning rules (which dates exist, only-missing/failed vs all, range
//! bounds) for every caller: the CLI's `backfill`, the console's dry run and the jobs the console
//! asks the orchestrator for.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDate;

use super::run::{RunOutcome, RunRequest, run_model};
use super::{JobContext, JobError, ModelJob};
use crate::domain::{RunAction, RunStatus, date_range};

/// Longest backfill range accepted, in days (ten years).
pub const MAX_BACKFILL_DAYS: i64 = 3_660;

/// Which dates of one model's backfill range run, and which already have a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatePlan {
    /// Dates that will run, ascending.
    pub dates: Vec<NaiveDate>,
    /// Dates of the range that already have a stored result, ascending.
    pub existing: Vec<NaiveDate>,
    /// Dates that have a result but run again because their newest attempt failed
    /// (`only_missing` only), ascending.
    pub failed: Vec<NaiveDate>,
}

/// Plans one model's backfill of `from..=to`: every date, or with `only_missing` the dates
/// without a stored result plus those whose newest attempt failed. `stored` are the dates with a
/// result; `newest_status` the status of each date's newest attempt (dates absent: unknown).
///
/// # Errors
/// [`JobError::Other`] when `from > to` or the range is longer than [`MAX_BACKFILL_DAYS`].
pub fn plan_dates(
    from: NaiveDate,
    to: NaiveDate,
    only_missing: bool,
    stored: &BTreeSet<NaiveDate>,
    newest_status: &HashMap<NaiveDate, RunStatus>,
) -> Result<DatePlan, JobError> {
    plan_dates_within(
        from,
        to,
        only_missing,
        stored,
        newest_status,
        MAX_BACKFILL_DAYS,
    )
}

/// Longest range of a deliberate large backfill (`backfill --large`): the supported years
/// 1900..=2200.
pub const MAX_LARGE_BACKFILL_DAYS: i64 = 110_000;

/// [`plan_dates`] with another limit on the range (`--large`: [`MAX_LARGE_BACKFILL_DAYS`]).
///
/// # Errors
/// As [`plan_dates`], with `max_days` as the limit.
pub fn plan_dates_within(
    from: NaiveDate,
    to: NaiveDate,
    only_missing: bool,
    stored: &BTreeSet<NaiveDate>,
    newest_status: &HashMap<NaiveDate, RunStatus>,
    max_days: i64,
) -> Result<DatePlan, JobError> {
    if from > to {
        return Err(JobError::Other(format!(
            "backfill range {from}..{to}: start is after end"
        )));
    }
    let days = (to - from).num_days() + 1;
    if days > max_days {
        return Err(JobError::Other(format!(
            "range of {days} days is longer than {max_days}"
        )));
    }
    let range = date_range(from, to)?;
    let failed_last = |d: &NaiveDate| newest_status.get(d).is_some_and(|s| s.is_failure());
    let existing: Vec<NaiveDate> = range
        .iter()
        .copied()
        .filter(|d| stored.contains(d))
        .collect();
    let failed: Vec<NaiveDate> = if only_missing {
        existing.iter().copied().filter(failed_last).collect()
    } else {
        Vec::new()
    };
    let dates = if only_missing {
        range
            .into_iter()
            .filter(|d| !stored.contains(d) || failed_last(d))
            .collect()
    } else {
        range
    };
    Ok(DatePlan {
        dates,
        existing,
        failed,
    })
}

/// The status of each date's newest attempt among `runs` (newest first, as the store returns
/// them).
pub fn newest_status_by_date<'a>(
    runs: impl IntoIterator<Item = &'a crate::store::RunRecord>,
) -> HashMap<NaiveDate, RunStatus> {
    let mut out = HashMap::new();
    for run in runs {
        out.entry(run.calculation_date).or_insert(run.status);
    }
    out
}

/// Most runs of a backfill at once (`--concurrency`, `[orchestrator] concurrency`): each is a
/// thread holding a benchmark profile and a current population.
pub const MAX_CONCURRENCY: usize = 64;

/// Checks a backfill's date range: `from ≤ to`, and at most [`MAX_BACKFILL_DAYS`] days unless
/// `large` (a deliberate large backfill; the years stay within
/// [`MIN_YEAR`](crate::domain::MIN_YEAR)..=[`MAX_YEAR`](crate::domain::MAX_YEAR) by
/// [`parse_date`](crate::domain::parse_date)).
///
/// # Errors
/// [`JobError::Other`] naming the limit and the flag.
pub fn check_range(from: NaiveDate, to: NaiveDate, large: bool) -> Result<(), JobError> {
    if from > to {
        return Err(crate::domain::DomainError::InvalidRange { from, to }.into());
    }
    let days = (to - from).num_days() + 1;
    if days > MAX_BACKFILL_DAYS && !large {
        return Err(JobError::Other(format!(
            "backfill {from}..{to} covers {days} days, more than the limit of \
             {MAX_BACKFILL_DAYS}; pass --large to run a deliberate large backfill"
        )));
    }
    Ok(())
}

/// One planned run of a backfill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRun {
    /// Index into the models given to [`plan`].
    pub model: usize,
    /// Calculation date.
    pub date: NaiveDate,
    /// A result already exists for this (model, date).
    pub exists: bool,
    /// It runs under `only_missing` ([`plan_dates`]: no result, or the newest attempt failed).
    pub runs_when_only_missing: bool,
}

/// The dry run of a backfill: every (model, date) with whether a result exists and whether it
/// runs under `only_missing` (rules of [`plan_dates`]). One store call for all models.
///
/// # Errors
/// An invalid range or a store failure.
pub fn plan(
    ctx: &JobContext,
    models: &[&ModelJob],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<PlannedRun>, JobError> {
    plan_within(ctx, models, from, to, MAX_BACKFILL_DAYS)
}

/// [`plan`] with another limit on the range in days (`--large`).
///
/// # Errors
/// As [`plan`].
pub fn plan_within(
    ctx: &JobContext,
    models: &[&ModelJob],
    from: NaiveDate,
    to: NaiveDate,
    max_days: i64,
) -> Result<Vec<PlannedRun>, JobError> {
    // One store call for every model of the plan (not one per model): which dates have a
    // result and the status of each date's newest attempt.
    let ids: Vec<String> = models
        .iter()
        .map(|m| m.model_id.as_str().to_string())
        .collect();
    let mut stored: HashMap<String, BTreeSet<NaiveDate>> = HashMap::new();
    let mut newest: HashMap<String, HashMap<NaiveDate, RunStatus>> = HashMap::new();
    for row in ctx.store.date_status(&ids, from, to)? {
        if row.has_result {
            stored
                .entry(row.model_id.clone())
                .or_default()
                .insert(row.calculation_date);
        }
        if let Some(status) = row.run_status {
            newest
                .entry(row.model_id)
                .or_default()
                .insert(row.calculation_date, status);
        }
    }
    let (no_dates, no_status) = (BTreeSet::new(), HashMap::new());
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let stored = stored.get(id).unwrap_or(&no_dates);
        let newest = newest.get(id).unwrap_or(&no_status);
        let all = plan_dates_within(from, to, false, stored, newest, max_days)?;
        let missing: HashSet<NaiveDate> =
            plan_dates_within(from, to, true, stored, newest, max_days)?
                .dates
                .into_iter()
                .collect();
        out.extend(all.dates.into_iter().map(|date| PlannedRun {
            model: i,
            date,
            exists: stored.contains(&date),
            runs_when_only_missing: missing.contains(&date),
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
    /// Run only dates without a result or whose newest attempt failed ([`plan_dates`]).
    pub only_missing: bool,
    /// Runs at once (clamped to 1..=[`MAX_CONCURRENCY`]).
    pub concurrency: usize,
    /// Who started it.
    pub triggered_by: String,
    /// Run id prefix; each run gets `<prefix>-<model>-<date>`.
    pub run_id_prefix: Option<String>,
    /// Job log recorded with every run (the orchestrator's log of the whole backfill).
    pub log_path: Option<String>,
    /// A deliberate large backfill (`--large`): up to [`MAX_LARGE_BACKFILL_DAYS`] days instead
    /// of [`MAX_BACKFILL_DAYS`].
    pub large: bool,
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
    let max_days = if options.large {
        MAX_LARGE_BACKFILL_DAYS
    } else {
        MAX_BACKFILL_DAYS
    };
    let planned = plan_within(ctx, models, options.from, options.to, max_days)?;
    let total_planned = planned.len();
    let todo: Vec<&PlannedRun> = planned
        .iter()
        .filter(|p| !options.only_missing || p.runs_when_only_missing)
        .collect();
    let total = todo.len();
    let done = AtomicUsize::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.concurrency.clamp(1, MAX_CONCURRENCY))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2013, 2, day).expect("date")
    }

    #[test]
    fn only_missing_runs_missing_and_failed_dates_all_runs_every_date() {
        let stored: BTreeSet<NaiveDate> = [d(1), d(2), d(4)].into_iter().collect();
        // 2013-02-02: newest attempt failed (an older result stays); 02-04: newest succeeded
        // after an older failure; 02-03: failed and no result.
        let newest: HashMap<NaiveDate, RunStatus> = [
            (d(2), RunStatus::Failed),
            (d(3), RunStatus::Failed),
            (d(4), RunStatus::Succeeded),
        ]
        .into_iter()
        .collect();
        let plan = plan_dates(d(1), d(5), true, &stored, &newest).expect("plan");
        assert_eq!(plan.dates, [d(2), d(3), d(5)]);
        assert_eq!(plan.existing, [d(1), d(2), d(4)]);
        assert_eq!(plan.failed, [d(2)]);
        let all = plan_dates(d(1), d(5), false, &stored, &newest).expect("plan");
        assert_eq!(all.dates, [d(1), d(2), d(3), d(4), d(5)]);
        assert!(all.failed.is_empty());
    }

    #[test]
    fn range_bounds_are_enforced() {
        let none = BTreeSet::new();
        let no = HashMap::new();
        assert!(plan_dates(d(2), d(1), false, &none, &no).is_err());
        let from = d(1);
        let longest = from + chrono::Days::new(MAX_BACKFILL_DAYS as u64 - 1);
        assert_eq!(
            plan_dates(from, longest, false, &none, &no)
                .expect("longest range")
                .dates
                .len(),
            MAX_BACKFILL_DAYS as usize
        );
        let err = plan_dates(from, longest + chrono::Days::new(1), false, &none, &no)
            .expect_err("too long");
        assert!(err.to_string().contains("longer than"), "{err}");
    }
}
