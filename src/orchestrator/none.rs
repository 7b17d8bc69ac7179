//! [`NoOrchestrator`]: the orchestrator of a console or tool that has none configured.

use futures::future::BoxFuture;
use tokio::sync::broadcast;

use super::{
    JobEvent, JobId, JobInfo, JobRequest, LogOptions, LogRef, LogStream, Orchestrator,
    OrchestratorError,
};

/// An orchestrator that runs nothing: every call fails with
/// [`OrchestratorError::Unavailable`] naming the `[orchestrator]` section, every log stream is
/// that one error item, and its event stream is closed at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOrchestrator;

fn unavailable() -> OrchestratorError {
    OrchestratorError::Unavailable(
        "no orchestrator is configured ([orchestrator] in driftdeck.toml)".into(),
    )
}

impl Orchestrator for NoOrchestrator {
    fn kind(&self) -> &'static str {
        "none"
    }

    fn submit(&self, _request: JobRequest) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async { Err(unavailable()) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<JobInfo>, OrchestratorError>> {
        Box::pin(async { Err(unavailable()) })
    }

    fn job(&self, _id: JobId) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async { Err(unavailable()) })
    }

    fn logs(&self, _log: &LogRef, _options: LogOptions) -> LogStream {
        Box::pin(futures::stream::once(async { Err(unavailable()) }))
    }

    fn cancel(&self, _id: JobId) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async { Err(unavailable()) })
    }

    fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        // The sender is dropped here: receivers see `Closed` at once.
        broadcast::channel(1).1
    }
}
