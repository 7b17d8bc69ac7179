//! Adapter from the project's [`Orchestrator`] (local runner, later Kubernetes) to the small
//! synchronous [`ConsoleOrchestrator`] interface the console's dispatcher calls from its
//! blocking pool. Thin: requests are the orchestrator's own [`JobRequest`]s (built by
//! [`super::action::Action::requests`]); the adapter only refuses a refresh while no refresh
//! job is configured, submits, forwards job state changes (from every console and the
//! scheduler) as the console's [`JobEvent`] messages, and forwards [`ConsoleOrchestrator::logs`].
//! Backfill rules live in `jobs::backfill`.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;

use crate::orchestrator::{JobSpec, JobState, LogOptions, LogRef, LogStream, Orchestrator};

use super::runner::{ConsoleOrchestrator, JobEvent, JobRequest, JobTicket, RunnerError};

/// Wraps an [`Orchestrator`] for the console.
pub struct OrchestratorAdapter {
    inner: Arc<dyn Orchestrator>,
    refresh_configured: bool,
    forwarding: Mutex<bool>,
}

impl OrchestratorAdapter {
    /// Adapter over `inner`; `refresh_configured` says whether a benchmark refresh job exists.
    pub fn new(inner: Arc<dyn Orchestrator>, refresh_configured: bool) -> Self {
        Self {
            inner,
            refresh_configured,
            forwarding: Mutex::new(false),
        }
    }

    /// Forwards state changes to `events` (once; later calls reuse the first forwarder).
    fn ensure_forwarding(&self, events: &UnboundedSender<JobEvent>) {
        let mut started = self.forwarding.lock().unwrap_or_else(|p| p.into_inner());
        if *started {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        *started = true;
        let mut rx = self.inner.subscribe();
        let events = events.clone();
        handle.spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => {
                        let job_id = ev.job.id.to_string();
                        let msg = match ev.job.state {
                            JobState::Queued => continue,
                            JobState::Running => JobEvent::Started { job_id },
                            JobState::Succeeded => JobEvent::Finished {
                                job_id,
                                success: true,
                                error: None,
                            },
                            state => JobEvent::Finished {
                                job_id,
                                success: false,
                                error: Some(match (&ev.job.note, ev.job.exit_code) {
                                    (Some(n), _) => format!("{state}: {n}"),
                                    (None, Some(c)) => format!("{state}: exit code {c}"),
                                    (None, None) => state.to_string(),
                                }),
                            },
                        };
                        if events.send(msg).is_err() {
                            break;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("missed {n} job events; the next refresh resynchronises");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }

    /// The one rule the adapter keeps: a refresh needs a configured refresh job.
    fn check(&self, request: &JobRequest) -> Result<(), RunnerError> {
        if matches!(request.spec, JobSpec::RefreshBenchmarks { .. }) && !self.refresh_configured {
            return Err(RunnerError::NotConfigured(
                super::action::REFRESH_NOT_CONFIGURED.into(),
            ));
        }
        request
            .spec
            .validate()
            .map_err(|e| RunnerError::Invalid(e.to_string()))
    }
}

impl ConsoleOrchestrator for OrchestratorAdapter {
    fn kind(&self) -> &str {
        self.inner.kind()
    }

    fn logs(&self, log: &LogRef, options: LogOptions) -> LogStream {
        self.inner.logs(log, options)
    }

    fn refresh_configured(&self) -> bool {
        self.refresh_configured
    }

    fn submit(
        &self,
        request: &JobRequest,
        events: UnboundedSender<JobEvent>,
    ) -> Result<Vec<JobTicket>, RunnerError> {
        self.check(request)?;
        self.ensure_forwarding(&events);
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| RunnerError::Unavailable("no tokio runtime".into()))?;
        let date = match &request.spec {
            JobSpec::Run { date, .. } => *date,
            _ => None,
        };
        // Called from a blocking thread (the dispatcher runs on spawn_blocking).
        let info = handle
            .block_on(self.inner.submit(request.clone()))
            .map_err(|e| RunnerError::Unavailable(e.to_string()))?;
        let tickets = vec![JobTicket {
            job_id: info.id.to_string(),
            model_id: request.spec.target(),
            date,
            log: Some(info.log),
        }];
        Ok(tickets)
    }
}
