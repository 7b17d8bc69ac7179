//! Connection to Snowflake: one reused session, a timeout per statement, retries with backoff on
//! transient failures only, re-login when the session expired.
//!
//! Async policy: [`SnowflakeClient`] is synchronous. It owns a private one-worker tokio runtime
//! and blocks on it; called from inside another runtime (the console's), the statement runs on a
//! scoped helper thread so the caller's runtime is never blocked re-entrantly.
//!
//! Classification of failures (see [`SnowflakeError`]):
//! - Snowflake rejected the statement (`ApiError` with a SQL error code): returned at once as
//!   [`SnowflakeError::Sql`], never retried;
//! - session or token expired (codes 390112, 390114, 390111, or the crate's token renewal failing):
//!   the session is dropped and the statement retried after a fresh login;
//! - network errors, responses that are not Snowflake JSON (gateway 5xx pages), timeouts: retried
//!   with exponential backoff, then [`SnowflakeError::Unreachable`];
//! - a rejected login (wrong password, unknown user): [`SnowflakeError::Auth`], never retried.
//!
//! Every statement the store sends is idempotent (`MERGE`, `CREATE ... IF NOT EXISTS`, `SELECT`),
//! so a retry after a timeout that did reach the server is harmless.

use std::net::ToSocketAddrs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use snowflake_api::{
    AuthArgs, AuthType, CertificateArgs, PasswordArgs, QueryResult, SnowflakeApi,
    SnowflakeApiBuilder, SnowflakeApiError,
};

use super::SnowflakeError;
use super::settings::{Secret, SnowflakeSettings};

/// Session-expired error codes: re-login and retry.
// Session gone or its token expired or invalid: log in again (the codes of Snowflake's connectors,
// e.g. snowflake-connector-nodejs `gs_errors.js`: 390104 SESSION_TOKEN_INVALID, 390111
// GONE_SESSION, 390112 SESSION_TOKEN_EXPIRED, 390114 MASTER_TOKEN_EXPIRED).
const RELOGIN_CODES: [&str; 4] = ["390104", "390111", "390112", "390114"];

/// Counters of what a client sent (for measurements and tests).
#[derive(Debug, Default)]
pub struct ClientStats {
    statements: AtomicU64,
    attempts: AtomicU64,
    logins: AtomicU64,
}

impl ClientStats {
    /// Statements executed (each counted once, however many attempts it took).
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
    /// HTTP query attempts, retries included.
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }
    /// Sessions opened (first login plus re-logins).
    pub fn logins(&self) -> u64 {
        self.logins.load(Ordering::Relaxed)
    }
}

/// A synchronous Snowflake client with a reused session. Thread-safe.
pub struct SnowflakeClient {
    settings: SnowflakeSettings,
    secret: Secret,
    http: reqwest_middleware::ClientWithMiddleware,
    session: Mutex<Option<Arc<SnowflakeApi>>>,
    runtime: tokio::runtime::Runtime,
    stats: ClientStats,
}

impl std::fmt::Debug for SnowflakeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnowflakeClient")
            .field("account", &self.settings.account)
            .field("user", &self.settings.user)
            .field("database", &self.settings.database)
            .field("schema", &self.settings.schema)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

enum Failure {
    Fatal(SnowflakeError),
    Relogin(String),
    Transient(String),
}

impl SnowflakeClient {
    /// Builds the client: reads the secret (relative files against `base`), the optional CA file
    /// and address override. No network traffic until the first statement.
    ///
    /// # Errors
    /// [`SnowflakeError::Config`] for invalid settings, unreadable secret or CA, bad address.
    pub fn new(settings: &SnowflakeSettings, base: &Path) -> Result<Self, SnowflakeError> {
        settings.validate()?;
        let secret = settings.secret(base)?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(concat!("driftdeck/", env!("CARGO_PKG_VERSION")))
            .gzip(true)
            .connect_timeout(Duration::from_secs(10))
            .timeout(settings.query_timeout() + Duration::from_secs(5));
        if let Some(ca) = &settings.ca_file {
            let path = base.join(ca);
            let pem = std::fs::read(&path).map_err(|e| {
                SnowflakeError::Config(format!("[store] ca_file {}: {e}", path.display()))
            })?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                SnowflakeError::Config(format!("[store] ca_file {}: {e}", path.display()))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        if let Some(address) = &settings.address {
            let addr = address
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| {
                    SnowflakeError::Config(format!(
                        "[store] address {address:?}: expected host:port"
                    ))
                })?;
            builder = builder.resolve(&settings.host(), addr);
        }
        let http = builder
            .build()
            .map_err(|e| SnowflakeError::Config(format!("cannot build HTTP client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("driftdeck-snowflake")
            .enable_all()
            .build()
            .map_err(|e| SnowflakeError::Config(format!("cannot start runtime: {e}")))?;
        Ok(Self {
            settings: settings.clone(),
            secret,
            http: reqwest_middleware::ClientBuilder::new(http).build(),
            session: Mutex::new(None),
            runtime,
            stats: ClientStats::default(),
        })
    }

    /// The settings this client was built from.
    pub fn settings(&self) -> &SnowflakeSettings {
        &self.settings
    }

    /// What was sent so far.
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    fn api(&self) -> Result<Arc<SnowflakeApi>, SnowflakeError> {
        let mut guard = self
            .session
            .lock()
            .map_err(|_| SnowflakeError::Config("session lock poisoned".into()))?;
        if let Some(api) = guard.as_ref() {
            return Ok(Arc::clone(api));
        }
        let s = &self.settings;
        let auth_type = match &self.secret {
            Secret::Password(p) => AuthType::Password(PasswordArgs {
                password: p.clone(),
            }),
            Secret::PrivateKeyPem(k) => AuthType::Certificate(CertificateArgs {
                private_key_pem: k.clone(),
            }),
        };
        let auth = AuthArgs {
            account_identifier: s.account.clone(),
            warehouse: s.warehouse.clone(),
            database: Some(s.database.clone()),
            schema: Some(s.schema.clone()),
            username: s.user.clone(),
            role: s.role.clone(),
            auth_type,
        };
        let api = SnowflakeApiBuilder::new(auth)
            .with_client(self.http.clone())
            .build()
            .map_err(|e| SnowflakeError::Config(format!("cannot build session: {e}")))?;
        self.stats.logins.fetch_add(1, Ordering::Relaxed);
        let api = Arc::new(api);
        *guard = Some(Arc::clone(&api));
        Ok(api)
    }

    fn drop_session(&self) {
        if let Ok(mut guard) = self.session.lock() {
            *guard = None;
        }
    }

    /// Runs one statement. `kind` names it in errors (`MERGE results`, `SELECT history`).
    ///
    /// # Errors
    /// See the module documentation.
    pub fn execute(&self, kind: &'static str, sql: &str) -> Result<QueryResult, SnowflakeError> {
        self.stats.statements.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(kind, bytes = sql.len(), "snowflake statement");
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|scope| {
                scope
                    .spawn(|| self.runtime.block_on(self.execute_async(kind, sql)))
                    .join()
                    .unwrap_or_else(|_| {
                        Err(SnowflakeError::Unreachable {
                            kind,
                            attempts: 0,
                            message: "statement thread panicked".into(),
                        })
                    })
            })
        } else {
            self.runtime.block_on(self.execute_async(kind, sql))
        }
    }

    async fn execute_async(
        &self,
        kind: &'static str,
        sql: &str,
    ) -> Result<QueryResult, SnowflakeError> {
        let attempts = self.settings.attempts.clamp(1, 20);
        let mut delay = Duration::from_millis(self.settings.backoff_ms.min(60_000));
        let mut last = String::new();
        for attempt in 1..=attempts {
            self.stats.attempts.fetch_add(1, Ordering::Relaxed);
            let api = self.api()?;
            let outcome = tokio::time::timeout(self.settings.query_timeout(), api.exec(sql)).await;
            let failure = match outcome {
                Ok(Ok(result)) => return Ok(result),
                Ok(Err(e)) => classify(kind, e),
                Err(_) => Failure::Transient(format!(
                    "no answer within {} s",
                    self.settings.query_timeout().as_secs()
                )),
            };
            match failure {
                Failure::Fatal(e) => return Err(e),
                Failure::Relogin(m) => {
                    tracing::warn!(kind, attempt, "snowflake session expired, logging in again");
                    self.drop_session();
                    last = m;
                    // A fresh login is worth an immediate retry.
                    continue;
                }
                Failure::Transient(m) => {
                    tracing::warn!(kind, attempt, error = %m, "snowflake statement failed, retrying");
                    // The session may be gone with the server: start over with a fresh one.
                    self.drop_session();
                    last = m;
                }
            }
            if attempt < attempts {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
        Err(SnowflakeError::Unreachable {
            kind,
            attempts,
            message: last,
        })
    }
}

fn classify(kind: &'static str, err: SnowflakeApiError) -> Failure {
    use snowflake_api::connection::ConnectionError;
    match err {
        SnowflakeApiError::ApiError(code, message) => {
            if RELOGIN_CODES.contains(&code.as_str()) {
                Failure::Relogin(format!("Snowflake error {code}: {message}"))
            } else {
                Failure::Fatal(SnowflakeError::Sql {
                    kind,
                    code,
                    message: bounded(&message),
                })
            }
        }
        SnowflakeApiError::AuthError(auth) => classify_auth(&auth),
        SnowflakeApiError::RequestError(
            ConnectionError::UrlParsing(_) | ConnectionError::InvalidHeader(_),
        ) => Failure::Fatal(SnowflakeError::Config(format!("{kind}: {err}"))),
        SnowflakeApiError::RequestError(e) => Failure::Transient(e.to_string()),
        SnowflakeApiError::ArrowError(e) => Failure::Fatal(SnowflakeError::Decode {
            kind,
            message: e.to_string(),
        }),
        SnowflakeApiError::EmptyResponse | SnowflakeApiError::BrokenResponse => {
            Failure::Transient(err.to_string())
        }
        other => Failure::Fatal(SnowflakeError::Decode {
            kind,
            message: other.to_string(),
        }),
    }
}

/// The crate's `AuthError` is not public: classify by its error chain and text.
fn classify_auth(auth: &(dyn std::error::Error + 'static)) -> Failure {
    let text = auth.to_string();
    if let Some(rest) = text.strip_prefix("Failed to authenticate. Error code: ") {
        let (code, message) = rest.split_once(". Message: ").unwrap_or((rest, ""));
        return Failure::Fatal(SnowflakeError::Auth {
            code: code.to_owned(),
            message: bounded(message),
        });
    }
    let mut source = auth.source();
    while let Some(e) = source {
        if e.is::<reqwest::Error>() || e.is::<std::io::Error>() || e.is::<serde_json::Error>() {
            return Failure::Transient(format!("login: {text}"));
        }
        source = e.source();
    }
    if text.contains("token") {
        return Failure::Relogin(text);
    }
    // Network failures surface as the transparent request error with no further source.
    if text.contains("error sending request") || text.contains("connect") {
        return Failure::Transient(format!("login: {text}"));
    }
    Failure::Fatal(SnowflakeError::Auth {
        code: String::new(),
        message: bounded(&text),
    })
}

/// Server messages can echo the statement; keep them to a readable size.
fn bounded(message: &str) -> String {
    const MAX: usize = 500;
    if message.chars().count() <= MAX {
        message.to_owned()
    } else {
        let mut s: String = message.chars().take(MAX).collect();
        s.push('…');
        s
    }
}
