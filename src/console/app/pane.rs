//! Panes (focus targets, numbered 1-7) and the models sort key.

use crate::console::keys::Context;

/// The panes, in Tab order; numbers 1–7 focus them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    /// 1: models table.
    Models,
    /// 2: PSI trend.
    Trend,
    /// 3: CSI per characteristic.
    Characteristics,
    /// 4: bins of one characteristic.
    Bins,
    /// 5: run attempts.
    Runs,
    /// 6: job log.
    Logs,
    /// 7: console diagnostics.
    Diagnostics,
}

impl Pane {
    /// All panes in Tab order.
    pub const ALL: [Pane; 7] = [
        Pane::Models,
        Pane::Trend,
        Pane::Characteristics,
        Pane::Bins,
        Pane::Runs,
        Pane::Logs,
        Pane::Diagnostics,
    ];

    /// 1-based number.
    pub fn number(self) -> u8 {
        Pane::ALL
            .iter()
            .position(|p| *p == self)
            .map_or(1, |i| i as u8 + 1)
    }

    /// Pane with 1-based number `n`.
    pub fn from_number(n: u8) -> Option<Pane> {
        Pane::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }

    /// Short title.
    pub fn title(self) -> &'static str {
        match self {
            Pane::Models => "Models",
            Pane::Trend => "Trend",
            Pane::Characteristics => "Characteristics",
            Pane::Bins => "Bins",
            Pane::Runs => "Runs",
            Pane::Logs => "Log",
            Pane::Diagnostics => "Diagnostics",
        }
    }

    /// Key context of the pane.
    pub fn context(self) -> Context {
        match self {
            Pane::Models => Context::Models,
            Pane::Trend | Pane::Characteristics | Pane::Bins => Context::Drift,
            Pane::Runs | Pane::Diagnostics => Context::Global,
            Pane::Logs => Context::Logs,
        }
    }
}

/// Sort order of the models table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Failed / retrying / running first, then alert, warn, ok; then PSI descending.
    Status,
    /// PSI descending.
    Psi,
    /// Value stream / model ascending.
    Name,
}

impl SortKey {
    /// Label in the table title.
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Status => "status",
            SortKey::Psi => "PSI",
            SortKey::Name => "name",
        }
    }
    pub(super) fn next(self) -> SortKey {
        match self {
            SortKey::Status => SortKey::Psi,
            SortKey::Psi => SortKey::Name,
            SortKey::Name => SortKey::Status,
        }
    }
}
