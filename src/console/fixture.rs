//! In-memory fixtures for the console's tests, snapshots and benchmarks: a [`MemoryStore`]
//! implementing [`ResultsStore`], a [`FixtureOrchestrator`] implementing [`Orchestrator`], and a
//! deterministic estate generator ([`generate`]). Not for production use.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use futures::future::BoxFuture;
use tokio::sync::{Semaphore, broadcast};

use crate::domain::{BinStat, RunAction, RunStatus, Thresholds};
use crate::store::{
    AuditRecord, CharacteristicRecord, ColumnRole, DateStatus, ModelOverview, ResultRecord,
    ResultsStore, RunRecord, StoreError, WorstCharacteristic, merge_overview, validate_result,
};

use crate::orchestrator::{
    JobEvent, JobId, JobInfo, JobRequest, JobState, LogOptions, LogRef, LogStream, Orchestrator,
    OrchestratorError,
};

use super::app::ModelMeta;

#[derive(Debug, Default)]
struct Inner {
    results: BTreeMap<(String, NaiveDate), ResultRecord>,
    characteristics: BTreeMap<(String, NaiveDate), Vec<CharacteristicRecord>>,
    runs: Vec<RunRecord>,
    audit: Vec<AuditRecord>,
    findings: Vec<crate::store::FindingRecord>,
    replaced: Vec<crate::store::ReplacedResult>,
    fail_with: Option<String>,
}

/// A results store in memory, thread-safe. `fail_with` makes every call fail (error states).
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following call fail with `StoreError::Busy(message)` (`None` heals it).
    pub fn fail_with(&self, message: Option<&str>) {
        self.lock().fail_with = message.map(str::to_string);
    }

    /// Audit entries, oldest first.
    pub fn audit_entries(&self) -> Vec<AuditRecord> {
        self.lock().audit.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned fixture only happens after a test already panicked.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check(inner: &Inner) -> Result<(), StoreError> {
        match &inner.fail_with {
            Some(m) => Err(StoreError::Busy(m.clone())),
            None => Ok(()),
        }
    }
}

/// Attempt order shared with SQLite: newest first by (`started_at`, `attempt`, `run_id`).
fn newest_first(a: &RunRecord, b: &RunRecord) -> std::cmp::Ordering {
    (b.started_at, b.attempt, &b.run_id).cmp(&(a.started_at, a.attempt, &a.run_id))
}

/// Characteristic order shared with SQLite: score first, then CSI descending, then name.
fn characteristic_order(a: &CharacteristicRecord, b: &CharacteristicRecord) -> std::cmp::Ordering {
    let ra = u8::from(a.role != ColumnRole::Score);
    let rb = u8::from(b.role != ColumnRole::Score);
    ra.cmp(&rb)
        .then(b.index_value.total_cmp(&a.index_value))
        .then_with(|| a.characteristic.cmp(&b.characteristic))
}

impl Inner {
    fn in_range(r: &ResultRecord, from: Option<NaiveDate>, to: Option<NaiveDate>) -> bool {
        from.is_none_or(|f| r.calculation_date >= f) && to.is_none_or(|t| r.calculation_date <= t)
    }

    fn latest_results(&self) -> Vec<ResultRecord> {
        let mut latest: BTreeMap<&str, &ResultRecord> = BTreeMap::new();
        for ((m, _), r) in &self.results {
            latest.insert(m.as_str(), r);
        }
        let mut out: Vec<ResultRecord> = latest.into_values().cloned().collect();
        out.sort_by(|a, b| (&a.value_stream, &a.model_id).cmp(&(&b.value_stream, &b.model_id)));
        out
    }

    fn latest_runs(&self) -> Vec<RunRecord> {
        let mut newest: BTreeMap<&str, &RunRecord> = BTreeMap::new();
        for r in &self.runs {
            let e = newest.entry(r.model_id.as_str()).or_insert(r);
            if newest_first(r, e).is_lt() {
                *e = r;
            }
        }
        let mut out: Vec<RunRecord> = newest.into_values().cloned().collect();
        out.sort_by(|a, b| (&a.value_stream, &a.model_id).cmp(&(&b.value_stream, &b.model_id)));
        out
    }
}

impl ResultsStore for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn save_result_of_run(
        &self,
        result: &ResultRecord,
        characteristics: &[CharacteristicRecord],
        run_id: Option<&str>,
    ) -> Result<(), StoreError> {
        validate_result(result, characteristics)?;
        let mut g = self.lock();
        Self::check(&g)?;
        let key = (result.model_id.clone(), result.calculation_date);
        if let Some(old) = g.results.get(&key) {
            let old_worst = g
                .characteristics
                .get(&key)
                .and_then(|c| crate::store::worst_of(c));
            let new_worst = crate::store::worst_of(characteristics);
            if crate::store::result_changed(
                old.psi_score,
                old.csi_score,
                old_worst.as_ref().map(|w| w.characteristic.as_str()),
                result,
                new_worst.as_ref().map(|w| w.characteristic.as_str()),
            ) {
                let replaced = crate::store::ReplacedResult {
                    model_id: old.model_id.clone(),
                    value_stream: old.value_stream.clone(),
                    calculation_date: old.calculation_date,
                    psi_score: old.psi_score,
                    csi_score: old.csi_score,
                    worst: old_worst,
                    valid_from: old.execution_time,
                    valid_to: result.execution_time,
                    superseded_by_run: run_id.map(str::to_string),
                };
                g.replaced.push(replaced);
            }
        }
        g.results.insert(key.clone(), result.clone());
        g.characteristics.insert(key, characteristics.to_vec());
        Ok(())
    }

    fn result_history(
        &self,
        model_id: &str,
        calculation_date: NaiveDate,
    ) -> Result<Vec<crate::store::ReplacedResult>, StoreError> {
        self.recomputed(&[model_id.to_string()], calculation_date, calculation_date)
    }

    fn recomputed(
        &self,
        models: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<crate::store::ReplacedResult>, StoreError> {
        let g = self.lock();
        Self::check(&g)?;
        let mut out: Vec<_> = g
            .replaced
            .iter()
            .filter(|h| models.contains(&h.model_id))
            .filter(|h| h.calculation_date >= from && h.calculation_date <= to)
            .cloned()
            .collect();
        // Stable: insertion order breaks the remaining ties, as `seq` does in SQLite.
        out.sort_by(|a, b| {
            (&a.model_id, a.calculation_date, a.valid_to, a.valid_from).cmp(&(
                &b.model_id,
                b.calculation_date,
                b.valid_to,
                b.valid_from,
            ))
        });
        Ok(out)
    }

    fn record_attempt(&self, run: &RunRecord) -> Result<(), StoreError> {
        let mut g = self.lock();
        Self::check(&g)?;
        match g
            .runs
            .iter_mut()
            .find(|r| r.run_id == run.run_id && r.attempt == run.attempt)
        {
            Some(r) => *r = run.clone(),
            None => g.runs.push(run.clone()),
        }
        Ok(())
    }

    fn latest_results(&self) -> Result<Vec<ResultRecord>, StoreError> {
        let g = self.lock();
        Self::check(&g)?;
        Ok(g.latest_results())
    }

    fn overview(&self) -> Result<Vec<ModelOverview>, StoreError> {
        let g = self.lock();
        Self::check(&g)?;
        let latest = g
            .latest_results()
            .into_iter()
            .map(|r| {
                let worst = g
                    .characteristics
                    .get(&(r.model_id.clone(), r.calculation_date))
                    .and_then(|rows| {
                        rows.iter()
                            .filter(|c| c.role == ColumnRole::Characteristic)
                            .min_by(|a, b| {
                                b.index_value
                                    .total_cmp(&a.index_value)
                                    .then_with(|| a.characteristic.cmp(&b.characteristic))
                            })
                            .map(|c| WorstCharacteristic {
                                characteristic: c.characteristic.clone(),
                                csi: c.index_value,
                            })
                    });
                (r, worst)
            })
            .collect();
        Ok(merge_overview(latest, g.latest_runs()))
    }

    fn history(
        &self,
        model_id: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ResultRecord>, StoreError> {
        let g = self.lock();
        Self::check(&g)?;
        Ok(g.results
            .values()
            .filter(|r| r.model_id == model_id && Inner::in_range(r, from, to))
            .cloned()
            .collect())
    }

    fn trends(
        &self,
        models: Option<&[String]>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ResultRecord>, StoreError> {
        let g = self.lock();
        Self::check(&g)?;
        Ok(g.results
            .values()
            .filter(|r| models.is_none_or(|m| m.contains(&r.model_id)))
            .filter(|r| Inner::in_range(r, from, to))
            .cloned()
            .collect())
    }

    fn date_status(
        &self,
        models: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DateStatus>, StoreError> {
        let g = self.lock();
        Self::check(&g)?;
        let mut out: BTreeMap<(String, NaiveDate), (bool, Option<&RunRecord>)> = BTreeMap::new();
        for (m, d) in g.results.keys() {
            if models.contains(m) && *d >= from && *d <= to {
                out.entry((m.clone(), *d)).or_default().0 = true;
            }
        }
        for r in &g.runs {
            let d = r.calculation_date;
            if models.contains(&r.model_id) && d >= from && d <= to {
                let e = out.entry((r.model_id.clone(), d)).or_default();
                if e.1.is_none_or(|old| newest_first(r, old).is_lt()) {
                    e.1 = Some(r);
                }
            }
        }
        Ok(out
            .into_iter()
            .map(
                |((model_id, calculation_date), (has_result, run))| DateStatus {
                    model_id,
                    calculation_date,
                    has_result,
                    run_status: run.map(|r| r.status),
                },
            )
            .collect())
    }

    fn characteristics(
        &self,
        model_id: &str,
        calculation_date: NaiveDate,
    ) -> Result<Vec<CharacteristicRecord>, StoreError> {
        let g = self.lock();
        Self::check(&g)?;
        let mut rows = g
            .characteristics
            .get(&(model_id.to_string(), calculation_date))
            .cloned()
            .unwrap_or_default();
        rows.sort_by(characteristic_order);
        Ok(rows)
    }

    fn runs(&self, model_id: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let g = self.lock();
        Self::check(&g)?;
        let mut runs: Vec<RunRecord> = g
            .runs
            .iter()
            .filter(|r| model_id.is_none_or(|m| r.model_id == m))
            .cloned()
            .collect();
        runs.sort_by(newest_first);
        runs.truncate(limit);
        Ok(runs)
    }

    fn latest_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let g = self.lock();
        Self::check(&g)?;
        Ok(g.latest_runs())
    }

    fn record_findings(
        &self,
        run_id: &str,
        attempt: u32,
        findings: &[crate::quality::Finding],
    ) -> Result<(), StoreError> {
        let mut g = self.lock();
        Self::check(&g)?;
        g.findings
            .retain(|f| !(f.run_id == run_id && f.attempt == attempt));
        g.findings
            .extend(findings.iter().map(|f| crate::store::FindingRecord {
                run_id: run_id.to_string(),
                attempt,
                finding: f.clone(),
            }));
        Ok(())
    }

    fn findings(&self, run_ids: &[String]) -> Result<Vec<crate::store::FindingRecord>, StoreError> {
        let g = self.lock();
        Self::check(&g)?;
        let mut out: Vec<_> = g
            .findings
            .iter()
            .filter(|f| run_ids.contains(&f.run_id))
            .cloned()
            .collect();
        // Stable: keeps the recorded order within an attempt.
        out.sort_by(|a, b| (&a.run_id, a.attempt).cmp(&(&b.run_id, b.attempt)));
        Ok(out)
    }

    fn append_audit(&self, entry: &AuditRecord) -> Result<(), StoreError> {
        let mut g = self.lock();
        Self::check(&g)?;
        g.audit.push(entry.clone());
        Ok(())
    }

    fn audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let g = self.lock();
        Self::check(&g)?;
        Ok(g.audit.iter().rev().take(limit).cloned().collect())
    }
}

/// How many jobs a [`FixtureOrchestrator`] runs at once by default.
pub const FIXTURE_CONCURRENCY: usize = 2;

/// A fake [`Orchestrator`] in memory that records every accepted request and plays a script per
/// job, chosen by the prefix of the job's target (model id): `fail*` logs `failing on purpose`
/// and fails with exit code 3, `tick*` logs `tick 1` … `tick 20` 50 ms apart, `slow*` runs
/// ~300 ms, `hang*` runs until cancelled (at most 60 s); anything else logs `args: <cli args>`
/// and succeeds. Jobs wait for one of `concurrency` slots; logs are `fixture:<job id>`. The same
/// contract suite as the local runner runs against it (`tests/orchestrator_contract.rs`).
pub struct FixtureOrchestrator {
    shared: Arc<Shared>,
}

struct Shared {
    jobs: Mutex<Vec<FixtureJob>>,
    requests: Mutex<Vec<JobRequest>>,
    events: broadcast::Sender<JobEvent>,
    slots: Arc<Semaphore>,
    seq: AtomicU64,
}

struct FixtureJob {
    info: JobInfo,
    lines: Vec<String>,
    cancel_requested: bool,
}

const LOG_PREFIX: &str = "fixture:";

impl Default for FixtureOrchestrator {
    fn default() -> Self {
        Self::new(FIXTURE_CONCURRENCY)
    }
}

impl std::fmt::Debug for FixtureOrchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixtureOrchestrator")
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned fixture only happens after a test already panicked.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Applies `change` to job `id` and broadcasts its new snapshot; `None` if unknown.
    fn update(&self, id: &JobId, change: impl FnOnce(&mut FixtureJob)) -> Option<JobInfo> {
        let info = {
            let mut jobs = lock(&self.jobs);
            let job = jobs.iter_mut().find(|j| &j.info.id == id)?;
            change(job);
            job.info.clone()
        };
        let _ = self.events.send(JobEvent { job: info.clone() });
        Some(info)
    }

    fn log(&self, id: &JobId, line: String) {
        if let Some(job) = lock(&self.jobs).iter_mut().find(|j| &j.info.id == id) {
            job.lines.push(line);
        }
    }

    fn snapshot(&self, id: &JobId) -> Option<(JobInfo, bool)> {
        lock(&self.jobs)
            .iter()
            .find(|j| &j.info.id == id)
            .map(|j| (j.info.clone(), j.cancel_requested))
    }

    fn cancelled(&self, id: &JobId) -> bool {
        self.snapshot(id).is_none_or(|(_, c)| c)
    }

    /// Sleeps `ms` in small steps; false when the job was cancelled meanwhile.
    async fn sleep(&self, id: &JobId, ms: u64) -> bool {
        let mut left = ms;
        while left > 0 {
            let step = left.min(10);
            tokio::time::sleep(std::time::Duration::from_millis(step)).await;
            left -= step;
            if self.cancelled(id) {
                return false;
            }
        }
        true
    }

    /// The job's life: wait for a slot, run the script of its target, record the end.
    async fn run(self: Arc<Self>, id: JobId, args: Vec<String>) {
        let Ok(_permit) = Arc::clone(&self.slots).acquire_owned().await else {
            return;
        };
        let Some((info, cancelled)) = self.snapshot(&id) else {
            return;
        };
        if cancelled || info.state.is_final() {
            return;
        }
        self.update(&id, |j| {
            j.info.state = JobState::Running;
            j.info.started_at = Some(Utc::now());
        });
        let target = info.spec.target();
        let exit = if target.starts_with("fail") {
            self.log(&id, "failing on purpose".into());
            Some(3)
        } else if target.starts_with("tick") {
            let mut done = Some(0);
            for i in 1..=20 {
                self.log(&id, format!("tick {i}"));
                if i < 20 && !self.sleep(&id, 50).await {
                    done = None;
                    break;
                }
            }
            done
        } else if target.starts_with("slow") {
            self.sleep(&id, 300).await.then_some(0)
        } else if target.starts_with("hang") {
            self.sleep(&id, 60_000).await.then_some(0)
        } else {
            self.log(&id, format!("args: {}", args.join(" ")));
            Some(0)
        };
        let exit = if self.cancelled(&id) { None } else { exit };
        self.update(&id, |j| {
            j.info.finished_at = Some(Utc::now());
            j.info.exit_code = exit;
            j.info.state = match exit {
                Some(0) => JobState::Succeeded,
                Some(_) => JobState::Failed,
                None => JobState::Cancelled,
            };
            if exit.is_none() {
                j.info.note = Some("cancelled by a user".into());
            }
        });
    }
}

impl FixtureOrchestrator {
    /// A fake running at most `concurrency` jobs at once (at least 1).
    pub fn new(concurrency: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                jobs: Mutex::new(Vec::new()),
                requests: Mutex::new(Vec::new()),
                events: broadcast::channel(1024).0,
                slots: Arc::new(Semaphore::new(concurrency.max(1))),
                seq: AtomicU64::new(0),
            }),
        }
    }

    /// Requests accepted so far, in order.
    pub fn received(&self) -> Vec<JobRequest> {
        lock(&self.shared.requests).clone()
    }
}

/// `value` as a job id part: lowercase, characters outside `[a-z0-9._-]` as `_`.
fn id_part(value: &str) -> String {
    value
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect()
}

impl Orchestrator for FixtureOrchestrator {
    fn kind(&self) -> &'static str {
        "fixture"
    }

    fn submit(&self, request: JobRequest) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async move {
            request.spec.validate()?;
            let seq = self.shared.seq.fetch_add(1, Ordering::Relaxed) + 1;
            let id = JobId::new(format!(
                "{}-{}-{seq}",
                request.spec.kind(),
                id_part(&request.spec.target())
            ))?;
            let info = JobInfo {
                id: id.clone(),
                spec: request.spec.clone(),
                triggered_by: request.triggered_by.clone(),
                state: JobState::Queued,
                submitted_at: Utc::now(),
                started_at: None,
                finished_at: None,
                exit_code: None,
                log: LogRef::new(format!("{LOG_PREFIX}{id}")),
                note: None,
            };
            let args = request.spec.cli_args(&id, &request.triggered_by);
            lock(&self.shared.jobs).push(FixtureJob {
                info: info.clone(),
                lines: Vec::new(),
                cancel_requested: false,
            });
            lock(&self.shared.requests).push(request);
            let _ = self.shared.events.send(JobEvent { job: info.clone() });
            tokio::spawn(Arc::clone(&self.shared).run(id, args));
            Ok(info)
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<JobInfo>, OrchestratorError>> {
        Box::pin(async move {
            Ok(lock(&self.shared.jobs)
                .iter()
                .rev()
                .map(|j| j.info.clone())
                .collect())
        })
    }

    fn job(&self, id: JobId) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async move {
            self.shared
                .snapshot(&id)
                .map(|(info, _)| info)
                .ok_or_else(|| OrchestratorError::UnknownJob(id.to_string()))
        })
    }

    fn logs(&self, log: &LogRef, options: LogOptions) -> LogStream {
        let id = match log.as_str().strip_prefix(LOG_PREFIX).map(JobId::new) {
            Some(Ok(id)) => id,
            _ => {
                let err = OrchestratorError::InvalidRequest(format!(
                    "{log}: not a log of the fixture orchestrator"
                ));
                return Box::pin(futures::stream::once(async move { Err(err) }));
            }
        };
        let present = lock(&self.shared.jobs)
            .iter()
            .find(|j| j.info.id == id)
            .map(|j| j.lines.len());
        let Some(present) = present else {
            let err = OrchestratorError::UnknownJob(id.to_string());
            return Box::pin(futures::stream::once(async move { Err(err) }));
        };
        let first = options.tail.map_or(0, |n| present.saturating_sub(n));
        let shared = Arc::clone(&self.shared);
        let follow = options.follow;
        Box::pin(futures::stream::unfold(first, move |next| {
            let shared = Arc::clone(&shared);
            let id = id.clone();
            async move {
                loop {
                    let line = lock(&shared.jobs)
                        .iter()
                        .find(|j| j.info.id == id)
                        .and_then(|j| j.lines.get(next).cloned());
                    match line {
                        Some(l) if follow || next < present => return Some((Ok(l), next + 1)),
                        _ if !follow => return None,
                        _ => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
                    }
                }
            }
        }))
    }

    fn cancel(&self, id: JobId) -> BoxFuture<'_, Result<JobInfo, OrchestratorError>> {
        Box::pin(async move {
            let (info, _) = self
                .shared
                .snapshot(&id)
                .ok_or_else(|| OrchestratorError::UnknownJob(id.to_string()))?;
            match info.state {
                s if s.is_final() => Ok(info),
                JobState::Queued => Ok(self
                    .shared
                    .update(&id, |j| {
                        j.cancel_requested = true;
                        j.info.state = JobState::Cancelled;
                        j.info.finished_at = Some(Utc::now());
                        j.info.note = Some("cancelled before it started".into());
                    })
                    .unwrap_or(info)),
                _ => {
                    if let Some(job) = lock(&self.shared.jobs).iter_mut().find(|j| j.info.id == id)
                    {
                        job.cancel_requested = true;
                    }
                    Ok(info)
                }
            }
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.shared.events.subscribe()
    }
}

/// A fixed instant for fixtures: 2013-03-01T06:00:00Z.
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2013, 3, 1, 6, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Deterministic pseudo-random numbers (SplitMix64), so fixtures need no RNG crate.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next value in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

const CHARACTERISTICS: [&str; 4] = ["dep_delay", "distance", "carrier", "hour"];

fn bins_for(rng: &mut SplitMix, index: f64, n: usize) -> Vec<BinStat> {
    // Expected shares uniform; actual shifted so the sum of contributions roughly equals index.
    let e = 1.0 / n as f64;
    let mut actual: Vec<f64> = (0..n)
        .map(|i| {
            let tilt = (i as f64 / (n - 1).max(1) as f64 - 0.5) * index.sqrt() * 1.6;
            (e * (1.0 + tilt + 0.05 * (rng.next_f64() - 0.5))).max(1e-4)
        })
        .collect();
    let s: f64 = actual.iter().sum();
    for a in &mut actual {
        *a /= s;
    }
    (0..n)
        .map(|i| {
            let label = if i == 0 {
                format!("(-inf, {}]", 10 * (i + 1))
            } else if i + 1 == n {
                format!("({}, +inf)", 10 * i)
            } else {
                format!("({}, {}]", 10 * i, 10 * (i + 1))
            };
            let a = actual[i];
            BinStat {
                label,
                expected_count: (e * 10_000.0).round() as u64,
                actual_count: (a * 1_000.0).round() as u64,
                expected_share: e,
                actual_share: a,
                contribution: (a - e) * (a / e).ln(),
            }
        })
        .collect()
}

/// Options of [`generate`].
#[derive(Debug, Clone)]
pub struct EstateSpec {
    /// Number of models (spread over value streams of 25 models).
    pub models: usize,
    /// Days of history per model, ending 2013-02-28.
    pub days: usize,
    /// Keep characteristic rows (with bins) only for the last this many days (memory).
    pub detail_days: usize,
    /// Seed.
    pub seed: u64,
}

/// A generated estate: the store and the models' metadata.
pub struct Estate {
    /// The filled store.
    pub store: MemoryStore,
    /// Metadata of every model.
    pub models: Vec<ModelMeta>,
}

/// Fills a [`MemoryStore`] deterministically: results, characteristics with bins, and runs.
/// Model 0 alerts, model 1 warns, model 2's last run failed, model 3's is running, model 4's
/// is retrying; the rest drift randomly and mostly stay ok.
pub fn generate(spec: &EstateSpec) -> Estate {
    let mut rng = SplitMix::new(spec.seed);
    let store = MemoryStore::new();
    let mut models = Vec::with_capacity(spec.models);
    let last = NaiveDate::from_ymd_opt(2013, 2, 28).unwrap_or_default();
    let streams = ["cards", "loans", "mortgages", "fraud", "collections"];
    {
        let mut g = store.lock();
        for m in 0..spec.models {
            let vs = format!(
                "{}{}",
                streams[m % streams.len()],
                if m < 25 {
                    String::new()
                } else {
                    format!("_{}", m / 25)
                }
            );
            let model_id = format!("model_{m:04}");
            let thresholds = Thresholds::default();
            models.push(ModelMeta {
                model_id: model_id.clone(),
                value_stream: vs.clone(),
                thresholds,
                owner: Some(format!("team-{}", m % 7)),
            });
            let target = match m {
                0 => 0.34,
                1 => 0.16,
                _ => 0.02 + 0.05 * rng.next_f64(),
            };
            for d in 0..spec.days {
                let date = last - Duration::days((spec.days - 1 - d) as i64);
                let progress = (d + 1) as f64 / spec.days as f64;
                let psi = (target * progress.powi(2) + 0.01 * rng.next_f64()).max(0.0);
                let csis: Vec<f64> = CHARACTERISTICS
                    .iter()
                    .enumerate()
                    .map(|(i, _)| psi * (1.2 - 0.3 * i as f64) + 0.005 * rng.next_f64())
                    .collect();
                let max_csi = csis.iter().copied().fold(0.0, f64::max);
                let at = Utc.from_utc_datetime(&date.and_hms_opt(5, 0, 0).unwrap_or_default())
                    + Duration::days(1);
                g.results.insert(
                    (model_id.clone(), date),
                    ResultRecord {
                        model_id: model_id.clone(),
                        value_stream: vs.clone(),
                        calculation_date: date,
                        psi_score: psi,
                        csi_score: max_csi,
                        execution_time: at,
                    },
                );
                if spec.days - d <= spec.detail_days {
                    let mut rows = vec![CharacteristicRecord {
                        model_id: model_id.clone(),
                        calculation_date: date,
                        characteristic: "score".into(),
                        role: ColumnRole::Score,
                        kind: "numeric".into(),
                        index_value: psi,
                        bins: bins_for(&mut rng, psi, 10),
                    }];
                    for (i, name) in CHARACTERISTICS.iter().enumerate() {
                        rows.push(CharacteristicRecord {
                            model_id: model_id.clone(),
                            calculation_date: date,
                            characteristic: (*name).into(),
                            role: ColumnRole::Characteristic,
                            kind: if *name == "carrier" {
                                "categorical"
                            } else {
                                "numeric"
                            }
                            .into(),
                            index_value: csis[i],
                            bins: bins_for(
                                &mut rng,
                                csis[i],
                                if *name == "carrier" { 6 } else { 10 },
                            ),
                        });
                    }
                    g.characteristics.insert((model_id.clone(), date), rows);
                }
            }
            // Runs: the last three dates, one attempt each, plus special cases on the last date.
            for back in (0..3usize.min(spec.days)).rev() {
                let date = last - Duration::days(back as i64);
                let started = Utc.from_utc_datetime(&date.and_hms_opt(5, 0, 0).unwrap_or_default())
                    + Duration::days(1);
                let (status, error, finished, attempt) = match (m, back) {
                    (2, 0) => (RunStatus::Failed, Some("benchmark profile checksum mismatch: benchmark.csv changed since the profile was built".to_string()), Some(started + Duration::seconds(3)), 3),
                    (3, 0) => (RunStatus::Running, None, None, 1),
                    (4, 0) => (RunStatus::Retrying, Some("current data file not found: flights_2013-02-28.csv".to_string()), Some(started + Duration::seconds(1)), 1),
                    _ => (RunStatus::Succeeded, None, Some(started + Duration::seconds(2 + (m % 5) as i64)), 1),
                };
                g.runs.push(RunRecord {
                    run_id: format!("{model_id}-{date}"),
                    attempt,
                    max_attempts: 3,
                    model_id: model_id.clone(),
                    value_stream: vs.clone(),
                    calculation_date: date,
                    action: RunAction::Run,
                    status,
                    error,
                    started_at: started,
                    finished_at: finished,
                    benchmark_version: Some("3f2a9c".into()),
                    rows_benchmark: Some(10_000),
                    rows_current: Some(1_000),
                    triggered_by: if back == 0 && m == 2 {
                        "alice".into()
                    } else {
                        "schedule".into()
                    },
                    log_path: Some(format!("logs/{model_id}/{date}.log")),
                });
            }
        }
    }
    Estate { store, models }
}

/// Executes the store effects (`LoadOverview`, `LoadDetail`, `LoadCharacteristics`)
/// synchronously against `store` until none remain, feeding the answers back through
/// [`update`](super::app::update); a fake runtime for tests. Overview times are masked to
/// [`fixed_now`]. Returns the other effects (dispatch, tail, save, quit) in order.
pub fn settle(
    app: &mut super::app::App,
    store: &dyn ResultsStore,
    effects: Vec<super::app::Effect>,
) -> Vec<super::app::Effect> {
    use super::app::{Effect, Msg, update};
    let mut queue: std::collections::VecDeque<Effect> = effects.into();
    let mut rest = Vec::new();
    let mut guard = 0;
    while let Some(e) = queue.pop_front() {
        guard += 1;
        if guard > 10_000 {
            break;
        }
        let msg = match e {
            Effect::LoadOverview => {
                let overview = super::runtime::load_overview(store)
                    .map(|mut o| {
                        o.loaded_at = Some(fixed_now());
                        o
                    })
                    .map_err(|e| e.to_string());
                queue.extend(update(app, Msg::Overview(overview)));
                Msg::Pending(super::runtime::load_pending(store))
            }
            Effect::LoadDetail(model_id) => {
                let result =
                    super::runtime::load_detail(store, &model_id).map_err(|e| e.to_string());
                Msg::Detail { model_id, result }
            }
            Effect::LoadCharacteristics { model_id, date } => {
                let result = store
                    .characteristics(&model_id, date)
                    .map_err(|e| e.to_string());
                Msg::Characteristics {
                    model_id,
                    date,
                    result,
                }
            }
            other => {
                rest.push(other);
                continue;
            }
        };
        queue.extend(update(app, msg));
    }
    rest
}
