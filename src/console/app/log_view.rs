//! The log pane's state: which log is shown, its buffer, scroll, follow and search.

use crate::console::logbuf::{DEFAULT_LOG_CAPACITY, LogBuffer};

/// Which log the log pane shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogSource {
    /// A stored run attempt (its log file).
    Run {
        /// Run id.
        run_id: String,
        /// Attempt.
        attempt: u32,
    },
    /// A job started from this console.
    Job(String),
}

impl LogSource {
    /// Short label for titles and file names.
    pub fn label(&self) -> String {
        match self {
            LogSource::Run { run_id, attempt } => format!("{run_id}#{attempt}"),
            LogSource::Job(id) => id.clone(),
        }
    }
}

/// State of the log pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogView {
    /// Lines (bounded).
    pub buffer: LogBuffer,
    /// What is shown.
    pub source: Option<LogSource>,
    /// Keep the view at the newest line.
    pub follow: bool,
    /// Wrap long lines.
    pub wrap: bool,
    /// Search text (highlighted).
    pub search: String,
    /// First line shown when not following.
    pub scroll: usize,
    /// Why the log cannot be shown (missing file, no log kept).
    pub error: Option<String>,
}

impl Default for LogView {
    fn default() -> Self {
        Self {
            buffer: LogBuffer::new(DEFAULT_LOG_CAPACITY),
            source: None,
            follow: true,
            wrap: false,
            search: String::new(),
            scroll: 0,
            error: None,
        }
    }
}
