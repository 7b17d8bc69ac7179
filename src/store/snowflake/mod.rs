//! Snowflake results store and sources, on the `snowflake-api` crate (Snowflake's connector
//! protocol over HTTPS).
//!
//! - [`sql`]: the one module that renders values and identifiers into SQL text (the crate cannot
//!   bind parameters);
//! - [`settings`]: `[store] kind = "snowflake"` configuration and secrets;
//! - [`client`]: session reuse, per-statement timeout, retries and re-login;
//! - [`decode`]: Arrow and JSON results into typed rows.

pub mod client;
pub mod decode;
pub mod outbox;
pub mod settings;
pub mod sql;
pub mod store;

pub use client::SnowflakeClient;
pub use settings::SnowflakeSettings;
pub use store::SnowflakeStore;

/// Errors of the Snowflake backend. Messages name the statement kind and Snowflake's error code,
/// never a secret.
#[derive(Debug, thiserror::Error)]
pub enum SnowflakeError {
    /// Invalid settings, unreadable secret or CA file.
    #[error("Snowflake configuration: {0}")]
    Config(String),
    /// Login rejected (wrong password or key, unknown user or role).
    #[error("Snowflake login rejected (error {code}): {message}")]
    Auth {
        /// Snowflake's error code.
        code: String,
        /// Snowflake's message.
        message: String,
    },
    /// Snowflake rejected a statement (SQL error); never retried.
    #[error("{kind}: Snowflake error {code}: {message}")]
    Sql {
        /// Statement kind, e.g. `MERGE results`.
        kind: &'static str,
        /// Snowflake's error code.
        code: String,
        /// Snowflake's message.
        message: String,
    },
    /// Network failures, 5xx or timeouts on every attempt.
    #[error("{kind}: Snowflake unreachable after {attempts} attempt(s): {message}")]
    Unreachable {
        /// Statement kind.
        kind: &'static str,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
    /// A result that cannot be decoded (unexpected type, malformed value, too many rows).
    #[error("{kind}: cannot decode Snowflake result: {message}")]
    Decode {
        /// Statement kind.
        kind: &'static str,
        /// What was wrong.
        message: String,
    },
    /// A value that cannot be rendered as SQL.
    #[error("cannot render SQL: {0}")]
    Literal(#[from] sql::SqlError),
}

/// What [`copy_history`] copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Results (with their characteristics).
    pub results: u64,
    /// Run attempts.
    pub attempts: u64,
}

/// Copies every result (with characteristics) and every attempt of `source` (an embedded
/// store) into `target`, then sends them (`driftdeck migrate --from sqlite:PATH`). Idempotent:
/// writes are MERGEs on the keys, so a second copy changes nothing. The audit log is not copied
/// (its entries have no natural key, a second copy would duplicate them).
///
/// # Errors
/// Read errors of the source, write or send errors of the target.
pub fn copy_history(
    source: &dyn crate::store::ResultsStore,
    target: &SnowflakeStore,
) -> Result<CopyReport, crate::store::StoreError> {
    use crate::store::ResultsStore;
    let mut report = CopyReport::default();
    for result in source.trends(None, None, None)? {
        let characteristics = source.characteristics(&result.model_id, result.calculation_date)?;
        target.save_result(&result, &characteristics)?;
        report.results += 1;
    }
    for run in source.runs(None, 1 << 40)? {
        target.record_attempt(&run)?;
        report.attempts += 1;
    }
    target.sync()?;
    Ok(report)
}

impl SnowflakeError {
    /// Whether the failure is Snowflake being unavailable (worth queueing results for later),
    /// as opposed to a configuration, login or SQL error.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }
}
