//! Models pane: one row per model with value stream, last run status, PSI, worst CSI and trend.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, TableState};

use crate::console::app::{App, Mode, Pane};
use crate::console::theme::{Role, Theme, band_symbol, status_label};

use super::{fmt_value, message, mini_trend, pane_block};

fn fmt_index(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), fmt_value)
}

pub(super) fn draw_models(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
    let t = &app.theme;
    let mut title = vec![
        Span::styled("Models", t.style(Role::Accent)),
        Span::styled(
            format!(
                " {}/{} · sort {}",
                app.visible.len(),
                app.rows.len(),
                app.sort.label()
            ),
            t.style(Role::Muted),
        ),
    ];
    if app.group_by_stream {
        title.push(Span::styled(" · grouped", t.style(Role::Muted)));
    }
    if app.attention_only {
        title.push(Span::styled(" · needs attention", t.style(Role::Text)));
    }
    if let Some(vs) = &app.stream_filter {
        title.push(Span::styled(format!(" · stream {vs}"), t.style(Role::Text)));
    }
    if !app.filter.is_empty() || app.mode == Mode::Filter {
        let cursor = if app.mode == Mode::Filter { "▏" } else { "" };
        title.push(Span::styled(
            format!(" · /{}{cursor}", app.filter),
            t.style(Role::Accent),
        ));
    }
    let mut block = pane_block(t, Pane::Models, Line::from(title), focused);
    if let Some(e) = &app.overview_error {
        block = block.title_bottom(Line::styled(
            format!(" ✗ store: {e} "),
            t.style(Role::Failed),
        ));
    }
    if let Some(e) = &app.overview_error
        && app.rows.is_empty()
    {
        message(
            frame,
            area,
            block,
            &format!("✗ cannot read the results store\n{e}"),
            t.style(Role::Failed),
        );
        return;
    }
    if app.visible.is_empty() {
        let text = if app.rows.is_empty() {
            "no models yet: configure models.yaml or run `driftdeck run --all`"
        } else {
            "no model matches the filter (esc clears it)"
        };
        message(frame, area, block, text, t.style(Role::Muted));
        return;
    }
    let inner_w = area.width.saturating_sub(2);
    let height = usize::from(area.height.saturating_sub(3)).max(1);
    let offset = app.selected.saturating_sub(height - 1);
    let wide = inner_w >= 84;
    let mid = inner_w >= 56;
    let model_w = app
        .visible
        .iter()
        .map(|&i| app.rows[i].model_id.chars().count())
        .max()
        .unwrap_or(10)
        .clamp(10, 24) as u16;
    // The RUN column widens for a data-quality mark ("Q!" warn, "Q✗" fail) only when a row has one.
    let any_quality = app.visible.iter().any(|&i| app.rows[i].quality.is_some());
    // … and for "SUSP" when a model's CronJob is suspended (Kubernetes).
    let any_suspended = app
        .visible
        .iter()
        .any(|&i| app.is_suspended(&app.rows[i].model_id));
    let mut header = vec!["VS", "MODEL", "LAST", "RUN", "PSI"];
    let mut widths = vec![
        Constraint::Length(10),
        Constraint::Length(model_w),
        Constraint::Length(if mid { 10 } else { 5 }),
        Constraint::Length(7 + if any_quality { 3 } else { 0 } + if any_suspended { 5 } else { 0 }),
        Constraint::Length(7),
    ];
    if mid {
        header.push("WORST CSI");
        widths.push(Constraint::Fill(1));
    }
    if wide {
        header.push("TREND");
        widths.push(Constraint::Length(12));
    }
    let rows: Vec<Row> = app
        .visible
        .iter()
        .skip(offset)
        .take(height)
        .map(|&i| {
            let r = &app.rows[i];
            let band = r.band();
            let band_style = band.map_or(t.style(Role::Muted), |b| t.style(Theme::band_role(b)));
            let mut status = match r.status {
                Some(s) => vec![Span::styled(
                    status_label(s),
                    t.style(Theme::status_role(s)),
                )],
                None => vec![Span::styled("· —", t.style(Role::Muted))],
            };
            if let Some(q) = r.quality {
                let (mark, role) = quality_mark(q);
                status.push(Span::styled(format!(" {mark}"), t.style(role)));
            }
            if app.is_suspended(&r.model_id) {
                status.push(Span::styled(" SUSP", t.style(Role::Warn)));
            }
            let status = Cell::from(Line::from(status));
            let last = r.last_date.map_or_else(
                || "—".to_string(),
                |d| {
                    if mid {
                        d.to_string()
                    } else {
                        d.format("%m-%d").to_string()
                    }
                },
            );
            let psi = format!("{} {}", band.map_or(" ", band_symbol), fmt_index(r.psi));
            let mut cells = vec![
                Cell::from(r.value_stream.clone()),
                Cell::from(r.model_id.clone()),
                Cell::from(last),
                status,
                Cell::from(Span::styled(psi, band_style)),
            ];
            if mid {
                let csi_band = r.csi.map(|c| r.thresholds.band(c));
                let txt = match (&r.csi_name, r.csi) {
                    (Some(n), Some(c)) => format!("{} {n}", fmt_value(c)),
                    (None, Some(c)) => fmt_value(c),
                    _ => "—".into(),
                };
                cells.push(Cell::from(Span::styled(
                    txt,
                    csi_band.map_or(t.style(Role::Muted), |b| t.style(Theme::band_role(b))),
                )));
            }
            if wide {
                let max = r.trend.iter().copied().fold(r.thresholds.alert, f64::max);
                cells.push(Cell::from(Span::styled(
                    mini_trend(&r.trend, max, 12),
                    band_style,
                )));
            }
            Row::new(cells)
        })
        .collect();
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.style(Role::Muted).add_modifier(Modifier::BOLD)))
        .block(block)
        .row_highlight_style(t.selection())
        .column_spacing(1);
    let mut state = TableState::default().with_selected(Some(app.selected - offset));
    frame.render_stateful_widget(table, area, &mut state);
}

/// The data-quality mark of a run (text, never colour alone): `Q!` warn, `Q✗` fail.
pub(super) fn quality_mark(severity: crate::quality::Severity) -> (&'static str, Role) {
    match severity {
        crate::quality::Severity::Warn => ("Q!", Role::Warn),
        crate::quality::Severity::Fail => ("Q✗", Role::Failed),
    }
}
