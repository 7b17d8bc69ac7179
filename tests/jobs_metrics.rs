//! The metrics seam: a run reports run start, each attempt with its duration, success with PSI/CSI
//! gauges, or failure after the last attempt, tagged with model, value stream and action. Also the
//! typed notifier error of the outbox.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use driftdeck::domain::RunAction;
use driftdeck::jobs::run::{RunRequest, run_model};
use driftdeck::jobs::setup::Workspace;
use driftdeck::jobs::{Metrics, Notification, Notifier, NotifyError, OutboxNotifier, Tags};

/// Every metric call, as `kind name value model/value_stream/action`.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn push(&self, kind: &str, name: &str, value: String, t: &Tags<'_>) {
        self.0.lock().expect("lock").push(format!(
            "{kind} {name} {value} {}/{}/{}",
            t.model, t.value_stream, t.action
        ));
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

impl Metrics for Recorder {
    fn count(&self, name: &str, value: u64, tags: &Tags<'_>) {
        self.push("count", name, value.to_string(), tags);
    }
    fn gauge(&self, name: &str, value: f64, tags: &Tags<'_>) {
        self.push("gauge", name, format!("{value:.6}"), tags);
    }
    fn timing(&self, name: &str, duration: Duration, tags: &Tags<'_>) {
        // Durations vary; record that one was sent and that it is plausible.
        assert!(duration < Duration::from_secs(600), "{duration:?}");
        self.push("timing", name, "d".into(), tags);
    }
    fn describe(&self) -> String {
        "recorder".into()
    }
}

fn workspace(dir: &std::path::Path) -> std::path::PathBuf {
    let cfg = dir.join("config");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    std::fs::create_dir_all(dir.join("data")).expect("mkdir");
    std::fs::create_dir_all(dir.join("benchmarks/vs/m1")).expect("mkdir");
    std::fs::write(
        cfg.join("driftdeck.toml"),
        "[workspace]\nname = \"m\"\n[retry]\nattempts = 2\ndelay_seconds = 0\n",
    )
    .expect("toml");
    std::fs::write(
        cfg.join("models.yaml"),
        "models:\n  - id: m1\n    value_stream: vs\n    owner: t\n    schedule: \"0 6 * * *\"\n    score: score\n    characteristics:\n      - { name: x, kind: numeric }\n    current:\n      path: data/cur_{date}.csv\n",
    )
    .expect("yaml");
    let mut bench = String::from("score,x\n");
    let mut cur = String::from("score,x\n");
    for i in 0..50 {
        bench.push_str(&format!("{},{}\n", i as f64 / 50.0, i));
        cur.push_str(&format!("{},{}\n", (i % 25) as f64 / 50.0, i * 2));
    }
    std::fs::write(dir.join("benchmarks/vs/m1/benchmark.csv"), bench).expect("bench");
    std::fs::write(dir.join("data/cur_2024-05-01.csv"), cur).expect("cur");
    cfg.join("driftdeck.toml")
}

#[test]
fn runs_report_counters_timings_and_gauges_with_tags() {
    let dir = tempfile::tempdir().expect("tmp");
    let toml = workspace(dir.path());
    let no_env = |_: &str| None;
    let config = driftdeck::config::load_from(&toml, &no_env).expect("config");
    let mut ws = Workspace::from_config(config).expect("workspace");
    assert_eq!(
        ws.ctx.metrics.describe(),
        "none",
        "[metrics] defaults to none"
    );
    let recorder = Arc::new(Recorder::default());
    ws.ctx.metrics = recorder.clone();
    let job = ws.job("m1").expect("job");
    let request = |date: &str| RunRequest {
        date: date.parse().expect("date"),
        action: RunAction::Backfill,
        triggered_by: "test".into(),
        run_id: None,
        log_path: None,
    };

    let outcome = run_model(&ws.ctx, job, &request("2024-05-01")).expect("run");
    let calls = recorder.take();
    let tag = "m1/vs/backfill";
    assert_eq!(
        calls,
        [
            format!("count run.started 1 {tag}"),
            format!("count run.attempt 1 {tag}"),
            format!("timing run.attempt.duration d {tag}"),
            format!("count run.succeeded 1 {tag}"),
            format!("gauge psi {:.6} {tag}", outcome.result.psi_score),
            format!("gauge csi.max {:.6} {tag}", outcome.result.csi_score),
        ]
    );
    assert!(outcome.result.psi_score > 0.0);

    // No current file for this date: two attempts, then one failure.
    run_model(&ws.ctx, job, &request("2024-05-02")).expect_err("no current data");
    let calls = recorder.take();
    assert_eq!(
        calls,
        [
            format!("count run.started 1 {tag}"),
            format!("count run.attempt 1 {tag}"),
            format!("timing run.attempt.duration d {tag}"),
            format!("count run.attempt 1 {tag}"),
            format!("timing run.attempt.duration d {tag}"),
            format!("count run.failed 1 {tag}"),
        ]
    );
}

#[test]
fn the_outbox_reports_a_typed_error_naming_its_file() {
    let dir = tempfile::tempdir().expect("tmp");
    // The outbox's directory is a file: nothing can be created there.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, "x").expect("write");
    let outbox = OutboxNotifier::new(blocked.join("notifications.jsonl"));
    let note = Notification {
        at: chrono::Utc::now(),
        subject: "s".into(),
        body: "b".into(),
        email: vec![],
        slack: None,
    };
    let err = outbox.notify(&note).expect_err("blocked");
    assert!(matches!(err, NotifyError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("blocked"), "{err}");
    // A writable place works and appends one JSON line per notification.
    let ok = OutboxNotifier::new(dir.path().join("out/notifications.jsonl"));
    ok.notify(&note).expect("first");
    ok.notify(&note).expect("second");
    let text = std::fs::read_to_string(ok.path()).expect("read");
    assert_eq!(text.lines().count(), 2);
}
