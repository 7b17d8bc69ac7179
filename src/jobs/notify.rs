//! Notifications on final failure (DESIGN section 7).
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

/// Something that delivers notifications.
pub trait Notifier: Send + Sync {
    /// Delivers one notification.
    ///
    /// # Errors
    /// A description of the delivery failure (the caller logs it; a failed notification never
    /// hides the job's own error).
    fn notify(&self, notification: &Notification) -> Result<(), String>;
}

/// Appends notifications as JSON lines to a file.
pub struct OutboxNotifier {
    path: PathBuf,
    lock: Mutex<()>,
}

impl OutboxNotifier {
    /// An outbox at `path` (created on first notification).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }
}

impl Notifier for OutboxNotifier {
    fn notify(&self, notification: &Notification) -> Result<(), String> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| "outbox lock poisoned".to_string())?;
        let line = serde_json::to_string(notification).map_err(|e| e.to_string())?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| format!("cannot open outbox {}: {e}", self.path.display()))?;
        writeln!(file, "{line}")
            .map_err(|e| format!("cannot write outbox {}: {e}", self.path.display()))
    }
}
