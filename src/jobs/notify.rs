//! Notifications on final failure (README, Design §5).
//!
//! The embedded default, [`OutboxNotifier`], appends one JSON object per notification to an outbox
//! file in the workspace (`notifications.jsonl`), which the console and tests can read; mail (SMTP)
//! and Slack senders plug in behind the same [`Notifier`] trait.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A message to the model's team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// One-line subject, e.g. `driftdeck: jfk_delay 2013-02-01 failed after 3 attempts`.
    pub subject: String,
    /// Details (the last error).
    pub body: String,
    /// E-mail recipients.
    pub email: Vec<String>,
    /// Slack channel, if any.
    pub slack: Option<String>,
}

/// Why a notification was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The notification could not be written to its target (file, socket).
    #[error("cannot {what} {target}: {source}")]
    Io {
        /// What was attempted, e.g. `write outbox`.
        what: &'static str,
        /// The target (path, host).
        target: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The notification could not be encoded.
    #[error("cannot encode the notification: {0}")]
    Encode(#[from] serde_json::Error),
    /// The target refused it (e.g. an HTTP status), with its answer.
    #[error("{target} refused the notification: {message}")]
    Refused {
        /// The target.
        target: String,
        /// Its answer, bounded.
        message: String,
    },
}

/// Something that delivers notifications.
pub trait Notifier: Send + Sync {
    /// Delivers one notification.
    ///
    /// # Errors
    /// [`NotifyError`] (the caller logs it; a failed notification never hides the job's own
    /// error).
    fn notify(&self, notification: &Notification) -> Result<(), NotifyError>;

    /// One line for `driftdeck info` and `doctor`, e.g. `outbox /ws/outbox/notifications.jsonl`.
    fn describe(&self) -> String;
}

/// Appends notifications as JSON lines to a file.
pub struct OutboxNotifier {
    path: PathBuf,
    lock: Mutex<()>,
}

impl OutboxNotifier {
    /// An outbox at `path` (the file and its directory are created on first notification).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }
}

impl OutboxNotifier {
    /// The outbox file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Notifier for OutboxNotifier {
    fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        // A poisoned lock only means another writer panicked mid-line; appending is still safe.
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let line = serde_json::to_string(notification)?;
        let target = || self.path.display().to_string();
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| NotifyError::Io {
                what: "create the outbox directory of",
                target: target(),
                source,
            })?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|source| NotifyError::Io {
                what: "open outbox",
                target: target(),
                source,
            })?;
        writeln!(file, "{line}").map_err(|source| NotifyError::Io {
            what: "write outbox",
            target: target(),
            source,
        })
    }

    fn describe(&self) -> String {
        format!("outbox {}", self.path.display())
    }
}
