//! Logs pane: the selected Job's log with search highlighting.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::console::app::{App, Mode, Pane};
use crate::console::theme::Role;

use super::{message, pane_block};

/// Splits `line` into spans with every ASCII-case-insensitive occurrence of `needle` styled.
fn highlight<'a>(line: &'a str, needle: &str, hit: Style) -> Line<'a> {
    if needle.is_empty() {
        return Line::raw(line);
    }
    let hay = line.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut pos = 0;
    while let Some(found) = hay[pos..].find(&needle) {
        let start = pos + found;
        let end = start + needle.len();
        if !line.is_char_boundary(start) || !line.is_char_boundary(end) {
            break;
        }
        if start > pos {
            spans.push(Span::raw(&line[pos..start]));
        }
        spans.push(Span::styled(&line[start..end], hit));
        pos = end;
    }
    spans.push(Span::raw(&line[pos..]));
    Line::from(spans)
}

pub(super) fn draw_logs(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
    let t = &app.theme;
    let log = &app.log;
    let mut title = vec![Span::styled("Log", t.style(Role::Accent))];
    if let Some(src) = &log.source {
        title.push(Span::raw(format!(" {}", src.label())));
    }
    let mut flags = Vec::new();
    if log.follow {
        flags.push("follow".to_string());
    }
    if log.wrap {
        flags.push("wrap".to_string());
    }
    flags.push(format!("{} lines", log.buffer.len()));
    if log.buffer.dropped() > 0 {
        flags.push(format!("{} dropped", log.buffer.dropped()));
    }
    title.push(Span::styled(
        format!(" · {}", flags.join(" · ")),
        t.style(Role::Muted),
    ));
    if !log.search.is_empty() || app.mode == Mode::LogSearch {
        let n = log.buffer.matches(&log.search).len();
        let cursor = if app.mode == Mode::LogSearch {
            "▏"
        } else {
            ""
        };
        title.push(Span::styled(
            format!(" · /{}{cursor} {n} match(es)", log.search),
            t.style(Role::Accent),
        ));
    }
    let block = pane_block(t, Pane::Logs, Line::from(title), focused);
    if log.source.is_none() {
        message(
            frame,
            area,
            block,
            "select a run (pane 5, enter) to read its job log",
            t.style(Role::Muted),
        );
        return;
    }
    let height = usize::from(area.height.saturating_sub(2)).max(1);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(e) = &log.error {
        lines.push(Line::styled(format!("✗ {e}"), t.style(Role::Failed)));
    }
    let len = log.buffer.len();
    let start = if log.follow {
        len.saturating_sub(height - lines.len().min(height - 1))
    } else {
        log.scroll.min(len.saturating_sub(1))
    };
    let hit = if t.color {
        Style::new()
            .fg(ratatui::style::Color::Black)
            .bg(t.warn)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED)
    };
    for i in start..len.min(start + height) {
        if let Some(l) = log.buffer.get(i) {
            lines.push(highlight(l, &log.search, hit));
        }
    }
    if len == 0 && log.error.is_none() {
        lines.push(Line::styled("(empty so far)", t.style(Role::Muted)));
    }
    let mut p = Paragraph::new(lines).block(block);
    if log.wrap {
        p = p.wrap(Wrap { trim: false });
    }
    frame.render_widget(p, area);
}
