//! Trend pane: PSI (or CSI) over calculation dates, with thresholds and the date cursor.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType};

use crate::console::app::{App, Pane};
use crate::console::theme::{Role, Theme, band_symbol};
use crate::domain::{Band, Thresholds};

use super::{message, pane_block, selected_title};

pub(super) fn draw_trend(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
    let t = &app.theme;
    let Some(row) = app.selected_row() else {
        let block = pane_block(
            t,
            Pane::Trend,
            Line::styled("Trend", t.style(Role::Accent)),
            focused,
        );
        message(frame, area, block, "select a model", t.style(Role::Muted));
        return;
    };
    let th = row.thresholds;
    let mut title = vec![
        Span::styled("Trend ", t.style(Role::Accent)),
        Span::raw(selected_title(app)),
    ];
    if let Some(r) = app.cursor_result() {
        let band = th.band(r.psi_score);
        title.push(Span::styled(
            format!(
                " · {} PSI {:.3} {} {}",
                r.calculation_date,
                r.psi_score,
                band_symbol(band),
                band
            ),
            t.style(Theme::band_role(band)),
        ));
    }
    let block = pane_block(t, Pane::Trend, Line::from(title), focused);
    let Some(detail) = app.selected_detail() else {
        let (text, style) = match &app.detail_error {
            Some(e) => (format!("✗ cannot load history: {e}"), t.style(Role::Failed)),
            None => ("loading history…".to_string(), t.style(Role::Muted)),
        };
        message(frame, area, block, &text, style);
        return;
    };
    if detail.history.is_empty() {
        message(
            frame,
            area,
            block,
            "no results yet for this model (press r to run it)",
            t.style(Role::Muted),
        );
        return;
    }
    draw_trend_chart(app, frame, area, block, &detail.history, th);
}

pub(super) fn draw_trend_chart(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    block: Block,
    history: &[crate::store::ResultRecord],
    th: Thresholds,
) {
    let t = &app.theme;
    let first = history[0].calculation_date;
    let last = history[history.len() - 1].calculation_date;
    let x = |d: chrono::NaiveDate| (d - first).num_days() as f64;
    let x_max = x(last).max(1.0);
    let psi_max = history.iter().map(|r| r.psi_score).fold(0.0, f64::max);
    let y_max = (psi_max.max(th.alert) * 1.15).max(0.01);
    let line: Vec<(f64, f64)> = history
        .iter()
        .map(|r| (x(r.calculation_date), r.psi_score))
        .collect();
    let mut warn_pts = Vec::new();
    let mut alert_pts = Vec::new();
    for r in history {
        match th.band(r.psi_score) {
            Band::Warn => warn_pts.push((x(r.calculation_date), r.psi_score)),
            Band::Alert => alert_pts.push((x(r.calculation_date), r.psi_score)),
            Band::Ok => {}
        }
    }
    let warn_line = [(0.0, th.warn), (x_max, th.warn)];
    let alert_line = [(0.0, th.alert), (x_max, th.alert)];
    let cursor: Vec<(f64, f64)> = app
        .cursor_result()
        .map(|r| {
            let cx = x(r.calculation_date);
            (0..=20)
                .map(|i| (cx, y_max * f64::from(i) / 20.0))
                .collect()
        })
        .unwrap_or_default();
    let mut datasets = vec![
        Dataset::default()
            .name(format!("─ alert {:.2}", th.alert))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.style(Role::Alert))
            .data(&alert_line),
        Dataset::default()
            .name(format!("─ warn {:.2}", th.warn))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.style(Role::Warn))
            .data(&warn_line),
        Dataset::default()
            .name("PSI")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.style(Role::Text))
            .data(&line),
    ];
    if !warn_pts.is_empty() {
        datasets.push(
            Dataset::default()
                .name("▲ warn")
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(t.style(Role::Warn))
                .data(&warn_pts),
        );
    }
    if !alert_pts.is_empty() {
        datasets.push(
            Dataset::default()
                .name("✖ alert")
                .marker(Marker::Block)
                .graph_type(GraphType::Scatter)
                .style(t.style(Role::Alert))
                .data(&alert_pts),
        );
    }
    if !cursor.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.style(Role::Accent))
                .data(&cursor),
        );
    }
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(
            Axis::default()
                .bounds([0.0, x_max])
                .style(t.style(Role::Muted))
                .labels([
                    first.format("%Y-%m-%d").to_string(),
                    last.format("%Y-%m-%d").to_string(),
                ]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, y_max])
                .style(t.style(Role::Muted))
                .labels(["0".to_string(), format!("{y_max:.2}")]),
        )
        .legend_position(Some(ratatui::widgets::LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Percentage(45), Constraint::Percentage(60)));
    frame.render_widget(chart, area);
}
