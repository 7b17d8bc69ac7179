//! SQLite results store (embedded default): one file, WAL mode, versioned migrations.
//!
//! Schema (README, Design §4), version [`SCHEMA_VERSION`] kept in `PRAGMA user_version`:
//! - `PCI_CSI_RESULTS (model_id, value_stream, calculation_date, psi_score, csi_score,
//!   execution_time)`, key `(model_id, calculation_date)`: exactly the seed job's columns.
//!   Dates are `TEXT` `YYYY-MM-DD`; `execution_time` is RFC 3339 UTC with nanoseconds
//!   (`2013-02-01T06:00:00.000000000Z`, fixed width so text order is time order).
//! - `PCI_CSI_PROFILES (profile_id, model_id, profile_sha, columns_json)` and
//!   `PCI_CSI_DAILY_BINS (model_id, calculation_date, profile_id, worst_characteristic,
//!   worst_csi, actual)`, the latter a child of the result (foreign key, `ON DELETE CASCADE`):
//!   the compact layout of [`super::compact`] (benchmark side once per profile version, a
//!   ~600-byte payload per daily result).
//! - `PCI_CSI_RUNS (run_id, attempt, max_attempts, model_id, value_stream, calculation_date,
//!   action, status, error, started_at, finished_at, benchmark_version, rows_benchmark,
//!   rows_current, triggered_by, log_path)`, key `(run_id, attempt)`, indexed for newest-first
//!   queries per model and overall.
//!   Version 4 adds `lease_until` (RFC 3339 UTC): the time until which the job that writes a
//!   non-final attempt promises to renew it; [`ResultsStore::reap_expired`] ends attempts whose
//!   lease expired as `lost`.
//! - `PCI_CSI_AUDIT (id, at, user, role, action, target, outcome)`.
//! - `PCI_CSI_FINDINGS (run_id, attempt, seq, check_name, column_name, observed, limit_value,
//!   severity, message)`, key `(run_id, attempt, seq)`: data-quality findings of an attempt.
//! - `PCI_CSI_RESULTS_HISTORY (seq, model_id, value_stream, calculation_date, psi_score,
//!   csi_score, worst_characteristic, worst_csi, valid_from, valid_to, superseded_by_run)`,
//!   indexed by (model, date, `valid_to`): the results a rerun replaced with different values
//!   (SCD type 2, [`super::ReplacedResult`]), written in the transaction that replaces them.
//!
//! Migrations: version 1 is the seed's `PCI_CSI_RESULTS` alone (created `IF NOT EXISTS`, so a
//! seed-made file is adopted; `WITHOUT ROWID` so rows are clustered by (model, date)); version 2
//! adds characteristics (one JSON row per column), runs, audit and the indexes; version 3
//! moves the characteristics into the compact tables (in Rust, same transaction, values
//! unchanged) and drops `PCI_CSI_CHARACTERISTICS`; version 4 adds run leases; version 5 adds
//! `PCI_CSI_FINDINGS`; version 6 adds `PCI_CSI_RESULTS_HISTORY` (empty: what earlier versions
//! replaced is gone).
//! Each step runs in one immediate transaction that re-reads the version first, so two
//! processes opening a fresh file at once do not race.
//!
//! Concurrency: one connection behind a mutex per [`SqliteStore`]; several stores (threads or
//! processes) may share a file. Writes take the write lock up front (`BEGIN IMMEDIATE`) and
//! wait up to the busy timeout; a lock held longer gives [`StoreError::Busy`].

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::types::FromSql;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Row, TransactionBehavior};

use super::compact;
use super::{
    AuditRecord, CharacteristicRecord, ColumnRole, DateStatus, ModelOverview, ResultRecord,
    ResultsStore, RunRecord, StoreError, WorstCharacteristic, merge_overview, validate_result,
};
use crate::domain::{BinStat, RunAction, RunStatus};

/// Schema version this binary writes and understands (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64 + 4;

/// Default time a write waits for another writer's lock before [`StoreError::Busy`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// SQL migration steps; step `i` (0-based) brings the schema from version `i` to `i + 1`.
/// The step to version 3 (the compact schema) is [`migrate_to_compact`]; the step to version 4
/// adds run leases ([`LEASE_MIGRATION`]); the step to version 5 adds the findings table
/// ([`FINDINGS_TABLE`]); the step to version 6 ([`SCHEMA_VERSION`]) the history of replaced
/// results ([`HISTORY_TABLE`]).
const MIGRATIONS: [&str; 2] = [
    // v1: the seed job's table, unchanged.
    "CREATE TABLE IF NOT EXISTS PCI_CSI_RESULTS (
        model_id         TEXT NOT NULL,
        value_stream     TEXT NOT NULL,
        calculation_date TEXT NOT NULL,
        psi_score        REAL,
        csi_score        REAL,
        execution_time   TEXT,
        PRIMARY KEY (model_id, calculation_date)
    ) WITHOUT ROWID;",
    // v2: characteristics with bins, run attempts, audit log, console indexes.
    "CREATE TABLE PCI_CSI_CHARACTERISTICS (
        model_id         TEXT NOT NULL,
        calculation_date TEXT NOT NULL,
        characteristic   TEXT NOT NULL,
        role             TEXT NOT NULL,
        kind             TEXT NOT NULL,
        index_value      REAL NOT NULL,
        bins_json        TEXT NOT NULL,
        PRIMARY KEY (model_id, calculation_date, characteristic),
        FOREIGN KEY (model_id, calculation_date)
            REFERENCES PCI_CSI_RESULTS (model_id, calculation_date) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE TABLE PCI_CSI_RUNS (
        run_id            TEXT NOT NULL,
        attempt           INTEGER NOT NULL,
        max_attempts      INTEGER NOT NULL,
        model_id          TEXT NOT NULL,
        value_stream      TEXT NOT NULL,
        calculation_date  TEXT NOT NULL,
        action            TEXT NOT NULL,
        status            TEXT NOT NULL,
        error             TEXT,
        started_at        TEXT NOT NULL,
        finished_at       TEXT,
        benchmark_version TEXT,
        rows_benchmark    INTEGER,
        rows_current      INTEGER,
        triggered_by      TEXT NOT NULL,
        log_path          TEXT,
        PRIMARY KEY (run_id, attempt)
    );
    CREATE INDEX PCI_CSI_RUNS_BY_MODEL ON PCI_CSI_RUNS (model_id, started_at DESC, attempt DESC);
    CREATE INDEX PCI_CSI_RUNS_BY_START ON PCI_CSI_RUNS (started_at DESC, attempt DESC);
    CREATE TABLE PCI_CSI_AUDIT (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at      TEXT NOT NULL,
        user    TEXT NOT NULL,
        role    TEXT NOT NULL,
        action  TEXT NOT NULL,
        target  TEXT NOT NULL,
        outcome TEXT NOT NULL
    );",
];

/// Version 3 → 4: the lease of a non-final attempt, renewed by the running job; the reaper turns
/// an expired lease into `lost` (issue 11 #1).
const LEASE_MIGRATION: &str = "ALTER TABLE PCI_CSI_RUNS ADD COLUMN lease_until TEXT;";

/// Options of [`SqliteStore::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long a statement waits for another connection's lock before [`StoreError::Busy`]
    /// (default [`DEFAULT_BUSY_TIMEOUT`], 5 s).
    pub busy_timeout: Duration,
    /// Open without writing: no file creation, no migrations, every write fails.
    pub read_only: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            read_only: false,
        }
    }
}

/// SQLite implementation of [`ResultsStore`]. Cheap to share behind an `Arc`; thread-safe.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    read_only: bool,
    conn: Mutex<Connection>,
}

/// Maps a rusqlite error: lock contention → [`StoreError::Busy`], anything else → `Backend`.
fn map_err(err: rusqlite::Error) -> StoreError {
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Busy(err.to_string())
        }
        _ => StoreError::Backend(err.to_string()),
    }
}

fn open_err(path: &Path, message: impl Into<String>) -> StoreError {
    StoreError::Open {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Fixed-width RFC 3339 UTC text (nanoseconds, `Z`), so text order is time order.
fn ts_text(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn corrupt(table: &'static str, column: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        message: message.into(),
    }
}

/// Reads one column, naming table and column when the stored value has the wrong type.
fn get<T: FromSql>(
    row: &Row<'_>,
    idx: usize,
    table: &'static str,
    column: &'static str,
) -> Result<T, StoreError> {
    row.get::<_, T>(idx)
        .map_err(|e| corrupt(table, column, e.to_string()))
}

fn get_date(
    row: &Row<'_>,
    idx: usize,
    table: &'static str,
    column: &'static str,
) -> Result<NaiveDate, StoreError> {
    let text: String = get(row, idx, table, column)?;
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| {
        corrupt(
            table,
            column,
            format!("{text:?} is not a YYYY-MM-DD date: {e}"),
        )
    })
}

fn parse_ts(
    text: &str,
    table: &'static str,
    column: &'static str,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            corrupt(
                table,
                column,
                format!("{text:?} is not an RFC 3339 time: {e}"),
            )
        })
}

fn get_ts(
    row: &Row<'_>,
    idx: usize,
    table: &'static str,
    column: &'static str,
) -> Result<DateTime<Utc>, StoreError> {
    let text: String = get(row, idx, table, column)?;
    parse_ts(&text, table, column)
}

fn get_opt_ts(
    row: &Row<'_>,
    idx: usize,
    table: &'static str,
    column: &'static str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let text: Option<String> = get(row, idx, table, column)?;
    text.map(|t| parse_ts(&t, table, column)).transpose()
}

fn get_u32(
    row: &Row<'_>,
    idx: usize,
    table: &'static str,
    column: &'static str,
) -> Result<u32, StoreError> {
    let v: i64 = get(row, idx, table, column)?;
    u32::try_from(v).map_err(|_| corrupt(table, column, format!("{v} is out of range")))
}

fn get_opt_u64(
    row: &Row<'_>,
    idx: usize,
    table: &'static str,
    column: &'static str,
) -> Result<Option<u64>, StoreError> {
    let v: Option<i64> = get(row, idx, table, column)?;
    v.map(|v| u64::try_from(v).map_err(|_| corrupt(table, column, format!("{v} is negative"))))
        .transpose()
}

fn opt_u64_sql(v: Option<u64>, what: &str) -> Result<Option<i64>, StoreError> {
    v.map(|v| {
        i64::try_from(v)
            .map_err(|_| StoreError::Backend(format!("{what} {v} is too large to store")))
    })
    .transpose()
}

const RESULTS: &str = "PCI_CSI_RESULTS";
const CHARS: &str = "PCI_CSI_CHARACTERISTICS";
const PROFILES: &str = "PCI_CSI_PROFILES";
const BINS: &str = "PCI_CSI_DAILY_BINS";

/// Tables of the compact schema (version 3; layout in [`super::compact`]).
const COMPACT_TABLES: &str = "CREATE TABLE PCI_CSI_PROFILES (
        profile_id   INTEGER PRIMARY KEY,
        model_id     TEXT NOT NULL,
        profile_sha  TEXT NOT NULL,
        columns_json TEXT NOT NULL,
        UNIQUE (model_id, profile_sha)
    );
    CREATE TABLE PCI_CSI_DAILY_BINS (
        model_id             TEXT NOT NULL,
        calculation_date     TEXT NOT NULL,
        profile_id           INTEGER NOT NULL REFERENCES PCI_CSI_PROFILES (profile_id),
        worst_characteristic TEXT,
        worst_csi            REAL,
        actual               BLOB NOT NULL,
        PRIMARY KEY (model_id, calculation_date),
        FOREIGN KEY (model_id, calculation_date)
            REFERENCES PCI_CSI_RESULTS (model_id, calculation_date) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE INDEX PCI_CSI_DAILY_BINS_BY_PROFILE ON PCI_CSI_DAILY_BINS (profile_id);";

/// Version 5: data-quality findings of an attempt (issue 10), in recorded order (`seq`).
const FINDINGS_TABLE: &str = "CREATE TABLE PCI_CSI_FINDINGS (
        run_id       TEXT NOT NULL,
        attempt      INTEGER NOT NULL,
        seq          INTEGER NOT NULL,
        check_name   TEXT NOT NULL,
        column_name  TEXT,
        observed     REAL,
        limit_value  REAL,
        severity     TEXT NOT NULL,
        message      TEXT NOT NULL,
        PRIMARY KEY (run_id, attempt, seq)
    ) WITHOUT ROWID;";

/// Version 6: results replaced by a rerun with different values (SCD type 2; issue 10).
/// `valid_from` / `valid_to` are RFC 3339 UTC like `execution_time`; `seq` keeps insertion order.
const HISTORY_TABLE: &str = "CREATE TABLE PCI_CSI_RESULTS_HISTORY (
        seq                  INTEGER PRIMARY KEY,
        model_id             TEXT NOT NULL,
        value_stream         TEXT NOT NULL,
        calculation_date     TEXT NOT NULL,
        psi_score            REAL,
        csi_score            REAL,
        worst_characteristic TEXT,
        worst_csi            REAL,
        valid_from           TEXT NOT NULL,
        valid_to             TEXT NOT NULL,
        superseded_by_run    TEXT
    );
    CREATE INDEX PCI_CSI_RESULTS_HISTORY_BY_DATE
        ON PCI_CSI_RESULTS_HISTORY (model_id, calculation_date, valid_to);";

const HISTORY: &str = "PCI_CSI_RESULTS_HISTORY";

const HISTORY_COLS: &str = "h.model_id, h.value_stream, h.calculation_date, h.psi_score, \
     h.csi_score, h.worst_characteristic, h.worst_csi, h.valid_from, h.valid_to, \
     h.superseded_by_run";

fn replaced_from_row(row: &Row<'_>) -> Result<super::ReplacedResult, StoreError> {
    let name: Option<String> = get(row, 5, HISTORY, "worst_characteristic")?;
    let csi: Option<f64> = get(row, 6, HISTORY, "worst_csi")?;
    let psi: Option<f64> = get(row, 3, HISTORY, "psi_score")?;
    let csi_score: Option<f64> = get(row, 4, HISTORY, "csi_score")?;
    Ok(super::ReplacedResult {
        model_id: get(row, 0, HISTORY, "model_id")?,
        value_stream: get(row, 1, HISTORY, "value_stream")?,
        calculation_date: get_date(row, 2, HISTORY, "calculation_date")?,
        psi_score: psi.unwrap_or(f64::NAN),
        csi_score: csi_score.unwrap_or(f64::NAN),
        worst: match (name, csi) {
            (Some(characteristic), Some(csi)) => Some(WorstCharacteristic {
                characteristic,
                csi,
            }),
            _ => None,
        },
        valid_from: get_ts(row, 7, HISTORY, "valid_from")?,
        valid_to: get_ts(row, 8, HISTORY, "valid_to")?,
        superseded_by_run: get(row, 9, HISTORY, "superseded_by_run")?,
    })
}

/// Inside a write transaction, before (model, date) is replaced by `new`: copies the stored
/// result into `PCI_CSI_RESULTS_HISTORY` when `new` changes it ([`super::result_changed`]).
fn keep_replaced(
    tx: &Connection,
    new: &ResultRecord,
    new_worst: Option<&str>,
    run_id: Option<&str>,
) -> Result<(), StoreError> {
    type Old = (
        String,
        Option<f64>,
        Option<f64>,
        Option<String>,
        Option<String>,
        Option<f64>,
    );
    let date = date_text(new.calculation_date);
    let old: Option<Old> = tx
        .prepare_cached(
            "SELECT r.value_stream, r.psi_score, r.csi_score, r.execution_time, \
             b.worst_characteristic, b.worst_csi FROM PCI_CSI_RESULTS r \
             LEFT JOIN PCI_CSI_DAILY_BINS b ON b.model_id = r.model_id \
             AND b.calculation_date = r.calculation_date \
             WHERE r.model_id = ?1 AND r.calculation_date = ?2",
        )
        .and_then(|mut s| {
            s.query_row(rusqlite::params![new.model_id, date], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .optional()
        })
        .map_err(map_err)?;
    let Some((value_stream, psi, csi, executed, worst, worst_csi)) = old else {
        return Ok(());
    };
    let (old_psi, old_csi) = (psi.unwrap_or(f64::NAN), csi.unwrap_or(f64::NAN));
    if !super::result_changed(old_psi, old_csi, worst.as_deref(), new, new_worst) {
        return Ok(());
    }
    // A seed-written row may lack `execution_time`: the version then starts at the epoch.
    let valid_from = executed.unwrap_or_else(|| ts_text(&DateTime::<Utc>::UNIX_EPOCH));
    tx.prepare_cached(
        "INSERT INTO PCI_CSI_RESULTS_HISTORY (model_id, value_stream, calculation_date, \
         psi_score, csi_score, worst_characteristic, worst_csi, valid_from, valid_to, \
         superseded_by_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(rusqlite::params![
            new.model_id,
            value_stream,
            date,
            psi,
            csi,
            worst,
            worst_csi,
            valid_from,
            ts_text(&new.execution_time),
            run_id,
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

fn decode_finding(row: &Row<'_>) -> Result<super::FindingRecord, StoreError> {
    use crate::quality::{Check, Finding, Severity};
    let corrupt = |column: &'static str, message: String| StoreError::Corrupt {
        table: "PCI_CSI_FINDINGS",
        column,
        message,
    };
    let check: String = row.get(2).map_err(map_err)?;
    let severity: String = row.get(6).map_err(map_err)?;
    let observed: Option<f64> = row.get(4).map_err(map_err)?;
    let limit: Option<f64> = row.get(5).map_err(map_err)?;
    Ok(super::FindingRecord {
        run_id: row.get(0).map_err(map_err)?,
        attempt: row.get(1).map_err(map_err)?,
        finding: Finding {
            check: Check::parse(&check)
                .ok_or_else(|| corrupt("check_name", format!("unknown check {check:?}")))?,
            column: row.get(3).map_err(map_err)?,
            observed: observed.unwrap_or(f64::NAN),
            limit: limit.unwrap_or(f64::NAN),
            severity: Severity::parse(&severity)
                .ok_or_else(|| corrupt("severity", format!("unknown severity {severity:?}")))?,
            message: row.get(7).map_err(map_err)?,
        },
    })
}

/// Replaces the day's bins row of (model, date): upserts the profile version, writes the
/// payload; `None` (no characteristics) removes the row.
fn write_bins(
    conn: &Connection,
    model_id: &str,
    date: &str,
    split: Option<&compact::Split>,
) -> Result<(), StoreError> {
    let Some(split) = split else {
        conn.prepare_cached(
            "DELETE FROM PCI_CSI_DAILY_BINS WHERE model_id = ?1 AND calculation_date = ?2",
        )
        .and_then(|mut s| s.execute(rusqlite::params![model_id, date]))
        .map_err(map_err)?;
        return Ok(());
    };
    conn.prepare_cached(
        "INSERT INTO PCI_CSI_PROFILES (model_id, profile_sha, columns_json) VALUES (?1, ?2, ?3) \
         ON CONFLICT (model_id, profile_sha) DO NOTHING",
    )
    .and_then(|mut s| {
        s.execute(rusqlite::params![
            model_id,
            split.profile_sha,
            split.profile_json
        ])
    })
    .map_err(map_err)?;
    let profile_id: i64 = conn
        .prepare_cached(
            "SELECT profile_id FROM PCI_CSI_PROFILES WHERE model_id = ?1 AND profile_sha = ?2",
        )
        .and_then(|mut s| s.query_row(rusqlite::params![model_id, split.profile_sha], |r| r.get(0)))
        .map_err(map_err)?;
    let (worst_name, worst_csi) = match &split.worst {
        Some((n, v)) => (Some(n.as_str()), Some(*v)),
        None => (None, None),
    };
    conn.prepare_cached(
        "INSERT INTO PCI_CSI_DAILY_BINS (model_id, calculation_date, profile_id, \
         worst_characteristic, worst_csi, actual) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (model_id, calculation_date) DO UPDATE SET \
         profile_id = excluded.profile_id, worst_characteristic = excluded.worst_characteristic, \
         worst_csi = excluded.worst_csi, actual = excluded.actual",
    )
    .and_then(|mut s| {
        s.execute(rusqlite::params![
            model_id,
            date,
            profile_id,
            worst_name,
            worst_csi,
            split.payload
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

/// Version 2 → 3: creates the compact tables, moves every `PCI_CSI_CHARACTERISTICS` row into
/// them (grouped per result, values unchanged) and drops the old table. Runs inside the
/// migration's transaction: all or nothing.
fn migrate_to_compact(conn: &Connection) -> Result<(), StoreError> {
    let step = |e: StoreError| StoreError::Backend(format!("migration to schema version 3: {e}"));
    conn.execute_batch(COMPACT_TABLES)
        .map_err(|e| step(map_err(e)))?;
    let mut stmt = conn
        .prepare(
            "SELECT model_id, calculation_date, characteristic, role, kind, index_value, \
             bins_json FROM PCI_CSI_CHARACTERISTICS ORDER BY model_id, calculation_date, \
             characteristic",
        )
        .map_err(|e| step(map_err(e)))?;
    let mut rows = stmt.query([]).map_err(|e| step(map_err(e)))?;
    let mut group: Vec<CharacteristicRecord> = Vec::new();
    let flush = |group: &mut Vec<CharacteristicRecord>| -> Result<(), StoreError> {
        let Some(first) = group.first() else {
            return Ok(());
        };
        let model_id = first.model_id.clone();
        let date = date_text(first.calculation_date);
        let split = compact::split(group).map_err(StoreError::Invalid)?;
        write_bins(conn, &model_id, &date, Some(&split))?;
        group.clear();
        Ok(())
    };
    while let Some(row) = rows.next().map_err(|e| step(map_err(e)))? {
        let record = characteristic_from_row(row).map_err(step)?;
        if group.first().is_some_and(|g| {
            g.model_id != record.model_id || g.calculation_date != record.calculation_date
        }) {
            flush(&mut group).map_err(step)?;
        }
        group.push(record);
    }
    flush(&mut group).map_err(step)?;
    drop(rows);
    drop(stmt);
    conn.execute_batch("DROP TABLE PCI_CSI_CHARACTERISTICS;")
        .map_err(|e| step(map_err(e)))
}
const RUNS: &str = "PCI_CSI_RUNS";
const AUDIT: &str = "PCI_CSI_AUDIT";

const RESULT_COLS: &str =
    "r.model_id, r.value_stream, r.calculation_date, r.psi_score, r.csi_score, r.execution_time";

fn result_from_row(row: &Row<'_>) -> Result<ResultRecord, StoreError> {
    Ok(ResultRecord {
        model_id: get(row, 0, RESULTS, "model_id")?,
        value_stream: get(row, 1, RESULTS, "value_stream")?,
        calculation_date: get_date(row, 2, RESULTS, "calculation_date")?,
        psi_score: get(row, 3, RESULTS, "psi_score")?,
        csi_score: get(row, 4, RESULTS, "csi_score")?,
        execution_time: get_ts(row, 5, RESULTS, "execution_time")?,
    })
}

const RUN_COLS: &str = "r.run_id, r.attempt, r.max_attempts, r.model_id, r.value_stream, \
     r.calculation_date, r.action, r.status, r.error, r.started_at, r.finished_at, \
     r.benchmark_version, r.rows_benchmark, r.rows_current, r.triggered_by, r.log_path";

fn run_from_row(row: &Row<'_>) -> Result<RunRecord, StoreError> {
    let action: String = get(row, 6, RUNS, "action")?;
    let status: String = get(row, 7, RUNS, "status")?;
    Ok(RunRecord {
        run_id: get(row, 0, RUNS, "run_id")?,
        attempt: get_u32(row, 1, RUNS, "attempt")?,
        max_attempts: get_u32(row, 2, RUNS, "max_attempts")?,
        model_id: get(row, 3, RUNS, "model_id")?,
        value_stream: get(row, 4, RUNS, "value_stream")?,
        calculation_date: get_date(row, 5, RUNS, "calculation_date")?,
        action: action
            .parse::<RunAction>()
            .map_err(|e| corrupt(RUNS, "action", e))?,
        status: status
            .parse::<RunStatus>()
            .map_err(|e| corrupt(RUNS, "status", e))?,
        error: get(row, 8, RUNS, "error")?,
        started_at: get_ts(row, 9, RUNS, "started_at")?,
        finished_at: get_opt_ts(row, 10, RUNS, "finished_at")?,
        benchmark_version: get(row, 11, RUNS, "benchmark_version")?,
        rows_benchmark: get_opt_u64(row, 12, RUNS, "rows_benchmark")?,
        rows_current: get_opt_u64(row, 13, RUNS, "rows_current")?,
        triggered_by: get(row, 14, RUNS, "triggered_by")?,
        log_path: get(row, 15, RUNS, "log_path")?,
    })
}

fn characteristic_from_row(row: &Row<'_>) -> Result<CharacteristicRecord, StoreError> {
    let role: String = get(row, 3, CHARS, "role")?;
    let role = match role.as_str() {
        "score" => ColumnRole::Score,
        "characteristic" => ColumnRole::Characteristic,
        other => return Err(corrupt(CHARS, "role", format!("unknown role {other:?}"))),
    };
    let bins_json: String = get(row, 6, CHARS, "bins_json")?;
    let bins: Vec<BinStat> =
        serde_json::from_str(&bins_json).map_err(|e| corrupt(CHARS, "bins_json", e.to_string()))?;
    Ok(CharacteristicRecord {
        model_id: get(row, 0, CHARS, "model_id")?,
        calculation_date: get_date(row, 1, CHARS, "calculation_date")?,
        characteristic: get(row, 2, CHARS, "characteristic")?,
        role,
        kind: get(row, 4, CHARS, "kind")?,
        index_value: get(row, 5, CHARS, "index_value")?,
        bins,
    })
}

fn audit_from_row(row: &Row<'_>) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        at: get_ts(row, 0, AUDIT, "at")?,
        user: get(row, 1, AUDIT, "user")?,
        role: get(row, 2, AUDIT, "role")?,
        action: get(row, 3, AUDIT, "action")?,
        target: get(row, 4, AUDIT, "target")?,
        outcome: get(row, 5, AUDIT, "outcome")?,
    })
}

/// Runs a prepared query and decodes every row with `decode`.
fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
    let mut rows = stmt.query(params).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_err)? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// The newest attempt of every model (loose index scan over `PCI_CSI_RUNS_BY_MODEL`), ordered
/// by value stream, model.
static LATEST_RUNS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH RECURSIVE m(id) AS ( \
           SELECT MIN(model_id) FROM PCI_CSI_RUNS \
           UNION ALL \
           SELECT (SELECT MIN(model_id) FROM PCI_CSI_RUNS WHERE model_id > m.id) \
           FROM m WHERE m.id IS NOT NULL) \
         SELECT {RUN_COLS} FROM m JOIN PCI_CSI_RUNS r ON r.rowid = \
           (SELECT rowid FROM PCI_CSI_RUNS WHERE model_id = m.id \
            ORDER BY started_at DESC, attempt DESC, run_id DESC LIMIT 1) \
         ORDER BY r.value_stream, r.model_id"
    )
});

/// A list of model ids as a JSON array, for `json_each` (one bound parameter, any length).
fn ids_json(models: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(models)
        .map_err(|e| StoreError::Invalid(format!("model ids as JSON: {e}")))
}

fn limit_sql(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Lower and upper text bounds of an optional date range (open ends become sentinels).
fn date_bounds(from: Option<NaiveDate>, to: Option<NaiveDate>) -> (String, String) {
    (
        from.map_or_else(|| "0000-01-01".to_string(), date_text),
        to.map_or_else(|| "9999-12-31".to_string(), date_text),
    )
}

impl SqliteStore {
    /// Opens (creating if needed) the results database at `path` with default options, enables
    /// WAL and foreign keys and migrates the schema to [`SCHEMA_VERSION`].
    ///
    /// # Errors
    /// - [`StoreError::Open`] naming `path` when its directory is missing, the file is not a
    ///   SQLite database or cannot be opened;
    /// - [`StoreError::SchemaTooNew`] when the file was written by a newer driftdeck;
    /// - [`StoreError::Busy`] when a migration cannot get the write lock within the timeout.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// Opens an existing database without writing (console in read-only mode, `status`).
    ///
    /// # Errors
    /// [`StoreError::Open`] when the file does not exist, is not a database or has a schema
    /// older than [`SCHEMA_VERSION`] (open it read-write once to migrate);
    /// [`StoreError::SchemaTooNew`] as in [`SqliteStore::open`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(
            path,
            &SqliteOptions {
                read_only: true,
                ..SqliteOptions::default()
            },
        )
    }

    /// Opens with explicit [`SqliteOptions`] (busy timeout, read-only). Errors as in
    /// [`SqliteStore::open`] and [`SqliteStore::open_read_only`].
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(open_err(
                path,
                format!("directory {} does not exist", dir.display()),
            ));
        }
        if options.read_only && !path.is_file() {
            return Err(open_err(path, "file does not exist"));
        }
        let flags = if options.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| open_err(path, e.to_string()))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| open_err(path, e.to_string()))?;
        // Reading the version is the first real access: it fails for a file that is not a
        // database, which belongs to `Open`.
        let version = user_version(&conn).map_err(|e| match e {
            StoreError::Busy(m) => StoreError::Busy(m),
            other => open_err(path, other.to_string()),
        })?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if options.read_only {
            if version < SCHEMA_VERSION {
                return Err(open_err(
                    path,
                    format!(
                        "schema version {version} is older than {SCHEMA_VERSION}; open it \
                         read-write once (any driftdeck run) to migrate"
                    ),
                ));
            }
        } else {
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(map_err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(path = %path.display(), mode, "SQLite did not switch to WAL");
            }
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(map_err)?;
        }
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(map_err)?;
        let mut store = Self {
            path: path.to_path_buf(),
            read_only: options.read_only,
            conn: Mutex::new(conn),
        };
        if !options.read_only && version < SCHEMA_VERSION {
            store.migrate()?;
        }
        Ok(store)
    }

    /// Applies pending migrations, one immediate transaction per step.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let conn = self
            .conn
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            // Re-read under the write lock: another process may have migrated meanwhile.
            let version = user_version(&tx)?;
            if version > SCHEMA_VERSION {
                return Err(StoreError::SchemaTooNew {
                    found: version,
                    supported: SCHEMA_VERSION,
                });
            }
            if version >= SCHEMA_VERSION {
                return Ok(());
            }
            let step = usize::try_from(version).unwrap_or(usize::MAX);
            let sql = |sql: &str| {
                tx.execute_batch(sql).map_err(|e| {
                    StoreError::Backend(format!("migration to schema version {}: {e}", version + 1))
                })
            };
            match MIGRATIONS.get(step) {
                Some(s) => sql(s)?,
                None if step == MIGRATIONS.len() => migrate_to_compact(&tx)?,
                None if step == MIGRATIONS.len() + 1 => sql(LEASE_MIGRATION)?,
                None if step == MIGRATIONS.len() + 2 => sql(FINDINGS_TABLE)?,
                None => sql(HISTORY_TABLE)?,
            }
            tx.pragma_update(None, "user_version", version + 1)
                .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            tracing::info!(path = %self.path.display(), version = version + 1, "migrated results store");
        }
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when opened with [`SqliteStore::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The schema version stored in the file (`PRAGMA user_version`).
    ///
    /// # Errors
    /// [`StoreError::Busy`] / [`StoreError::Backend`] from SQLite.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        user_version(&self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: an open transaction
        // was rolled back when its guard dropped.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `record_attempt` with an optional lease (`None` leaves `lease_until` NULL).
    fn upsert_attempt(&self, run: &RunRecord, lease: Option<String>) -> Result<(), StoreError> {
        let rows_benchmark = opt_u64_sql(run.rows_benchmark, "rows_benchmark")?;
        let rows_current = opt_u64_sql(run.rows_current, "rows_current")?;
        let conn = self.write_guard()?;
        conn.prepare_cached(
            "INSERT INTO PCI_CSI_RUNS (run_id, attempt, max_attempts, model_id, value_stream, \
             calculation_date, action, status, error, started_at, finished_at, \
             benchmark_version, rows_benchmark, rows_current, triggered_by, log_path, lease_until) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
             ON CONFLICT (run_id, attempt) DO UPDATE SET \
             max_attempts = excluded.max_attempts, model_id = excluded.model_id, \
             value_stream = excluded.value_stream, calculation_date = excluded.calculation_date, \
             action = excluded.action, status = excluded.status, error = excluded.error, \
             started_at = excluded.started_at, finished_at = excluded.finished_at, \
             benchmark_version = excluded.benchmark_version, \
             rows_benchmark = excluded.rows_benchmark, rows_current = excluded.rows_current, \
             triggered_by = excluded.triggered_by, log_path = excluded.log_path, \
             lease_until = excluded.lease_until",
        )
        .and_then(|mut s| {
            s.execute(rusqlite::params![
                run.run_id,
                run.attempt,
                run.max_attempts,
                run.model_id,
                run.value_stream,
                date_text(run.calculation_date),
                run.action.as_str(),
                run.status.as_str(),
                run.error,
                ts_text(&run.started_at),
                run.finished_at.as_ref().map(ts_text),
                run.benchmark_version,
                rows_benchmark,
                rows_current,
                run.triggered_by,
                run.log_path,
                lease,
            ])
        })
        .map(|_| ())
        .map_err(map_err)
    }

    fn write_guard(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        if self.read_only {
            return Err(StoreError::Backend(format!(
                "results store {} is open read-only",
                self.path.display()
            )));
        }
        Ok(self.lock())
    }
}

fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(map_err)
}

impl ResultsStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn save_result_of_run(
        &self,
        result: &ResultRecord,
        characteristics: &[CharacteristicRecord],
        run_id: Option<&str>,
    ) -> Result<(), StoreError> {
        validate_result(result, characteristics)?;
        let date = result.calculation_date;
        let split = if characteristics.is_empty() {
            None
        } else {
            Some(compact::split(characteristics).map_err(|e| {
                StoreError::Invalid(format!(
                    "characteristics of {} {date}: {e}",
                    result.model_id
                ))
            })?)
        };
        let date_s = date_text(date);
        let mut conn = self.write_guard()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(map_err)?;
        let new_worst = split
            .as_ref()
            .and_then(|s| s.worst.as_ref())
            .map(|(n, _)| n.as_str());
        keep_replaced(&tx, result, new_worst, run_id)?;
        tx.prepare_cached(
            "INSERT INTO PCI_CSI_RESULTS (model_id, value_stream, calculation_date, psi_score, \
             csi_score, execution_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (model_id, calculation_date) DO UPDATE SET \
             value_stream = excluded.value_stream, psi_score = excluded.psi_score, \
             csi_score = excluded.csi_score, execution_time = excluded.execution_time",
        )
        .and_then(|mut s| {
            s.execute(rusqlite::params![
                result.model_id,
                result.value_stream,
                date_s,
                result.psi_score,
                result.csi_score,
                ts_text(&result.execution_time),
            ])
        })
        .map_err(map_err)?;
        write_bins(&tx, &result.model_id, &date_s, split.as_ref())?;
        tx.commit().map_err(map_err)
    }

    fn record_attempt(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.upsert_attempt(run, None)
    }

    fn result_history(
        &self,
        model_id: &str,
        calculation_date: NaiveDate,
    ) -> Result<Vec<super::ReplacedResult>, StoreError> {
        query_all(
            &self.lock(),
            &format!(
                "SELECT {HISTORY_COLS} FROM PCI_CSI_RESULTS_HISTORY h \
                 WHERE h.model_id = ?1 AND h.calculation_date = ?2 \
                 ORDER BY h.valid_to, h.valid_from, h.seq"
            ),
            rusqlite::params![model_id, date_text(calculation_date)],
            replaced_from_row,
        )
    }

    fn recomputed(
        &self,
        models: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<super::ReplacedResult>, StoreError> {
        if models.is_empty() || from > to {
            return Ok(Vec::new());
        }
        query_all(
            &self.lock(),
            &format!(
                "SELECT {HISTORY_COLS} FROM PCI_CSI_RESULTS_HISTORY h \
                 WHERE h.model_id IN (SELECT value FROM json_each(?1)) \
                 AND h.calculation_date >= ?2 AND h.calculation_date <= ?3 \
                 ORDER BY h.model_id, h.calculation_date, h.valid_to, h.valid_from, h.seq"
            ),
            rusqlite::params![ids_json(models)?, date_text(from), date_text(to)],
            replaced_from_row,
        )
    }

    fn record_attempt_leased(
        &self,
        run: &RunRecord,
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let lease = (!run.status.is_final()).then(|| ts_text(&lease_until));
        self.upsert_attempt(run, lease)
    }

    fn renew_lease(
        &self,
        run_id: &str,
        attempt: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let conn = self.write_guard()?;
        conn.prepare_cached(
            "UPDATE PCI_CSI_RUNS SET lease_until = ?3 WHERE run_id = ?1 AND attempt = ?2 \
             AND status IN ('queued', 'running', 'retrying')",
        )
        .and_then(|mut s| s.execute(rusqlite::params![run_id, attempt, ts_text(&lease_until)]))
        .map(|_| ())
        .map_err(map_err)
    }

    fn reap_expired(
        &self,
        now: DateTime<Utc>,
        unleased_grace: Duration,
    ) -> Result<usize, StoreError> {
        let grace = chrono::Duration::from_std(unleased_grace).unwrap_or(chrono::Duration::MAX);
        let unleased_before = now.checked_sub_signed(grace).unwrap_or(now);
        let conn = self.write_guard()?;
        conn.prepare_cached(
            "UPDATE PCI_CSI_RUNS SET status = 'lost', \
             finished_at = COALESCE(lease_until, ?1), \
             error = 'lost: the job stopped renewing its lease' || \
               COALESCE(' (expired ' || lease_until || ')', ' (never leased; started ' || started_at || ')') || \
               '; it was killed (SIGKILL, out of memory, pod or node lost)' || \
               COALESCE('; last error: ' || error, ''), \
             lease_until = NULL \
             WHERE status IN ('queued', 'running', 'retrying') \
             AND ((lease_until IS NOT NULL AND lease_until < ?1) \
                  OR (lease_until IS NULL AND started_at < ?2))",
        )
        .and_then(|mut s| s.execute(rusqlite::params![ts_text(&now), ts_text(&unleased_before)]))
        .map_err(map_err)
    }

    fn latest_results(&self) -> Result<Vec<ResultRecord>, StoreError> {
        // Loose index scan over the primary key: one seek per model for the next model id and
        // one for its newest date, instead of scanning every (model, date) row.
        let sql = format!(
            "WITH RECURSIVE m(id) AS ( \
               SELECT MIN(model_id) FROM PCI_CSI_RESULTS \
               UNION ALL \
               SELECT (SELECT MIN(model_id) FROM PCI_CSI_RESULTS WHERE model_id > m.id) \
               FROM m WHERE m.id IS NOT NULL) \
             SELECT {RESULT_COLS} FROM m JOIN PCI_CSI_RESULTS r \
               ON r.model_id = m.id AND r.calculation_date = \
                  (SELECT MAX(calculation_date) FROM PCI_CSI_RESULTS WHERE model_id = m.id) \
             ORDER BY r.value_stream, r.model_id"
        );
        query_all(&self.lock(), &sql, [], result_from_row)
    }

    fn history(
        &self,
        model_id: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ResultRecord>, StoreError> {
        let (lo, hi) = date_bounds(from, to);
        let sql = format!(
            "SELECT {RESULT_COLS} FROM PCI_CSI_RESULTS r WHERE r.model_id = ?1 \
             AND r.calculation_date >= ?2 AND r.calculation_date <= ?3 \
             ORDER BY r.calculation_date"
        );
        query_all(
            &self.lock(),
            &sql,
            rusqlite::params![model_id, lo, hi],
            result_from_row,
        )
    }

    fn trends(
        &self,
        models: Option<&[String]>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ResultRecord>, StoreError> {
        let (lo, hi) = date_bounds(from, to);
        match models {
            // One ordered pass over the clustered primary key (model, date) with the date
            // filter: no sort, and for the console's 90-365 day windows cheaper than a date
            // index plus a sort (measured on 1,000 models x 365 days). The `+` keeps the
            // planner off any date index.
            None => query_all(
                &self.lock(),
                &format!(
                    "SELECT {RESULT_COLS} FROM PCI_CSI_RESULTS r \
                     WHERE +r.calculation_date >= ?1 AND +r.calculation_date <= ?2 \
                     ORDER BY r.model_id, r.calculation_date"
                ),
                rusqlite::params![lo, hi],
                result_from_row,
            ),
            // Selected models: one range seek per model on the primary key.
            Some(models) => query_all(
                &self.lock(),
                &format!(
                    "SELECT {RESULT_COLS} FROM PCI_CSI_RESULTS r \
                     WHERE r.model_id IN (SELECT value FROM json_each(?1)) \
                     AND r.calculation_date >= ?2 AND r.calculation_date <= ?3 \
                     ORDER BY r.model_id, r.calculation_date"
                ),
                rusqlite::params![ids_json(models)?, lo, hi],
                result_from_row,
            ),
        }
    }

    fn overview(&self) -> Result<Vec<ModelOverview>, StoreError> {
        // Latest result per model by a loose index scan over the primary key (one seek per
        // model, independent of the history length), its worst characteristic by a seek into
        // the characteristics of that one date, and the newest attempt per model through
        // the runs index; both statements in one read transaction (one snapshot).
        let sql = format!(
            "WITH RECURSIVE m(id) AS ( \
               SELECT MIN(model_id) FROM PCI_CSI_RESULTS \
               UNION ALL \
               SELECT (SELECT MIN(model_id) FROM PCI_CSI_RESULTS WHERE model_id > m.id) \
               FROM m WHERE m.id IS NOT NULL) \
             SELECT {RESULT_COLS}, b.worst_characteristic, b.worst_csi \
             FROM m JOIN PCI_CSI_RESULTS r \
               ON r.model_id = m.id AND r.calculation_date = \
                  (SELECT MAX(calculation_date) FROM PCI_CSI_RESULTS WHERE model_id = m.id) \
             LEFT JOIN PCI_CSI_DAILY_BINS b ON b.model_id = r.model_id \
               AND b.calculation_date = r.calculation_date"
        );
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(map_err)?;
        let latest = query_all(&tx, &sql, [], |row| {
            let result = result_from_row(row)?;
            let name: Option<String> = get(row, 6, BINS, "worst_characteristic")?;
            let csi: Option<f64> = get(row, 7, BINS, "worst_csi")?;
            let worst = match (name, csi) {
                (Some(characteristic), Some(csi)) => Some(WorstCharacteristic {
                    characteristic,
                    csi,
                }),
                _ => None,
            };
            Ok((result, worst))
        })?;
        let runs = query_all(&tx, LATEST_RUNS_SQL.as_str(), [], run_from_row)?;
        tx.finish().map_err(map_err)?;
        Ok(merge_overview(latest, runs))
    }

    fn date_status(
        &self,
        models: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DateStatus>, StoreError> {
        let sql = "WITH sel(id) AS (SELECT value FROM json_each(?1)), \
             res AS (SELECT model_id, calculation_date FROM PCI_CSI_RESULTS \
               WHERE model_id IN sel AND calculation_date >= ?2 AND calculation_date <= ?3), \
             att AS (SELECT model_id, calculation_date, status, ROW_NUMBER() OVER ( \
                 PARTITION BY model_id, calculation_date \
                 ORDER BY started_at DESC, attempt DESC, run_id DESC) AS n \
               FROM PCI_CSI_RUNS \
               WHERE model_id IN sel AND calculation_date >= ?2 AND calculation_date <= ?3), \
             k AS (SELECT model_id, calculation_date FROM res \
               UNION SELECT model_id, calculation_date FROM att) \
             SELECT k.model_id, k.calculation_date, \
               EXISTS (SELECT 1 FROM res WHERE res.model_id = k.model_id \
                 AND res.calculation_date = k.calculation_date), \
               (SELECT status FROM att WHERE att.model_id = k.model_id \
                 AND att.calculation_date = k.calculation_date AND att.n = 1) \
             FROM k ORDER BY k.model_id, k.calculation_date";
        query_all(
            &self.lock(),
            sql,
            rusqlite::params![ids_json(models)?, date_text(from), date_text(to)],
            |row| {
                let status: Option<String> = get(row, 3, RUNS, "status")?;
                Ok(DateStatus {
                    model_id: get(row, 0, RESULTS, "model_id")?,
                    calculation_date: get_date(row, 1, RESULTS, "calculation_date")?,
                    has_result: get(row, 2, RESULTS, "calculation_date")?,
                    run_status: status
                        .map(|s| s.parse::<RunStatus>())
                        .transpose()
                        .map_err(|e| corrupt(RUNS, "status", e))?,
                })
            },
        )
    }

    fn characteristics(
        &self,
        model_id: &str,
        calculation_date: NaiveDate,
    ) -> Result<Vec<CharacteristicRecord>, StoreError> {
        let row = self
            .lock()
            .prepare_cached(
                "SELECT p.columns_json, b.actual FROM PCI_CSI_DAILY_BINS b \
                 JOIN PCI_CSI_PROFILES p ON p.profile_id = b.profile_id \
                 WHERE b.model_id = ?1 AND b.calculation_date = ?2",
            )
            .and_then(|mut s| {
                s.query_row(
                    rusqlite::params![model_id, date_text(calculation_date)],
                    |r| Ok((r.get::<_, String>(0), r.get::<_, Vec<u8>>(1))),
                )
                .optional()
            })
            .map_err(map_err)?;
        let Some((profile, payload)) = row else {
            return Ok(Vec::new());
        };
        let profile = profile.map_err(|e| corrupt(PROFILES, "columns_json", e.to_string()))?;
        let payload = payload.map_err(|e| corrupt(BINS, "actual", e.to_string()))?;
        let mut rows =
            compact::join(model_id, calculation_date, &profile, &payload).map_err(|e| {
                corrupt(
                    BINS,
                    "actual",
                    format!("{model_id} {calculation_date}: {e}"),
                )
            })?;
        rows.sort_by(|a, b| {
            let ra = u8::from(a.role != ColumnRole::Score);
            let rb = u8::from(b.role != ColumnRole::Score);
            ra.cmp(&rb)
                .then(b.index_value.total_cmp(&a.index_value))
                .then_with(|| a.characteristic.cmp(&b.characteristic))
        });
        Ok(rows)
    }

    fn runs(&self, model_id: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let conn = self.lock();
        match model_id {
            Some(model_id) => query_all(
                &conn,
                &format!(
                    "SELECT {RUN_COLS} FROM PCI_CSI_RUNS r WHERE r.model_id = ?1 \
                     ORDER BY r.started_at DESC, r.attempt DESC, r.run_id DESC LIMIT ?2"
                ),
                rusqlite::params![model_id, limit_sql(limit)],
                run_from_row,
            ),
            None => query_all(
                &conn,
                &format!(
                    "SELECT {RUN_COLS} FROM PCI_CSI_RUNS r \
                     ORDER BY r.started_at DESC, r.attempt DESC, r.run_id DESC LIMIT ?1"
                ),
                rusqlite::params![limit_sql(limit)],
                run_from_row,
            ),
        }
    }

    fn latest_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        query_all(&self.lock(), LATEST_RUNS_SQL.as_str(), [], run_from_row)
    }

    fn record_findings(
        &self,
        run_id: &str,
        attempt: u32,
        findings: &[crate::quality::Finding],
    ) -> Result<(), StoreError> {
        let mut conn = self.write_guard()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(map_err)?;
        tx.prepare_cached("DELETE FROM PCI_CSI_FINDINGS WHERE run_id = ?1 AND attempt = ?2")
            .and_then(|mut s| s.execute(rusqlite::params![run_id, attempt]))
            .map_err(map_err)?;
        for (seq, f) in findings.iter().enumerate() {
            let finite = |v: f64| v.is_finite().then_some(v);
            tx.prepare_cached(
                "INSERT INTO PCI_CSI_FINDINGS (run_id, attempt, seq, check_name, column_name, \
                 observed, limit_value, severity, message) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(rusqlite::params![
                    run_id,
                    attempt,
                    seq as i64,
                    f.check.as_str(),
                    f.column,
                    finite(f.observed),
                    finite(f.limit),
                    f.severity.as_str(),
                    f.message,
                ])
            })
            .map_err(map_err)?;
        }
        tx.commit().map_err(map_err)
    }

    fn findings(&self, run_ids: &[String]) -> Result<Vec<super::FindingRecord>, StoreError> {
        if run_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(run_ids)
            .map_err(|e| StoreError::Invalid(format!("run ids: {e}")))?;
        query_all(
            &self.lock(),
            "SELECT run_id, attempt, check_name, column_name, observed, limit_value, severity, \
             message FROM PCI_CSI_FINDINGS \
             WHERE run_id IN (SELECT value FROM json_each(?1)) \
             ORDER BY run_id, attempt, seq",
            rusqlite::params![ids],
            decode_finding,
        )
    }

    fn append_audit(&self, entry: &AuditRecord) -> Result<(), StoreError> {
        let conn = self.write_guard()?;
        conn.prepare_cached(
            "INSERT INTO PCI_CSI_AUDIT (at, user, role, action, target, outcome) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut s| {
            s.execute(rusqlite::params![
                ts_text(&entry.at),
                entry.user,
                entry.role,
                entry.action,
                entry.target,
                entry.outcome,
            ])
        })
        .map(|_| ())
        .map_err(map_err)
    }

    fn audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        query_all(
            &self.lock(),
            "SELECT at, user, role, action, target, outcome FROM PCI_CSI_AUDIT \
             ORDER BY id DESC LIMIT ?1",
            rusqlite::params![limit_sql(limit)],
            audit_from_row,
        )
    }
}

impl SqliteStore {
    /// True when `PCI_CSI_RESULTS` holds a row for (`model_id`, `calculation_date`); for
    /// `backfill --only-missing`.
    ///
    /// # Errors
    /// [`StoreError::Busy`] / [`StoreError::Backend`] from SQLite.
    pub fn has_result(
        &self,
        model_id: &str,
        calculation_date: NaiveDate,
    ) -> Result<bool, StoreError> {
        self.lock()
            .query_row(
                "SELECT 1 FROM PCI_CSI_RESULTS WHERE model_id = ?1 AND calculation_date = ?2",
                rusqlite::params![model_id, date_text(calculation_date)],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(map_err)
    }
}
