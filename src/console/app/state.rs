//! The session (who, where, read-only) and the [`App`] state with its read-only queries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};

use crate::console::keys::KeyMap;
use crate::console::theme::Theme;
use crate::domain::{Band, Role, RunStatus};
use crate::orchestrator::JobInfo;
use crate::store::{CharacteristicRecord, ResultRecord, RunRecord};

use super::{
    Detail, Effect, LogView, Mode, ModelMeta, ModelRow, Overview, Pane, SortKey, StatusLine,
};

/// Static facts about the session, fixed at start.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Workspace name.
    pub workspace: String,
    /// Orchestrator kind (`local`).
    pub orchestrator: String,
    /// Store backend (`sqlite`).
    pub store: String,
    /// User name.
    pub user: String,
    /// Role in force.
    pub role: Role,
    /// `--read-only`.
    pub read_only: bool,
    /// A benchmark refresh job exists.
    pub refresh_configured: bool,
    /// Where saved logs go.
    pub save_dir: PathBuf,
}

impl Default for Session {
    fn default() -> Self {
        Self {
            workspace: "workspace".into(),
            orchestrator: "local".into(),
            store: "sqlite".into(),
            user: "user".into(),
            role: Role::Operator,
            read_only: false,
            refresh_configured: false,
            save_dir: PathBuf::from("."),
        }
    }
}

/// The whole console state. Its fields are private to the console: only the console's update
/// functions change them (README, Design §7); benches and tests use the accessors below.
#[derive(Debug, Clone)]
pub struct App {
    /// Session facts.
    pub(in crate::console) session: Session,
    /// Theme.
    pub(in crate::console) theme: Theme,
    /// Key registry.
    pub(in crate::console) keys: KeyMap,
    /// Configured models by id.
    pub(in crate::console) meta: BTreeMap<String, ModelMeta>,
    /// Every model (configured or found in the store).
    pub(in crate::console) rows: Vec<ModelRow>,
    /// Indices into `rows` after filter and sort.
    pub(in crate::console) visible: Vec<usize>,
    /// Selected index into `visible`.
    pub(in crate::console) selected: usize,
    /// Sort order.
    pub(in crate::console) sort: SortKey,
    /// Group by value stream first.
    pub(in crate::console) group_by_stream: bool,
    /// Only models that need attention ([`ModelRow::needs_attention`](super::ModelRow::needs_attention)).
    pub(in crate::console) attention_only: bool,
    /// Only this value stream.
    pub(in crate::console) stream_filter: Option<String>,
    /// Substring filter on `value_stream/model`; a leading `!` inverts.
    pub(in crate::console) filter: String,
    /// Focused pane.
    pub(in crate::console) focus: Pane,
    /// Modal state.
    pub(in crate::console) mode: Mode,
    /// Detail of the selected model (when loaded and still selected).
    pub(in crate::console) detail: Option<Detail>,
    /// Detail query in flight for this model.
    pub(in crate::console) detail_loading: Option<String>,
    /// Why the detail could not be loaded.
    pub(in crate::console) detail_error: Option<String>,
    /// Index into `detail.history` of the date cursor.
    pub(in crate::console) cursor: Option<usize>,
    /// Characteristic rows of the cursor date.
    pub(in crate::console) characteristics: Option<(String, NaiveDate, Vec<CharacteristicRecord>)>,
    /// Why they could not be loaded.
    pub(in crate::console) characteristics_error: Option<String>,
    /// Selected characteristic row.
    pub(in crate::console) char_selected: usize,
    /// Selected run row.
    pub(in crate::console) run_selected: usize,
    /// Log pane.
    pub(in crate::console) log: LogView,
    /// Status line.
    pub(in crate::console) status: Option<StatusLine>,
    /// Why the overview could not be loaded (store missing, locked, ...).
    pub(in crate::console) overview_error: Option<String>,
    /// Time of the last successful overview load.
    pub(in crate::console) last_refresh: Option<DateTime<Utc>>,
    /// Wall clock as last reported.
    pub(in crate::console) now: DateTime<Utc>,
    /// Overview query in flight.
    pub(in crate::console) overview_loading: bool,
    /// Another overview load was asked for while one was in flight.
    pub(in crate::console) overview_pending: bool,
    /// Jobs started from this console that have not finished.
    pub(in crate::console) console_jobs: BTreeMap<String, JobInfo>,
    /// Terminal size.
    pub(in crate::console) size: (u16, u16),
    /// State changed since the last draw.
    pub(in crate::console) dirty: bool,
    /// Leave the loop.
    pub(in crate::console) should_quit: bool,
    /// Failing backends from the start-up health check (`backend: problem — fix: ...`).
    pub(in crate::console) failing_backends: Vec<String>,
    /// Writes queued locally for the results store (see [`super::Msg::Pending`]).
    pub(in crate::console) pending: u64,
    /// The refresh view (`B`).
    pub(in crate::console) refreshes: super::RefreshView,
    /// The models' schedules (Kubernetes CronJobs) by model id, as last listed.
    pub(in crate::console) schedules: BTreeMap<String, crate::orchestrator::ScheduleState>,
}

impl App {
    /// A fresh console for `session` with configured `models`.
    pub fn new(session: Session, models: Vec<ModelMeta>, theme: Theme, keys: KeyMap) -> App {
        let meta: BTreeMap<String, ModelMeta> = models
            .into_iter()
            .map(|m| (m.model_id.clone(), m))
            .collect();
        let mut app = App {
            session,
            theme,
            keys,
            meta,
            rows: Vec::new(),
            visible: Vec::new(),
            selected: 0,
            sort: SortKey::Status,
            group_by_stream: false,
            attention_only: false,
            stream_filter: None,
            filter: String::new(),
            focus: Pane::Models,
            mode: Mode::Normal,
            detail: None,
            detail_loading: None,
            detail_error: None,
            cursor: None,
            characteristics: None,
            characteristics_error: None,
            char_selected: 0,
            run_selected: 0,
            log: LogView::default(),
            status: None,
            overview_error: None,
            last_refresh: None,
            now: DateTime::<Utc>::UNIX_EPOCH,
            overview_loading: false,
            overview_pending: false,
            console_jobs: BTreeMap::new(),
            size: (80, 24),
            dirty: true,
            should_quit: false,
            failing_backends: Vec::new(),
            pending: 0,
            refreshes: super::RefreshView::default(),
            schedules: BTreeMap::new(),
        };
        app.apply_overview(Overview::default());
        app
    }

    /// Sets the clock the view renders relative times against (tests and benches pin it).
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now = now;
    }

    /// Every model row (configured or found in the store), in load order.
    pub fn rows(&self) -> &[ModelRow] {
        &self.rows
    }

    /// The rows after filter and sort, in display order.
    pub fn visible_rows(&self) -> impl Iterator<Item = &ModelRow> {
        self.visible.iter().filter_map(|&i| self.rows.get(i))
    }

    /// Why the last overview load failed, if it did.
    pub fn overview_error(&self) -> Option<&str> {
        self.overview_error.as_deref()
    }

    /// The log pane's state.
    pub fn log(&self) -> &LogView {
        &self.log
    }

    /// The theme in use.
    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// Replaces the theme (e.g. `NO_COLOR`).
    pub fn set_theme(&mut self, theme: Theme) {
        self.theme = theme;
        self.dirty = true;
    }

    /// Effects to run at start: the first overview load.
    pub fn init(&mut self) -> Vec<Effect> {
        self.request_overview().into_iter().collect()
    }

    /// The selected model row.
    pub fn selected_row(&self) -> Option<&ModelRow> {
        self.visible
            .get(self.selected)
            .and_then(|i| self.rows.get(*i))
    }

    /// Detail of the selected model, if loaded.
    pub fn selected_detail(&self) -> Option<&Detail> {
        let row = self.selected_row()?;
        self.detail.as_ref().filter(|d| d.model_id == row.model_id)
    }

    /// Calculation date under the cursor; the model's last date when no history is loaded.
    pub fn cursor_date(&self) -> Option<NaiveDate> {
        if let (Some(d), Some(c)) = (self.selected_detail(), self.cursor)
            && let Some(r) = d.history.get(c)
        {
            return Some(r.calculation_date);
        }
        self.selected_row().and_then(|r| r.last_date)
    }

    /// The result under the cursor.
    pub fn cursor_result(&self) -> Option<&ResultRecord> {
        self.selected_detail()?.history.get(self.cursor?)
    }

    /// Characteristic rows of the cursor date of the selected model, score first then CSI
    /// descending.
    pub fn cursor_characteristics(&self) -> Option<&[CharacteristicRecord]> {
        let (model, date, rows) = self.characteristics.as_ref()?;
        let row = self.selected_row()?;
        (*model == row.model_id && Some(*date) == self.cursor_date()).then_some(rows.as_slice())
    }

    /// The characteristic selected in the characteristics pane.
    pub fn selected_characteristic(&self) -> Option<&CharacteristicRecord> {
        self.cursor_characteristics()?.get(self.char_selected)
    }

    /// Selected run attempt.
    pub fn selected_run(&self) -> Option<&RunRecord> {
        self.selected_detail()?.runs.get(self.run_selected)
    }

    /// Header counts: (models, failed, alerting, warning, running).
    pub fn counts(&self) -> (usize, usize, usize, usize, usize) {
        let mut c = (self.rows.len(), 0, 0, 0, 0);
        for r in &self.rows {
            match r.status {
                Some(RunStatus::Failed | RunStatus::Lost | RunStatus::Cancelled) => c.1 += 1,
                Some(RunStatus::Running | RunStatus::Retrying | RunStatus::Queued) => c.4 += 1,
                _ => {}
            }
            match r.band() {
                Some(Band::Alert) => c.2 += 1,
                Some(Band::Warn) => c.3 += 1,
                _ => {}
            }
        }
        c
    }

    /// Value streams present, sorted.
    pub fn value_streams(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self.rows.iter().map(|r| r.value_stream.as_str()).collect();
        set.into_iter().map(str::to_string).collect()
    }
}
