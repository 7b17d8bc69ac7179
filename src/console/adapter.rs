//! Adapter from the project's [`Orchestrator`] (local runner, later Kubernetes) to the small
//! [`ConsoleOrchestrator`] interface the console dispatches to.
//!
//! - rerun → one `run --model M --date D` job;
//! - backfill → one `backfill --from --to [--only-missing]` job (the job plans its dates with
//!   the dry run's rules, so failed dates with a result run too);
//! - refresh → `refresh-benchmarks --model M`, only when `refresh_configured`;
//! - job state changes (from every console and the scheduler) become [`JobEvent`]s.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;

use crate::domain::{ModelId, RunAction};
use crate::orchestrator::{
    self as orch, JobSpec, JobState, LogOptions, LogRef, LogStream, Orchestrator,
};

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

    fn specs(&self, request: &JobRequest) -> Result<Vec<JobSpec>, RunnerError> {
        let model = ModelId::new(request.model_id.clone())
            .map_err(|e| RunnerError::Invalid(e.to_string()))?;
        Ok(match request.action {
            RunAction::Run => request
                .dates
                .iter()
                .map(|d| JobSpec::Run {
                    model: model.clone(),
                    date: Some(*d),
                })
                .collect(),
            RunAction::Backfill => {
                let (Some(from), Some(to)) =
                    (request.range.map(|r| r.0), request.range.map(|r| r.1))
                else {
                    return Err(RunnerError::Invalid("backfill without a date range".into()));
                };
                // One job; which dates it runs (missing or failed) is planned by the job
                // itself with the same rules as the dry run (`jobs::backfill::plan_dates`).
                vec![JobSpec::Backfill {
                    model: model.clone(),
                    from,
                    to,
                    only_missing: request.only_missing,
                }]
            }
            RunAction::Refresh => {
                if !self.refresh_configured {
                    return Err(RunnerError::NotConfigured(
                        super::action::REFRESH_NOT_CONFIGURED.into(),
                    ));
                }
                vec![JobSpec::RefreshBenchmarks {
                    model: Some(model),
                    value_stream: None,
                    all: false,
                    dry_run: false,
                }]
            }
        })
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
        let specs = self.specs(request)?;
        self.ensure_forwarding(&events);
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| RunnerError::Unavailable("no tokio runtime".into()))?;
        let mut tickets = Vec::new();
        for spec in specs {
            let date = match &spec {
                JobSpec::Run { date, .. } => *date,
                _ => None,
            };
            let job = orch::JobRequest {
                spec,
                triggered_by: request.triggered_by.clone(),
            };
            // Called from a blocking thread (the dispatcher runs on spawn_blocking).
            match handle.block_on(self.inner.submit(job)) {
                Ok(info) => tickets.push(JobTicket {
                    job_id: info.id.to_string(),
                    model_id: request.model_id.clone(),
                    date,
                    log: Some(info.log),
                }),
                Err(e) if tickets.is_empty() => {
                    return Err(RunnerError::Unavailable(e.to_string()));
                }
                Err(e) => {
                    tracing::warn!("job not started: {e}");
                    break;
                }
            }
        }
        Ok(tickets)
    }
}
