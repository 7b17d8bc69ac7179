//! TestBackend snapshots of every console pane and dialog, with fixed fixture data and a fixed
//! clock (times are masked by construction: the fixture's `fixed_now`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use driftdeck::console::app::{App, Msg, Session, update};
use driftdeck::console::fixture::{Estate, EstateSpec, fixed_now, generate, settle};
use driftdeck::console::{KeyMap, Theme, view};
use driftdeck::domain::Role;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

fn estate() -> Estate {
    generate(&EstateSpec {
        models: 12,
        days: 60,
        detail_days: 5,
        seed: 7,
    })
}

fn app(e: &Estate, role: Role, read_only: bool) -> App {
    let session = Session {
        workspace: "demo".into(),
        role,
        read_only,
        user: "alice".into(),
        ..Session::default()
    };
    let mut app = App::new(
        session,
        e.models.clone(),
        Theme::default(),
        KeyMap::default(),
    );
    app.set_now(fixed_now());
    let fx = app.init();
    settle(&mut app, &e.store, fx);
    app
}

fn keys(app: &mut App, e: &Estate, keys: &[KeyCode]) {
    for k in keys {
        let fx = update(app, Msg::Key(KeyEvent::new(*k, KeyModifiers::NONE)));
        settle(app, &e.store, fx);
    }
}

fn chars(app: &mut App, e: &Estate, text: &str) {
    let codes: Vec<KeyCode> = text.chars().map(KeyCode::Char).collect();
    keys(app, e, &codes);
}

fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal.draw(|f| view(app, f)).expect("draw");
    terminal
}

#[test]
fn full_layout_models_focused() {
    let e = estate();
    let app = app(&e, Role::Operator, false);
    insta::assert_snapshot!("full_models", render(&app, 140, 40).backend());
}

#[test]
fn trend_with_cursor_moved_back() {
    let e = estate();
    let mut app = app(&e, Role::Operator, false);
    // Select the alerting model (sort by PSI puts it first), focus the trend, move the cursor.
    chars(&mut app, &e, "s");
    keys(&mut app, &e, &[KeyCode::Home]);
    chars(&mut app, &e, "2hh");
    insta::assert_snapshot!("trend_cursor", render(&app, 100, 30).backend());
}

#[test]
fn characteristics_pane() {
    let e = estate();
    let mut app = app(&e, Role::Operator, false);
    chars(&mut app, &e, "s");
    keys(&mut app, &e, &[KeyCode::Enter]);
    insta::assert_snapshot!("characteristics", render(&app, 100, 24).backend());
}

#[test]
fn bins_pane_after_drill_down() {
    let e = estate();
    let mut app = app(&e, Role::Operator, false);
    chars(&mut app, &e, "s");
    keys(
        &mut app,
        &e,
        &[KeyCode::Enter, KeyCode::Down, KeyCode::Enter],
    );
    insta::assert_snapshot!("bins", render(&app, 100, 24).backend());
}

#[test]
fn runs_pane_with_failed_attempt() {
    let e = estate();
    let mut app = app(&e, Role::Operator, false);
    chars(&mut app, &e, "5");
    insta::assert_snapshot!("runs", render(&app, 120, 24).backend());
}

#[test]
fn logs_pane_with_search_highlight_and_dropped_lines() {
    let e = estate();
    let mut app = app(&e, Role::Operator, false);
    let source = app.log().source.clone().expect("newest run tailed");
    let mut lines: Vec<String> = (0..5_010)
        .map(|i| format!("2013-03-01T05:00:{:02}Z INFO attempt 3 step {i}", i % 60))
        .collect();
    lines.push("2013-03-01T05:00:03Z ERROR benchmark profile checksum mismatch".into());
    update(&mut app, Msg::LogLines { source, lines });
    chars(&mut app, &e, "6/checksum");
    keys(&mut app, &e, &[KeyCode::Enter]);
    insta::assert_snapshot!("logs", render(&app, 100, 20).backend());
}

#[test]
fn diagnostics_pane_small() {
    let e = estate();
    let mut app = app(&e, Role::Operator, false);
    chars(&mut app, &e, "7");
    insta::assert_snapshot!("diagnostics", render(&app, 60, 15).backend());
}

#[test]
fn help_overlay() {
    let e = estate();
    let mut app = app(&e, Role::Operator, false);
    chars(&mut app, &e, "?");
    insta::assert_snapshot!("help", render(&app, 120, 40).backend());
}

#[test]
fn backfill_dialog_dry_run() {
    let e = estate();
    let mut app = app(&e, Role::Operator, false);
    chars(&mut app, &e, "b");
    insta::assert_snapshot!("backfill", render(&app, 120, 36).backend());
}

#[test]
fn confirm_dialog_for_a_viewer_warns_of_denial() {
    let e = estate();
    let mut app = app(&e, Role::Viewer, false);
    chars(&mut app, &e, "r");
    insta::assert_snapshot!("confirm_viewer", render(&app, 120, 36).backend());
}

#[test]
fn confirm_backfill_blast_radius() {
    let e = estate();
    let mut app = app(&e, Role::Operator, true);
    chars(&mut app, &e, "b");
    keys(&mut app, &e, &[KeyCode::Enter]);
    insta::assert_snapshot!(
        "confirm_backfill_read_only",
        render(&app, 120, 36).backend()
    );
}

#[test]
fn store_error_state() {
    let e = estate();
    e.store.fail_with(Some(
        "database is locked (another process holds the write lock)",
    ));
    let app = app(&e, Role::Operator, false);
    insta::assert_snapshot!("store_error", render(&app, 120, 30).backend());
}

#[test]
fn header_shows_the_pending_queue() {
    let e = estate();
    let session = Session {
        workspace: "demo".into(),
        store: "snowflake".into(),
        user: "alice".into(),
        ..Session::default()
    };
    let mut app = App::new(
        session,
        e.models.clone(),
        Theme::default(),
        KeyMap::default(),
    );
    app.set_now(fixed_now());
    let fx = app.init();
    settle(&mut app, &e.store, fx);
    let _ = update(&mut app, Msg::Pending(12));
    insta::assert_snapshot!("pending_queue", render(&app, 140, 12).backend());
    // Drained: the count goes away.
    let _ = update(&mut app, Msg::Pending(0));
    let terminal = render(&app, 140, 12);
    let buf = terminal.backend().buffer();
    let header: String = (0..140).map(|x| buf[(x, 0)].symbol().to_string()).collect();
    assert!(
        header.contains("snowflake │") && !header.contains("queued"),
        "{header}"
    );
}

#[test]
fn small_layout_60x15() {
    let e = estate();
    let app = app(&e, Role::Operator, false);
    insta::assert_snapshot!("small_60x15", render(&app, 60, 15).backend());
}

#[test]
fn every_pane_and_dialog_renders_at_extreme_sizes() {
    let e = estate();
    for (w, h) in [(60, 15), (20, 6), (10, 3), (80, 20), (300, 100), (1, 1)] {
        for k in ["1", "2", "3", "4", "5", "6", "7", "?", "b", "r"] {
            let mut app = app(&e, Role::Operator, false);
            keys(&mut app, &e, &[KeyCode::Enter]);
            chars(&mut app, &e, k);
            let _ = render(&app, w, h);
        }
    }
}

#[test]
fn no_color_uses_no_colours_but_keeps_symbols() {
    let e = estate();
    let mut app = app(&e, Role::Operator, false);
    app.set_theme(Theme::builtin("dark").expect("dark").without_color());
    let terminal = render(&app, 140, 40);
    let buf = terminal.backend().buffer();
    assert!(
        buf.content()
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
        "NO_COLOR must not emit colours"
    );
    let text: String = buf.content().iter().map(|c| c.symbol()).collect();
    assert!(
        text.contains("✗ FAIL") && text.contains("✖"),
        "status symbols remain"
    );
}

#[test]
fn high_contrast_theme_renders_with_its_colours() {
    let e = estate();
    let mut app = app(&e, Role::Operator, false);
    app.set_theme(Theme::builtin("high-contrast").expect("hc"));
    let terminal = render(&app, 140, 40);
    let buf = terminal.backend().buffer();
    assert!(buf.content().iter().any(|c| c.fg == app.theme().failed));
}

#[test]
fn a_failing_backend_from_the_start_check_shows_in_the_header() {
    let e = estate();
    let mut app = app(&e, Role::Operator, false);
    let text = |app: &App| -> String {
        let t = render(app, 160, 40);
        t.backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect()
    };
    assert!(!text(&app).contains("failing (doctor)"), "healthy: no mark");
    update(&mut app, Msg::Health(Vec::new()));
    assert!(!text(&app).contains("failing (doctor)"), "all healthy");
    update(
        &mut app,
        Msg::Health(vec![
            "store: the database file does not exist — fix: run any job".into(),
        ]),
    );
    let shown = text(&app);
    assert!(shown.contains("✗ store failing (doctor)"), "{shown}");
    assert!(
        shown.contains("the database file does not exist"),
        "status line: {shown}"
    );
}

/// A warning of the data-quality gate on the newest attempt: the models table marks the model
/// with `Q!` (text, not colour alone) and the runs pane lists the finding with its check and
/// column next to the current rows.
#[test]
fn quality_findings_in_models_table_and_runs_pane() {
    use driftdeck::quality::{Check, Finding, Severity};
    use driftdeck::store::ResultsStore;
    let e = estate();
    let newest = e.store.runs(Some("model_0003"), 1).expect("runs");
    let run = newest.first().expect("a run of model_0003");
    let finding = Finding {
        check: Check::MissingShare,
        column: Some("dep_hour".into()),
        observed: 0.6,
        limit: 0.5,
        severity: Severity::Warn,
        message: "600 of 1000 values missing".into(),
    };
    e.store
        .record_findings(&run.run_id, run.attempt, &[finding])
        .expect("record");
    let mut app = app(&e, Role::Operator, false);
    let text = |app: &App, w, h| {
        let t = render(app, w, h);
        let buf = t.backend().buffer().clone();
        let mut s = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                s.push_str(buf[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    };
    let models = text(&app, 140, 40);
    let line = models
        .lines()
        .find(|l| l.contains("model_0003"))
        .expect("model_0003 row");
    assert!(line.contains("Q!"), "{line}");
    assert_eq!(models.matches("Q!").count(), 1, "{models}");
    // Select model_0003 and open the runs pane.
    while app.selected_row().map(|r| r.model_id.as_str()) != Some("model_0003") {
        keys(&mut app, &e, &[KeyCode::Down]);
    }
    chars(&mut app, &e, "5");
    let runs = text(&app, 240, 30);
    assert!(runs.contains("ROWS"), "{runs}");
    assert!(
        runs.contains("Q! missing_share [dep_hour]: 600 of 1000"),
        "{runs}"
    );
}

/// A refresh run like the demo's: one model replaced, one rejected with quarantined rows and
/// failing findings, one failed, plus a rollback run; the first model has a kept version.
fn refresh_data() -> driftdeck::console::refreshes::RefreshData {
    use driftdeck::config::Severity;
    use driftdeck::console::refreshes::{RefreshData, RollbackCandidate};
    use driftdeck::refresh::checks::Finding;
    use driftdeck::refresh::{ModelRefresh, Outcome, RefreshReport};
    let at = fixed_now();
    let entry = |model: &str, vs: &str, outcome| ModelRefresh {
        model: model.into(),
        value_stream: vs.into(),
        outcome,
        source: format!("file extracts/{model}/2013-12.csv"),
        rows_read: 0,
        rows_kept: 0,
        quarantined: 0,
        quarantine_file: None,
        findings: Vec::new(),
        error: None,
        psi: None,
        max_csi: None,
        new_version: None,
        kept_as: None,
        seconds: 0.5,
    };
    let mut replaced = entry("model_0001", "vs_a", Outcome::Replaced);
    replaced.rows_read = 3120;
    replaced.rows_kept = 3120;
    replaced.psi = Some(0.0123);
    replaced.max_csi = Some(("dep_delay".into(), 0.0456));
    replaced.new_version = Some("1a2b3c4d5e6f7a8b".into());
    replaced.kept_as = Some("20261129T101500.000Z".into());
    let mut rejected = entry("model_0002", "vs_b", Outcome::Rejected);
    rejected.rows_read = 2000;
    rejected.rows_kept = 1400;
    rejected.quarantined = 600;
    rejected.quarantine_file = Some("quarantine/model_0002/refresh-20261129T101500Z.csv".into());
    rejected.findings = vec![
        Finding {
            check: "quarantined_share".into(),
            column: None,
            observed: "0.3".into(),
            limit: "0.05".into(),
            severity: Severity::Fail,
        },
        Finding {
            check: "missing_share".into(),
            column: Some("arr_delay".into()),
            observed: "0.12".into(),
            limit: "0.1".into(),
            severity: Severity::Warn,
        },
    ];
    let mut failed = entry("model_0003", "vs_b", Outcome::Failed);
    failed.error = Some("extracts/model_0003/2013-12.csv: file not found".into());
    let mut rolled = entry("model_0001", "vs_a", Outcome::RolledBack);
    rolled.source = "version 20261128T090000.000Z".into();
    rolled.rows_kept = 3000;
    rolled.new_version = Some("9f8e7d6c5b4a3928".into());
    let mut data = RefreshData {
        runs: Vec::new(),
        rollback: Default::default(),
        warnings: Vec::new(),
    };
    data.runs = vec![
        RefreshReport {
            id: "20261129T120000.000Z".into(),
            action: "rollback".into(),
            triggered_by: "alice".into(),
            started_at: at,
            finished_at: at,
            models: vec![rolled],
        },
        RefreshReport {
            id: "20261129T101500.000Z".into(),
            action: "refresh".into(),
            triggered_by: "schedule".into(),
            started_at: at,
            finished_at: at,
            models: vec![replaced, rejected, failed],
        },
    ];
    data.rollback.insert(
        "model_0001".into(),
        RollbackCandidate {
            version: "20261129T101500.000Z".into(),
            checksum: "0badc0ffee123456".into(),
            rows: Some(3000),
            current: Some("1a2b3c4d5e6f7a8b".into()),
        },
    );
    data
}

#[test]
fn refresh_view_lists_runs_outcomes_findings_and_the_rollback_version() {
    use driftdeck::console::Effect;
    let e = estate();
    let mut app = app(&e, Role::Admin, false);
    let fx = update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('B'), KeyModifiers::SHIFT)),
    );
    assert!(
        matches!(&fx[..], [Effect::LoadRefreshes(_)]),
        "B loads the refresh reports in the background: {fx:?}"
    );
    let loading = format!("{:?}", render(&app, 120, 30).backend());
    assert!(loading.contains("loading"), "{loading}");
    let fx = update(&mut app, Msg::Refreshes(Ok(refresh_data())));
    assert!(fx.is_empty(), "{fx:?}");
    // Select the refresh's first entry (model_0001 replaced): its rollback version is named.
    chars(&mut app, &e, "j");
    insta::assert_snapshot!("refresh_view", render(&app, 120, 30).backend());
    let screen = format!("{:?}", render(&app, 120, 30).backend());
    for needle in [
        "Benchmark refreshes",
        "replaced",
        "rejected",
        "failed",
        "rolled_back",
        "600 quarantined",
        "quarantine: quarantine/model_0002/refresh-20261129T101500Z.csv",
        "fail quarantined_share",
        "file not found",
        "PSI 0.0123",
        "roll back model_0001 to version 20261129T101500.000Z",
    ] {
        assert!(screen.contains(needle), "{needle:?} missing:\n{screen}");
    }
    // esc closes the view.
    keys(&mut app, &e, &[KeyCode::Esc]);
    let closed = format!("{:?}", render(&app, 120, 30).backend());
    assert!(!closed.contains("Benchmark refreshes"), "{closed}");
}

#[test]
fn refresh_view_shows_a_load_error_and_an_empty_workspace() {
    let e = estate();
    let mut app = app(&e, Role::Admin, false);
    chars(&mut app, &e, "B");
    update(
        &mut app,
        Msg::Refreshes(Err(
            "/ws/refresh: cannot list refresh reports: denied".into()
        )),
    );
    let screen = format!("{:?}", render(&app, 100, 24).backend());
    assert!(
        screen.contains("cannot read the refresh reports: /ws/refresh"),
        "{screen}"
    );
    update(
        &mut app,
        Msg::Refreshes(Ok(driftdeck::console::refreshes::RefreshData::default())),
    );
    let screen = format!("{:?}", render(&app, 100, 24).backend());
    assert!(screen.contains("no benchmark refresh yet"), "{screen}");
}

/// A recomputed date and a run without a job log: the newest run of `model_0003` (from an
/// external scheduler, no log path) replaced the last date's result with other values. The trend
/// title marks the date `✎` with what it was before, the runs pane names the replaced PSI/CSI on
/// the run that superseded it, and the logs pane shows the attempt's recorded details (error,
/// rows, benchmark version, findings) instead of a log.
#[test]
fn recomputed_date_and_recorded_details_of_a_run_without_log() {
    use chrono::Duration;
    use driftdeck::domain::{RunAction, RunStatus};
    use driftdeck::quality::{Check, Finding, Severity};
    use driftdeck::store::{ResultsStore, RunRecord};
    let e = estate();
    let model = "model_0003";
    let last = e
        .store
        .history(model, None, None)
        .expect("history")
        .pop()
        .expect("a result");
    let date = last.calculation_date;
    let chars = e.store.characteristics(model, date).expect("chars");
    let run = RunRecord {
        run_id: format!("{model}-{date}-external"),
        attempt: 1,
        max_attempts: 3,
        model_id: model.into(),
        value_stream: last.value_stream.clone(),
        calculation_date: date,
        action: RunAction::Run,
        status: RunStatus::Succeeded,
        error: None,
        started_at: fixed_now() - Duration::minutes(2),
        finished_at: Some(fixed_now() - Duration::minutes(1)),
        benchmark_version: Some("sha256:0be1".into()),
        rows_benchmark: Some(3_000),
        rows_current: Some(2_196),
        triggered_by: "airflow".into(),
        log_path: None,
    };
    e.store.record_attempt(&run).expect("attempt");
    e.store
        .record_findings(
            &run.run_id,
            1,
            &[Finding {
                check: Check::RowCountHistory,
                column: None,
                observed: 2_196.0,
                limit: 2_500.0,
                severity: Severity::Warn,
                message: "2196 rows, below 0.5 × median 5000".into(),
            }],
        )
        .expect("findings");
    let mut rerun = last.clone();
    rerun.psi_score = last.psi_score + 0.25;
    rerun.execution_time = fixed_now() - Duration::minutes(1);
    e.store
        .save_result_of_run(&rerun, &chars, Some(&run.run_id))
        .expect("rerun");
    let mut app = app(&e, Role::Operator, false);
    while app.selected_row().map(|r| r.model_id.as_str()) != Some(model) {
        keys(&mut app, &e, &[KeyCode::Down]);
    }
    let screen = render(&app, 200, 44);
    insta::assert_snapshot!("recomputed_and_recorded_details", screen.backend());
    let text = format!("{}", screen.backend());
    assert!(text.contains("✎ was PSI"), "{text}");
    assert!(text.contains("✎ 1 recomputed date(s)"), "{text}");
    assert!(text.contains("no job log kept"), "{text}");
    assert!(
        text.contains("rows:       current 2196 · benchmark 3000"),
        "{text}"
    );
    assert!(text.contains("benchmark:  sha256:0be1"), "{text}");
    assert!(text.contains("finding:    Q! row_count_history"), "{text}");
}
