//! The one wiring point (README, Design §2): every backend the configuration names is built here,
//! from [`Config`], and nowhere else. Jobs ([`crate::jobs::setup`]), the console
//! ([`crate::app`]), the demo ([`crate::demo`]) and the CLI (`main.rs`) all get their results
//! store, benchmark store, notifier, metrics and orchestrator from these functions.
//!
//! A `kind` that the configuration format knows but this binary does not build yet (for example
//! `[store] kind = "snowflake"`) is refused when the configuration loads, naming the key and the
//! file; the `match`es below are the place where a new backend is added.
//!
//! [`health`] asks every configured backend whether it works (`driftdeck doctor`, and the console
//! header at start).

use std::path::Path;
use std::sync::Arc;

use crate::benchmarks::{BenchmarkStore, LocalDirStore};
use crate::config::{
    Backend, BenchmarkSettings, Config, MetricsSettings, NotifySettings, OrchestratorSettings,
    StoreSettings,
};
use crate::jobs::{Metrics, NoMetrics, Notifier, OutboxNotifier};
use crate::orchestrator::kubernetes::KubeOrchestrator;
use crate::orchestrator::{LocalRunner, LocalRunnerConfig, Orchestrator, OrchestratorError};
use crate::store::snowflake::store::SCHEMA_VERSION as SNOWFLAKE_SCHEMA_VERSION;
use crate::store::snowflake::{SnowflakeClient, SnowflakeStore};
use crate::store::sqlite::{SCHEMA_VERSION, SqliteOptions, SqliteStore};
use crate::store::{ResultsStore, StoreError};

/// File name of the outbox inside `[notify] outbox`.
pub const OUTBOX_FILE: &str = "notifications.jsonl";

/// Why a backend could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// The results store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The orchestrator could not be started.
    #[error(transparent)]
    Orchestrator(#[from] OrchestratorError),
    /// A backend that is built but cannot start (missing secret, unresolvable address).
    #[error("[{key}]: {message}")]
    Backend {
        /// The section, e.g. `notify`.
        key: String,
        /// What is wrong (never a secret).
        message: String,
    },
}

/// The process environment, as the notifier and metrics backends read their secrets and the
/// Datadog agent address.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The backends of a workspace that jobs, the console and the CLI share. The orchestrator is
/// built separately by [`orchestrator`], because it needs an async runtime and only the console
/// and `schedule` use it.
#[derive(Clone)]
pub struct Backends {
    /// Results store (`[store]`).
    pub store: Arc<dyn ResultsStore>,
    /// Benchmark store (`[benchmarks]`, with the models' overrides).
    pub benchmarks: Arc<dyn BenchmarkStore>,
    /// Notifier (`[notify]`).
    pub notifier: Arc<dyn Notifier>,
    /// Metrics (`[metrics]`).
    pub metrics: Arc<dyn Metrics>,
    /// The Snowflake store's client (`[store] kind = "snowflake"` only), on which Snowflake
    /// query sources run (models.yaml `current: query:` and `refresh: source: query:`).
    pub snowflake: Option<Arc<SnowflakeClient>>,
}

impl Backends {
    /// Builds every backend of `config`.
    ///
    /// # Errors
    /// A results store that cannot be opened (path named), or a kind not built.
    pub fn open(config: &Config) -> Result<Self, WiringError> {
        let (store, snowflake): (Arc<dyn ResultsStore>, _) = match &config.settings.store {
            StoreSettings::Snowflake(s) => {
                let store = SnowflakeStore::open(s, &config.workspace_root)?;
                let client = store.shared_client();
                (Arc::new(store), Some(client))
            }
            StoreSettings::Sqlite(_) => (results_store(config)?, None),
        };
        Ok(Self {
            store,
            snowflake,
            benchmarks: benchmark_store(config)?,
            notifier: notifier(config)?,
            metrics: metrics(config)?,
        })
    }
}

/// The results store of `[store]` (opened read-write; a SQLite file is created and migrated).
///
/// # Errors
/// [`WiringError::Store`] naming the file, or a kind not built.
pub fn results_store(config: &Config) -> Result<Arc<dyn ResultsStore>, WiringError> {
    match &config.settings.store {
        StoreSettings::Sqlite(s) => Ok(Arc::new(SqliteStore::open(&s.path)?)),
        StoreSettings::Snowflake(s) => {
            Ok(Arc::new(SnowflakeStore::open(s, &config.workspace_root)?))
        }
    }
}

/// One line naming the results store, e.g. `sqlite /ws/driftdeck.sqlite`.
pub fn describe_store(config: &Config) -> String {
    match &config.settings.store {
        StoreSettings::Sqlite(s) => format!("sqlite {}", s.path.display()),
        StoreSettings::Snowflake(s) => {
            format!("snowflake {}/{}.{}", s.account, s.database, s.schema)
        }
    }
}

/// The directory benchmark store of `[benchmarks]`: its root and every model's `benchmark`
/// override (env `MODEL_<ID>_BENCHMARKING_PATH` and a file `BENCHMARKING_PATH` included).
pub fn local_benchmark_store(config: &Config) -> LocalDirStore {
    let BenchmarkSettings::Dir(dir) = &config.settings.benchmarks;
    let mut store = LocalDirStore::new(dir.root.clone());
    for m in &config.models {
        if let Some(p) = &m.benchmark {
            store = store.with_override(m.id.clone(), p.clone());
        }
    }
    store
}

/// The benchmark store of `[benchmarks]`.
///
/// # Errors
/// None today (every benchmark kind is built); kept fallible for the kinds to come.
pub fn benchmark_store(config: &Config) -> Result<Arc<dyn BenchmarkStore>, WiringError> {
    Ok(Arc::new(local_benchmark_store(config)))
}

/// The notifier of `[notify]`.
///
/// # Errors
/// A kind not built.
pub fn notifier(config: &Config) -> Result<Arc<dyn Notifier>, WiringError> {
    match &config.settings.notify {
        NotifySettings::Outbox(o) => Ok(Arc::new(OutboxNotifier::new(o.outbox.join(OUTBOX_FILE)))),
        NotifySettings::Slack(s) => crate::notify::SlackNotifier::from_settings(s, &process_env)
            .map(|n| Arc::new(n) as Arc<dyn Notifier>)
            .map_err(|e| WiringError::Backend {
                key: "notify".into(),
                message: e.to_string(),
            }),
        NotifySettings::Email(e) => {
            let mut e = e.clone();
            e.ca_file = e.ca_file.map(|p| config.workspace_root.join(p));
            crate::notify::EmailNotifier::from_settings(&e, &process_env)
                .map(|n| Arc::new(n) as Arc<dyn Notifier>)
                .map_err(|err| WiringError::Backend {
                    key: "notify".into(),
                    message: err.to_string(),
                })
        }
    }
}

/// The metrics backend of `[metrics]`.
///
/// # Errors
/// A kind not built.
pub fn metrics(config: &Config) -> Result<Arc<dyn Metrics>, WiringError> {
    match &config.settings.metrics {
        MetricsSettings::None => Ok(Arc::new(NoMetrics)),
        MetricsSettings::Dogstatsd(d) => {
            crate::metrics_dogstatsd::DogStatsd::from_settings(d, &process_env)
                .map(|m| Arc::new(m) as Arc<dyn Metrics>)
                .map_err(|e| WiringError::Backend {
                    key: "metrics".into(),
                    message: e.to_string(),
                })
        }
    }
}

/// The orchestrator of `[orchestrator]`, running jobs as this executable with this
/// configuration. Must be called inside a tokio runtime.
///
/// # Errors
/// [`WiringError::Orchestrator`] (no runtime, log directory not creatable), or a kind not built.
pub fn orchestrator(config: &Config) -> Result<Arc<dyn Orchestrator>, WiringError> {
    match &config.settings.orchestrator {
        OrchestratorSettings::Local(l) => {
            let runner = LocalRunnerConfig::for_current_exe(&l.log_dir, l.concurrency)
                .map(|c| c.with_config_path(&config.settings_path))
                .and_then(LocalRunner::open)?;
            Ok(Arc::new(runner))
        }
        OrchestratorSettings::Kubernetes(k) => {
            let mut kube = KubeOrchestrator::lazy(k.clone())?;
            // Backfill dates are planned by jobs/ from the results store (only missing or
            // failed vs all); without a store every date of the range runs.
            if let Ok(store) = results_store(config) {
                kube = kube.with_planner(Arc::new(move |model, from, to, only_missing| {
                    backfill_dates(store.as_ref(), model, from, to, only_missing)
                }));
            }
            Ok(Arc::new(kube))
        }
    }
}

/// The dates a backfill of `model` runs ([`crate::jobs::backfill::plan_dates`] on the store's
/// date status); every date of the range when the store cannot say. Used by the Kubernetes
/// orchestrator's backfill and by `driftdeck backfill --kubernetes`.
pub fn backfill_dates(
    store: &dyn ResultsStore,
    model: &crate::domain::ModelId,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    only_missing: bool,
) -> Vec<chrono::NaiveDate> {
    use std::collections::{BTreeSet, HashMap};
    let all = || from.iter_days().take_while(|d| *d <= to).collect();
    let Ok(rows) = store.date_status(&[model.to_string()], from, to) else {
        return all();
    };
    let mut stored = BTreeSet::new();
    let mut newest = HashMap::new();
    for row in rows {
        if row.has_result {
            stored.insert(row.calculation_date);
        }
        if let Some(status) = row.run_status {
            newest.insert(row.calculation_date, status);
        }
    }
    crate::jobs::backfill::plan_dates(from, to, only_missing, &stored, &newest)
        .map(|p| p.dates)
        .unwrap_or_else(|_| all())
}

/// One line naming the orchestrator, e.g. `local, concurrency 2, logs /ws/logs`.
pub fn describe_orchestrator(config: &Config) -> String {
    match &config.settings.orchestrator {
        OrchestratorSettings::Local(l) => format!(
            "local, concurrency {}, logs {}",
            l.concurrency,
            l.log_dir.display()
        ),
        OrchestratorSettings::Kubernetes(k) => format!(
            "kubernetes, context {}, namespace {}, {} Jobs in flight per backfill",
            k.context.as_deref().unwrap_or("(current)"),
            k.namespace,
            k.concurrency
        ),
    }
}

/// The answer of one backend's health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Which backend: `store`, `benchmarks`, `orchestrator`, `notify` or `metrics`.
    pub backend: &'static str,
    /// What was checked (kind and target).
    pub target: String,
    /// `Ok(detail)` or `Err(problem)`.
    pub outcome: Result<String, String>,
    /// How to fix a failure (empty when healthy).
    pub fix: String,
}

impl Health {
    fn ok(backend: &'static str, target: String, detail: impl Into<String>) -> Self {
        Self {
            backend,
            target,
            outcome: Ok(detail.into()),
            fix: String::new(),
        }
    }

    fn fail(
        backend: &'static str,
        target: String,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            backend,
            target,
            outcome: Err(problem.into()),
            fix: fix.into(),
        }
    }

    /// True when the check passed.
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// One line: `ok   store  sqlite /ws/x.sqlite: schema 3` or
    /// `FAIL store  ...: problem — fix: ...`.
    pub fn line(&self) -> String {
        match &self.outcome {
            Ok(detail) => format!("ok    {:<12} {}: {detail}", self.backend, self.target),
            Err(problem) => format!(
                "FAIL  {:<12} {}: {problem} — fix: {}",
                self.backend, self.target, self.fix
            ),
        }
    }
}

/// Checks that `dir` exists (or can be created) and accepts a file: creates and removes a probe.
fn writable_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the directory: {e}"))?;
    tempfile::Builder::new()
        .prefix(".driftdeck-doctor-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| format!("not writable: {e}"))
}

fn check_store(config: &Config) -> Health {
    let target = describe_store(config);
    match &config.settings.store {
        StoreSettings::Sqlite(s) => {
            if !s.path.is_file() {
                return Health::fail(
                    "store",
                    target,
                    "the database file does not exist",
                    "run any job (e.g. `driftdeck run --all`) or `driftdeck demo init` to create it, or fix [store] path",
                );
            }
            let options = SqliteOptions {
                read_only: true,
                ..SqliteOptions::default()
            };
            match SqliteStore::open_with(&s.path, &options).and_then(|st| st.schema_version()) {
                Ok(v) if v == SCHEMA_VERSION => {
                    Health::ok("store", target, format!("reachable, schema {v} (current)"))
                }
                Ok(v) => Health::fail(
                    "store",
                    target,
                    format!("schema {v}, this binary writes {SCHEMA_VERSION}"),
                    "run one job with this binary to migrate the schema",
                ),
                Err(e) => Health::fail(
                    "store",
                    target,
                    e.to_string(),
                    "check the file's permissions and that it is a driftdeck SQLite database",
                ),
            }
        }
        StoreSettings::Snowflake(s) => {
            let opened = SnowflakeStore::open(s, &config.workspace_root);
            let queued = opened.as_ref().ok().and_then(|st| st.pending().ok());
            let checked = opened.and_then(|st| Ok((st.check()?, st.pending()?)));
            let queued = queued.map_or(String::new(), |n| {
                format!(" ({n} result(s) pending locally)")
            });
            match checked {
                Ok((v, pending)) if v == SNOWFLAKE_SCHEMA_VERSION => Health::ok(
                    "store",
                    target,
                    format!("reachable, schema {v} (current), {pending} result(s) pending"),
                ),
                Ok((v, _)) => Health::fail(
                    "store",
                    target,
                    format!("schema {v}, this binary writes {SNOWFLAKE_SCHEMA_VERSION}"),
                    "run `driftdeck migrate`",
                ),
                Err(e) => Health::fail(
                    "store",
                    target,
                    format!("{e}{queued}"),
                    "check [store] account, user, the secret, network access, and run `driftdeck migrate`; then `driftdeck sync`",
                ),
            }
        }
    }
}

fn check_benchmarks(config: &Config) -> Health {
    let BenchmarkSettings::Dir(dir) = &config.settings.benchmarks;
    let target = format!("dir {}", dir.root.display());
    if !dir.root.is_dir() {
        return Health::fail(
            "benchmarks",
            target,
            "the benchmark root is not a directory",
            "mount the benchmark volume or fix [benchmarks] root / BENCHMARKING_PATH",
        );
    }
    if let Err(e) = std::fs::read_dir(&dir.root) {
        return Health::fail(
            "benchmarks",
            target,
            format!("not readable: {e}"),
            "give this user read access to the benchmark root",
        );
    }
    if let Err(e) = writable_dir(&dir.root) {
        return Health::fail(
            "benchmarks",
            target,
            e,
            "give this user write access (profiles and refreshed benchmarks are written there)",
        );
    }
    let store = local_benchmark_store(config);
    let in_tree = match store.list() {
        Ok(found) => found.len(),
        Err(e) => {
            return Health::fail(
                "benchmarks",
                target,
                e.to_string(),
                "give this user read access to every value stream directory",
            );
        }
    };
    let missing: Vec<String> = config
        .models
        .iter()
        .filter(|m| {
            store
                .benchmark_path(&m.value_stream, &m.id)
                .map(|p| !p.is_file())
                .unwrap_or(true)
        })
        .map(|m| m.id.to_string())
        .collect();
    if missing.is_empty() {
        Health::ok(
            "benchmarks",
            target,
            format!(
                "readable and writable, a benchmark for each of {} model(s), {in_tree} in the tree",
                config.models.len()
            ),
        )
    } else {
        Health::fail(
            "benchmarks",
            target,
            format!("no benchmark file for: {}", missing.join(", ")),
            "place <root>/<value_stream>/<model_id>/benchmark.csv or set the model's `benchmark`",
        )
    }
}

fn check_orchestrator(config: &Config) -> Health {
    let target = describe_orchestrator(config);
    match &config.settings.orchestrator {
        OrchestratorSettings::Local(l) => match writable_dir(&l.log_dir) {
            Ok(()) => Health::ok("orchestrator", target, "log directory writable"),
            Err(e) => Health::fail(
                "orchestrator",
                target,
                format!("log directory {e}"),
                "fix [orchestrator] log_dir or its permissions",
            ),
        },
        OrchestratorSettings::Kubernetes(k) => {
            match crate::orchestrator::kubernetes::client::check_config(k) {
                Ok(detail) => Health::ok("orchestrator", target, detail),
                Err(e) => Health::fail(
                    "orchestrator",
                    target,
                    e,
                    "set KUBECONFIG (or run in a pod), or fix [orchestrator] context",
                ),
            }
        }
    }
}

fn check_notify(config: &Config) -> Health {
    match &config.settings.notify {
        NotifySettings::Outbox(o) => {
            let target = format!("outbox {}", o.outbox.join(OUTBOX_FILE).display());
            match writable_dir(&o.outbox) {
                Ok(()) => {
                    let note = match &o.slack_webhook_env {
                        Some(var) => format!(
                            "; slack_webhook_env {var} is not used by kind \"outbox\" (a Slack notifier reads it)"
                        ),
                        None => String::new(),
                    };
                    Health::ok("notify", target, format!("outbox directory writable{note}"))
                }
                Err(e) => Health::fail(
                    "notify",
                    target,
                    format!("outbox directory {e}"),
                    "fix [notify] outbox or its permissions",
                ),
            }
        }
        NotifySettings::Slack(_) | NotifySettings::Email(_) => match notifier(config) {
            Ok(n) => Health::ok(
                "notify",
                n.describe(),
                "configured (delivery is tried at the first notification)",
            ),
            Err(e) => Health::fail(
                "notify",
                config.settings.notify.kind().to_string(),
                e.to_string(),
                "set the secret's environment variable (or <VAR>_FILE) and check [notify]",
            ),
        },
    }
}

fn check_metrics(config: &Config) -> Health {
    match &config.settings.metrics {
        MetricsSettings::None => Health::ok("metrics", "none".into(), "metrics are off"),
        MetricsSettings::Dogstatsd(_) => match metrics(config) {
            Ok(m) => Health::ok(
                "metrics",
                m.describe(),
                "UDP socket open (datagrams to an absent agent are dropped, never fail a job)",
            ),
            Err(e) => Health::fail(
                "metrics",
                "dogstatsd".into(),
                e.to_string(),
                "fix [metrics] address or DD_AGENT_HOST / DD_DOGSTATSD_PORT",
            ),
        },
    }
}

/// Asks every configured backend whether it works: the results store (reachable, schema
/// current), the benchmark root (readable, writable, a benchmark per model), the orchestrator's
/// log directory, the notifier's target and the metrics backend. Never panics; writes nothing
/// but a removed probe file (and creates a missing log or outbox directory, as a job would).
pub fn health(config: &Config) -> Vec<Health> {
    vec![
        check_store(config),
        check_benchmarks(config),
        check_orchestrator(config),
        check_notify(config),
        check_metrics(config),
    ]
}
