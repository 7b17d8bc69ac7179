//! The benchmark refresh job (`driftdeck refresh-benchmarks`, the seeds' monthly job): for each
//! selected model, stream its new extract ([`source`]) through the row rules into a staged file
//! (rows that fail go to `<workspace>/quarantine/<model>/refresh-<ts>.csv` with a `line` and a
//! `reason` column), run the population and shift checks ([`checks`]), and only when nothing
//! fails install it atomically with its recomputed profile, keeping the previous version under
//! `versions/<ts>/` ([`BenchmarkStore::install`](crate::benchmarks::BenchmarkStore::install)). A rejected or failed model keeps its old
//! benchmark. Models run in parallel (`[refresh] concurrency`), each isolated from the others'
//! failures (a panic included). A value stream's `common/shared_data.csv` is refreshed the same
//! way (structure and row count only). Every refresh writes a report
//! (`<workspace>/refresh/<ts>.json`, read by the console), one audit row per model and one
//! summary notification.
//!
//! Rollback ([`rollback`]) installs a kept version the same way, so it can itself be undone.

pub mod checks;
pub mod source;

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::benchmarks::{BenchmarkError, BenchmarkStoreExt};
use crate::config::{Config, ModelRefreshConfig, RefreshSourceConfig, Severity};
use crate::domain::{ModelId, ValueStream};
use crate::engine::{self, BenchmarkProfile, Column, Kind};
use crate::jobs::{JobContext, ModelJob, Notification};
use crate::sources::{ColumnRequest, checksum_file, read_table};
use crate::store::AuditRecord;
use checks::{ColumnStats, Finding, Limits, Previous};
use source::{BenchmarkSource, FileSource, QuerySource, UnavailableSource};

/// Why a refresh step failed (the model's refresh is then `failed`; others go on).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RefreshError {
    /// The extract could not be opened or read.
    #[error("source {what}: {message}")]
    Source {
        /// File or query.
        what: String,
        /// What went wrong, with line/row where known.
        message: String,
    },
    /// The benchmark store failed (lock held, I/O, no such version).
    #[error(transparent)]
    Benchmark(#[from] BenchmarkError),
    /// A file other than the benchmark (quarantine, staged file, report) failed.
    #[error("{}: {message}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The configuration does not allow this refresh.
    #[error("{0}")]
    Config(String),
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> RefreshError {
    RefreshError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// What happened to one model (or one value stream's `common/` data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The new benchmark passed and replaced the old one.
    Replaced,
    /// `--dry-run`: the new benchmark passed; nothing was replaced.
    Passed,
    /// A check failed; the old benchmark stays.
    Rejected,
    /// The refresh could not run (source missing, lock held, I/O); the old benchmark stays.
    Failed,
    /// The model has no `refresh:` source.
    Skipped,
    /// A rollback installed a kept version.
    RolledBack,
    /// The new extract passed and is byte-identical to the benchmark in place: nothing was
    /// installed (no version kept for it).
    Unchanged,
}

impl Outcome {
    /// Lowercase name (`replaced`, `passed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Replaced => "replaced",
            Outcome::Passed => "passed",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::RolledBack => "rolled_back",
            Outcome::Unchanged => "unchanged",
        }
    }

    /// True for `rejected` and `failed`.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Rejected | Outcome::Failed)
    }
}

/// The refresh of one model (or of `<value_stream>/common`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRefresh {
    /// Model id, or `common` for a value stream's shared data.
    pub model: String,
    /// Value stream.
    pub value_stream: String,
    /// What happened.
    pub outcome: Outcome,
    /// Where the new data came from.
    pub source: String,
    /// Records read from the extract.
    pub rows_read: u64,
    /// Records kept (read − quarantined).
    pub rows_kept: u64,
    /// Records quarantined.
    pub quarantined: u64,
    /// The quarantine file, when rows were quarantined.
    pub quarantine_file: Option<PathBuf>,
    /// Findings of the checks (warnings and failures).
    pub findings: Vec<Finding>,
    /// The error of a `failed` refresh.
    pub error: Option<String>,
    /// PSI of the score, old vs new benchmark.
    pub psi: Option<f64>,
    /// Largest CSI old vs new, with its characteristic.
    pub max_csi: Option<(String, f64)>,
    /// Version (first 16 hex of sha256) of the new benchmark.
    pub new_version: Option<String>,
    /// Version id under which the replaced benchmark was kept.
    pub kept_as: Option<String>,
    /// Seconds taken.
    pub seconds: f64,
}

impl ModelRefresh {
    fn new(model: &str, vs: &str, source: String) -> Self {
        Self {
            model: model.to_string(),
            value_stream: vs.to_string(),
            outcome: Outcome::Failed,
            source,
            rows_read: 0,
            rows_kept: 0,
            quarantined: 0,
            quarantine_file: None,
            findings: Vec::new(),
            error: None,
            psi: None,
            max_csi: None,
            new_version: None,
            kept_as: None,
            seconds: 0.0,
        }
    }

    /// One line: `airports/jfk_delay replaced 1a2b3c4d5e6f7a8b (PSI 0.012, 3,120 rows, 0 quarantined)`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{}/{} {}",
            self.value_stream,
            self.model,
            self.outcome.as_str()
        );
        if let Some(v) = &self.new_version {
            s.push_str(&format!(" {v}"));
        }
        let mut parts = Vec::new();
        if let Some(p) = self.psi {
            parts.push(format!("PSI {p:.4}"));
        }
        if let Some((c, v)) = &self.max_csi {
            parts.push(format!("max CSI {v:.4} {c}"));
        }
        if self.rows_read > 0 {
            parts.push(format!("{} rows kept", self.rows_kept));
            parts.push(format!("{} quarantined", self.quarantined));
        }
        if !parts.is_empty() {
            s.push_str(&format!(" ({})", parts.join(", ")));
        }
        if let Some(e) = &self.error {
            s.push_str(&format!(": {e}"));
        }
        s
    }
}

/// The report of one refresh run (saved as `<workspace>/refresh/<id>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshReport {
    /// UTC stamp identifying the run (also the file name).
    pub id: String,
    /// `refresh`, `refresh --dry-run` or `rollback`.
    pub action: String,
    /// Who started it.
    pub triggered_by: String,
    /// Start (UTC).
    pub started_at: DateTime<Utc>,
    /// End (UTC).
    pub finished_at: DateTime<Utc>,
    /// One entry per model / common data, in selection order.
    pub models: Vec<ModelRefresh>,
}

impl RefreshReport {
    /// Entries whose outcome is a failure.
    pub fn failures(&self) -> usize {
        self.models
            .iter()
            .filter(|m| m.outcome.is_failure())
            .count()
    }

    /// Count per outcome, e.g. `5 replaced, 1 rejected`.
    pub fn counts(&self) -> String {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for m in &self.models {
            let name = m.outcome.as_str();
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => *c += 1,
                None => counts.push((name, 1)),
            }
        }
        counts
            .iter()
            .map(|(n, c)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Human text: one line per model with its findings indented.
    pub fn render(&self) -> String {
        let mut out = format!("{} {}: {}\n", self.action, self.id, self.counts());
        for m in &self.models {
            out.push_str(&format!("  {}\n", m.describe()));
            for f in &m.findings {
                out.push_str(&format!("      {}\n", f.describe()));
            }
            if let Some(q) = &m.quarantine_file {
                out.push_str(&format!("      quarantine: {}\n", q.display()));
            }
        }
        out
    }
}

/// Options of a refresh run.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshOptions {
    /// Validate only; replace nothing.
    pub dry_run: bool,
    /// Who started it (user or `schedule`).
    pub triggered_by: String,
    /// Role recorded in the audit rows (`admin` from the console, `job` from the CLI).
    pub role: String,
    /// Models at once (≥ 1).
    pub concurrency: usize,
}

/// Directory of refresh reports: `<workspace>/refresh`.
pub fn reports_dir(config: &Config) -> PathBuf {
    config.workspace_root.join("refresh")
}

/// The newest refresh report of a workspace, if any.
///
/// # Errors
/// [`RefreshError::Io`] for an unreadable or malformed report file (named).
pub fn latest_report(dir: &Path) -> Result<Option<RefreshReport>, RefreshError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    let newest = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .max();
    let Some(path) = newest else { return Ok(None) };
    let meta = std::fs::metadata(&path).map_err(|e| io_err(&path, e))?;
    if meta.len() > 16 << 20 {
        return Err(io_err(&path, "refresh report larger than 16 MiB"));
    }
    let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| io_err(&path, format!("malformed refresh report: {e}")))
}

/// Lexically normalises `p` (`.` and `..` resolved without touching the file system).
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Refuses a benchmark target outside the benchmark root (a refresh writes only there).
fn check_inside(root: &Path, target: &Path) -> Result<(), RefreshError> {
    let (r, t) = (normalise(root), normalise(target));
    if t.starts_with(&r) {
        Ok(())
    } else {
        Err(RefreshError::Config(format!(
            "benchmark path {} is outside the benchmark root {}; the refresh job writes only \
             inside the root (fix the model's `benchmark` / MODEL_<ID>_BENCHMARKING_PATH)",
            target.display(),
            root.display()
        )))
    }
}

/// The source of a refresh configuration (paths relative to the workspace root). A `query`
/// runs on the Snowflake store's client (`ctx.snowflake`) for today's date (UTC); `expected`
/// are the model's column names, which a query result's upper-cased names are mapped back to.
pub fn source_for(
    config: &Config,
    ctx: &JobContext,
    src: &RefreshSourceConfig,
    expected: Vec<String>,
) -> Box<dyn BenchmarkSource> {
    match (&src.path, &src.query, &ctx.snowflake) {
        (Some(p), None, _) => Box::new(FileSource::new(config.workspace_root.join(p))),
        (None, Some(q), Some(client)) => {
            match QuerySource::new(
                std::sync::Arc::clone(client),
                q,
                Utc::now().date_naive(),
                expected,
            ) {
                Ok(s) => Box::new(s),
                Err(e) => Box::new(UnavailableSource {
                    what: format!("query {:?}", checks::excerpt(q)),
                    reason: e.to_string(),
                }),
            }
        }
        (None, Some(q), None) => Box::new(UnavailableSource {
            what: format!("query {:?}", checks::excerpt(q)),
            reason: format!(
                "a query source is served by the Snowflake results store; this workspace's store \
                 is {:?}",
                crate::config::Backend::kind(&config.settings.store)
            ),
        }),
        _ => Box::new(UnavailableSource {
            what: "refresh source".into(),
            reason: "give exactly one of `path` or `query`".into(),
        }),
    }
}

fn limits(config: &Config, rc: Option<&ModelRefreshConfig>) -> Limits {
    let v = &config.settings.validation;
    Limits {
        max_quarantined_share: config.settings.refresh.max_quarantined_share,
        min_rows: rc.and_then(|r| r.min_rows).unwrap_or(v.min_rows),
        max_missing_share: rc
            .and_then(|r| r.max_missing_share)
            .unwrap_or(v.max_missing_share),
        missing: rc
            .map(|r| r.missing.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default(),
        row_ratio: (v.min_row_ratio, v.max_row_ratio),
        range_tolerance: v.range_tolerance,
        range_severity: v.range_severity,
        threshold: rc.and_then(|r| r.threshold).unwrap_or(v.threshold),
        csi_severity: rc.and_then(|r| r.csi_severity).unwrap_or(v.csi_severity),
    }
}

/// Result of the streaming pass over an extract.
struct Staged {
    rows_read: u64,
    quarantined: u64,
    quarantine_file: Option<PathBuf>,
    stats: Vec<ColumnStats>,
}

/// Streams `reader` into `staged` (rows passing `rules`) and the quarantine file (the others,
/// with `line` and `reason`), then fsyncs the staged file.
fn stage(
    reader: &mut dyn source::ExtractReader,
    rules: &checks::RowRules,
    staged: &Path,
    quarantine: &Path,
) -> Result<Result<Staged, String>, RefreshError> {
    let file = std::fs::File::create(staged).map_err(|e| io_err(staged, e))?;
    let mut out = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 16, file));
    let header = csv::ByteRecord::from(reader.header().to_vec());
    out.write_byte_record(&header)
        .map_err(|e| io_err(staged, e))?;
    let mut q: Option<crate::quarantine::QuarantineWriter> = None;
    let mut stats: Vec<ColumnStats> = rules
        .columns
        .iter()
        .map(|c| ColumnStats {
            name: c.name.clone(),
            ..Default::default()
        })
        .collect();
    let mut keys: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    let mut values = Vec::new();
    let (mut rows_read, mut quarantined) = (0u64, 0u64);
    loop {
        let pos = match reader.next_record(&mut record) {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => return Ok(Err(e.to_string())),
        };
        rows_read += 1;
        let mut reason = checks::check_record(&record, rules, &mut stats, &mut values);
        if reason.is_none()
            && let Some(k) = rules.key
        {
            let key = record[k].to_vec();
            if let Some(first) = keys.get(&key) {
                reason = Some(format!(
                    "duplicate key {:?} (first at {first})",
                    checks::excerpt(&String::from_utf8_lossy(&key))
                ));
                // The row passed the rules and was counted in the statistics: undo is not
                // possible cheaply, so the statistics keep it (a conservative view).
            } else {
                keys.insert(key, pos);
            }
        }
        match reason {
            None => out
                .write_byte_record(&record)
                .map_err(|e| io_err(staged, e))?,
            Some(reason) => {
                quarantined += 1;
                if q.is_none() {
                    q = Some(
                        crate::quarantine::QuarantineWriter::create_for_record(quarantine, &header)
                            .map_err(|e| io_err(quarantine, e))?,
                    );
                }
                if let Some(w) = q.as_mut() {
                    w.push_record(&record, pos, &reason)
                        .map_err(|e| io_err(quarantine, e))?;
                }
            }
        }
    }
    let inner = out
        .into_inner()
        .map_err(|e| io_err(staged, e.to_string()))?;
    let file = inner
        .into_inner()
        .map_err(|e| io_err(staged, e.to_string()))?;
    file.sync_all().map_err(|e| io_err(staged, e))?;
    if let Some(w) = q {
        w.finish().map_err(|e| io_err(quarantine, e))?;
    }
    Ok(Ok(Staged {
        rows_read,
        quarantined,
        quarantine_file: (quarantined > 0).then(|| quarantine.to_path_buf()),
        stats,
    }))
}

/// Removes a staged file unless it was installed.
struct StagedGuard(Option<PathBuf>);

impl Drop for StagedGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn previous_of(table: &engine::Table) -> Previous {
    let mut ranges = HashMap::new();
    for (name, col) in table.names.iter().zip(&table.columns) {
        if let Column::Numeric(values) = col {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for v in values.iter().filter(|v| !v.is_nan()) {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
            if lo <= hi {
                ranges.insert(name.clone(), (lo, hi));
            }
        }
    }
    Previous {
        rows: table.rows as u64,
        ranges,
    }
}

/// Refreshes one model; never panics on input, never returns an error (it is in the entry).
fn refresh_model(
    config: &Config,
    ctx: &JobContext,
    job: &ModelJob,
    opts: &RefreshOptions,
) -> ModelRefresh {
    let started = Instant::now();
    let model_cfg = config.models.iter().find(|m| m.id == job.model_id);
    let Some(rc) = model_cfg.and_then(|m| m.refresh.as_ref()) else {
        let mut r = ModelRefresh::new(job.model_id.as_str(), job.value_stream.as_str(), "-".into());
        r.outcome = Outcome::Skipped;
        r.error = Some("no `refresh:` source configured in models.yaml".into());
        return r;
    };
    let mut expected: Vec<String> = job.specs.iter().map(|s| s.name.clone()).collect();
    expected.extend(rc.required_columns.iter().cloned());
    expected.extend(rc.key.iter().cloned());
    let source = source_for(config, ctx, &rc.source, expected);
    let mut r = ModelRefresh::new(
        job.model_id.as_str(),
        job.value_stream.as_str(),
        source.describe(),
    );
    match refresh_model_inner(config, ctx, job, rc, source.as_ref(), opts, &mut r) {
        Ok(()) => {}
        Err(e) => {
            r.outcome = Outcome::Failed;
            r.error = Some(e.to_string());
        }
    }
    r.seconds = started.elapsed().as_secs_f64();
    r
}

fn refresh_model_inner(
    config: &Config,
    ctx: &JobContext,
    job: &ModelJob,
    rc: &ModelRefreshConfig,
    source: &dyn BenchmarkSource,
    opts: &RefreshOptions,
    r: &mut ModelRefresh,
) -> Result<(), RefreshError> {
    let (vs, id) = (&job.value_stream, &job.model_id);
    let store = ctx.benchmarks.as_ref();
    let target = store.benchmark_path(vs, id)?;
    check_inside(config.settings.benchmarks.root(), &target)?;
    let (_lock, recovered) = store.lock_and_recover(vs, Some(id))?;
    if recovered {
        tracing::warn!(event = "refresh_recovered", model = %id, "completed an interrupted benchmark installation");
    }
    let limits = limits(config, Some(rc));
    let mut reader = source.open()?;
    let mut required: Vec<(String, Option<Kind>)> = job
        .specs
        .iter()
        .map(|s| (s.name.clone(), Some(s.kind)))
        .collect();
    required.extend(rc.required_columns.iter().map(|c| (c.clone(), None)));
    let ranges: Vec<(String, f64, f64)> = rc
        .ranges
        .iter()
        .map(|(k, [lo, hi])| (k.clone(), *lo, *hi))
        .collect();
    let rules = match checks::resolve_rules(reader.header(), &required, rc.key.as_deref(), &ranges)
    {
        Ok(r) => r,
        Err(msg) => {
            r.findings.push(checks::structural("columns", msg));
            r.outcome = Outcome::Rejected;
            return Ok(());
        }
    };
    let (stamp, staged_path) = store.staging(vs, Some(id))?;
    let mut guard = StagedGuard(Some(staged_path.clone()));
    let quarantine = config
        .workspace_root
        .join("quarantine")
        .join(id.as_str())
        .join(format!("refresh-{stamp}.csv"));
    let staged = match stage(reader.as_mut(), &rules, &staged_path, &quarantine)? {
        Ok(s) => s,
        Err(msg) => {
            r.findings.push(checks::structural("extract", msg));
            r.outcome = Outcome::Rejected;
            return Ok(());
        }
    };
    crate::benchmarks::history_failpoint("staged");
    r.rows_read = staged.rows_read;
    r.quarantined = staged.quarantined;
    r.rows_kept = staged.rows_read - staged.quarantined;
    r.quarantine_file = staged.quarantine_file.clone();

    // The previous benchmark: statistics and its profile (rebuilt if stale).
    let requests = ColumnRequest::for_specs(&job.specs);
    let (previous, old_profile) = if target.is_file() {
        match store.read_benchmark(vs, id, Some(&requests)) {
            Ok(old) => {
                let checksum = store.checksum(vs, id)?;
                let stored: Option<BenchmarkProfile> = store.load_profile(vs, id).ok().flatten();
                let profile = match stored {
                    Some(p) if p.matches_specs(&job.specs, &ctx.engine, &checksum) => Some(p),
                    _ => engine::build_profile(&old, &job.specs, &ctx.engine, &checksum).ok(),
                };
                (Some(previous_of(&old)), profile)
            }
            Err(e) => {
                r.findings.push(Finding {
                    check: "previous".into(),
                    column: None,
                    observed: format!("previous benchmark unreadable: {e}"),
                    limit: "-".into(),
                    severity: Severity::Warn,
                });
                (None, None)
            }
        }
    } else {
        (None, None)
    };
    r.findings.extend(checks::population_findings(
        staged.rows_read,
        staged.quarantined,
        &staged.stats,
        previous.as_ref(),
        &limits,
    ));
    if checks::any_fail(&r.findings) {
        r.outcome = Outcome::Rejected;
        return Ok(());
    }
    let table = match read_table(&staged_path, Some(&requests)) {
        Ok(t) => t,
        Err(e) => {
            r.findings
                .push(checks::structural("extract", e.to_string()));
            r.outcome = Outcome::Rejected;
            return Ok(());
        }
    };
    let checksum = checksum_file(&staged_path).map_err(|e| io_err(&staged_path, e))?;
    let profile = match engine::build_profile(&table, &job.specs, &ctx.engine, &checksum) {
        Ok(p) => p,
        Err(e) => {
            r.findings
                .push(checks::structural("profile", e.to_string()));
            r.outcome = Outcome::Rejected;
            return Ok(());
        }
    };
    if let Some(old) = &old_profile {
        match engine::evaluate(old, &table) {
            Ok(eval) => {
                r.psi = eval.psi();
                r.max_csi = eval.max_csi().map(|(n, v)| (n.to_string(), v));
                let score = job
                    .specs
                    .first()
                    .map(|s| s.name.as_str())
                    .unwrap_or("score");
                r.findings.extend(checks::shift_findings(
                    r.psi,
                    eval.max_csi(),
                    score,
                    &limits,
                ));
            }
            Err(e) => r.findings.push(checks::structural("shift", e.to_string())),
        }
    }
    r.new_version = Some(checksum.chars().take(16).collect());
    if checks::any_fail(&r.findings) {
        r.outcome = Outcome::Rejected;
        return Ok(());
    }
    if opts.dry_run {
        r.outcome = Outcome::Passed;
        return Ok(());
    }
    // The same data again (an upstream job that did not produce a new month): keep the
    // benchmark, its profile and its history as they are.
    if store
        .checksum(vs, id)
        .is_ok_and(|current| current == checksum)
    {
        r.outcome = Outcome::Unchanged;
        return Ok(());
    }
    let bytes = serde_json::to_vec_pretty(&profile).map_err(|e| io_err(&staged_path, e))?;
    let installed = store.install(
        vs,
        Some(id),
        &staged_path,
        &stamp,
        Some(&bytes),
        config.settings.refresh.keep_versions,
    )?;
    guard.0 = None;
    r.kept_as = installed.kept_as;
    r.outcome = Outcome::Replaced;
    Ok(())
}

/// Refreshes a value stream's `common/shared_data.csv` from its configured source: required
/// columns present, rows with a wrong field count quarantined, minimum rows; no shift check.
fn refresh_common(
    config: &Config,
    ctx: &JobContext,
    vs: &ValueStream,
    opts: &RefreshOptions,
) -> Option<ModelRefresh> {
    let vsc = config.value_stream_settings.iter().find(|v| &v.id == vs)?;
    let rc = vsc.refresh.as_ref()?;
    let started = Instant::now();
    let source = source_for(config, ctx, &rc.source, rc.required_columns.clone());
    let mut r = ModelRefresh::new("common", vs.as_str(), source.describe());
    let result = (|| -> Result<(), RefreshError> {
        let store = ctx.benchmarks.as_ref();
        let (_lock, _) = store.lock_and_recover(vs, None)?;
        let mut reader = source.open()?;
        let required: Vec<(String, Option<Kind>)> = rc
            .required_columns
            .iter()
            .map(|c| (c.clone(), None))
            .collect();
        let rules = match checks::resolve_rules(reader.header(), &required, None, &[]) {
            Ok(r) => r,
            Err(msg) => {
                r.findings.push(checks::structural("columns", msg));
                r.outcome = Outcome::Rejected;
                return Ok(());
            }
        };
        let (stamp, staged_path) = store.staging(vs, None)?;
        let mut guard = StagedGuard(Some(staged_path.clone()));
        let quarantine = config
            .workspace_root
            .join("quarantine")
            .join(format!("{vs}.common"))
            .join(format!("refresh-{stamp}.csv"));
        let staged = match stage(reader.as_mut(), &rules, &staged_path, &quarantine)? {
            Ok(s) => s,
            Err(msg) => {
                r.findings.push(checks::structural("extract", msg));
                r.outcome = Outcome::Rejected;
                return Ok(());
            }
        };
        r.rows_read = staged.rows_read;
        r.quarantined = staged.quarantined;
        r.rows_kept = staged.rows_read - staged.quarantined;
        r.quarantine_file = staged.quarantine_file.clone();
        let mut limits = limits(config, None);
        limits.min_rows = rc.min_rows.unwrap_or(1);
        r.findings.extend(checks::population_findings(
            staged.rows_read,
            staged.quarantined,
            &[],
            None,
            &limits,
        ));
        if checks::any_fail(&r.findings) {
            r.outcome = Outcome::Rejected;
            return Ok(());
        }
        let checksum = checksum_file(&staged_path).map_err(|e| io_err(&staged_path, e))?;
        r.new_version = Some(checksum.chars().take(16).collect());
        if opts.dry_run {
            r.outcome = Outcome::Passed;
            return Ok(());
        }
        let installed = store.install(
            vs,
            None,
            &staged_path,
            &stamp,
            None,
            config.settings.refresh.keep_versions,
        )?;
        guard.0 = None;
        r.kept_as = installed.kept_as;
        r.outcome = Outcome::Replaced;
        Ok(())
    })();
    if let Err(e) = result {
        r.outcome = Outcome::Failed;
        r.error = Some(e.to_string());
    }
    r.seconds = started.elapsed().as_secs_f64();
    Some(r)
}

/// One unit of work of a refresh run.
enum Work<'a> {
    Model(&'a ModelJob),
    Common(ValueStream),
}

/// Refreshes `jobs` (and the `common/` data of `value_streams` that configure a source) with at
/// most `opts.concurrency` at once; one model's failure (or panic) never stops the others.
/// Then saves the report, appends one audit row per entry and sends one summary notification
/// (a failing store or notifier is logged, never fails the refresh).
pub fn refresh(
    config: &Config,
    ctx: &JobContext,
    jobs: &[&ModelJob],
    value_streams: &[ValueStream],
    opts: &RefreshOptions,
) -> RefreshReport {
    let started_at = Utc::now();
    let id = started_at.format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let mut work: Vec<Work> = jobs.iter().map(|j| Work::Model(j)).collect();
    work.extend(value_streams.iter().cloned().map(Work::Common));
    let results: Mutex<Vec<(usize, ModelRefresh)>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let workers = opts.concurrency.clamp(1, work.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(w) = work.get(i) else { break };
                    let (name, vs) = match w {
                        Work::Model(j) => (j.model_id.to_string(), j.value_stream.to_string()),
                        Work::Common(vs) => ("common".to_string(), vs.to_string()),
                    };
                    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match w {
                        Work::Model(j) => Some(refresh_model(config, ctx, j, opts)),
                        Work::Common(vs) => refresh_common(config, ctx, vs, opts),
                    }));
                    let entry = match run {
                        Ok(Some(e)) => e,
                        Ok(None) => continue,
                        Err(_) => {
                            let mut e = ModelRefresh::new(&name, &vs, "-".into());
                            e.error = Some("internal error (panic) while refreshing".into());
                            e
                        }
                    };
                    send_metrics(ctx, &entry);
                    tracing::info!(
                        event = "refresh_model",
                        model = %entry.model,
                        value_stream = %entry.value_stream,
                        outcome = entry.outcome.as_str(),
                        quarantined = entry.quarantined,
                        "{}",
                        entry.describe()
                    );
                    if let Ok(mut r) = results.lock() {
                        r.push((i, entry));
                    }
                }
            });
        }
    });
    let mut models = results.into_inner().unwrap_or_default();
    models.sort_by_key(|(i, _)| *i);
    let report = RefreshReport {
        id,
        action: if opts.dry_run {
            "refresh --dry-run".into()
        } else {
            "refresh".into()
        },
        triggered_by: opts.triggered_by.clone(),
        started_at,
        finished_at: Utc::now(),
        models: models.into_iter().map(|(_, m)| m).collect(),
    };
    finish(config, ctx, &report, opts);
    report
}

/// Metric names of the refresh job (tags: model, value_stream, action = `refresh`).
pub mod metric_names {
    /// Counter: a model's refresh started.
    pub const STARTED: &str = "refresh.started";
    /// Counter: one per outcome, `refresh.replaced`, `refresh.rejected`, `refresh.failed`, ...
    pub const OUTCOME_PREFIX: &str = "refresh.";
    /// Counter: failing validation findings.
    pub const VALIDATIONS_FAILED: &str = "refresh.validations_failed";
    /// Counter: rows quarantined.
    pub const ROWS_QUARANTINED: &str = "refresh.rows_quarantined";
    /// Timing: duration of one model's refresh.
    pub const DURATION: &str = "refresh.duration";
    /// Gauge: PSI of the score, old vs new benchmark.
    pub const SHIFT_PSI: &str = "refresh.shift.psi";
}

fn send_metrics(ctx: &JobContext, e: &ModelRefresh) {
    if e.outcome == Outcome::Skipped {
        return;
    }
    let tags = crate::jobs::metrics::Tags {
        model: &e.model,
        value_stream: &e.value_stream,
        action: "refresh",
    };
    let m = &ctx.metrics;
    m.count(metric_names::STARTED, 1, &tags);
    m.count(
        &format!("{}{}", metric_names::OUTCOME_PREFIX, e.outcome.as_str()),
        1,
        &tags,
    );
    let failed = e
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Fail)
        .count() as u64;
    m.count(metric_names::VALIDATIONS_FAILED, failed, &tags);
    m.count(metric_names::ROWS_QUARANTINED, e.quarantined, &tags);
    m.timing(
        metric_names::DURATION,
        std::time::Duration::from_secs_f64(e.seconds.max(0.0)),
        &tags,
    );
    if let Some(p) = e.psi {
        m.gauge(metric_names::SHIFT_PSI, p, &tags);
    }
}

/// Saves the report, writes the audit rows and sends the summary.
fn finish(config: &Config, ctx: &JobContext, report: &RefreshReport, opts: &RefreshOptions) {
    let dir = reports_dir(config);
    let path = dir.join(format!("{}.json", report.id));
    match serde_json::to_vec_pretty(report) {
        Ok(bytes) => {
            if let Err(e) = crate::benchmarks::write_atomic(&path, &bytes) {
                tracing::error!(event = "refresh_report", error = %e, "cannot save the refresh report");
            }
        }
        Err(e) => {
            tracing::error!(event = "refresh_report", error = %e, "cannot serialise the refresh report")
        }
    }
    for m in &report.models {
        if m.outcome == Outcome::Skipped {
            continue;
        }
        let outcome = match m.outcome {
            Outcome::Replaced | Outcome::RolledBack => format!(
                "{} {}{}",
                m.outcome.as_str(),
                m.new_version.as_deref().unwrap_or("-"),
                m.kept_as
                    .as_ref()
                    .map(|k| format!(" (previous kept as {k})"))
                    .unwrap_or_default()
            ),
            Outcome::Passed => "passed (dry run)".into(),
            Outcome::Unchanged => format!(
                "unchanged {} (same data as the benchmark in place)",
                m.new_version.as_deref().unwrap_or("-")
            ),
            _ => {
                let first = m
                    .error
                    .clone()
                    .or_else(|| {
                        m.findings
                            .iter()
                            .find(|f| f.severity == Severity::Fail)
                            .map(Finding::describe)
                    })
                    .unwrap_or_default();
                format!("failed: {} {first}", m.outcome.as_str())
            }
        };
        let entry = AuditRecord {
            at: report.finished_at,
            user: opts.triggered_by.clone(),
            role: opts.role.clone(),
            action: if report.action == "rollback" {
                "rollback".into()
            } else {
                "refresh".into()
            },
            target: format!("{}/{}", m.value_stream, m.model),
            outcome,
        };
        if let Err(e) = ctx.store.append_audit(&entry) {
            tracing::error!(event = "refresh_audit", error = %e, "cannot write the audit row");
        }
    }
    let notification = summary_notification(config, report);
    if let Err(e) = ctx.notifier.notify(&notification) {
        tracing::error!(event = "refresh_notify", error = %e, "refresh summary not delivered");
    }
}

/// The one summary message of a refresh run: every involved model's and value stream's
/// recipients plus `[notify] email_recipients`.
pub fn summary_notification(config: &Config, report: &RefreshReport) -> Notification {
    let mut email: BTreeSet<String> = config
        .settings
        .notify
        .email_recipients()
        .iter()
        .cloned()
        .collect();
    let mut slack: BTreeSet<String> = BTreeSet::new();
    for m in &report.models {
        if let Some(mc) = config.models.iter().find(|c| c.id.as_str() == m.model) {
            email.extend(mc.recipients.email.iter().cloned());
            slack.extend(mc.recipients.slack.iter().cloned());
        }
        if let Some(v) = config
            .value_stream_settings
            .iter()
            .find(|v| v.id.as_str() == m.value_stream)
        {
            email.extend(v.recipients.email.iter().cloned());
            slack.extend(v.recipients.slack.iter().cloned());
        }
    }
    let failed = report.failures();
    Notification {
        at: report.finished_at,
        subject: format!(
            "driftdeck {}: {}{}",
            report.action,
            report.counts(),
            if failed > 0 { " — action needed" } else { "" }
        ),
        body: report.render(),
        email: email.into_iter().collect(),
        slack: (!slack.is_empty()).then(|| slack.into_iter().collect::<Vec<_>>().join(" ")),
    }
}

/// Installs kept version `to` (id or checksum prefix; None = the newest kept) of a model as its
/// benchmark; the benchmark it replaces is kept as a new version, so a rollback can be undone.
/// The profile is the version's own when it kept one and it matches, else rebuilt. Saves a
/// report (action `rollback`), an audit row and a notification like a refresh.
///
/// # Errors
/// [`RefreshError`]: no such version, lock held, I/O; the current benchmark then stays.
pub fn rollback(
    config: &Config,
    ctx: &JobContext,
    job: &ModelJob,
    to: Option<&str>,
    opts: &RefreshOptions,
) -> Result<RefreshReport, RefreshError> {
    let started_at = Utc::now();
    let t0 = Instant::now();
    let (vs, id) = (&job.value_stream, &job.model_id);
    let store = ctx.benchmarks.as_ref();
    let (_lock, _) = store.lock_and_recover(vs, Some(id))?;
    let staged = store.stage_version(vs, Some(id), to)?;
    let mut guard = StagedGuard(Some(staged.staged.clone()));
    let checksum = checksum_file(&staged.staged).map_err(|e| io_err(&staged.staged, e))?;
    let kept_profile: Option<BenchmarkProfile> = staged
        .profile
        .as_deref()
        .and_then(|b| serde_json::from_slice(b).ok())
        .filter(|p: &BenchmarkProfile| p.matches_specs(&job.specs, &ctx.engine, &checksum));
    let profile = match kept_profile {
        Some(p) => p,
        None => {
            let table = read_table(&staged.staged, Some(&ColumnRequest::for_specs(&job.specs)))
                .map_err(|e| io_err(&staged.staged, e))?;
            engine::build_profile(&table, &job.specs, &ctx.engine, &checksum)
                .map_err(|e| io_err(&staged.staged, e))?
        }
    };
    let bytes = serde_json::to_vec_pretty(&profile).map_err(|e| io_err(&staged.staged, e))?;
    let installed = store.install(
        vs,
        Some(id),
        &staged.staged,
        &staged.stamp,
        Some(&bytes),
        config.settings.refresh.keep_versions,
    )?;
    guard.0 = None;
    let mut entry = ModelRefresh::new(
        id.as_str(),
        vs.as_str(),
        format!("version {}", staged.version),
    );
    entry.outcome = Outcome::RolledBack;
    entry.new_version = Some(checksum.chars().take(16).collect());
    entry.kept_as = installed.kept_as;
    entry.rows_kept = profile.rows;
    entry.seconds = t0.elapsed().as_secs_f64();
    let report = RefreshReport {
        id: started_at.format("%Y%m%dT%H%M%S%.3fZ").to_string(),
        action: "rollback".into(),
        triggered_by: opts.triggered_by.clone(),
        started_at,
        finished_at: Utc::now(),
        models: vec![entry],
    };
    finish(config, ctx, &report, opts);
    Ok(report)
}

/// The model ids of a selection, for confirm dialogs: models with a `refresh:` source.
pub fn refreshable(config: &Config) -> Vec<ModelId> {
    config
        .models
        .iter()
        .filter(|m| m.refresh.is_some())
        .map(|m| m.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_outside_the_root_are_refused() {
        assert!(check_inside(Path::new("/efs/b"), Path::new("/efs/b/a/m/benchmark.csv")).is_ok());
        assert!(check_inside(Path::new("/efs/b"), Path::new("/efs/b/../x/benchmark.csv")).is_err());
        assert!(check_inside(Path::new("/efs/b"), Path::new("/etc/passwd")).is_err());
    }
}
