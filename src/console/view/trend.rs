//! Trend pane: PSI (or CSI) over calculation dates, with thresholds and the date cursor.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType};

use crate::console::app::{App, Pane};
use crate::console::theme::{Role, Theme, band_symbol};
use crate::domain::{Band, Thresholds};

use super::{fmt_value, message, pane_block, selected_title};

/// Largest PSI drawn on the chart's y axis. Stored values come from outside (another writer to
/// the shared table can store `1e308`, a negative or a non-finite value); anything above is drawn
/// at this cap, below 0 at 0, and non-finite values are left out, each counted in the title.
/// An eps-floored PSI stays far below it (about 2·ln(1/eps) ≈ 18 for eps = 1e-4).
pub const PLOT_CAP: f64 = 100.0;

/// Where a stored PSI is drawn: `None` for NaN (left out), else clamped to `0..=PLOT_CAP`.
/// The flag says the value was changed (clamped or left out) and must be marked.
pub fn plot_value(v: f64) -> (Option<f64>, bool) {
    if v.is_nan() {
        (None, true)
    } else if (0.0..=PLOT_CAP).contains(&v) {
        (Some(v), false)
    } else {
        (Some(v.clamp(0.0, PLOT_CAP)), true)
    }
}

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
                " · {} PSI {} {} {}",
                r.calculation_date,
                fmt_value(r.psi_score),
                band_symbol(band),
                band
            ),
            t.style(Theme::band_role(band)),
        ));
        // A recomputed date says so in text (`✎`), with what it was before the last rerun.
        if let Some(h) = app
            .selected_detail()
            .and_then(|d| d.replaced_on(r.calculation_date).last())
        {
            title.push(Span::styled(
                format!(" {}", super::replaced_text(h)),
                t.style(Role::Warn),
            ));
        }
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

/// Calculation dates on which a model's benchmark version changed: among the succeeded runs
/// (newest attempt per date), each date whose `benchmark_version` differs from the previous
/// date's. Only the runs the console loaded are considered.
pub(crate) fn benchmark_changes(runs: &[crate::store::RunRecord]) -> Vec<chrono::NaiveDate> {
    use std::collections::BTreeMap;
    let mut per_date: BTreeMap<chrono::NaiveDate, &crate::store::RunRecord> = BTreeMap::new();
    for r in runs {
        if r.status != crate::domain::RunStatus::Succeeded || r.benchmark_version.is_none() {
            continue;
        }
        match per_date.get(&r.calculation_date) {
            Some(prev) if prev.started_at >= r.started_at => {}
            _ => {
                per_date.insert(r.calculation_date, r);
            }
        }
    }
    let mut out = Vec::new();
    let mut last: Option<&str> = None;
    for (date, r) in per_date {
        let v = r.benchmark_version.as_deref();
        if last.is_some() && v != last {
            out.push(date);
        }
        last = v;
    }
    out
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
    let mut marked = 0usize;
    let mut line: Vec<(f64, f64)> = Vec::with_capacity(history.len());
    let mut warn_pts = Vec::new();
    let mut alert_pts = Vec::new();
    for r in history {
        let (y, changed) = plot_value(r.psi_score);
        marked += usize::from(changed);
        let Some(y) = y else { continue };
        let p = (x(r.calculation_date), y);
        line.push(p);
        match th.band(r.psi_score) {
            Band::Warn => warn_pts.push(p),
            Band::Alert => alert_pts.push(p),
            Band::Ok => {}
        }
    }
    let psi_max = line.iter().map(|p| p.1).fold(0.0, f64::max);
    // Thresholds come from configuration (validated finite) but are clamped like data.
    let warn_y = plot_value(th.warn).0.unwrap_or(0.0);
    let alert_y = plot_value(th.alert).0.unwrap_or(0.0);
    let y_max = (psi_max.max(alert_y) * 1.15).max(0.01);
    let warn_line = [(0.0, warn_y), (x_max, warn_y)];
    let alert_line = [(0.0, alert_y), (x_max, alert_y)];
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
    // Dates where the benchmark changed (refresh or rollback): a dotted vertical line, so a new
    // baseline is not mistaken for drift.
    let changes: Vec<(f64, f64)> = app
        .selected_detail()
        .map(|d| benchmark_changes(&d.runs))
        .unwrap_or_default()
        .into_iter()
        .filter(|d| *d >= first && *d <= last)
        .flat_map(|d| {
            let cx = x(d);
            (0..=10).map(move |i| (cx, y_max * f64::from(i) / 10.0))
        })
        .collect();
    if !changes.is_empty() {
        datasets.push(
            Dataset::default()
                .name("┆ new benchmark")
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(t.style(Role::Muted))
                .data(&changes),
        );
    }
    // Recomputed dates: a point on the current value, named `✎ recomputed` in the legend.
    let recomputed: Vec<(f64, f64)> = app
        .selected_detail()
        .map(|d| {
            history
                .iter()
                .filter(|r| d.replaced_on(r.calculation_date).next().is_some())
                .filter_map(|r| {
                    plot_value(r.psi_score)
                        .0
                        .map(|y| (x(r.calculation_date), y))
                })
                .collect()
        })
        .unwrap_or_default();
    if !recomputed.is_empty() {
        datasets.push(
            Dataset::default()
                .name(format!("✎ recomputed ({})", recomputed.len()))
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(t.style(Role::Accent))
                .data(&recomputed),
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
    let block = if marked > 0 {
        block.title_bottom(Line::styled(
            format!(
                " ⚠ {marked} stored value(s) outside 0..{PLOT_CAP} or not a number: clipped or left out "
            ),
            t.style(Role::Warn),
        ))
    } else {
        block
    };
    // The recomputed dates in text too: the legend hides on small panes.
    let block = if recomputed.is_empty() {
        block
    } else {
        block.title_bottom(Line::styled(
            format!(
                " ✎ {} recomputed date(s): the cursor on one shows what it was ",
                recomputed.len()
            ),
            t.style(Role::Accent),
        ))
    };
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

#[cfg(test)]
mod tests {
    use super::benchmark_changes;
    use crate::domain::{RunAction, RunStatus};
    use crate::store::RunRecord;
    use chrono::{NaiveDate, TimeZone, Utc};

    fn run(day: u32, version: &str, status: RunStatus, minute: u32) -> RunRecord {
        RunRecord {
            run_id: format!("r{day}-{minute}"),
            attempt: 1,
            max_attempts: 3,
            model_id: "m".into(),
            value_stream: "vs".into(),
            calculation_date: NaiveDate::from_ymd_opt(2013, 12, day).expect("date"),
            action: RunAction::Run,
            status,
            error: None,
            started_at: Utc
                .with_ymd_and_hms(2026, 11, 29, 10, minute, 0)
                .single()
                .expect("time"),
            finished_at: None,
            benchmark_version: Some(version.into()),
            rows_benchmark: None,
            rows_current: None,
            triggered_by: "t".into(),
            log_path: None,
        }
    }

    #[test]
    fn a_new_benchmark_version_marks_its_first_date() {
        let d = |day| NaiveDate::from_ymd_opt(2013, 12, day).expect("date");
        let runs = vec![
            run(1, "aaa", RunStatus::Succeeded, 1),
            run(2, "aaa", RunStatus::Succeeded, 2),
            run(3, "bbb", RunStatus::Failed, 3), // failed runs do not count
            run(3, "aaa", RunStatus::Succeeded, 4),
            run(4, "bbb", RunStatus::Succeeded, 5),
            run(5, "bbb", RunStatus::Succeeded, 6),
            run(6, "aaa", RunStatus::Succeeded, 7), // a rollback is a change too
            run(2, "ccc", RunStatus::Succeeded, 0), // older attempt of day 2, replaced
        ];
        assert_eq!(benchmark_changes(&runs), vec![d(4), d(6)]);
        assert!(benchmark_changes(&[]).is_empty());
    }
}
