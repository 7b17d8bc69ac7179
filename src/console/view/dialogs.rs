//! Overlays: confirm, quit, help and the backfill form, drawn over the panes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::console::action::Action;

use crate::console::app::{App, BackfillField, BackfillForm};
use crate::console::keys::Context;
use crate::console::theme::{Role, Theme};

fn popup(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_dialog(
    frame: &mut Frame,
    area: Rect,
    t: &Theme,
    title: &str,
    lines: Vec<Line>,
    width: u16,
) {
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let rect = popup(area, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Line::styled(format!(" {title} "), t.style(Role::Accent)))
        .border_style(t.focus_border())
        .style(t.base());
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// Confirm dialog for `action`: blast radius, who confirms, a forecast denial, y/n.
pub(super) fn draw_confirm(app: &App, action: &Action, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut lines: Vec<Line> = action
        .blast_radius()
        .into_iter()
        .map(|l| Line::styled(l, t.style(Role::Text)))
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!("as {} ({})", app.session.user, app.session.role),
        t.style(Role::Muted),
    ));
    if let Some(w) = app.forecast_denial(action) {
        lines.push(Line::styled(
            format!("✖ will be denied: {w}"),
            t.style(Role::Failed),
        ));
    }
    lines.push(Line::from(vec![
        Span::styled("y", t.style(Role::Accent)),
        Span::raw(" confirm   "),
        Span::styled("n", t.style(Role::Accent)),
        Span::raw("/"),
        Span::styled("esc", t.style(Role::Accent)),
        Span::raw(" cancel"),
    ]));
    draw_dialog(
        frame,
        area,
        t,
        &format!("Confirm {}", action.name()),
        lines,
        72,
    );
}

/// Most choices the picker shows at once.
const PICKER_ROWS: usize = 12;

/// The kube context / namespace picker (`:ctx`, `:ns`).
pub(super) fn draw_picker(
    app: &App,
    picker: &crate::console::app::Picker,
    frame: &mut Frame,
    area: Rect,
) {
    let t = &app.theme;
    let what = picker.kind.as_str();
    let mut lines = vec![
        Line::styled(
            format!("now   {}", app.session.orchestrator),
            t.style(Role::Muted),
        ),
        Line::from(vec![
            Span::styled(format!("{what:<9} "), t.style(Role::Text)),
            Span::styled(format!("{}▏", picker.typed), t.style(Role::Accent)),
        ]),
        Line::raw(""),
    ];
    let visible = picker.visible();
    if picker.loading {
        lines.push(Line::styled(
            format!("listing {what}s …"),
            t.style(Role::Muted),
        ));
    } else if let Some(e) = &picker.error {
        // wrapped here: the dialog's height counts lines
        let text: Vec<char> = format!("✗ cannot list {what}s: {e}").chars().collect();
        for chunk in text.chunks(68).take(6) {
            lines.push(Line::styled(
                chunk.iter().collect::<String>(),
                t.style(Role::Failed),
            ));
        }
        lines.push(Line::styled(
            format!("type a {what} name and press enter"),
            t.style(Role::Muted),
        ));
    } else if visible.is_empty() {
        lines.push(Line::styled(
            format!("no listed {what} matches; enter uses the typed name"),
            t.style(Role::Muted),
        ));
    }
    let start = picker.selected.saturating_sub(PICKER_ROWS - 1);
    for (i, name) in visible.iter().enumerate().skip(start).take(PICKER_ROWS) {
        let style = if i == picker.selected {
            t.selection()
        } else {
            t.style(Role::Text)
        };
        let mark = if i == picker.selected { "› " } else { "  " };
        lines.push(Line::styled(format!("{mark}{name}"), style));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("↑↓", t.style(Role::Accent)),
        Span::raw(" choose   "),
        Span::styled("type", t.style(Role::Accent)),
        Span::raw(" filter / name   "),
        Span::styled("enter", t.style(Role::Accent)),
        Span::raw(" switch   "),
        Span::styled("esc", t.style(Role::Accent)),
        Span::raw(" cancel"),
    ]));
    draw_dialog(frame, area, t, &format!("Switch kube {what}"), lines, 72);
}

/// Quit dialog shown while Jobs started from this console are still running.
pub(super) fn draw_quit_confirm(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let lines = vec![
        Line::raw(format!(
            "{} job(s) started from this console are still running.",
            app.console_jobs.len()
        )),
        Line::raw("They keep running after the console closes;"),
        Line::raw("their results appear on the next start."),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", t.style(Role::Accent)),
            Span::raw(" quit   "),
            Span::styled("any other key", t.style(Role::Accent)),
            Span::raw(" stay"),
        ]),
    ];
    draw_dialog(frame, area, t, "Quit?", lines, 60);
}

pub(super) fn draw_help(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut lines = Vec::new();
    for ctx in [
        Context::Global,
        Context::Models,
        Context::Drift,
        Context::Logs,
    ] {
        let bindings: Vec<_> = app
            .keys
            .bindings
            .iter()
            .filter(|b| {
                b.context == ctx
                    && !matches!(b.action, crate::console::keys::KeyAction::FocusPane(_))
            })
            .collect();
        if bindings.is_empty() {
            continue;
        }
        lines.push(Line::styled(ctx.title(), t.style(Role::Accent)));
        for b in bindings {
            let keys: Vec<String> = b.keys.iter().map(ToString::to_string).collect();
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<12}", keys.join(" ")), t.style(Role::Accent)),
                Span::raw(b.description),
            ]));
        }
    }
    lines.push(Line::from(vec![
        Span::styled(format!("  {:<12}", "1-7"), t.style(Role::Accent)),
        Span::raw("models · trend · characteristics · bins · runs · log · diagnostics"),
    ]));
    lines.push(Line::styled(
        "status: ✓ ok  ✗ failed  ⟳ running  ↻ retrying · drift: · ok  ▲ warn  ✖ alert",
        t.style(Role::Muted),
    ));
    lines.push(Line::styled(
        "quality: Q! warning  Q✗ failed · ✎ recomputed date (shows what it was before)",
        t.style(Role::Muted),
    ));
    // Two columns when the screen is wide enough.
    let rect = if area.width >= 100 {
        popup(
            area,
            98,
            u16::try_from(lines.len() / 2 + 3).unwrap_or(u16::MAX),
        )
    } else {
        popup(area, 76, u16::try_from(lines.len() + 2).unwrap_or(u16::MAX))
    };
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Line::styled(" Keys (esc closes) ", t.style(Role::Accent)))
        .border_style(t.focus_border())
        .style(t.base());
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if area.width >= 100 {
        let half = lines.len().div_ceil(2);
        let right = lines.split_off(half);
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(inner);
        frame.render_widget(Paragraph::new(lines), l);
        frame.render_widget(Paragraph::new(right), r);
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

pub(super) fn draw_backfill(app: &App, form: &BackfillForm, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let field = |label: &str, value: String, f: BackfillField| {
        let focused = form.field == f;
        Line::from(vec![
            Span::raw(format!("{label:<11}")),
            Span::styled(
                format!(
                    "[{value}{}]",
                    if focused && f != BackfillField::Mode {
                        "▏"
                    } else {
                        ""
                    }
                ),
                if focused {
                    t.selection()
                } else {
                    t.style(Role::Text)
                },
            ),
        ])
    };
    let mut lines = vec![
        Line::raw(format!(
            "model      {} / {}",
            form.value_stream, form.model_id
        )),
        field("from", form.from.clone(), BackfillField::From),
        field("to", form.to.clone(), BackfillField::To),
        field(
            "mode",
            if form.only_missing {
                "only missing or failed".into()
            } else {
                "all dates".into()
            },
            BackfillField::Mode,
        ),
        Line::raw(""),
    ];
    match app.backfill_action(form) {
        Ok(Action::Backfill {
            dates, existing, ..
        }) => {
            lines.push(Line::styled(
                format!("dry run: {} run(s) will start", dates.len()),
                t.style(Role::Accent),
            ));
            lines.push(Line::raw(format!(
                "  dates     {}",
                crate::console::action::compact_dates(&dates)
            )));
            lines.push(Line::raw(format!(
                "  existing  {} already stored{}",
                existing.len(),
                if existing.is_empty() {
                    String::new()
                } else {
                    format!(": {}", crate::console::action::compact_dates(&existing))
                }
            )));
            if app
                .detail
                .as_ref()
                .is_none_or(|d| d.model_id != form.model_id)
            {
                lines.push(Line::styled(
                    "  (history not loaded: existing dates unknown)",
                    t.style(Role::Warn),
                ));
            }
        }
        Ok(_) => {}
        Err(e) => lines.push(Line::styled(format!("✗ {e}"), t.style(Role::Failed))),
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("tab", t.style(Role::Accent)),
        Span::raw(" field  "),
        Span::styled("space", t.style(Role::Accent)),
        Span::raw(" mode  "),
        Span::styled("enter", t.style(Role::Accent)),
        Span::raw(" review  "),
        Span::styled("esc", t.style(Role::Accent)),
        Span::raw(" cancel"),
    ]));
    draw_dialog(frame, area, t, "Backfill", lines, 76);
}
