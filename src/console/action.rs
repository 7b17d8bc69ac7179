//! Actions as data, their blast radius, and the dispatcher that enforces roles and read-only
//! mode and writes the audit log (README, Design §7, item 2).
//!
//! Flow: a key produces an [`Action`]; the console shows a confirm dialog built from
//! [`Action::blast_radius`]; once confirmed the runtime hands it to [`Dispatcher::dispatch`],
//! the only place that decides whether it may run. Every dispatch, allowed or denied, appends
//! one [`AuditRecord`].

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{ModelId, Role};
use crate::orchestrator::{JobInfo, JobRequest, JobSpec};
use crate::store::{AuditRecord, ResultsStore};

use super::adapter::OrchestratorAdapter;
use super::refreshes::RefreshBackend;

/// Message shown (and audited) when no refresh job exists yet.
pub const REFRESH_NOT_CONFIGURED: &str = "benchmark refresh is not configured";

/// One (model, calculation date) a run targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTarget {
    /// Model id.
    pub model_id: String,
    /// Value stream.
    pub value_stream: String,
    /// Calculation date.
    pub date: NaiveDate,
}

/// Something the user asked for that writes or runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Rerun one model on one calculation date.
    Rerun(RunTarget),
    /// Backfill one model over `from..=to`; `dates` are the ones that will run.
    Backfill {
        /// Model id.
        model_id: String,
        /// Value stream.
        value_stream: String,
        /// First date of the range.
        from: NaiveDate,
        /// Last date of the range.
        to: NaiveDate,
        /// Dates that will run (all, or only missing / failed ones).
        dates: Vec<NaiveDate>,
        /// Dates in the range that already have a result.
        existing: Vec<NaiveDate>,
        /// True when only missing or failed dates run.
        only_missing: bool,
    },
    /// Rerun the last failed date of every failed model.
    RerunFailed(Vec<RunTarget>),
    /// Refresh the benchmarks of the selected model, its value stream or every model.
    Refresh {
        /// Model id (the selected model).
        model_id: String,
        /// Value stream (of the selected model).
        value_stream: String,
        /// What is refreshed: that model, its value stream (with `common/`), or everything.
        scope: RefreshScope,
        /// `value_stream / model` of every model in scope, for the confirm dialog.
        models: Vec<String>,
    },
    /// Reinstall a kept benchmark version of one model (the one in place is kept in turn),
    /// through the code of `driftdeck rollback-benchmark`.
    Rollback {
        /// Model id.
        model_id: String,
        /// Value stream.
        value_stream: String,
        /// Version id restored (`versions/<id>`).
        version: String,
        /// First 16 hex digits of the restored benchmark's sha256.
        checksum: String,
        /// Rows of the restored benchmark, when its profile says.
        rows: Option<u64>,
        /// First 16 hex digits of the benchmark in place now.
        current: Option<String>,
    },
    /// Suspend (`suspend`) or resume the model's schedule (its Kubernetes CronJob).
    Suspend {
        /// Model id.
        model_id: String,
        /// Value stream.
        value_stream: String,
        /// The CronJob's name.
        schedule: String,
        /// `true` suspends, `false` resumes.
        suspend: bool,
    },
}

/// What a console refresh covers (`s` in the confirm dialog cycles it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefreshScope {
    /// The selected model.
    #[default]
    Model,
    /// Every model of the selected model's value stream, and its `common/` data.
    ValueStream,
    /// Every model and every value stream's `common/` data.
    All,
}

impl RefreshScope {
    /// The next scope: model → value stream → all → model.
    pub fn next(self) -> Self {
        match self {
            RefreshScope::Model => RefreshScope::ValueStream,
            RefreshScope::ValueStream => RefreshScope::All,
            RefreshScope::All => RefreshScope::Model,
        }
    }
}

impl Action {
    /// Audit name: `rerun`, `backfill`, `rerun-failed`, `refresh`, `rollback`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Rerun(_) => "rerun",
            Action::Backfill { .. } => "backfill",
            Action::RerunFailed(_) => "rerun-failed",
            Action::Refresh { .. } => "refresh",
            Action::Rollback { .. } => "rollback",
            Action::Suspend { suspend: true, .. } => "suspend",
            Action::Suspend { suspend: false, .. } => "resume",
        }
    }

    /// Audit target: `jfk_delay 2013-02-01`, `jfk_delay 2013-02-01..2013-02-03`, `3 models`.
    pub fn target(&self) -> String {
        match self {
            Action::Rerun(t) => format!("{} {}", t.model_id, t.date),
            Action::Backfill {
                model_id, from, to, ..
            } => format!("{model_id} {from}..{to}"),
            Action::RerunFailed(targets) => {
                let names: Vec<String> = targets
                    .iter()
                    .map(|t| format!("{} {}", t.model_id, t.date))
                    .collect();
                format!("{} models: {}", targets.len(), names.join(", "))
            }
            Action::Refresh {
                model_id,
                value_stream,
                scope,
                ..
            } => match scope {
                RefreshScope::Model => model_id.clone(),
                RefreshScope::ValueStream => format!("value stream {value_stream}"),
                RefreshScope::All => "all models".into(),
            },
            Action::Rollback {
                model_id, version, ..
            } => format!("{model_id} to {version}"),
            Action::Suspend {
                model_id, schedule, ..
            } => format!("{model_id} (CronJob {schedule})"),
        }
    }

    /// Lowest role allowed to perform the action: operators rerun, backfill and suspend or
    /// resume a schedule, admins refresh and roll back benchmarks.
    pub fn required_role(&self) -> Role {
        match self {
            Action::Refresh { .. } | Action::Rollback { .. } => Role::Admin,
            _ => Role::Operator,
        }
    }

    /// Number of runs (model × date) the action starts; 0 for a refresh or a rollback.
    pub fn run_count(&self) -> usize {
        match self {
            Action::Rerun(_) => 1,
            Action::Backfill { dates, .. } => dates.len(),
            Action::RerunFailed(t) => t.len(),
            Action::Refresh { .. } | Action::Rollback { .. } | Action::Suspend { .. } => 0,
        }
    }

    /// Human lines for the confirm dialog: which model, how many runs, which dates, which exist.
    pub fn blast_radius(&self) -> Vec<String> {
        match self {
            Action::Rerun(t) => vec![
                format!("model      {} / {}", t.value_stream, t.model_id),
                format!("date       {}", t.date),
                "runs       1 (replaces the stored result of that date)".into(),
            ],
            Action::Backfill {
                model_id,
                value_stream,
                from,
                to,
                dates,
                existing,
                only_missing,
            } => {
                let span = (*to - *from).num_days() + 1;
                let mut lines = vec![
                    format!("model      {value_stream} / {model_id}"),
                    format!("range      {from} .. {to} ({span} days)"),
                    format!(
                        "mode       {}",
                        if *only_missing {
                            "only missing or failed dates"
                        } else {
                            "all dates (existing results are replaced)"
                        }
                    ),
                    format!("runs       {} will start", dates.len()),
                    format!("dates      {}", compact_dates(dates)),
                    format!(
                        "existing   {} already stored{}",
                        existing.len(),
                        if existing.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", compact_dates(existing))
                        }
                    ),
                ];
                if dates.is_empty() {
                    lines.push("nothing to do: every date already has a result".into());
                }
                lines
            }
            Action::RerunFailed(targets) => {
                let mut lines = vec![format!("runs       {} failed models rerun", targets.len())];
                for t in targets.iter().take(8) {
                    lines.push(format!("  {} / {}  {}", t.value_stream, t.model_id, t.date));
                }
                if targets.len() > 8 {
                    lines.push(format!("  … and {} more", targets.len() - 8));
                }
                lines
            }
            Action::Refresh { scope, models, .. } => {
                let what = match scope {
                    RefreshScope::Model => "this model",
                    RefreshScope::ValueStream => "its value stream (and its common/ data)",
                    RefreshScope::All => "every model (and every common/ data)",
                };
                let mut lines = vec![
                    format!("scope      {what}   (s: model → value stream → all)"),
                    format!("models     {}", models.len()),
                ];
                for m in models.iter().take(10) {
                    lines.push(format!("  {m}"));
                }
                if models.len() > 10 {
                    lines.push(format!("  … and {} more", models.len() - 10));
                }
                lines.push("validates each new extract; replaces only benchmarks that pass".into());
                lines.push("previous versions kept (driftdeck rollback-benchmark)".into());
                lines
            }
            Action::Rollback {
                model_id,
                value_stream,
                version,
                checksum,
                rows,
                current,
            } => vec![
                format!("model      {value_stream} / {model_id}"),
                format!(
                    "restores   version {version} ({checksum}{})",
                    rows.map(|r| format!(", {r} rows")).unwrap_or_default()
                ),
                format!(
                    "replaces   {} (kept as a new version: a rollback can be undone)",
                    current.as_deref().unwrap_or("the benchmark in place")
                ),
                "profile    the version's own, or rebuilt; audited as rollback".into(),
            ],
            Action::Suspend {
                model_id,
                value_stream,
                schedule,
                suspend,
            } => vec![
                format!("model      {value_stream} / {model_id}"),
                format!("CronJob    {schedule}"),
                if *suspend {
                    "effect     no scheduled runs until resumed (runs in flight go on)".into()
                } else {
                    "effect     scheduled runs start again at the next schedule time".into()
                },
            ],
        }
    }

    /// The orchestrator requests (the jobs' own vocabulary, [`JobSpec`]) that carry the action
    /// out: a rerun is one `run` job, a backfill one `backfill` job over its range (the job plans
    /// its dates with the dry run's rules), a refresh one `refresh-benchmarks --model` job; a
    /// rollback is no job (the dispatcher runs it through [`RefreshBackend`]).
    ///
    /// # Errors
    /// A model id read from the store that is not a valid id.
    pub fn requests(&self, user: &str) -> Result<Vec<JobRequest>, String> {
        let model = |id: &str| ModelId::new(id).map_err(|e| e.to_string());
        let request = |spec| JobRequest {
            spec,
            triggered_by: user.to_string(),
        };
        let run = |t: &RunTarget| -> Result<JobRequest, String> {
            Ok(request(JobSpec::Run {
                model: model(&t.model_id)?,
                date: Some(t.date),
            }))
        };
        Ok(match self {
            Action::Rerun(t) => vec![run(t)?],
            Action::Backfill {
                model_id,
                from,
                to,
                only_missing,
                ..
            } => vec![request(JobSpec::Backfill {
                model: model(model_id)?,
                from: *from,
                to: *to,
                only_missing: *only_missing,
            })],
            Action::RerunFailed(targets) => targets.iter().map(run).collect::<Result<_, _>>()?,
            Action::Refresh {
                model_id,
                value_stream,
                scope,
                ..
            } => vec![request(JobSpec::RefreshBenchmarks {
                model: match scope {
                    RefreshScope::Model => Some(model(model_id)?),
                    _ => None,
                },
                value_stream: (*scope == RefreshScope::ValueStream).then(|| value_stream.clone()),
                all: *scope == RefreshScope::All,
                dry_run: false,
            })],
            Action::Rollback { .. } => Vec::new(),
            Action::Suspend { .. } => Vec::new(),
        })
    }
}

/// Dates as a short list: `2013-02-01, 2013-02-02 … 2013-02-28 (28)`.
pub fn compact_dates(dates: &[NaiveDate]) -> String {
    match dates {
        [] => "none".into(),
        [a] => a.to_string(),
        [a, b] => format!("{a}, {b}"),
        [a, b, c] => format!("{a}, {b}, {c}"),
        [first, .., last] => format!("{first} … {last} ({})", dates.len()),
    }
}

/// Why the dispatcher refuses an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The console runs with `--read-only`.
    #[error("the console is read-only (--read-only): no action runs")]
    ReadOnly,
    /// The user's role is below the one the action needs.
    #[error("{action} needs the {needed} role; you are {role}")]
    Role {
        /// The action's name.
        action: &'static str,
        /// The role it needs.
        needed: Role,
        /// The role in force.
        role: Role,
    },
}

/// Whether `role` (with `read_only`) may perform `action`.
///
/// # Errors
/// [`Denied`] with the reason.
pub fn authorize(role: Role, read_only: bool, action: &Action) -> Result<(), Denied> {
    if read_only {
        return Err(Denied::ReadOnly);
    }
    let needed = action.required_role();
    if role < needed {
        return Err(Denied::Role {
            action: action.name(),
            needed,
            role,
        });
    }
    Ok(())
}

/// What happened to a dispatched action.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Jobs were accepted: the orchestrator's snapshot of each.
    Started(Vec<JobInfo>),
    /// Done at once (a rollback): what was done.
    Done(String),
    /// Roles or read-only mode forbade it.
    Denied(Denied),
    /// The action has no job configured (benchmark refresh today).
    NotConfigured(String),
    /// The orchestrator refused or failed.
    Failed(String),
    /// Done at once, no job (a CronJob suspended or resumed): what changed.
    Applied(String),
}

impl Outcome {
    /// Audit text: `started 3 jobs`, `denied: ...`, `not configured`, `failed: ...`.
    pub fn audit_text(&self) -> String {
        match self {
            Outcome::Started(t) => format!("started {} job(s)", t.len()),
            Outcome::Done(what) => format!("done: {what}"),
            Outcome::Denied(r) => format!("denied: {r}"),
            Outcome::NotConfigured(r) => format!("not configured: {r}"),
            Outcome::Failed(r) => format!("failed: {r}"),
            Outcome::Applied(r) => format!("done: {r}"),
        }
    }
}

/// Outcome text of the audit entry written before an authorized action runs; a second entry
/// records what happened.
pub const REQUESTED: &str = "requested";

/// Result of [`Dispatcher::dispatch`], sent back to the UI loop.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchReport {
    /// The action.
    pub action: Action,
    /// What happened.
    pub outcome: Outcome,
    /// Set when the audit entry could not be written (the action outcome stands).
    pub audit_error: Option<String>,
}

/// The single gate for actions: roles, read-only mode, orchestrator call, audit entry.
pub struct Dispatcher {
    /// Results store that receives audit entries.
    pub store: Arc<dyn ResultsStore>,
    /// Orchestrator that runs jobs.
    pub orchestrator: Arc<OrchestratorAdapter>,
    /// User name (audit `user`, runs' `triggered_by`).
    pub user: String,
    /// Role in force.
    pub role: Role,
    /// `--read-only`: deny everything.
    pub read_only: bool,
    /// Refresh reports and rollbacks; `None`: a rollback is not configured.
    pub refresh: Option<Arc<dyn RefreshBackend>>,
}

impl Dispatcher {
    /// Authorizes, runs and audits `action`. Blocking (the audit writes and the orchestrator's
    /// submit); call from `spawn_blocking` inside a tokio runtime. The jobs' progress arrives
    /// through [`OrchestratorAdapter::forward_events`].
    pub fn dispatch(&self, action: &Action, now: DateTime<Utc>) -> DispatchReport {
        let entry = |outcome: String| AuditRecord {
            at: now,
            user: self.user.clone(),
            role: self.role.as_str().to_string(),
            action: action.name().to_string(),
            target: action.target(),
            outcome,
        };
        let outcome = match authorize(self.role, self.read_only, action) {
            Err(reason) => Outcome::Denied(reason),
            Ok(()) => match self.precheck(action) {
                Some(refused) => refused,
                // The audit entry is durable before anything runs: an action whose audit
                // cannot be written does not start (issue 11 #6).
                None => match self.store.append_audit(&entry(REQUESTED.into())) {
                    Err(e) => Outcome::Failed(format!(
                        "not started: the audit entry could not be written ({e})"
                    )),
                    Ok(()) => self.run(action),
                },
            },
        };
        let entry = entry(outcome.audit_text());
        let audit_error = self
            .store
            .append_audit(&entry)
            .err()
            .map(|e| format!("audit entry not written: {e}"));
        if let Some(e) = &audit_error {
            tracing::warn!("{e}");
        }
        tracing::info!(action = action.name(), target = %action.target(), outcome = %outcome.audit_text(), "dispatched");
        DispatchReport {
            action: action.clone(),
            outcome,
            audit_error,
        }
    }

    /// Refusals known before anything is written or run.
    fn precheck(&self, action: &Action) -> Option<Outcome> {
        if matches!(action, Action::Refresh { .. }) && !self.orchestrator.refresh_configured() {
            return Some(Outcome::NotConfigured(REFRESH_NOT_CONFIGURED.into()));
        }
        if matches!(action, Action::Rollback { .. }) && self.refresh.is_none() {
            return Some(Outcome::NotConfigured(
                "benchmark rollback is not available in this console".into(),
            ));
        }
        if action.run_count() == 0
            && !matches!(
                action,
                Action::Refresh { .. } | Action::Rollback { .. } | Action::Suspend { .. }
            )
        {
            return Some(Outcome::Failed("nothing to run".into()));
        }
        None
    }

    fn run(&self, action: &Action) -> Outcome {
        if let Action::Rollback {
            model_id, version, ..
        } = action
        {
            let Some(backend) = &self.refresh else {
                return Outcome::NotConfigured("benchmark rollback is not available".into());
            };
            return match backend.rollback(model_id, version, &self.user, self.role.as_str()) {
                Ok(report) => Outcome::Done(
                    report
                        .models
                        .first()
                        .map(crate::refresh::ModelRefresh::describe)
                        .unwrap_or_else(|| report.counts()),
                ),
                Err(e) => Outcome::Failed(e),
            };
        }
        if let Action::Suspend {
            model_id,
            schedule,
            suspend,
            ..
        } = action
        {
            return match ModelId::new(model_id.as_str()) {
                Err(e) => Outcome::Failed(e.to_string()),
                Ok(model) => match self.orchestrator.set_suspended_blocking(model, *suspend) {
                    Ok(()) => Outcome::Applied(format!(
                        "CronJob {schedule} {}",
                        if *suspend { "suspended" } else { "resumed" }
                    )),
                    Err(e) => Outcome::Failed(e.to_string()),
                },
            };
        }
        let requests = match action.requests(&self.user) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e),
        };
        let mut jobs = Vec::new();
        for request in requests {
            match self.orchestrator.submit_blocking(request) {
                Ok(job) => jobs.push(job),
                Err(e) if jobs.is_empty() => return Outcome::Failed(e.to_string()),
                Err(e) => {
                    tracing::warn!("partial start: {e}");
                    break;
                }
            }
        }
        Outcome::Started(jobs)
    }
}
