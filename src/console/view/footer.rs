//! Footer: key hints for the current mode and focused pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::app::{App, Mode};
use crate::console::keys::KeyAction;
use crate::console::theme::Role;

pub(super) fn draw_footer(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let entries: Vec<(String, &str)> = match &app.mode {
        Mode::Filter => vec![
            ("type".into(), "filter value stream/model"),
            ("!".into(), "invert"),
            ("enter".into(), "keep"),
            ("esc".into(), "clear"),
        ],
        Mode::LogSearch => vec![
            ("type".into(), "search"),
            ("enter".into(), "jump"),
            ("esc".into(), "clear"),
        ],
        Mode::Backfill(_) => vec![
            ("tab".into(), "next field"),
            ("space".into(), "toggle mode"),
            ("enter".into(), "review"),
            ("esc".into(), "cancel"),
        ],
        Mode::Confirm(_) | Mode::QuitConfirm => {
            vec![("y".into(), "confirm"), ("n".into(), "cancel")]
        }
        Mode::Help => vec![("esc".into(), "close help")],
        Mode::Refreshes => vec![
            ("j/k".into(), "move"),
            (app.keys.key_of(KeyAction::Rollback), "roll back"),
            (app.keys.key_of(KeyAction::Reload), "reload"),
            ("esc".into(), "close"),
        ],
        Mode::Command(text) => vec![
            (format!(":{text}▏"), ""),
            ("ctx|ns [name]".into(), "switch kube context / namespace"),
            ("enter".into(), "run"),
            ("esc".into(), "cancel"),
        ],
        Mode::Picker(_) => vec![("enter".into(), "switch"), ("esc".into(), "cancel")],
        Mode::Normal => app.keys.footer(app.focus.context()).into_iter().collect(),
    };
    let mut spans = Vec::new();
    for (i, (k, d)) in entries.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", t.style(Role::Muted)));
        }
        spans.push(Span::styled(k.clone(), t.style(Role::Accent)));
        spans.push(Span::raw(format!(" {d}")));
    }
    spans.push(Span::styled("  1-7 panes", t.style(Role::Muted)));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
