//! Results store: where PSI/CSI results, per-characteristic bins, run attempts and the audit log live.
//!
//! [`ResultsStore`] is the seam between jobs (writers) and the console and reports (readers);
//! its docs hold the async policy and the batched calls. The embedded default is
//! [`sqlite::SqliteStore`]; a Snowflake implementation mirrors the same logical schema
//! (README, Design §4):
//! - `PCI_CSI_RESULTS (model_id, value_stream, calculation_date, psi_score, csi_score,
//!   execution_time)`, key `(model_id, calculation_date)`, exactly as the seed job's table;
//! - `PCI_CSI_PROFILES` (the benchmark side of a result's columns, once per model and profile
//!   version) and `PCI_CSI_DAILY_BINS` (one compact row per result: actual counts and indexes),
//!   laid out in [`compact`];
//! - `PCI_CSI_RUNS`: one row per attempt;
//! - `PCI_CSI_AUDIT`: console and CLI actions;
//! - `PCI_CSI_FINDINGS`: data-quality findings of an attempt ([`crate::quality`]), keyed by
//!   (`run_id`, `attempt`, order);
//! - `PCI_CSI_RESULTS_HISTORY`: the results a rerun replaced (SCD type 2: the replaced values
//!   with `valid_from`/`valid_to` and the run that superseded them), see [`ReplacedResult`].
//!
//! The contract every backend meets is `store::contract` (feature `testkit`), run by
//! `tests/store_contract.rs`.

pub mod compact;
#[cfg(feature = "testkit")]
pub mod contract;
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
    /// A NaN or infinite value offered for storage (refused before anything is written).
    #[error(
        "refusing to store non-finite {field} {value} for model {model_id} on {calculation_date}"
    )]
    NonFinite {
        /// Which value (`psi_score`, `index of age`, ...).
        field: String,
        /// The value.
        value: f64,
        /// Model id.
        model_id: String,
        /// Calculation date.
        calculation_date: NaiveDate,
    },
    /// A write that is inconsistent in itself (a characteristic of another result, ...).
    #[error("invalid write to the results store: {0}")]
    Invalid(String),
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

/// Role of a column in a model (defined in [`crate::domain`] so the engine needs no store).
pub use crate::domain::ColumnRole;

/// The index and bins of one column of one result (stored split into profile and day, see
/// [`compact`]).
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

/// One row of `PCI_CSI_RESULTS_HISTORY`: a result that a later write of the same (model,
/// calculation date) replaced with different values (SCD type 2, seed 003).
///
/// The version was current from `valid_from` (its own `execution_time`) until `valid_to` (the
/// `execution_time` of the result that replaced it). A write with the same PSI, CSI and worst
/// characteristic as the stored result is not a change: it refreshes `execution_time` and adds
/// no history row, so an idempotent rerun (or a resent queue) leaves the history as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplacedResult {
    /// Model id.
    pub model_id: String,
    /// Value stream of the replaced result.
    pub value_stream: String,
    /// Calculation date.
    pub calculation_date: NaiveDate,
    /// The replaced PSI.
    pub psi_score: f64,
    /// The replaced largest CSI.
    pub csi_score: f64,
    /// The replaced result's worst characteristic (`None` when it had no characteristics).
    pub worst: Option<WorstCharacteristic>,
    /// When the replaced result was calculated (its `execution_time`, UTC).
    pub valid_from: DateTime<Utc>,
    /// When the replacing result was calculated (its `execution_time`, UTC).
    pub valid_to: DateTime<Utc>,
    /// Run id of the attempt whose result replaced it; `None` for writes outside a run
    /// (`demo init`, a copy between stores).
    pub superseded_by_run: Option<String>,
}

/// Whether `new` changes a stored result (`old`, with its worst characteristic): a different
/// PSI or CSI (exact comparison) or another worst characteristic. Shared by every backend so
/// they decide alike when a history row is written.
pub fn result_changed(
    old_psi: f64,
    old_csi: f64,
    old_worst: Option<&str>,
    new: &ResultRecord,
    new_worst: Option<&str>,
) -> bool {
    old_psi.to_bits() != new.psi_score.to_bits()
        || old_csi.to_bits() != new.csi_score.to_bits()
        || old_worst != new_worst
}

/// The worst characteristic (role `characteristic`, largest CSI, ties to the smallest name)
/// of a result's rows, as the stores keep it.
pub fn worst_of(characteristics: &[CharacteristicRecord]) -> Option<WorstCharacteristic> {
    characteristics
        .iter()
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
}

/// One row of `PCI_CSI_FINDINGS`: a data-quality finding of one attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    /// Run id of the attempt.
    pub run_id: String,
    /// Attempt number.
    pub attempt: u32,
    /// The finding.
    #[serde(flatten)]
    pub finding: crate::quality::Finding,
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

/// The characteristic with the largest CSI of one result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorstCharacteristic {
    /// Column name.
    pub characteristic: String,
    /// Its CSI.
    pub csi: f64,
}

/// One model's line of the overview: what the console's models table and the daily report need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOverview {
    /// Model id.
    pub model_id: String,
    /// Value stream: of the latest result, else of the latest attempt.
    pub value_stream: String,
    /// The result with the newest calculation date, when the model has one.
    pub latest: Option<ResultRecord>,
    /// The characteristic (role `characteristic`, never the score) with the largest CSI in
    /// `latest`; ties go to the smallest name. `None` without a result or characteristics.
    pub worst: Option<WorstCharacteristic>,
    /// The newest attempt (largest `started_at`, then `attempt`, then `run_id`), when any.
    pub latest_run: Option<RunRecord>,
}

/// What is stored for one (model, calculation date): for backfill planning
/// (`--only-missing`, `--only-failed`) without one query per model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateStatus {
    /// Model id.
    pub model_id: String,
    /// Calculation date.
    pub calculation_date: NaiveDate,
    /// A row exists in `PCI_CSI_RESULTS`.
    pub has_result: bool,
    /// Status of the newest attempt for this date (order as in [`ModelOverview::latest_run`]).
    pub run_status: Option<RunStatus>,
}

/// Storage of results, runs and audit entries.
///
/// # Calls per screen, not per model
/// Readers that cover the estate use the batched calls: [`ResultsStore::overview`] (latest
/// result + worst characteristic + latest attempt of every model), [`ResultsStore::trends`]
/// (results of all or selected models in a date range) and [`ResultsStore::date_status`]
/// (which dates exist, and with what run status). A console refresh or a daily report of 1,000
/// models is therefore a constant number of calls, which matters when each call is a network
/// round trip (Snowflake). Per-model calls ([`ResultsStore::history`],
/// [`ResultsStore::characteristics`], [`ResultsStore::runs`]) serve the drill-down of one model.
///
/// # Async policy: synchronous trait, documented bridge
/// The trait is synchronous and `Send + Sync`; every method may block on I/O. The rules:
/// - **Async callers** (the console) call it inside `tokio::task::spawn_blocking`, never on a
///   runtime worker thread.
/// - **Headless callers** (CronJob / Job processes, the CLI) call it directly; no runtime exists.
/// - **An async backend** (Snowflake through `snowflake-api`, which is tokio-based) owns a
///   private tokio runtime (built once in its constructor, current-thread or a small
///   multi-thread one) and calls `runtime.block_on(..)` inside each method. This is safe from
///   both paths above: the CronJob path has no ambient runtime, and a `spawn_blocking` thread
///   is not inside an async context, so `block_on` does not panic with "Cannot start a runtime
///   from within a runtime". It must not be called from an `async fn` directly.
///
/// # Writes
/// Every write is idempotent on its key and atomic: a failed call leaves nothing half-written.
/// A non-finite index (NaN, ±inf) is refused with [`StoreError::NonFinite`] before anything is
/// written.
///
/// # Ordering
/// Orders are total and identical across backends (checked by the contract suite,
/// `store::contract` behind the `testkit` feature): results by (model, date) unless stated;
/// models by (value stream, model); attempts newest first by (`started_at`, `attempt`,
/// `run_id`) descending; characteristics score first, then CSI descending, then name.
pub trait ResultsStore: Send + Sync {
    /// Short backend name for headers: `sqlite`, `snowflake`.
    fn backend(&self) -> &'static str;

    /// Upserts one result and replaces its characteristic rows, in one transaction:
    /// [`save_result_of_run`](Self::save_result_of_run) without a run id.
    ///
    /// # Errors
    /// As [`save_result_of_run`](Self::save_result_of_run).
    fn save_result(
        &self,
        result: &ResultRecord,
        characteristics: &[CharacteristicRecord],
    ) -> Result<(), StoreError> {
        self.save_result_of_run(result, characteristics, None)
    }

    /// Upserts one result and replaces its characteristic rows, in one transaction.
    /// A rerun of the same (model, date) replaces, never duplicates. When a stored result is
    /// replaced by different values ([`result_changed`]), the replaced one is kept in
    /// `PCI_CSI_RESULTS_HISTORY` ([`ReplacedResult`]) with `run_id` as the superseding run,
    /// in the same transaction; the same values add no history row.
    ///
    /// # Errors
    /// [`StoreError::NonFinite`] for a NaN/infinite score or index (nothing written);
    /// [`StoreError::Invalid`] for a characteristic of another (model, date); backend errors.
    fn save_result_of_run(
        &self,
        result: &ResultRecord,
        characteristics: &[CharacteristicRecord],
        run_id: Option<&str>,
    ) -> Result<(), StoreError>;

    /// The replaced versions of one result (model, calculation date), oldest first
    /// (by `valid_to`, then `valid_from`); empty when it was never recomputed with a change.
    ///
    /// # Errors
    /// Backend errors; [`StoreError::Corrupt`] for an undecodable stored value.
    fn result_history(
        &self,
        model_id: &str,
        calculation_date: NaiveDate,
    ) -> Result<Vec<ReplacedResult>, StoreError>;

    /// Every replaced version of the models in `models` (unknown ids ignored) with
    /// `from <= calculation_date <= to`, ordered by model, date, then as
    /// [`result_history`](Self::result_history): one call tells the console which dates of a
    /// trend window were recomputed and what they were before.
    ///
    /// # Errors
    /// As [`result_history`](Self::result_history).
    fn recomputed(
        &self,
        models: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ReplacedResult>, StoreError>;

    /// Inserts or updates the attempt keyed by (`run_id`, `attempt`).
    fn record_attempt(&self, run: &RunRecord) -> Result<(), StoreError>;

    /// [`record_attempt`](Self::record_attempt) with a lease: a non-final attempt promises to be
    /// renewed ([`renew_lease`](Self::renew_lease)) before `lease_until`, else
    /// [`reap_expired`](Self::reap_expired) ends it as `lost` (issue 11 #1). Backends without
    /// leases (default) only record the attempt.
    fn record_attempt_leased(
        &self,
        run: &RunRecord,
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _ = lease_until;
        self.record_attempt(run)
    }

    /// Extends the lease of a non-final attempt (the running job's heartbeat). Default: no-op.
    fn renew_lease(
        &self,
        run_id: &str,
        attempt: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _ = (run_id, attempt, lease_until);
        Ok(())
    }

    /// Ends every non-final attempt whose lease expired before `now` (or that never had a lease
    /// and started more than `unleased_grace` ago) as `lost`, the reason in `error`; returns how
    /// many. Called at the start of every job, of the console and by `status`. Default: none.
    fn reap_expired(
        &self,
        now: DateTime<Utc>,
        unleased_grace: std::time::Duration,
    ) -> Result<usize, StoreError> {
        let _ = (now, unleased_grace);
        Ok(0)
    }

    /// The latest result (by calculation date) of every model, ordered by value stream, model.
    fn latest_results(&self) -> Result<Vec<ResultRecord>, StoreError>;

    /// Every model that has a result or an attempt, with its latest result, the worst
    /// characteristic of that result and its newest attempt; ordered by value stream, model.
    /// One call for the whole estate; its cost must not grow with the stored history.
    fn overview(&self) -> Result<Vec<ModelOverview>, StoreError>;

    /// Results of one model with `from <= calculation_date <= to` (bounds optional), by date.
    fn history(
        &self,
        model_id: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ResultRecord>, StoreError>;

    /// Results with `from <= calculation_date <= to` (bounds optional) of the models in
    /// `models` (`None`: every model; unknown ids are ignored), ordered by model then date.
    /// One call for the console's trend column and the report's window.
    fn trends(
        &self,
        models: Option<&[String]>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ResultRecord>, StoreError>;

    /// Results of every model in a date range, ordered by model then date: `trends(None, ..)`.
    fn history_all(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ResultRecord>, StoreError> {
        self.trends(None, from, to)
    }

    /// For the models in `models`, every date in `[from, to]` that has a result or an attempt,
    /// with whether the result exists and the newest attempt's status; ordered by model, date.
    /// Dates with neither are absent.
    fn date_status(
        &self,
        models: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DateStatus>, StoreError>;

    /// Characteristic rows (score included) of one result: score first, then CSI descending,
    /// then name ascending.
    fn characteristics(
        &self,
        model_id: &str,
        calculation_date: NaiveDate,
    ) -> Result<Vec<CharacteristicRecord>, StoreError>;

    /// Attempts, newest first; one model or all; at most `limit` rows.
    fn runs(&self, model_id: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError>;

    /// The newest attempt of every model, ordered by value stream, model.
    fn latest_runs(&self) -> Result<Vec<RunRecord>, StoreError>;

    /// Replaces the data-quality findings of one attempt (`run_id`, `attempt`) with `findings`
    /// (an empty list removes them), in one transaction. Findings are kept in their given order.
    ///
    /// # Errors
    /// Backend errors.
    fn record_findings(
        &self,
        run_id: &str,
        attempt: u32,
        findings: &[crate::quality::Finding],
    ) -> Result<(), StoreError>;

    /// The findings of the attempts of `run_ids` (unknown ids are ignored), ordered by run id,
    /// attempt, then the order they were recorded in.
    fn findings(&self, run_ids: &[String]) -> Result<Vec<FindingRecord>, StoreError>;

    /// Appends an audit entry.
    fn append_audit(&self, entry: &AuditRecord) -> Result<(), StoreError>;

    /// Audit entries, newest first (insertion order), at most `limit`.
    fn audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;

    /// Writes accepted but not yet in the backend (the Snowflake store's local pending queue);
    /// 0 for backends that write directly.
    fn pending(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// Checks that a value to be stored is finite.
///
/// # Errors
/// [`StoreError::NonFinite`] naming the field, model and date.
pub fn check_finite(
    value: f64,
    field: &str,
    model_id: &str,
    calculation_date: NaiveDate,
) -> Result<(), StoreError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(StoreError::NonFinite {
            field: field.to_string(),
            value,
            model_id: model_id.to_string(),
            calculation_date,
        })
    }
}

/// Validates a result and its characteristics before a write: finite values, every
/// characteristic belonging to the result. Backends call it first so they refuse alike.
///
/// # Errors
/// [`StoreError::NonFinite`], [`StoreError::Invalid`].
pub fn validate_result(
    result: &ResultRecord,
    characteristics: &[CharacteristicRecord],
) -> Result<(), StoreError> {
    let date = result.calculation_date;
    check_finite(result.psi_score, "psi_score", &result.model_id, date)?;
    check_finite(result.csi_score, "csi_score", &result.model_id, date)?;
    let mut names = std::collections::HashSet::new();
    for c in characteristics {
        if !names.insert(c.characteristic.as_str()) {
            return Err(StoreError::Invalid(format!(
                "characteristic {} appears twice in {} {date}",
                c.characteristic, result.model_id
            )));
        }
        if c.model_id != result.model_id || c.calculation_date != date {
            return Err(StoreError::Invalid(format!(
                "characteristic {} belongs to {} {} but the result is {} {}",
                c.characteristic, c.model_id, c.calculation_date, result.model_id, date
            )));
        }
        check_finite(
            c.index_value,
            &format!("index of {}", c.characteristic),
            &result.model_id,
            date,
        )?;
        for b in &c.bins {
            for (what, v) in [
                ("expected_share", b.expected_share),
                ("actual_share", b.actual_share),
                ("contribution", b.contribution),
            ] {
                check_finite(
                    v,
                    &format!("{what} of bin {} of {}", b.label, c.characteristic),
                    &result.model_id,
                    date,
                )?;
            }
        }
    }
    Ok(())
}

/// Joins latest results (with their worst characteristic) and latest attempts per model,
/// ordered by value stream, model: the assembly step of [`ResultsStore::overview`] for a
/// backend that fetches the two halves with two queries.
pub fn merge_overview(
    latest: Vec<(ResultRecord, Option<WorstCharacteristic>)>,
    runs: Vec<RunRecord>,
) -> Vec<ModelOverview> {
    let mut by_model: std::collections::BTreeMap<String, ModelOverview> =
        std::collections::BTreeMap::new();
    for (result, worst) in latest {
        by_model.insert(
            result.model_id.clone(),
            ModelOverview {
                model_id: result.model_id.clone(),
                value_stream: result.value_stream.clone(),
                latest: Some(result),
                worst,
                latest_run: None,
            },
        );
    }
    for run in runs {
        let entry = by_model
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
    let mut out: Vec<ModelOverview> = by_model.into_values().collect();
    out.sort_by(|a, b| (&a.value_stream, &a.model_id).cmp(&(&b.value_stream, &b.model_id)));
    out
}
