//! Normal-mode keys: focus, selection, drill-down and the date cursor, per pane.

use chrono::Duration;
use crossterm::event::KeyEvent;

use crate::console::action::{Action, RefreshScope, RunTarget};
use crate::console::keys::KeyAction;
use crate::domain::RunStatus;

use super::{App, BackfillField, BackfillForm, Effect, Level, Mode, PAGE, Pane, jump_to_match};

impl App {
    pub(super) fn move_cursor(&mut self, delta: i64) -> Vec<Effect> {
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

    pub(super) fn move_selection(&mut self, delta: i64) -> Vec<Effect> {
        if self.visible.is_empty() {
            return Vec::new();
        }
        let next = (self.selected as i64 + delta).clamp(0, self.visible.len() as i64 - 1);
        self.selected = next as usize;
        self.selection_changed()
    }
}

pub(super) fn on_normal_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
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
                scope: RefreshScope::Model,
                models: vec![format!("{} / {}", row.value_stream, row.model_id)],
            };
            if app.session.refresh_configured {
                app.mode = Mode::Confirm(action);
                Vec::new()
            } else {
                // Nothing would run: no confirmation, but the dispatcher still audits it.
                vec![Effect::Dispatch(action)]
            }
        }
        KeyAction::RefreshView => app.open_refreshes(),
        KeyAction::Rollback => match app.selected_row() {
            Some(row) => {
                let id = row.model_id.clone();
                app.start_rollback(id)
            }
            None => {
                app.set_status(Level::Warn, "rollback: no model selected");
                Vec::new()
            }
        },
        KeyAction::RerunFailed => {
            let targets: Vec<RunTarget> = app
                .rows
                .iter()
                .filter(|r| r.status.is_some_and(RunStatus::is_failure))
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
        KeyAction::Command => super::kube::open_command(app),
        KeyAction::Suspend => app.suspend_key(),
        KeyAction::Filter => {
            app.focus = Pane::Models;
            app.mode = Mode::Filter;
            Vec::new()
        }
        KeyAction::CycleSort
        | KeyAction::GroupByStream
        | KeyAction::CycleValueStream
        | KeyAction::NeedsAttention => {
            match action {
                KeyAction::CycleSort => app.sort = app.sort.next(),
                KeyAction::NeedsAttention => app.attention_only = !app.attention_only,
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
            // Saving writes a file: an action like any other (issue 11 #8).
            if app.session.read_only {
                app.set_status(
                    Level::Warn,
                    "the console is read-only (--read-only): logs are not saved",
                );
                return Vec::new();
            }
            if app.session.role < crate::domain::Role::Operator {
                app.set_status(
                    Level::Warn,
                    format!(
                        "saving a log needs the operator role; you are {}",
                        app.session.role
                    ),
                );
                return Vec::new();
            }
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

pub(super) fn move_in_pane(app: &mut App, pane: Pane, delta: i64) -> Vec<Effect> {
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
