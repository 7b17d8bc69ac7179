//! Notification senders beyond the embedded outbox: Slack incoming webhooks ([`SlackNotifier`],
//! reqwest over rustls) and e-mail over SMTP ([`EmailNotifier`], lettre with STARTTLS or implicit
//! TLS and authentication). Both implement [`Notifier`](crate::jobs::Notifier).
//!
//! Secrets (the webhook URL, the SMTP password) come only from the environment: the variable
//! named in the configuration, or a file named by `<VAR>_FILE` (a mounted Kubernetes Secret).
//! They are never logged, never part of an error message and redacted from `Debug`.
//! Delivery is retried ([`DeliveryRetry`]) and each failed attempt logged; the final error goes
//! back to the caller, which logs it and never fails the job because of it.

mod email;
mod slack;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use email::{EmailNotifier, EmailSettings, SmtpTls};
pub use slack::{SlackNotifier, SlackSettings};

/// Why a notification could not be delivered (no secret is ever part of it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeliveryError {
    /// A secret or setting is missing or unusable.
    #[error("notification setup: {0}")]
    Setup(String),
    /// Every attempt failed; the last error.
    #[error("{target}: not delivered after {attempts} attempt(s): {last}")]
    Failed {
        /// `slack webhook` or `smtp host:port`.
        target: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: String,
    },
}

/// A secret that never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value (only for the transport itself).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Largest secret file read (bytes).
const MAX_SECRET_FILE: u64 = 16 * 1024;

/// Reads secret `var`: its value in the environment (through `env`), else the content of the file
/// named by `<var>_FILE` (trailing newline trimmed, at most 16 KiB).
///
/// # Errors
/// [`DeliveryError::Setup`] naming the variable (never the value) when neither is set or the
/// file cannot be read.
pub fn read_secret(
    var: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, DeliveryError> {
    if let Some(v) = env(var).filter(|v| !v.trim().is_empty()) {
        return Ok(Secret(v.trim().to_string()));
    }
    let file_var = format!("{var}_FILE");
    if let Some(path) = env(&file_var).filter(|v| !v.trim().is_empty()) {
        let path = std::path::Path::new(path.trim());
        let meta = std::fs::metadata(path).map_err(|e| {
            DeliveryError::Setup(format!("{file_var}: cannot read {}: {e}", path.display()))
        })?;
        if meta.len() > MAX_SECRET_FILE {
            return Err(DeliveryError::Setup(format!(
                "{file_var}: {} is larger than 16 KiB",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            DeliveryError::Setup(format!("{file_var}: cannot read {}: {e}", path.display()))
        })?;
        let text = text.trim();
        if text.is_empty() {
            return Err(DeliveryError::Setup(format!(
                "{file_var}: {} is empty",
                path.display()
            )));
        }
        return Ok(Secret(text.to_string()));
    }
    Err(DeliveryError::Setup(format!(
        "secret not set: environment variable {var} (or {file_var} naming a file)"
    )))
}

/// Attempts and backoff of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRetry {
    /// Attempts (1..=10). Default 3.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Delay before the second attempt, doubled for each further one, in milliseconds
    /// (≤ 60,000). Default 1,000.
    #[serde(default = "default_delay_ms")]
    pub delay_ms: u64,
    /// Timeout of one attempt in seconds (1..=120). Default 10.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_attempts() -> u32 {
    3
}
fn default_delay_ms() -> u64 {
    1000
}
fn default_timeout() -> u64 {
    10
}

impl Default for DeliveryRetry {
    fn default() -> Self {
        Self {
            attempts: default_attempts(),
            delay_ms: default_delay_ms(),
            timeout_seconds: default_timeout(),
        }
    }
}

impl DeliveryRetry {
    fn bounded(self) -> Self {
        Self {
            attempts: self.attempts.clamp(1, 10),
            delay_ms: self.delay_ms.min(60_000),
            timeout_seconds: self.timeout_seconds.clamp(1, 120),
        }
    }

    /// Runs `attempt` until it succeeds or the attempts are used up; `Err((message, retryable))`.
    fn run(
        self,
        target: &str,
        mut attempt: impl FnMut() -> Result<(), (String, bool)>,
    ) -> Result<(), DeliveryError> {
        let r = self.bounded();
        let mut delay = Duration::from_millis(r.delay_ms);
        let mut last = String::new();
        for n in 1..=r.attempts {
            match attempt() {
                Ok(()) => return Ok(()),
                Err((msg, retryable)) => {
                    tracing::warn!(event = "notify_attempt", target, attempt = n, error = %msg, "notification attempt failed");
                    last = msg;
                    if !retryable {
                        return Err(DeliveryError::Failed {
                            target: target.to_string(),
                            attempts: n,
                            last,
                        });
                    }
                    if n < r.attempts {
                        std::thread::sleep(delay);
                        delay *= 2;
                    }
                }
            }
        }
        Err(DeliveryError::Failed {
            target: target.to_string(),
            attempts: r.attempts,
            last,
        })
    }
}

/// At most `max` characters of `text`, with a marker when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max).collect();
    s.push_str("\n… (truncated)");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_env_or_file_and_never_show() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("hook");
        std::fs::write(&file, "https://hooks.example/T/B/XYZ\n").expect("write");
        let f = file.display().to_string();
        let env = move |k: &str| (k == "HOOK_FILE").then(|| f.clone());
        let s = read_secret("HOOK", &env).expect("from file");
        assert_eq!(s.expose(), "https://hooks.example/T/B/XYZ");
        assert!(!format!("{s:?}").contains("XYZ"));
        let none = |_: &str| None;
        let e = read_secret("HOOK", &none).expect_err("unset");
        assert!(e.to_string().contains("HOOK"));
    }

    #[test]
    fn retry_stops_on_permanent_errors_and_counts_attempts() {
        let r = DeliveryRetry {
            attempts: 3,
            delay_ms: 1,
            timeout_seconds: 1,
        };
        let mut n = 0;
        let e = r
            .run("t", || {
                n += 1;
                Err(("boom".into(), true))
            })
            .expect_err("fails");
        assert_eq!(n, 3);
        assert!(e.to_string().contains("3 attempt(s): boom"));
        let mut m = 0;
        let _ = r.run("t", || {
            m += 1;
            Err(("400".into(), false))
        });
        assert_eq!(m, 1);
        let mut k = 0;
        r.run("t", || {
            k += 1;
            if k < 2 {
                Err(("x".into(), true))
            } else {
                Ok(())
            }
        })
        .expect("second attempt succeeds");
    }
}
