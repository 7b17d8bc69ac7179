//! Key handling per mode: dialogs, filter, log search, then normal mode.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{
    App, BackfillField, Effect, Level, Mode, jump_to_match, on_normal_key, on_refresh_view_key,
};
use crate::console::action::{Action, RefreshScope};

pub(super) fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        app.should_quit = true;
        return vec![Effect::Quit];
    }
    match app.mode.clone() {
        Mode::Normal => on_normal_key(app, key),
        Mode::Refreshes => on_refresh_view_key(app, key),
        Mode::Command(text) => super::kube::on_command_key(app, text, key),
        Mode::Picker(picker) => super::kube::on_picker_key(app, picker, key),
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
        Mode::Confirm(Action::Refresh {
            model_id,
            value_stream,
            scope,
            ..
        }) if matches!(key.code, KeyCode::Char('s')) => {
            let scope = scope.next();
            let models: Vec<String> = app
                .rows
                .iter()
                .filter(|r| match scope {
                    RefreshScope::Model => r.model_id == model_id,
                    RefreshScope::ValueStream => r.value_stream == value_stream,
                    RefreshScope::All => true,
                })
                .map(|r| format!("{} / {}", r.value_stream, r.model_id))
                .collect();
            app.mode = Mode::Confirm(Action::Refresh {
                model_id,
                value_stream,
                scope,
                models,
            });
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
