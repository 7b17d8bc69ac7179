//! The benchmark store over the EFS layout (README, Design §4):
//!
//! ```text
//! <root>/<value_stream>/<model_id>/benchmark.csv           current benchmark (expected population)
//! <root>/<value_stream>/<model_id>/benchmark.profile.json  frozen bins + expected counts + checksum
//! <root>/<value_stream>/<model_id>/versions/<ts>/          previous benchmarks, for rollback
//! <root>/<value_stream>/common/                            data shared by a value stream
//! ```
//!
//! Paths are built only from validated [`ValueStream`]/[`ModelId`] values (no `/`, `..`, spaces or
//! quotes can reach the file system); the model id `common` is reserved. Every write is atomic:
//! temp file in the same directory, fsync, rename; a crash leaves the previous complete file.

mod history;

/// Test hook of the refresh job (see `history`): pauses at a named step when
/// `DRIFTDECK_FAILPOINT` names it, so a test can kill the process there.
pub fn history_failpoint(name: &str) {
    history::failpoint(name);
}

pub use history::{
    BenchmarkVersion, FAILPOINT_ENV, Installed, JOURNAL_FILE, ModelLock, lock_model_dir,
};

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{ModelId, ValueStream};
use crate::engine::column::Table;
use crate::sources::{ColumnRequest, SourceError, checksum_file, read_table};

/// File name of a benchmark inside its model directory.
pub const BENCHMARK_FILE: &str = "benchmark.csv";
/// File name of the frozen profile beside it.
pub const PROFILE_FILE: &str = "benchmark.profile.json";
/// Directory (per value stream) of shared data; reserved as a model id.
pub const COMMON_DIR: &str = "common";
/// File name of a value stream's shared data inside `common/`.
pub const COMMON_FILE: &str = "shared_data.csv";
/// Directory (per model) of previous benchmark versions.
pub const VERSIONS_DIR: &str = "versions";

/// Why a benchmark operation failed. Every variant names the path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BenchmarkError {
    /// Reading the benchmark table failed (missing file, malformed CSV...).
    #[error("benchmark: {0}")]
    Source(#[from] SourceError),
    /// A file-system operation failed.
    #[error("{}: {message}", path.display())]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// What failed and the operating system's message.
        message: String,
    },
    /// The profile file exists but is not valid JSON of the expected shape.
    #[error("{}: invalid benchmark profile: {message}", path.display())]
    Profile {
        /// The profile file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The model id collides with a reserved directory name (`common`).
    #[error("model id {id:?} is reserved (it is the value stream's shared data directory)")]
    ReservedId {
        /// The id.
        id: String,
    },
}

fn io_err(path: &Path, what: &str, e: &std::io::Error) -> BenchmarkError {
    BenchmarkError::Io {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    }
}

/// See [`BenchmarkStore::stamp`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BenchmarkStamp {
    /// Where the benchmark is (a path for the directory store).
    pub location: PathBuf,
    /// Last modification, when the file system reports it.
    pub modified: Option<std::time::SystemTime>,
    /// Length in bytes.
    pub len: u64,
}

/// Where benchmarks live and how they are read and replaced. Object-safe; the generic profile
/// helpers are in [`BenchmarkStoreExt`].
pub trait BenchmarkStore: Send + Sync {
    /// One line for logs and the console (e.g. `local directory /efs/benchmarks`).
    fn describe(&self) -> String;

    /// Directory of one model: `<root>/<value_stream>/<model_id>`.
    ///
    /// # Errors
    /// [`BenchmarkError::ReservedId`] for the model id `common`.
    fn model_dir(&self, vs: &ValueStream, model: &ModelId) -> Result<PathBuf, BenchmarkError>;

    /// The shared-data directory of a value stream: `<root>/<value_stream>/common`.
    fn common_dir(&self, vs: &ValueStream) -> PathBuf;

    /// The benchmark file of a model: its override if configured, else
    /// `<root>/<value_stream>/<model_id>/benchmark.csv`.
    ///
    /// # Errors
    /// [`BenchmarkError::ReservedId`].
    fn benchmark_path(&self, vs: &ValueStream, model: &ModelId) -> Result<PathBuf, BenchmarkError>;

    /// The profile file: `<model_dir>/benchmark.profile.json` (also for overridden benchmarks).
    ///
    /// # Errors
    /// [`BenchmarkError::ReservedId`].
    fn profile_path(&self, vs: &ValueStream, model: &ModelId) -> Result<PathBuf, BenchmarkError> {
        Ok(self.model_dir(vs, model)?.join(PROFILE_FILE))
    }

    /// Reads the benchmark table (`columns` as in [`read_table`]).
    ///
    /// # Errors
    /// [`BenchmarkError::Source`] naming the file (e.g. not found, malformed).
    fn read_benchmark(
        &self,
        vs: &ValueStream,
        model: &ModelId,
        columns: Option<&[ColumnRequest]>,
    ) -> Result<Table, BenchmarkError> {
        Ok(read_table(&self.benchmark_path(vs, model)?, columns)?)
    }

    /// A cheap identity of the benchmark's current version (location, modification time,
    /// length) for memoising profiles without hashing the file; a replaced benchmark has a new one.
    ///
    /// # Errors
    /// [`BenchmarkError::Source`] naming the file (e.g. not found).
    fn stamp(&self, vs: &ValueStream, model: &ModelId) -> Result<BenchmarkStamp, BenchmarkError> {
        let path = self.benchmark_path(vs, model)?;
        let meta = std::fs::metadata(&path).map_err(|e| SourceError::io(&path, &e))?;
        Ok(BenchmarkStamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            location: path,
        })
    }

    /// SHA-256 hex of the benchmark file (its version identity).
    ///
    /// # Errors
    /// [`BenchmarkError::Source`] naming the file.
    fn checksum(&self, vs: &ValueStream, model: &ModelId) -> Result<String, BenchmarkError> {
        Ok(checksum_file(&self.benchmark_path(vs, model)?)?)
    }

    /// The raw profile JSON, `None` when there is no profile yet.
    ///
    /// # Errors
    /// [`BenchmarkError::Io`] for read failures other than absence.
    fn read_profile_bytes(
        &self,
        vs: &ValueStream,
        model: &ModelId,
    ) -> Result<Option<Vec<u8>>, BenchmarkError>;

    /// Replaces the profile atomically (temp file in the same directory, fsync, rename).
    ///
    /// # Errors
    /// [`BenchmarkError::Io`]; the previous profile is then still in place.
    fn write_profile_bytes(
        &self,
        vs: &ValueStream,
        model: &ModelId,
        bytes: &[u8],
    ) -> Result<(), BenchmarkError>;

    /// Replaces the benchmark atomically with `bytes`; a previous benchmark is first kept as
    /// `<model_dir>/versions/<UTC timestamp>/benchmark.csv`. Returns that version directory
    /// (`None` when there was no previous benchmark). Used by the benchmark refresh job.
    ///
    /// # Errors
    /// [`BenchmarkError::Io`]; a complete benchmark (old or new) is always in place.
    fn write_benchmark(
        &self,
        vs: &ValueStream,
        model: &ModelId,
        bytes: &[u8],
    ) -> Result<Option<PathBuf>, BenchmarkError>;

    /// Takes the exclusive refresh lock of a model (or, with `model` None, of the value stream's
    /// `common/` data) and completes or discards an interrupted installation found there
    /// (see [`history`](self) docs in `benchmarks/history.rs`). Hold the lock for the whole
    /// refresh or rollback. Returns the lock and whether a committed installation was completed.
    ///
    /// # Errors
    /// [`BenchmarkError::Io`] when another process holds the lock or recovery fails.
    fn lock_and_recover(
        &self,
        vs: &ValueStream,
        model: Option<&ModelId>,
    ) -> Result<(ModelLock, bool), BenchmarkError>;

    /// A fresh version stamp and the path where the new benchmark (or shared data) must be
    /// streamed before [`install`](BenchmarkStore::install): a hidden file in the target's
    /// directory, so the final rename is atomic.
    ///
    /// # Errors
    /// [`BenchmarkError::ReservedId`], or [`BenchmarkError::Io`] if the directory cannot be made.
    fn staging(
        &self,
        vs: &ValueStream,
        model: Option<&ModelId>,
    ) -> Result<(String, PathBuf), BenchmarkError>;

    /// Installs a staged file (from [`staging`](BenchmarkStore::staging), written and fsynced)
    /// and, for a model, its new profile bytes: the previous benchmark and profile move to
    /// `versions/<stamp>/`, then retention keeps the `keep` newest versions (0 = all).
    /// Call under [`lock_and_recover`](BenchmarkStore::lock_and_recover).
    ///
    /// # Errors
    /// [`BenchmarkError::Io`]; a complete benchmark (old or new) is always in place.
    fn install(
        &self,
        vs: &ValueStream,
        model: Option<&ModelId>,
        staged: &Path,
        stamp: &str,
        profile: Option<&[u8]>,
        keep: usize,
    ) -> Result<Installed, BenchmarkError>;

    /// The current benchmark and the kept versions of a model (or of `common/`), newest first.
    ///
    /// # Errors
    /// [`BenchmarkError::ReservedId`].
    fn versions(
        &self,
        vs: &ValueStream,
        model: Option<&ModelId>,
    ) -> Result<Vec<BenchmarkVersion>, BenchmarkError>;

    /// Copies kept version `to` (id or checksum prefix; None = the newest) to a staging path and
    /// returns (version id, stamp, staged path, its profile bytes if it kept one), ready for
    /// [`install`](BenchmarkStore::install): a rollback is an installation, so the benchmark it
    /// replaces is kept too.
    ///
    /// # Errors
    /// [`BenchmarkError::Io`] when there is no such version (the kept ones are listed).
    fn stage_version(
        &self,
        vs: &ValueStream,
        model: Option<&ModelId>,
        to: Option<&str>,
    ) -> Result<StagedVersion, BenchmarkError>;

    /// Every (value stream, model) directory holding a `benchmark.csv`, sorted. Directories whose
    /// names are not valid ids, and `common`, are skipped.
    ///
    /// # Errors
    /// [`BenchmarkError::Io`] if the root cannot be listed (a missing root is an empty list).
    fn list(&self) -> Result<Vec<(ValueStream, ModelId)>, BenchmarkError>;
}

/// Typed profile access for any [`BenchmarkStore`] (also `dyn`). `T` is the engine's
/// `BenchmarkProfile` in practice; kept generic so this module does not depend on it.
pub trait BenchmarkStoreExt: BenchmarkStore {
    /// The profile parsed as `T`, `None` when there is none.
    ///
    /// # Errors
    /// [`BenchmarkError::Profile`] naming the file when the JSON does not parse as `T`.
    fn load_profile<T: DeserializeOwned>(
        &self,
        vs: &ValueStream,
        model: &ModelId,
    ) -> Result<Option<T>, BenchmarkError> {
        let Some(bytes) = self.read_profile_bytes(vs, model)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| BenchmarkError::Profile {
                path: self.profile_path(vs, model).unwrap_or_default(),
                message: e.to_string(),
            })
    }

    /// Serialises `profile` as pretty JSON and writes it atomically.
    ///
    /// # Errors
    /// [`BenchmarkError::Profile`] if serialisation fails (nothing written), else those of
    /// [`BenchmarkStore::write_profile_bytes`].
    fn save_profile<T: Serialize>(
        &self,
        vs: &ValueStream,
        model: &ModelId,
        profile: &T,
    ) -> Result<(), BenchmarkError> {
        let bytes = serde_json::to_vec_pretty(profile).map_err(|e| BenchmarkError::Profile {
            path: self.profile_path(vs, model).unwrap_or_default(),
            message: format!("cannot serialise: {e}"),
        })?;
        self.write_profile_bytes(vs, model, &bytes)
    }
}

impl<S: BenchmarkStore + ?Sized> BenchmarkStoreExt for S {}

/// Writes `bytes` to `path` atomically: a temp file in the same directory, fsync, rename over
/// `path`, fsync of the directory. Creates the directory if needed.
///
/// # Errors
/// [`BenchmarkError::Io`] naming the path; the temp file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BenchmarkError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, "cannot create directory", &e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| io_err(dir, "cannot create a temp file", &e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| io_err(tmp.path(), "cannot write", &e))?;
    tmp.persist(path)
        .map_err(|e| io_err(path, "cannot replace", &e.error))?;
    // Make the rename durable; not every file system supports syncing a directory.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A kept version copied to a staging path by [`BenchmarkStore::stage_version`].
#[derive(Debug, Clone, PartialEq)]
pub struct StagedVersion {
    /// The version restored.
    pub version: String,
    /// Stamp to pass to [`BenchmarkStore::install`].
    pub stamp: String,
    /// The staged copy of its benchmark.
    pub staged: PathBuf,
    /// Its profile, if it kept one.
    pub profile: Option<Vec<u8>>,
}

/// [`BenchmarkStore`] over a local directory (or a mounted EFS volume).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalDirStore {
    root: PathBuf,
    overrides: HashMap<ModelId, PathBuf>,
}

impl LocalDirStore {
    /// A store rooted at `root` (need not exist yet), without overrides.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            overrides: HashMap::new(),
        }
    }

    /// Uses `path` as the benchmark file of `model` instead of the layout path.
    pub fn with_override(mut self, model: ModelId, path: impl Into<PathBuf>) -> Self {
        self.overrides.insert(model, path.into());
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl LocalDirStore {
    /// (directory, data file, profile file) of a model, or of a value stream's `common/` data.
    fn files(
        &self,
        vs: &ValueStream,
        model: Option<&ModelId>,
    ) -> Result<(PathBuf, PathBuf, PathBuf), BenchmarkError> {
        Ok(match model {
            Some(m) => (
                self.model_dir(vs, m)?,
                self.benchmark_path(vs, m)?,
                self.profile_path(vs, m)?,
            ),
            None => {
                let dir = self.common_dir(vs);
                (
                    dir.clone(),
                    dir.join(COMMON_FILE),
                    dir.join("shared_data.profile.json"),
                )
            }
        })
    }
}

fn unique_version_dir(versions: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let mut dir = versions.join(&stamp);
    let mut n = 1;
    while dir.exists() {
        dir = versions.join(format!("{stamp}-{n}"));
        n += 1;
    }
    dir
}

impl BenchmarkStore for LocalDirStore {
    fn describe(&self) -> String {
        format!("local directory {}", self.root.display())
    }

    fn model_dir(&self, vs: &ValueStream, model: &ModelId) -> Result<PathBuf, BenchmarkError> {
        if model.as_str() == COMMON_DIR {
            return Err(BenchmarkError::ReservedId {
                id: model.to_string(),
            });
        }
        Ok(self.root.join(vs.as_str()).join(model.as_str()))
    }

    fn common_dir(&self, vs: &ValueStream) -> PathBuf {
        self.root.join(vs.as_str()).join(COMMON_DIR)
    }

    fn benchmark_path(&self, vs: &ValueStream, model: &ModelId) -> Result<PathBuf, BenchmarkError> {
        let dir = self.model_dir(vs, model)?;
        Ok(self
            .overrides
            .get(model)
            .cloned()
            .unwrap_or_else(|| dir.join(BENCHMARK_FILE)))
    }

    fn read_profile_bytes(
        &self,
        vs: &ValueStream,
        model: &ModelId,
    ) -> Result<Option<Vec<u8>>, BenchmarkError> {
        let path = self.profile_path(vs, model)?;
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path, "cannot read", &e)),
        }
    }

    fn write_profile_bytes(
        &self,
        vs: &ValueStream,
        model: &ModelId,
        bytes: &[u8],
    ) -> Result<(), BenchmarkError> {
        write_atomic(&self.profile_path(vs, model)?, bytes)
    }

    fn write_benchmark(
        &self,
        vs: &ValueStream,
        model: &ModelId,
        bytes: &[u8],
    ) -> Result<Option<PathBuf>, BenchmarkError> {
        let target = self.benchmark_path(vs, model)?;
        let versions = self.model_dir(vs, model)?.join(VERSIONS_DIR);
        let mut kept = None;
        if target.is_file() {
            let dir = unique_version_dir(&versions);
            std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, "cannot create", &e))?;
            let copy = dir.join(BENCHMARK_FILE);
            // Keep the old version first (hard link, else copy): the current file stays in place
            // until the atomic rename below replaces it.
            if std::fs::hard_link(&target, &copy).is_err() {
                std::fs::copy(&target, &copy)
                    .map_err(|e| io_err(&copy, "cannot keep the previous benchmark", &e))?;
            }
            kept = Some(dir);
        }
        write_atomic(&target, bytes)?;
        Ok(kept)
    }

    fn lock_and_recover(
        &self,
        vs: &ValueStream,
        model: Option<&ModelId>,
    ) -> Result<(ModelLock, bool), BenchmarkError> {
        let (dir, bench, _) = self.files(vs, model)?;
        let lock = history::lock_model_dir(&dir)?;
        let rolled = history::recover(&dir, &bench)?;
        Ok((lock, rolled))
    }

    fn staging(
        &self,
        vs: &ValueStream,
        model: Option<&ModelId>,
    ) -> Result<(String, PathBuf), BenchmarkError> {
        let (dir, bench, _) = self.files(vs, model)?;
        let stamp = history::new_stamp(&dir.join(VERSIONS_DIR));
        let staged = history::staging_path(&bench, &stamp);
        if let Some(parent) = staged.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| io_err(parent, "cannot create directory", &e))?;
        }
        Ok((stamp, staged))
    }

    fn install(
        &self,
        vs: &ValueStream,
        model: Option<&ModelId>,
        staged: &Path,
        stamp: &str,
        profile: Option<&[u8]>,
        keep: usize,
    ) -> Result<Installed, BenchmarkError> {
        let (dir, bench, prof) = self.files(vs, model)?;
        history::install(&dir, &bench, &prof, staged, stamp, profile, keep)
    }

    fn versions(
        &self,
        vs: &ValueStream,
        model: Option<&ModelId>,
    ) -> Result<Vec<BenchmarkVersion>, BenchmarkError> {
        let (dir, bench, prof) = self.files(vs, model)?;
        Ok(history::versions(&dir, &bench, &prof))
    }

    fn stage_version(
        &self,
        vs: &ValueStream,
        model: Option<&ModelId>,
        to: Option<&str>,
    ) -> Result<StagedVersion, BenchmarkError> {
        let (dir, bench, prof) = self.files(vs, model)?;
        let (version, vdir) = history::find_version(&dir, &bench, &prof, to)?;
        let name = |p: &Path| p.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        let (stamp, staged) = self.staging(vs, model)?;
        let from = vdir.join(name(&bench));
        std::fs::copy(&from, &staged)
            .and_then(|_| File::open(&staged)?.sync_all())
            .map_err(|e| io_err(&staged, "cannot stage the kept version", &e))?;
        let profile = std::fs::read(vdir.join(name(&prof))).ok();
        Ok(StagedVersion {
            version,
            stamp,
            staged,
            profile,
        })
    }

    fn list(&self) -> Result<Vec<(ValueStream, ModelId)>, BenchmarkError> {
        let mut out = Vec::new();
        let streams = match std::fs::read_dir(&self.root) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io_err(&self.root, "cannot list", &e)),
        };
        for vs_entry in streams.flatten() {
            let Some(vs) = vs_entry
                .file_name()
                .to_str()
                .and_then(|n| ValueStream::new(n).ok())
            else {
                continue;
            };
            if !vs_entry.path().is_dir() {
                continue;
            }
            let Ok(models) = std::fs::read_dir(vs_entry.path()) else {
                continue;
            };
            for m_entry in models.flatten() {
                let Some(id) = m_entry
                    .file_name()
                    .to_str()
                    .filter(|n| *n != COMMON_DIR)
                    .and_then(|n| ModelId::new(n).ok())
                else {
                    continue;
                };
                if m_entry.path().join(BENCHMARK_FILE).is_file() {
                    out.push((vs.clone(), id));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(vs: &str, m: &str) -> (ValueStream, ModelId) {
        (
            ValueStream::new(vs).expect("vs"),
            ModelId::new(m).expect("model"),
        )
    }

    #[test]
    fn layout_paths_and_override() {
        let store = LocalDirStore::new("/efs/bench");
        let (vs, m) = ids("airports", "jfk_delay");
        assert_eq!(
            store.benchmark_path(&vs, &m).expect("path"),
            PathBuf::from("/efs/bench/airports/jfk_delay/benchmark.csv")
        );
        assert_eq!(
            store.profile_path(&vs, &m).expect("path"),
            PathBuf::from("/efs/bench/airports/jfk_delay/benchmark.profile.json")
        );
        assert_eq!(
            store.common_dir(&vs),
            PathBuf::from("/efs/bench/airports/common")
        );
        let store = store.with_override(m.clone(), "/other/b.csv");
        assert_eq!(
            store.benchmark_path(&vs, &m).expect("path"),
            PathBuf::from("/other/b.csv")
        );
        let (_, common) = ids("airports", "common");
        assert!(matches!(
            store.benchmark_path(&vs, &common),
            Err(BenchmarkError::ReservedId { .. })
        ));
    }
}
