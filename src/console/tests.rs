//! Unit tests of the console's update logic and dispatcher (no terminal).

use std::sync::Arc;

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::domain::{Role, RunAction, RunStatus};
use crate::store::ResultsStore;

use super::action::{Action, Dispatcher, Outcome, REFRESH_NOT_CONFIGURED, RefreshScope, RunTarget};
use super::adapter::OrchestratorAdapter;
use super::app::{
    App, BackfillField, Effect, LogSource, Mode, Msg, Pane, Session, SortKey, update,
};
use super::fixture::{Estate, EstateSpec, FixtureOrchestrator, fixed_now, generate, settle};
use super::keys::KeyMap;
use super::theme::Theme;
use crate::orchestrator::{JobEvent, JobId, JobInfo, JobSpec, JobState, LogRef};

fn estate(models: usize) -> Estate {
    generate(&EstateSpec {
        models,
        days: 20,
        detail_days: 5,
        seed: 7,
    })
}

fn app_for(e: &Estate, role: Role, read_only: bool) -> App {
    let session = Session {
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
    app.now = fixed_now();
    let fx = app.init();
    let rest = settle(&mut app, &e.store, fx);
    assert!(
        rest.iter().all(|f| matches!(f, Effect::TailLog { .. })),
        "{rest:?}"
    );
    app
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn code(k: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(k, KeyModifiers::NONE))
}
fn press(app: &mut App, e: &Estate, msg: Msg) -> Vec<Effect> {
    let fx = update(app, msg);
    settle(app, &e.store, fx)
}
fn date(s: &str) -> NaiveDate {
    crate::domain::parse_date(s).expect("date")
}

/// The orchestrator's snapshot of a run job of `model` in `state`.
fn job(id: &str, model: &str, date: Option<NaiveDate>, state: JobState) -> JobInfo {
    JobInfo {
        id: JobId::new(id).expect("job id"),
        spec: JobSpec::Run {
            model: crate::domain::ModelId::new(model).expect("model id"),
            date,
        },
        triggered_by: "alice".into(),
        state,
        submitted_at: fixed_now(),
        started_at: None,
        finished_at: None,
        exit_code: None,
        log: LogRef::new(format!("logs/{id}.log")),
        note: None,
    }
}

/// `job` reaching `state` (an orchestrator event).
fn event(job: &JobInfo, state: JobState, note: Option<&str>) -> Msg {
    let mut job = job.clone();
    job.state = state;
    job.note = note.map(str::to_string);
    Msg::Job(JobEvent { job })
}

/// A runtime for dispatcher tests: the dispatcher submits on a blocking thread inside one.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Dispatches `action` as the console's executor does: on a blocking thread of `rt`.
fn dispatch(
    rt: &tokio::runtime::Runtime,
    d: &Arc<Dispatcher>,
    action: &Action,
) -> super::action::DispatchReport {
    let (d, action) = (Arc::clone(d), action.clone());
    rt.block_on(rt.spawn_blocking(move || d.dispatch(&action, fixed_now())))
        .expect("dispatch")
}

#[test]
fn status_sort_puts_failed_then_running_then_alert_first() {
    let e = estate(12);
    let app = app_for(&e, Role::Operator, false);
    let order: Vec<&str> = app
        .visible
        .iter()
        .map(|&i| app.rows[i].model_id.as_str())
        .collect();
    assert_eq!(
        &order[..5],
        [
            "model_0002",
            "model_0004",
            "model_0003",
            "model_0000",
            "model_0001"
        ]
    );
    assert_eq!(app.counts(), (12, 1, 1, 1, 2));
    // The worst characteristic name comes from the characteristics rows.
    assert_eq!(app.rows[0].csi_name.as_deref(), Some("dep_delay"));
}

#[test]
fn navigation_loads_detail_and_keeps_cursor_on_last_date() {
    let e = estate(12);
    let mut app = app_for(&e, Role::Operator, false);
    assert_eq!(
        app.selected_detail().map(|d| d.model_id.as_str()),
        Some("model_0002")
    );
    let fx = update(&mut app, key('j'));
    assert_eq!(fx, vec![Effect::LoadDetail("model_0004".into())]);
    settle(&mut app, &e.store, fx);
    assert_eq!(app.cursor_date(), Some(date("2013-02-28")));
    assert_eq!(app.cursor_characteristics().map(<[_]>::len), Some(5));
    // Up past the top stays at 0; End goes to the last row.
    press(&mut app, &e, code(KeyCode::Up));
    press(&mut app, &e, code(KeyCode::Up));
    assert_eq!(app.selected, 0);
    press(&mut app, &e, code(KeyCode::End));
    assert_eq!(app.selected, 11);
}

#[test]
fn date_cursor_moves_and_loads_characteristics_of_that_date() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    let fx = update(&mut app, code(KeyCode::Left));
    assert_eq!(
        fx,
        vec![Effect::LoadCharacteristics {
            model_id: "model_0002".into(),
            date: date("2013-02-27")
        }]
    );
    settle(&mut app, &e.store, fx);
    assert_eq!(app.cursor_date(), Some(date("2013-02-27")));
    // Right at the last date does nothing.
    press(&mut app, &e, code(KeyCode::Right));
    assert!(update(&mut app, code(KeyCode::Right)).is_empty());
    // Older than detail_days: no characteristic rows stored, shown as empty, not an error.
    for _ in 0..10 {
        press(&mut app, &e, key('h'));
    }
    assert_eq!(app.cursor_date(), Some(date("2013-02-18")));
    assert_eq!(app.cursor_characteristics().map(<[_]>::len), Some(0));
    assert!(app.characteristics_error.is_none());
}

#[test]
fn filter_substring_invert_and_escape() {
    let e = estate(30);
    let mut app = app_for(&e, Role::Operator, false);
    press(&mut app, &e, key('/'));
    assert_eq!(app.mode, Mode::Filter);
    for c in "loans/".chars() {
        press(&mut app, &e, key(c));
    }
    assert!(
        app.visible
            .iter()
            .all(|&i| app.rows[i].value_stream == "loans")
    );
    assert_eq!(app.visible.len(), 5);
    press(&mut app, &e, code(KeyCode::Enter));
    assert_eq!(app.mode, Mode::Normal);
    // Invert.
    press(&mut app, &e, key('/'));
    press(&mut app, &e, code(KeyCode::Home));
    app.filter = "!loans/".into();
    press(&mut app, &e, code(KeyCode::Backspace));
    press(&mut app, &e, key('/'));
    assert_eq!(app.visible.len(), 25);
    assert!(
        app.visible
            .iter()
            .all(|&i| app.rows[i].value_stream != "loans")
    );
    press(&mut app, &e, code(KeyCode::Esc));
    assert_eq!(app.visible.len(), 30);
    // Selected detail follows the (possibly new) selected row.
    let sel = app.selected_row().map(|r| r.model_id.clone());
    assert_eq!(app.selected_detail().map(|d| d.model_id.clone()), sel);
}

#[test]
fn sort_cycles_and_value_stream_filter_cycles() {
    let e = estate(30);
    let mut app = app_for(&e, Role::Operator, false);
    press(&mut app, &e, key('s'));
    assert_eq!(app.sort, SortKey::Psi);
    assert_eq!(app.rows[app.visible[0]].model_id, "model_0000");
    press(&mut app, &e, key('s'));
    assert_eq!(app.sort, SortKey::Name);
    let first = &app.rows[app.visible[0]];
    assert_eq!(
        (first.value_stream.as_str(), first.model_id.as_str()),
        ("cards", "model_0000")
    );
    press(&mut app, &e, key('v'));
    assert_eq!(app.stream_filter.as_deref(), Some("cards"));
    assert!(
        app.visible
            .iter()
            .all(|&i| app.rows[i].value_stream == "cards")
    );
    press(&mut app, &e, key('g'));
    assert!(app.group_by_stream);
    press(&mut app, &e, code(KeyCode::Esc));
    assert_eq!(app.stream_filter, None);
}

#[test]
fn enter_drills_down_and_esc_goes_back() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    press(&mut app, &e, code(KeyCode::Enter));
    assert_eq!(app.focus, Pane::Characteristics);
    press(&mut app, &e, key('j'));
    assert_eq!(
        app.selected_characteristic()
            .map(|c| c.characteristic.as_str()),
        Some("dep_delay")
    );
    press(&mut app, &e, code(KeyCode::Enter));
    assert_eq!(app.focus, Pane::Bins);
    press(&mut app, &e, code(KeyCode::Esc));
    assert_eq!(app.focus, Pane::Characteristics);
    press(&mut app, &e, code(KeyCode::Esc));
    assert_eq!(app.focus, Pane::Models);
    press(&mut app, &e, key('5'));
    assert_eq!(app.focus, Pane::Runs);
    let fx = press(&mut app, &e, code(KeyCode::Enter));
    assert_eq!(app.focus, Pane::Logs);
    // Already tailing the newest run: no second tail.
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(
        app.log.source,
        Some(LogSource::Run {
            run_id: "model_0002-2013-02-28".into(),
            attempt: 3
        })
    );
    press(&mut app, &e, code(KeyCode::Tab));
    assert_eq!(app.focus, Pane::Diagnostics);
    press(&mut app, &e, code(KeyCode::Tab));
    assert_eq!(app.focus, Pane::Models);
    press(&mut app, &e, code(KeyCode::BackTab));
    assert_eq!(app.focus, Pane::Diagnostics);
}

#[test]
fn moving_in_runs_tails_that_runs_log() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    press(&mut app, &e, key('5'));
    let fx = press(&mut app, &e, key('j'));
    assert_eq!(
        fx,
        vec![Effect::TailLog {
            source: LogSource::Run {
                run_id: "model_0002-2013-02-27".into(),
                attempt: 1
            },
            log: Some("logs/model_0002/2013-02-27.log".into()),
        }]
    );
}

#[test]
fn rerun_goes_through_confirm_with_the_cursor_date() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    press(&mut app, &e, key('h'));
    assert!(press(&mut app, &e, key('r')).is_empty());
    let expected = Action::Rerun(RunTarget {
        model_id: "model_0002".into(),
        value_stream: "mortgages".into(),
        date: date("2013-02-27"),
    });
    assert_eq!(app.mode, Mode::Confirm(expected.clone()));
    // Cancel.
    assert!(press(&mut app, &e, key('n')).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    // Confirm.
    press(&mut app, &e, key('r'));
    let fx = press(&mut app, &e, key('y'));
    assert_eq!(fx, vec![Effect::Dispatch(expected)]);
}

#[test]
fn rerun_in_the_runs_pane_reruns_the_selected_runs_date() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    // The trend cursor moves to another date; the runs pane's selection wins there.
    press(&mut app, &e, key('h'));
    press(&mut app, &e, key('5'));
    press(&mut app, &e, code(KeyCode::Down));
    press(&mut app, &e, code(KeyCode::Down));
    let selected = app.selected_run().expect("a run selected").calculation_date;
    assert_eq!(selected, date("2013-02-26"));
    assert!(press(&mut app, &e, key('r')).is_empty());
    let expected = Action::Rerun(RunTarget {
        model_id: "model_0002".into(),
        value_stream: "mortgages".into(),
        date: selected,
    });
    assert_eq!(app.mode, Mode::Confirm(expected));
}

#[test]
fn backfill_dialog_shows_missing_and_existing_dates() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    press(&mut app, &e, key('b'));
    let Mode::Backfill(form) = app.mode.clone() else {
        panic!("backfill dialog not open")
    };
    assert_eq!(
        (form.from.as_str(), form.to.as_str()),
        ("2013-02-26", "2013-02-28")
    );
    assert!(form.only_missing);
    // Extend the range past the last stored date: to = 2013-03-02.
    press(&mut app, &e, code(KeyCode::Tab));
    for _ in 0..2 {
        press(&mut app, &e, code(KeyCode::Backspace));
    }
    press(&mut app, &e, key('3'));
    let Mode::Backfill(form) = app.mode.clone() else {
        panic!()
    };
    assert_eq!(form.field, BackfillField::To);
    assert_eq!(form.to, "2013-02-3");
    // Fix it properly: 2013-03-02.
    let mut form = form;
    form.to = "2013-03-02".into();
    app.mode = Mode::Backfill(form);
    let Mode::Backfill(form) = app.mode.clone() else {
        panic!()
    };
    let Ok(Action::Backfill {
        dates, existing, ..
    }) = app.backfill_action(&form)
    else {
        panic!()
    };
    // 02-26, 02-27 stored and fine; 02-28 stored but its last run failed; 03-01, 03-02 missing.
    assert_eq!(
        dates,
        vec![date("2013-02-28"), date("2013-03-01"), date("2013-03-02")]
    );
    assert_eq!(existing.len(), 3);
    // Toggle to all dates.
    press(&mut app, &e, code(KeyCode::Tab));
    press(&mut app, &e, key(' '));
    press(&mut app, &e, code(KeyCode::Enter));
    let Mode::Confirm(Action::Backfill {
        dates,
        only_missing,
        ..
    }) = &app.mode
    else {
        panic!("confirm expected, got {:?}", app.mode)
    };
    assert_eq!((dates.len(), *only_missing), (5, false));
    let fx = press(&mut app, &e, key('y'));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Dispatch(Action::Backfill { .. })]
    ));
}

#[test]
fn backfill_rejects_reversed_range() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    press(&mut app, &e, key('b'));
    let Mode::Backfill(mut form) = app.mode.clone() else {
        panic!()
    };
    form.from = "2013-03-05".into();
    app.mode = Mode::Backfill(form);
    press(&mut app, &e, code(KeyCode::Enter));
    assert!(matches!(app.mode, Mode::Backfill(_)));
    assert!(
        app.status
            .as_ref()
            .is_some_and(|s| s.text.contains("after")),
        "{:?}",
        app.status
    );
}

#[test]
fn rerun_failed_collects_failed_models() {
    let e = estate(12);
    let mut app = app_for(&e, Role::Operator, false);
    press(&mut app, &e, key('R'));
    let Mode::Confirm(Action::RerunFailed(targets)) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(targets.len(), 1);
    assert_eq!(
        (targets[0].model_id.as_str(), targets[0].date),
        ("model_0002", date("2013-02-28"))
    );
}

#[test]
fn needs_attention_filter_keeps_failed_retrying_alert_and_quality_findings() {
    let e = estate(12);
    // A warning of the quality gate on model_0005's newest attempt (an ok run in the ok band).
    let newest = e.store.runs(Some("model_0005"), 1).expect("runs");
    let run = newest.first().expect("run");
    let finding = crate::quality::Finding {
        check: crate::quality::Check::RowCountHistory,
        column: None,
        observed: 10.0,
        limit: 500.0,
        severity: crate::quality::Severity::Warn,
        message: "10 current rows".into(),
    };
    e.store
        .record_findings(&run.run_id, run.attempt, &[finding])
        .expect("record");
    let mut app = app_for(&e, Role::Operator, false);
    let ids = |app: &App| {
        let mut v: Vec<String> = app.visible_rows().map(|r| r.model_id.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&app).len(), 12);
    press(&mut app, &e, key('a'));
    assert_eq!(
        ids(&app),
        ["model_0000", "model_0002", "model_0004", "model_0005"],
        "alert, failed, retrying, quality warning"
    );
    press(&mut app, &e, key('a'));
    assert_eq!(ids(&app).len(), 12);
}

#[test]
fn refresh_without_job_skips_confirm_and_dispatches_for_audit() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Admin, false);
    let fx = press(&mut app, &e, key('f'));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Dispatch(Action::Refresh { .. })]
    ));
    app.session.refresh_configured = true;
    press(&mut app, &e, key('f'));
    assert!(matches!(
        app.mode,
        Mode::Confirm(Action::Refresh {
            scope: RefreshScope::Model,
            ..
        })
    ));
    // `s` widens the scope: the selected model's value stream, then every model.
    press(&mut app, &e, key('s'));
    let Mode::Confirm(Action::Refresh {
        scope,
        models,
        value_stream,
        ..
    }) = app.mode.clone()
    else {
        panic!("still confirming");
    };
    assert_eq!(scope, RefreshScope::ValueStream);
    assert!(!models.is_empty() && models.iter().all(|m| m.starts_with(&value_stream)));
    press(&mut app, &e, key('s'));
    let Mode::Confirm(action) = app.mode.clone() else {
        panic!("still confirming");
    };
    assert_eq!(action.target(), "all models");
    let Action::Refresh { models, .. } = &action else {
        panic!("refresh");
    };
    assert_eq!(models.len(), 6);
    let requests = action.requests("ana").expect("requests");
    assert!(matches!(
        requests[0].spec,
        crate::orchestrator::JobSpec::RefreshBenchmarks { all: true, .. }
    ));
}

#[test]
fn refresh_ticks_are_coalesced() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    let first = update(&mut app, Msg::RefreshTick);
    assert!(first.contains(&Effect::LoadOverview));
    let second = update(&mut app, Msg::RefreshTick);
    assert!(!second.contains(&Effect::LoadOverview), "{second:?}");
    // When the first answer arrives, exactly one more load is issued.
    let fx = update(&mut app, Msg::Overview(Ok(Default::default())));
    assert_eq!(fx.iter().filter(|f| **f == Effect::LoadOverview).count(), 1);
    let fx = update(&mut app, Msg::Overview(Ok(Default::default())));
    assert_eq!(fx.iter().filter(|f| **f == Effect::LoadOverview).count(), 0);
}

#[test]
fn stale_detail_answer_is_ignored() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    update(&mut app, key('j'));
    let selected = app.selected_row().map(|r| r.model_id.clone()).expect("row");
    let stale = super::runtime::load_detail(&e.store, "model_0000").expect("detail");
    update(
        &mut app,
        Msg::Detail {
            model_id: "model_0000".into(),
            result: Ok(stale),
        },
    );
    assert!(
        app.selected_detail().is_none(),
        "stale detail must not show for {selected}"
    );
}

#[test]
fn store_errors_keep_the_console_running() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    e.store.fail_with(Some("database is locked"));
    let fx = press(&mut app, &e, Msg::RefreshTick);
    assert!(fx.is_empty());
    assert!(
        app.overview_error
            .as_deref()
            .is_some_and(|m| m.contains("locked"))
    );
    assert!(
        app.detail_error
            .as_deref()
            .is_some_and(|m| m.contains("locked"))
    );
    assert_eq!(app.rows.len(), 6, "rows stay from the last good load");
    e.store.fail_with(None);
    press(&mut app, &e, Msg::RefreshTick);
    assert!(app.overview_error.is_none());
}

#[test]
fn quit_asks_while_console_jobs_run() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    let j1 = job("j1", "model_0002", None, JobState::Running);
    app.console_jobs.insert("j1".into(), j1.clone());
    assert!(press(&mut app, &e, key('q')).is_empty());
    assert_eq!(app.mode, Mode::QuitConfirm);
    press(&mut app, &e, key('n'));
    assert!(!app.should_quit);
    update(&mut app, event(&j1, JobState::Succeeded, None));
    assert!(app.console_jobs.is_empty());
    assert_eq!(update(&mut app, key('q')), vec![Effect::Quit]);
    assert!(app.should_quit);
}

#[test]
fn log_search_jumps_and_buffer_is_bounded() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    let source = app.log.source.clone().expect("tailing newest run");
    let lines: Vec<String> = (0..6000)
        .map(|i| format!("line {i}{}", if i % 1000 == 0 { " ERROR x" } else { "" }))
        .collect();
    update(
        &mut app,
        Msg::LogLines {
            source: source.clone(),
            lines,
        },
    );
    assert_eq!(app.log.buffer.len(), super::logbuf::DEFAULT_LOG_CAPACITY);
    assert_eq!(app.log.buffer.dropped(), 1000);
    // Lines for another source are ignored.
    update(
        &mut app,
        Msg::LogLines {
            source: LogSource::Job("other".into()),
            lines: vec!["x".into()],
        },
    );
    assert_eq!(app.log.buffer.len(), 5000);
    press(&mut app, &e, key('6'));
    press(&mut app, &e, key('/'));
    for c in "error".chars() {
        press(&mut app, &e, key(c));
    }
    press(&mut app, &e, code(KeyCode::Enter));
    assert!(!app.log.follow);
    assert_eq!(
        app.log.buffer.get(app.log.scroll),
        Some("line 1000 ERROR x")
    );
    press(&mut app, &e, key('n'));
    assert_eq!(
        app.log.buffer.get(app.log.scroll),
        Some("line 2000 ERROR x")
    );
    press(&mut app, &e, key('F'));
    assert!(app.log.follow);
    let fx = press(&mut app, &e, key('s'));
    assert!(
        matches!(&fx[..], [Effect::SaveLog { path, text }] if path.to_string_lossy().contains("model_0002-2013-02-28_3") && text.lines().count() == 5000),
        "{:?}",
        fx.first().map(|f| match f {
            Effect::SaveLog { path, .. } => path.display().to_string(),
            _ => String::new(),
        })
    );
}

fn dispatcher(
    e: &Estate,
    role: Role,
    read_only: bool,
    orch: Arc<FixtureOrchestrator>,
) -> (Arc<Dispatcher>, Arc<super::fixture::MemoryStore>) {
    let store = Arc::new(super::fixture::MemoryStore::new());
    let _ = e;
    (
        Arc::new(Dispatcher {
            store: store.clone() as Arc<dyn ResultsStore>,
            orchestrator: Arc::new(OrchestratorAdapter::new(orch, false)),
            user: "alice".into(),
            role,
            read_only,
            refresh: None,
        }),
        store,
    )
}

fn rerun() -> Action {
    Action::Rerun(RunTarget {
        model_id: "m1".into(),
        value_stream: "vs".into(),
        date: date("2013-02-01"),
    })
}

#[test]
fn dispatcher_denies_viewers_and_read_only_and_audits_both() {
    let e = estate(1);
    let orch = Arc::new(FixtureOrchestrator::default());
    let rt = runtime();
    for (role, ro, needle) in [
        (Role::Viewer, false, "needs the operator role"),
        (Role::Admin, true, "read-only"),
    ] {
        let (d, store) = dispatcher(&e, role, ro, orch.clone());
        let report = dispatch(&rt, &d, &rerun());
        assert!(
            matches!(&report.outcome, Outcome::Denied(r) if r.to_string().contains(needle)),
            "{report:?}"
        );
        let audit = store.audit_entries();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].action, "rerun");
        assert_eq!(audit[0].target, "m1 2013-02-01");
        assert_eq!(audit[0].user, "alice");
        assert_eq!(audit[0].role, role.as_str());
        assert!(audit[0].outcome.starts_with("denied"));
    }
    assert!(
        orch.received().is_empty(),
        "nothing may reach the orchestrator"
    );
}

#[test]
fn dispatcher_runs_operator_actions_and_audits_them() {
    let e = estate(1);
    let orch = Arc::new(FixtureOrchestrator::default());
    let rt = runtime();
    let mut rx = crate::orchestrator::Orchestrator::subscribe(orch.as_ref());
    let (d, store) = dispatcher(&e, Role::Operator, false, orch.clone());
    let backfill = Action::Backfill {
        model_id: "m1".into(),
        value_stream: "vs".into(),
        from: date("2013-02-01"),
        to: date("2013-02-03"),
        dates: vec![date("2013-02-01"), date("2013-02-03")],
        existing: vec![date("2013-02-02")],
        only_missing: true,
    };
    let report = dispatch(&rt, &d, &backfill);
    let Outcome::Started(tickets) = &report.outcome else {
        panic!("{report:?}")
    };
    // One backfill job over the range (the job plans its dates).
    assert_eq!(tickets.len(), 1);
    let reqs = orch.received();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].spec.kind(), reqs[0].triggered_by.as_str()),
        (RunAction::Backfill, "alice")
    );
    // The job's state changes come from the orchestrator, as the job's snapshots.
    let started = rt.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(30), async {
            loop {
                let ev = rx.recv().await.expect("job events");
                if ev.job.id == tickets[0].id && ev.job.state == JobState::Running {
                    return ev.job;
                }
            }
        })
        .await
        .expect("the job starts")
    });
    assert_eq!(started.spec.kind(), RunAction::Backfill);
    // Refresh is admin-only: denied for an operator.
    let refresh = Action::Refresh {
        model_id: "m1".into(),
        value_stream: "vs".into(),
        scope: RefreshScope::Model,
        models: vec!["vs / m1".into()],
    };
    let report = dispatch(&rt, &d, &refresh);
    assert!(matches!(report.outcome, Outcome::Denied(_)));
    let audit = store.audit_entries();
    assert_eq!(audit.len(), 3);
    assert_eq!(audit[0].outcome, super::action::REQUESTED);
    assert_eq!(audit[1].outcome, "started 1 job(s)");
    assert_eq!(audit[1].target, "m1 2013-02-01..2013-02-03");
    assert!(audit[2].outcome.contains("needs the admin role"));
}

#[test]
fn refresh_reports_not_configured_for_admins() {
    let e = estate(1);
    let orch = Arc::new(FixtureOrchestrator::default());
    let rt = runtime();
    let (d, store) = dispatcher(&e, Role::Admin, false, orch.clone());
    let refresh = Action::Refresh {
        model_id: "m1".into(),
        value_stream: "vs".into(),
        scope: RefreshScope::Model,
        models: vec!["vs / m1".into()],
    };
    let report = dispatch(&rt, &d, &refresh);
    assert_eq!(
        report.outcome,
        Outcome::NotConfigured(REFRESH_NOT_CONFIGURED.into())
    );
    assert!(orch.received().is_empty());
    assert!(
        store.audit_entries()[0]
            .outcome
            .contains(REFRESH_NOT_CONFIGURED)
    );
}

#[test]
fn an_action_whose_audit_cannot_be_written_does_not_start() {
    // Issue 11 #6: the store write-locked, `r y` used to start the job with only a WARN.
    let e = estate(1);
    let orch = Arc::new(FixtureOrchestrator::default());
    let rt = runtime();
    let (d, store) = dispatcher(&e, Role::Operator, false, orch.clone());
    store.fail_with(Some("disk full"));
    let report = dispatch(&rt, &d, &rerun());
    assert!(
        matches!(&report.outcome, Outcome::Failed(m) if m.contains("not started") && m.contains("disk full")),
        "{report:?}"
    );
    assert!(orch.received().is_empty(), "nothing submitted");
    assert!(
        report
            .audit_error
            .as_deref()
            .is_some_and(|m| m.contains("disk full"))
    );
}

#[test]
fn dispatched_report_updates_status_jobs_and_log() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    let ticket = job(
        "run-model_0002-20130228-1",
        "model_0002",
        Some(date("2013-02-28")),
        JobState::Queued,
    );
    let fx = update(
        &mut app,
        Msg::Dispatched(super::action::DispatchReport {
            action: rerun(),
            outcome: Outcome::Started(vec![ticket.clone()]),
            audit_error: None,
        }),
    );
    assert!(fx.contains(&Effect::LoadOverview));
    assert!(fx.contains(&Effect::TailLog {
        source: LogSource::Job(ticket.id.to_string()),
        log: Some(ticket.log.clone()),
    }));
    assert!(
        app.status
            .as_ref()
            .is_some_and(|s| s.text == "rerun started: 1 job(s) for 2013-02-28"),
        "{:?}",
        app.status
    );
    assert_eq!(app.console_jobs.len(), 1);
    let source = LogSource::Job(ticket.id.to_string());
    assert_eq!(app.log.source, Some(source.clone()));
    update(
        &mut app,
        Msg::LogLines {
            source,
            lines: vec!["reading current data".into()],
        },
    );
    assert_eq!(app.log.buffer.get(0), Some("reading current data"));
    settle(&mut app, &e.store, fx);
    let fx = update(&mut app, event(&ticket, JobState::Failed, Some("boom")));
    assert!(fx.contains(&Effect::LoadDetail("model_0002".into())));
    assert!(
        app.status
            .as_ref()
            .is_some_and(|s| s.text == "job run-model_0002-20130228-1 failed: failed: boom"),
        "{:?}",
        app.status
    );
    // Denied report: status says so.
    update(
        &mut app,
        Msg::Dispatched(super::action::DispatchReport {
            action: rerun(),
            outcome: Outcome::Denied(super::action::Denied::ReadOnly),
            audit_error: None,
        }),
    );
    assert!(
        app.status
            .as_ref()
            .is_some_and(|s| s.text.starts_with("denied"))
    );
}

#[test]
fn confirm_dialog_forecasts_denial_for_viewers() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Viewer, false);
    press(&mut app, &e, key('r'));
    let Mode::Confirm(action) = app.mode.clone() else {
        panic!()
    };
    assert!(app.forecast_denial(&action).is_some());
    // Still dispatched (the dispatcher decides and audits).
    assert!(matches!(
        press(&mut app, &e, key('y')).as_slice(),
        [Effect::Dispatch(_)]
    ));
}

#[test]
fn status_of_retrying_model_is_shown() {
    let e = estate(6);
    let app = app_for(&e, Role::Operator, false);
    let row = app
        .rows
        .iter()
        .find(|r| r.model_id == "model_0004")
        .expect("row");
    assert_eq!(row.status, Some(RunStatus::Retrying));
}

#[test]
fn role_flag_cannot_exceed_configured_role() {
    use super::effective_role;
    assert_eq!(effective_role(Role::Operator, None), (Role::Operator, None));
    assert_eq!(
        effective_role(Role::Admin, Some(Role::Viewer)),
        (Role::Viewer, None)
    );
    let (role, warning) = effective_role(Role::Viewer, Some(Role::Admin));
    assert_eq!(role, Role::Viewer);
    assert!(warning.is_some_and(|w| w.contains("exceeds")));
}

#[test]
fn backfill_request_is_one_backfill_job_over_the_range() {
    let action = Action::Backfill {
        model_id: "m".into(),
        value_stream: "vs".into(),
        from: date("2013-02-26"),
        to: date("2013-03-02"),
        dates: vec![date("2013-02-28"), date("2013-03-01"), date("2013-03-02")],
        existing: vec![date("2013-02-26"), date("2013-02-27"), date("2013-02-28")],
        only_missing: true,
    };
    let reqs = action.requests("alice").expect("valid model id");
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].spec,
        crate::orchestrator::JobSpec::Backfill {
            model: crate::domain::ModelId::new("m").expect("id"),
            from: date("2013-02-26"),
            to: date("2013-03-02"),
            only_missing: true,
        }
    );
    assert_eq!(reqs[0].triggered_by, "alice");
    // A hostile model id from the store is refused, not passed to a job.
    let bad = Action::Rerun(super::action::RunTarget {
        model_id: "../x; rm".into(),
        value_stream: "vs".into(),
        date: date("2013-02-26"),
    });
    assert!(bad.requests("alice").is_err());
}

#[test]
fn console_job_log_survives_the_reload_its_start_triggers() {
    let e = estate(6);
    let mut app = app_for(&e, Role::Operator, false);
    let ticket = job(
        "run-model_0002-20130228-1",
        "model_0002",
        Some(date("2013-02-28")),
        JobState::Queued,
    );
    let job = LogSource::Job(ticket.id.to_string());
    let fx = update(
        &mut app,
        Msg::Dispatched(super::action::DispatchReport {
            action: rerun(),
            outcome: Outcome::Started(vec![ticket.clone()]),
            audit_error: None,
        }),
    );
    assert!(fx.contains(&Effect::TailLog {
        source: job.clone(),
        log: Some(ticket.log.clone()),
    }));
    // The overview and detail reloads (start, finish, refresh ticks) keep the job's log.
    settle(&mut app, &e.store, fx);
    let fx = update(&mut app, event(&ticket, JobState::Succeeded, None));
    let rest = settle(&mut app, &e.store, fx);
    assert!(
        !rest.iter().any(|f| matches!(f, Effect::TailLog { .. })),
        "{rest:?}"
    );
    assert_eq!(app.log.source, Some(job.clone()));
    // Picking a run shows that run's log again.
    press(&mut app, &e, key('5'));
    let fx = press(&mut app, &e, key('j'));
    assert!(
        fx.iter().any(|f| matches!(
            f,
            Effect::TailLog {
                source: LogSource::Run { .. },
                ..
            }
        )),
        "{fx:?}"
    );
    // Another model: the job's log no longer applies and that model's run log is tailed.
    update(
        &mut app,
        Msg::Dispatched(super::action::DispatchReport {
            action: rerun(),
            outcome: Outcome::Started(vec![ticket]),
            audit_error: None,
        }),
    );
    press(&mut app, &e, key('1'));
    let fx = press(&mut app, &e, key('j'));
    assert_ne!(app.log.source, Some(job));
    assert!(
        fx.iter().any(|f| matches!(
            f,
            Effect::TailLog {
                source: LogSource::Run { .. },
                ..
            }
        )),
        "{fx:?}"
    );
}

/// Issue 11 #8: saving a log is refused in read-only mode and for viewers.
#[test]
fn saving_a_log_honours_read_only_and_roles() {
    let e = estate(6);
    for (role, read_only, says) in [
        (Role::Operator, true, "read-only"),
        (Role::Viewer, false, "operator role"),
    ] {
        let mut app = app_for(&e, role, read_only);
        press(&mut app, &e, key('6'));
        assert!(app.log.source.is_some(), "a log is open");
        let fx = press(&mut app, &e, key('s'));
        assert!(
            !fx.iter().any(|f| matches!(f, Effect::SaveLog { .. })),
            "{role:?} read_only={read_only}: {fx:?}"
        );
        let status = app
            .status
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_default();
        assert!(status.contains(says), "{status}");
    }
}

/// Issue 11 #8: only logs inside the workspace's log directory are shown; `..`, absolute paths
/// elsewhere and symbolic links out of it are refused.
#[test]
fn only_logs_inside_the_log_directory_are_shown() {
    use crate::orchestrator::local::log_path_allowed;
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("m1")).expect("mkdir");
    std::fs::write(logs.join("m1/run.log"), "ok\n").expect("log");
    std::fs::write(dir.path().join("secret.txt"), "password=x\n").expect("secret");
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), logs.join("link.log"))
        .expect("symlink");
    assert!(log_path_allowed(&logs, &logs.join("m1/run.log")).is_ok());
    assert!(log_path_allowed(&logs, &logs.join("m1/not-yet.log")).is_ok());
    for bad in [
        dir.path().join("secret.txt"),
        logs.join("../secret.txt"),
        logs.join("link.log"),
        std::path::PathBuf::from("/etc/passwd"),
        logs.join("nodir/x.log"),
    ] {
        let err = log_path_allowed(&logs, &bad).expect_err("refused");
        assert!(err.contains("outside the workspace log directory"), "{err}");
    }
}

/// A refresh job that finishes while the refresh view is open reloads the view (its report is
/// new); a run job does not.
#[test]
fn a_finished_refresh_job_reloads_the_open_refresh_view() {
    let e = estate(3);
    let mut app = app_for(&e, Role::Admin, false);
    let fx = press(&mut app, &e, key('B'));
    assert!(matches!(&fx[..], [Effect::LoadRefreshes(_)]), "{fx:?}");
    update(
        &mut app,
        Msg::Refreshes(Ok(crate::console::refreshes::RefreshData::default())),
    );
    let mut refresh = job(
        "refresh-all-benchmark-1",
        "model_0001",
        None,
        JobState::Running,
    );
    refresh.spec = JobSpec::RefreshBenchmarks {
        model: None,
        value_stream: None,
        all: true,
        dry_run: false,
    };
    let fx = update(&mut app, event(&refresh, JobState::Succeeded, None));
    assert!(fx.contains(&Effect::LoadRefreshes(Vec::new())), "{fx:?}");
    let run = job("run-model_0001-1", "model_0001", None, JobState::Running);
    let fx = update(&mut app, event(&run, JobState::Succeeded, None));
    assert!(
        !fx.iter().any(|f| matches!(f, Effect::LoadRefreshes(_))),
        "{fx:?}"
    );
}
