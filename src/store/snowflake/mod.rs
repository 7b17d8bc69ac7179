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

impl SnowflakeError {
    /// Whether the failure is Snowflake being unavailable (worth queueing results for later),
    /// as opposed to a configuration, login or SQL error.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }
}
