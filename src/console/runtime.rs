//! The async side: one UI loop fed by one channel of [`Msg`]; background tasks (terminal input,
//! refresh tick, clock, store queries on `spawn_blocking`, orchestrator events, log tailing)
//! only send messages and never touch UI state (README, Design §7, item 1).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

use crate::store::{ResultsStore, StoreError};

use super::ConsoleContext;
use super::action::Dispatcher;
use super::app::{Detail, Effect, LogSource, Msg, Overview, TREND_POINTS, update};
use super::logbuf::DEFAULT_LOG_CAPACITY;
use super::view::view;
use crate::orchestrator::{LogOptions, LogStream};

/// Attempts shown in the runs pane per model.
pub const RUNS_LIMIT: usize = 200;
/// Most log lines forwarded to the UI loop in one message.
pub const LOG_BATCH: usize = 1024;
/// How often the console's refresh also runs the reaper of expired run leases.
pub const REAP_EVERY: Duration = Duration::from_secs(30);

/// Queries everything the header and models table need, in two store calls whatever the
/// number of models: [`ResultsStore::overview`] (latest result, worst characteristic and
/// newest attempt of every model) and [`ResultsStore::trends`] (the [`TREND_POINTS`] days up
/// to the newest calculation date). Blocking: run it in `spawn_blocking`.
///
/// # Errors
/// The first failing store call.
pub fn load_overview(store: &dyn ResultsStore) -> Result<Overview, StoreError> {
    let rows = store.overview()?;
    let mut trends: HashMap<String, Vec<f64>> = HashMap::new();
    if let Some(max) = rows
        .iter()
        .filter_map(|r| r.latest.as_ref().map(|l| l.calculation_date))
        .max()
    {
        let from = max - chrono::Duration::days(TREND_POINTS as i64 - 1);
        for r in store.trends(None, Some(from), Some(max))? {
            trends.entry(r.model_id).or_default().push(r.psi_score);
        }
    }
    let mut latest = Vec::with_capacity(rows.len());
    let mut latest_runs = Vec::with_capacity(rows.len());
    let mut worst = HashMap::new();
    for row in rows {
        if let Some(w) = row.worst {
            worst.insert(row.model_id.clone(), w.characteristic);
        }
        latest.extend(row.latest);
        latest_runs.extend(row.latest_run);
    }
    let run_ids: Vec<String> = latest_runs.iter().map(|r| r.run_id.clone()).collect();
    let mut quality: HashMap<String, crate::quality::Severity> = HashMap::new();
    for f in store.findings(&run_ids)? {
        let newest = latest_runs
            .iter()
            .find(|r| r.run_id == f.run_id && r.attempt == f.attempt);
        if let Some(run) = newest {
            let worst = quality
                .entry(run.model_id.clone())
                .or_insert(f.finding.severity);
            *worst = (*worst).max(f.finding.severity);
        }
    }
    Ok(Overview {
        quality,
        latest,
        latest_runs,
        trends,
        worst,
        loaded_at: Some(Utc::now()),
    })
}

/// Depth of the store's local pending queue ([`ResultsStore::pending`]); 0 when it cannot be
/// read (the store's own errors show through the overview). Blocking (a local SQLite count).
pub fn load_pending(store: &dyn ResultsStore) -> u64 {
    store.pending().unwrap_or(0)
}

/// Queries the history and runs of one model. Blocking.
///
/// # Errors
/// The failing store call.
pub fn load_detail(store: &dyn ResultsStore, model_id: &str) -> Result<Detail, StoreError> {
    let runs = store.runs(Some(model_id), RUNS_LIMIT)?;
    let mut run_ids: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
    run_ids.dedup();
    let history = store.history(model_id, None, None)?;
    // Replaced versions exist only for dates that have a result: the history's span bounds them.
    let replaced = match (history.first(), history.last()) {
        (Some(first), Some(last)) => store.recomputed(
            &[model_id.to_string()],
            first.calculation_date,
            last.calculation_date,
        )?,
        _ => Vec::new(),
    };
    Ok(Detail {
        model_id: model_id.to_string(),
        history,
        findings: store.findings(&run_ids)?,
        runs,
        replaced,
    })
}

/// Executes effects by spawning tasks that report back through `tx`.
pub struct Executor {
    store: Arc<dyn ResultsStore>,
    dispatcher: Arc<Dispatcher>,
    tx: UnboundedSender<Msg>,
    tail: Option<JoinHandle<()>>,
    last_reap: Option<std::time::Instant>,
}

impl Executor {
    /// An executor over the context's store and dispatcher; logs are read through the
    /// dispatcher's orchestrator.
    pub fn new(
        store: Arc<dyn ResultsStore>,
        dispatcher: Arc<Dispatcher>,
        tx: UnboundedSender<Msg>,
    ) -> Self {
        Self {
            store,
            dispatcher,
            tx,
            tail: None,
            last_reap: None,
        }
    }

    /// Starts the work of one effect.
    pub fn execute(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        match effect {
            Effect::LoadOverview => {
                let store = Arc::clone(&self.store);
                // Jobs killed while the console runs (a job's exit code 137) stop renewing their
                // lease: reap them now and then, so the header does not keep them running.
                // On Kubernetes the models' CronJobs (suspended or not) are listed alongside.
                if self.dispatcher.orchestrator.kind() == "kubernetes" {
                    let orchestrator = Arc::clone(&self.dispatcher.orchestrator);
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let result = orchestrator
                            .orchestrator()
                            .schedules()
                            .await
                            .map_err(|e| e.to_string());
                        let _ = tx.send(Msg::Schedules(result));
                    });
                }
                let reap = self.last_reap.is_none_or(|at| at.elapsed() >= REAP_EVERY);
                if reap {
                    self.last_reap = Some(std::time::Instant::now());
                }
                tokio::task::spawn_blocking(move || {
                    if reap {
                        crate::jobs::lease::reap(store.as_ref());
                    }
                    // The overview's reads send the store's pending queue first (the Snowflake
                    // store flushes before a read), so the console flushes it in the background
                    // every refresh; the depth is read after, whether the read worked or not.
                    let result = load_overview(store.as_ref()).map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Overview(result));
                    let _ = tx.send(Msg::Pending(load_pending(store.as_ref())));
                });
            }
            Effect::LoadDetail(model_id) => {
                let store = Arc::clone(&self.store);
                tokio::task::spawn_blocking(move || {
                    let result = load_detail(store.as_ref(), &model_id).map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Detail { model_id, result });
                });
            }
            Effect::LoadCharacteristics { model_id, date } => {
                let store = Arc::clone(&self.store);
                tokio::task::spawn_blocking(move || {
                    let result = store
                        .characteristics(&model_id, date)
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Characteristics {
                        model_id,
                        date,
                        result,
                    });
                });
            }
            Effect::LoadRefreshes(models) => {
                let backend = self.dispatcher.refresh.clone();
                tokio::task::spawn_blocking(move || {
                    let result = match backend {
                        Some(b) => b.load(&models),
                        None => Err(
                            "benchmark refresh reports are not available in this console".into(),
                        ),
                    };
                    let _ = tx.send(Msg::Refreshes(result));
                });
            }
            Effect::Dispatch(action) => {
                let dispatcher = Arc::clone(&self.dispatcher);
                tokio::task::spawn_blocking(move || {
                    let report = dispatcher.dispatch(&action, Utc::now());
                    let _ = tx.send(Msg::Dispatched(report));
                });
            }
            Effect::TailLog { source, log } => {
                if let Some(old) = self.tail.take() {
                    old.abort();
                }
                if let Some(log) = log {
                    let options = LogOptions {
                        follow: true,
                        tail: Some(DEFAULT_LOG_CAPACITY),
                        since: None,
                    };
                    let stream = self.dispatcher.orchestrator.logs(&log, options);
                    self.tail = Some(tokio::spawn(tail_log(stream, source, tx)));
                }
            }
            Effect::SaveLog { path, text } => {
                let dispatcher = Arc::clone(&self.dispatcher);
                tokio::task::spawn_blocking(move || {
                    let result = save_audited(&dispatcher, &path, &text)
                        .map(|()| path)
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::LogSaved(result));
                });
            }
            Effect::LoadTargets(kind) => {
                let orchestrator = Arc::clone(&self.dispatcher.orchestrator);
                tokio::spawn(async move {
                    let result = orchestrator
                        .orchestrator()
                        .targets(kind)
                        .await
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Targets { kind, result });
                });
            }
            Effect::SwitchTarget { kind, name } => {
                let orchestrator = Arc::clone(&self.dispatcher.orchestrator);
                tokio::spawn(async move {
                    let result = orchestrator
                        .orchestrator()
                        .switch_target(kind, name.clone())
                        .await
                        .map(|_| orchestrator.label())
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::TargetSwitched { kind, name, result });
                });
            }
            Effect::Quit => {}
        }
    }

    /// Stops background work owned by the executor (the log tail).
    pub fn shutdown(&mut self) {
        if let Some(t) = self.tail.take() {
            t.abort();
        }
    }
}

/// Saving a log is an action: refused in read-only mode and for viewers, and audited before the
/// file is written (no audit, no file; issue 11 #8).
fn save_audited(dispatcher: &Dispatcher, path: &Path, text: &str) -> Result<(), String> {
    if dispatcher.read_only {
        return Err("the console is read-only (--read-only): logs are not saved".into());
    }
    if dispatcher.role < crate::domain::Role::Operator {
        return Err(format!(
            "saving a log needs the operator role; you are {}",
            dispatcher.role
        ));
    }
    let entry = crate::store::AuditRecord {
        at: Utc::now(),
        user: dispatcher.user.clone(),
        role: dispatcher.role.as_str().to_string(),
        action: "save-log".into(),
        target: path.display().to_string(),
        outcome: "saved".into(),
    };
    dispatcher
        .store
        .append_audit(&entry)
        .map_err(|e| format!("not saved: the audit entry could not be written ({e})"))?;
    save(path, text).map_err(|e| e.to_string())
}

fn save(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

/// Forwards the lines of an orchestrator log stream to the UI loop in batches (whatever is ready
/// at once); an error item is shown once until it changes. Dropping the task (abort) drops the
/// stream, which stops the orchestrator's reading.
async fn tail_log(stream: LogStream, source: LogSource, tx: UnboundedSender<Msg>) {
    let mut chunks = stream.ready_chunks(LOG_BATCH);
    while let Some(items) = chunks.next().await {
        let mut lines = Vec::new();
        for item in items {
            match item {
                Ok(line) => lines.push(line),
                Err(e) => {
                    if !lines.is_empty() {
                        let batch = std::mem::take(&mut lines);
                        if tx
                            .send(Msg::LogLines {
                                source: source.clone(),
                                lines: batch,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                    let message = format!("log: {e}");
                    if tx
                        .send(Msg::LogError {
                            source: source.clone(),
                            message,
                        })
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        if !lines.is_empty()
            && tx
                .send(Msg::LogLines {
                    source: source.clone(),
                    lines,
                })
                .is_err()
        {
            return;
        }
    }
}

/// Waits for SIGTERM, SIGHUP or SIGINT and returns its name; `None` when the handlers cannot be
/// installed (logged; the console then only stops on `q`).
async fn termination_signal() -> Option<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let install = |kind: SignalKind| {
        signal(kind)
            .map_err(|e| tracing::warn!("cannot handle signal {kind:?}: {e}"))
            .ok()
    };
    let mut term = install(SignalKind::terminate())?;
    let mut hup = install(SignalKind::hangup())?;
    let mut int = install(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => Some("SIGTERM"),
        _ = hup.recv() => Some("SIGHUP"),
        _ = int.recv() => Some("SIGINT"),
    }
}

/// Runs the UI loop on `terminal` until the user quits or a termination signal arrives.
///
/// # Errors
/// Terminal I/O errors while drawing.
pub async fn run_loop(
    terminal: &mut DefaultTerminal,
    ctx: ConsoleContext,
) -> color_eyre::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let dispatcher = Arc::new(Dispatcher {
        store: Arc::clone(&ctx.store),
        orchestrator: Arc::clone(&ctx.orchestrator),
        user: ctx.user.clone(),
        role: ctx.role,
        read_only: ctx.read_only,
        refresh: ctx.refresh.clone(),
    });
    let mut exec = Executor::new(Arc::clone(&ctx.store), dispatcher, tx.clone());
    let refresh_every = ctx.refresh_every;
    let orchestrator = Arc::clone(&ctx.orchestrator);
    let mut ctx = ctx;
    let health_check = ctx.health_check.take();
    let mut app = ctx.into_app();
    let size = terminal.size()?;
    app.size = (size.width, size.height);
    app.now = Utc::now();

    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    if let Some(check) = health_check {
        let t = tx.clone();
        tasks.push(tokio::spawn(async move {
            let failing = tokio::task::spawn_blocking(check)
                .await
                .unwrap_or_else(|e| vec![format!("health check: did not finish: {e}")]);
            let _ = t.send(Msg::Health(failing));
        }));
    }
    // Job state changes from every console and the scheduler, subscribed before anything runs.
    tasks.push(orchestrator.forward_events(tx.clone()));
    let t = tx.clone();
    tasks.push(tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(ev) = events.next().await {
            let msg = match ev {
                Ok(Event::Key(k)) => Msg::Key(k),
                Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("terminal input failed: {e}");
                    break;
                }
            };
            if t.send(msg).is_err() {
                break;
            }
        }
    }));
    let t = tx.clone();
    tasks.push(tokio::spawn(async move {
        let mut every = tokio::time::interval(refresh_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        every.tick().await; // the first tick is immediate; init() already loads
        loop {
            every.tick().await;
            if t.send(Msg::RefreshTick).is_err() {
                break;
            }
        }
    }));
    let t = tx.clone();
    tasks.push(tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            if t.send(Msg::Now(Utc::now())).is_err() {
                break;
            }
        }
    }));
    drop(tx);
    // SIGTERM (kill, timeout, a pod stopping), SIGHUP (terminal closed) and SIGINT (kill -INT;
    // Ctrl-C arrives as a key in raw mode) end the loop like `q`, so the terminal is restored.
    let (sig_tx, mut sig_rx) = tokio::sync::oneshot::channel::<&'static str>();
    tasks.push(tokio::spawn(async move {
        if let Some(name) = termination_signal().await {
            let _ = sig_tx.send(name);
        }
    }));

    for e in app.init() {
        exec.execute(e);
    }
    tracing::info!(workspace = %app.session.workspace, "console started");
    let result = loop {
        if app.dirty {
            if let Err(e) = terminal.draw(|f| view(&app, f)) {
                break Err(e.into());
            }
            app.dirty = false;
        }
        let first = tokio::select! {
            m = rx.recv() => m,
            sig = &mut sig_rx => {
                if let Ok(name) = sig {
                    tracing::info!(signal = name, "console stopping on a signal");
                    break Ok(());
                }
                // The signal task could not install its handlers (logged); keep running.
                sig_rx = tokio::sync::oneshot::channel().1;
                continue;
            }
        };
        let Some(first) = first else {
            break Ok(());
        };
        // Drain what is queued, then draw once.
        let mut batch = vec![first];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
            if batch.len() >= 256 {
                break;
            }
        }
        let mut dirty = false;
        for m in batch {
            for e in update(&mut app, m) {
                exec.execute(e);
            }
            dirty |= app.dirty;
        }
        app.dirty = dirty;
        if app.should_quit {
            break Ok(());
        }
    };
    exec.shutdown();
    for t in tasks {
        t.abort();
    }
    tracing::info!("console stopped");
    result
}
