//! Status line: the latest status message, the overview error, or running console Jobs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::console::app::{App, Level};
use crate::console::theme::Role;

pub(super) fn draw_status(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let line = match (&app.status, &app.overview_error) {
        (Some(s), _) => {
            let (sym, role) = match s.level {
                Level::Info => ("ℹ", Role::Muted),
                Level::Warn => ("▲", Role::Warn),
                Level::Error => ("✗", Role::Failed),
            };
            Line::styled(format!("{sym} {}", s.text), t.style(role))
        }
        (None, Some(e)) => Line::styled(format!("✗ {e}"), t.style(Role::Failed)),
        (None, None) => Line::styled(
            format!(
                "{} job(s) from this console running",
                app.console_jobs.len()
            ),
            t.style(Role::Muted),
        ),
    };
    frame.render_widget(Paragraph::new(line), area);
}
