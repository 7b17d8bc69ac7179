//! Runs pane: Job attempts of the selected model with status and duration.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, TableState};

use crate::console::app::{App, Pane};
use crate::console::theme::{Role, Theme, status_label};

use super::{message, pane_block, selected_title};

fn fmt_duration(secs: i64) -> String {
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

pub(super) fn draw_runs(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
    let t = &app.theme;
    let title = Line::from(vec![
        Span::styled("Runs", t.style(Role::Accent)),
        Span::styled(format!(" {}", selected_title(app)), t.style(Role::Muted)),
    ]);
    let block = pane_block(t, Pane::Runs, title, focused);
    let Some(detail) = app.selected_detail() else {
        let (text, style) = match &app.detail_error {
            Some(e) => (format!("✗ cannot load runs: {e}"), t.style(Role::Failed)),
            None if app.selected_row().is_none() => {
                ("select a model".to_string(), t.style(Role::Muted))
            }
            None => ("loading runs…".to_string(), t.style(Role::Muted)),
        };
        message(frame, area, block, &text, style);
        return;
    };
    if detail.runs.is_empty() {
        message(
            frame,
            area,
            block,
            "no run recorded for this model",
            t.style(Role::Muted),
        );
        return;
    }
    let height = usize::from(area.height.saturating_sub(3)).max(1);
    // Current rows only when the pane leaves the error column room (inner width ≥ 100).
    let wide = area.width >= 102;
    let offset = app.run_selected.saturating_sub(height - 1);
    let rows: Vec<Row> = detail
        .runs
        .iter()
        .skip(offset)
        .take(height)
        .map(|r| {
            let end = r.finished_at.unwrap_or(app.now);
            let secs = (end - r.started_at).num_seconds().max(0);
            let mut cells = vec![
                Cell::from(r.calculation_date.to_string()),
                Cell::from(Span::styled(
                    status_label(r.status),
                    t.style(Theme::status_role(r.status)),
                )),
                Cell::from(format!("{}/{}", r.attempt, r.max_attempts)),
                Cell::from(if r.finished_at.is_some() {
                    fmt_duration(secs)
                } else {
                    format!("{}…", fmt_duration(secs))
                }),
                Cell::from(r.action.as_str()),
                Cell::from(r.triggered_by.clone()),
            ];
            if wide {
                cells.push(Cell::from(
                    r.rows_current.map_or_else(|| "—".into(), |n| n.to_string()),
                ));
            }
            cells.push(Cell::from(details(t, r, detail)));
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(10),
        Constraint::Length(7),
        Constraint::Length(3),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(9),
    ];
    let mut header = vec!["DATE", "STATUS", "TRY", "TIME", "ACTION", "BY"];
    if wide {
        widths.push(Constraint::Length(7));
        header.push("ROWS");
    }
    widths.push(Constraint::Fill(1));
    header.push("ERROR / FINDINGS");
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.style(Role::Muted).add_modifier(Modifier::BOLD)))
        .block(block)
        .row_highlight_style(t.selection())
        .column_spacing(1);
    let mut state = TableState::default().with_selected(Some(app.run_selected - offset));
    frame.render_stateful_widget(table, area, &mut state);
}

/// The error of a failed attempt, then its data-quality findings, each with its mark
/// (`Q!` warn, `Q✗` fail) so that severity is never told by colour alone.
fn details<'a>(
    t: &Theme,
    run: &crate::store::RunRecord,
    detail: &'a crate::console::app::Detail,
) -> Line<'a> {
    let mut spans = Vec::new();
    if let Some(e) = &run.error {
        spans.push(Span::styled(e.clone(), t.style(Role::Failed)));
    }
    // The result this attempt replaced, when its rerun changed the stored values.
    if let Some(h) = detail.replaced_by(run) {
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(super::replaced_text(h), t.style(Role::Warn)));
    }
    for f in detail.findings_of(run) {
        // A failing finding is already the error text; show only the warnings again.
        if run.error.is_some() && f.severity == crate::quality::Severity::Fail {
            continue;
        }
        let (mark, role) = super::models::quality_mark(f.severity);
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        let column = f
            .column
            .as_deref()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        spans.push(Span::styled(
            format!("{mark} {}{column}: {}", f.check.as_str(), f.message),
            t.style(role),
        ));
    }
    Line::from(spans)
}
