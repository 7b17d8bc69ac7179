//! The pure [`update`] function: routes each [`Msg`] to its handler.

use crate::store::ColumnRole;

use super::{App, Effect, Level, LogSource, Msg, Pane, on_dispatched, on_job, on_key};

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
                    if !matches!(app.log.source, Some(LogSource::Job(_))) {
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
        Msg::Refreshes(result) => app.apply_refreshes(result),
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
        Msg::Targets { kind, result } => super::kube::on_targets(app, kind, result),
        Msg::TargetSwitched { kind, name, result } => {
            super::kube::on_switched(app, kind, name, result)
        }
        Msg::Schedules(result) => {
            match result {
                Ok(s) => app.apply_schedules(s),
                Err(e) => {
                    app.dirty = false;
                    tracing::warn!("listing the CronJobs failed: {e}");
                }
            }
            Vec::new()
        }
        Msg::Health(failing) => {
            if !failing.is_empty() {
                app.set_status(
                    Level::Error,
                    format!("backend check: {}", failing.join("; ")),
                );
            }
            app.failing_backends = failing;
            app.dirty = true;
            Vec::new()
        }
        Msg::Pending(n) => {
            if app.pending != n {
                app.pending = n;
                app.dirty = true;
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
