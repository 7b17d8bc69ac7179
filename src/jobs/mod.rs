//! The job bodies that the CronJobs (and the console's local runner) execute:
//! [`run`] (one model, one calculation date, with retries), [`backfill`] (a date range, bounded
//! concurrency), [`adhoc`] (`driftdeck psi` on any two files) and the [`report`]s they print.
//!
//! Jobs read sources and benchmarks, call the engine and write to the results store; they never
//! talk to the console. Everything a run needs is resolved up front into a [`ModelJob`].

pub mod adhoc;
pub mod backfill;
pub mod lease;
pub mod metrics;
pub mod notify;
pub mod profile;
pub mod report;
pub mod retry;
pub mod run;
pub mod setup;

use std::sync::Arc;

use crate::benchmarks::BenchmarkStore;
use crate::domain::{ModelId, Thresholds, ValueStream};
use crate::engine::{ColumnSpec, EngineOptions};
use crate::sources::CurrentSource;
use crate::store::ResultsStore;

pub use metrics::{Metrics, NoMetrics, Tags};
pub use notify::{Notification, Notifier, NotifyError, OutboxNotifier};
pub use retry::RetryPolicy;

/// Why a job failed. Each variant names what the user has to look at.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Configuration problem (unknown model, bad file).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A benchmark or current file could not be read.
    #[error(transparent)]
    Source(#[from] crate::sources::SourceError),
    /// The benchmark store failed (missing benchmark, profile not writable).
    #[error(transparent)]
    BenchmarkStore(#[from] crate::benchmarks::BenchmarkError),
    /// The engine refused the benchmark (e.g. an all-missing column).
    #[error("benchmark of model {model} ({path}): {source}")]
    Benchmark {
        /// Model id.
        model: String,
        /// Benchmark file.
        path: std::path::PathBuf,
        /// Engine error.
        #[source]
        source: crate::engine::EngineError,
    },
    /// The engine refused the data (empty current population, all-missing column, ...).
    #[error("model {model} on {date}: {source}")]
    Engine {
        /// Model id.
        model: String,
        /// Calculation date.
        date: chrono::NaiveDate,
        /// Engine error.
        #[source]
        source: crate::engine::EngineError,
    },
    /// The engine refused two files given to `driftdeck psi`.
    #[error("comparing {current} with benchmark {benchmark}: {source}")]
    Adhoc {
        /// Benchmark file.
        benchmark: std::path::PathBuf,
        /// Current file.
        current: std::path::PathBuf,
        /// Engine error.
        #[source]
        source: crate::engine::EngineError,
    },
    /// The results store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A backend could not be built from the configuration.
    #[error(transparent)]
    Wiring(#[from] crate::wiring::WiringError),
    /// A bad argument (date, range).
    #[error(transparent)]
    Domain(#[from] crate::domain::DomainError),
    /// The data-quality gate failed the run (nothing was written).
    #[error("model {model} on {date}: data-quality check failed: {summary}")]
    Quality {
        /// Model id.
        model: String,
        /// Calculation date.
        date: chrono::NaiveDate,
        /// The findings, worst first, as one line ([`crate::quality::summary`]).
        summary: String,
    },
    /// Some runs of a batch failed (the details were logged and recorded per run).
    #[error("{failed} of {total} runs failed")]
    Batch {
        /// Failed runs.
        failed: usize,
        /// All runs.
        total: usize,
    },
    /// Anything else with its context.
    #[error("{0}")]
    Other(String),
}

/// What a run of one model needs, resolved from the configuration.
pub struct ModelJob {
    /// Model id.
    pub model_id: ModelId,
    /// Value stream.
    pub value_stream: ValueStream,
    /// Score and characteristics with their binning.
    pub specs: Vec<ColumnSpec>,
    /// Warn/alert thresholds for the status of a result.
    pub thresholds: Thresholds,
    /// Where the current population of a date comes from.
    pub current: Arc<dyn CurrentSource>,
    /// E-mail recipients notified on final failure.
    pub email_recipients: Vec<String>,
    /// Slack channel or webhook name notified on final failure.
    pub slack: Option<String>,
    /// Data-quality checks: `[quality]` with the model's overrides.
    pub quality: crate::quality::QualitySettings,
    /// Where quarantine files go: `<workspace>/quarantine` (see [`crate::quarantine`]).
    pub quarantine_root: std::path::PathBuf,
}

/// Shared services of a job process.
#[derive(Clone)]
pub struct JobContext {
    /// Results store.
    pub store: Arc<dyn ResultsStore>,
    /// Benchmark store (profiles are cached beside the benchmark).
    pub benchmarks: Arc<dyn BenchmarkStore>,
    /// Where final failures are announced.
    pub notifier: Arc<dyn Notifier>,
    /// Where run counters, attempt timings and PSI/CSI gauges go.
    pub metrics: Arc<dyn Metrics>,
    /// Attempts and delay.
    pub retry: RetryPolicy,
    /// Engine options (ε).
    pub engine: EngineOptions,
    /// The Snowflake store's client (`[store] kind = "snowflake"` only): Snowflake query
    /// sources (current data, benchmark refresh) run on it.
    pub snowflake: Option<Arc<crate::store::snowflake::SnowflakeClient>>,
}
