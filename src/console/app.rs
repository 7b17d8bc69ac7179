//! Console state and the pure `update` function: one [`Msg`] in, state changed, a list of
//! [`Effect`]s out. No terminal, no I/O, no clock: everything the runtime learns arrives as a
//! message, everything the console wants done leaves as an effect, so the whole interaction
//! logic is unit-testable (DESIGN section 9, habit 1).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::domain::{Band, Role, RunStatus, Thresholds};
use crate::store::{CharacteristicRecord, ColumnRole, ResultRecord, RunRecord};

use super::action::{Action, DispatchReport, Outcome, RunTarget, compact_dates};
use super::keys::{Context, KeyAction, KeyMap};
use super::logbuf::{DEFAULT_LOG_CAPACITY, LogBuffer};
use super::runner::{JobEvent, JobTicket};
use super::theme::Theme;

/// Number of most recent PSI values kept per model for the inline trend.
pub const TREND_POINTS: usize = 30;
/// Rows moved by page up / page down.
pub const PAGE: usize = 10;
/// Longest backfill the dialog accepts, in days.
pub const MAX_BACKFILL_DAYS: i64 = 3_660;

/// Metadata of one configured model (from `models.yaml`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMeta {
    /// Model id.
    pub model_id: String,
    /// Value stream.
    pub value_stream: String,
    /// Warn / alert thresholds on PSI and CSI.
    pub thresholds: Thresholds,
    /// Owner (team or person), when configured.
    pub owner: Option<String>,
}

/// One line of the models table: what the store knows of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRow {
    /// Model id.
    pub model_id: String,
    /// Value stream.
    pub value_stream: String,
    /// Owner.
    pub owner: Option<String>,
    /// Thresholds of the model.
    pub thresholds: Thresholds,
    /// Latest calculation date with a result.
    pub last_date: Option<NaiveDate>,
    /// PSI of that date.
    pub psi: Option<f64>,
    /// Largest CSI of that date.
    pub csi: Option<f64>,
    /// Characteristic with the largest CSI.
    pub csi_name: Option<String>,
    /// Status of the newest run attempt.
    pub status: Option<RunStatus>,
    /// Calculation date of the newest run attempt.
    pub run_date: Option<NaiveDate>,
    /// Error of the newest attempt, when failed.
    pub error: Option<String>,
    /// Last [`TREND_POINTS`] PSI values, oldest first.
    pub trend: Vec<f64>,
}

impl ModelRow {
    /// Drift band of the latest PSI.
    pub fn band(&self) -> Option<Band> {
        self.psi.map(|p| self.thresholds.band(p))
    }
}

/// What the overview query returns: everything the header and models table need.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overview {
    /// Latest result of every model.
    pub latest: Vec<ResultRecord>,
    /// Newest attempt of every model.
    pub latest_runs: Vec<RunRecord>,
    /// Recent PSI values per model, oldest first.
    pub trends: HashMap<String, Vec<f64>>,
    /// Characteristic with the largest CSI at the latest date, per model.
    pub worst: HashMap<String, String>,
    /// When the query ran.
    pub loaded_at: Option<DateTime<Utc>>,
}

/// History and runs of the selected model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detail {
    /// Model id.
    pub model_id: String,
    /// Results by calculation date, ascending.
    pub history: Vec<ResultRecord>,
    /// Attempts, newest first.
    pub runs: Vec<RunRecord>,
}

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
    fn next(self) -> SortKey {
        match self {
            SortKey::Status => SortKey::Psi,
            SortKey::Psi => SortKey::Name,
            SortKey::Name => SortKey::Status,
        }
    }
}

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
    /// Quit while jobs started here still run.
    QuitConfirm,
}

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
    /// Lines arrive from orchestrator events rather than a file.
    pub from_events: bool,
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
            from_events: false,
        }
    }
}

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
    /// Send a confirmed action to the dispatcher.
    Dispatch(Action),
    /// Tail a log file for `source` (replacing any current tail); `None` path stops tailing.
    TailLog {
        /// Log shown.
        source: LogSource,
        /// File to follow.
        path: Option<PathBuf>,
    },
    /// Write the log buffer to a file.
    SaveLog {
        /// Target file.
        path: PathBuf,
        /// Content.
        text: String,
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
    /// An orchestrator event.
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
}

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

/// The whole console state.
#[derive(Debug, Clone)]
pub struct App {
    /// Session facts.
    pub session: Session,
    /// Theme.
    pub theme: Theme,
    /// Key registry.
    pub keys: KeyMap,
    /// Configured models by id.
    pub meta: BTreeMap<String, ModelMeta>,
    /// Every model (configured or found in the store).
    pub rows: Vec<ModelRow>,
    /// Indices into `rows` after filter and sort.
    pub visible: Vec<usize>,
    /// Selected index into `visible`.
    pub selected: usize,
    /// Sort order.
    pub sort: SortKey,
    /// Group by value stream first.
    pub group_by_stream: bool,
    /// Only this value stream.
    pub stream_filter: Option<String>,
    /// Substring filter on `value_stream/model`; a leading `!` inverts.
    pub filter: String,
    /// Focused pane.
    pub focus: Pane,
    /// Modal state.
    pub mode: Mode,
    /// Detail of the selected model (when loaded and still selected).
    pub detail: Option<Detail>,
    /// Detail query in flight for this model.
    pub detail_loading: Option<String>,
    /// Why the detail could not be loaded.
    pub detail_error: Option<String>,
    /// Index into `detail.history` of the date cursor.
    pub cursor: Option<usize>,
    /// Characteristic rows of the cursor date.
    pub characteristics: Option<(String, NaiveDate, Vec<CharacteristicRecord>)>,
    /// Why they could not be loaded.
    pub characteristics_error: Option<String>,
    /// Selected characteristic row.
    pub char_selected: usize,
    /// Selected run row.
    pub run_selected: usize,
    /// Log pane.
    pub log: LogView,
    /// Status line.
    pub status: Option<StatusLine>,
    /// Why the overview could not be loaded (store missing, locked, ...).
    pub overview_error: Option<String>,
    /// Time of the last successful overview load.
    pub last_refresh: Option<DateTime<Utc>>,
    /// Wall clock as last reported.
    pub now: DateTime<Utc>,
    /// Overview query in flight.
    pub overview_loading: bool,
    /// Another overview load was asked for while one was in flight.
    pub overview_pending: bool,
    /// Jobs started from this console that have not finished.
    pub console_jobs: BTreeMap<String, JobTicket>,
    /// Terminal size.
    pub size: (u16, u16),
    /// State changed since the last draw.
    pub dirty: bool,
    /// Leave the loop.
    pub should_quit: bool,
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
        };
        app.apply_overview(Overview::default());
        app
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
                Some(RunStatus::Failed) => c.1 += 1,
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

    fn set_status(&mut self, level: Level, text: impl Into<String>) {
        self.status = Some(StatusLine {
            level,
            text: text.into(),
        });
    }

    fn request_overview(&mut self) -> Option<Effect> {
        if self.overview_loading {
            self.overview_pending = true;
            None
        } else {
            self.overview_loading = true;
            Some(Effect::LoadOverview)
        }
    }

    /// Rebuilds `rows` from an overview and the configured models.
    fn apply_overview(&mut self, ov: Overview) {
        // Keep the selection across refreshes, but start at the top on the first load.
        let keep = self
            .last_refresh
            .and_then(|_| self.selected_row().map(|r| r.model_id.clone()));
        let mut rows: BTreeMap<String, ModelRow> = self
            .meta
            .values()
            .map(|m| {
                (
                    m.model_id.clone(),
                    ModelRow {
                        model_id: m.model_id.clone(),
                        value_stream: m.value_stream.clone(),
                        owner: m.owner.clone(),
                        thresholds: m.thresholds,
                        last_date: None,
                        psi: None,
                        csi: None,
                        csi_name: None,
                        status: None,
                        run_date: None,
                        error: None,
                        trend: Vec::new(),
                    },
                )
            })
            .collect();
        let blank = |model_id: &str, value_stream: &str| ModelRow {
            model_id: model_id.to_string(),
            value_stream: value_stream.to_string(),
            owner: None,
            thresholds: Thresholds::default(),
            last_date: None,
            psi: None,
            csi: None,
            csi_name: None,
            status: None,
            run_date: None,
            error: None,
            trend: Vec::new(),
        };
        for r in ov.latest {
            let row = rows
                .entry(r.model_id.clone())
                .or_insert_with(|| blank(&r.model_id, &r.value_stream));
            row.last_date = Some(r.calculation_date);
            row.psi = Some(r.psi_score);
            row.csi = Some(r.csi_score);
        }
        for run in ov.latest_runs {
            let row = rows
                .entry(run.model_id.clone())
                .or_insert_with(|| blank(&run.model_id, &run.value_stream));
            row.status = Some(run.status);
            row.run_date = Some(run.calculation_date);
            row.error = run.error;
        }
        for (model, trend) in ov.trends {
            if let Some(row) = rows.get_mut(&model) {
                let skip = trend.len().saturating_sub(TREND_POINTS);
                row.trend = trend[skip..].to_vec();
            }
        }
        for (model, name) in ov.worst {
            if let Some(row) = rows.get_mut(&model) {
                row.csi_name = Some(name);
            }
        }
        self.rows = rows.into_values().collect();
        if ov.loaded_at.is_some() {
            self.last_refresh = ov.loaded_at;
        }
        self.recompute_visible(keep.as_deref());
    }

    /// Recomputes `visible` from filter, value-stream filter and sort; keeps `keep` selected.
    fn recompute_visible(&mut self, keep: Option<&str>) {
        let (invert, needle) = match self.filter.strip_prefix('!') {
            Some(rest) => (true, rest.to_lowercase()),
            None => (false, self.filter.to_lowercase()),
        };
        let mut visible: Vec<usize> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                self.stream_filter
                    .as_ref()
                    .is_none_or(|vs| *vs == r.value_stream)
            })
            .filter(|(_, r)| {
                if needle.is_empty() {
                    return true;
                }
                let hay = format!("{}/{}", r.value_stream, r.model_id).to_lowercase();
                hay.contains(&needle) != invert
            })
            .map(|(i, _)| i)
            .collect();
        let rows = &self.rows;
        let status_rank = |r: &ModelRow| match r.status {
            Some(RunStatus::Failed) => 0,
            Some(RunStatus::Retrying) => 1,
            Some(RunStatus::Running | RunStatus::Queued) => 2,
            _ => 3,
        };
        let band_rank = |r: &ModelRow| match r.band() {
            Some(Band::Alert) => 0,
            Some(Band::Warn) => 1,
            Some(Band::Ok) => 2,
            None => 3,
        };
        let psi_desc = |a: &ModelRow, b: &ModelRow| {
            b.psi
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.psi.unwrap_or(f64::NEG_INFINITY))
        };
        let name = |a: &ModelRow, b: &ModelRow| {
            (a.value_stream.as_str(), a.model_id.as_str())
                .cmp(&(b.value_stream.as_str(), b.model_id.as_str()))
        };
        let sort = self.sort;
        let group = self.group_by_stream;
        visible.sort_by(|&i, &j| {
            let (a, b) = (&rows[i], &rows[j]);
            let grouped = if group {
                a.value_stream.cmp(&b.value_stream)
            } else {
                std::cmp::Ordering::Equal
            };
            grouped.then_with(|| match sort {
                SortKey::Status => status_rank(a)
                    .cmp(&status_rank(b))
                    .then(band_rank(a).cmp(&band_rank(b)))
                    .then(psi_desc(a, b))
                    .then(name(a, b)),
                SortKey::Psi => psi_desc(a, b).then(name(a, b)),
                SortKey::Name => name(a, b),
            })
        });
        self.visible = visible;
        self.selected = keep
            .and_then(|id| {
                self.visible
                    .iter()
                    .position(|&i| self.rows[i].model_id == id)
            })
            .unwrap_or(0)
            .min(self.visible.len().saturating_sub(1));
    }

    /// Effects after the selected model may have changed: load its detail if needed.
    fn selection_changed(&mut self) -> Vec<Effect> {
        let Some(row) = self.selected_row() else {
            self.detail = None;
            return Vec::new();
        };
        let id = row.model_id.clone();
        if self.detail.as_ref().is_some_and(|d| d.model_id == id)
            || self.detail_loading.as_deref() == Some(id.as_str())
        {
            return Vec::new();
        }
        self.detail = None;
        self.detail_error = None;
        // Another model: the log of a console job of the previous model no longer applies.
        if matches!(self.log.source, Some(LogSource::Job(_))) {
            self.log.buffer.clear();
            self.log.source = None;
            self.log.error = None;
            self.log.from_events = false;
        }
        self.cursor = None;
        self.characteristics_error = None;
        self.char_selected = 0;
        self.run_selected = 0;
        self.detail_loading = Some(id.clone());
        vec![Effect::LoadDetail(id)]
    }

    fn load_characteristics(&mut self) -> Vec<Effect> {
        self.characteristics_error = None;
        match (self.selected_row(), self.cursor_date()) {
            (Some(row), Some(date)) => {
                let model_id = row.model_id.clone();
                if self
                    .characteristics
                    .as_ref()
                    .is_some_and(|(m, d, _)| *m == model_id && *d == date)
                {
                    return Vec::new();
                }
                vec![Effect::LoadCharacteristics { model_id, date }]
            }
            _ => Vec::new(),
        }
    }

    fn move_cursor(&mut self, delta: i64) -> Vec<Effect> {
        let Some(len) = self.selected_detail().map(|d| d.history.len()) else {
            return Vec::new();
        };
        if len == 0 {
            return Vec::new();
        }
        let cur = self.cursor.unwrap_or(len - 1) as i64;
        let next = (cur + delta).clamp(0, len as i64 - 1) as usize;
        if Some(next) == self.cursor {
            return Vec::new();
        }
        self.cursor = Some(next);
        self.char_selected = 0;
        self.load_characteristics()
    }

    fn move_selection(&mut self, delta: i64) -> Vec<Effect> {
        if self.visible.is_empty() {
            return Vec::new();
        }
        let next = (self.selected as i64 + delta).clamp(0, self.visible.len() as i64 - 1);
        self.selected = next as usize;
        self.selection_changed()
    }

    fn tail_selected_run(&mut self) -> Vec<Effect> {
        let Some(run) = self.selected_run().cloned() else {
            return Vec::new();
        };
        let source = LogSource::Run {
            run_id: run.run_id.clone(),
            attempt: run.attempt,
        };
        if self.log.source.as_ref() == Some(&source) {
            return Vec::new();
        }
        self.switch_log(source.clone(), false);
        let path = run.log_path.as_ref().map(PathBuf::from);
        if path.is_none() {
            self.log.error = Some(format!(
                "no log kept for run {} attempt {} (the orchestrator did not record a log path)",
                run.run_id, run.attempt
            ));
        }
        vec![Effect::TailLog { source, path }]
    }

    fn switch_log(&mut self, source: LogSource, from_events: bool) {
        self.log.buffer.clear();
        self.log.source = Some(source);
        self.log.error = None;
        self.log.scroll = 0;
        self.log.follow = true;
        self.log.from_events = from_events;
    }

    fn rerun_target(&self) -> Option<RunTarget> {
        let row = self.selected_row()?;
        Some(RunTarget {
            model_id: row.model_id.clone(),
            value_stream: row.value_stream.clone(),
            date: self.cursor_date().or(row.run_date)?,
        })
    }

    /// Builds the backfill action from the form; `Err` explains an invalid form.
    pub fn backfill_action(&self, form: &BackfillForm) -> Result<Action, String> {
        let from = crate::domain::parse_date(&form.from).map_err(|e| format!("from: {e}"))?;
        let to = crate::domain::parse_date(&form.to).map_err(|e| format!("to: {e}"))?;
        let range = crate::domain::date_range(from, to).map_err(|e| e.to_string())?;
        if (to - from).num_days() >= MAX_BACKFILL_DAYS {
            return Err(format!(
                "range of {} days is longer than {MAX_BACKFILL_DAYS}",
                (to - from).num_days() + 1
            ));
        }
        let detail = self.detail.as_ref().filter(|d| d.model_id == form.model_id);
        let stored: BTreeSet<NaiveDate> = detail
            .map(|d| d.history.iter().map(|r| r.calculation_date).collect())
            .unwrap_or_default();
        // Newest attempt per date decides "failed".
        let mut last_status: HashMap<NaiveDate, RunStatus> = HashMap::new();
        if let Some(d) = detail {
            for run in &d.runs {
                last_status
                    .entry(run.calculation_date)
                    .or_insert(run.status);
            }
        }
        let existing: Vec<NaiveDate> = range
            .iter()
            .copied()
            .filter(|d| stored.contains(d))
            .collect();
        let dates: Vec<NaiveDate> = if form.only_missing {
            range
                .iter()
                .copied()
                .filter(|d| !stored.contains(d) || last_status.get(d) == Some(&RunStatus::Failed))
                .collect()
        } else {
            range
        };
        Ok(Action::Backfill {
            model_id: form.model_id.clone(),
            value_stream: form.value_stream.clone(),
            from,
            to,
            dates,
            existing,
            only_missing: form.only_missing,
        })
    }

    /// A warning shown in the confirm dialog when the dispatcher will refuse the action.
    pub fn forecast_denial(&self, action: &Action) -> Option<String> {
        super::action::authorize(self.session.role, self.session.read_only, action).err()
    }
}

/// Applies one message; returns the effects to run. Pure: no I/O, no clock.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    app.dirty = true;
    match msg {
        Msg::Key(key) => {
            if key.kind == crossterm::event::KeyEventKind::Release {
                app.dirty = false;
                return Vec::new();
            }
            on_key(app, key)
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            Vec::new()
        }
        Msg::RefreshTick => {
            app.dirty = false;
            let mut fx: Vec<Effect> = app.request_overview().into_iter().collect();
            if let Some(row) = app.selected_row()
                && app.detail_loading.is_none()
            {
                let id = row.model_id.clone();
                app.detail_loading = Some(id.clone());
                fx.push(Effect::LoadDetail(id));
            }
            fx
        }
        Msg::Now(now) => {
            app.now = now;
            // Only running attempts show a live duration.
            app.dirty = app.focus == Pane::Diagnostics
                || app
                    .selected_detail()
                    .is_some_and(|d| d.runs.iter().any(|r| r.finished_at.is_none()));
            Vec::new()
        }
        Msg::Overview(result) => {
            app.overview_loading = false;
            let mut fx = Vec::new();
            match result {
                Ok(ov) => {
                    app.overview_error = None;
                    app.apply_overview(ov);
                    fx.extend(app.selection_changed());
                }
                Err(e) => {
                    app.overview_error = Some(e.clone());
                    app.set_status(Level::Error, e);
                    // Still try the selected model: its pane then says what is wrong.
                    fx.extend(app.selection_changed());
                }
            }
            if std::mem::take(&mut app.overview_pending) {
                fx.extend(app.request_overview());
            }
            fx
        }
        Msg::Detail { model_id, result } => {
            if app.detail_loading.as_deref() == Some(model_id.as_str()) {
                app.detail_loading = None;
            }
            let selected = app.selected_row().map(|r| r.model_id.clone());
            if selected.as_deref() != Some(model_id.as_str()) {
                app.dirty = false;
                // Stale answer; make sure the selected model gets loaded.
                return app.selection_changed();
            }
            match result {
                Ok(detail) => {
                    let keep_date = app
                        .detail
                        .as_ref()
                        .filter(|d| d.model_id == model_id)
                        .and_then(|_| app.cursor_date());
                    let keep_run = app.selected_run().map(|r| (r.run_id.clone(), r.attempt));
                    app.detail_error = None;
                    let len = detail.history.len();
                    app.cursor = keep_date
                        .and_then(|d| detail.history.iter().position(|r| r.calculation_date == d))
                        .or(len.checked_sub(1));
                    app.run_selected = keep_run
                        .and_then(|(id, a)| {
                            detail
                                .runs
                                .iter()
                                .position(|r| r.run_id == id && r.attempt == a)
                        })
                        .unwrap_or(0);
                    app.detail = Some(detail);
                    let mut fx = app.load_characteristics();
                    // A job started from this console keeps its log on screen until the user
                    // picks a run; the reload its start triggers must not switch it away.
                    if !app.log.from_events && !matches!(app.log.source, Some(LogSource::Job(_))) {
                        fx.extend(app.tail_selected_run());
                    }
                    fx
                }
                Err(e) => {
                    app.detail_error = Some(e);
                    Vec::new()
                }
            }
        }
        Msg::Characteristics {
            model_id,
            date,
            result,
        } => {
            match result {
                Ok(mut rows) => {
                    // Score first, then characteristics worst first.
                    rows.sort_by(|a, b| {
                        let ra = u8::from(a.role != ColumnRole::Score);
                        let rb = u8::from(b.role != ColumnRole::Score);
                        ra.cmp(&rb).then(b.index_value.total_cmp(&a.index_value))
                    });
                    app.characteristics = Some((model_id, date, rows));
                    app.characteristics_error = None;
                    let n = app.cursor_characteristics().map_or(0, <[_]>::len);
                    app.char_selected = app.char_selected.min(n.saturating_sub(1));
                }
                Err(e) => {
                    app.characteristics = None;
                    app.characteristics_error = Some(e);
                }
            }
            Vec::new()
        }
        Msg::Job(ev) => on_job(app, ev),
        Msg::Dispatched(report) => on_dispatched(app, report),
        Msg::LogLines { source, lines } => {
            if app.log.source.as_ref() != Some(&source) {
                app.dirty = false;
                return Vec::new();
            }
            for l in lines {
                app.log.buffer.push(l);
            }
            app.log.error = None;
            Vec::new()
        }
        Msg::LogError { source, message } => {
            if app.log.source.as_ref() == Some(&source) {
                app.log.error = Some(message);
            }
            Vec::new()
        }
        Msg::LogSaved(result) => {
            match result {
                Ok(p) => app.set_status(Level::Info, format!("log saved to {}", p.display())),
                Err(e) => app.set_status(Level::Error, format!("log not saved: {e}")),
            }
            Vec::new()
        }
    }
}

fn on_job(app: &mut App, ev: JobEvent) -> Vec<Effect> {
    match ev {
        JobEvent::Started { job_id } => {
            app.set_status(Level::Info, format!("job {job_id} started"));
            app.request_overview().into_iter().collect()
        }
        JobEvent::Log { job_id, line } => {
            if app.log.from_events && app.log.source == Some(LogSource::Job(job_id)) {
                app.log.buffer.push(line);
            } else {
                app.dirty = false;
            }
            Vec::new()
        }
        JobEvent::Finished {
            job_id,
            success,
            error,
        } => {
            let ticket = app.console_jobs.remove(&job_id);
            if success {
                app.set_status(Level::Info, format!("job {job_id} succeeded"));
            } else {
                app.set_status(
                    Level::Error,
                    format!(
                        "job {job_id} failed: {}",
                        error.unwrap_or_else(|| "no error text".into())
                    ),
                );
            }
            let mut fx: Vec<Effect> = app.request_overview().into_iter().collect();
            let selected = app.selected_row().map(|r| r.model_id.clone());
            if let (Some(t), Some(sel)) = (ticket, selected)
                && t.model_id == sel
                && app.detail_loading.is_none()
            {
                app.detail_loading = Some(sel.clone());
                fx.push(Effect::LoadDetail(sel));
            }
            fx
        }
    }
}

fn on_dispatched(app: &mut App, report: DispatchReport) -> Vec<Effect> {
    let mut fx = Vec::new();
    match &report.outcome {
        Outcome::Started(tickets) => {
            let dates: Vec<NaiveDate> = tickets.iter().filter_map(|t| t.date).collect();
            app.set_status(
                Level::Info,
                format!(
                    "{} started: {} job(s){}",
                    report.action.name(),
                    tickets.len(),
                    if dates.is_empty() {
                        String::new()
                    } else {
                        format!(" for {}", compact_dates(&dates))
                    }
                ),
            );
            for t in tickets {
                app.console_jobs.insert(t.job_id.clone(), t.clone());
            }
            // Show the first job's log.
            if let Some(t) = tickets.first() {
                let source = LogSource::Job(t.job_id.clone());
                app.switch_log(source.clone(), t.log_path.is_none());
                if t.log_path.is_some() {
                    fx.push(Effect::TailLog {
                        source,
                        path: t.log_path.clone(),
                    });
                }
            }
            fx.extend(app.request_overview());
        }
        Outcome::Denied(reason) => app.set_status(Level::Warn, format!("denied: {reason}")),
        Outcome::NotConfigured(reason) => app.set_status(Level::Warn, reason.clone()),
        Outcome::Failed(reason) => app.set_status(
            Level::Error,
            format!("{} failed: {reason}", report.action.name()),
        ),
    }
    if let Some(e) = report.audit_error {
        app.set_status(Level::Error, e);
    }
    fx
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        app.should_quit = true;
        return vec![Effect::Quit];
    }
    match app.mode.clone() {
        Mode::Normal => on_normal_key(app, key),
        Mode::Help => {
            if matches!(
                key.code,
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter
            ) {
                app.mode = Mode::Normal;
            }
            Vec::new()
        }
        Mode::Filter => {
            match key.code {
                KeyCode::Enter => app.mode = Mode::Normal,
                KeyCode::Esc => {
                    app.filter.clear();
                    app.mode = Mode::Normal;
                }
                KeyCode::Backspace => {
                    app.filter.pop();
                }
                KeyCode::Char(c) => app.filter.push(c),
                _ => return Vec::new(),
            }
            let keep = app.selected_row().map(|r| r.model_id.clone());
            app.recompute_visible(keep.as_deref());
            app.selection_changed()
        }
        Mode::LogSearch => {
            match key.code {
                KeyCode::Enter => {
                    app.mode = Mode::Normal;
                    jump_to_match(app, false);
                }
                KeyCode::Esc => {
                    app.log.search.clear();
                    app.mode = Mode::Normal;
                }
                KeyCode::Backspace => {
                    app.log.search.pop();
                }
                KeyCode::Char(c) => app.log.search.push(c),
                _ => {}
            }
            Vec::new()
        }
        Mode::Backfill(mut form) => {
            match key.code {
                KeyCode::Esc => {
                    app.mode = Mode::Normal;
                    return Vec::new();
                }
                KeyCode::Tab | KeyCode::Down => {
                    form.field = match form.field {
                        BackfillField::From => BackfillField::To,
                        BackfillField::To => BackfillField::Mode,
                        BackfillField::Mode => BackfillField::From,
                    }
                }
                KeyCode::BackTab | KeyCode::Up => {
                    form.field = match form.field {
                        BackfillField::From => BackfillField::Mode,
                        BackfillField::To => BackfillField::From,
                        BackfillField::Mode => BackfillField::To,
                    }
                }
                KeyCode::Enter => match app.backfill_action(&form) {
                    Ok(action) if action.run_count() > 0 => {
                        app.mode = Mode::Confirm(action);
                        return Vec::new();
                    }
                    Ok(_) => {
                        app.set_status(
                            Level::Warn,
                            "backfill: nothing to run (every date has a result; choose \"all dates\" to recompute)",
                        );
                    }
                    Err(e) => app.set_status(Level::Warn, format!("backfill: {e}")),
                },
                KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right
                    if form.field == BackfillField::Mode =>
                {
                    form.only_missing = !form.only_missing;
                }
                KeyCode::Backspace => match form.field {
                    BackfillField::From => {
                        form.from.pop();
                    }
                    BackfillField::To => {
                        form.to.pop();
                    }
                    BackfillField::Mode => {}
                },
                KeyCode::Char(c) if c.is_ascii_digit() || c == '-' => match form.field {
                    BackfillField::From if form.from.len() < 10 => form.from.push(c),
                    BackfillField::To if form.to.len() < 10 => form.to.push(c),
                    _ => {}
                },
                _ => {}
            }
            app.mode = Mode::Backfill(form);
            Vec::new()
        }
        Mode::Confirm(action) => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                app.mode = Mode::Normal;
                app.set_status(
                    Level::Info,
                    format!("{}: sent to the dispatcher", action.name()),
                );
                vec![Effect::Dispatch(action)]
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                app.mode = Mode::Normal;
                app.set_status(Level::Info, format!("{} cancelled", action.name()));
                Vec::new()
            }
            _ => Vec::new(),
        },
        Mode::QuitConfirm => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                app.should_quit = true;
                vec![Effect::Quit]
            }
            _ => {
                app.mode = Mode::Normal;
                Vec::new()
            }
        },
    }
}

fn jump_to_match(app: &mut App, after_current: bool) {
    let matches = app.log.buffer.matches(&app.log.search);
    if matches.is_empty() {
        if !app.log.search.is_empty() {
            app.set_status(Level::Warn, format!("no match for {:?}", app.log.search));
        }
        return;
    }
    let start = if app.log.follow {
        0
    } else {
        app.log.scroll + usize::from(after_current)
    };
    let next = matches
        .iter()
        .copied()
        .find(|&i| i >= start)
        .unwrap_or(matches[0]);
    app.log.follow = false;
    app.log.scroll = next;
}

fn on_normal_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Some(action) = app.keys.lookup(app.focus.context(), &key) else {
        app.dirty = false;
        return Vec::new();
    };
    let pane = app.focus;
    match action {
        KeyAction::Quit => {
            if app.console_jobs.is_empty() {
                app.should_quit = true;
                vec![Effect::Quit]
            } else {
                app.mode = Mode::QuitConfirm;
                Vec::new()
            }
        }
        KeyAction::Help => {
            app.mode = Mode::Help;
            Vec::new()
        }
        KeyAction::NextPane | KeyAction::PrevPane => {
            let i = usize::from(pane.number() - 1);
            let n = Pane::ALL.len();
            let j = if action == KeyAction::NextPane {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            app.focus = Pane::ALL[j];
            Vec::new()
        }
        KeyAction::FocusPane(n) => {
            if let Some(p) = Pane::from_number(n) {
                app.focus = p;
            }
            Vec::new()
        }
        KeyAction::Up
        | KeyAction::Down
        | KeyAction::PageUp
        | KeyAction::PageDown
        | KeyAction::Top
        | KeyAction::Bottom => {
            let delta: i64 = match action {
                KeyAction::Up => -1,
                KeyAction::Down => 1,
                KeyAction::PageUp => -(PAGE as i64),
                KeyAction::PageDown => PAGE as i64,
                KeyAction::Top => i64::MIN / 2,
                _ => i64::MAX / 2,
            };
            move_in_pane(app, pane, delta)
        }
        KeyAction::Left | KeyAction::Right => {
            let d = if action == KeyAction::Left { -1 } else { 1 };
            match pane {
                Pane::Logs | Pane::Diagnostics | Pane::Runs => {
                    app.dirty = false;
                    Vec::new()
                }
                _ => app.move_cursor(d),
            }
        }
        KeyAction::DrillDown => match pane {
            Pane::Models | Pane::Trend => {
                app.focus = Pane::Characteristics;
                Vec::new()
            }
            Pane::Characteristics => {
                if app.selected_characteristic().is_some() {
                    app.focus = Pane::Bins;
                }
                Vec::new()
            }
            Pane::Runs => {
                app.focus = Pane::Logs;
                app.log.from_events = false;
                app.tail_selected_run()
            }
            _ => Vec::new(),
        },
        KeyAction::Back => {
            match pane {
                Pane::Bins => app.focus = Pane::Characteristics,
                Pane::Characteristics | Pane::Trend | Pane::Runs | Pane::Diagnostics => {
                    app.focus = Pane::Models
                }
                Pane::Logs => app.focus = Pane::Runs,
                Pane::Models => {
                    if !app.filter.is_empty() || app.stream_filter.is_some() {
                        app.filter.clear();
                        app.stream_filter = None;
                        let keep = app.selected_row().map(|r| r.model_id.clone());
                        app.recompute_visible(keep.as_deref());
                        return app.selection_changed();
                    }
                    app.status = None;
                }
            }
            Vec::new()
        }
        KeyAction::Rerun => {
            match app.rerun_target() {
                Some(t) => app.mode = Mode::Confirm(Action::Rerun(t)),
                None => app.set_status(Level::Warn, "rerun: no model or calculation date selected"),
            }
            Vec::new()
        }
        KeyAction::Backfill => {
            let Some(row) = app.selected_row() else {
                app.set_status(Level::Warn, "backfill: no model selected");
                return Vec::new();
            };
            let to = app
                .cursor_date()
                .unwrap_or_else(|| app.now.date_naive() - Duration::days(1));
            let from = to - Duration::days(2);
            app.mode = Mode::Backfill(BackfillForm {
                model_id: row.model_id.clone(),
                value_stream: row.value_stream.clone(),
                from: from.to_string(),
                to: to.to_string(),
                field: BackfillField::From,
                only_missing: true,
            });
            Vec::new()
        }
        KeyAction::Refresh => {
            let Some(row) = app.selected_row() else {
                app.set_status(Level::Warn, "refresh: no model selected");
                return Vec::new();
            };
            let action = Action::Refresh {
                model_id: row.model_id.clone(),
                value_stream: row.value_stream.clone(),
            };
            if app.session.refresh_configured {
                app.mode = Mode::Confirm(action);
                Vec::new()
            } else {
                // Nothing would run: no confirmation, but the dispatcher still audits it.
                vec![Effect::Dispatch(action)]
            }
        }
        KeyAction::RerunFailed => {
            let targets: Vec<RunTarget> = app
                .rows
                .iter()
                .filter(|r| r.status == Some(RunStatus::Failed))
                .filter_map(|r| {
                    Some(RunTarget {
                        model_id: r.model_id.clone(),
                        value_stream: r.value_stream.clone(),
                        date: r.run_date?,
                    })
                })
                .collect();
            if targets.is_empty() {
                app.set_status(Level::Info, "no failed models to rerun");
            } else {
                app.mode = Mode::Confirm(Action::RerunFailed(targets));
            }
            Vec::new()
        }
        KeyAction::Filter => {
            app.focus = Pane::Models;
            app.mode = Mode::Filter;
            Vec::new()
        }
        KeyAction::CycleSort | KeyAction::GroupByStream | KeyAction::CycleValueStream => {
            match action {
                KeyAction::CycleSort => app.sort = app.sort.next(),
                KeyAction::GroupByStream => app.group_by_stream = !app.group_by_stream,
                _ => {
                    let streams = app.value_streams();
                    app.stream_filter = match &app.stream_filter {
                        None => streams.first().cloned(),
                        Some(cur) => streams
                            .iter()
                            .position(|s| s == cur)
                            .and_then(|i| streams.get(i + 1))
                            .cloned(),
                    };
                }
            }
            let keep = app.selected_row().map(|r| r.model_id.clone());
            app.recompute_visible(keep.as_deref());
            app.selection_changed()
        }
        KeyAction::Reload => {
            let mut fx: Vec<Effect> = app.request_overview().into_iter().collect();
            if let Some(row) = app.selected_row() {
                let id = row.model_id.clone();
                app.detail_loading = Some(id.clone());
                app.characteristics = None;
                fx.push(Effect::LoadDetail(id));
            }
            app.set_status(Level::Info, "reloading");
            fx
        }
        KeyAction::Follow => {
            app.log.follow = !app.log.follow;
            if !app.log.follow {
                app.log.scroll = app.log.buffer.len().saturating_sub(1);
            }
            Vec::new()
        }
        KeyAction::Wrap => {
            app.log.wrap = !app.log.wrap;
            Vec::new()
        }
        KeyAction::Search => {
            app.mode = Mode::LogSearch;
            Vec::new()
        }
        KeyAction::NextMatch => {
            jump_to_match(app, true);
            Vec::new()
        }
        KeyAction::SaveLog => {
            let Some(source) = app.log.source.clone() else {
                app.set_status(Level::Warn, "no log to save");
                return Vec::new();
            };
            let safe: String = source
                .label()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let name = format!("driftdeck-{safe}-{}.log", app.now.format("%Y%m%dT%H%M%S"));
            vec![Effect::SaveLog {
                path: app.session.save_dir.join(name),
                text: app.log.buffer.to_text(),
            }]
        }
    }
}

fn move_in_pane(app: &mut App, pane: Pane, delta: i64) -> Vec<Effect> {
    let clamp = |cur: usize, len: usize| -> usize {
        if len == 0 {
            0
        } else {
            (cur as i64).saturating_add(delta).clamp(0, len as i64 - 1) as usize
        }
    };
    match pane {
        Pane::Models | Pane::Trend => app.move_selection(delta),
        Pane::Characteristics | Pane::Bins => {
            let n = app.cursor_characteristics().map_or(0, <[_]>::len);
            app.char_selected = clamp(app.char_selected, n);
            Vec::new()
        }
        Pane::Runs => {
            let n = app.selected_detail().map_or(0, |d| d.runs.len());
            app.run_selected = clamp(app.run_selected, n);
            app.log.from_events = false;
            app.tail_selected_run()
        }
        Pane::Logs => {
            let len = app.log.buffer.len();
            let cur = if app.log.follow {
                len.saturating_sub(1)
            } else {
                app.log.scroll
            };
            app.log.scroll = clamp(cur, len);
            app.log.follow = delta > 0 && app.log.scroll + 1 >= len;
            Vec::new()
        }
        Pane::Diagnostics => Vec::new(),
    }
}
