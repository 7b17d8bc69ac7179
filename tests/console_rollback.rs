//! Rollback from the console (issue 7): `u` looks up the kept version in the background and
//! asks to confirm it by name; the dispatcher (admin only, audited) runs it through the code of
//! `driftdeck rollback-benchmark` on a real demo workspace (real files, real SQLite audit), and
//! the refresh view then shows the rollback.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use driftdeck::console::action::{Action, Dispatcher, Outcome};
use driftdeck::console::app::{App, Session, update};
use driftdeck::console::fixture::{EstateSpec, fixed_now, generate, settle};
use driftdeck::console::refreshes::{RefreshBackend, WorkspaceRefreshes};
use driftdeck::console::{Effect, KeyMap, Msg, NoOrchestrator, OrchestratorAdapter, Theme};
use driftdeck::domain::Role;
use driftdeck::refresh::Outcome as RefreshOutcome;
use sha2::{Digest, Sha256};

fn sha(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("{:x}", Sha256::digest(&bytes))
}

/// A demo workspace whose `jfk_delay` benchmark was refreshed once (so one version is kept);
/// returns (dir guard, workspace, config, the benchmark's sha256 before the refresh).
fn refreshed_demo() -> (tempfile::TempDir, PathBuf, PathBuf, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path().join("ws");
    let bin = env!("CARGO_BIN_EXE_driftdeck");
    let out = Command::new(bin)
        .args(["demo", "init"])
        .arg(&ws)
        .output()
        .expect("demo init");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = ws.join("config").join("driftdeck.toml");
    let before = sha(&bench(&ws));
    let out = Command::new(bin)
        .arg("--config")
        .arg(&config)
        .args(["refresh-benchmarks", "--model", "jfk_delay"])
        .env_remove("VALIDATION_THRESHOLD")
        .env_remove("BENCHMARKING_PATH")
        .env_remove("EMAIL_RECIPIENTS")
        .output()
        .expect("refresh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("jfk_delay replaced"), "{text}");
    assert_ne!(sha(&bench(&ws)), before);
    (dir, ws, config, before)
}

fn bench(ws: &Path) -> PathBuf {
    ws.join("benchmarks/airports/jfk_delay/benchmark.csv")
}

fn dispatcher(config: &driftdeck::config::Config, role: Role) -> Dispatcher {
    let store = driftdeck::wiring::results_store(config).expect("store");
    Dispatcher {
        store,
        orchestrator: Arc::new(OrchestratorAdapter::new(Arc::new(NoOrchestrator), true)),
        user: "ana".into(),
        role,
        read_only: false,
        refresh: Some(Arc::new(WorkspaceRefreshes::new(config.clone()))),
    }
}

fn audit(config: &driftdeck::config::Config) -> Vec<(String, String, String)> {
    let store = driftdeck::wiring::results_store(config).expect("store");
    store
        .audit(1000)
        .expect("audit")
        .into_iter()
        .map(|a| (a.action, a.target, a.outcome))
        .collect()
}

#[test]
fn console_rollback_restores_the_kept_version_audited_and_refuses_non_admins() {
    let (_d, ws, config_path, before) = refreshed_demo();
    let config = driftdeck::config::load(Some(&config_path)).expect("config");
    let backend = WorkspaceRefreshes::new(config.clone());

    // The refresh view's data: the refresh run, and jfk_delay's kept version.
    let data = backend.load(&[]).expect("load");
    assert_eq!(data.runs.len(), 1, "{data:?}");
    assert_eq!(data.runs[0].models[0].outcome, RefreshOutcome::Replaced);
    let candidate = data
        .rollback
        .get("jfk_delay")
        .expect("a kept version")
        .clone();
    assert_eq!(
        before[..16],
        candidate.checksum,
        "the kept one is the old benchmark"
    );
    let after = sha(&bench(&ws));
    assert_eq!(candidate.current.as_deref(), Some(&after[..16]));

    let action = Action::Rollback {
        model_id: "jfk_delay".into(),
        value_stream: "airports".into(),
        version: candidate.version.clone(),
        checksum: candidate.checksum.clone(),
        rows: candidate.rows,
        current: candidate.current.clone(),
    };
    // An operator is refused, audited, and nothing changes.
    let report = dispatcher(&config, Role::Operator).dispatch(&action, fixed_now());
    assert!(
        matches!(&report.outcome, Outcome::Denied(d) if d.to_string() == "rollback needs the admin role; you are operator"),
        "{report:?}"
    );
    assert_eq!(sha(&bench(&ws)), after);
    assert!(
        audit(&config)
            .iter()
            .any(|(a, _, o)| a == "rollback" && o.starts_with("denied")),
        "{:?}",
        audit(&config)
    );

    // An admin's rollback reinstalls the old benchmark, byte for byte.
    let report = dispatcher(&config, Role::Admin).dispatch(&action, fixed_now());
    match &report.outcome {
        Outcome::Done(what) => assert!(what.contains("jfk_delay rolled_back"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sha(&bench(&ws)), before);
    let rows = audit(&config);
    for expected in ["requested", "done: ", "rolled_back "] {
        assert!(
            rows.iter()
                .any(|(a, _, o)| a == "rollback" && o.starts_with(expected)),
            "audit has no rollback row {expected:?}: {rows:?}"
        );
    }
    // The view then shows the rollback first, and the replaced benchmark is the next candidate.
    let data = backend.load(&[]).expect("load");
    assert_eq!(data.runs[0].action, "rollback");
    assert_eq!(data.runs[0].models[0].outcome, RefreshOutcome::RolledBack);
    assert_eq!(
        data.rollback.get("jfk_delay").map(|c| c.checksum.as_str()),
        Some(&after[..16])
    );

    // A version that does not exist fails with its reason; the benchmark stays.
    let missing = Action::Rollback {
        model_id: "jfk_delay".into(),
        value_stream: "airports".into(),
        version: "19990101T000000.000Z".into(),
        checksum: "-".into(),
        rows: None,
        current: None,
    };
    let report = dispatcher(&config, Role::Admin).dispatch(&missing, fixed_now());
    assert!(matches!(report.outcome, Outcome::Failed(_)), "{report:?}");
    assert_eq!(sha(&bench(&ws)), before);
}

#[test]
fn u_looks_up_the_kept_version_then_confirms_it_by_name() {
    let e = generate(&EstateSpec {
        models: 3,
        days: 10,
        detail_days: 2,
        seed: 3,
    });
    let session = Session {
        role: Role::Operator,
        user: "bob".into(),
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
    let model = app.selected_row().expect("a model").model_id.clone();
    let key = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));

    let fx = update(&mut app, key('u'));
    assert_eq!(fx, vec![Effect::LoadRefreshes(vec![model.clone()])]);
    // No kept version: a clear message, no dialog.
    update(
        &mut app,
        Msg::Refreshes(Ok(driftdeck::console::refreshes::RefreshData::default())),
    );
    let screen = render(&app);
    assert!(!screen.contains("Confirm rollback"), "{screen}");
    assert!(screen.contains("has no kept benchmark version"), "{screen}");

    // With a kept version the confirm dialog names it; an operator sees the coming refusal.
    update(&mut app, key('u'));
    let mut data = driftdeck::console::refreshes::RefreshData::default();
    data.rollback.insert(
        model.clone(),
        driftdeck::console::refreshes::RollbackCandidate {
            version: "20261101T060000.000Z".into(),
            checksum: "abcdef0123456789".into(),
            rows: Some(42),
            current: Some("0011223344556677".into()),
        },
    );
    update(&mut app, Msg::Refreshes(Ok(data)));
    let screen = render(&app);
    for needle in [
        "Confirm rollback",
        "restores   version 20261101T060000.000Z (abcdef0123456789, 42 rows)",
        "replaces   0011223344556677",
        "will be denied: rollback needs the admin role; you are operator",
    ] {
        assert!(screen.contains(needle), "{needle:?} missing:\n{screen}");
    }
    let fx = update(&mut app, key('y'));
    assert!(
        matches!(&fx[..], [Effect::Dispatch(Action::Rollback { version, .. })] if version == "20261101T060000.000Z"),
        "{fx:?}"
    );
}

fn render(app: &App) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(140, 40)).expect("term");
    t.draw(|f| driftdeck::console::view(app, f)).expect("draw");
    format!("{:?}", t.backend())
}
