//! Bins pane: benchmark (expected) versus current (actual) shares and contributions per bin.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use crate::console::app::{App, Pane};
use crate::console::theme::Role;
use crate::store::ColumnRole;

use super::{bar, column_name, fmt_value, message, pane_block, short_bin_label};

pub(super) fn draw_bins(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
    let t = &app.theme;
    let sel = app.selected_characteristic();
    let title = Line::from(vec![
        Span::styled("Bins", t.style(Role::Accent)),
        Span::styled(
            match sel {
                Some(c) => format!(
                    " of {} · expected ░ vs actual █ · {} {}",
                    column_name(c),
                    if c.role == ColumnRole::Score {
                        "PSI"
                    } else {
                        "CSI"
                    },
                    fmt_value(c.index_value)
                ),
                None => String::new(),
            },
            t.style(Role::Muted),
        ),
    ]);
    let block = pane_block(t, Pane::Bins, title, focused);
    let Some(c) = sel else {
        message(
            frame,
            area,
            block,
            "select a characteristic (enter on the characteristics pane)",
            t.style(Role::Muted),
        );
        return;
    };
    if c.bins.is_empty() {
        message(frame, area, block, "no bins stored", t.style(Role::Muted));
        return;
    }
    let max_share = c
        .bins
        .iter()
        .map(|b| b.expected_share.max(b.actual_share))
        .fold(0.0, f64::max);
    let max_contrib = c.bins.iter().map(|b| b.contribution).fold(0.0, f64::max);
    let inner_w = area.width.saturating_sub(2);
    let bar_w: u16 = if inner_w >= 70 {
        12
    } else if inner_w >= 50 {
        6
    } else {
        0
    };
    let rows: Vec<Row> = c
        .bins
        .iter()
        .map(|b| {
            let hot =
                max_contrib > 0.0 && b.contribution >= 0.5 * max_contrib && b.contribution > 1e-3;
            let cstyle = if hot {
                t.style(Role::Alert)
            } else {
                t.style(Role::Text)
            };
            let mut cells = vec![
                Cell::from(short_bin_label(&b.label)),
                Cell::from(fmt_share(b.expected_share)),
                Cell::from(fmt_share(b.actual_share)),
            ];
            if bar_w > 0 {
                cells.push(Cell::from(Span::styled(
                    bar(b.expected_share, max_share, usize::from(bar_w)).replace('█', "░"),
                    t.style(Role::Muted),
                )));
                cells.push(Cell::from(Span::styled(
                    bar(b.actual_share, max_share, usize::from(bar_w)),
                    t.style(Role::Running),
                )));
            }
            cells.push(Cell::from(Span::styled(
                if b.contribution.is_finite() && b.contribution.abs() < 1e4 {
                    format!("{}{:.4}", if hot { "▲" } else { " " }, b.contribution)
                } else {
                    fmt_value(b.contribution)
                },
                cstyle,
            )));
            Row::new(cells)
        })
        .collect();
    let mut header = vec!["BIN", "EXPECT", "ACTUAL"];
    let mut widths = vec![
        Constraint::Min(8),
        Constraint::Length(6),
        Constraint::Length(6),
    ];
    if bar_w > 0 {
        header.extend(["EXPECTED", "ACTUAL"]);
        widths.extend([Constraint::Length(bar_w), Constraint::Length(bar_w)]);
    }
    header.push("CONTRIB");
    widths.push(Constraint::Length(8));
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.style(Role::Muted).add_modifier(Modifier::BOLD)))
        .block(block)
        .column_spacing(1);
    frame.render_widget(table, area);
}

/// A share (0..=1) as a percentage; anything else (hostile or corrupt rows) is marked `⚠`.
fn fmt_share(v: f64) -> String {
    if (0.0..=1.0).contains(&v) {
        format!("{:>5.1}%", v * 100.0)
    } else {
        fmt_value(v)
    }
}
