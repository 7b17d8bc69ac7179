//! [`KubeOrchestrator`]: the [`Orchestrator`] trait on [`KubeBackend`], so the console, the
//! scheduler and the CLI drive Kubernetes exactly as they drive the local runner.
//!
//! Mapping: a job is a Kubernetes Job (its id is the Job name); `Run` = a Job from the model's
//! CronJob with `--date` (yesterday when none is given, the job CLI's default); `Backfill` = a
//! driftdeck-side parent job (id `backfill-…`, kept in this process) that creates one Job per
//! date with at most `[orchestrator] concurrency` in flight and none for a date that already has
//! an unfinished Job, and ends when they have; `RefreshBenchmarks` = a Job from the refresh
//! CronJob. Job states: pending → queued, running/retrying → running (the note says
//! `retrying`), succeeded, failed (the note carries the reason: `BackoffLimitExceeded:
//! OOMKilled`, `ImagePullBackOff`…). Events come from a watch of the Jobs (re-listed after 410
//! Gone and after errors). Logs: `k8s:<namespace>/job/<name>` streams the Job's newest pod;
//! a backfill parent's log (`k8s-backfill:<id>`) lists what it created. Cancel deletes the Job
//! (its pods go with it), or stops a backfill parent from creating more Jobs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use futures::future::BoxFuture;
use futures::{StreamExt, stream};
use tokio::sync::{OnceCell, broadcast};

use super::client::{
    KubeBackend, KubeError, LogOptions as KubeLogOptions, RunInfo, WatchSignal,
    kubeconfig_contexts, run_info,
};
use super::names::{self, slug};
use super::status::RunPhase;
use super::{log_ref_prefix, parse_log_ref};
use crate::config::KubernetesSettings;
use crate::domain::ModelId;
use crate::orchestrator::{
    JobEvent, JobId, JobInfo, JobRequest, JobSpec, JobState, LogOptions, LogRef, LogStream,
    Orchestrator, OrchestratorError, ScheduleState, TargetKind,
};

/// Scheme of a backfill parent's log reference: `k8s-backfill:<id>`.
pub const BACKFILL_LOG_SCHEME: &str = "k8s-backfill:";

/// How long a following log stream waits for a new Job's first pod.
pub const NO_POD_WAIT: Duration = Duration::from_secs(600);

/// Lines a log stream returns without `tail` (bounded, as the local runner's 5,000).
pub const DEFAULT_TAIL: i64 = 5_000;

/// Chooses the dates of a backfill: `(model, from, to, only_missing)` → dates to run. The wiring
/// passes the planner of `jobs/` (which knows the store); without one every date of the range is
/// run.
pub type BackfillPlanner =
    Arc<dyn Fn(&ModelId, NaiveDate, NaiveDate, bool) -> Vec<NaiveDate> + Send + Sync>;

struct Parent {
    info: JobInfo,
    lines: Vec<String>,
    cancel: Arc<AtomicBool>,
}

type Parents = Arc<Mutex<BTreeMap<JobId, Parent>>>;

/// The Kubernetes [`Orchestrator`]. It connects on first use (and its watch retries until it
/// can), so a console starts and shows the reason when the cluster is unreachable.
pub struct KubeOrchestrator {
    /// Context/namespace in use and its (lazily connected) backend; replaced whole by
    /// [`Orchestrator::switch_target`].
    target: std::sync::RwLock<Target>,
    events: broadcast::Sender<JobEvent>,
    parents: Parents,
    /// Jobs this console cancelled (deleted): their last snapshot, state `Cancelled`.
    cancelled: Arc<Mutex<BTreeMap<JobId, JobInfo>>>,
    planner: Option<BackfillPlanner>,
    watch: Mutex<tokio::task::JoinHandle<()>>,
}

/// The settings (context, namespace) in force and their backend.
#[derive(Clone)]
struct Target {
    settings: KubernetesSettings,
    cell: Arc<OnceCell<KubeBackend>>,
}

impl Drop for KubeOrchestrator {
    fn drop(&mut self) {
        self.watch.lock().unwrap_or_else(|p| p.into_inner()).abort();
    }
}

impl std::fmt::Debug for KubeOrchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = self.settings();
        f.debug_struct("KubeOrchestrator")
            .field("namespace", &settings.namespace)
            .field("context", &settings.context)
            .finish()
    }
}

fn backend_err(e: KubeError) -> OrchestratorError {
    OrchestratorError::Backend(e.to_string())
}

fn state_of(phase: RunPhase) -> JobState {
    match phase {
        RunPhase::Pending => JobState::Queued,
        RunPhase::Running | RunPhase::Retrying => JobState::Running,
        RunPhase::Succeeded => JobState::Succeeded,
        RunPhase::Failed => JobState::Failed,
    }
}

/// A Job as the orchestrator's [`JobInfo`]; `None` for Jobs that are not driftdeck's (no model
/// label on a run, a name that is not a job id).
pub fn job_info(namespace: &str, r: &RunInfo) -> Option<JobInfo> {
    let id = JobId::new(r.name.clone()).ok()?;
    let model = r.model.as_deref().and_then(|m| ModelId::new(m).ok());
    let spec = if r.action == "refresh" {
        let value_stream = if model.is_none() {
            r.value_stream.clone()
        } else {
            None
        };
        JobSpec::RefreshBenchmarks {
            all: model.is_none() && value_stream.is_none(),
            model,
            value_stream,
            dry_run: false,
        }
    } else {
        JobSpec::Run {
            model: model?,
            date: r.date,
        }
    };
    let note = match (r.status.phase, &r.status.reason) {
        (RunPhase::Retrying, Some(why)) => {
            Some(format!("retrying (attempt {}): {why}", r.status.attempts))
        }
        (RunPhase::Retrying, None) => Some(format!("retrying (attempt {})", r.status.attempts)),
        (_, Some(why)) => Some(why.clone()),
        (_, None) => None,
    };
    Some(JobInfo {
        id,
        spec,
        triggered_by: r.triggered_by.clone(),
        state: state_of(r.status.phase),
        submitted_at: r.created_at.unwrap_or_else(Utc::now),
        started_at: r.status.started_at,
        finished_at: r.status.finished_at,
        exit_code: r.status.exit_code,
        log: LogRef::new(format!("{}{}", log_ref_prefix(namespace), r.name)),
        note,
    })
}

async fn connected(
    cell: &OnceCell<KubeBackend>,
    settings: &KubernetesSettings,
) -> Result<KubeBackend, KubeError> {
    cell.get_or_try_init(|| KubeBackend::connect(settings.clone()))
        .await
        .cloned()
}

impl KubeOrchestrator {
    /// Wraps a connected `backend` and starts watching its Jobs (inside a tokio runtime).
    ///
    /// # Errors
    /// [`OrchestratorError::NoRuntime`] outside a runtime.
    pub fn new(backend: KubeBackend) -> Result<Self, OrchestratorError> {
        let settings = backend.settings().clone();
        Self::start(settings, Arc::new(OnceCell::new_with(Some(backend))))
    }

    /// An orchestrator for `settings` that connects (kubeconfig context or in-cluster) on first
    /// use; errors then reach the caller of each method, never a panic.
    ///
    /// # Errors
    /// [`OrchestratorError::NoRuntime`] outside a runtime.
    pub fn lazy(settings: KubernetesSettings) -> Result<Self, OrchestratorError> {
        Self::start(settings, Arc::new(OnceCell::new()))
    }

    fn start(
        settings: KubernetesSettings,
        cell: Arc<OnceCell<KubeBackend>>,
    ) -> Result<Self, OrchestratorError> {
        let handle =
            tokio::runtime::Handle::try_current().map_err(|_| OrchestratorError::NoRuntime)?;
        let (events, _) = broadcast::channel(1024);
        let cancelled = Arc::new(Mutex::new(BTreeMap::new()));
        let watch = handle.spawn(watch_events(
            cell.clone(),
            settings.clone(),
            events.clone(),
            cancelled.clone(),
        ));
        Ok(Self {
            target: std::sync::RwLock::new(Target { settings, cell }),
            events,
            parents: Arc::new(Mutex::new(BTreeMap::new())),
            cancelled,
            planner: None,
            watch: Mutex::new(watch),
        })
    }

    /// Uses `planner` to choose a backfill's dates (only missing/failed vs all).
    pub fn with_planner(mut self, planner: BackfillPlanner) -> Self {
        self.planner = Some(planner);
        self
    }

    /// The connected backend (direct API calls such as suspend/resume), connecting first.
    ///
    /// # Errors
    /// [`OrchestratorError::Backend`] with the configuration or connection problem.
    pub async fn backend(&self) -> Result<KubeBackend, OrchestratorError> {
        let Target { settings, cell } = self.current();
        connected(&cell, &settings).await.map_err(backend_err)
    }

    fn current(&self) -> Target {
        self.target
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The settings in force (the configured ones, or the context/namespace switched to).
    pub fn settings(&self) -> KubernetesSettings {
        self.current().settings
    }

    /// Connects to `settings` (a context or namespace to switch to) and checks it by listing
    /// the driftdeck CronJobs there; on success the orchestrator uses it from then on: the
    /// watch restarts there (same event channel), jobs of the old target that this process
    /// still follows (backfill parents) finish where they started.
    ///
    /// # Errors
    /// [`OrchestratorError::Backend`] with the unknown context, the connection problem or the
    /// API server's reason (403 in that namespace); the orchestrator then stays where it was.
    pub async fn switch_to(
        &self,
        settings: KubernetesSettings,
    ) -> Result<String, OrchestratorError> {
        settings
            .validate()
            .map_err(|e| OrchestratorError::InvalidRequest(e.to_string()))?;
        let backend = KubeBackend::connect(settings.clone())
            .await
            .map_err(backend_err)?;
        backend.cronjobs().await.map_err(backend_err)?;
        let cell = Arc::new(OnceCell::new_with(Some(backend)));
        let watch = tokio::spawn(watch_events(
            cell.clone(),
            settings.clone(),
            self.events.clone(),
            self.cancelled.clone(),
        ));
        *self.target.write().unwrap_or_else(|p| p.into_inner()) = Target { settings, cell };
        let old = std::mem::replace(
            &mut *self.watch.lock().unwrap_or_else(|p| p.into_inner()),
            watch,
        );
        old.abort();
        Ok(self.location_label())
    }

    /// `<context>/<namespace>` for the console header: the connected context, else the
    /// configured one, else the kubeconfig's current context (read from the file, no network),
    /// else `in-cluster`.
    pub fn location_label(&self) -> String {
        let Target { settings, cell } = self.current();
        let ctx = match (cell.get(), &settings.context) {
            (Some(b), _) => b.context().to_string(),
            (None, Some(c)) => c.clone(),
            (None, None) => kube::config::Kubeconfig::read()
                .ok()
                .and_then(|k| k.current_context)
                .unwrap_or_else(|| "in-cluster".into()),
        };
        format!("{ctx}/{}", settings.namespace)
    }

    fn parents(&self) -> std::sync::MutexGuard<'_, BTreeMap<JobId, Parent>> {
        self.parents.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cancelled(&self) -> std::sync::MutexGuard<'_, BTreeMap<JobId, JobInfo>> {
        self.cancelled.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn snapshot(&self, name: &str) -> Result<JobInfo, OrchestratorError> {
        if let Some(info) = JobId::new(name)
            .ok()
            .and_then(|id| self.cancelled().get(&id).cloned())
        {
            return Ok(info);
        }
        let run = match self.backend().await?.run(name).await {
            Ok(r) => r,
            Err(e) if e.code() == Some(404) => {
                return Err(OrchestratorError::UnknownJob(name.into()));
            }
            Err(e) => return Err(backend_err(e)),
        };
        job_info(&self.settings().namespace, &run)
            .ok_or_else(|| OrchestratorError::UnknownJob(name.to_string()))
    }

    fn start_backfill(
        &self,
        backend: KubeBackend,
        request: &JobRequest,
        model: &ModelId,
        from: NaiveDate,
        to: NaiveDate,
        only_missing: bool,
    ) -> Result<JobInfo, OrchestratorError> {
        let now = Utc::now();
        let key = format!(
            "{model}\u{0}{from}\u{0}{to}\u{0}{}",
            now.timestamp_nanos_opt().unwrap_or(0)
        );
        let id = JobId::new(format!(
            "backfill-{}-{}-{}-{}",
            slug(model.as_str()),
            from.format("%Y%m%d"),
            to.format("%Y%m%d"),
            names::suffix(&key)
        ))?;
        let dates: Vec<NaiveDate> = match &self.planner {
            Some(plan) => plan(model, from, to, only_missing),
            None => from.iter_days().take_while(|d| *d <= to).collect(),
        };
        let info = JobInfo {
            id: id.clone(),
            spec: request.spec.clone(),
            triggered_by: request.triggered_by.clone(),
            state: JobState::Queued,
            submitted_at: now,
            started_at: None,
            finished_at: None,
            exit_code: None,
            log: LogRef::new(format!("{BACKFILL_LOG_SCHEME}{id}")),
            note: Some(format!("{} date(s) planned", dates.len())),
        };
        let cancel = Arc::new(AtomicBool::new(false));
        self.parents().insert(
            id.clone(),
            Parent {
                info: info.clone(),
                lines: vec![format!(
                    "# backfill {model} {from}..{to}: {} date(s), at most {} Jobs in flight",
                    dates.len(),
                    self.settings().concurrency
                )],
                cancel: cancel.clone(),
            },
        );
        let _ = self.events.send(JobEvent { job: info.clone() });
        tokio::spawn(run_backfill(
            backend,
            self.parents.clone(),
            self.events.clone(),
            id,
            model.to_string(),
            dates,
            request.triggered_by.clone(),
            cancel,
        ));
        Ok(info)
    }
}

fn update_parent(
    parents: &Parents,
    events: &broadcast::Sender<JobEvent>,
    id: &JobId,
    f: impl FnOnce(&mut Parent),
) {
    let snapshot = {
        let mut map = parents.lock().unwrap_or_else(|p| p.into_inner());
        let Some(p) = map.get_mut(id) else { return };
        let before = p.info.clone();
        f(p);
        (p.info != before).then(|| p.info.clone())
    };
    if let Some(job) = snapshot {
        let _ = events.send(JobEvent { job });
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_backfill(
    backend: KubeBackend,
    parents: Parents,
    events: broadcast::Sender<JobEvent>,
    id: JobId,
    model: String,
    dates: Vec<NaiveDate>,
    triggered_by: String,
    cancel: Arc<AtomicBool>,
) {
    update_parent(&parents, &events, &id, |p| {
        p.info.state = JobState::Running;
        p.info.started_at = Some(Utc::now());
    });
    let mut progress = |line: String| {
        update_parent(&parents, &events, &id, |p| p.lines.push(line));
    };
    let report = backend
        .backfill_with(&model, &dates, &triggered_by, &cancel, &mut progress)
        .await;
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            update_parent(&parents, &events, &id, |p| {
                p.lines.push(format!("backfill failed: {e}"));
                p.info.state = JobState::Failed;
                p.info.finished_at = Some(Utc::now());
                p.info.note = Some(e.to_string());
            });
            return;
        }
    };
    // wait for the created Jobs to end
    let mut open: Vec<String> = report.created.clone();
    let mut failed: Vec<String> = Vec::new();
    while !open.is_empty() && !cancel.load(Ordering::Relaxed) {
        let mut still = Vec::new();
        for name in open {
            match backend.run(&name).await {
                Ok(r) if r.status.phase == RunPhase::Succeeded => {}
                Ok(r) if r.status.phase == RunPhase::Failed => failed.push(name),
                Ok(_) => still.push(name),
                Err(e) if e.code() == Some(404) => failed.push(format!("{name} (deleted)")),
                Err(_) => still.push(name),
            }
        }
        open = still;
        if !open.is_empty() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let cancelled = cancel.load(Ordering::Relaxed);
    update_parent(&parents, &events, &id, |p| {
        let summary = format!(
            "backfill {model}: {} Job(s) created, {} succeeded, {} failed, {} skipped, {} not created",
            report.created.len(),
            report
                .created
                .len()
                .saturating_sub(failed.len() + open.len()),
            failed.len(),
            report.skipped.len(),
            report.failed.len()
        );
        p.lines.push(summary.clone());
        p.info.finished_at = Some(Utc::now());
        p.info.state = if cancelled {
            JobState::Cancelled
        } else if failed.is_empty() && report.failed.is_empty() {
            JobState::Succeeded
        } else {
            JobState::Failed
        };
        p.info.note = Some(summary);
    });
}

/// Forwards the Job watch as [`JobEvent`]s (one per state or note change).
async fn watch_events(
    cell: Arc<OnceCell<KubeBackend>>,
    settings: KubernetesSettings,
    events: broadcast::Sender<JobEvent>,
    cancelled: Arc<Mutex<BTreeMap<JobId, JobInfo>>>,
) {
    let backend = loop {
        match connected(&cell, &settings).await {
            Ok(b) => break b,
            Err(e) => {
                tracing::warn!(error = %e, "kubernetes: cannot connect, retrying in 10 s");
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
        }
    };
    let ns = settings.namespace.clone();
    let started = Utc::now() - chrono::Duration::seconds(1);
    let mut first_list = true;
    let mut known: BTreeMap<String, JobInfo> = BTreeMap::new();
    let mut rx = backend.watch();
    let emit = |info: JobInfo, known: &mut BTreeMap<String, JobInfo>| {
        // a Job this console deleted stays Cancelled whatever its last updates say
        if cancelled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&info.id)
        {
            return;
        }
        let changed = known
            .get(info.id.as_str())
            .is_none_or(|k| k.state != info.state || k.note != info.note);
        if changed {
            known.insert(info.id.to_string(), info.clone());
            let _ = events.send(JobEvent { job: info });
        }
    };
    while let Some(signal) = rx.recv().await {
        match signal {
            WatchSignal::Listed { .. } => match backend.runs().await {
                Ok(runs) => {
                    for r in &runs {
                        let Some(info) = job_info(&ns, r) else {
                            continue;
                        };
                        // Jobs that had ended before this orchestrator started are history,
                        // not state changes: remembered silently.
                        if first_list && info.state.is_final() && info.submitted_at < started {
                            known.insert(info.id.to_string(), info);
                        } else {
                            emit(info, &mut known);
                        }
                    }
                    first_list = false;
                }
                Err(e) => tracing::warn!(error = %e, "kubernetes: list after watch restart failed"),
            },
            WatchSignal::Changed { name, status } => {
                if status.is_none() {
                    known.remove(&name);
                    continue;
                }
                match backend.run(&name).await {
                    Ok(r) => {
                        if let Some(info) = job_info(&ns, &r) {
                            emit(info, &mut known);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(job = %name, error = %e, "kubernetes: job refresh failed")
                    }
                }
            }
            WatchSignal::Expired => {
                tracing::info!("kubernetes: watch expired (410), listing again")
            }
            WatchSignal::Error(e) => {
                tracing::warn!(error = %e, "kubernetes: watch error, retrying")
            }
        }
    }
}

fn one_error(e: OrchestratorError) -> LogStream {
    stream::iter([Err(e)]).boxed()
}

impl Orchestrator for KubeOrchestrator {
    fn kind(&self) -> &'static str {
        "kubernetes"
    }

    fn location(&self) -> Option<String> {
        Some(self.location_label())
    }

    fn submit(&self, request: JobRequest) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async move {
            request.spec.validate()?;
            let backend = self.backend().await?;
            let by = request.triggered_by.as_str();
            let job = match &request.spec {
                JobSpec::Run { model, date } => {
                    let date =
                        date.unwrap_or_else(|| Utc::now().date_naive() - chrono::Days::new(1));
                    backend
                        .rerun_job(model.as_str(), date, by)
                        .await
                        .map_err(backend_err)?
                }
                JobSpec::Backfill {
                    model,
                    from,
                    to,
                    only_missing,
                } => {
                    return self.start_backfill(
                        backend,
                        &request,
                        model,
                        *from,
                        *to,
                        *only_missing,
                    );
                }
                JobSpec::RefreshBenchmarks {
                    model,
                    value_stream,
                    dry_run,
                    ..
                } => backend
                    .refresh_job(
                        model.as_ref().map(ModelId::as_str),
                        value_stream.as_deref(),
                        *dry_run,
                        by,
                    )
                    .await
                    .map_err(backend_err)?,
            };
            // the Job as created: no pod yet, so queued (whatever the cluster does next comes
            // as events)
            let name = job.metadata.name.clone().unwrap_or_default();
            let mut info =
                job_info(&self.settings().namespace, &run_info(&job, &[])).ok_or_else(|| {
                    OrchestratorError::Backend(format!("created Job {name} is not a driftdeck Job"))
                })?;
            if let JobSpec::RefreshBenchmarks { .. } = &request.spec {
                info.spec = request.spec.clone();
            }
            Ok(info)
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<JobInfo>, OrchestratorError>> {
        Box::pin(async move {
            let runs = self.backend().await?.runs().await.map_err(backend_err)?;
            let ns = self.settings().namespace;
            let mut out: Vec<JobInfo> = runs.iter().filter_map(|r| job_info(&ns, r)).collect();
            out.retain(|j| !self.cancelled().contains_key(&j.id));
            out.extend(self.cancelled().values().cloned());
            out.extend(self.parents().values().map(|p| p.info.clone()));
            out.sort_by(|a, b| b.submitted_at.cmp(&a.submitted_at).then(a.id.cmp(&b.id)));
            Ok(out)
        })
    }

    fn job(&self, id: JobId) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async move {
            if let Some(p) = self.parents().get(&id) {
                return Ok(p.info.clone());
            }
            self.snapshot(id.as_str()).await
        })
    }

    fn logs(&self, log: &LogRef, options: LogOptions) -> LogStream {
        if let Some(id) = log.as_str().strip_prefix(BACKFILL_LOG_SCHEME) {
            let Ok(id) = JobId::new(id) else {
                return one_error(OrchestratorError::InvalidRequest(format!(
                    "log reference {log}"
                )));
            };
            let parents = self.parents.clone();
            let start = {
                let map = self.parents();
                match map.get(&id) {
                    Some(p) => options.tail.map_or(0, |t| p.lines.len().saturating_sub(t)),
                    None => return one_error(OrchestratorError::UnknownJob(id.to_string())),
                }
            };
            let follow = options.follow;
            return stream::unfold(
                (parents, id, start, false),
                move |(parents, id, mut sent, done)| async move {
                    if done {
                        return None;
                    }
                    loop {
                        let (lines, finished) = {
                            let map = parents.lock().unwrap_or_else(|p| p.into_inner());
                            let p = map.get(&id)?;
                            (
                                p.lines[sent.min(p.lines.len())..].to_vec(),
                                p.info.state.is_final(),
                            )
                        };
                        if !lines.is_empty() {
                            sent += lines.len();
                            let items: Vec<Result<String, OrchestratorError>> =
                                lines.into_iter().map(Ok).collect();
                            return Some((stream::iter(items), (parents, id, sent, false)));
                        }
                        if !follow || finished {
                            return None;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                },
            )
            .flatten()
            .boxed();
        }
        let Some((ns, name)) = parse_log_ref(log.as_str()) else {
            return one_error(OrchestratorError::InvalidRequest(format!(
                "log reference {log:?} is not the Kubernetes backend's (k8s:<namespace>/job/<name>)"
            )));
        };
        let Target { settings, cell } = self.current();
        if ns != settings.namespace {
            return one_error(OrchestratorError::InvalidRequest(format!(
                "log reference {log} is in namespace {ns}, this console watches {}",
                settings.namespace
            )));
        }
        let opts = KubeLogOptions {
            follow: options.follow,
            since_seconds: options.since.map(|t| (Utc::now() - t).num_seconds().max(1)),
            tail_lines: Some(
                options
                    .tail
                    .map_or(DEFAULT_TAIL, |t| i64::try_from(t).unwrap_or(DEFAULT_TAIL)),
            ),
            previous: false,
        };
        let name = name.to_string();
        stream::once(async move {
            let backend = connected(&cell, &settings).await?;
            // a Job just created has no pod yet: a following stream waits for it (up to
            // NO_POD_WAIT), a one-shot read reports it
            let mut waited = Duration::ZERO;
            loop {
                match backend.logs(&name, &opts).await {
                    Err(KubeError::NoPod(_)) if opts.follow && waited < NO_POD_WAIT => {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        waited += Duration::from_millis(500);
                    }
                    other => return other,
                }
            }
        })
        .flat_map(|r| match r {
            Ok(s) => s.map(|l| l.map_err(backend_err)).boxed(),
            Err(e) => one_error(backend_err(e)),
        })
        .boxed()
    }

    fn cancel(&self, id: JobId) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async move {
            let parent = self
                .parents()
                .get(&id)
                .map(|p| (p.cancel.clone(), p.info.clone()));
            if let Some((flag, info)) = parent {
                if info.state.is_final() {
                    return Ok(info);
                }
                flag.store(true, Ordering::Relaxed);
                update_parent(&self.parents, &self.events, &id, |p| {
                    p.lines
                        .push("cancel requested: no further Jobs are created".into());
                });
                return Ok(self
                    .parents()
                    .get(&id)
                    .map(|p| p.info.clone())
                    .unwrap_or(info));
            }
            let info = self.snapshot(id.as_str()).await?;
            if info.state.is_final() {
                return Ok(info);
            }
            match self.backend().await?.delete_job(id.as_str()).await {
                Ok(()) | Err(KubeError::Api { code: 404, .. }) => {}
                Err(e) => return Err(backend_err(e)),
            }
            let mut info = info;
            info.state = JobState::Cancelled;
            info.finished_at = Some(Utc::now());
            info.note = Some("Job deleted (cancelled)".into());
            self.cancelled().insert(info.id.clone(), info.clone());
            let _ = self.events.send(JobEvent { job: info.clone() });
            Ok(info)
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.events.subscribe()
    }

    fn targets(&self, kind: TargetKind) -> BoxFuture<'_, Result<Vec<String>, OrchestratorError>> {
        Box::pin(async move {
            match kind {
                TargetKind::Context => {
                    let contexts = tokio::task::spawn_blocking(kubeconfig_contexts)
                        .await
                        .map_err(|e| OrchestratorError::Backend(e.to_string()))?
                        .map_err(backend_err)?;
                    Ok(contexts.into_iter().map(|(name, _)| name).collect())
                }
                TargetKind::Namespace => self
                    .backend()
                    .await?
                    .namespaces()
                    .await
                    .map_err(backend_err),
            }
        })
    }

    fn switch_target(
        &self,
        kind: TargetKind,
        name: String,
    ) -> BoxFuture<'_, Result<String, OrchestratorError>> {
        Box::pin(async move {
            let mut settings = self.settings();
            match kind {
                TargetKind::Context => {
                    // the context's own namespace when the kubeconfig names one (as kubectl
                    // uses it), else the namespace in use
                    let contexts = tokio::task::spawn_blocking(kubeconfig_contexts)
                        .await
                        .map_err(|e| OrchestratorError::Backend(e.to_string()))?
                        .map_err(backend_err)?;
                    let Some((_, ns)) = contexts.iter().find(|(n, _)| *n == name) else {
                        let known: Vec<&str> = contexts.iter().map(|(n, _)| n.as_str()).collect();
                        return Err(OrchestratorError::Backend(format!(
                            "context {name:?} is not in the kubeconfig (known: {})",
                            known.join(", ")
                        )));
                    };
                    if let Some(ns) = ns {
                        settings.namespace = ns.clone();
                    }
                    settings.context = Some(name);
                }
                TargetKind::Namespace => settings.namespace = name,
            }
            self.switch_to(settings).await
        })
    }

    fn schedules(&self) -> BoxFuture<'_, Result<Vec<ScheduleState>, OrchestratorError>> {
        Box::pin(async move {
            let cronjobs = self
                .backend()
                .await?
                .cronjobs()
                .await
                .map_err(backend_err)?;
            Ok(cronjobs
                .into_iter()
                .filter_map(|c| {
                    Some(ScheduleState {
                        model: c.model?,
                        name: c.name,
                        suspended: c.suspended,
                    })
                })
                .collect())
        })
    }

    fn set_suspended(
        &self,
        model: ModelId,
        suspended: bool,
    ) -> BoxFuture<'_, Result<(), OrchestratorError>> {
        Box::pin(async move {
            self.backend()
                .await?
                .set_suspended(model.as_str(), suspended)
                .await
                .map_err(backend_err)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::builder::JobAction;
    use super::*;
    use crate::orchestrator::JobId;

    /// The Kubernetes Jobs run the same command lines as the local runner's processes.
    #[test]
    fn job_arguments_are_the_job_cli_contract() {
        let id = JobId::new("m-rerun-20130201-abcde").unwrap();
        let model = ModelId::new("m_1").unwrap();
        let date = NaiveDate::from_ymd_opt(2013, 2, 1).unwrap();
        let run = JobSpec::Run {
            model: model.clone(),
            date: Some(date),
        };
        let ours = JobAction::Rerun {
            date: "2013-02-01".into(),
        }
        .args("m_1", "ana", id.as_str());
        assert_eq!(ours, run.cli_args(&id, "ana"));
        for (m, vs, dry_run) in [
            (Some("m_1"), None, false),
            (None, Some("vs"), true),
            (None, None, false),
        ] {
            let spec = JobSpec::RefreshBenchmarks {
                model: m.map(|m| ModelId::new(m).unwrap()),
                value_stream: vs.map(str::to_string),
                all: m.is_none() && vs.is_none(),
                dry_run,
            };
            let ours = JobAction::Refresh {
                model: m.map(str::to_string),
                value_stream: vs.map(str::to_string),
                dry_run,
            }
            .args(m.unwrap_or(""), "ana", id.as_str());
            assert_eq!(ours, spec.cli_args(&id, "ana"), "{spec:?}");
        }
    }

    #[test]
    fn log_references_round_trip_and_reject_foreign_ones() {
        let r = format!("{}x-rerun-1", log_ref_prefix("model-monitoring"));
        assert_eq!(parse_log_ref(&r), Some(("model-monitoring", "x-rerun-1")));
        assert_eq!(parse_log_ref("k8s:../job/x"), None);
        assert_eq!(parse_log_ref("local:x"), None);
        assert_eq!(parse_log_ref("k8s:ns/pod/x"), None);
    }
}
