//! Results store: where PSI/CSI results, per-characteristic bins, run attempts and the audit log live.
//!
//! [`ResultsStore`] is the seam between jobs (writers) and the console (reader). The embedded
//! default is [`sqlite::SqliteStore`]; a Snowflake implementation follows the same schema
//! (DESIGN section 5):
//! - `PCI_CSI_RESULTS (model_id, value_stream, calculation_date, psi_score, csi_score,
//!   execution_time)`, key `(model_id, calculation_date)`, exactly as the seed job's table;
//! - `PCI_CSI_CHARACTERISTICS`: one row per (model, date, characteristic) with the bins as JSON;
//! - `PCI_CSI_RUNS`: one row per attempt;
//! - `PCI_CSI_AUDIT`: console and CLI actions.

pub mod snowflake;
pub mod sqlite;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{BinStat, RunAction, RunStatus};

/// Errors of a results store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened (missing directory, permissions, not a database).
    #[error("cannot open results store {path}: {message}")]
    Open {
        /// File or connection target.
        path: String,
        /// The backend's explanation.
        message: String,
    },
    /// The database is locked by another writer for longer than the busy timeout.
    #[error("results store is busy (locked by another process): {0}")]
    Busy(String),
    /// The stored schema is newer than this binary understands.
    #[error("results store schema version {found} is newer than supported version {supported}")]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Highest version this binary knows.
        supported: i64,
    },
    /// A stored value that cannot be decoded (bad date, bad JSON, unknown status).
    #[error("corrupt value in {table}.{column}: {message}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Column name.
        column: &'static str,
        /// What was wrong.
        message: String,
    },
    /// Any other backend error.
    #[error("results store error: {0}")]
    Backend(String),
}

/// One row of `PCI_CSI_RESULTS`: the outcome of one model on one calculation date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRecord {
    /// Model id.
    pub model_id: String,
    /// Value stream of the model.
    pub value_stream: String,
    /// The date the current population belongs to.
    pub calculation_date: NaiveDate,
    /// PSI of the score against the benchmark.
    pub psi_score: f64,
    /// Largest CSI over the model's characteristics (0 when the model has none).
    pub csi_score: f64,
    /// When the calculation ran (UTC).
    pub execution_time: DateTime<Utc>,
}

/// Role of a column in a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnRole {
    /// The model output; its index is the PSI.
    Score,
    /// An input feature; its index is a CSI.
    Characteristic,
}

/// One row of `PCI_CSI_CHARACTERISTICS`: the index and bins of one column of one result.
///
/// The score column is stored here too (role `score`), so the console can drill into its bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharacteristicRecord {
    /// Model id.
    pub model_id: String,
    /// Calculation date.
    pub calculation_date: NaiveDate,
    /// Column name.
    pub characteristic: String,
    /// Score or characteristic.
    pub role: ColumnRole,
    /// `numeric` or `categorical`.
    pub kind: String,
    /// PSI (score) or CSI (characteristic) of this column.
    pub index_value: f64,
    /// Per-bin table, in bin order (stored as JSON).
    pub bins: Vec<BinStat>,
}

/// One row of `PCI_CSI_RUNS`: one attempt of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Identifier shared by every attempt of the run (e.g. `jfk_delay-2013-02-01-<ts>`).
    pub run_id: String,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// Attempts allowed by the retry policy.
    pub max_attempts: u32,
    /// Model id.
    pub model_id: String,
    /// Value stream.
    pub value_stream: String,
    /// Calculation date.
    pub calculation_date: NaiveDate,
    /// run / backfill / refresh.
    pub action: RunAction,
    /// Attempt status.
    pub status: RunStatus,
    /// Error text of a failed attempt.
    pub error: Option<String>,
    /// Start (UTC).
    pub started_at: DateTime<Utc>,
    /// End (UTC), `None` while running.
    pub finished_at: Option<DateTime<Utc>>,
    /// Checksum of the benchmark used (its version).
    pub benchmark_version: Option<String>,
    /// Benchmark rows.
    pub rows_benchmark: Option<u64>,
    /// Current rows.
    pub rows_current: Option<u64>,
    /// `schedule` or the user name that started it.
    pub triggered_by: String,
    /// Path of the job log, when the orchestrator keeps one.
    pub log_path: Option<String>,
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who (OS user or configured name).
    pub user: String,
    /// Role in force (viewer / operator / admin).
    pub role: String,
    /// What: `rerun`, `backfill`, `refresh`, `rerun-failed`, ...
    pub action: String,
    /// On what: `jfk_delay 2013-02-01`, `jfk_delay 2013-02-01..2013-02-03`, ...
    pub target: String,
    /// `started`, `denied`, `succeeded`, `failed: ...`.
    pub outcome: String,
}

/// Storage of results, runs and audit entries. Implementations are synchronous and thread-safe;
/// async callers (the console) use `spawn_blocking`.
///
/// Every write is idempotent on its key and atomic: a failed call leaves nothing half-written.
pub trait ResultsStore: Send + Sync {
    /// Short backend name for headers: `sqlite`, `snowflake`.
    fn backend(&self) -> &'static str;

    /// Upserts one result and replaces its characteristic rows, in one transaction.
    /// A rerun of the same (model, date) replaces, never duplicates.
    fn save_result(
        &self,
        result: &ResultRecord,
        characteristics: &[CharacteristicRecord],
    ) -> Result<(), StoreError>;

    /// Inserts or updates the attempt keyed by (`run_id`, `attempt`).
    fn record_attempt(&self, run: &RunRecord) -> Result<(), StoreError>;

    /// The latest result (by calculation date) of every model, ordered by value stream, model.
    fn latest_results(&self) -> Result<Vec<ResultRecord>, StoreError>;

    /// Results of one model with `from <= calculation_date <= to` (bounds optional), by date.
    fn history(
        &self,
        model_id: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ResultRecord>, StoreError>;

    /// Results of every model in a date range, ordered by model then date (console trends).
    fn history_all(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ResultRecord>, StoreError>;

    /// Characteristic rows (score included) of one result, score first then CSI descending.
    fn characteristics(
        &self,
        model_id: &str,
        calculation_date: NaiveDate,
    ) -> Result<Vec<CharacteristicRecord>, StoreError>;

    /// Attempts, newest first; one model or all; at most `limit` rows.
    fn runs(&self, model_id: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError>;

    /// The newest attempt of every model (for the status column).
    fn latest_runs(&self) -> Result<Vec<RunRecord>, StoreError>;

    /// Appends an audit entry.
    fn append_audit(&self, entry: &AuditRecord) -> Result<(), StoreError>;

    /// Audit entries, newest first, at most `limit`.
    fn audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;
}
