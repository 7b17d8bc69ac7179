//! The console's `:ctx` / `:ns` picker and `S` (suspend / resume a model's CronJob) through the
//! pure `update` and TestBackend snapshots, with fixture data: what each key asks the runtime
//! to do (the effects), and what the screen shows for the orchestrator's answers (lists, 403,
//! switched, refused). The runtime side runs against the fake API server in
//! tests/kube_switch.rs and tests/kube_console_e2e.rs.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use driftdeck::console::action::Action;
use driftdeck::console::app::{App, Effect, Msg, Session, update};
use driftdeck::console::fixture::{Estate, EstateSpec, fixed_now, generate, settle};
use driftdeck::console::{KeyMap, Theme, view};
use driftdeck::domain::Role;
use driftdeck::orchestrator::{ScheduleState, TargetKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn estate() -> Estate {
    generate(&EstateSpec {
        models: 4,
        days: 20,
        detail_days: 3,
        seed: 7,
    })
}

fn app(e: &Estate, orchestrator: &str) -> App {
    let session = Session {
        workspace: "demo".into(),
        orchestrator: orchestrator.into(),
        user: "alice".into(),
        role: Role::Operator,
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

/// Sends keys; returns the effects the fixture cannot run (orchestrator calls).
fn keys(app: &mut App, e: &Estate, keys: &[KeyCode]) -> Vec<Effect> {
    let mut rest = Vec::new();
    for k in keys {
        let fx = update(app, Msg::Key(KeyEvent::new(*k, KeyModifiers::NONE)));
        rest.extend(settle(app, &e.store, fx));
    }
    rest
}

fn chars(app: &mut App, e: &Estate, text: &str) -> Vec<Effect> {
    let codes: Vec<KeyCode> = text.chars().map(KeyCode::Char).collect();
    keys(app, e, &codes)
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal.draw(|f| view(app, f)).expect("draw");
    let buf = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

const KUBE: &str = "kubernetes fake-ctx/model-monitoring";

#[test]
fn ns_picker_lists_switches_and_updates_the_header() {
    let e = estate();
    let mut app = app(&e, KUBE);
    assert!(chars(&mut app, &e, ":ns").is_empty());
    assert!(
        screen(&app, 120, 30).contains(":ns▏"),
        "the command line shows what is typed"
    );
    let fx = keys(&mut app, &e, &[KeyCode::Enter]);
    assert_eq!(fx, [Effect::LoadTargets(TargetKind::Namespace)]);
    assert!(screen(&app, 120, 30).contains("listing namespaces …"));
    update(
        &mut app,
        Msg::Targets {
            kind: TargetKind::Namespace,
            result: Ok(vec!["model-monitoring".into(), "other-ns".into()]),
        },
    );
    keys(&mut app, &e, &[KeyCode::Down]);
    insta::assert_snapshot!("ns_picker", screen(&app, 100, 30));
    let fx = keys(&mut app, &e, &[KeyCode::Enter]);
    assert_eq!(
        fx,
        [Effect::SwitchTarget {
            kind: TargetKind::Namespace,
            name: "other-ns".into()
        }]
    );
    assert!(screen(&app, 120, 30).contains("switching namespace to other-ns"));
    let fx = update(
        &mut app,
        Msg::TargetSwitched {
            kind: TargetKind::Namespace,
            name: "other-ns".into(),
            result: Ok("kubernetes fake-ctx/other-ns".into()),
        },
    );
    assert_eq!(fx, [Effect::LoadOverview], "the switch reloads");
    settle(&mut app, &e.store, fx);
    let s = screen(&app, 120, 30);
    assert!(s.contains("kubernetes fake-ctx/other-ns"), "header:\n{s}");
    assert!(!s.contains("fake-ctx/model-monitoring"));
}

#[test]
fn forbidden_namespace_list_lets_a_name_be_typed_and_refusals_are_shown() {
    let e = estate();
    let mut app = app(&e, KUBE);
    chars(&mut app, &e, ":ns");
    keys(&mut app, &e, &[KeyCode::Enter]);
    update(
        &mut app,
        Msg::Targets {
            kind: TargetKind::Namespace,
            result: Err(
                "orchestrator error: list Namespaces: 403 Forbidden: namespaces is forbidden"
                    .into(),
            ),
        },
    );
    chars(&mut app, &e, "team-b");
    insta::assert_snapshot!("ns_picker_forbidden", screen(&app, 100, 30));
    let fx = keys(&mut app, &e, &[KeyCode::Enter]);
    assert_eq!(
        fx,
        [Effect::SwitchTarget {
            kind: TargetKind::Namespace,
            name: "team-b".into()
        }]
    );
    update(
        &mut app,
        Msg::TargetSwitched {
            kind: TargetKind::Namespace,
            name: "team-b".into(),
            result: Err(
                "orchestrator error: list CronJobs: 403 Forbidden: cronjobs is forbidden".into(),
            ),
        },
    );
    let s = screen(&app, 140, 30);
    assert!(
        s.contains("namespace team-b not used (still kubernetes fake-ctx/model-monitoring)"),
        "{s}"
    );
    assert!(s.contains(KUBE), "the header is unchanged");
    // a context named directly
    let fx = chars(&mut app, &e, ":ctx prod-eks");
    assert!(fx.is_empty());
    let fx = keys(&mut app, &e, &[KeyCode::Enter]);
    assert_eq!(
        fx,
        [Effect::SwitchTarget {
            kind: TargetKind::Context,
            name: "prod-eks".into()
        }]
    );
    // unknown commands
    chars(&mut app, &e, ":pods");
    assert!(keys(&mut app, &e, &[KeyCode::Enter]).is_empty());
    assert!(screen(&app, 140, 30).contains(":pods: unknown command"));
}

#[test]
fn the_local_runner_says_it_has_no_contexts_or_cronjobs() {
    let e = estate();
    let mut app = app(&e, "local");
    chars(&mut app, &e, ":ctx");
    assert!(keys(&mut app, &e, &[KeyCode::Enter]).is_empty());
    let s = screen(&app, 160, 30);
    assert!(
        s.contains("jobs run on the local orchestrator, which has none"),
        "{s}"
    );
    assert!(chars(&mut app, &e, "S").is_empty());
    let s = screen(&app, 160, 30);
    assert!(
        s.contains("suspend/resume of a CronJob: jobs run on the local"),
        "{s}"
    );
}

#[test]
fn suspended_cronjobs_show_as_text_and_s_confirms_resume() {
    let e = estate();
    let mut app = app(&e, KUBE);
    let model = app.visible_rows().next().unwrap().model_id.clone();
    // unknown CronJob: says so
    chars(&mut app, &e, "S");
    assert!(screen(&app, 140, 30).contains(&format!("no CronJob of {model}")));
    update(
        &mut app,
        Msg::Schedules(Ok(vec![ScheduleState {
            model: model.clone(),
            name: "m-cronjob".into(),
            suspended: true,
        }])),
    );
    let s = screen(&app, 140, 30);
    let row = s
        .lines()
        .find(|l| l.contains(&format!(" {model} ")))
        .expect("the model's row");
    assert!(row.contains("SUSP"), "{row}");
    assert_eq!(s.matches("SUSP").count(), 1, "only that model");
    chars(&mut app, &e, "S");
    insta::assert_snapshot!("confirm_resume", screen(&app, 100, 30));
    let fx = chars(&mut app, &e, "y");
    match fx.as_slice() {
        [
            Effect::Dispatch(Action::Suspend {
                model_id,
                schedule,
                suspend,
                ..
            }),
        ] => {
            assert_eq!(model_id, &model);
            assert_eq!(schedule, "m-cronjob");
            assert!(!suspend, "a suspended CronJob is resumed");
        }
        other => panic!("{other:?}"),
    }
}
