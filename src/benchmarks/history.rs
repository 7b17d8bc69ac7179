//! Benchmark versions on a local directory (or EFS): atomic installation of a new benchmark and
//! its profile with a journal, the history in `versions/<ts>/`, rollback, recovery after a crash
//! and retention.
//!
//! Installation protocol (one model directory, `D`, holding `benchmark.csv` and
//! `benchmark.profile.json`):
//!
//! 1. the caller streams the new benchmark into [`staging_path`](super::BenchmarkStore::staging_path)
//!    (`D/.refresh-<ts>.csv`, fsynced) and validates it;
//! 2. the new profile is written to `D/.refresh-<ts>.profile.json` (fsync);
//! 3. the current benchmark and profile are hard-linked (or copied) into `D/versions/.partial-<ts>/`;
//! 4. the journal `D/refresh.journal.json` is written atomically: from here on the installation is
//!    committed and will be completed by whoever finds the journal;
//! 5. `versions/.partial-<ts>` → `versions/<ts>`, staged benchmark → `benchmark.csv`, staged profile
//!    → `benchmark.profile.json` (each a `rename`), directories fsynced, journal removed.
//!
//! A process killed at any moment therefore leaves a complete `benchmark.csv` (old or new, never a
//! mix). Before step 4, [`recover`](super::BenchmarkStore::recover) removes the staged files (the
//! old benchmark stays); after it, recovery rolls forward. Between the two renames of step 5 the
//! profile's `source_checksum` does not match the benchmark; daily runs detect that and rebuild
//! the profile, and recovery completes the rename. Every refresh and rollback runs recovery first,
//! under an exclusive lock on `D/.refresh.lock` (one refresh of a model at a time, across
//! processes).
//!
//! Test hook: with env `DRIFTDECK_FAILPOINT=<name>` the process prints `failpoint <name>` to
//! stderr and sleeps when it reaches that step (`staged`, `profile-staged`, `version-kept`,
//! `journal-written`, `benchmark-renamed`, `profile-renamed`), so a test can SIGKILL it there.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BenchmarkError, VERSIONS_DIR, io_err};
use crate::sources::checksum_file;

/// Name of the journal file in a model directory while an installation is committed but not
/// complete.
pub const JOURNAL_FILE: &str = "refresh.journal.json";
/// Prefix of staged files (in the benchmark's directory) and of partial version directories.
const STAGE_PREFIX: &str = ".refresh-";
const PARTIAL_PREFIX: &str = ".partial-";
const LOCK_FILE: &str = ".refresh.lock";
/// Env variable of the test hook (see the module documentation).
pub const FAILPOINT_ENV: &str = "DRIFTDECK_FAILPOINT";

/// Pauses forever at `name` when `DRIFTDECK_FAILPOINT=name` (a test then kills the process).
pub(crate) fn failpoint(name: &str) {
    if std::env::var(FAILPOINT_ENV).is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}");
        let _ = std::io::stderr().flush();
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// One benchmark version of a model: the current one or one kept in `versions/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkVersion {
    /// `current`, or the version directory's name (UTC timestamp `YYYYmmddTHHMMSS.mmmZ`).
    pub id: String,
    /// First 16 hex digits of the benchmark file's sha256 (the `benchmark_version` of runs).
    pub checksum: String,
    /// Benchmark rows according to its profile (None without a readable profile).
    pub rows: Option<u64>,
    /// File size in bytes.
    pub bytes: u64,
    /// When the file was last modified (UTC), if the file system tells.
    pub modified: Option<chrono::DateTime<chrono::Utc>>,
}

/// What an installation did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Installed {
    /// Version id under which the replaced benchmark was kept (None: there was none).
    pub kept_as: Option<String>,
    /// Version directories removed by retention.
    pub pruned: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    stamp: String,
    staged_benchmark: PathBuf,
    benchmark: PathBuf,
    staged_profile: PathBuf,
    profile: PathBuf,
    partial_version: Option<PathBuf>,
    version: Option<PathBuf>,
}

/// An exclusive advisory lock on a model directory, released on drop.
pub struct ModelLock {
    _file: File,
}

/// Takes the refresh lock of `dir` without waiting.
///
/// # Errors
/// [`BenchmarkError::Io`] when another process holds it ("another refresh or rollback ...").
pub fn lock_model_dir(dir: &Path) -> Result<ModelLock, BenchmarkError> {
    use std::os::fd::AsRawFd;
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, "cannot create directory", &e))?;
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_err(&path, "cannot open lock file", &e))?;
    // SAFETY: flock on a file descriptor we own; no memory is shared with the kernel.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(BenchmarkError::Io {
            path,
            message: "another refresh or rollback of this model is running (lock held)".into(),
        });
    }
    Ok(ModelLock { _file: file })
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A fresh UTC stamp that is not yet a version directory name.
pub(crate) fn new_stamp(versions: &Path) -> String {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let mut candidate = stamp.clone();
    let mut n = 1;
    while versions.join(&candidate).exists()
        || versions
            .join(format!("{PARTIAL_PREFIX}{candidate}"))
            .exists()
    {
        candidate = format!("{stamp}-{n}");
        n += 1;
    }
    candidate
}

/// Path where a new benchmark is staged: `<dir of benchmark>/.refresh-<stamp>.csv`.
pub(crate) fn staging_path(benchmark: &Path, stamp: &str) -> PathBuf {
    let dir = benchmark.parent().unwrap_or(Path::new("."));
    dir.join(format!("{STAGE_PREFIX}{stamp}.csv"))
}

fn rename_if_present(from: &Path, to: &Path) -> Result<(), BenchmarkError> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(to, "cannot rename into place", &e)),
    }
}

fn commit(journal_path: &Path, j: &Journal) -> Result<(), BenchmarkError> {
    if let (Some(partial), Some(version)) = (&j.partial_version, &j.version) {
        rename_if_present(partial, version)?;
    }
    rename_if_present(&j.staged_benchmark, &j.benchmark)?;
    failpoint("benchmark-renamed");
    rename_if_present(&j.staged_profile, &j.profile)?;
    failpoint("profile-renamed");
    for d in [j.benchmark.parent(), j.profile.parent()]
        .into_iter()
        .flatten()
    {
        sync_dir(d);
    }
    match std::fs::remove_file(journal_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(journal_path, "cannot remove journal", &e)),
    }
    if let Some(d) = journal_path.parent() {
        sync_dir(d);
    }
    Ok(())
}

/// Completes or discards an interrupted installation in `model_dir` (see the module docs).
/// Returns true when a committed installation was completed.
///
/// # Errors
/// [`BenchmarkError::Io`] / [`BenchmarkError::Profile`] (an unreadable journal) naming the path.
pub fn recover(model_dir: &Path, benchmark: &Path) -> Result<bool, BenchmarkError> {
    let journal_path = model_dir.join(JOURNAL_FILE);
    let rolled_forward = match std::fs::read(&journal_path) {
        Ok(bytes) => {
            let j: Journal =
                serde_json::from_slice(&bytes).map_err(|e| BenchmarkError::Profile {
                    path: journal_path.clone(),
                    message: format!("unreadable refresh journal: {e}"),
                })?;
            commit(&journal_path, &j)?;
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io_err(&journal_path, "cannot read", &e)),
    };
    // Uncommitted leftovers: staged files and partial version directories.
    let mut dirs = vec![model_dir.to_path_buf()];
    if let Some(d) = benchmark.parent()
        && d != model_dir
    {
        dirs.push(d.to_path_buf());
    }
    for dir in dirs {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(STAGE_PREFIX) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(model_dir.join(VERSIONS_DIR)) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(PARTIAL_PREFIX) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(rolled_forward)
}

/// The file name of `path` (empty when it has none).
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn link_or_copy(from: &Path, to: &Path) -> Result<(), BenchmarkError> {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| io_err(to, "cannot keep the previous version", &e))?;
        File::open(to)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_err(to, "cannot sync", &e))?;
    }
    Ok(())
}

/// Installs `staged` (already in the benchmark's directory, fsynced) with `profile` bytes as the
/// model's benchmark, keeping the previous one under `versions/<stamp>/`, then applies
/// retention (`keep` newest versions; 0 = keep all).
///
/// # Errors
/// [`BenchmarkError::Io`] naming the path; before the journal is written nothing changed
/// (the staged files are removed), after it the installation completes on the next recovery.
pub fn install(
    model_dir: &Path,
    benchmark: &Path,
    profile: &Path,
    staged: &Path,
    stamp: &str,
    profile_bytes: Option<&[u8]>,
    keep: usize,
) -> Result<Installed, BenchmarkError> {
    let result = install_inner(
        model_dir,
        benchmark,
        profile,
        staged,
        stamp,
        profile_bytes,
        keep,
    );
    if result.is_err() && !model_dir.join(JOURNAL_FILE).exists() {
        let _ = std::fs::remove_file(staged);
    }
    result
}

fn install_inner(
    model_dir: &Path,
    benchmark: &Path,
    profile: &Path,
    staged: &Path,
    stamp: &str,
    profile_bytes: Option<&[u8]>,
    keep: usize,
) -> Result<Installed, BenchmarkError> {
    let versions = model_dir.join(VERSIONS_DIR);
    std::fs::create_dir_all(model_dir)
        .map_err(|e| io_err(model_dir, "cannot create directory", &e))?;
    let staged_profile = model_dir.join(format!("{STAGE_PREFIX}{stamp}.profile.json"));
    if let Some(bytes) = profile_bytes {
        let mut f = File::create(&staged_profile)
            .map_err(|e| io_err(&staged_profile, "cannot create", &e))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| io_err(&staged_profile, "cannot write", &e))?;
    }
    failpoint("profile-staged");
    let (partial, version) = if benchmark.is_file() {
        let partial = versions.join(format!("{PARTIAL_PREFIX}{stamp}"));
        std::fs::create_dir_all(&partial).map_err(|e| io_err(&partial, "cannot create", &e))?;
        link_or_copy(benchmark, &partial.join(file_name(benchmark)))?;
        if profile.is_file() {
            link_or_copy(profile, &partial.join(file_name(profile)))?;
        }
        sync_dir(&partial);
        sync_dir(&versions);
        (Some(partial), Some(versions.join(stamp)))
    } else {
        (None, None)
    };
    failpoint("version-kept");
    let journal = Journal {
        stamp: stamp.to_string(),
        staged_benchmark: staged.to_path_buf(),
        benchmark: benchmark.to_path_buf(),
        staged_profile,
        profile: profile.to_path_buf(),
        partial_version: partial,
        version: version.clone(),
    };
    let journal_path = model_dir.join(JOURNAL_FILE);
    let bytes = serde_json::to_vec_pretty(&journal).map_err(|e| BenchmarkError::Io {
        path: journal_path.clone(),
        message: format!("cannot serialise the journal: {e}"),
    })?;
    super::write_atomic(&journal_path, &bytes)?;
    failpoint("journal-written");
    commit(&journal_path, &journal)?;
    let pruned = prune(model_dir, keep)?;
    Ok(Installed {
        kept_as: version.map(|_| stamp.to_string()),
        pruned,
    })
}

/// Removes all but the `keep` newest version directories (0 = keep all). Returns the removed ids.
///
/// # Errors
/// [`BenchmarkError::Io`] naming the directory that could not be removed.
pub fn prune(model_dir: &Path, keep: usize) -> Result<Vec<String>, BenchmarkError> {
    if keep == 0 {
        return Ok(Vec::new());
    }
    let mut ids = version_ids(model_dir, None);
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let mut removed = Vec::new();
    for id in ids.into_iter().skip(keep) {
        let dir = model_dir.join(VERSIONS_DIR).join(&id);
        std::fs::remove_dir_all(&dir).map_err(|e| io_err(&dir, "cannot remove", &e))?;
        removed.push(id);
    }
    Ok(removed)
}

/// Names of the complete version directories (unsorted).
fn version_ids(model_dir: &Path, file: Option<&str>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(model_dir.join(VERSIONS_DIR)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().is_dir() && file.is_none_or(|f| e.path().join(f).is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.starts_with('.'))
        .collect()
}

#[derive(Deserialize)]
struct ProfileRows {
    rows: u64,
}

fn describe_version(id: &str, benchmark: &Path, profile: &Path) -> Option<BenchmarkVersion> {
    let meta = std::fs::metadata(benchmark).ok()?;
    let checksum: String = checksum_file(benchmark).ok()?.chars().take(16).collect();
    let rows = std::fs::read(profile)
        .ok()
        .and_then(|b| serde_json::from_slice::<ProfileRows>(&b).ok())
        .map(|p| p.rows);
    Some(BenchmarkVersion {
        id: id.to_string(),
        checksum,
        rows,
        bytes: meta.len(),
        modified: meta
            .modified()
            .ok()
            .map(chrono::DateTime::<chrono::Utc>::from),
    })
}

/// The current benchmark (id `current`, if present) then the kept versions, newest first.
pub fn versions(model_dir: &Path, benchmark: &Path, profile: &Path) -> Vec<BenchmarkVersion> {
    let mut out = Vec::new();
    if let Some(v) = describe_version("current", benchmark, profile) {
        out.push(v);
    }
    let (bname, pname) = (file_name(benchmark), file_name(profile));
    let mut ids = version_ids(model_dir, Some(&bname));
    ids.sort_unstable_by(|a, b| b.cmp(a));
    for id in ids {
        let dir = model_dir.join(VERSIONS_DIR).join(&id);
        if let Some(v) = describe_version(&id, &dir.join(&bname), &dir.join(&pname)) {
            out.push(v);
        }
    }
    out
}

/// The directory of version `to` (a version id or a checksum prefix of ≥ 6 hex digits), or of the
/// newest version when `to` is None.
///
/// # Errors
/// [`BenchmarkError::Io`] when there is no such version (the known ones listed).
pub fn find_version(
    model_dir: &Path,
    benchmark: &Path,
    profile: &Path,
    to: Option<&str>,
) -> Result<(String, PathBuf), BenchmarkError> {
    let all: Vec<BenchmarkVersion> = versions(model_dir, benchmark, profile)
        .into_iter()
        .filter(|v| v.id != "current")
        .collect();
    let found = match to {
        None => all.first(),
        Some(t) => all.iter().find(|v| {
            v.id == t || (t.len() >= 6 && v.checksum.starts_with(&t.to_ascii_lowercase()))
        }),
    };
    match found {
        Some(v) => Ok((v.id.clone(), model_dir.join(VERSIONS_DIR).join(&v.id))),
        None => Err(BenchmarkError::Io {
            path: model_dir.join(VERSIONS_DIR),
            message: format!(
                "no benchmark version {}; kept versions: {}",
                to.unwrap_or("(any)"),
                if all.is_empty() {
                    "none".to_string()
                } else {
                    all.iter()
                        .map(|v| format!("{} ({})", v.id, v.checksum))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        }),
    }
}
