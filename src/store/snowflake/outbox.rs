//! The pending queue: a local SQLite file holding writes Snowflake has not accepted yet.
//!
//! Every write of the Snowflake store lands here first, in one SQLite transaction, and is sent
//! to Snowflake in batches (one `MERGE` per table per batch) by [`super::store::SnowflakeStore`].
//! Items leave the queue only after Snowflake accepted them, so a run whose results could not be
//! sent still succeeds, and `driftdeck sync` (or the next write or read) sends them later.
//!
//! Items are keyed by (kind, key): a newer write of the same key (a rerun, the next state of an
//! attempt) replaces the queued one, so a batch never carries two rows for one key (Snowflake's
//! `MERGE` refuses those). Audit entries get a unique key from the queue's own sequence, which also
//! orders them in Snowflake. Several processes, on several hosts, may share the file: it uses
//! SQLite's rollback journal (not WAL, which needs shared memory and fails on NFS such as EFS)
//! and a busy timeout.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::store::StoreError;

/// What a queued item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A result with its characteristics (JSON of [`super::store::QueuedResult`]).
    Result,
    /// One run attempt (JSON of a `RunRecord`).
    Run,
    /// One audit entry (JSON of an `AuditRecord`).
    Audit,
    /// The data-quality findings of one attempt (JSON of [`super::store::QueuedFindings`]).
    Findings,
}

impl ItemKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Result => "result",
            Self::Run => "run",
            Self::Audit => "audit",
            Self::Findings => "findings",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "result" => Some(Self::Result),
            "run" => Some(Self::Run),
            "audit" => Some(Self::Audit),
            "findings" => Some(Self::Findings),
            _ => None,
        }
    }
}

/// One queued write.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Queue sequence number (increasing; a replaced item gets a new one).
    pub id: i64,
    /// What it is.
    pub kind: ItemKind,
    /// JSON payload.
    pub payload: String,
}

/// The pending queue file.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    conn: Mutex<Connection>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("pending queue {}: {e}", path.display()))
}

impl Outbox {
    /// Opens (creating) the queue file.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the file cannot be opened or created.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open = |m: String| StoreError::Open {
            path: path.display().to_string(),
            message: m,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open(e.to_string()))?;
        }
        let conn = Connection::open(path).map_err(|e| open(e.to_string()))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(|e| open(e.to_string()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = DELETE;
             CREATE TABLE IF NOT EXISTS pending (
                 id      INTEGER PRIMARY KEY AUTOINCREMENT,
                 kind    TEXT NOT NULL,
                 key     TEXT NOT NULL,
                 payload TEXT NOT NULL,
                 UNIQUE (kind, key)
             );",
        )
        .map_err(|e| open(e.to_string()))?;
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// The queue file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| err(&self.path, "lock poisoned"))
    }

    /// Queues (or replaces) an item. `key: None` gives a unique key (audit entries).
    /// Returns the item's sequence number.
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming the file.
    pub fn push(
        &self,
        kind: ItemKind,
        key: Option<&str>,
        payload: &str,
    ) -> Result<i64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| err(&self.path, e))?;
        let id = match key {
            Some(k) => {
                tx.execute(
                    "INSERT OR REPLACE INTO pending (kind, key, payload) VALUES (?1, ?2, ?3)",
                    params![kind.as_str(), k, payload],
                )
                .map_err(|e| err(&self.path, e))?;
                tx.last_insert_rowid()
            }
            None => {
                tx.execute(
                    "INSERT INTO pending (kind, key, payload) VALUES (?1, '', ?2)",
                    params![kind.as_str(), payload],
                )
                .map_err(|e| err(&self.path, e))?;
                let id = tx.last_insert_rowid();
                tx.execute(
                    "UPDATE pending SET key = '#' || id WHERE id = ?1",
                    params![id],
                )
                .map_err(|e| err(&self.path, e))?;
                id
            }
        };
        tx.commit().map_err(|e| err(&self.path, e))?;
        Ok(id)
    }

    /// Queues (or replaces) the item of (`kind`, `key`) with the payload `make` builds from the
    /// one it replaces (`None` when nothing of that key is queued), in one transaction: so a
    /// result replaced while still queued can be kept in its successor (results history).
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming the file; `make`'s error (nothing changed).
    pub fn push_merged(
        &self,
        kind: ItemKind,
        key: &str,
        make: impl FnOnce(Option<&str>) -> Result<String, StoreError>,
    ) -> Result<i64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| err(&self.path, e))?;
        let old: Option<String> = tx
            .query_row(
                "SELECT payload FROM pending WHERE kind = ?1 AND key = ?2",
                params![kind.as_str(), key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| err(&self.path, e))?;
        let payload = make(old.as_deref())?;
        tx.execute(
            "INSERT OR REPLACE INTO pending (kind, key, payload) VALUES (?1, ?2, ?3)",
            params![kind.as_str(), key, payload],
        )
        .map_err(|e| err(&self.path, e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| err(&self.path, e))?;
        Ok(id)
    }

    /// The oldest `limit` items, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming the file; [`StoreError::Corrupt`] for an unknown kind.
    pub fn peek(&self, limit: usize) -> Result<Vec<Item>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached("SELECT id, kind, payload FROM pending ORDER BY id LIMIT ?1")
            .map_err(|e| err(&self.path, e))?;
        let rows = stmt
            .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| err(&self.path, e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, payload) = row.map_err(|e| err(&self.path, e))?;
            let kind = ItemKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                table: "pending",
                column: "kind",
                message: format!("unknown kind {kind:?}"),
            })?;
            out.push(Item { id, kind, payload });
        }
        Ok(out)
    }

    /// Removes sent items (by sequence number; an item replaced since stays).
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming the file.
    pub fn remove(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| err(&self.path, e))?;
        {
            let mut stmt = tx
                .prepare_cached("DELETE FROM pending WHERE id = ?1")
                .map_err(|e| err(&self.path, e))?;
            for id in ids {
                stmt.execute(params![id]).map_err(|e| err(&self.path, e))?;
            }
        }
        tx.commit().map_err(|e| err(&self.path, e))
    }

    /// Items waiting.
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming the file.
    pub fn depth(&self) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let n: Option<i64> = conn
            .query_row("SELECT COUNT(*) FROM pending", [], |r| r.get(0))
            .optional()
            .map_err(|e| err(&self.path, e))?;
        Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_by_key_orders_by_sequence_and_keeps_audit_entries_apart() {
        let dir = tempfile::tempdir().unwrap();
        let q = Outbox::open(&dir.path().join("q/pending.sqlite")).unwrap();
        let a = q.push(ItemKind::Run, Some("r1#1"), "running").unwrap();
        q.push(ItemKind::Audit, None, "one").unwrap();
        q.push(ItemKind::Audit, None, "two").unwrap();
        let b = q.push(ItemKind::Run, Some("r1#1"), "succeeded").unwrap();
        assert!(b > a);
        assert_eq!(q.depth().unwrap(), 3);
        let items = q.peek(10).unwrap();
        let payloads: Vec<&str> = items.iter().map(|i| i.payload.as_str()).collect();
        assert_eq!(payloads, ["one", "two", "succeeded"]);
        // Removing a stale sequence number leaves the newer item queued.
        q.remove(&[a, items[0].id]).unwrap();
        assert_eq!(q.depth().unwrap(), 2);
        // Durable across reopen.
        drop(q);
        let q = Outbox::open(&dir.path().join("q/pending.sqlite")).unwrap();
        assert_eq!(q.peek(1).unwrap()[0].payload, "two");
    }
}
