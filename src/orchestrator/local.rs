//! The local runner: jobs as child processes of the driftdeck binary (embedded default).
//!
//! Each job runs `<program> [program_args] [--config PATH] <subcommand> ...` (the job CLI
//! contract, see [`JobSpec::cli_args`]) under a tiny `/bin/sh` wrapper that records the exit
//! code in `<log_dir>/<id>.exit`. The wrapper is started in its own process group and never
//! killed on drop, so jobs keep running when the console closes. stdout and stderr go to
//! `<log_dir>/<id>.log`. At most `concurrency` jobs run at once; the rest wait in
//! [`JobState::Queued`].
//!
//! Every state change is appended to `<log_dir>/jobs.jsonl`. A runner opened later reads it
//! back: jobs whose process is still alive are adopted and polled until they end; jobs that
//! ended while no console watched get their state from the exit file, or [`JobState::Lost`]
//! without one; jobs still queued when their console closed are [`JobState::Cancelled`].

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::runtime::Handle;
use tokio::sync::{Semaphore, broadcast, watch};

use super::index::{self, IndexEvent};
use super::process::{job_alive, marker, terminate_group};
use super::{
    JobEvent, JobId, JobInfo, JobRequest, JobSpec, JobState, LogOptions, LogRef, LogStream,
    Orchestrator, OrchestratorError,
};

/// The wrapper run as `/bin/sh -c WRAPPER <marker> <exit file> <program> <args>...`: runs the
/// job, then writes its exit code atomically (temp file + rename) and exits with it.
const WRAPPER: &str = r#"exit_file=$1; shift; "$@"; code=$?; printf '%s\n' "$code" > "$exit_file.tmp" && mv -f "$exit_file.tmp" "$exit_file"; exit "$code""#;

/// Name of the job index inside the log directory.
pub const INDEX_FILE: &str = "jobs.jsonl";

/// Capacity of the [`JobEvent`] broadcast channel.
const EVENT_CAPACITY: usize = 1024;

/// Environment variable through which a job learns the [`LogRef`] of its own log
/// (`local:<job id>`), which it records in `PCI_CSI_RUNS.log_path`.
pub const JOB_LOG_ENV: &str = "DRIFTDECK_JOB_LOG";

/// Scheme of the local runner's log references: `local:<job id>`.
pub const LOG_REF_SCHEME: &str = "local:";

/// The log reference of a local job: `local:<job id>`.
pub fn log_ref(id: &JobId) -> LogRef {
    LogRef::new(format!("{LOG_REF_SCHEME}{id}"))
}

/// Settings of a [`LocalRunner`] (from `[orchestrator]` in `driftdeck.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRunnerConfig {
    /// The driftdeck executable (default: [`std::env::current_exe`]); tests pass a fake job.
    pub program: PathBuf,
    /// Arguments placed before everything else (empty for driftdeck; e.g. `-c SCRIPT name`
    /// when `program` is a shell).
    pub program_args: Vec<OsString>,
    /// Passed to every job as the global `--config PATH` when set.
    pub config_path: Option<PathBuf>,
    /// Directory of job logs and the job index (created if missing).
    pub log_dir: PathBuf,
    /// Jobs running at once (at least 1).
    pub concurrency: usize,
    /// How often jobs adopted from an earlier console are checked for exit (default 1 s).
    pub poll_interval: Duration,
}

impl LocalRunnerConfig {
    /// Settings running `program` with `concurrency` jobs at once, logs in `log_dir`.
    pub fn new(
        program: impl Into<PathBuf>,
        log_dir: impl Into<PathBuf>,
        concurrency: usize,
    ) -> Self {
        Self {
            program: program.into(),
            program_args: Vec::new(),
            config_path: None,
            log_dir: log_dir.into(),
            concurrency,
            poll_interval: Duration::from_secs(1),
        }
    }

    /// Settings running the current driftdeck binary.
    ///
    /// # Errors
    /// [`OrchestratorError::Io`] when the path of the running executable is unknown.
    pub fn for_current_exe(
        log_dir: impl Into<PathBuf>,
        concurrency: usize,
    ) -> Result<Self, OrchestratorError> {
        let exe = std::env::current_exe().map_err(|e| OrchestratorError::Io {
            path: "current executable".to_string(),
            message: e.to_string(),
        })?;
        Ok(Self::new(exe, log_dir, concurrency))
    }

    /// Sets the global `--config PATH` passed to every job.
    pub fn with_config_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_path = Some(path.into());
        self
    }
}

/// The embedded [`Orchestrator`]: child processes with bounded concurrency, a log file per job
/// and a persistent job index. Cheap to clone (shared state).
#[derive(Clone)]
pub struct LocalRunner {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LocalRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRunner")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

struct Entry {
    info: JobInfo,
    /// Set to `true` to cancel a job whose task belongs to this runner.
    cancel: Option<watch::Sender<bool>>,
    cancel_requested: bool,
    /// Running process started by an earlier console, polled for exit.
    adopted: bool,
    /// Process id of the job's wrapper (also its process group id), once started.
    pid: Option<u32>,
}

struct Inner {
    config: LocalRunnerConfig,
    index_path: PathBuf,
    semaphore: Arc<Semaphore>,
    jobs: Mutex<HashMap<JobId, Entry>>,
    events: broadcast::Sender<JobEvent>,
    runtime: Handle,
    seq: AtomicU64,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> OrchestratorError {
    OrchestratorError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// `text` as a job id part: lowercase, characters outside `[a-z0-9._-]` as `_`, at most 64.
fn id_part(text: &str) -> String {
    text.chars()
        .take(64)
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// True for `word:rest` references of other backends (`k8s:ns/pod`); a Windows drive letter
/// or a path with a `:` after a `/` is not a scheme.
fn has_scheme(text: &str) -> bool {
    match text.split_once(':') {
        Some((scheme, _)) => {
            scheme.len() > 1
                && !scheme.contains('/')
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        }
        None => false,
    }
}

impl LocalRunner {
    /// Opens the runner on `config.log_dir` (creating it), reads the job index and adopts jobs
    /// still running from an earlier console. Must be called inside a tokio runtime: jobs and
    /// the poller of adopted jobs are spawned on it.
    ///
    /// # Errors
    /// [`OrchestratorError::NoRuntime`] outside a runtime; [`OrchestratorError::Io`] when the log
    /// directory cannot be created or the index cannot be read.
    pub fn open(config: LocalRunnerConfig) -> Result<Self, OrchestratorError> {
        let runtime = Handle::try_current().map_err(|_| OrchestratorError::NoRuntime)?;
        std::fs::create_dir_all(&config.log_dir).map_err(|e| io_err(&config.log_dir, e))?;
        let index_path = config.log_dir.join(INDEX_FILE);
        let loaded = index::load(&index_path)?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let inner = Arc::new(Inner {
            semaphore: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            index_path,
            jobs: Mutex::new(HashMap::new()),
            events,
            runtime,
            seq: AtomicU64::new(1),
        });
        let mut adopted_any = false;
        let mut to_finish = Vec::new();
        {
            let mut jobs = inner.lock();
            for (info, pid) in loaded {
                let id = info.id.clone();
                let mut adopted = false;
                match (info.state, pid) {
                    (JobState::Queued, _) => to_finish.push((
                        id.clone(),
                        JobState::Cancelled,
                        None,
                        Utc::now(),
                        Some("the console that queued it closed before it started".to_string()),
                    )),
                    (JobState::Running, Some(pid)) if job_alive(pid, &marker(id.as_str())) => {
                        adopted = true;
                        adopted_any = true;
                    }
                    (JobState::Running, _) => {
                        let (state, code, at, note) = inner.resolve_ended(&id, false);
                        to_finish.push((id.clone(), state, code, at, note));
                    }
                    _ => {}
                }
                jobs.insert(
                    id,
                    Entry {
                        info,
                        cancel: None,
                        cancel_requested: false,
                        adopted,
                        pid,
                    },
                );
            }
        }
        for (id, state, code, at, note) in to_finish {
            inner.finish(&id, state, code, at, note);
        }
        if adopted_any {
            let weak = Arc::downgrade(&inner);
            let interval = inner.config.poll_interval;
            inner.runtime.spawn(poll_adopted(weak, interval));
        }
        Ok(Self { inner })
    }

    /// The settings in force.
    pub fn config(&self) -> &LocalRunnerConfig {
        &self.inner.config
    }

    /// Local detail: the log file of job `id` (`<log_dir>/<id>.log`), whether or not it exists.
    pub fn log_file(&self, id: &JobId) -> PathBuf {
        self.inner.log_path(id)
    }

    /// Local detail: the process id (= process group id) of job `id`'s wrapper once it started
    /// (kept after it ended); `None` for an unknown or never started job.
    pub fn pid(&self, id: &JobId) -> Option<u32> {
        self.inner.lock().get(id).and_then(|e| e.pid)
    }

    /// Path of the job index (`<log_dir>/jobs.jsonl`).
    pub fn index_path(&self) -> &Path {
        &self.inner.index_path
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<JobId, Entry>> {
        // The map holds plain data; a panic elsewhere does not leave it inconsistent.
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn exit_path(&self, id: &JobId) -> PathBuf {
        self.config.log_dir.join(format!("{id}.exit"))
    }

    fn log_path(&self, id: &JobId) -> PathBuf {
        self.config.log_dir.join(format!("{id}.log"))
    }

    fn append_index(&self, event: &IndexEvent) {
        if let Err(e) = index::append(&self.index_path, event) {
            tracing::warn!(error = %e, "cannot append to the job index");
        }
    }

    fn broadcast(&self, info: JobInfo) {
        // No subscriber is fine.
        let _ = self.events.send(JobEvent { job: info });
    }

    /// Final state of a job whose process is gone, from its exit file.
    fn resolve_ended(
        &self,
        id: &JobId,
        cancel_requested: bool,
    ) -> (JobState, Option<i32>, DateTime<Utc>, Option<String>) {
        let path = self.exit_path(id);
        let code = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok());
        let at = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map(DateTime::<Utc>::from)
            .unwrap_or_else(|_| Utc::now());
        match code {
            Some(0) => (JobState::Succeeded, Some(0), at, None),
            Some(c) if cancel_requested => (JobState::Cancelled, Some(c), at, None),
            Some(c) => (JobState::Failed, Some(c), at, None),
            None if cancel_requested => (
                JobState::Cancelled,
                None,
                at,
                Some("stopped by a user".to_string()),
            ),
            None => (
                JobState::Lost,
                None,
                at,
                Some(
                    "the process ended without an exit record; its attempts in PCI_CSI_RUNS \
                     tell how far it got"
                        .to_string(),
                ),
            ),
        }
    }

    fn finish(
        &self,
        id: &JobId,
        state: JobState,
        exit_code: Option<i32>,
        at: DateTime<Utc>,
        note: Option<String>,
    ) {
        let info = {
            let mut jobs = self.lock();
            let Some(entry) = jobs.get_mut(id) else {
                return;
            };
            entry.info.state = state;
            entry.info.finished_at = Some(at);
            entry.info.exit_code = exit_code;
            entry.info.note = note.clone();
            entry.cancel = None;
            entry.adopted = false;
            entry.info.clone()
        };
        self.append_index(&IndexEvent::Finished {
            id: id.clone(),
            at,
            state,
            exit_code,
            note,
        });
        // The index now holds the exit code; the wrapper's file is no longer needed.
        let _ = std::fs::remove_file(self.exit_path(id));
        self.broadcast(info);
    }

    fn new_id(&self, spec: &JobSpec, now: DateTime<Utc>) -> Result<JobId, OrchestratorError> {
        let dates = match spec {
            JobSpec::Run { date: Some(d), .. } => d.format("%Y%m%d").to_string(),
            JobSpec::Run { date: None, .. } => "latest".to_string(),
            JobSpec::Backfill { from, to, .. } => {
                format!("{}-{}", from.format("%Y%m%d"), to.format("%Y%m%d"))
            }
            JobSpec::RefreshBenchmarks { .. } => "benchmark".to_string(),
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        JobId::new(format!(
            "{}-{}-{}-{}-{}",
            spec.kind().as_str(),
            id_part(&spec.target()),
            dates,
            now.format("%Y%m%dt%H%M%S%3f"),
            seq
        ))
    }

    /// Accepts a job: creates its log file, records it, spawns its task.
    fn submit(self: &Arc<Self>, request: JobRequest) -> Result<JobInfo, OrchestratorError> {
        request.spec.validate()?;
        let now = Utc::now();
        // Ids are unique per log directory: the log file is created exclusively, and a
        // collision (another console in the same millisecond) takes the next sequence number.
        let (id, log_path, mut log) = loop {
            let id = self.new_id(&request.spec, now)?;
            let path = self.log_path(&id);
            match std::fs::OpenOptions::new()
                .append(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => break (id, path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(&path, e)),
            }
        };
        writeln!(
            log,
            "# driftdeck job {id}: {} {} submitted {} by {}",
            request.spec.kind(),
            request.spec.target(),
            now.to_rfc3339(),
            request.triggered_by
        )
        .map_err(|e| io_err(&log_path, e))?;
        let info = JobInfo {
            id: id.clone(),
            spec: request.spec.clone(),
            triggered_by: request.triggered_by.clone(),
            state: JobState::Queued,
            submitted_at: now,
            started_at: None,
            finished_at: None,
            exit_code: None,
            log: log_ref(&id),
            note: None,
        };
        index::append(
            &self.index_path,
            &IndexEvent::Submitted {
                id: id.clone(),
                spec: request.spec,
                triggered_by: request.triggered_by,
                at: now,
                log_path,
            },
        )?;
        let (cancel_tx, cancel_rx) = watch::channel(false);
        self.lock().insert(
            id.clone(),
            Entry {
                info: info.clone(),
                cancel: Some(cancel_tx),
                cancel_requested: false,
                adopted: false,
                pid: None,
            },
        );
        self.broadcast(info.clone());
        self.runtime.spawn(run_job(Arc::clone(self), id, cancel_rx));
        Ok(info)
    }

    fn cancel(&self, id: &JobId) -> Result<JobInfo, OrchestratorError> {
        let mut jobs = self.lock();
        let entry = jobs
            .get_mut(id)
            .ok_or_else(|| OrchestratorError::UnknownJob(id.to_string()))?;
        if entry.info.state.is_final() {
            return Ok(entry.info.clone());
        }
        entry.cancel_requested = true;
        if let Some(tx) = &entry.cancel {
            let _ = tx.send(true);
        } else if entry.adopted
            && let Some(pid) = entry.pid
            && job_alive(pid, &marker(id.as_str()))
            && let Err(e) = terminate_group(pid)
        {
            tracing::warn!(job = %id, pid, error = %e, "cannot stop adopted job");
        }
        Ok(entry.info.clone())
    }

    fn mark_started(&self, id: &JobId, pid: u32) {
        let at = Utc::now();
        let info = {
            let mut jobs = self.lock();
            let Some(entry) = jobs.get_mut(id) else {
                return;
            };
            entry.info.state = JobState::Running;
            entry.info.started_at = Some(at);
            entry.pid = Some(pid);
            entry.info.clone()
        };
        self.append_index(&IndexEvent::Started {
            id: id.clone(),
            at,
            pid,
        });
        self.broadcast(info);
    }

    /// The file behind a log reference: `local:<job id>` is `<log_dir>/<id>.log`; a plain path
    /// (recorded by versions before log references) is read as is, relative paths against the
    /// log directory.
    fn resolve_log(&self, log: &LogRef) -> Result<PathBuf, OrchestratorError> {
        let text = log.as_str();
        if let Some(id) = text.strip_prefix(LOG_REF_SCHEME) {
            let id = JobId::new(id).map_err(|_| {
                OrchestratorError::InvalidRequest(format!(
                    "log reference {text:?}: not a local job id"
                ))
            })?;
            return Ok(self.log_path(&id));
        }
        if text.is_empty() || text.len() > 4096 || text.contains('\0') || has_scheme(text) {
            return Err(OrchestratorError::InvalidRequest(format!(
                "log reference {:?} is not one of the local runner's (local:<job id> or a file path)",
                text.chars().take(200).collect::<String>()
            )));
        }
        // Only files inside the log directory: a run record can name any file (issue 11 #8).
        log_path_allowed(&self.config.log_dir, &self.config.log_dir.join(text))
            .map_err(OrchestratorError::InvalidRequest)
    }

    fn job_of(&self, id: &JobId) -> Option<(JobInfo, bool)> {
        self.lock()
            .get(id)
            .map(|e| (e.info.clone(), e.cancel_requested))
    }
}

/// Resolves once the job's cancel flag is set; never resolves when the flag's sender is gone.
async fn cancelled(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The life of one job: wait for a slot, spawn, wait for exit, record.
async fn run_job(inner: Arc<Inner>, id: JobId, mut cancel_rx: watch::Receiver<bool>) {
    let before_start = || {
        inner.finish(
            &id,
            JobState::Cancelled,
            None,
            Utc::now(),
            Some("cancelled before it started".to_string()),
        );
    };
    // `biased`: when the slot frees up and the cancel flag is set in the same instant, the
    // cancel wins (an unbiased select picks at random).
    let permit = tokio::select! {
        biased;
        () = cancelled(&mut cancel_rx) => return before_start(),
        permit = Arc::clone(&inner.semaphore).acquire_owned() => permit,
    };
    let Ok(_permit) = permit else {
        return; // the semaphore is never closed
    };
    let Some((info, cancel_requested)) = inner.job_of(&id) else {
        return;
    };
    if cancel_requested {
        return before_start();
    }
    let fail = |note: String| {
        inner.finish(&id, JobState::Failed, None, Utc::now(), Some(note));
    };
    let log_path = inner.log_path(&id);
    let log = match std::fs::OpenOptions::new().append(true).open(&log_path) {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot open log {}: {e}", log_path.display())),
    };
    let cfg = &inner.config;
    let mut args: Vec<OsString> = cfg.program_args.clone();
    if let Some(path) = &cfg.config_path {
        args.push("--config".into());
        args.push(path.clone().into_os_string());
    }
    args.extend(
        info.spec
            .cli_args(&id, &info.triggered_by)
            .into_iter()
            .map(OsString::from),
    );
    let shown: Vec<String> = std::iter::once(cfg.program.display().to_string())
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect();
    let header = format!(
        "# started {}: {}\n",
        Utc::now().to_rfc3339(),
        shown.join(" ")
    );
    if let Err(e) = (&log).write_all(header.as_bytes()) {
        return fail(format!("cannot write log {}: {e}", log_path.display()));
    }
    let stdout = match log.try_clone() {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot share log {}: {e}", log_path.display())),
    };
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(WRAPPER)
        .arg(marker(id.as_str()))
        .arg(inner.exit_path(&id))
        .arg(&cfg.program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(log))
        // The job records this reference in PCI_CSI_RUNS, so the console finds the log of
        // any run through `Orchestrator::logs`.
        .env(JOB_LOG_ENV, info.log.as_str())
        // Own process group: the terminal's hangup and Ctrl-C do not reach the job, and a
        // cancel signals the job with every child it started.
        .process_group(0)
        .kill_on_drop(false);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return fail(format!(
                "cannot start /bin/sh for {}: {e}",
                cfg.program.display()
            ));
        }
    };
    let Some(pid) = child.id() else {
        return fail("the job process vanished before its pid was known".to_string());
    };
    inner.mark_started(&id, pid);
    let status = tokio::select! {
        status = child.wait() => status,
        () = cancelled(&mut cancel_rx) => {
            if let Err(e) = terminate_group(pid) {
                tracing::warn!(job = %id, pid, error = %e, "cannot stop job");
            }
            child.wait().await
        }
    };
    let cancel_requested = inner.job_of(&id).is_some_and(|(_, c)| c);
    let (state, code, note) = match status {
        Ok(status) => {
            use std::os::unix::process::ExitStatusExt;
            let signal_note = status.signal().map(|s| format!("ended by signal {s}"));
            if cancel_requested {
                (
                    JobState::Cancelled,
                    status.code(),
                    Some(signal_note.unwrap_or_else(|| "stopped by a user".to_string())),
                )
            } else if status.success() {
                (JobState::Succeeded, status.code(), None)
            } else {
                (JobState::Failed, status.code(), signal_note)
            }
        }
        Err(e) => (
            JobState::Failed,
            None,
            Some(format!("cannot wait for the job process: {e}")),
        ),
    };
    inner.finish(&id, state, code, Utc::now(), note);
}

/// Polls jobs adopted from an earlier console until none is left running (or the runner is
/// dropped).
async fn poll_adopted(inner: Weak<Inner>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let adopted: Vec<(JobId, u32, bool)> = inner
            .lock()
            .values()
            .filter(|e| e.adopted)
            .filter_map(|e| e.pid.map(|p| (e.info.id.clone(), p, e.cancel_requested)))
            .collect();
        if adopted.is_empty() {
            return;
        }
        for (id, pid, cancel_requested) in adopted {
            if !job_alive(pid, &marker(id.as_str())) {
                let (state, code, at, note) = inner.resolve_ended(&id, cancel_requested);
                inner.finish(&id, state, code, at, note);
            }
        }
    }
}

impl Orchestrator for LocalRunner {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn submit(&self, request: JobRequest) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async move { self.inner.submit(request) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<JobInfo>, OrchestratorError>> {
        Box::pin(async move {
            let mut jobs: Vec<JobInfo> =
                self.inner.lock().values().map(|e| e.info.clone()).collect();
            jobs.sort_by(|a, b| {
                b.submitted_at
                    .cmp(&a.submitted_at)
                    .then_with(|| b.id.cmp(&a.id))
            });
            Ok(jobs)
        })
    }

    fn job(&self, id: JobId) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async move {
            self.inner
                .job_of(&id)
                .map(|(info, _)| info)
                .ok_or_else(|| OrchestratorError::UnknownJob(id.to_string()))
        })
    }

    fn logs(&self, log: &LogRef, options: LogOptions) -> LogStream {
        match self.inner.resolve_log(log) {
            Ok(path) => super::log_tail::follow_file(path, options),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }

    fn cancel(&self, id: JobId) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async move { self.inner.cancel(&id) })
    }

    fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.inner.events.subscribe()
    }
}

/// Whether a run's log reference may be read: only files inside `log_dir` (the workspace's
/// log directory, where the local runner writes), after resolving `..` and symbolic
/// links. A run record names its log (`DRIFTDECK_JOB_LOG`), and a record can name any file
/// (issue 11 #8). A file not created yet is judged by its directory.
///
/// # Errors
/// The message shown in the log pane instead of the file.
pub fn log_path_allowed(log_dir: &Path, path: &Path) -> Result<PathBuf, String> {
    let refuse = || {
        format!(
            "log {} is outside the workspace log directory {}: not shown",
            crate::sanitize::escape_controls(&path.display().to_string()),
            log_dir.display()
        )
    };
    let dir = log_dir.canonicalize().map_err(|_| refuse())?;
    let resolved = match path.canonicalize() {
        Ok(p) => p,
        Err(_) => {
            let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
                return Err(refuse());
            };
            parent.canonicalize().map_err(|_| refuse())?.join(name)
        }
    };
    if resolved.starts_with(&dir) {
        Ok(resolved)
    } else {
        Err(refuse())
    }
}
