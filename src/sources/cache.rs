//! An in-process cache of parsed files, shared between threads (`Arc<FileCache>`), so a backfill
//! that asks for 365 calculation dates reads each monthly file once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use super::{ColumnRequest, LenientTable, SourceError, read_table_lenient};
use crate::engine::column::Table;

/// What identifies a parsed file: the path, its modification time and length (so a replaced file
/// is read again), and the exact columns and kinds requested.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    modified: Option<SystemTime>,
    len: u64,
    requests: Vec<ColumnRequest>,
}

type Slot = Arc<Mutex<Option<Arc<LenientTable>>>>;

#[derive(Default)]
struct State {
    tick: u64,
    entries: HashMap<Key, (Slot, u64)>,
}

/// Counters of a [`FileCache`] (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Files actually read and parsed.
    pub reads: u64,
    /// Requests answered from memory.
    pub hits: u64,
    /// Parsed tables currently held.
    pub entries: usize,
}

/// A bounded, thread-safe cache of parsed tables keyed by (path, mtime, length, requested
/// columns). At most `max_entries` tables are kept; the least recently used is dropped first.
/// Two threads asking for the same file at once wait for one read. Failed reads are not cached.
#[derive(Debug)]
pub struct FileCache {
    max_entries: usize,
    state: Mutex<StateBox>,
    reads: AtomicU64,
    hits: AtomicU64,
}

/// Newtype so `FileCache` can derive `Debug` without exposing the tables.
#[derive(Default)]
struct StateBox(State);

impl std::fmt::Debug for StateBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} cached tables", self.0.entries.len())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the map inconsistent (all updates are single
    // inserts/removes), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Default for FileCache {
    /// 64 tables.
    fn default() -> Self {
        Self::new(64)
    }
}

impl FileCache {
    /// A cache holding at most `max_entries` parsed tables (at least 1).
    pub fn new(max_entries: usize) -> Self {
        Self {
            max_entries: max_entries.max(1),
            state: Mutex::new(StateBox::default()),
            reads: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            reads: self.reads.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
            entries: lock(&self.state).0.entries.len(),
        }
    }

    /// The table of `path` read with `requests` (see [`read_table`](super::read_table)), from
    /// memory when the file has not changed since it was read.
    ///
    /// # Errors
    /// Those of [`read_table`](super::read_table) (including [`SourceError::NotFound`]).
    pub fn get_or_read(
        &self,
        path: &Path,
        requests: &[ColumnRequest],
    ) -> Result<Arc<Table>, SourceError> {
        let read = self.get_or_read_lenient(path, requests)?;
        match &read.strict_error {
            Some(e) => Err(e.clone()),
            None => Ok(read.table.clone()),
        }
    }

    /// The lenient read of `path` (see [`read_table_lenient`]), from memory when the file has
    /// not changed since it was read. One cached read serves both this and
    /// [`FileCache::get_or_read`].
    ///
    /// # Errors
    /// Those of [`read_table_lenient`].
    pub fn get_or_read_lenient(
        &self,
        path: &Path,
        requests: &[ColumnRequest],
    ) -> Result<Arc<LenientTable>, SourceError> {
        let meta = std::fs::metadata(path).map_err(|e| SourceError::io(path, &e))?;
        let key = Key {
            path: path.to_path_buf(),
            modified: meta.modified().ok(),
            len: meta.len(),
            requests: requests.to_vec(),
        };
        let slot = {
            let mut guard = lock(&self.state);
            let state = &mut guard.0;
            state.tick += 1;
            let tick = state.tick;
            if let Some((slot, used)) = state.entries.get_mut(&key) {
                *used = tick;
                slot.clone()
            } else {
                // Drop stale versions of the same file and request.
                state
                    .entries
                    .retain(|k, _| k.path != key.path || k.requests != key.requests);
                while state.entries.len() >= self.max_entries {
                    let oldest = state
                        .entries
                        .iter()
                        .min_by_key(|(_, (_, used))| *used)
                        .map(|(k, _)| k.clone());
                    match oldest {
                        Some(k) => {
                            state.entries.remove(&k);
                        }
                        None => break,
                    }
                }
                let slot: Slot = Arc::new(Mutex::new(None));
                state.entries.insert(key, (slot.clone(), tick));
                slot
            }
        };
        let mut cell = lock(&slot);
        if let Some(table) = cell.as_ref() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(table.clone());
        }
        self.reads.fetch_add(1, Ordering::Relaxed);
        let table = Arc::new(read_table_lenient(path, requests)?);
        *cell = Some(table.clone());
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::KindHint;

    #[test]
    fn reads_once_and_rereads_after_change_and_evicts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        std::fs::write(&a, "x\n1\n2\n").expect("write");
        std::fs::write(&b, "x\n1\n").expect("write");
        let cache = FileCache::new(1);
        let req = [ColumnRequest::new("x", KindHint::Numeric)];
        assert_eq!(cache.get_or_read(&a, &req).expect("read").rows, 2);
        assert_eq!(cache.get_or_read(&a, &req).expect("read").rows, 2);
        assert_eq!(cache.stats().reads, 1);
        assert_eq!(cache.stats().hits, 1);
        std::fs::write(&a, "x\n1\n2\n3\n").expect("rewrite");
        assert_eq!(cache.get_or_read(&a, &req).expect("read").rows, 3);
        assert_eq!(cache.stats().reads, 2);
        cache.get_or_read(&b, &req).expect("read");
        assert_eq!(cache.stats().entries, 1, "bounded to one table");
        assert!(cache.get_or_read(&dir.path().join("no.csv"), &req).is_err());
    }
}
