//! The refresh view (`B`): the last benchmark refresh runs with each model's outcome, and the
//! rollback (`u`) of a model's benchmark to its newest kept version, confirmed and dispatched
//! like every action. The data arrives as [`Msg::Refreshes`](super::Msg::Refreshes), loaded in
//! the background ([`Effect::LoadRefreshes`]).

use crossterm::event::KeyEvent;

use crate::console::action::Action;
use crate::console::keys::{Context, KeyAction};
use crate::console::refreshes::RefreshData;
use crate::refresh::ModelRefresh;

use super::{App, Effect, Level, Mode, PAGE};

/// State of the refresh view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefreshView {
    /// The last load's data (kept while a reload runs).
    pub data: Option<RefreshData>,
    /// A load is in flight.
    pub loading: bool,
    /// Why the last load failed.
    pub error: Option<String>,
    /// Selected entry, an index into [`RefreshView::entries`].
    pub selected: usize,
    /// A rollback of this model waits for its kept versions to be looked up.
    pub pending_rollback: Option<String>,
}

impl RefreshView {
    /// Every model entry of the loaded runs as (run index, model index), newest run first.
    pub fn entries(&self) -> Vec<(usize, usize)> {
        let Some(d) = &self.data else {
            return Vec::new();
        };
        d.runs
            .iter()
            .enumerate()
            .flat_map(|(r, run)| (0..run.models.len()).map(move |m| (r, m)))
            .collect()
    }

    /// The selected model entry.
    pub fn selected_entry(&self) -> Option<&ModelRefresh> {
        let (r, m) = *self.entries().get(self.selected)?;
        self.data.as_ref()?.runs.get(r)?.models.get(m)
    }
}

impl App {
    /// The refresh view's state.
    pub fn refresh_view(&self) -> &RefreshView {
        &self.refreshes
    }

    /// Asks for the refresh data, with the kept versions of `models` as well.
    pub(super) fn request_refreshes(&mut self, models: Vec<String>) -> Effect {
        self.refreshes.loading = true;
        Effect::LoadRefreshes(models)
    }

    /// Opens the refresh view and loads it.
    pub(super) fn open_refreshes(&mut self) -> Vec<Effect> {
        self.mode = Mode::Refreshes;
        let selected: Vec<String> = self
            .selected_row()
            .map(|r| r.model_id.clone())
            .into_iter()
            .collect();
        vec![self.request_refreshes(selected)]
    }

    /// `u`: looks up the newest kept version of `model_id`, then asks to confirm its rollback.
    pub(super) fn start_rollback(&mut self, model_id: String) -> Vec<Effect> {
        self.set_status(
            Level::Info,
            format!("rollback: looking up the kept benchmark versions of {model_id}"),
        );
        self.refreshes.pending_rollback = Some(model_id.clone());
        vec![self.request_refreshes(vec![model_id])]
    }

    /// The refresh data (or its error) arrived.
    pub(super) fn apply_refreshes(&mut self, result: Result<RefreshData, String>) -> Vec<Effect> {
        self.refreshes.loading = false;
        let pending = self.refreshes.pending_rollback.take();
        match result {
            Ok(data) => {
                self.refreshes.error = None;
                self.refreshes.data = Some(data);
                let n = self.refreshes.entries().len();
                self.refreshes.selected = self.refreshes.selected.min(n.saturating_sub(1));
            }
            Err(e) => {
                self.refreshes.error = Some(e.clone());
                if let Some(m) = pending {
                    self.set_status(Level::Error, format!("rollback of {m}: {e}"));
                }
                return Vec::new();
            }
        }
        let Some(model_id) = pending else {
            return Vec::new();
        };
        let candidate = self
            .refreshes
            .data
            .as_ref()
            .and_then(|d| d.rollback.get(&model_id))
            .cloned();
        let value_stream = self
            .meta
            .get(&model_id)
            .map(|m| m.value_stream.clone())
            .or_else(|| {
                self.rows
                    .iter()
                    .find(|r| r.model_id == model_id)
                    .map(|r| r.value_stream.clone())
            })
            .unwrap_or_default();
        match candidate {
            Some(c) => {
                self.mode = Mode::Confirm(Action::Rollback {
                    model_id,
                    value_stream,
                    version: c.version,
                    checksum: c.checksum,
                    rows: c.rows,
                    current: c.current,
                });
            }
            None => self.set_status(
                Level::Warn,
                format!(
                    "rollback: {model_id} has no kept benchmark version (a refresh keeps the one it replaces)"
                ),
            ),
        }
        Vec::new()
    }
}

/// Keys while the refresh view is open: move, `u` roll back the selected model, ctrl-r
/// reload, esc / q / `B` close.
pub(super) fn on_refresh_view_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Some(action) = app.keys.lookup(Context::Global, &key) else {
        app.dirty = false;
        return Vec::new();
    };
    let n = app.refreshes.entries().len();
    let mv = |cur: usize, delta: i64| -> usize {
        if n == 0 {
            0
        } else {
            (cur as i64).saturating_add(delta).clamp(0, n as i64 - 1) as usize
        }
    };
    let cur = app.refreshes.selected;
    match action {
        KeyAction::Up => app.refreshes.selected = mv(cur, -1),
        KeyAction::Down => app.refreshes.selected = mv(cur, 1),
        KeyAction::PageUp => app.refreshes.selected = mv(cur, -(PAGE as i64)),
        KeyAction::PageDown => app.refreshes.selected = mv(cur, PAGE as i64),
        KeyAction::Top => app.refreshes.selected = 0,
        KeyAction::Bottom => app.refreshes.selected = n.saturating_sub(1),
        KeyAction::Reload => {
            let selected: Vec<String> = app
                .refreshes
                .selected_entry()
                .map(|e| e.model.clone())
                .into_iter()
                .collect();
            return vec![app.request_refreshes(selected)];
        }
        KeyAction::Rollback => {
            let Some(entry) = app.refreshes.selected_entry() else {
                app.set_status(Level::Warn, "rollback: no refresh entry selected");
                return Vec::new();
            };
            if entry.model == "common" {
                app.set_status(
                    Level::Warn,
                    "rollback: a value stream's common/ data is rolled back with `driftdeck rollback-benchmark`, not from the console",
                );
                return Vec::new();
            }
            let model = entry.model.clone();
            return app.start_rollback(model);
        }
        KeyAction::Back | KeyAction::Quit | KeyAction::RefreshView => app.mode = Mode::Normal,
        _ => app.dirty = false,
    }
    Vec::new()
}
