//! The refresh view's data and the console's rollback (issue 7, console integration): the last
//! benchmark refresh runs read from `<workspace>/refresh/<id>.json` (the reports every
//! `refresh-benchmarks` and `rollback-benchmark` saves), the version a rollback of each shown
//! model would restore, and the rollback itself through [`crate::refresh::rollback`] (the code of
//! `driftdeck rollback-benchmark`).
//!
//! Everything here is blocking I/O: the runtime calls it on `spawn_blocking`, never on the UI
//! loop, and the dispatcher calls [`RefreshBackend::rollback`] only after authorizing and
//! auditing the action.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::domain::ModelId;
use crate::refresh::{RefreshOptions, RefreshReport};

/// Refresh runs shown in the view (newest first).
pub const REFRESH_RUNS_SHOWN: usize = 10;
/// Largest report file read (bytes); a larger one is reported, not read.
pub const MAX_REPORT_BYTES: u64 = 16 << 20;
/// Report files looked at, newest first, to find [`REFRESH_RUNS_SHOWN`] readable ones.
pub const MAX_REPORT_FILES: usize = 50;

/// The kept benchmark version a rollback of one model installs (the newest kept one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackCandidate {
    /// Version id (`versions/<id>`, a UTC stamp `YYYYmmddTHHMMSS.mmmZ`).
    pub version: String,
    /// First 16 hex digits of the kept benchmark's sha256.
    pub checksum: String,
    /// Rows of the kept benchmark according to its profile.
    pub rows: Option<u64>,
    /// First 16 hex digits of the sha256 of the benchmark in place now.
    pub current: Option<String>,
}

/// What the refresh view shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RefreshData {
    /// The newest refresh and rollback runs, newest first (at most [`REFRESH_RUNS_SHOWN`]).
    pub runs: Vec<RefreshReport>,
    /// Per model id: the version a rollback would restore (absent: no kept version).
    pub rollback: BTreeMap<String, RollbackCandidate>,
    /// Report files that could not be read (file named, reason), and models whose versions
    /// could not be listed.
    pub warnings: Vec<String>,
}

/// The console's access to refresh reports and rollbacks. Implemented over a workspace by
/// [`WorkspaceRefreshes`]; tests may substitute their own.
pub trait RefreshBackend: Send + Sync {
    /// The newest refresh runs and the rollback candidate of every model they name plus
    /// `models`. Blocking.
    ///
    /// # Errors
    /// A message when the reports directory exists but cannot be listed.
    fn load(&self, models: &[String]) -> Result<RefreshData, String>;

    /// Installs kept version `to` of `model_id` as its benchmark (the replaced one is kept),
    /// recording `user` as who triggered it and `role` in the audit row. Blocking.
    ///
    /// # Errors
    /// A message naming what failed (no such version, lock held, I/O); the benchmark in place
    /// then stays.
    fn rollback(
        &self,
        model_id: &str,
        to: &str,
        user: &str,
        role: &str,
    ) -> Result<RefreshReport, String>;
}

/// Reads the newest readable refresh reports of `dir` (`<id>.json`, newest id first), at most
/// `limit`; unreadable, oversized or malformed files become warnings naming the file.
///
/// # Errors
/// A message when `dir` exists but cannot be listed (a missing directory is no refresh yet).
pub fn read_reports(dir: &Path, limit: usize) -> Result<(Vec<RefreshReport>, Vec<String>), String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => {
            return Err(format!(
                "{}: cannot list refresh reports: {e}",
                dir.display()
            ));
        }
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    // Report ids are UTC stamps: the name order is the time order.
    files.sort_unstable_by(|a, b| b.cmp(a));
    let mut reports = Vec::new();
    let mut warnings = Vec::new();
    for path in files.into_iter().take(MAX_REPORT_FILES) {
        if reports.len() >= limit {
            break;
        }
        match read_report(&path) {
            Ok(r) => reports.push(r),
            Err(e) => warnings.push(e),
        }
    }
    Ok((reports, warnings))
}

fn read_report(path: &Path) -> Result<RefreshReport, String> {
    let name = crate::sanitize::escape_controls(&path.display().to_string()).into_owned();
    let meta = std::fs::metadata(path).map_err(|e| format!("{name}: {e}"))?;
    if meta.len() > MAX_REPORT_BYTES {
        return Err(format!(
            "{name}: refresh report larger than {} MiB, not read",
            MAX_REPORT_BYTES >> 20
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{name}: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{name}: malformed refresh report: {e}"))
}

/// [`RefreshBackend`] over a workspace's configuration: reports from
/// [`crate::refresh::reports_dir`], versions from the configured benchmark store, rollbacks
/// through [`crate::refresh::rollback`] on a workspace opened for the call.
pub struct WorkspaceRefreshes {
    config: Config,
}

impl WorkspaceRefreshes {
    /// A backend over `config` (nothing is opened until a call).
    pub fn new(config: Config) -> Self {
        Self { config }
    }
}

impl RefreshBackend for WorkspaceRefreshes {
    fn load(&self, models: &[String]) -> Result<RefreshData, String> {
        let dir = crate::refresh::reports_dir(&self.config);
        let (runs, mut warnings) = read_reports(&dir, REFRESH_RUNS_SHOWN)?;
        let mut wanted: BTreeSet<&str> = models.iter().map(String::as_str).collect();
        for r in &runs {
            wanted.extend(
                r.models
                    .iter()
                    .filter(|m| m.model != "common")
                    .map(|m| m.model.as_str()),
            );
        }
        let mut rollback = BTreeMap::new();
        let store = match crate::wiring::benchmark_store(&self.config) {
            Ok(s) => Some(s),
            Err(e) => {
                warnings.push(format!("benchmark store: {e}"));
                None
            }
        };
        for id in wanted {
            let Some(store) = &store else { break };
            let Some(model) = self.config.models.iter().find(|m| m.id.as_str() == id) else {
                continue;
            };
            match store.versions(&model.value_stream, Some(&model.id)) {
                Ok(versions) => {
                    let current = versions
                        .iter()
                        .find(|v| v.id == "current")
                        .map(|v| v.checksum.clone());
                    if let Some(kept) = versions.iter().find(|v| v.id != "current") {
                        rollback.insert(
                            id.to_string(),
                            RollbackCandidate {
                                version: kept.id.clone(),
                                checksum: kept.checksum.clone(),
                                rows: kept.rows,
                                current,
                            },
                        );
                    }
                }
                Err(e) => warnings.push(format!("{id}: benchmark versions: {e}")),
            }
        }
        Ok(RefreshData {
            runs,
            rollback,
            warnings,
        })
    }

    fn rollback(
        &self,
        model_id: &str,
        to: &str,
        user: &str,
        role: &str,
    ) -> Result<RefreshReport, String> {
        let id = ModelId::new(model_id).map_err(|e| e.to_string())?;
        let ws = crate::jobs::setup::Workspace::from_config(self.config.clone())
            .map_err(|e| e.to_string())?;
        let job = ws.job(id.as_str()).map_err(|e| e.to_string())?;
        let options = RefreshOptions {
            dry_run: false,
            triggered_by: user.to_string(),
            role: role.to_string(),
            concurrency: 1,
        };
        crate::refresh::rollback(&ws.config, &ws.ctx, job, Some(to), &options)
            .map_err(|e| e.to_string())
    }
}
