//! The refresh view (`B`): the last benchmark refresh runs, one line per model with its outcome,
//! new version, shift (PSI of the score, largest CSI), kept and quarantined rows, then its
//! validation findings, error and quarantine file; the rollback hint of the selected model.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::console::app::App;
use crate::console::keys::KeyAction;
use crate::console::theme::{Role, Theme};
use crate::refresh::{ModelRefresh, Outcome};
use crate::sanitize::escape_controls;

/// Findings shown under one entry before `… n more`.
const FINDINGS_SHOWN: usize = 4;

fn outcome_style(t: &Theme, o: Outcome) -> Style {
    t.style(match o {
        Outcome::Replaced => Role::Ok,
        Outcome::Rejected => Role::Alert,
        Outcome::Failed => Role::Failed,
        Outcome::RolledBack => Role::Accent,
        Outcome::Passed | Outcome::Skipped | Outcome::Unchanged => Role::Muted,
    })
}

fn text(s: &str) -> String {
    escape_controls(s).into_owned()
}

fn entry_line(t: &Theme, m: &ModelRefresh, selected: bool) -> Line<'static> {
    let shift = match (m.psi, &m.max_csi) {
        (Some(p), Some((c, v))) => format!("PSI {p:.4}  max CSI {v:.4} {}", text(c)),
        (Some(p), None) => format!("PSI {p:.4}"),
        (None, Some((c, v))) => format!("max CSI {v:.4} {}", text(c)),
        (None, None) => "no shift measured".into(),
    };
    let rows = if m.rows_read > 0 || m.quarantined > 0 {
        format!("  {} kept, {} quarantined", m.rows_kept, m.quarantined)
    } else if m.rows_kept > 0 {
        format!("  {} rows", m.rows_kept)
    } else {
        String::new()
    };
    let base = if selected { t.selection() } else { t.base() };
    Line::from(vec![
        Span::styled(if selected { "▸ " } else { "  " }, base),
        Span::styled(
            format!("{:<26}", text(&format!("{}/{}", m.value_stream, m.model))),
            base,
        ),
        Span::styled(
            format!(" {:<11}", m.outcome.as_str()),
            outcome_style(t, m.outcome),
        ),
        Span::styled(
            format!(
                " {:<16} ",
                m.new_version.as_deref().map_or("-".into(), text)
            ),
            t.style(Role::Muted),
        ),
        Span::styled(format!("{shift}{rows}"), t.style(Role::Text)),
    ])
}

fn detail_lines(t: &Theme, m: &ModelRefresh, out: &mut Vec<Line<'static>>) {
    if let Some(e) = &m.error {
        out.push(Line::styled(
            format!("      error: {}", text(e)),
            t.style(Role::Failed),
        ));
    }
    let mut findings: Vec<_> = m.findings.iter().collect();
    // Failures first: they are why a model was rejected.
    findings.sort_by_key(|f| f.severity != crate::config::Severity::Fail);
    for f in findings.iter().take(FINDINGS_SHOWN) {
        let role = if f.severity == crate::config::Severity::Fail {
            Role::Alert
        } else {
            Role::Warn
        };
        out.push(Line::styled(
            format!("      {}", text(&f.describe())),
            t.style(role),
        ));
    }
    if findings.len() > FINDINGS_SHOWN {
        out.push(Line::styled(
            format!(
                "      … and {} more findings",
                findings.len() - FINDINGS_SHOWN
            ),
            t.style(Role::Muted),
        ));
    }
    if let Some(q) = &m.quarantine_file {
        out.push(Line::styled(
            format!("      quarantine: {}", text(&q.display().to_string())),
            t.style(Role::Muted),
        ));
    }
    if let Some(k) = &m.kept_as {
        out.push(Line::styled(
            format!("      previous benchmark kept as version {}", text(k)),
            t.style(Role::Muted),
        ));
    }
}

/// Draws the refresh view over the panes.
pub(super) fn draw_refreshes(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let v = app.refresh_view();
    let rect = Rect {
        x: area.x + area.width.min(2),
        y: area.y + area.height.min(1),
        width: area.width.saturating_sub(4),
        height: area.height.saturating_sub(2),
    };
    frame.render_widget(Clear, rect);
    let title = format!(
        " Benchmark refreshes{} ",
        if v.loading { " (loading…)" } else { "" }
    );
    let block = Block::bordered()
        .title(Line::styled(title, t.style(Role::Accent)))
        .border_style(t.focus_border())
        .style(t.base());
    let inner = block.inner(rect);
    frame.render_widget(block, rect);

    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut selected_line = 0usize;
    if let Some(e) = &v.error {
        lines.push(Line::styled(
            format!("cannot read the refresh reports: {}", text(e)),
            t.style(Role::Failed),
        ));
    }
    match &v.data {
        None if v.error.is_none() => lines.push(Line::styled(
            "loading the refresh reports…",
            t.style(Role::Muted),
        )),
        None => {}
        Some(d) => {
            for w in &d.warnings {
                lines.push(Line::styled(format!("⚠ {}", text(w)), t.style(Role::Warn)));
            }
            if d.runs.is_empty() {
                lines.push(Line::styled(
                    "no benchmark refresh yet: `f` on a model (admin) or `driftdeck refresh-benchmarks --all`",
                    t.style(Role::Muted),
                ));
            }
            let mut index = 0usize;
            for run in &d.runs {
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("{} {}", text(&run.action), text(&run.id)),
                        t.style(Role::Accent),
                    ),
                    Span::styled(
                        format!(
                            "  by {} · {}",
                            text(&run.triggered_by),
                            if run.models.is_empty() {
                                "nothing refreshed".into()
                            } else {
                                run.counts()
                            }
                        ),
                        t.style(Role::Muted),
                    ),
                ]));
                for m in &run.models {
                    let selected = index == v.selected;
                    if selected {
                        selected_line = lines.len();
                    }
                    lines.push(entry_line(t, m, selected));
                    detail_lines(t, m, &mut lines);
                    index += 1;
                }
            }
        }
    }

    // Hint line: what `u` would restore for the selected model.
    let key = |a| app.keys.key_of(a);
    let hint = match v.selected_entry() {
        Some(m) if m.model != "common" => {
            match v.data.as_ref().and_then(|d| d.rollback.get(&m.model)) {
                Some(c) => format!(
                    "{} roll back {} to version {} ({})",
                    key(KeyAction::Rollback),
                    text(&m.model),
                    text(&c.version),
                    text(&c.checksum)
                ),
                None => format!(
                    "{} roll back {}: no kept version",
                    key(KeyAction::Rollback),
                    text(&m.model)
                ),
            }
        }
        _ => String::new(),
    };
    let footer = format!(
        "{}{}j/k move · {} reload · esc close",
        hint,
        if hint.is_empty() { "" } else { " · " },
        key(KeyAction::Reload)
    );
    let body_height = usize::from(inner.height.saturating_sub(1));
    // Keep the selected entry (and a few of its detail lines) on screen.
    let scroll = (selected_line + 4).saturating_sub(body_height);
    let body = Rect {
        height: inner.height.saturating_sub(1),
        ..inner
    };
    frame.render_widget(
        Paragraph::new(lines).scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0)),
        body,
    );
    if inner.height > 0 {
        let foot = Rect {
            y: inner.y + inner.height - 1,
            height: 1,
            ..inner
        };
        frame.render_widget(
            Paragraph::new(Line::styled(footer, t.style(Role::Muted))),
            foot,
        );
    }
}
