//! Header line: workspace, orchestrator, store (and its pending-queue depth), failing backends, model counts by state, last refresh, user and role.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::app::App;
use crate::console::theme::Role;

pub(super) fn draw_header(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let s = &app.session;
    let (models, failed, alerting, warning, running) = app.counts();
    let sep = || Span::styled(" · ", t.style(Role::Muted));
    let mut spans = vec![
        Span::styled("driftdeck", t.style(Role::Accent)),
        sep(),
        Span::raw(s.workspace.clone()),
        sep(),
        Span::raw(s.orchestrator.clone()),
        sep(),
        Span::raw(s.store.clone()),
    ];
    if app.pending > 0 {
        // Text, not colour alone: the count of writes waiting in the local queue.
        spans.push(Span::styled(
            format!(" ⇡{} queued", app.pending),
            t.style(Role::Warn),
        ));
    }
    if !app.failing_backends.is_empty() {
        let names: Vec<&str> = app
            .failing_backends
            .iter()
            .map(|f| f.split(':').next().unwrap_or(f).trim())
            .collect();
        spans.push(sep());
        spans.push(Span::styled(
            format!("✗ {} failing (doctor)", names.join(", ")),
            t.style(Role::Failed).add_modifier(Modifier::BOLD),
        ));
    }
    spans.extend([
        Span::styled(" │ ", t.style(Role::Muted)),
        Span::raw(format!("{models} models")),
        sep(),
        Span::styled(
            format!("✗ {failed} failed"),
            if failed > 0 {
                t.style(Role::Failed)
            } else {
                t.style(Role::Muted)
            },
        ),
        sep(),
        Span::styled(
            format!("✖ {alerting} alerting"),
            if alerting > 0 {
                t.style(Role::Alert)
            } else {
                t.style(Role::Muted)
            },
        ),
        sep(),
        Span::styled(
            format!("▲ {warning} warning"),
            if warning > 0 {
                t.style(Role::Warn)
            } else {
                t.style(Role::Muted)
            },
        ),
    ]);
    if running > 0 {
        spans.push(sep());
        spans.push(Span::styled(
            format!("⟳ {running} running"),
            t.style(Role::Running),
        ));
    }
    spans.push(Span::styled(" │ ", t.style(Role::Muted)));
    spans.push(Span::styled(
        match app.last_refresh {
            Some(at) => format!("refreshed {}", at.format("%H:%M:%S")),
            None if app.overview_loading => "loading…".into(),
            None => "not loaded".into(),
        },
        t.style(Role::Muted),
    ));
    spans.push(sep());
    spans.push(Span::raw(format!("{} ({})", s.user, s.role)));
    if s.read_only {
        spans.push(sep());
        spans.push(Span::styled(
            "READ-ONLY",
            t.style(Role::Warn).add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
