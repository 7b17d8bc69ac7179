//! Console state and the pure `update` function: one [`Msg`] in, state changed, a list of
//! [`Effect`]s out. No terminal, no I/O, no clock: everything the runtime learns arrives as a
//! message, everything the console wants done leaves as an effect, so the whole interaction
//! logic is unit-testable (README, Design §7, item 1).

mod actions;
mod data;
mod filter;
mod input;
mod jobs;
mod kube;
mod log_view;
mod logs;
mod mode;
mod msg;
mod navigation;
mod pane;
mod refresh_view;
mod rows;
mod state;
mod update;

pub use kube::{MAX_COMMAND, Picker};
pub use log_view::{LogSource, LogView};
pub use mode::{BackfillField, BackfillForm, Level, Mode, StatusLine};
pub use msg::{Effect, Msg};
pub use pane::{Pane, SortKey};
pub use refresh_view::RefreshView;
pub use rows::{Detail, ModelMeta, ModelRow, Overview};
pub use state::{App, Session};
pub use update::update;

use actions::on_dispatched;
use input::on_key;
use jobs::on_job;
use logs::jump_to_match;
use navigation::on_normal_key;
use refresh_view::on_refresh_view_key;

/// Number of most recent PSI values kept per model for the inline trend.
pub const TREND_POINTS: usize = 30;
/// Rows moved by page up / page down.
pub const PAGE: usize = 10;
/// Longest backfill the dialog accepts, in days (the jobs' planning rule).
pub use crate::jobs::backfill::MAX_BACKFILL_DAYS;
