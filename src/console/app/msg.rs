//! Messages into `update` ([`Msg`]) and effects out of it ([`Effect`]).

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use crossterm::event::KeyEvent;

use crate::console::action::{Action, DispatchReport};
use crate::orchestrator::JobEvent;
use crate::orchestrator::LogRef;
use crate::orchestrator::{ScheduleState, TargetKind};
use crate::store::CharacteristicRecord;

use super::{Detail, LogSource, Overview};

/// What the console asks the runtime to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Query latest results, latest runs and recent trends.
    LoadOverview,
    /// Query the history and runs of a model.
    LoadDetail(String),
    /// Query the characteristic rows of one result.
    LoadCharacteristics {
        /// Model id.
        model_id: String,
        /// Calculation date.
        date: NaiveDate,
    },
    /// Read the last benchmark refresh runs and the kept versions of their models and of these
    /// models (the refresh view, a rollback's confirm dialog).
    LoadRefreshes(Vec<String>),
    /// Send a confirmed action to the dispatcher.
    Dispatch(Action),
    /// Follow a log for `source` through the orchestrator (replacing any current tail);
    /// `None` stops tailing.
    TailLog {
        /// Log shown.
        source: LogSource,
        /// The log, as the orchestrator or the run's record names it (opaque).
        log: Option<LogRef>,
    },
    /// Write the log buffer to a file.
    SaveLog {
        /// Target file.
        path: PathBuf,
        /// Content.
        text: String,
    },
    /// List the orchestrator's contexts or namespaces (answer: [`Msg::Targets`]).
    LoadTargets(TargetKind),
    /// Move the orchestrator to another context or namespace, in the background (answer:
    /// [`Msg::TargetSwitched`]).
    SwitchTarget {
        /// Context or namespace.
        kind: TargetKind,
        /// Its name.
        name: String,
    },
    /// Leave the UI loop.
    Quit,
}

/// Everything the runtime reports to the UI loop.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// The terminal was resized.
    Resize(u16, u16),
    /// Periodic refresh (coalesced: ignored while a load is in flight).
    RefreshTick,
    /// Wall clock, for durations of running attempts.
    Now(DateTime<Utc>),
    /// Overview query result.
    Overview(Result<Overview, String>),
    /// Detail query result for a model.
    Detail {
        /// Model asked for.
        model_id: String,
        /// Result.
        result: Result<Detail, String>,
    },
    /// Characteristic rows of (model, date).
    Characteristics {
        /// Model.
        model_id: String,
        /// Calculation date.
        date: NaiveDate,
        /// Rows (score first, then CSI descending) or the error.
        result: Result<Vec<CharacteristicRecord>, String>,
    },
    /// The refresh view's data, or why it could not be read.
    Refreshes(Result<crate::console::refreshes::RefreshData, String>),
    /// A job's state changed (the orchestrator's own event: the job's new snapshot). Its log
    /// lines arrive separately, as [`Msg::LogLines`] of [`LogSource::Job`].
    Job(JobEvent),
    /// The dispatcher's answer to an action.
    Dispatched(DispatchReport),
    /// New lines of the tailed log.
    LogLines {
        /// Log they belong to.
        source: LogSource,
        /// Lines.
        lines: Vec<String>,
    },
    /// The tailed log could not be read.
    LogError {
        /// Log.
        source: LogSource,
        /// Message.
        message: String,
    },
    /// Result of saving a log.
    LogSaved(Result<PathBuf, String>),
    /// The orchestrator's contexts or namespaces, or why they could not be listed.
    Targets {
        /// What was listed.
        kind: TargetKind,
        /// Names, or the error.
        result: Result<Vec<String>, String>,
    },
    /// The answer to [`Effect::SwitchTarget`]: the orchestrator's new header label, or why it
    /// stayed where it was.
    TargetSwitched {
        /// Context or namespace.
        kind: TargetKind,
        /// Name asked for.
        name: String,
        /// New label (`kubernetes <context>/<namespace>`) or the error.
        result: Result<String, String>,
    },
    /// The models' schedules (CronJobs) with their suspended flag, listed with each refresh
    /// on Kubernetes.
    Schedules(Result<Vec<ScheduleState>, String>),
    /// The backends' health check at start: one line per failing backend
    /// (`backend: problem — fix: ...`); empty when all are healthy.
    Health(Vec<String>),
    /// Depth of the results store's local pending queue (writes not yet in the backend; the
    /// Snowflake store's queue, 0 for a store that writes directly), polled after every
    /// overview load.
    Pending(u64),
}
