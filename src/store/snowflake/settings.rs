//! `[store] kind = "snowflake"` settings and the secret they point to.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SnowflakeError;

/// Connection settings of the Snowflake results store (`[store]` with `kind = "snowflake"`).
///
/// The secret itself is never part of the configuration: `password_env` names an environment
/// variable, `password_file` / `private_key_file` name files (Kubernetes secret mounts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnowflakeSettings {
    /// Account identifier: the host is `<account>.snowflakecomputing.com`.
    pub account: String,
    /// Login name.
    pub user: String,
    /// Environment variable holding the password (default `SNOWFLAKE_PASSWORD` when no other
    /// secret is configured).
    #[serde(default)]
    pub password_env: Option<String>,
    /// File holding the password (first line; trailing newline ignored).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// PEM file with the unencrypted PKCS#8 private key for key-pair (JWT) login.
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    /// Role to assume.
    #[serde(default)]
    pub role: Option<String>,
    /// Warehouse running the queries.
    #[serde(default)]
    pub warehouse: Option<String>,
    /// Database holding the results tables.
    pub database: String,
    /// Schema holding the results tables.
    pub schema: String,
    /// Connect to this `host:port` instead of resolving the account's host name (private links,
    /// tests). TLS still verifies the certificate for the account's host name.
    #[serde(default)]
    pub address: Option<String>,
    /// Extra root certificate (PEM) to trust, e.g. a private CA or the test CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Time one statement may take, seconds (default 120), retries excluded.
    #[serde(default = "default_query_timeout")]
    pub query_timeout_secs: u64,
    /// Attempts per statement on transient failures (network, 5xx, timeout, expired session),
    /// default 3. SQL errors are never retried.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// First retry delay in milliseconds (doubles per attempt), default 500.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// SQLite file (relative to the workspace) queueing results Snowflake did not accept;
    /// default `pending.sqlite`. On Kubernetes it must be on the shared (EFS) workspace volume.
    #[serde(default = "default_pending")]
    pub pending_path: PathBuf,
    /// Queued writes that trigger a send to Snowflake (default 1000); smaller sends more often.
    #[serde(default = "default_batch_rows")]
    pub batch_rows: u64,
}

fn default_batch_rows() -> u64 {
    1000
}

fn default_query_timeout() -> u64 {
    120
}
fn default_attempts() -> u32 {
    3
}
fn default_backoff_ms() -> u64 {
    500
}
fn default_pending() -> PathBuf {
    "pending.sqlite".into()
}

impl SnowflakeSettings {
    /// Settings with the given identity and defaults for everything else (tests, tools).
    pub fn new(account: &str, user: &str, database: &str, schema: &str) -> Self {
        Self {
            account: account.to_owned(),
            user: user.to_owned(),
            password_env: None,
            password_file: None,
            private_key_file: None,
            role: None,
            warehouse: None,
            database: database.to_owned(),
            schema: schema.to_owned(),
            address: None,
            ca_file: None,
            query_timeout_secs: default_query_timeout(),
            attempts: default_attempts(),
            backoff_ms: default_backoff_ms(),
            pending_path: default_pending(),
            batch_rows: default_batch_rows(),
        }
    }

    /// Per-statement timeout.
    pub fn query_timeout(&self) -> Duration {
        Duration::from_secs(self.query_timeout_secs.clamp(1, 24 * 3600))
    }

    /// The account's host name, lower-cased (`acme-prod.snowflakecomputing.com`).
    pub fn host(&self) -> String {
        format!(
            "{}.snowflakecomputing.com",
            self.account.to_ascii_lowercase()
        )
    }

    /// Checks the settings without touching the network or secrets.
    ///
    /// # Errors
    /// [`SnowflakeError::Config`] naming the field.
    pub fn validate(&self) -> Result<(), SnowflakeError> {
        let ok_account = !self.account.is_empty()
            && self.account.len() <= 255
            && self
                .account
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !ok_account {
            return Err(SnowflakeError::Config(format!(
                "[store] account {:?}: expected letters, digits, '-', '_' or '.'",
                self.account.chars().take(64).collect::<String>()
            )));
        }
        for (field, value) in [
            ("user", Some(&self.user)),
            ("database", Some(&self.database)),
            ("schema", Some(&self.schema)),
            ("role", self.role.as_ref()),
            ("warehouse", self.warehouse.as_ref()),
        ] {
            if let Some(v) = value {
                super::sql::ident(v)
                    .map_err(|e| SnowflakeError::Config(format!("[store] {field}: {e}")))?;
            }
        }
        let secrets = [
            self.password_env.is_some(),
            self.password_file.is_some(),
            self.private_key_file.is_some(),
        ];
        if secrets.iter().filter(|s| **s).count() > 1 {
            return Err(SnowflakeError::Config(
                "[store] set only one of password_env, password_file, private_key_file".into(),
            ));
        }
        Ok(())
    }

    /// Reads the secret the settings point to (relative files against `base`).
    ///
    /// # Errors
    /// [`SnowflakeError::Config`] naming the variable or file (never its content).
    pub fn secret(&self, base: &Path) -> Result<Secret, SnowflakeError> {
        if let Some(file) = &self.private_key_file {
            let path = base.join(file);
            let pem = read_secret_file(&path)?;
            if !pem.contains("-----BEGIN") {
                return Err(SnowflakeError::Config(format!(
                    "[store] private_key_file {}: not a PEM file",
                    path.display()
                )));
            }
            return Ok(Secret::PrivateKeyPem(pem));
        }
        if let Some(file) = &self.password_file {
            let path = base.join(file);
            let text = read_secret_file(&path)?;
            let line = text.lines().next().unwrap_or("").to_owned();
            return Ok(Secret::Password(line));
        }
        let var = self.password_env.as_deref().unwrap_or("SNOWFLAKE_PASSWORD");
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Secret::Password(v)),
            _ => Err(SnowflakeError::Config(format!(
                "[store] password_env: environment variable {var} is not set or empty"
            ))),
        }
    }
}

fn read_secret_file(path: &Path) -> Result<String, SnowflakeError> {
    const MAX: u64 = 64 * 1024;
    let meta = std::fs::metadata(path).map_err(|e| {
        SnowflakeError::Config(format!("cannot read secret file {}: {e}", path.display()))
    })?;
    if meta.len() > MAX {
        return Err(SnowflakeError::Config(format!(
            "secret file {} is larger than {MAX} bytes",
            path.display()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| {
        SnowflakeError::Config(format!("cannot read secret file {}: {e}", path.display()))
    })
}

/// A login secret. `Debug` never shows it.
#[derive(Clone)]
pub enum Secret {
    /// Password login.
    Password(String),
    /// Key-pair login (PEM, PKCS#8).
    PrivateKeyPem(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(***)"),
            Self::PrivateKeyPem(_) => f.write_str("PrivateKeyPem(***)"),
        }
    }
}
