//! The console's dispatcher driving the real LocalRunner (with a fake job program) through the
//! OrchestratorAdapter: jobs start, events arrive as the console's `Msg::Job`, logs are
//! written, the audit is kept.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use driftdeck::console::Msg;
use driftdeck::console::OrchestratorAdapter;
use driftdeck::console::action::{Action, Dispatcher, Outcome, RunTarget};
use driftdeck::console::fixture::{MemoryStore, fixed_now};
use driftdeck::domain::Role;
use driftdeck::orchestrator::{JobState, LocalRunner, LocalRunnerConfig, Orchestrator};
use driftdeck::store::ResultsStore;
use tokio::sync::mpsc;

const SCRIPT: &str = r#"echo "args: $*"
model=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--model" ]; then model=$2; fi
  shift
done
case "$model" in
  fail*) echo "failing on purpose"; exit 3 ;;
esac
exit 0
"#;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// The first `n` jobs to reach a final state, as (job id, succeeded), from the messages the
/// adapter forwards to the console's loop.
async fn finished(rx: &mut mpsc::UnboundedReceiver<Msg>, n: usize) -> Vec<(String, bool)> {
    let mut done = Vec::new();
    while done.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("job events within 20 s")
            .expect("channel open");
        if let Msg::Job(ev) = msg
            && ev.job.state.is_final()
        {
            done.push((ev.job.id.to_string(), ev.job.state == JobState::Succeeded));
        }
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_and_backfill_run_through_the_local_runner() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = LocalRunnerConfig::new("/bin/sh", dir.path().join("logs"), 2);
    cfg.program_args = vec!["-c".into(), SCRIPT.into(), "fakejob".into()];
    cfg.poll_interval = Duration::from_millis(50);
    let runner: Arc<dyn Orchestrator> = Arc::new(LocalRunner::open(cfg).expect("runner"));
    let store = Arc::new(MemoryStore::new());
    let dispatcher = Arc::new(Dispatcher {
        store: store.clone() as Arc<dyn ResultsStore>,
        orchestrator: Arc::new(OrchestratorAdapter::new(runner, false)),
        user: "alice".into(),
        role: Role::Operator,
        read_only: false,
        refresh: None,
    });
    let (tx, mut rx) = mpsc::unbounded_channel();
    let forwarding = dispatcher.orchestrator.forward_events(tx);

    let rerun = Action::Rerun(RunTarget {
        model_id: "okmodel".into(),
        value_stream: "vs".into(),
        date: date("2013-02-01"),
    });
    let d = dispatcher.clone();
    let report = tokio::task::spawn_blocking(move || d.dispatch(&rerun, fixed_now()))
        .await
        .expect("dispatch");
    let Outcome::Started(tickets) = report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(tickets.len(), 1);
    let done = finished(&mut rx, 1).await;
    assert_eq!(done, vec![(tickets[0].id.to_string(), true)]);
    // The console reads the job's log through the orchestrator, by its opaque reference.
    let log_ref = tickets[0].log.clone();
    let lines: Vec<String> = futures::StreamExt::collect::<Vec<_>>(dispatcher.orchestrator.logs(
        &log_ref,
        driftdeck::orchestrator::LogOptions {
            follow: false,
            tail: None,
            since: None,
        },
    ))
    .await
    .into_iter()
    .map(|l| l.expect("log line"))
    .collect();
    let log = lines.join("\n");
    assert!(
        log.contains("run --model okmodel --date 2013-02-01 --triggered-by alice"),
        "{log}"
    );

    // Backfill only-missing with one failed-but-stored date: one backfill job, which plans the
    // failed date itself (jobs::backfill::plan_dates); the console adds no run jobs.
    let backfill = Action::Backfill {
        model_id: "failmodel".into(),
        value_stream: "vs".into(),
        from: date("2013-02-01"),
        to: date("2013-02-03"),
        dates: vec![date("2013-02-02"), date("2013-02-03")],
        existing: vec![date("2013-02-01"), date("2013-02-02")],
        only_missing: true,
    };
    let d = dispatcher.clone();
    let report = tokio::task::spawn_blocking(move || d.dispatch(&backfill, fixed_now()))
        .await
        .expect("dispatch");
    let Outcome::Started(tickets) = report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(tickets.len(), 1);
    let done = finished(&mut rx, 1).await;
    assert!(
        done.iter().all(|(_, ok)| !ok),
        "failmodel jobs fail: {done:?}"
    );

    // Refresh is not configured: reported, audited, nothing started.
    let refresh = Action::Refresh {
        model_id: "okmodel".into(),
        value_stream: "vs".into(),
        scope: driftdeck::console::action::RefreshScope::Model,
        models: vec!["vs / okmodel".into()],
    };
    forwarding.abort();
    let d = Dispatcher {
        role: Role::Admin,
        ..Arc::try_unwrap(dispatcher).unwrap_or_else(|_| panic!("single owner"))
    };
    let report = tokio::task::spawn_blocking(move || d.dispatch(&refresh, fixed_now()))
        .await
        .expect("dispatch");
    assert!(matches!(report.outcome, Outcome::NotConfigured(_)));
    let audit = store.audit_entries();
    // Each started action has its "requested" entry written before it ran (issue 11 #6).
    assert_eq!(audit.len(), 5);
    assert_eq!(audit[0].outcome, "requested");
    assert_eq!(audit[2].outcome, "requested");
    assert_eq!(audit[3].outcome, "started 1 job(s)");
}

#[test]
fn console_reads_a_real_sqlite_store() {
    use driftdeck::console::app::{App, Session};
    use driftdeck::console::fixture::{EstateSpec, generate, settle};
    use driftdeck::console::{KeyMap, Theme};
    use driftdeck::store::sqlite::SqliteStore;

    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = SqliteStore::open(dir.path().join("results.sqlite")).expect("open");
    // Copy a small generated estate into SQLite through the trait.
    let e = generate(&EstateSpec {
        models: 6,
        days: 10,
        detail_days: 3,
        seed: 1,
    });
    for m in &e.models {
        for r in e.store.history(&m.model_id, None, None).expect("history") {
            let chars = e
                .store
                .characteristics(&m.model_id, r.calculation_date)
                .expect("chars");
            sqlite.save_result(&r, &chars).expect("save");
        }
        for run in e.store.runs(Some(&m.model_id), 100).expect("runs") {
            sqlite.record_attempt(&run).expect("attempt");
        }
    }
    let mut app = App::new(
        Session::default(),
        e.models.clone(),
        Theme::default(),
        KeyMap::default(),
    );
    let fx = app.init();
    settle(&mut app, &sqlite, fx);
    assert!(app.overview_error().is_none(), "{:?}", app.overview_error());
    assert_eq!(app.counts(), (6, 1, 1, 1, 2));
    assert_eq!(
        app.selected_row().map(|r| r.model_id.as_str()),
        Some("model_0002")
    );
    assert_eq!(app.cursor_characteristics().map(<[_]>::len), Some(5));
    assert_eq!(app.rows()[0].csi_name.as_deref(), Some("dep_delay"));
}
