//! Characteristics pane: CSI per characteristic on the selected calculation date.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::app::{App, Pane};
use crate::console::theme::{Role, Theme, band_symbol};
use crate::domain::Thresholds;

use super::{bar, column_name, fmt_value, message, pane_block, selected_title};

pub(super) fn draw_characteristics(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
    let t = &app.theme;
    let date = app.cursor_date();
    let title = Line::from(vec![
        Span::styled("Characteristics", t.style(Role::Accent)),
        Span::styled(
            format!(
                " {} {} · CSI worst first",
                selected_title(app),
                date.map_or_else(String::new, |d| d.to_string())
            ),
            t.style(Role::Muted),
        ),
    ]);
    let block = pane_block(t, Pane::Characteristics, title, focused);
    if let Some(e) = &app.characteristics_error {
        message(
            frame,
            area,
            block,
            &format!("✗ cannot load characteristics: {e}"),
            t.style(Role::Failed),
        );
        return;
    }
    let Some(rows) = app.cursor_characteristics() else {
        let text = if app.selected_row().is_none() {
            "select a model"
        } else if date.is_none() {
            "no calculation date yet"
        } else {
            "loading…"
        };
        message(frame, area, block, text, t.style(Role::Muted));
        return;
    };
    if rows.is_empty() {
        message(
            frame,
            area,
            block,
            "no characteristic rows stored for this date",
            t.style(Role::Muted),
        );
        return;
    }
    let th = app
        .selected_row()
        .map_or_else(Thresholds::default, |r| r.thresholds);
    let max = rows.iter().map(|r| r.index_value).fold(th.alert, f64::max);
    let inner_w = usize::from(area.width.saturating_sub(4));
    let name_w = rows
        .iter()
        .map(|r| column_name(r).chars().count())
        .max()
        .unwrap_or(8)
        .min(24);
    let bar_w = inner_w.saturating_sub(name_w + 12).max(1);
    let height = usize::from(area.height.saturating_sub(2)).max(1);
    let offset = app.char_selected.saturating_sub(height - 1);
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, r)| {
            let band = th.band(r.index_value);
            let style = t.style(Theme::band_role(band));
            let line = Line::from(vec![
                Span::styled(format!("{} ", band_symbol(band)), style),
                Span::raw(format!("{:<name_w$} ", truncate(&column_name(r), name_w))),
                Span::styled(format!("{:>6} ", fmt_value(r.index_value)), style),
                Span::styled(bar(r.index_value, max, bar_w), style),
            ]);
            if i == app.char_selected {
                line.style(t.selection())
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}
