//! The `Orchestrator` contract suite: what every backend (local runner today, the Kubernetes
//! runner next) must do, written against `&dyn Orchestrator` only. A backend instantiates it
//! with a [`Harness`] whose jobs follow one convention, by model id prefix:
//! `ok*` prints `args: …` and exits 0, `fail*` prints `failing on purpose` and exits 3,
//! `tick*` prints `tick 1` … `tick 20` 50 ms apart, `slow*` runs ~300 ms, `hang*` runs until
//! cancelled (at most 60 s).
//!
//! Instantiated here against the real [`LocalRunner`] with a shell script as the job program,
//! and against the console's test fake (`console::fixture::FixtureOrchestrator`), which plays the
//! same convention in memory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use driftdeck::domain::ModelId;
use driftdeck::orchestrator::{
    JobEvent, JobId, JobInfo, JobRequest, JobSpec, JobState, LocalRunner, LocalRunnerConfig,
    LogOptions, LogRef, Orchestrator, OrchestratorError,
};
use futures::StreamExt;
use tokio::sync::broadcast;

/// A backend under test.
struct Harness {
    orchestrator: Arc<dyn Orchestrator>,
    /// The backend's bound on jobs running at once; `None` for a backend that starts every
    /// single run at once (Kubernetes: the cluster's quotas bound them, only a backfill's Jobs
    /// are bounded by the backend), where the suite checks that they all run and succeed.
    concurrency: Option<usize>,
}

/// Generous deadline for anything the suite waits for (a deadline, not a timing assertion).
const DEADLINE: Duration = Duration::from_secs(60);

fn request(model: &str) -> JobRequest {
    JobRequest {
        spec: JobSpec::Run {
            model: ModelId::new(model).expect("model id"),
            date: NaiveDate::from_ymd_opt(2013, 2, 1),
        },
        triggered_by: "contract".to_string(),
    }
}

async fn until_final(rx: &mut broadcast::Receiver<JobEvent>, id: &JobId) -> JobInfo {
    finals(rx, std::slice::from_ref(id))
        .await
        .remove(id)
        .expect("final snapshot")
}

/// The final snapshot of every job in `ids` (events of several jobs interleave).
async fn finals(rx: &mut broadcast::Receiver<JobEvent>, ids: &[JobId]) -> HashMap<JobId, JobInfo> {
    let mut done = HashMap::new();
    tokio::time::timeout(DEADLINE, async {
        while done.len() < ids.len() {
            let ev = rx.recv().await.expect("job events");
            if ids.contains(&ev.job.id) && ev.job.state.is_final() {
                done.insert(ev.job.id.clone(), ev.job);
            }
        }
    })
    .await
    .expect("jobs reach a final state");
    done
}

async fn until_state(rx: &mut broadcast::Receiver<JobEvent>, id: &JobId, state: JobState) {
    tokio::time::timeout(DEADLINE, async {
        loop {
            let ev = rx.recv().await.expect("job events");
            if &ev.job.id == id && ev.job.state == state {
                return;
            }
        }
    })
    .await
    .expect("job reaches the state");
}

async fn all_lines(o: &dyn Orchestrator, log: &LogRef, tail: Option<usize>) -> Vec<String> {
    let options = LogOptions {
        follow: false,
        tail,
        since: None,
    };
    tokio::time::timeout(DEADLINE, o.logs(log, options).collect::<Vec<_>>())
        .await
        .expect("a non-following log stream ends")
        .into_iter()
        .map(|l| l.expect("log line"))
        .collect()
}

/// Runs every check of the contract against one backend.
async fn contract(h: Harness) {
    let o = h.orchestrator.as_ref();
    submit_list_job_and_events(o).await;
    logs_tail_and_follow(o).await;
    cancel_and_unknown_ids(o).await;
    concurrency_is_bounded(o, h.concurrency).await;
}

async fn submit_list_job_and_events(o: &dyn Orchestrator) {
    let mut rx = o.subscribe();
    let ok = o.submit(request("ok_model")).await.expect("submit ok");
    assert_eq!(ok.state, JobState::Queued, "a new job is queued");
    assert_eq!(ok.triggered_by, "contract");
    let bad = o.submit(request("fail_model")).await.expect("submit fail");
    assert_ne!(ok.id, bad.id, "ids are unique");

    let mut done = finals(&mut rx, &[ok.id.clone(), bad.id.clone()]).await;
    let ok_done = done.remove(&ok.id).expect("ok");
    assert_eq!(ok_done.state, JobState::Succeeded);
    assert!(ok_done.started_at.is_some() && ok_done.finished_at.is_some());
    let bad_done = done.remove(&bad.id).expect("bad");
    assert_eq!(bad_done.state, JobState::Failed);
    assert_eq!(bad_done.exit_code, Some(3));

    // job() and list() agree with the events; list is newest submission first.
    assert_eq!(o.job(ok.id.clone()).await.expect("job"), ok_done);
    let listed = o.list().await.expect("list");
    let pos = |id: &JobId| listed.iter().position(|j| &j.id == id).expect("listed");
    assert!(pos(&bad.id) < pos(&ok.id), "newest first");
    for w in listed.windows(2) {
        assert!(w[0].submitted_at >= w[1].submitted_at);
    }

    // An invalid request is refused before anything starts.
    let invalid = JobRequest {
        spec: JobSpec::Backfill {
            model: ModelId::new("ok_model").expect("id"),
            from: NaiveDate::from_ymd_opt(2013, 2, 2).expect("date"),
            to: NaiveDate::from_ymd_opt(2013, 2, 1).expect("date"),
            only_missing: false,
        },
        triggered_by: "contract".into(),
    };
    assert!(matches!(
        o.submit(invalid).await,
        Err(OrchestratorError::InvalidRequest(_))
    ));
}

async fn logs_tail_and_follow(o: &dyn Orchestrator) {
    let mut rx = o.subscribe();
    let bad = o.submit(request("fail_model")).await.expect("submit");
    until_final(&mut rx, &bad.id).await;
    let lines = all_lines(o, &bad.log, None).await;
    assert!(
        lines.iter().any(|l| l.contains("failing on purpose")),
        "{lines:?}"
    );
    // tail = N: exactly the last N lines.
    let last = all_lines(o, &bad.log, Some(1)).await;
    assert_eq!(last.as_slice(), &lines[lines.len() - 1..]);
    assert!(all_lines(o, &bad.log, Some(0)).await.is_empty());

    // follow: a stream opened while the job runs receives lines written later, in order.
    let ticking = o.submit(request("tick_model")).await.expect("submit");
    until_state(&mut rx, &ticking.id, JobState::Running).await;
    let follow = LogOptions {
        follow: true,
        tail: Some(0),
        since: None,
    };
    let mut stream = o.logs(&ticking.log, follow);
    let mut seen = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        while let Some(item) = stream.next().await {
            let Ok(line) = item else { continue };
            if line.starts_with("tick ") {
                seen.push(line.clone());
            }
            if line == "tick 20" {
                break;
            }
        }
    })
    .await
    .expect("followed lines arrive");
    drop(stream);
    assert!(!seen.is_empty() && seen.last().map(String::as_str) == Some("tick 20"));
    let numbers: Vec<u32> = seen
        .iter()
        .filter_map(|l| l.strip_prefix("tick ")?.parse().ok())
        .collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    until_final(&mut rx, &ticking.id).await;
}

async fn cancel_and_unknown_ids(o: &dyn Orchestrator) {
    let mut rx = o.subscribe();
    let hang = o.submit(request("hang_model")).await.expect("submit");
    until_state(&mut rx, &hang.id, JobState::Running).await;
    o.cancel(hang.id.clone()).await.expect("cancel");
    let done = until_final(&mut rx, &hang.id).await;
    assert_eq!(done.state, JobState::Cancelled);
    // Cancelling a finished job is a no-op returning its snapshot.
    assert_eq!(
        o.cancel(hang.id.clone()).await.expect("again").state,
        JobState::Cancelled
    );

    let unknown = JobId::new("run-nobody-20130201-0-0").expect("id");
    assert!(matches!(
        o.job(unknown.clone()).await,
        Err(OrchestratorError::UnknownJob(_))
    ));
    assert!(matches!(
        o.cancel(unknown).await,
        Err(OrchestratorError::UnknownJob(_))
    ));
    // A log reference of another backend: one error item, then the end.
    let foreign = LogRef::new("other-backend:somewhere/else");
    let items = tokio::time::timeout(
        DEADLINE,
        o.logs(&foreign, LogOptions::default()).collect::<Vec<_>>(),
    )
    .await
    .expect("ends");
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(matches!(
        items[0],
        Err(OrchestratorError::InvalidRequest(_))
    ));
}

async fn concurrency_is_bounded(o: &dyn Orchestrator, bound: Option<usize>) {
    let mut rx = o.subscribe();
    let mut ids = Vec::new();
    for _ in 0..bound.unwrap_or(2) + 2 {
        ids.push(o.submit(request("slow_model")).await.expect("submit").id);
    }
    let mut running: HashMap<JobId, bool> = HashMap::new();
    let mut peak = 0;
    let mut finished = 0;
    tokio::time::timeout(DEADLINE, async {
        while finished < ids.len() {
            let ev = rx.recv().await.expect("events");
            if !ids.contains(&ev.job.id) {
                continue;
            }
            match ev.job.state {
                JobState::Running => {
                    running.insert(ev.job.id.clone(), true);
                }
                s if s.is_final() => {
                    assert_eq!(s, JobState::Succeeded);
                    running.remove(&ev.job.id);
                    finished += 1;
                }
                _ => {}
            }
            peak = peak.max(running.len());
        }
    })
    .await
    .expect("all finish");
    if let Some(bound) = bound {
        assert!(peak <= bound, "{peak} running at once, bound {bound}");
    }
    assert!(peak >= 1);
}

// ---- instantiation: the local runner ----

fn job_script() -> &'static str {
    r#"echo "args: $*"
model=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--model" ]; then model=$2; fi
  shift
done
case "$model" in
  fail*) echo "failing on purpose"; exit 3 ;;
  tick*) i=1; while [ $i -le 20 ]; do echo "tick $i"; sleep 0.05; i=$((i+1)); done ;;
  slow*) sleep 0.3 ;;
  hang*) i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done ;;
esac
exit 0
"#
}

fn local_config(dir: &Path, concurrency: usize) -> LocalRunnerConfig {
    let mut cfg = LocalRunnerConfig::new("/bin/sh", dir.join("logs"), concurrency);
    cfg.program_args = vec!["-c".into(), job_script().into(), "contractjob".into()];
    cfg.poll_interval = Duration::from_millis(50);
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_runner_meets_the_orchestrator_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runner = LocalRunner::open(local_config(dir.path(), 2)).expect("runner");
    contract(Harness {
        orchestrator: Arc::new(runner),
        concurrency: Some(2),
    })
    .await;
}

// ---- instantiation: the console's test fake ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_orchestrator_meets_the_orchestrator_contract() {
    contract(Harness {
        orchestrator: Arc::new(driftdeck::console::fixture::FixtureOrchestrator::new(2)),
        concurrency: Some(2),
    })
    .await;
}

/// Local detail kept out of the trait: references written by older versions (plain file paths)
/// still resolve, relative ones against the log directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_runner_reads_legacy_path_references() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runner = LocalRunner::open(local_config(dir.path(), 1)).expect("runner");
    std::fs::write(dir.path().join("logs/old.log"), "one\ntwo\n").expect("write");
    let abs = LogRef::new(dir.path().join("logs/old.log").display().to_string());
    assert_eq!(all_lines(&runner, &abs, None).await, ["one", "two"]);
    assert_eq!(
        all_lines(&runner, &LogRef::new("old.log"), None).await,
        ["one", "two"]
    );
    // A local reference that is not a job id is refused, not resolved to some file.
    let items = runner
        .logs(
            &LogRef::new("local:../../etc/passwd"),
            LogOptions::default(),
        )
        .collect::<Vec<_>>()
        .await;
    assert!(matches!(
        items.as_slice(),
        [Err(OrchestratorError::InvalidRequest(_))]
    ));
    // A missing file is an error item; a non-following stream then ends.
    let items = runner
        .logs(&LogRef::new("missing.log"), LogOptions::default())
        .collect::<Vec<_>>()
        .await;
    assert!(
        matches!(items.as_slice(), [Err(OrchestratorError::Io { .. })]),
        "{items:?}"
    );
}

/// The console's fallback when no orchestrator is configured: every call is a clear
/// `Unavailable` error naming the config section, never a hang.
#[tokio::test]
async fn no_orchestrator_refuses_every_call_as_unavailable() {
    use driftdeck::orchestrator::NoOrchestrator;
    let o: &dyn Orchestrator = &NoOrchestrator;
    let unavailable = |r: Result<JobInfo, OrchestratorError>| matches!(r, Err(OrchestratorError::Unavailable(m)) if m.contains("[orchestrator]"));
    assert!(unavailable(o.submit(request("ok_model")).await));
    assert!(unavailable(o.job(JobId::new("run-x-1").expect("id")).await));
    assert!(unavailable(
        o.cancel(JobId::new("run-x-1").expect("id")).await
    ));
    assert!(matches!(
        o.list().await,
        Err(OrchestratorError::Unavailable(_))
    ));
    let items = o
        .logs(&LogRef::new("local:run-x-1"), LogOptions::default())
        .collect::<Vec<_>>()
        .await;
    assert!(matches!(
        items.as_slice(),
        [Err(OrchestratorError::Unavailable(_))]
    ));
    assert!(matches!(
        o.subscribe().recv().await,
        Err(broadcast::error::RecvError::Closed)
    ));
}

// ---- instantiation: the Kubernetes runner against the fake API server ----

mod fake_kube;

/// The same contract through the real `kube::Client` and the fake API server: each Job gets a
/// simulated pod (tests/fake_kube `run_kubelet`) that behaves as the job script above does for
/// its model, so this checks the Kubernetes runner's mapping (Jobs, pods, watch, logs, delete),
/// not a cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_runner_meets_the_orchestrator_contract() {
    use driftdeck::orchestrator::kubernetes::{KubeBackend, KubeOrchestrator, KubernetesSettings};
    use fake_kube::{FakeKube, Script};
    let fake = FakeKube::start("contract").await;
    for model in [
        "ok_model",
        "fail_model",
        "tick_model",
        "slow_model",
        "hang_model",
    ] {
        fake.insert_cronjob(model, "contract-vs");
    }
    let kubelet = fake.run_kubelet(|job| {
        let model = job["metadata"]["labels"]["driftdeck.io/model"]
            .as_str()
            .unwrap_or("");
        let lines = |v: Vec<String>, every_ms: u64| Script::Succeed {
            lines: v,
            every: Duration::from_millis(every_ms),
        };
        if model.starts_with("fail") {
            Script::Fail {
                lines: vec!["failing on purpose".into()],
                exit_code: 3,
            }
        } else if model.starts_with("tick") {
            lines((1..=20).map(|i| format!("tick {i}")).collect(), 50)
        } else if model.starts_with("slow") {
            lines(vec!["working".into()], 300)
        } else if model.starts_with("hang") {
            Script::Hang
        } else {
            lines(Vec::new(), 0)
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let client = fake.client(dir.path()).await;
    let settings = KubernetesSettings {
        namespace: "contract".into(),
        ..Default::default()
    };
    let backend = KubeBackend::from_client(client, settings, "fake-ctx".into())
        .with_poll_interval(Duration::from_millis(20));
    let orchestrator = KubeOrchestrator::new(backend).expect("orchestrator");
    // the console header's place: kube context and namespace
    assert_eq!(
        orchestrator.location().as_deref(),
        Some("fake-ctx/contract")
    );
    contract(Harness {
        orchestrator: Arc::new(orchestrator),
        concurrency: None,
    })
    .await;
    kubelet.abort();
}
