//! Orchestration of jobs (README, Design §2 and §5): the console asks an [`Orchestrator`] to run,
//! backfill or refresh, lists the jobs, follows their logs and cancels them.
//!
//! The embedded default is [`local::LocalRunner`]: child processes of the driftdeck binary with
//! bounded concurrency, a log file per job and an append-only job index, so jobs outlive the
//! console that started them. A Kubernetes implementation (Jobs from the model's CronJob) plugs
//! in behind the same trait.
//!
//! Logs are a stream ([`Orchestrator::logs`]) addressed by an opaque [`LogRef`] that jobs
//! record in the store: the local runner follows its log file ([`log_tail::follow_file`]), a
//! Kubernetes runner streams pod logs. Process ids and file paths are local-runner details.

mod index;
pub mod kubernetes;
pub mod local;
pub mod log_tail;
mod none;
mod process;

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::domain::{ModelId, RunAction};

pub use local::{LocalRunner, LocalRunnerConfig};
pub use log_tail::{LogTail, follow_file};
pub use none::NoOrchestrator;

/// Errors of an orchestrator.
#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    /// A file or directory of the runner (log dir, log file, job index) could not be used.
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// What failed.
        message: String,
    },
    /// The request is malformed (e.g. a backfill whose start is after its end).
    #[error("invalid job request: {0}")]
    InvalidRequest(String),
    /// No job with this id is known.
    #[error("unknown job {0}")]
    UnknownJob(String),
    /// A job id that is not a safe file name (`[a-z0-9._-]`, 1-200 characters, no leading dot).
    #[error("invalid job id {0:?}: use lowercase letters, digits, '.', '_' or '-'")]
    InvalidJobId(String),
    /// The runner needs a tokio runtime (create it inside one).
    #[error("the local runner must be created inside a tokio runtime")]
    NoRuntime,
    /// Any other backend failure (e.g. the Kubernetes API).
    #[error("orchestrator error: {0}")]
    Backend(String),
    /// No orchestrator can run jobs here (none configured: [`NoOrchestrator`]).
    #[error("orchestrator unavailable: {0}")]
    Unavailable(String),
}

/// Identifier of a job, unique per log directory and safe as a file name: it names the log file
/// `<log_dir>/<id>.log` and is passed as `--run-id` to `driftdeck run`, so the job's attempts
/// in `PCI_CSI_RUNS` carry it as their `run_id`.
///
/// Shape: `<kind>-<model>-<dates>-<utc timestamp>-<seq>`, e.g.
/// `run-jfk_delay-20130201-20250102t030405123-1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

impl JobId {
    /// Validates `value`: 1–200 characters of `[a-z0-9._-]`, not starting with `.`.
    ///
    /// # Errors
    /// [`OrchestratorError::InvalidJobId`].
    pub fn new(value: impl Into<String>) -> Result<Self, OrchestratorError> {
        let value = value.into();
        let ok = !value.is_empty()
            && value.len() <= 200
            && !value.starts_with('.')
            && value.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(Self(value))
        } else {
            Err(OrchestratorError::InvalidJobId(value))
        }
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for JobId {
    type Error = OrchestratorError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<JobId> for String {
    fn from(value: JobId) -> String {
        value.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The work of a job, following the job CLI contract: the subcommands of [`crate::cli`], which
/// a test checks by parsing every [`JobSpec::cli_args`] back with the real parser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum JobSpec {
    /// `run --model M [--date D]`; no date = the job's default (today's calculation date).
    Run {
        /// Model to run.
        model: ModelId,
        /// Calculation date.
        date: Option<NaiveDate>,
    },
    /// `backfill --model M --from D1 --to D2 [--only-missing]`, both dates included.
    Backfill {
        /// Model to backfill.
        model: ModelId,
        /// First calculation date.
        from: NaiveDate,
        /// Last calculation date (≥ `from`).
        to: NaiveDate,
        /// Skip dates that already have a result.
        only_missing: bool,
    },
    /// `refresh-benchmarks (--model M | --value-stream V | --all) [--dry-run]`: rebuild the
    /// benchmarks of the selected models. Exactly one of `model`, `value_stream`, `all`.
    RefreshBenchmarks {
        /// One model.
        #[serde(default)]
        model: Option<ModelId>,
        /// Every model of this value stream.
        #[serde(default)]
        value_stream: Option<String>,
        /// Every model.
        #[serde(default)]
        all: bool,
        /// Report what would be refreshed without writing a benchmark.
        #[serde(default)]
        dry_run: bool,
    },
}

impl JobSpec {
    /// The kind of job, in the one vocabulary the store's runs also use (`run`, `backfill`,
    /// `refresh`).
    pub fn kind(&self) -> RunAction {
        match self {
            JobSpec::Run { .. } => RunAction::Run,
            JobSpec::Backfill { .. } => RunAction::Backfill,
            JobSpec::RefreshBenchmarks { .. } => RunAction::Refresh,
        }
    }

    /// The model the job works on; `None` for a refresh of a value stream or of every model.
    pub fn model(&self) -> Option<&ModelId> {
        match self {
            JobSpec::Run { model, .. } | JobSpec::Backfill { model, .. } => Some(model),
            JobSpec::RefreshBenchmarks { model, .. } => model.as_ref(),
        }
    }

    /// What the job works on, for job ids, tables and log headers: the model id, `vs-<value
    /// stream>` or `all`.
    pub fn target(&self) -> String {
        match self {
            JobSpec::Run { model, .. } | JobSpec::Backfill { model, .. } => model.to_string(),
            JobSpec::RefreshBenchmarks {
                model,
                value_stream,
                ..
            } => match (model, value_stream) {
                (Some(m), _) => m.to_string(),
                (None, Some(v)) => format!("vs-{v}"),
                (None, None) => "all".to_string(),
            },
        }
    }

    /// First and last calculation date (`(d, d)` for a run with a date, `(None, None)` for a run
    /// without one and for a refresh).
    pub fn dates(&self) -> (Option<NaiveDate>, Option<NaiveDate>) {
        match self {
            JobSpec::Run { date, .. } => (*date, *date),
            JobSpec::Backfill { from, to, .. } => (Some(*from), Some(*to)),
            JobSpec::RefreshBenchmarks { .. } => (None, None),
        }
    }

    /// Checks the request: a backfill's `from` must not be after `to`; a refresh selects exactly
    /// one of a model, a value stream (non-empty, no control characters) or all models.
    ///
    /// # Errors
    /// [`OrchestratorError::InvalidRequest`].
    pub fn validate(&self) -> Result<(), OrchestratorError> {
        match self {
            JobSpec::Backfill {
                model, from, to, ..
            } if from > to => Err(OrchestratorError::InvalidRequest(format!(
                "backfill of {model} from {from} to {to}: start is after end"
            ))),
            JobSpec::RefreshBenchmarks {
                model,
                value_stream,
                all,
                ..
            } => {
                let chosen = usize::from(model.is_some())
                    + usize::from(value_stream.is_some())
                    + usize::from(*all);
                if chosen != 1 {
                    return Err(OrchestratorError::InvalidRequest(
                        "refresh-benchmarks needs exactly one of a model, a value stream or all"
                            .to_string(),
                    ));
                }
                if let Some(v) = value_stream
                    && (v.is_empty() || v.len() > 200 || v.chars().any(char::is_control))
                {
                    return Err(OrchestratorError::InvalidRequest(format!(
                        "refresh-benchmarks: value stream {v:?} is empty, too long or has control characters"
                    )));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The subcommand and its arguments for the driftdeck CLI (without the global `--config`),
    /// e.g. `["run", "--model", "m", "--date", "2013-02-01", "--triggered-by", "ana",
    /// "--run-id", "<id>"]`.
    pub fn cli_args(&self, id: &JobId, triggered_by: &str) -> Vec<String> {
        let date = |d: &NaiveDate| d.format("%Y-%m-%d").to_string();
        match self {
            JobSpec::Run { model, date: d } => {
                let mut args = vec!["run".into(), "--model".into(), model.to_string()];
                if let Some(d) = d {
                    args.extend(["--date".into(), date(d)]);
                }
                args.extend([
                    "--triggered-by".into(),
                    triggered_by.to_string(),
                    "--run-id".into(),
                    id.to_string(),
                ]);
                args
            }
            JobSpec::Backfill {
                model,
                from,
                to,
                only_missing,
            } => {
                let mut args = vec![
                    "backfill".into(),
                    "--model".into(),
                    model.to_string(),
                    "--from".into(),
                    date(from),
                    "--to".into(),
                    date(to),
                ];
                if *only_missing {
                    args.push("--only-missing".into());
                }
                args.extend([
                    "--triggered-by".into(),
                    triggered_by.to_string(),
                    "--run-id".into(),
                    id.to_string(),
                ]);
                args
            }
            JobSpec::RefreshBenchmarks {
                model,
                value_stream,
                all,
                dry_run,
            } => {
                let mut args = vec!["refresh-benchmarks".to_string()];
                if let Some(m) = model {
                    args.extend(["--model".into(), m.to_string()]);
                }
                if let Some(v) = value_stream {
                    args.extend(["--value-stream".into(), v.clone()]);
                }
                if *all {
                    args.push("--all".into());
                }
                if *dry_run {
                    args.push("--dry-run".into());
                }
                args.extend([
                    "--triggered-by".into(),
                    triggered_by.to_string(),
                    "--run-id".into(),
                    id.to_string(),
                ]);
                args
            }
        }
    }
}

/// A request to start a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRequest {
    /// What to run.
    pub spec: JobSpec,
    /// `schedule` or the user name that asked (recorded in `PCI_CSI_RUNS.triggered_by`).
    pub triggered_by: String,
}

/// Lifecycle state of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Accepted, waiting for a concurrency slot.
    Queued,
    /// The process is running.
    Running,
    /// Exited with code 0.
    Succeeded,
    /// Exited with a non-zero code, or could not be started.
    Failed,
    /// Cancelled by a user (or never started because the console closed first).
    Cancelled,
    /// The process is gone without an exit record (killed with its wrapper, machine restarted);
    /// the job's attempts in `PCI_CSI_RUNS` tell how far it got.
    Lost,
}

impl JobState {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Lost => "lost",
        }
    }

    /// True once the job can no longer change state.
    pub fn is_final(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the console shows about one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    /// Job id (also the log file stem and the `--run-id`).
    pub id: JobId,
    /// What the job does (kind, model, dates: see [`JobSpec::kind`], [`JobSpec::model`],
    /// [`JobSpec::dates`]).
    pub spec: JobSpec,
    /// `schedule` or the user name.
    pub triggered_by: String,
    /// Current state.
    pub state: JobState,
    /// When it was submitted (UTC).
    pub submitted_at: DateTime<Utc>,
    /// When its process started (UTC).
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a final state (UTC).
    pub finished_at: Option<DateTime<Utc>>,
    /// Exit code of the job process, when it exited normally.
    pub exit_code: Option<i32>,
    /// Where the job's combined stdout + stderr can be read with [`Orchestrator::logs`] (also
    /// what the job records in `PCI_CSI_RUNS.log_path`).
    pub log: LogRef,
    /// Why the state is what it is when the exit code does not say it (signal, spawn error,
    /// console closed before start, ...).
    pub note: Option<String>,
}

/// Opaque reference to a job's log, as recorded with its runs in the store
/// (`PCI_CSI_RUNS.log_path`) and handed back to [`Orchestrator::logs`]. Only the orchestrator
/// that wrote it interprets it: the local runner writes `local:<job id>` (and reads plain file
/// paths recorded by older versions); a Kubernetes runner would write `k8s:<namespace>/<pod>`.
/// Callers treat it as text and never open it themselves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogRef(String);

impl LogRef {
    /// Wraps `value` as read from the store or built by an orchestrator (not checked here: the
    /// orchestrator that resolves it refuses what it cannot read).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for LogRef {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for LogRef {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

impl fmt::Display for LogRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What part of a log [`Orchestrator::logs`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogOptions {
    /// Keep the stream open and yield appended lines until it is dropped; `false` ends the
    /// stream after the lines present now.
    pub follow: bool,
    /// Only the last N lines present now (`None`: the backend's default, 5,000 for the local
    /// runner).
    pub tail: Option<usize>,
    /// Only lines logged at or after this instant, where the backend timestamps lines
    /// (Kubernetes `sinceTime`); the local runner's files have no per-line time and ignore it.
    pub since: Option<DateTime<Utc>>,
}

/// Lines of a job log (without their newline), oldest first. An `Err` item reports a problem
/// (file not there yet, API error) without ending the stream; the stream ends when the log
/// ends (`follow = false`) or when it is dropped (which stops the backend's reading).
pub type LogStream = BoxStream<'static, Result<String, OrchestratorError>>;

/// A change of a job's state, broadcast to subscribers; carries the job's full new snapshot.
///
/// Subscribers that lag behind receive `RecvError::Lagged` and should call
/// [`Orchestrator::list`] to resynchronise.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvent {
    /// The job after the change.
    pub job: JobInfo,
}

/// What [`Orchestrator::targets`] lists and [`Orchestrator::switch_target`] switches: where
/// the jobs run (Kubernetes: the kubeconfig context, the namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// A kubeconfig context (cluster + user).
    Context,
    /// A namespace of the current context.
    Namespace,
}

impl TargetKind {
    /// `context` or `namespace`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Context => "context",
            TargetKind::Namespace => "namespace",
        }
    }
}

/// The daily schedule of one model as the orchestrator runs it (Kubernetes: the model's
/// CronJob), for the console's models table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleState {
    /// Model id.
    pub model: String,
    /// Name of the schedule (the CronJob).
    pub name: String,
    /// True while the schedule is suspended (no new scheduled runs).
    pub suspended: bool,
}

/// Starts jobs, lists them, exposes their logs and cancels them. Object safe (`Arc<dyn
/// Orchestrator>`); the async methods return boxed futures so a network backend (Kubernetes) can
/// implement them; the local runner's futures complete without blocking.
pub trait Orchestrator: Send + Sync {
    /// Short name for the console header: `local`, `kubernetes`.
    fn kind(&self) -> &'static str;

    /// Where the jobs run, for the console header next to [`Orchestrator::kind`] (Kubernetes:
    /// `<context>/<namespace>`); `None` when the kind says it all (the local runner).
    fn location(&self) -> Option<String> {
        None
    }

    /// Accepts a job; it starts when a concurrency slot is free. Returns its snapshot
    /// (state [`JobState::Queued`]).
    ///
    /// # Errors
    /// [`OrchestratorError::InvalidRequest`] for a malformed spec, [`OrchestratorError::Io`]
    /// when the log file or index cannot be written.
    fn submit(&self, request: JobRequest) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>>;

    /// Every known job, newest submission first, including jobs started by earlier consoles.
    fn list(&self) -> BoxFuture<'_, Result<Vec<JobInfo>, OrchestratorError>>;

    /// One job.
    ///
    /// # Errors
    /// [`OrchestratorError::UnknownJob`].
    fn job(&self, id: JobId) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>>;

    /// The log behind `log` (a job's [`JobInfo::log`] or a run's recorded reference) as a
    /// stream of lines; see [`LogOptions`] and [`LogStream`]. A reference this orchestrator
    /// cannot read yields one [`OrchestratorError::InvalidRequest`] item and ends.
    fn logs(&self, log: &LogRef, options: LogOptions) -> LogStream;

    /// Cancels a queued job or stops a running one; how is backend-specific (local runner:
    /// SIGTERM to the job's process group; Kubernetes: deleting the Job with its pods). The
    /// returned snapshot may still say `Running` until the backend confirms the end through an
    /// event. Cancelling a finished job is a no-op that returns its snapshot.
    ///
    /// # Errors
    /// [`OrchestratorError::UnknownJob`].
    fn cancel(&self, id: JobId) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>>;

    /// Receives a [`JobEvent`] for every state change from now on.
    fn subscribe(&self) -> broadcast::Receiver<JobEvent>;

    /// The contexts or namespaces the jobs could run in (Kubernetes: the kubeconfig's
    /// contexts; the namespaces the API server lists). Default: none to choose from.
    ///
    /// # Errors
    /// [`OrchestratorError::Unavailable`] for a backend without targets (the local runner);
    /// [`OrchestratorError::Backend`] with the API server's reason (e.g. 403 on namespaces).
    fn targets(&self, kind: TargetKind) -> BoxFuture<'_, Result<Vec<String>, OrchestratorError>> {
        let me = self.kind();
        Box::pin(async move { Err(no_targets(me, kind)) })
    }

    /// Moves this orchestrator to another context or namespace (connects and checks the new
    /// target first; on error nothing changes). Returns the new [`Orchestrator::location`].
    /// Jobs, events and logs from then on are the new target's.
    ///
    /// # Errors
    /// As [`Orchestrator::targets`]; an unknown context is [`OrchestratorError::Backend`].
    fn switch_target(
        &self,
        kind: TargetKind,
        name: String,
    ) -> BoxFuture<'_, Result<String, OrchestratorError>> {
        let me = self.kind();
        let _ = name;
        Box::pin(async move { Err(no_targets(me, kind)) })
    }

    /// The models' schedules and whether each is suspended. Default: none known (empty).
    ///
    /// # Errors
    /// The backend's error (Kubernetes API).
    fn schedules(&self) -> BoxFuture<'_, Result<Vec<ScheduleState>, OrchestratorError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Suspends (`true`) or resumes the schedule of `model` (Kubernetes: `spec.suspend` of its
    /// CronJob).
    ///
    /// # Errors
    /// [`OrchestratorError::Unavailable`] where schedules cannot be suspended (the local
    /// runner); the backend's error (no CronJob, 403).
    fn set_suspended(
        &self,
        model: ModelId,
        suspended: bool,
    ) -> BoxFuture<'_, Result<(), OrchestratorError>> {
        let me = self.kind();
        let _ = (model, suspended);
        Box::pin(async move {
            Err(OrchestratorError::Unavailable(format!(
                "the {me} orchestrator has no schedules to suspend or resume (only [orchestrator] kind = \"kubernetes\" has: the models' CronJobs)"
            )))
        })
    }
}

fn no_targets(kind: &str, target: TargetKind) -> OrchestratorError {
    OrchestratorError::Unavailable(format!(
        "the {kind} orchestrator has no {}s to switch (only [orchestrator] kind = \"kubernetes\" has)",
        target.as_str()
    ))
}
