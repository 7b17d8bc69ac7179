//! Rendering: `view(&App, &mut Frame)` draws the whole screen from state, nothing else.
//!
//! Layouts (never panic, from 60×15 up):
//! - full (≥ 110×30): header · [models | trend / characteristics / bins] · [runs | log] · status · footer;
//! - medium (≥ 80×20): header · [models | focused detail pane] · status · footer;
//! - small: header · focused pane · status · footer.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{
    Axis, Block, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, TableState, Wrap,
};

use crate::domain::{Band, Thresholds};
use crate::store::{CharacteristicRecord, ColumnRole};

use super::app::{App, BackfillField, BackfillForm, Level, Mode, Pane};
use super::keys::Context;
use super::theme::{Role, Theme, band_symbol, status_label};

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
        Mode::Confirm(action) => {
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
        Mode::QuitConfirm => {
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
        Mode::Normal | Mode::Filter | Mode::LogSearch => {}
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

fn fmt_index(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.3}"))
}

/// Block-character sparkline of `values` scaled to `max`.
pub fn mini_trend(values: &[f64], max: f64, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let skip = values.len().saturating_sub(width);
    values[skip..]
        .iter()
        .map(|v| {
            let f = if max > 0.0 {
                (v / max).clamp(0.0, 1.0)
            } else {
                0.0
            };
            BARS[((f * 7.0).round() as usize).min(7)]
        })
        .collect()
}

fn draw_header(app: &App, frame: &mut Frame, area: Rect) {
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
    ];
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

fn draw_models(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
    let t = &app.theme;
    let mut title = vec![
        Span::styled("Models", t.style(Role::Accent)),
        Span::styled(
            format!(
                " {}/{} · sort {}",
                app.visible.len(),
                app.rows.len(),
                app.sort.label()
            ),
            t.style(Role::Muted),
        ),
    ];
    if app.group_by_stream {
        title.push(Span::styled(" · grouped", t.style(Role::Muted)));
    }
    if let Some(vs) = &app.stream_filter {
        title.push(Span::styled(format!(" · stream {vs}"), t.style(Role::Text)));
    }
    if !app.filter.is_empty() || app.mode == Mode::Filter {
        let cursor = if app.mode == Mode::Filter { "▏" } else { "" };
        title.push(Span::styled(
            format!(" · /{}{cursor}", app.filter),
            t.style(Role::Accent),
        ));
    }
    let mut block = pane_block(t, Pane::Models, Line::from(title), focused);
    if let Some(e) = &app.overview_error {
        block = block.title_bottom(Line::styled(
            format!(" ✗ store: {e} "),
            t.style(Role::Failed),
        ));
    }
    if let Some(e) = &app.overview_error
        && app.rows.is_empty()
    {
        message(
            frame,
            area,
            block,
            &format!("✗ cannot read the results store\n{e}"),
            t.style(Role::Failed),
        );
        return;
    }
    if app.visible.is_empty() {
        let text = if app.rows.is_empty() {
            "no models yet: configure models.yaml or run `driftdeck run --all`"
        } else {
            "no model matches the filter (esc clears it)"
        };
        message(frame, area, block, text, t.style(Role::Muted));
        return;
    }
    let inner_w = area.width.saturating_sub(2);
    let height = usize::from(area.height.saturating_sub(3)).max(1);
    let offset = app.selected.saturating_sub(height - 1);
    let wide = inner_w >= 84;
    let mid = inner_w >= 56;
    let model_w = app
        .visible
        .iter()
        .map(|&i| app.rows[i].model_id.chars().count())
        .max()
        .unwrap_or(10)
        .clamp(10, 24) as u16;
    let mut header = vec!["VS", "MODEL", "LAST", "RUN", "PSI"];
    let mut widths = vec![
        Constraint::Length(10),
        Constraint::Length(model_w),
        Constraint::Length(if mid { 10 } else { 5 }),
        Constraint::Length(7),
        Constraint::Length(7),
    ];
    if mid {
        header.push("WORST CSI");
        widths.push(Constraint::Fill(1));
    }
    if wide {
        header.push("TREND");
        widths.push(Constraint::Length(12));
    }
    let rows: Vec<Row> = app
        .visible
        .iter()
        .skip(offset)
        .take(height)
        .map(|&i| {
            let r = &app.rows[i];
            let band = r.band();
            let band_style = band.map_or(t.style(Role::Muted), |b| t.style(Theme::band_role(b)));
            let status = match r.status {
                Some(s) => Cell::from(Span::styled(
                    status_label(s),
                    t.style(Theme::status_role(s)),
                )),
                None => Cell::from(Span::styled("· —", t.style(Role::Muted))),
            };
            let last = r.last_date.map_or_else(
                || "—".to_string(),
                |d| {
                    if mid {
                        d.to_string()
                    } else {
                        d.format("%m-%d").to_string()
                    }
                },
            );
            let psi = format!("{} {}", band.map_or(" ", band_symbol), fmt_index(r.psi));
            let mut cells = vec![
                Cell::from(r.value_stream.clone()),
                Cell::from(r.model_id.clone()),
                Cell::from(last),
                status,
                Cell::from(Span::styled(psi, band_style)),
            ];
            if mid {
                let csi_band = r.csi.map(|c| r.thresholds.band(c));
                let txt = match (&r.csi_name, r.csi) {
                    (Some(n), Some(c)) => format!("{:.3} {n}", c),
                    (None, Some(c)) => format!("{c:.3}"),
                    _ => "—".into(),
                };
                cells.push(Cell::from(Span::styled(
                    txt,
                    csi_band.map_or(t.style(Role::Muted), |b| t.style(Theme::band_role(b))),
                )));
            }
            if wide {
                let max = r.trend.iter().copied().fold(r.thresholds.alert, f64::max);
                cells.push(Cell::from(Span::styled(
                    mini_trend(&r.trend, max, 12),
                    band_style,
                )));
            }
            Row::new(cells)
        })
        .collect();
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.style(Role::Muted).add_modifier(Modifier::BOLD)))
        .block(block)
        .row_highlight_style(t.selection())
        .column_spacing(1);
    let mut state = TableState::default().with_selected(Some(app.selected - offset));
    frame.render_stateful_widget(table, area, &mut state);
}

fn selected_title(app: &App) -> String {
    app.selected_row().map_or_else(String::new, |r| {
        format!("{}/{}", r.value_stream, r.model_id)
    })
}

fn draw_trend(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
    let t = &app.theme;
    let Some(row) = app.selected_row() else {
        let block = pane_block(
            t,
            Pane::Trend,
            Line::styled("Trend", t.style(Role::Accent)),
            focused,
        );
        message(frame, area, block, "select a model", t.style(Role::Muted));
        return;
    };
    let th = row.thresholds;
    let mut title = vec![
        Span::styled("Trend ", t.style(Role::Accent)),
        Span::raw(selected_title(app)),
    ];
    if let Some(r) = app.cursor_result() {
        let band = th.band(r.psi_score);
        title.push(Span::styled(
            format!(
                " · {} PSI {:.3} {} {}",
                r.calculation_date,
                r.psi_score,
                band_symbol(band),
                band
            ),
            t.style(Theme::band_role(band)),
        ));
    }
    let block = pane_block(t, Pane::Trend, Line::from(title), focused);
    let Some(detail) = app.selected_detail() else {
        let (text, style) = match &app.detail_error {
            Some(e) => (format!("✗ cannot load history: {e}"), t.style(Role::Failed)),
            None => ("loading history…".to_string(), t.style(Role::Muted)),
        };
        message(frame, area, block, &text, style);
        return;
    };
    if detail.history.is_empty() {
        message(
            frame,
            area,
            block,
            "no results yet for this model (press r to run it)",
            t.style(Role::Muted),
        );
        return;
    }
    draw_trend_chart(app, frame, area, block, &detail.history, th);
}

fn draw_trend_chart(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    block: Block,
    history: &[crate::store::ResultRecord],
    th: Thresholds,
) {
    let t = &app.theme;
    let first = history[0].calculation_date;
    let last = history[history.len() - 1].calculation_date;
    let x = |d: chrono::NaiveDate| (d - first).num_days() as f64;
    let x_max = x(last).max(1.0);
    let psi_max = history.iter().map(|r| r.psi_score).fold(0.0, f64::max);
    let y_max = (psi_max.max(th.alert) * 1.15).max(0.01);
    let line: Vec<(f64, f64)> = history
        .iter()
        .map(|r| (x(r.calculation_date), r.psi_score))
        .collect();
    let mut warn_pts = Vec::new();
    let mut alert_pts = Vec::new();
    for r in history {
        match th.band(r.psi_score) {
            Band::Warn => warn_pts.push((x(r.calculation_date), r.psi_score)),
            Band::Alert => alert_pts.push((x(r.calculation_date), r.psi_score)),
            Band::Ok => {}
        }
    }
    let warn_line = [(0.0, th.warn), (x_max, th.warn)];
    let alert_line = [(0.0, th.alert), (x_max, th.alert)];
    let cursor: Vec<(f64, f64)> = app
        .cursor_result()
        .map(|r| {
            let cx = x(r.calculation_date);
            (0..=20)
                .map(|i| (cx, y_max * f64::from(i) / 20.0))
                .collect()
        })
        .unwrap_or_default();
    let mut datasets = vec![
        Dataset::default()
            .name(format!("─ alert {:.2}", th.alert))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.style(Role::Alert))
            .data(&alert_line),
        Dataset::default()
            .name(format!("─ warn {:.2}", th.warn))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.style(Role::Warn))
            .data(&warn_line),
        Dataset::default()
            .name("PSI")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.style(Role::Text))
            .data(&line),
    ];
    if !warn_pts.is_empty() {
        datasets.push(
            Dataset::default()
                .name("▲ warn")
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(t.style(Role::Warn))
                .data(&warn_pts),
        );
    }
    if !alert_pts.is_empty() {
        datasets.push(
            Dataset::default()
                .name("✖ alert")
                .marker(Marker::Block)
                .graph_type(GraphType::Scatter)
                .style(t.style(Role::Alert))
                .data(&alert_pts),
        );
    }
    if !cursor.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.style(Role::Accent))
                .data(&cursor),
        );
    }
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(
            Axis::default()
                .bounds([0.0, x_max])
                .style(t.style(Role::Muted))
                .labels([
                    first.format("%Y-%m-%d").to_string(),
                    last.format("%Y-%m-%d").to_string(),
                ]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, y_max])
                .style(t.style(Role::Muted))
                .labels(["0".to_string(), format!("{y_max:.2}")]),
        )
        .legend_position(Some(ratatui::widgets::LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Percentage(45), Constraint::Percentage(60)));
    frame.render_widget(chart, area);
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

fn draw_characteristics(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
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
                Span::styled(format!("{:>6.3} ", r.index_value), style),
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

fn draw_bins(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
    let t = &app.theme;
    let sel = app.selected_characteristic();
    let title = Line::from(vec![
        Span::styled("Bins", t.style(Role::Accent)),
        Span::styled(
            match sel {
                Some(c) => format!(
                    " of {} · expected ░ vs actual █ · {} {:.3}",
                    column_name(c),
                    if c.role == ColumnRole::Score {
                        "PSI"
                    } else {
                        "CSI"
                    },
                    c.index_value
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
                Cell::from(format!("{:>5.1}%", b.expected_share * 100.0)),
                Cell::from(format!("{:>5.1}%", b.actual_share * 100.0)),
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
                format!("{}{:.4}", if hot { "▲" } else { " " }, b.contribution),
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

fn fmt_duration(secs: i64) -> String {
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

fn draw_runs(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
    let t = &app.theme;
    let title = Line::from(vec![
        Span::styled("Runs", t.style(Role::Accent)),
        Span::styled(format!(" {}", selected_title(app)), t.style(Role::Muted)),
    ]);
    let block = pane_block(t, Pane::Runs, title, focused);
    let Some(detail) = app.selected_detail() else {
        let (text, style) = match &app.detail_error {
            Some(e) => (format!("✗ cannot load runs: {e}"), t.style(Role::Failed)),
            None if app.selected_row().is_none() => {
                ("select a model".to_string(), t.style(Role::Muted))
            }
            None => ("loading runs…".to_string(), t.style(Role::Muted)),
        };
        message(frame, area, block, &text, style);
        return;
    };
    if detail.runs.is_empty() {
        message(
            frame,
            area,
            block,
            "no run recorded for this model",
            t.style(Role::Muted),
        );
        return;
    }
    let height = usize::from(area.height.saturating_sub(3)).max(1);
    let offset = app.run_selected.saturating_sub(height - 1);
    let rows: Vec<Row> = detail
        .runs
        .iter()
        .skip(offset)
        .take(height)
        .map(|r| {
            let end = r.finished_at.unwrap_or(app.now);
            let secs = (end - r.started_at).num_seconds().max(0);
            Row::new(vec![
                Cell::from(r.calculation_date.to_string()),
                Cell::from(Span::styled(
                    status_label(r.status),
                    t.style(Theme::status_role(r.status)),
                )),
                Cell::from(format!("{}/{}", r.attempt, r.max_attempts)),
                Cell::from(if r.finished_at.is_some() {
                    fmt_duration(secs)
                } else {
                    format!("{}…", fmt_duration(secs))
                }),
                Cell::from(r.action.as_str()),
                Cell::from(r.triggered_by.clone()),
                Cell::from(Span::styled(
                    r.error.clone().unwrap_or_default(),
                    t.style(Role::Failed),
                )),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(10),
            Constraint::Length(7),
            Constraint::Length(3),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Fill(1),
        ],
    )
    .header(
        Row::new(["DATE", "STATUS", "TRY", "TIME", "ACTION", "BY", "ERROR"])
            .style(t.style(Role::Muted).add_modifier(Modifier::BOLD)),
    )
    .block(block)
    .row_highlight_style(t.selection())
    .column_spacing(1);
    let mut state = TableState::default().with_selected(Some(app.run_selected - offset));
    frame.render_stateful_widget(table, area, &mut state);
}

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

fn draw_logs(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
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

fn draw_diagnostics(app: &App, frame: &mut Frame, area: Rect, focused: bool) {
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

fn draw_status(app: &App, frame: &mut Frame, area: Rect) {
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

fn draw_footer(app: &App, frame: &mut Frame, area: Rect) {
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

fn draw_help(app: &App, frame: &mut Frame, area: Rect) {
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
                b.context == ctx && !matches!(b.action, super::keys::KeyAction::FocusPane(_))
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

fn draw_backfill(app: &App, form: &BackfillForm, frame: &mut Frame, area: Rect) {
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
        Ok(super::action::Action::Backfill {
            dates, existing, ..
        }) => {
            lines.push(Line::styled(
                format!("dry run: {} run(s) will start", dates.len()),
                t.style(Role::Accent),
            ));
            lines.push(Line::raw(format!(
                "  dates     {}",
                super::action::compact_dates(&dates)
            )));
            lines.push(Line::raw(format!(
                "  existing  {} already stored{}",
                existing.len(),
                if existing.is_empty() {
                    String::new()
                } else {
                    format!(": {}", super::action::compact_dates(&existing))
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
