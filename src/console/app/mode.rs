//! Input modes (filter, log search, backfill form, confirm, help, quit) and the status line.

use crate::console::action::Action;

/// Field with focus in the backfill dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackfillField {
    /// First date.
    From,
    /// Last date.
    To,
    /// Only missing/failed vs all.
    Mode,
}

/// State of the backfill dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillForm {
    /// Model id.
    pub model_id: String,
    /// Value stream.
    pub value_stream: String,
    /// First date as typed.
    pub from: String,
    /// Last date as typed.
    pub to: String,
    /// Focused field.
    pub field: BackfillField,
    /// Only missing or failed dates (default) vs all dates.
    pub only_missing: bool,
}

/// Severity of the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Information.
    Info,
    /// Something to look at.
    Warn,
    /// Something failed.
    Error,
}

/// The status line under the panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// Severity.
    pub level: Level,
    /// Text.
    pub text: String,
}

/// Modal state: at most one dialog or input is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Panes receive keys.
    Normal,
    /// `?` overlay.
    Help,
    /// Typing the models filter.
    Filter,
    /// Typing the log search.
    LogSearch,
    /// Backfill dialog.
    Backfill(BackfillForm),
    /// Confirm dialog for an action.
    Confirm(Action),
    /// The refresh view: last benchmark refresh runs, rollback.
    Refreshes,
    /// Quit while jobs started here still run.
    QuitConfirm,
    /// Typing a `:` command (`ctx [name]`, `ns [name]`); the text after the colon.
    Command(String),
    /// Picking a kube context or namespace.
    Picker(super::Picker),
}
