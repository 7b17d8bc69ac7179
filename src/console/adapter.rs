//! The console's one handle on the project's [`Orchestrator`] (local runner, Kubernetes, the
//! test fake, or [`crate::orchestrator::NoOrchestrator`]): a concrete adapter, not a second job
//! vocabulary. It submits the orchestrator's own [`JobRequest`]s (built by
//! [`super::action::Action::requests`]) from the dispatcher's blocking thread, reads logs, and
//! forwards every [`crate::orchestrator::JobEvent`] (from every console and the scheduler) into
//! the UI loop as [`Msg::Job`]. Backfill rules live in `jobs::backfill`; whether a refresh job
//! exists is the one console rule it carries.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::orchestrator::{
    JobInfo, JobRequest, LogOptions, LogRef, LogStream, Orchestrator, OrchestratorError,
};

use super::app::Msg;

/// Wraps an [`Orchestrator`] for the console.
#[derive(Clone)]
pub struct OrchestratorAdapter {
    inner: Arc<dyn Orchestrator>,
    refresh_configured: bool,
}

impl std::fmt::Debug for OrchestratorAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrchestratorAdapter")
            .field("kind", &self.inner.kind())
            .field("refresh_configured", &self.refresh_configured)
            .finish()
    }
}

impl OrchestratorAdapter {
    /// Adapter over `inner`; `refresh_configured` says whether a benchmark refresh job exists
    /// (until then the console reports [`super::action::REFRESH_NOT_CONFIGURED`]).
    pub fn new(inner: Arc<dyn Orchestrator>, refresh_configured: bool) -> Self {
        Self {
            inner,
            refresh_configured,
        }
    }

    /// Short name for the header: `local`, `kubernetes`, `none`.
    pub fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    /// The header's orchestrator label: the kind and, where the backend has one, its location
    /// (`kubernetes prod-eks/model-monitoring`).
    pub fn label(&self) -> String {
        match self.inner.location() {
            Some(place) => format!("{} {place}", self.inner.kind()),
            None => self.inner.kind().to_string(),
        }
    }

    /// True when a benchmark refresh job exists.
    pub fn refresh_configured(&self) -> bool {
        self.refresh_configured
    }

    /// The orchestrator behind the adapter.
    pub fn orchestrator(&self) -> &Arc<dyn Orchestrator> {
        &self.inner
    }

    /// Submits `request` and waits for the orchestrator's answer (the job's snapshot). Blocking:
    /// call it from a blocking thread inside a tokio runtime (the dispatcher runs on
    /// `spawn_blocking`), never from async code.
    ///
    /// # Errors
    /// The orchestrator's [`OrchestratorError`]; [`OrchestratorError::NoRuntime`] outside a
    /// tokio runtime.
    pub fn submit_blocking(&self, request: JobRequest) -> Result<JobInfo, OrchestratorError> {
        let handle =
            tokio::runtime::Handle::try_current().map_err(|_| OrchestratorError::NoRuntime)?;
        handle.block_on(self.inner.submit(request))
    }

    /// Suspends or resumes the schedule of `model` (see [`Orchestrator::set_suspended`]).
    /// Blocking, like [`OrchestratorAdapter::submit_blocking`].
    ///
    /// # Errors
    /// The orchestrator's [`OrchestratorError`].
    pub fn set_suspended_blocking(
        &self,
        model: crate::domain::ModelId,
        suspended: bool,
    ) -> Result<(), OrchestratorError> {
        let handle =
            tokio::runtime::Handle::try_current().map_err(|_| OrchestratorError::NoRuntime)?;
        handle.block_on(self.inner.set_suspended(model, suspended))
    }

    /// The lines of a job's or a stored run's log (see [`Orchestrator::logs`]).
    pub fn logs(&self, log: &LogRef, options: LogOptions) -> LogStream {
        self.inner.logs(log, options)
    }

    /// Forwards every job state change from now on to `tx` as [`Msg::Job`], until `tx` or the
    /// orchestrator's event stream closes; a subscriber that lagged logs a warning (the next
    /// overview refresh resynchronises). Must be called inside a tokio runtime.
    pub fn forward_events(&self, tx: UnboundedSender<Msg>) -> JoinHandle<()> {
        let mut rx = self.inner.subscribe();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => {
                        if tx.send(Msg::Job(ev)).is_err() {
                            break;
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!("missed {n} job events; the next refresh resynchronises");
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        })
    }
}
