//! [`SnowflakeStore`]: the results store on Snowflake, with the compact schema and a local
//! pending queue.
//!
//! # Tables (schema version [`SCHEMA_VERSION`], kept in `DRIFTDECK_SCHEMA`)
//! - v1 `PCI_CSI_RESULTS (model_id, value_stream, calculation_date, psi_score, csi_score,
//!   execution_time)`: the seed job's table, key `(model_id, calculation_date)`;
//! - v2 `PCI_CSI_RUNS` (one row per attempt, key `(run_id, attempt)`) and `PCI_CSI_AUDIT`
//!   (key `seq`, the pending queue's sequence number, which is also the insertion order);
//! - v3 the compact characteristics ([`crate::store::compact`]): `PCI_CSI_PROFILES (model_id,
//!   profile_sha, columns_json)` once per model and benchmark profile version, and
//!   `PCI_CSI_DAILY_BINS (model_id, calculation_date, profile_sha, worst_characteristic,
//!   worst_csi, actual)` with the day's payload as hex text.
//! - v4 `PCI_CSI_FINDINGS (run_id, attempt, seq, check_name, column_name, observed, limit_value,
//!   severity, message)`: the data-quality findings of an attempt, key `(run_id, attempt, seq)`.
//! - v5 `PCI_CSI_RESULTS_HISTORY (model_id, value_stream, calculation_date, psi_score,
//!   csi_score, worst_characteristic, worst_csi, valid_from, valid_to, superseded_by_run)`: the
//!   results a rerun replaced with different values (SCD type 2, [`crate::store::ReplacedResult`]).
//!
//! Snowflake does not enforce keys: every write is a `MERGE` on the key, so reruns replace.
//!
//! # Writes: queue first, then one MERGE per table per batch
//! A write is validated, then queued in the local SQLite pending queue ([`super::outbox`]) and
//! returns. The queue is sent when it holds `batch_rows` items, before every read (so a process
//! reads its own writes), on [`SnowflakeStore::sync`] (`driftdeck sync`) and when the store is
//! dropped. Sending is: `INSERT` into the results history the stored results this batch replaces
//! with different values (skipping a version already kept, so a resent batch adds nothing),
//! `MERGE` profiles, `MERGE` daily bins, `MERGE` results, `MERGE` runs,
//! `MERGE` audit, each statement carrying up to [`ROWS_PER_STATEMENT`] rows; items leave the queue
//! only after all were accepted. If Snowflake is unreachable the items stay queued, a warning is
//! logged and the write still succeeds: no result is lost, and none is duplicated (MERGE).
//!
//! Times are `TIMESTAMP_NTZ(9)` holding UTC.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::client::SnowflakeClient;
use super::decode::{self, RowRef, Rows};
use super::outbox::{ItemKind, Outbox};
use super::settings::SnowflakeSettings;
use super::{SnowflakeError, sql};
use crate::domain::{RunAction, RunStatus};
use crate::store::{
    AuditRecord, CharacteristicRecord, ColumnRole, DateStatus, ModelOverview, ResultRecord,
    ResultsStore, RunRecord, StoreError, WorstCharacteristic, compact, validate_result,
};

/// Schema version this binary writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Rows per `MERGE` statement (statement text also stays under [`MAX_STATEMENT_BYTES`]).
pub const ROWS_PER_STATEMENT: usize = 1000;

/// Largest statement text sent (Snowflake accepts 1 MB).
pub const MAX_STATEMENT_BYTES: usize = 512 * 1024;

/// Most rows a read returns before it is refused as unbounded.
pub const MAX_READ_ROWS: usize = 2_000_000;

/// Migration steps; step `i` (0-based) brings the schema from version `i` to `i + 1`. Every
/// statement is idempotent, so two processes migrating at once do no harm.
const MIGRATIONS: [&[&str]; 5] = [
    &["CREATE TABLE IF NOT EXISTS PCI_CSI_RESULTS (
        model_id         VARCHAR NOT NULL,
        value_stream     VARCHAR NOT NULL,
        calculation_date DATE NOT NULL,
        psi_score        FLOAT,
        csi_score        FLOAT,
        execution_time   TIMESTAMP_NTZ(9),
        PRIMARY KEY (model_id, calculation_date))"],
    &[
        "CREATE TABLE IF NOT EXISTS PCI_CSI_RUNS (
        run_id            VARCHAR NOT NULL,
        attempt           INTEGER NOT NULL,
        max_attempts      INTEGER NOT NULL,
        model_id          VARCHAR NOT NULL,
        value_stream      VARCHAR NOT NULL,
        calculation_date  DATE NOT NULL,
        action            VARCHAR NOT NULL,
        status            VARCHAR NOT NULL,
        error             VARCHAR,
        started_at        TIMESTAMP_NTZ(9) NOT NULL,
        finished_at       TIMESTAMP_NTZ(9),
        benchmark_version VARCHAR,
        rows_benchmark    INTEGER,
        rows_current      INTEGER,
        triggered_by      VARCHAR NOT NULL,
        log_path          VARCHAR,
        PRIMARY KEY (run_id, attempt))",
        "CREATE TABLE IF NOT EXISTS PCI_CSI_AUDIT (
        seq       INTEGER NOT NULL,
        logged_at TIMESTAMP_NTZ(9) NOT NULL,
        user_name VARCHAR NOT NULL,
        role      VARCHAR NOT NULL,
        action    VARCHAR NOT NULL,
        target    VARCHAR NOT NULL,
        outcome   VARCHAR NOT NULL,
        PRIMARY KEY (seq))",
    ],
    &[
        "CREATE TABLE IF NOT EXISTS PCI_CSI_PROFILES (
        model_id     VARCHAR NOT NULL,
        profile_sha  VARCHAR NOT NULL,
        columns_json VARCHAR NOT NULL,
        PRIMARY KEY (model_id, profile_sha))",
        "CREATE TABLE IF NOT EXISTS PCI_CSI_DAILY_BINS (
        model_id             VARCHAR NOT NULL,
        calculation_date     DATE NOT NULL,
        profile_sha          VARCHAR NOT NULL,
        worst_characteristic VARCHAR,
        worst_csi            FLOAT,
        actual               VARCHAR NOT NULL,
        PRIMARY KEY (model_id, calculation_date))",
    ],
    &["CREATE TABLE IF NOT EXISTS PCI_CSI_FINDINGS (
        run_id      VARCHAR NOT NULL,
        attempt     INTEGER NOT NULL,
        seq         INTEGER NOT NULL,
        check_name  VARCHAR NOT NULL,
        column_name VARCHAR,
        observed    FLOAT,
        limit_value FLOAT,
        severity    VARCHAR NOT NULL,
        message     VARCHAR NOT NULL,
        PRIMARY KEY (run_id, attempt, seq))"],
    &["CREATE TABLE IF NOT EXISTS PCI_CSI_RESULTS_HISTORY (
        model_id             VARCHAR NOT NULL,
        value_stream         VARCHAR NOT NULL,
        calculation_date     DATE NOT NULL,
        psi_score            FLOAT,
        csi_score            FLOAT,
        worst_characteristic VARCHAR,
        worst_csi            FLOAT,
        valid_from           TIMESTAMP_NTZ(9) NOT NULL,
        valid_to             TIMESTAMP_NTZ(9) NOT NULL,
        superseded_by_run    VARCHAR)"],
];

/// A result and its characteristics as queued.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueuedResult {
    /// The `PCI_CSI_RESULTS` row.
    pub result: ResultRecord,
    /// Its characteristic rows (score included).
    pub characteristics: Vec<CharacteristicRecord>,
    /// Run id of the attempt that wrote it (the history's `superseded_by_run`); absent in
    /// items queued by older binaries.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The first version of this (model, date) queued since the last send, when this item
    /// replaced it in the queue: the version that replaces the row stored in Snowflake.
    #[serde(default)]
    pub first: Option<FirstQueued>,
    /// Versions of this (model, date) replaced with different values while still queued
    /// (never in Snowflake), oldest first: written to the results history when sent.
    #[serde(default)]
    pub replaced: Vec<crate::store::ReplacedResult>,
}

/// The values of the first queued version of a result (see [`QueuedResult::first`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FirstQueued {
    /// Its PSI.
    pub psi_score: f64,
    /// Its largest CSI.
    pub csi_score: f64,
    /// Its worst characteristic.
    pub worst: Option<String>,
    /// Its `execution_time` (the `valid_to` of the stored row it replaces).
    pub execution_time: chrono::DateTime<chrono::Utc>,
    /// The run that wrote it.
    pub run_id: Option<String>,
}

fn worst_of_queued(q: &QueuedResult) -> Option<WorstCharacteristic> {
    compact::split(&q.characteristics)
        .ok()
        .and_then(|s| s.worst)
        .map(|(characteristic, csi)| WorstCharacteristic {
            characteristic,
            csi,
        })
}

impl QueuedResult {
    /// This result queued over `old` (the same key, not yet sent): keeps `old`'s first version
    /// and replaced versions, and `old` itself as replaced when this one changes it.
    fn over(mut self, old: QueuedResult) -> Self {
        let old_worst = worst_of_queued(&old);
        let new_worst = worst_of_queued(&self);
        self.first = Some(old.first.clone().unwrap_or_else(|| FirstQueued {
            psi_score: old.result.psi_score,
            csi_score: old.result.csi_score,
            worst: old_worst.as_ref().map(|w| w.characteristic.clone()),
            execution_time: old.result.execution_time,
            run_id: old.run_id.clone(),
        }));
        self.replaced = old.replaced;
        if crate::store::result_changed(
            old.result.psi_score,
            old.result.csi_score,
            old_worst.as_ref().map(|w| w.characteristic.as_str()),
            &self.result,
            new_worst.as_ref().map(|w| w.characteristic.as_str()),
        ) {
            self.replaced.push(crate::store::ReplacedResult {
                model_id: old.result.model_id,
                value_stream: old.result.value_stream,
                calculation_date: old.result.calculation_date,
                psi_score: old.result.psi_score,
                csi_score: old.result.csi_score,
                worst: old_worst,
                valid_from: old.result.execution_time,
                valid_to: self.result.execution_time,
                superseded_by_run: self.run_id.clone(),
            });
        }
        self
    }
}

/// The data-quality findings of one attempt as queued.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueuedFindings {
    /// Run id of the attempt.
    pub run_id: String,
    /// Attempt number.
    pub attempt: u32,
    /// The findings, in recorded order (`seq` = index).
    pub findings: Vec<crate::quality::Finding>,
}

/// What one [`SnowflakeStore::sync`] sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Queued items sent and removed from the queue.
    pub sent: u64,
    /// Items still queued afterwards.
    pub remaining: u64,
}

/// The Snowflake results store. Thread-safe; see the module documentation.
#[derive(Debug)]
pub struct SnowflakeStore {
    client: std::sync::Arc<SnowflakeClient>,
    outbox: Outbox,
    batch_rows: u64,
    migrated: AtomicBool,
    /// Serialises sending, so two threads do not send the same items at once.
    flushing: Mutex<()>,
    /// The last send found Snowflake unreachable (Drop then does not wait for it again).
    unavailable: AtomicBool,
    /// After a failed send, automatic sends wait until then (a backfill while Snowflake is down
    /// does not pay a timeout per write); [`SnowflakeStore::sync`] always tries.
    quiet_until: Mutex<Option<Instant>>,
}

/// How long automatic sends pause after a failed one.
pub const SEND_COOLDOWN: Duration = Duration::from_secs(30);

fn store_err(e: SnowflakeError) -> StoreError {
    match e {
        SnowflakeError::Config(m) => StoreError::Open {
            path: "snowflake".into(),
            message: m,
        },
        e @ SnowflakeError::Auth { .. } => StoreError::Open {
            path: "snowflake".into(),
            message: e.to_string(),
        },
        other => StoreError::Backend(other.to_string()),
    }
}

fn corrupt(table: &'static str, column: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        message: message.into(),
    }
}

impl SnowflakeStore {
    /// Opens the store: builds the client (reads the secret) and opens the pending queue at
    /// `settings.pending_path` relative to `workspace`. No network traffic: a store opens while
    /// Snowflake is down, and its writes queue.
    ///
    /// # Errors
    /// [`StoreError::Open`] for bad settings, an unreadable secret or queue file.
    pub fn open(settings: &SnowflakeSettings, workspace: &Path) -> Result<Self, StoreError> {
        let client =
            std::sync::Arc::new(SnowflakeClient::new(settings, workspace).map_err(store_err)?);
        let outbox = Outbox::open(&workspace.join(&settings.pending_path))?;
        Ok(Self {
            client,
            outbox,
            batch_rows: settings.batch_rows.max(1),
            migrated: AtomicBool::new(false),
            flushing: Mutex::new(()),
            unavailable: AtomicBool::new(false),
            quiet_until: Mutex::new(None),
        })
    }

    /// The client (statement counters, settings).
    pub fn client(&self) -> &SnowflakeClient {
        &self.client
    }

    /// The client, shared: Snowflake query sources (current data, benchmark extracts) run on the
    /// store's session instead of logging in again.
    pub fn shared_client(&self) -> std::sync::Arc<SnowflakeClient> {
        std::sync::Arc::clone(&self.client)
    }

    /// Creates or upgrades the schema (`CREATE SCHEMA`/`TABLE ... IF NOT EXISTS`, version rows in
    /// `DRIFTDECK_SCHEMA`). Returns the version before and after.
    ///
    /// # Errors
    /// [`StoreError::SchemaTooNew`] when Snowflake holds a newer schema; backend errors.
    pub fn migrate(&self) -> Result<(i64, i64), StoreError> {
        let c = &self.client;
        let s = c.settings();
        let schema = format!(
            "{}.{}",
            sql::ident(&s.database).map_err(|e| store_err(e.into()))?,
            sql::ident(&s.schema).map_err(|e| store_err(e.into()))?
        );
        let run = |kind: &'static str, q: &str| c.execute(kind, q).map_err(store_err);
        // The database is normally created by an administrator; create it only when it is
        // missing (a role without the privilege then gets Snowflake's error, named).
        let shown = self.query(
            "SHOW DATABASES",
            &format!("SHOW DATABASES LIKE {}", lit(&s.database)?),
        )?;
        let name_col = shown
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case("name"))
            .unwrap_or(1);
        let exists = shown.iter("SHOW DATABASES").any(|r| {
            r.opt_text(name_col)
                .ok()
                .flatten()
                .is_some_and(|n| n.eq_ignore_ascii_case(&s.database))
        });
        if !exists {
            run(
                "CREATE DATABASE",
                &format!(
                    "CREATE DATABASE IF NOT EXISTS {}",
                    sql::ident(&s.database).map_err(|e| store_err(e.into()))?
                ),
            )?;
        }
        run(
            "CREATE SCHEMA",
            &format!("CREATE SCHEMA IF NOT EXISTS {schema}"),
        )?;
        run("USE SCHEMA", &format!("USE SCHEMA {schema}"))?;
        run(
            "CREATE TABLE DRIFTDECK_SCHEMA",
            "CREATE TABLE IF NOT EXISTS DRIFTDECK_SCHEMA (version INTEGER NOT NULL, \
             applied_at TIMESTAMP_NTZ(9) NOT NULL)",
        )?;
        let before = self.schema_version()?;
        if before > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: before,
                supported: SCHEMA_VERSION,
            });
        }
        for (i, step) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(before).unwrap_or(0))
        {
            for statement in *step {
                run("CREATE TABLE", statement)?;
            }
            run(
                "INSERT DRIFTDECK_SCHEMA",
                &format!(
                    "INSERT INTO DRIFTDECK_SCHEMA (version, applied_at) VALUES ({}, {})",
                    i + 1,
                    sql::timestamp(&chrono::Utc::now())
                ),
            )?;
        }
        self.migrated.store(true, Ordering::Release);
        Ok((before, SCHEMA_VERSION))
    }

    /// Reads the schema version without changing anything (doctor): 0 when never migrated.
    ///
    /// # Errors
    /// Snowflake unreachable, login rejected, or the schema table unreadable.
    pub fn check(&self) -> Result<i64, StoreError> {
        let s = self.client.settings();
        let q = format!(
            "SELECT COUNT(*) FROM {}.INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = {} \
             AND TABLE_NAME = 'DRIFTDECK_SCHEMA'",
            sql::ident(&s.database).map_err(|e| store_err(e.into()))?,
            lit(&s.schema.to_uppercase())?
        );
        let rows = self.query("SELECT INFORMATION_SCHEMA", &q)?;
        let exists = match rows.iter("SELECT INFORMATION_SCHEMA").next() {
            Some(r) => r.i64(0).map_err(store_err)? > 0,
            None => false,
        };
        if exists { self.schema_version() } else { Ok(0) }
    }

    fn schema_version(&self) -> Result<i64, StoreError> {
        let rows = self.query(
            "SELECT DRIFTDECK_SCHEMA",
            "SELECT COALESCE(MAX(version), 0) FROM DRIFTDECK_SCHEMA",
        )?;
        match rows.iter("SELECT DRIFTDECK_SCHEMA").next() {
            Some(r) => r.i64(0).map_err(store_err),
            None => Ok(0),
        }
    }

    /// Before the first send or read of a process: reads the version (two statements) and
    /// migrates only when the schema is missing or older, so a jobs role without DDL privileges
    /// works on a migrated schema.
    fn ensure_schema(&self) -> Result<(), StoreError> {
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        // A missing database or schema reads as version 0: migrate creates it (or names why not).
        let version = self.check().unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < SCHEMA_VERSION {
            self.migrate()?;
        }
        self.migrated.store(true, Ordering::Release);
        Ok(())
    }

    fn query(&self, kind: &'static str, q: &str) -> Result<Rows, StoreError> {
        let result = self.client.execute(kind, q).map_err(store_err)?;
        decode::rows(kind, result, MAX_READ_ROWS).map_err(store_err)
    }

    /// Sends every queued item to Snowflake (`driftdeck sync`).
    ///
    /// # Errors
    /// The first failure (unreachable, SQL error); what was sent before it stays sent.
    pub fn sync(&self) -> Result<SyncReport, StoreError> {
        let _guard = self
            .flushing
            .lock()
            .map_err(|_| StoreError::Backend("flush lock poisoned".into()))?;
        let mut sent = 0u64;
        loop {
            let items = self.outbox.peek(ROWS_PER_STATEMENT * 4)?;
            if items.is_empty() {
                break;
            }
            match self.send(&items) {
                Ok(()) => {
                    self.unavailable.store(false, Ordering::Relaxed);
                    let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
                    self.outbox.remove(&ids)?;
                    sent += ids.len() as u64;
                }
                Err(e) => {
                    self.unavailable.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(SyncReport {
            sent,
            remaining: self.outbox.depth()?,
        })
    }

    /// Sends the queue, turning a failure into a warning (writes and reads still proceed).
    fn flush_quietly(&self) {
        if self.outbox.depth().unwrap_or(0) == 0 {
            return;
        }
        if let Ok(guard) = self.quiet_until.lock()
            && guard.is_some_and(|t| Instant::now() < t)
        {
            return;
        }
        let outcome = self.sync();
        if let Ok(mut guard) = self.quiet_until.lock() {
            *guard = outcome.is_err().then(|| Instant::now() + SEND_COOLDOWN);
        }
        if let Err(e) = outcome {
            tracing::warn!(
                error = %e,
                queue = %self.outbox.path().display(),
                pending = self.outbox.depth().unwrap_or(0),
                "results kept in the pending queue; `driftdeck sync` sends them"
            );
        }
    }

    fn after_write(&self) {
        if self.outbox.depth().unwrap_or(0) >= self.batch_rows {
            self.flush_quietly();
        }
    }

    fn before_read(&self) -> Result<(), StoreError> {
        self.flush_quietly();
        self.ensure_schema()
    }

    fn send(&self, items: &[super::outbox::Item]) -> Result<(), StoreError> {
        self.ensure_schema()?;
        let mut results = Vec::new();
        let mut runs = Vec::new();
        let mut audit = Vec::new();
        let mut findings = Vec::new();
        for item in items {
            let bad = |e: serde_json::Error| corrupt("pending", "payload", e.to_string());
            match item.kind {
                ItemKind::Result => {
                    results.push(serde_json::from_str::<QueuedResult>(&item.payload).map_err(bad)?)
                }
                ItemKind::Run => {
                    runs.push(serde_json::from_str::<RunRecord>(&item.payload).map_err(bad)?)
                }
                ItemKind::Findings => findings
                    .push(serde_json::from_str::<QueuedFindings>(&item.payload).map_err(bad)?),
                ItemKind::Audit => audit.push((
                    item.id,
                    serde_json::from_str::<AuditRecord>(&item.payload).map_err(bad)?,
                )),
            }
        }
        // The replaced versions first, while the stored results and bins are still the old ones.
        self.keep_replaced(&results)?;
        // Profiles and daily bins first: a visible result always has its bins.
        let mut profiles: BTreeMap<(String, String), String> = BTreeMap::new();
        let mut bins_rows = Vec::with_capacity(results.len());
        let mut result_rows = Vec::with_capacity(results.len());
        for q in &results {
            let r = &q.result;
            let key = format!("{}, {}", lit(&r.model_id)?, sql::date(r.calculation_date));
            if q.characteristics.is_empty() {
                bins_rows.push(format!("({key}, NULL, NULL, NULL, NULL, TRUE)"));
            } else {
                let split = compact::split(&q.characteristics)
                    .map_err(|e| StoreError::Invalid(format!("characteristics: {e}")))?;
                let (worst, worst_csi) = match &split.worst {
                    Some((name, csi)) => (lit(name)?, sql::float(*csi)),
                    None => ("NULL".to_owned(), "NULL".to_owned()),
                };
                bins_rows.push(format!(
                    "({key}, {}, {worst}, {worst_csi}, {}, FALSE)",
                    lit(&split.profile_sha)?,
                    lit(&hex(&split.payload))?
                ));
                profiles
                    .entry((r.model_id.clone(), split.profile_sha))
                    .or_insert(split.profile_json);
            }
            result_rows.push(format!(
                "({key}, {}, {}, {}, {})",
                lit(&r.value_stream)?,
                sql::float(r.psi_score),
                sql::float(r.csi_score),
                sql::timestamp(&r.execution_time)
            ));
        }
        let profile_rows = profiles
            .iter()
            .map(|((m, sha), json)| Ok(format!("({}, {}, {})", lit(m)?, lit(sha)?, lit(json)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.merge(
            "MERGE PCI_CSI_PROFILES",
            "PCI_CSI_PROFILES",
            &["model_id", "profile_sha", "columns_json"],
            &["model_id", "profile_sha"],
            &profile_rows,
            None,
        )?;
        self.merge(
            "MERGE PCI_CSI_DAILY_BINS",
            "PCI_CSI_DAILY_BINS",
            &[
                "model_id",
                "calculation_date",
                "profile_sha",
                "worst_characteristic",
                "worst_csi",
                "actual",
                "remove",
            ],
            &["model_id", "calculation_date"],
            &bins_rows,
            Some("remove"),
        )?;
        self.merge(
            "MERGE PCI_CSI_RESULTS",
            "PCI_CSI_RESULTS",
            &[
                "model_id",
                "calculation_date",
                "value_stream",
                "psi_score",
                "csi_score",
                "execution_time",
            ],
            &["model_id", "calculation_date"],
            &result_rows,
            None,
        )?;
        let run_rows = runs.iter().map(run_row).collect::<Result<Vec<_>, _>>()?;
        self.merge(
            "MERGE PCI_CSI_RUNS",
            "PCI_CSI_RUNS",
            &RUN_COLUMNS,
            &["run_id", "attempt"],
            &run_rows,
            None,
        )?;
        self.send_findings(&findings)?;
        let audit_rows = audit
            .iter()
            .map(|(seq, a)| {
                Ok(format!(
                    "({seq}, {}, {}, {}, {}, {}, {})",
                    sql::timestamp(&a.at),
                    lit(&a.user)?,
                    lit(&a.role)?,
                    lit(&a.action)?,
                    lit(&a.target)?,
                    lit(&a.outcome)?
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.merge(
            "MERGE PCI_CSI_AUDIT",
            "PCI_CSI_AUDIT",
            &[
                "seq",
                "logged_at",
                "user_name",
                "role",
                "action",
                "target",
                "outcome",
            ],
            &["seq"],
            &audit_rows,
            None,
        )
    }

    /// Copies into `PCI_CSI_RESULTS_HISTORY` every stored result that a queued one replaces with
    /// different values ([`crate::store::result_changed`], compared in SQL), unless that version
    /// (model, date, `valid_from`, `valid_to`) is already kept: a batch resent after a partial
    /// send adds nothing. A stored result calculated after the queued one is not replaced
    /// history but this batch's own earlier send (the queue resent after Snowflake accepted it):
    /// it adds no row either (a write from elsewhere that is newer than a queued one is
    /// therefore not kept when the older queued one lands).
    fn keep_replaced(&self, results: &[QueuedResult]) -> Result<(), StoreError> {
        let o =
            |v: Option<&str>| sql::opt_string(v).map_err(|e| StoreError::Invalid(e.to_string()));
        let mut rows = Vec::with_capacity(results.len());
        let mut queued_rows = Vec::new();
        for q in results {
            let r = &q.result;
            // The stored row is replaced by the first version queued since the last send.
            let first = q.first.clone().unwrap_or_else(|| FirstQueued {
                psi_score: r.psi_score,
                csi_score: r.csi_score,
                worst: worst_of_queued(q).map(|w| w.characteristic),
                execution_time: r.execution_time,
                run_id: q.run_id.clone(),
            });
            rows.push(format!(
                "({}, {}, {}, {}, {}, {}, {})",
                lit(&r.model_id)?,
                sql::date(r.calculation_date),
                sql::float(first.psi_score),
                sql::float(first.csi_score),
                o(first.worst.as_deref())?,
                sql::timestamp(&first.execution_time),
                o(first.run_id.as_deref())?,
            ));
            for h in &q.replaced {
                let (worst, worst_csi) = match &h.worst {
                    Some(w) => (lit(&w.characteristic)?, sql::float(w.csi)),
                    None => ("NULL".to_owned(), "NULL".to_owned()),
                };
                queued_rows.push(format!(
                    "({}, {}, {}, {}, {}, {worst}, {worst_csi}, {}, {}, {})",
                    lit(&h.model_id)?,
                    lit(&h.value_stream)?,
                    sql::date(h.calculation_date),
                    sql::float(h.psi_score),
                    sql::float(h.csi_score),
                    sql::timestamp(&h.valid_from),
                    sql::timestamp(&h.valid_to),
                    o(h.superseded_by_run.as_deref())?,
                ));
            }
        }
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let q = format!(
                "INSERT INTO PCI_CSI_RESULTS_HISTORY (model_id, value_stream, calculation_date, \
                 psi_score, csi_score, worst_characteristic, worst_csi, valid_from, valid_to, \
                 superseded_by_run) \
                 SELECT t.model_id, t.value_stream, t.calculation_date, t.psi_score, t.csi_score, \
                 b.worst_characteristic, b.worst_csi, \
                 COALESCE(t.execution_time, {epoch}), s.execution_time, \
                 CAST(s.superseded_by_run AS VARCHAR) \
                 FROM (SELECT * FROM VALUES {} AS v (model_id, calculation_date, psi_score, \
                 csi_score, worst_characteristic, execution_time, superseded_by_run)) AS s \
                 JOIN PCI_CSI_RESULTS t ON t.model_id = s.model_id \
                 AND t.calculation_date = s.calculation_date \
                 LEFT JOIN PCI_CSI_DAILY_BINS b ON b.model_id = t.model_id \
                 AND b.calculation_date = t.calculation_date \
                 WHERE COALESCE(t.execution_time, {epoch}) <= s.execution_time \
                 AND (t.psi_score IS DISTINCT FROM s.psi_score \
                 OR t.csi_score IS DISTINCT FROM s.csi_score \
                 OR b.worst_characteristic IS DISTINCT FROM CAST(s.worst_characteristic AS VARCHAR)) \
                 AND NOT EXISTS (SELECT 1 FROM PCI_CSI_RESULTS_HISTORY h \
                 WHERE h.model_id = t.model_id AND h.calculation_date = t.calculation_date \
                 AND h.valid_from = COALESCE(t.execution_time, {epoch}) \
                 AND h.valid_to = s.execution_time)",
                chunk.join(", "),
                epoch = sql::timestamp(&chrono::DateTime::<chrono::Utc>::UNIX_EPOCH),
            );
            self.client
                .execute("INSERT PCI_CSI_RESULTS_HISTORY", &q)
                .map_err(store_err)?;
        }
        // Versions replaced while queued, after the stored one (their `valid_from` is later).
        for chunk in queued_rows.chunks(ROWS_PER_STATEMENT) {
            let q = format!(
                "INSERT INTO PCI_CSI_RESULTS_HISTORY (model_id, value_stream, calculation_date, \
                 psi_score, csi_score, worst_characteristic, worst_csi, valid_from, valid_to, \
                 superseded_by_run) \
                 SELECT s.model_id, s.value_stream, s.calculation_date, s.psi_score, s.csi_score, \
                 CAST(s.worst_characteristic AS VARCHAR), CAST(s.worst_csi AS FLOAT), \
                 s.valid_from, s.valid_to, CAST(s.superseded_by_run AS VARCHAR) \
                 FROM (SELECT * FROM VALUES {} AS v (model_id, value_stream, calculation_date, \
                 psi_score, csi_score, worst_characteristic, worst_csi, valid_from, valid_to, \
                 superseded_by_run)) AS s \
                 WHERE NOT EXISTS (SELECT 1 FROM PCI_CSI_RESULTS_HISTORY h \
                 WHERE h.model_id = s.model_id AND h.calculation_date = s.calculation_date \
                 AND h.valid_from = s.valid_from AND h.valid_to = s.valid_to)",
                chunk.join(", ")
            );
            self.client
                .execute("INSERT PCI_CSI_RESULTS_HISTORY", &q)
                .map_err(store_err)?;
        }
        Ok(())
    }

    /// Replaces the findings of each queued attempt: rows beyond its new count are deleted, the
    /// rest merged on (`run_id`, `attempt`, `seq`), so a resend changes nothing.
    fn send_findings(&self, queued: &[QueuedFindings]) -> Result<(), StoreError> {
        if queued.is_empty() {
            return Ok(());
        }
        let mut stale = Vec::with_capacity(queued.len());
        let mut rows = Vec::new();
        for q in queued {
            let id = lit(&q.run_id)?;
            stale.push(format!(
                "(run_id = {id} AND attempt = {} AND seq >= {})",
                q.attempt,
                q.findings.len()
            ));
            for (seq, f) in q.findings.iter().enumerate() {
                let o = |v: Option<&str>| {
                    sql::opt_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
                };
                rows.push(format!(
                    "({id}, {}, {seq}, {}, {}, {}, {}, {}, {})",
                    q.attempt,
                    lit(f.check.as_str())?,
                    o(f.column.as_deref())?,
                    sql::float(f.observed),
                    sql::float(f.limit),
                    lit(f.severity.as_str())?,
                    lit(&f.message)?
                ));
            }
        }
        for chunk in stale.chunks(ROWS_PER_STATEMENT) {
            let q = format!("DELETE FROM PCI_CSI_FINDINGS WHERE {}", chunk.join(" OR "));
            self.client
                .execute("DELETE PCI_CSI_FINDINGS", &q)
                .map_err(store_err)?;
        }
        self.merge(
            "MERGE PCI_CSI_FINDINGS",
            "PCI_CSI_FINDINGS",
            &[
                "run_id",
                "attempt",
                "seq",
                "check_name",
                "column_name",
                "observed",
                "limit_value",
                "severity",
                "message",
            ],
            &["run_id", "attempt", "seq"],
            &rows,
            None,
        )
    }

    /// `MERGE INTO table USING (SELECT * FROM VALUES ...)` on `keys`, chunked. With `remove`,
    /// the source's boolean column of that name deletes the matched row instead of updating it
    /// (and is not inserted).
    fn merge(
        &self,
        kind: &'static str,
        table: &str,
        columns: &[&str],
        keys: &[&str],
        rows: &[String],
        remove: Option<&str>,
    ) -> Result<(), StoreError> {
        let data: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| Some(*c) != remove)
            .collect();
        let on = keys
            .iter()
            .map(|k| format!("t.{k} = s.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let set = data
            .iter()
            .filter(|c| !keys.contains(c))
            .map(|c| format!("{c} = s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let insert_cols = data.join(", ");
        let insert_vals = data
            .iter()
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let (matched, not_matched) = match remove {
            Some(r) => (
                format!("WHEN MATCHED AND s.{r} THEN DELETE WHEN MATCHED THEN UPDATE SET {set} "),
                format!(
                    "WHEN NOT MATCHED AND NOT s.{r} THEN INSERT ({insert_cols}) VALUES ({insert_vals})"
                ),
            ),
            None if set.is_empty() => (
                String::new(),
                format!("WHEN NOT MATCHED THEN INSERT ({insert_cols}) VALUES ({insert_vals})"),
            ),
            None => (
                format!("WHEN MATCHED THEN UPDATE SET {set} "),
                format!("WHEN NOT MATCHED THEN INSERT ({insert_cols}) VALUES ({insert_vals})"),
            ),
        };
        let mut start = 0;
        while start < rows.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < rows.len()
                && end - start < ROWS_PER_STATEMENT
                && (end == start || bytes + rows[end].len() < MAX_STATEMENT_BYTES)
            {
                bytes += rows[end].len() + 2;
                end += 1;
            }
            let statement = format!(
                "MERGE INTO {table} AS t USING (SELECT * FROM VALUES {} AS v ({})) AS s ON {on} {matched}{not_matched}",
                rows[start..end].join(", "),
                columns.join(", ")
            );
            self.client.execute(kind, &statement).map_err(store_err)?;
            start = end;
        }
        Ok(())
    }
}

impl Drop for SnowflakeStore {
    fn drop(&mut self) {
        if !self.unavailable.load(Ordering::Relaxed) {
            self.flush_quietly();
        }
        let stats = self.client.stats();
        tracing::info!(
            statements = stats.statements(),
            attempts = stats.attempts(),
            logins = stats.logins(),
            pending = self.outbox.depth().unwrap_or(0),
            "snowflake store closed"
        );
    }
}

fn lit(text: &str) -> Result<String, StoreError> {
    sql::string(text).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(text: &str) -> Result<Vec<u8>, StoreError> {
    let bad = || corrupt("PCI_CSI_DAILY_BINS", "actual", "not hexadecimal text");
    if !text.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

const RUN_COLUMNS: [&str; 16] = [
    "run_id",
    "attempt",
    "max_attempts",
    "model_id",
    "value_stream",
    "calculation_date",
    "action",
    "status",
    "error",
    "started_at",
    "finished_at",
    "benchmark_version",
    "rows_benchmark",
    "rows_current",
    "triggered_by",
    "log_path",
];

fn run_row(r: &RunRecord) -> Result<String, StoreError> {
    let o = |v: Option<&str>| sql::opt_string(v).map_err(|e| StoreError::Invalid(e.to_string()));
    Ok(format!(
        "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        lit(&r.run_id)?,
        r.attempt,
        r.max_attempts,
        lit(&r.model_id)?,
        lit(&r.value_stream)?,
        sql::date(r.calculation_date),
        lit(r.action.as_str())?,
        lit(r.status.as_str())?,
        o(r.error.as_deref())?,
        sql::timestamp(&r.started_at),
        sql::opt_timestamp(r.finished_at.as_ref()),
        o(r.benchmark_version.as_deref())?,
        sql::opt_uint(r.rows_benchmark),
        sql::opt_uint(r.rows_current),
        lit(&r.triggered_by)?,
        o(r.log_path.as_deref())?,
    ))
}

const RESULT_SELECT: &str = "SELECT model_id, value_stream, calculation_date, psi_score, csi_score, execution_time FROM PCI_CSI_RESULTS";

fn result_of(r: RowRef<'_>) -> Result<ResultRecord, StoreError> {
    let e = store_err;
    Ok(ResultRecord {
        model_id: r.text(0).map_err(e)?,
        value_stream: r.text(1).map_err(e)?,
        calculation_date: r.date(2).map_err(e)?,
        psi_score: r.opt_f64(3).map_err(e)?.unwrap_or(f64::NAN),
        csi_score: r.opt_f64(4).map_err(e)?.unwrap_or(f64::NAN),
        execution_time: r.timestamp(5).map_err(e)?,
    })
}

const RUN_SELECT: &str = "SELECT run_id, attempt, max_attempts, model_id, value_stream, \
    calculation_date, action, status, error, started_at, finished_at, benchmark_version, \
    rows_benchmark, rows_current, triggered_by, log_path FROM PCI_CSI_RUNS";

fn run_of(r: RowRef<'_>) -> Result<RunRecord, StoreError> {
    let e = store_err;
    let uint = |i: usize, col: &'static str| -> Result<Option<u64>, StoreError> {
        r.opt_i64(i)
            .map_err(e)?
            .map(|v| u64::try_from(v).map_err(|_| corrupt("PCI_CSI_RUNS", col, format!("{v} < 0"))))
            .transpose()
    };
    let u32_of = |i: usize, col: &'static str| -> Result<u32, StoreError> {
        let v = r.i64(i).map_err(e)?;
        u32::try_from(v).map_err(|_| corrupt("PCI_CSI_RUNS", col, format!("{v} out of range")))
    };
    let action: String = r.text(6).map_err(e)?;
    let status: String = r.text(7).map_err(e)?;
    Ok(RunRecord {
        run_id: r.text(0).map_err(e)?,
        attempt: u32_of(1, "attempt")?,
        max_attempts: u32_of(2, "max_attempts")?,
        model_id: r.text(3).map_err(e)?,
        value_stream: r.text(4).map_err(e)?,
        calculation_date: r.date(5).map_err(e)?,
        action: action
            .parse::<RunAction>()
            .map_err(|_| corrupt("PCI_CSI_RUNS", "action", format!("unknown {action:?}")))?,
        status: status
            .parse::<RunStatus>()
            .map_err(|_| corrupt("PCI_CSI_RUNS", "status", format!("unknown {status:?}")))?,
        error: r.opt_text(8).map_err(e)?,
        started_at: r.timestamp(9).map_err(e)?,
        finished_at: r.opt_timestamp(10).map_err(e)?,
        benchmark_version: r.opt_text(11).map_err(e)?,
        rows_benchmark: uint(12, "rows_benchmark")?,
        rows_current: uint(13, "rows_current")?,
        triggered_by: r.text(14).map_err(e)?,
        log_path: r.opt_text(15).map_err(e)?,
    })
}

const HISTORY_SELECT: &str = "SELECT model_id, value_stream, calculation_date, psi_score, \
    csi_score, worst_characteristic, worst_csi, valid_from, valid_to, superseded_by_run \
    FROM PCI_CSI_RESULTS_HISTORY";

fn replaced_of(r: RowRef<'_>) -> Result<crate::store::ReplacedResult, StoreError> {
    let e = store_err;
    Ok(crate::store::ReplacedResult {
        model_id: r.text(0).map_err(e)?,
        value_stream: r.text(1).map_err(e)?,
        calculation_date: r.date(2).map_err(e)?,
        psi_score: r.opt_f64(3).map_err(e)?.unwrap_or(f64::NAN),
        csi_score: r.opt_f64(4).map_err(e)?.unwrap_or(f64::NAN),
        worst: match (r.opt_text(5).map_err(e)?, r.opt_f64(6).map_err(e)?) {
            (Some(characteristic), Some(csi)) => Some(WorstCharacteristic {
                characteristic,
                csi,
            }),
            _ => None,
        },
        valid_from: r.timestamp(7).map_err(e)?,
        valid_to: r.timestamp(8).map_err(e)?,
        superseded_by_run: r.opt_text(9).map_err(e)?,
    })
}

fn finding_of(r: RowRef<'_>) -> Result<crate::store::FindingRecord, StoreError> {
    use crate::quality::{Check, Finding, Severity};
    let e = store_err;
    let check: String = r.text(2).map_err(e)?;
    let severity: String = r.text(6).map_err(e)?;
    let attempt = r.i64(1).map_err(e)?;
    Ok(crate::store::FindingRecord {
        run_id: r.text(0).map_err(e)?,
        attempt: u32::try_from(attempt).map_err(|_| {
            corrupt(
                "PCI_CSI_FINDINGS",
                "attempt",
                format!("{attempt} out of range"),
            )
        })?,
        finding: Finding {
            check: Check::parse(&check).ok_or_else(|| {
                corrupt(
                    "PCI_CSI_FINDINGS",
                    "check_name",
                    format!("unknown {check:?}"),
                )
            })?,
            column: r.opt_text(3).map_err(e)?,
            observed: r.opt_f64(4).map_err(e)?.unwrap_or(f64::NAN),
            limit: r.opt_f64(5).map_err(e)?.unwrap_or(f64::NAN),
            severity: Severity::parse(&severity).ok_or_else(|| {
                corrupt(
                    "PCI_CSI_FINDINGS",
                    "severity",
                    format!("unknown {severity:?}"),
                )
            })?,
            message: r.text(7).map_err(e)?,
        },
    })
}

/// Newest attempt first: (`started_at`, `attempt`, `run_id`) descending.
const RUN_ORDER: &str = "started_at DESC, attempt DESC, run_id DESC";

fn date_range(from: Option<NaiveDate>, to: Option<NaiveDate>) -> String {
    let mut w = String::new();
    if let Some(f) = from {
        w.push_str(&format!(" AND calculation_date >= {}", sql::date(f)));
    }
    if let Some(t) = to {
        w.push_str(&format!(" AND calculation_date <= {}", sql::date(t)));
    }
    w
}

fn in_list(models: &[String]) -> Result<String, StoreError> {
    Ok(models
        .iter()
        .map(|m| lit(m))
        .collect::<Result<Vec<_>, _>>()?
        .join(", "))
}

fn by_model_date(a: &ResultRecord, b: &ResultRecord) -> std::cmp::Ordering {
    a.model_id
        .cmp(&b.model_id)
        .then(a.calculation_date.cmp(&b.calculation_date))
}

fn by_run_newest(a: &RunRecord, b: &RunRecord) -> std::cmp::Ordering {
    b.started_at
        .cmp(&a.started_at)
        .then(b.attempt.cmp(&a.attempt))
        .then(b.run_id.cmp(&a.run_id))
}

impl ResultsStore for SnowflakeStore {
    fn backend(&self) -> &'static str {
        "snowflake"
    }

    fn save_result_of_run(
        &self,
        result: &ResultRecord,
        characteristics: &[CharacteristicRecord],
        run_id: Option<&str>,
    ) -> Result<(), StoreError> {
        validate_result(result, characteristics)?;
        // Refuse what cannot be rendered (NUL) now, not at send time.
        if let Some(id) = run_id {
            lit(id)?;
        }
        lit(&result.model_id)?;
        lit(&result.value_stream)?;
        for c in characteristics {
            lit(&c.characteristic)?;
        }
        compact::split(characteristics)
            .map_err(|e| StoreError::Invalid(format!("characteristics: {e}")))?;
        let queued = QueuedResult {
            result: result.clone(),
            characteristics: characteristics.to_vec(),
            run_id: run_id.map(str::to_owned),
            first: None,
            replaced: Vec::new(),
        };
        let key = format!("{}\u{1f}{}", result.model_id, result.calculation_date);
        self.outbox.push_merged(ItemKind::Result, &key, |old| {
            let queued = match old.map(serde_json::from_str::<QueuedResult>) {
                Some(Ok(old)) => queued.over(old),
                // An unreadable queued item is replaced, as before the history existed.
                Some(Err(_)) | None => queued,
            };
            serde_json::to_string(&queued).map_err(|e| StoreError::Invalid(e.to_string()))
        })?;
        self.after_write();
        Ok(())
    }

    fn result_history(
        &self,
        model_id: &str,
        calculation_date: NaiveDate,
    ) -> Result<Vec<crate::store::ReplacedResult>, StoreError> {
        self.recomputed(&[model_id.to_owned()], calculation_date, calculation_date)
    }

    fn recomputed(
        &self,
        models: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<crate::store::ReplacedResult>, StoreError> {
        if models.is_empty() || from > to {
            return Ok(Vec::new());
        }
        self.before_read()?;
        let mut out = Vec::new();
        for chunk in models.chunks(ROWS_PER_STATEMENT) {
            let q = format!(
                "{HISTORY_SELECT} WHERE model_id IN ({}){} \
                 ORDER BY model_id, calculation_date, valid_to, valid_from LIMIT {MAX_READ_ROWS}",
                in_list(chunk)?,
                date_range(Some(from), Some(to))
            );
            for r in self.query("SELECT history", &q)?.iter("SELECT history") {
                out.push(replaced_of(r)?);
            }
        }
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
        run_row(run)?;
        let payload = serde_json::to_string(run).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let key = format!("{}\u{1f}{}", run.run_id, run.attempt);
        self.outbox.push(ItemKind::Run, Some(&key), &payload)?;
        self.after_write();
        Ok(())
    }

    fn latest_results(&self) -> Result<Vec<ResultRecord>, StoreError> {
        self.before_read()?;
        let q = format!(
            "{RESULT_SELECT} QUALIFY ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY calculation_date DESC) = 1"
        );
        let rows = self.query("SELECT latest results", &q)?;
        let mut out = rows
            .iter("SELECT latest results")
            .map(result_of)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| {
            a.value_stream
                .cmp(&b.value_stream)
                .then(a.model_id.cmp(&b.model_id))
        });
        Ok(out)
    }

    fn overview(&self) -> Result<Vec<ModelOverview>, StoreError> {
        self.before_read()?;
        let q = "SELECT r.model_id, r.value_stream, r.calculation_date, r.psi_score, r.csi_score, \
                 r.execution_time, b.worst_characteristic, b.worst_csi FROM PCI_CSI_RESULTS r \
                 LEFT JOIN PCI_CSI_DAILY_BINS b ON b.model_id = r.model_id \
                 AND b.calculation_date = r.calculation_date \
                 QUALIFY ROW_NUMBER() OVER (PARTITION BY r.model_id ORDER BY r.calculation_date DESC) = 1";
        let rows = self.query("SELECT overview results", q)?;
        let mut models: BTreeMap<String, ModelOverview> = BTreeMap::new();
        for r in rows.iter("SELECT overview results") {
            let latest = result_of(r)?;
            let worst = match (
                r.opt_text(6).map_err(store_err)?,
                r.opt_f64(7).map_err(store_err)?,
            ) {
                (Some(characteristic), Some(csi)) => Some(WorstCharacteristic {
                    characteristic,
                    csi,
                }),
                _ => None,
            };
            models.insert(
                latest.model_id.clone(),
                ModelOverview {
                    model_id: latest.model_id.clone(),
                    value_stream: latest.value_stream.clone(),
                    latest: Some(latest),
                    worst,
                    latest_run: None,
                },
            );
        }
        for run in self.latest_runs_unsorted()? {
            let entry = models
                .entry(run.model_id.clone())
                .or_insert_with(|| ModelOverview {
                    model_id: run.model_id.clone(),
                    value_stream: run.value_stream.clone(),
                    latest: None,
                    worst: None,
                    latest_run: None,
                });
            entry.latest_run = Some(run);
        }
        let mut out: Vec<ModelOverview> = models.into_values().collect();
        out.sort_by(|a, b| {
            a.value_stream
                .cmp(&b.value_stream)
                .then(a.model_id.cmp(&b.model_id))
        });
        Ok(out)
    }

    fn history(
        &self,
        model_id: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ResultRecord>, StoreError> {
        self.before_read()?;
        let q = format!(
            "{RESULT_SELECT} WHERE model_id = {}{} ORDER BY calculation_date",
            lit(model_id)?,
            date_range(from, to)
        );
        let rows = self.query("SELECT history", &q)?;
        let mut out = rows
            .iter("SELECT history")
            .map(result_of)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(by_model_date);
        Ok(out)
    }

    fn trends(
        &self,
        models: Option<&[String]>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ResultRecord>, StoreError> {
        let filter = match models {
            Some([]) => return Ok(Vec::new()),
            Some(list) => format!(" AND model_id IN ({})", in_list(list)?),
            None => String::new(),
        };
        self.before_read()?;
        let q = format!(
            "{RESULT_SELECT} WHERE TRUE{filter}{} ORDER BY model_id, calculation_date",
            date_range(from, to)
        );
        let rows = self.query("SELECT trends", &q)?;
        let mut out = rows
            .iter("SELECT trends")
            .map(result_of)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(by_model_date);
        Ok(out)
    }

    fn date_status(
        &self,
        models: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DateStatus>, StoreError> {
        if models.is_empty() || from > to {
            return Ok(Vec::new());
        }
        self.before_read()?;
        let list = in_list(models)?;
        let range = date_range(Some(from), Some(to));
        let mut status: BTreeMap<(String, NaiveDate), DateStatus> = BTreeMap::new();
        let q = format!(
            "SELECT model_id, calculation_date FROM PCI_CSI_RESULTS WHERE model_id IN ({list}){range}"
        );
        for r in self
            .query("SELECT date status results", &q)?
            .iter("SELECT date status results")
        {
            let model_id = r.text(0).map_err(store_err)?;
            let date = r.date(1).map_err(store_err)?;
            status.insert(
                (model_id.clone(), date),
                DateStatus {
                    model_id,
                    calculation_date: date,
                    has_result: true,
                    run_status: None,
                },
            );
        }
        let q = format!(
            "SELECT model_id, calculation_date, status FROM PCI_CSI_RUNS WHERE model_id IN ({list}){range} \
             QUALIFY ROW_NUMBER() OVER (PARTITION BY model_id, calculation_date ORDER BY {RUN_ORDER}) = 1"
        );
        for r in self
            .query("SELECT date status runs", &q)?
            .iter("SELECT date status runs")
        {
            let model_id = r.text(0).map_err(store_err)?;
            let date = r.date(1).map_err(store_err)?;
            let text = r.text(2).map_err(store_err)?;
            let run_status = text
                .parse::<RunStatus>()
                .map_err(|_| corrupt("PCI_CSI_RUNS", "status", format!("unknown {text:?}")))?;
            status
                .entry((model_id.clone(), date))
                .or_insert(DateStatus {
                    model_id,
                    calculation_date: date,
                    has_result: false,
                    run_status: None,
                })
                .run_status = Some(run_status);
        }
        Ok(status.into_values().collect())
    }

    fn characteristics(
        &self,
        model_id: &str,
        calculation_date: NaiveDate,
    ) -> Result<Vec<CharacteristicRecord>, StoreError> {
        self.before_read()?;
        let q = format!(
            "SELECT p.columns_json, b.actual FROM PCI_CSI_DAILY_BINS b JOIN PCI_CSI_PROFILES p \
             ON p.model_id = b.model_id AND p.profile_sha = b.profile_sha \
             WHERE b.model_id = {} AND b.calculation_date = {}",
            lit(model_id)?,
            sql::date(calculation_date)
        );
        let rows = self.query("SELECT characteristics", &q)?;
        let Some(r) = rows.iter("SELECT characteristics").next() else {
            return Ok(Vec::new());
        };
        let json = r.text(0).map_err(store_err)?;
        let payload = unhex(&r.text(1).map_err(store_err)?)?;
        let mut out = compact::join(model_id, calculation_date, &json, &payload)
            .map_err(|m| corrupt("PCI_CSI_DAILY_BINS", "actual", m))?;
        out.sort_by(|a, b| {
            let score = |c: &CharacteristicRecord| c.role != ColumnRole::Score;
            score(a)
                .cmp(&score(b))
                .then(b.index_value.total_cmp(&a.index_value))
                .then(a.characteristic.cmp(&b.characteristic))
        });
        Ok(out)
    }

    fn runs(&self, model_id: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.before_read()?;
        let filter = match model_id {
            Some(m) => format!(" WHERE model_id = {}", lit(m)?),
            None => String::new(),
        };
        let limit = limit.min(MAX_READ_ROWS);
        let q = format!("{RUN_SELECT}{filter} ORDER BY {RUN_ORDER} LIMIT {limit}");
        let mut out = self
            .query("SELECT runs", &q)?
            .iter("SELECT runs")
            .map(run_of)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(by_run_newest);
        Ok(out)
    }

    fn latest_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.before_read()?;
        let mut out = self.latest_runs_unsorted()?;
        out.sort_by(|a, b| {
            a.value_stream
                .cmp(&b.value_stream)
                .then(a.model_id.cmp(&b.model_id))
        });
        Ok(out)
    }

    fn append_audit(&self, entry: &AuditRecord) -> Result<(), StoreError> {
        for t in [
            &entry.user,
            &entry.role,
            &entry.action,
            &entry.target,
            &entry.outcome,
        ] {
            lit(t)?;
        }
        let payload =
            serde_json::to_string(entry).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.outbox.push(ItemKind::Audit, None, &payload)?;
        self.after_write();
        Ok(())
    }

    fn pending(&self) -> Result<u64, StoreError> {
        self.outbox.depth()
    }

    fn record_findings(
        &self,
        run_id: &str,
        attempt: u32,
        findings: &[crate::quality::Finding],
    ) -> Result<(), StoreError> {
        lit(run_id)?;
        for f in findings {
            lit(&f.message)?;
            if let Some(c) = &f.column {
                lit(c)?;
            }
        }
        let queued = QueuedFindings {
            run_id: run_id.to_owned(),
            attempt,
            findings: findings.to_vec(),
        };
        let payload =
            serde_json::to_string(&queued).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let key = format!("{run_id}\u{1f}{attempt}");
        self.outbox.push(ItemKind::Findings, Some(&key), &payload)?;
        self.after_write();
        Ok(())
    }

    fn findings(&self, run_ids: &[String]) -> Result<Vec<crate::store::FindingRecord>, StoreError> {
        if run_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.before_read()?;
        let mut out = Vec::new();
        for chunk in run_ids.chunks(ROWS_PER_STATEMENT) {
            let q = format!(
                "SELECT run_id, attempt, check_name, column_name, observed, limit_value, severity, \
                 message FROM PCI_CSI_FINDINGS WHERE run_id IN ({}) \
                 ORDER BY run_id, attempt, seq LIMIT {MAX_READ_ROWS}",
                in_list(chunk)?
            );
            for r in self.query("SELECT findings", &q)?.iter("SELECT findings") {
                out.push(finding_of(r)?);
            }
        }
        out.sort_by(|a, b| a.run_id.cmp(&b.run_id).then(a.attempt.cmp(&b.attempt)));
        Ok(out)
    }

    fn audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.before_read()?;
        let q = format!(
            "SELECT logged_at, user_name, role, action, target, outcome FROM PCI_CSI_AUDIT ORDER BY seq DESC LIMIT {}",
            limit.min(MAX_READ_ROWS)
        );
        self.query("SELECT audit", &q)?
            .iter("SELECT audit")
            .map(|r| {
                let e = store_err;
                Ok(AuditRecord {
                    at: r.timestamp(0).map_err(e)?,
                    user: r.text(1).map_err(e)?,
                    role: r.text(2).map_err(e)?,
                    action: r.text(3).map_err(e)?,
                    target: r.text(4).map_err(e)?,
                    outcome: r.text(5).map_err(e)?,
                })
            })
            .collect()
    }
}

impl SnowflakeStore {
    fn latest_runs_unsorted(&self) -> Result<Vec<RunRecord>, StoreError> {
        let q = format!(
            "{RUN_SELECT} QUALIFY ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY {RUN_ORDER}) = 1"
        );
        self.query("SELECT latest runs", &q)?
            .iter("SELECT latest runs")
            .map(run_of)
            .collect()
    }
}
