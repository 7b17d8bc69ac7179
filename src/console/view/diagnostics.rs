//! Diagnostics pane: the console's own log, shown in place of the Job log.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::console::app::{App, Pane};
use crate::console::theme::Role;

use super::pane_block;

pub(super) fn draw_diagnostics(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
    let t = &app.theme;
    let block = pane_block(
        t,
        Pane::Diagnostics,
        Line::from(vec![
            Span::styled("Diagnostics", t.style(Role::Accent)),
            Span::styled(" console log (tracing)", t.style(Role::Muted)),
        ]),
        focused,
    );
    let widget = tui_logger::TuiLoggerWidget::default()
        .block(block)
        .style(t.style(Role::Text))
        .style_error(t.style(Role::Failed))
        .style_warn(t.style(Role::Warn))
        .style_info(t.style(Role::Text))
        .style_debug(t.style(Role::Muted))
        .style_trace(t.style(Role::Muted))
        .output_target(false)
        .output_file(false)
        .output_line(false)
        .output_timestamp(Some("%H:%M:%S".into()));
    frame.render_widget(widget, area);
}
