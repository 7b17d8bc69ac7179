//! Rendering: `view(&App, &mut Frame)` draws the whole screen from state, nothing else.
//!
//! Layouts (never panic, from 60×15 up):
//! - full (≥ 110×30): header · [models | trend / characteristics / bins] · [runs | log] · status · footer;
//! - medium (≥ 80×20): header · [models | focused detail pane] · status · footer;
//! - small: header · focused pane · status · footer.

mod bins;
mod characteristics;
mod diagnostics;
mod dialogs;
mod footer;
mod header;
mod logs;
mod models;
mod refreshes;
mod runs;
mod status;
mod trend;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::store::{CharacteristicRecord, ColumnRole};

use super::app::{App, Mode, Pane};
use super::theme::{Role, Theme};
use bins::draw_bins;
use characteristics::draw_characteristics;
use diagnostics::draw_diagnostics;
use dialogs::{draw_backfill, draw_confirm, draw_help, draw_quit_confirm};
use footer::draw_footer;
use header::draw_header;
use logs::draw_logs;
use models::draw_models;
use runs::draw_runs;
use status::draw_status;
use trend::draw_trend;

/// Which layout a terminal size gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// Every pane.
    Full,
    /// Models plus the focused detail pane.
    Medium,
    /// Only the focused pane.
    Small,
}

impl LayoutKind {
    /// Layout for a terminal of `width` × `height` cells.
    pub fn for_size(width: u16, height: u16) -> LayoutKind {
        if width >= 110 && height >= 30 {
            LayoutKind::Full
        } else if width >= 80 && height >= 20 {
            LayoutKind::Medium
        } else {
            LayoutKind::Small
        }
    }
}

/// Areas of the screen: header, panes shown, status line, footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenLayout {
    /// Top line.
    pub header: Rect,
    /// Panes shown and where.
    pub panes: Vec<(Pane, Rect)>,
    /// Status line.
    pub status: Rect,
    /// Key hints.
    pub footer: Rect,
}

/// Computes where everything goes for `area` with `focus`.
pub fn screen_layout(area: Rect, focus: Pane) -> ScreenLayout {
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let panes = match LayoutKind::for_size(area.width, area.height) {
        LayoutKind::Full => {
            let [top, bottom] =
                Layout::vertical([Constraint::Percentage(62), Constraint::Percentage(38)])
                    .areas(body);
            let [models, right] =
                Layout::horizontal([Constraint::Percentage(52), Constraint::Percentage(48)])
                    .areas(top);
            let [trend, chars, bins] = Layout::vertical([
                Constraint::Percentage(40),
                Constraint::Percentage(30),
                Constraint::Percentage(30),
            ])
            .areas(right);
            let [runs, logs] =
                Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                    .areas(bottom);
            let log_pane = if focus == Pane::Diagnostics {
                Pane::Diagnostics
            } else {
                Pane::Logs
            };
            vec![
                (Pane::Models, models),
                (Pane::Trend, trend),
                (Pane::Characteristics, chars),
                (Pane::Bins, bins),
                (Pane::Runs, runs),
                (log_pane, logs),
            ]
        }
        LayoutKind::Medium => {
            let [models, right] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(body);
            let detail = if focus == Pane::Models {
                Pane::Trend
            } else {
                focus
            };
            vec![(Pane::Models, models), (detail, right)]
        }
        LayoutKind::Small => vec![(focus, body)],
    };
    ScreenLayout {
        header,
        panes,
        status,
        footer,
    }
}

/// Draws the console.
pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let t = &app.theme;
    frame.render_widget(Block::new().style(t.base()), area);
    if area.width < 20 || area.height < 6 {
        frame.render_widget(
            Paragraph::new("driftdeck: terminal too small (needs at least 20×6)")
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let layout = screen_layout(area, app.focus);
    draw_header(app, frame, layout.header);
    for (pane, rect) in &layout.panes {
        let focused = *pane == app.focus;
        match pane {
            Pane::Models => draw_models(app, frame, *rect, focused),
            Pane::Trend => draw_trend(app, frame, *rect, focused),
            Pane::Characteristics => draw_characteristics(app, frame, *rect, focused),
            Pane::Bins => draw_bins(app, frame, *rect, focused),
            Pane::Runs => draw_runs(app, frame, *rect, focused),
            Pane::Logs => draw_logs(app, frame, *rect, focused),
            Pane::Diagnostics => draw_diagnostics(app, frame, *rect, focused),
        }
    }
    draw_status(app, frame, layout.status);
    draw_footer(app, frame, layout.footer);
    match &app.mode {
        Mode::Help => draw_help(app, frame, area),
        Mode::Backfill(form) => draw_backfill(app, form, frame, area),
        Mode::Confirm(action) => draw_confirm(app, action, frame, area),
        Mode::QuitConfirm => draw_quit_confirm(app, frame, area),
        Mode::Refreshes => refreshes::draw_refreshes(app, frame, area),
        Mode::Picker(p) => dialogs::draw_picker(app, p, frame, area),
        Mode::Normal | Mode::Filter | Mode::LogSearch | Mode::Command(_) => {}
    }
}

fn pane_block<'a>(t: &Theme, pane: Pane, title: Line<'a>, focused: bool) -> Block<'a> {
    let number = Span::styled(
        format!("{} ", pane.number()),
        if focused {
            t.style(Role::Accent)
        } else {
            t.style(Role::Muted)
        },
    );
    let mut spans = vec![Span::raw(" "), number];
    spans.extend(title.spans);
    spans.push(Span::raw(" "));
    Block::bordered()
        .title(Line::from(spans))
        .border_style(if focused {
            t.focus_border()
        } else {
            t.style(Role::Border)
        })
}

fn message(frame: &mut Frame, area: Rect, block: Block, text: &str, style: Style) {
    frame.render_widget(
        Paragraph::new(Text::styled(text.to_string(), style))
            .block(block)
            .wrap(Wrap { trim: true }),
        area,
    );
}

/// What a recomputed date was before (`✎`, a text mark): the replaced PSI and CSI, when that
/// version was current (UTC, minutes) and the run that superseded it.
pub fn replaced_text(h: &crate::store::ReplacedResult) -> String {
    let by = h.superseded_by_run.as_deref().map_or_else(
        || "a write outside a run".to_string(),
        |r| format!("run {}", crate::sanitize::escape_controls(r)),
    );
    format!(
        "✎ was PSI {} CSI {} ({} → {} UTC, replaced by {by})",
        fmt_value(h.psi_score),
        fmt_value(h.csi_score),
        h.valid_from.format("%Y-%m-%d %H:%M"),
        h.valid_to.format("%Y-%m-%d %H:%M"),
    )
}

/// A stored PSI/CSI for display: 3 decimals in the usual range; values no PSI can take
/// (negative, ≥ 10,000, infinite, NaN) are marked with `⚠` and printed short (`⚠1.0e308`), so a
/// hostile or corrupt row stays visible without flooding a cell.
pub fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "⚠NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "⚠+inf".into()
        } else {
            "⚠-inf".into()
        }
    } else if !(0.0..1e4).contains(&v) {
        if v.abs() >= 1e4 {
            format!("⚠{v:.1e}")
        } else {
            format!("⚠{v:.3}")
        }
    } else {
        format!("{v:.3}")
    }
}

/// Block-character sparkline of `values` scaled to `max`.
pub fn mini_trend(values: &[f64], max: f64, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let skip = values.len().saturating_sub(width);
    values[skip..]
        .iter()
        .map(|v| {
            let f = if max > 0.0 && v.is_finite() {
                (v / max).clamp(0.0, 1.0)
            } else {
                0.0
            };
            BARS[((f * 7.0).round() as usize).min(7)]
        })
        .collect()
}

fn selected_title(app: &App) -> String {
    app.selected_row().map_or_else(String::new, |r| {
        format!("{}/{}", r.value_stream, r.model_id)
    })
}

fn bar(value: f64, max: f64, width: usize) -> String {
    if max <= 0.0 || width == 0 {
        return String::new();
    }
    let eighths = ((value / max).clamp(0.0, 1.0) * width as f64 * 8.0).round() as usize;
    let full = eighths / 8;
    let rest = eighths % 8;
    let mut s = "█".repeat(full);
    if rest > 0 {
        s.push([' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][rest]);
    }
    s
}

fn column_name(c: &CharacteristicRecord) -> String {
    if c.role == ColumnRole::Score {
        format!("{} (score)", c.characteristic)
    } else {
        c.characteristic.clone()
    }
}

/// A bin label for display: every number in it rounded to 7 significant digits
/// (`(-inf, 0.06954540000000001]` → `(-inf, 0.0695454]`). The stored label keeps the exact edge.
pub fn short_bin_label(label: &str) -> String {
    // Only numeric intervals; categories (`9E`, `1e5`) are shown as they are.
    if !label.starts_with('(') {
        return label.to_string();
    }
    let mut out = String::with_capacity(label.len());
    for (i, part) in label.split(", ").enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let start = part
            .find(|c: char| c.is_ascii_digit() || c == '-')
            .unwrap_or(part.len());
        let end = part
            .rfind(|c: char| c.is_ascii_digit())
            .map(|e| e + 1)
            .unwrap_or(start);
        match part.get(start..end).and_then(|n| n.parse::<f64>().ok()) {
            Some(x) if start < end && x.is_finite() => {
                out.push_str(&part[..start]);
                out.push_str(&round_significant(x, 7));
                out.push_str(&part[end..]);
            }
            _ => out.push_str(part),
        }
    }
    out
}

fn round_significant(x: f64, digits: i32) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod label_tests {
    use super::short_bin_label;

    /// Issue 11 #3: values no PSI can take are marked and clipped, never drawn as they are.
    #[test]
    fn out_of_domain_values_are_marked_and_clipped() {
        use super::fmt_value;
        use super::trend::{PLOT_CAP, plot_value};
        assert_eq!(fmt_value(0.1234), "0.123");
        assert_eq!(fmt_value(f64::NAN), "⚠NaN");
        assert_eq!(fmt_value(f64::INFINITY), "⚠+inf");
        assert_eq!(fmt_value(1e308), "⚠1.0e308");
        assert_eq!(fmt_value(-0.5), "⚠-0.500");
        assert_eq!(plot_value(f64::NAN), (None, true));
        assert_eq!(plot_value(1e308), (Some(PLOT_CAP), true));
        assert_eq!(plot_value(-1.0), (Some(0.0), true));
        assert_eq!(plot_value(0.3), (Some(0.3), false));
    }

    #[test]
    fn bin_labels_are_shortened_for_display() {
        assert_eq!(
            short_bin_label("(-inf, 0.06954540000000001]"),
            "(-inf, 0.0695454]"
        );
        assert_eq!(
            short_bin_label("(0.0955362, 0.11775240000000001]"),
            "(0.0955362, 0.1177524]"
        );
        assert_eq!(short_bin_label("(1013.5, +inf)"), "(1013.5, +inf)");
        assert_eq!(short_bin_label("(-3.25, 12.0]"), "(-3.25, 12]");
        assert_eq!(short_bin_label("missing"), "missing");
        assert_eq!(short_bin_label("unseen"), "unseen");
        assert_eq!(short_bin_label("B6"), "B6");
        assert_eq!(short_bin_label("9E"), "9E");
        assert_eq!(short_bin_label("1e5"), "1e5");
    }
}
