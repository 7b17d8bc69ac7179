//! The console's view of an orchestrator: submit jobs, receive their events.
//!
//! This is the small seam the console needs (README, Design §2). The embedded
//! local runner and a Kubernetes orchestrator implement it (or are adapted to it); tests use
//! `console::fixture::FixtureOrchestrator` (behind the `testkit` feature).

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::orchestrator::{LogOptions, LogRef, LogStream, follow_file};
use tokio::sync::mpsc::UnboundedSender;

/// The console submits the orchestrator's own [`JobRequest`] (one job vocabulary for console,
/// `schedule` and CLI: a [`crate::orchestrator::JobSpec`] plus who asked).
pub use crate::orchestrator::JobRequest;

/// A job accepted by an orchestrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTicket {
    /// Orchestrator job id (local: the run id; Kubernetes: the Job name).
    pub job_id: String,
    /// Model id.
    pub model_id: String,
    /// Calculation date, when the job is for one date.
    pub date: Option<NaiveDate>,
    /// The job's log for [`ConsoleOrchestrator::logs`], when the orchestrator keeps one.
    pub log: Option<LogRef>,
}

/// What a running job reports back to the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEvent {
    /// The job started executing.
    Started {
        /// Job id from the [`JobTicket`].
        job_id: String,
    },
    /// One line of the job's log.
    Log {
        /// Job id.
        job_id: String,
        /// The line, without its newline.
        line: String,
    },
    /// The job ended (after its retries).
    Finished {
        /// Job id.
        job_id: String,
        /// True when the final attempt succeeded.
        success: bool,
        /// Error text of the final failed attempt.
        error: Option<String>,
    },
}

/// Why an orchestrator refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunnerError {
    /// The orchestrator cannot be reached or cannot start processes.
    #[error("orchestrator unavailable: {0}")]
    Unavailable(String),
    /// The request itself is invalid (unknown model, empty date list, ...).
    #[error("invalid job request: {0}")]
    Invalid(String),
    /// The action exists in the console but no job is configured for it.
    #[error("{0}")]
    NotConfigured(String),
}

/// An orchestrator as the console uses it. `submit` must return quickly: it starts the work in
/// the background and reports progress through `events`.
pub trait ConsoleOrchestrator: Send + Sync {
    /// Short name for the header: `local`, `kubernetes`.
    fn kind(&self) -> &str;

    /// True when a benchmark refresh job exists; until then the console reports
    /// "benchmark refresh is not configured".
    fn refresh_configured(&self) -> bool;

    /// Starts the job of `request`; one ticket per job the orchestrator started for it.
    ///
    /// # Errors
    /// [`RunnerError`] when nothing could be started.
    fn submit(
        &self,
        request: &JobRequest,
        events: UnboundedSender<JobEvent>,
    ) -> Result<Vec<JobTicket>, RunnerError>;

    /// The lines of a job's or a stored run's log (see [`crate::orchestrator::Orchestrator::logs`]).
    /// The default, for consoles without a real orchestrator (tests, no runner configured),
    /// follows `log` as a file path.
    fn logs(&self, log: &LogRef, options: LogOptions) -> LogStream {
        follow_file(PathBuf::from(log.as_str()), options)
    }
}

/// An orchestrator that runs nothing: the console's fallback when none is configured.
#[derive(Debug, Clone, Default)]
pub struct NoOrchestrator;

impl ConsoleOrchestrator for NoOrchestrator {
    fn kind(&self) -> &str {
        "none"
    }
    fn refresh_configured(&self) -> bool {
        false
    }
    fn submit(
        &self,
        _request: &JobRequest,
        _events: UnboundedSender<JobEvent>,
    ) -> Result<Vec<JobTicket>, RunnerError> {
        Err(RunnerError::Unavailable(
            "no orchestrator is configured ([orchestrator] in driftdeck.toml)".into(),
        ))
    }
}
