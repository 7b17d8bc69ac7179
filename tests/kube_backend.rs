//! The Kubernetes backend driven through the real `kube::Client` against the fake API server
//! (tests/fake_kube: real HTTP on 127.0.0.1, a generated kubeconfig). The fake has no Job
//! controller: its hooks (`start_pod`, `complete_job`, `fail_job`, `pod_waiting`, `log`) stand in
//! for it, so these tests check the client side (requests, mapping, bounds), not the cluster.

mod fake_kube;

use std::time::Duration;

use chrono::NaiveDate;
use driftdeck::orchestrator::kubernetes::{
    KubeBackend, KubeError, KubernetesSettings, LogOptions, RunPhase, WatchSignal, names,
};
use fake_kube::FakeKube;
use futures::StreamExt;
use serde_json::Value;

const NS: &str = "model-monitoring";

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

struct Env {
    fake: FakeKube,
    backend: KubeBackend,
    _dir: tempfile::TempDir,
}

async fn env(concurrency: usize) -> Env {
    let fake = FakeKube::start(NS).await;
    let dir = tempfile::tempdir().unwrap();
    let client = fake.client(dir.path()).await;
    let settings = KubernetesSettings {
        concurrency,
        ..Default::default()
    };
    let backend = KubeBackend::from_client(client, settings, "fake-ctx".into())
        .with_poll_interval(Duration::from_millis(20));
    fake.apply_rendered_cronjobs();
    Env {
        fake,
        backend,
        _dir: dir,
    }
}

#[tokio::test]
async fn discovery_lists_cronjobs_with_schedule_and_suspend() {
    let e = env(4).await;
    let cjs = e.backend.cronjobs().await.unwrap();
    let models: Vec<_> = cjs.iter().filter_map(|c| c.model.clone()).collect();
    assert_eq!(models.len(), 6, "{cjs:?}");
    assert!(models.contains(&"jfk_delay".to_string()));
    let jfk = cjs
        .iter()
        .find(|c| c.model.as_deref() == Some("jfk_delay"))
        .unwrap();
    assert_eq!(jfk.value_stream.as_deref(), Some("airports"));
    assert!(!jfk.suspended);
    let next = jfk.next_schedule.expect("next schedule");
    assert!(next > chrono::Utc::now() && next < chrono::Utc::now() + chrono::Duration::days(1));
    assert!(
        cjs.iter()
            .any(|c| c.name == names::REFRESH_CRONJOB && c.model.is_none())
    );

    e.backend.set_suspended("jfk_delay", true).await.unwrap();
    let obj = e.fake.get("cronjobs", &jfk.name).unwrap();
    assert_eq!(obj["spec"]["suspend"], Value::Bool(true));
    let cjs = e.backend.cronjobs().await.unwrap();
    let jfk = cjs
        .iter()
        .find(|c| c.model.as_deref() == Some("jfk_delay"))
        .unwrap();
    assert!(jfk.suspended && jfk.next_schedule.is_none());
    e.backend.set_suspended("jfk_delay", false).await.unwrap();
    assert_eq!(
        e.fake.get("cronjobs", &jfk.name).unwrap()["spec"]["suspend"],
        Value::Bool(false)
    );
    // the list used the label selector (URL as kube-rs sends it)
    assert!(
        e.fake
            .requests()
            .iter()
            .any(|r| r.contains("labelSelector=app.kubernetes.io%2Fname%3Ddriftdeck")),
        "{:?}",
        e.fake.requests()
    );
}

#[tokio::test]
async fn rerun_creates_the_job_then_status_and_logs_follow_the_pod() {
    let e = env(4).await;
    let name = e
        .backend
        .rerun("jfk_delay", date("2013-07-01"), "ana")
        .await
        .unwrap();
    assert!(name.starts_with("jfk-delay-rerun-20130701-"), "{name}");
    let job = e.fake.get("jobs", &name).unwrap();
    assert_eq!(
        job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    assert_eq!(
        job["metadata"]["labels"]["driftdeck.io/calculation-date"],
        "2013-07-01"
    );
    let args = &job["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(args[3], "--date");
    assert_eq!(args[4], "2013-07-01");

    let runs = e.backend.runs().await.unwrap();
    let run = runs.iter().find(|r| r.name == name).unwrap();
    assert_eq!(run.status.phase, RunPhase::Pending);
    assert_eq!(run.date, Some(date("2013-07-01")));
    assert_eq!(run.action, "rerun");
    assert_eq!(run.triggered_by, "ana");

    let pod = e.fake.start_pod(&name);
    e.fake.log(&pod, "line one");
    e.fake.log(&pod, "line two");
    let runs = e.backend.runs().await.unwrap();
    let run = runs.iter().find(|r| r.name == name).unwrap();
    assert_eq!(run.status.phase, RunPhase::Running);
    assert_eq!(run.pods, vec![pod.clone()]);

    let follow = LogOptions {
        follow: true,
        ..Default::default()
    };
    let mut stream = Box::pin(e.backend.logs(&name, &follow).await.unwrap());
    assert_eq!(stream.next().await.unwrap().unwrap(), "line one");
    assert_eq!(stream.next().await.unwrap().unwrap(), "line two");
    e.fake.log(&pod, "line three, appended while following");
    let third = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert_eq!(
        third.unwrap().unwrap(),
        "line three, appended while following"
    );
    e.fake.complete_job(&name);
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(end.is_none(), "the stream ends with the pod");

    let tail = LogOptions {
        tail_lines: Some(1),
        ..Default::default()
    };
    let last: Vec<_> = e.backend.logs(&name, &tail).await.unwrap().collect().await;
    assert_eq!(
        last,
        vec![Ok("line three, appended while following".to_string())]
    );

    let runs = e.backend.runs().await.unwrap();
    let run = runs.iter().find(|r| r.name == name).unwrap();
    assert_eq!(run.status.phase, RunPhase::Succeeded);
    assert!(run.status.finished_at.is_some());

    // a second rerun of the same date is a new Job (deterministic, different suffix)
    let again = e
        .backend
        .rerun("jfk_delay", date("2013-07-01"), "ana")
        .await
        .unwrap();
    assert_ne!(again, name);
    assert_eq!(
        again,
        names::job_name("jfk_delay", "rerun", Some("2013-07-01"), 1)
    );
}

#[tokio::test]
async fn failures_carry_their_reason() {
    let e = env(4).await;
    let oom = e
        .backend
        .rerun("ewr_delay", date("2013-08-01"), "ana")
        .await
        .unwrap();
    e.fake.start_pod(&oom);
    e.fake.fail_job(&oom, "OOMKilled");
    let pull = e
        .backend
        .rerun("lga_delay", date("2013-08-01"), "ana")
        .await
        .unwrap();
    e.fake.start_pod(&pull);
    e.fake.pod_waiting(&pull, "ImagePullBackOff");
    let runs = e.backend.runs().await.unwrap();
    let get = |n: &str| runs.iter().find(|r| r.name == n).unwrap().status.clone();
    assert_eq!(get(&oom).phase, RunPhase::Failed);
    assert_eq!(
        get(&oom).reason.as_deref(),
        Some("BackoffLimitExceeded: OOMKilled")
    );
    assert_eq!(get(&pull).phase, RunPhase::Failed);
    assert_eq!(get(&pull).reason.as_deref(), Some("ImagePullBackOff"));
    // no pod yet → NoPod, not a hang
    let fresh = e
        .backend
        .rerun("lga_delay", date("2013-08-02"), "ana")
        .await
        .unwrap();
    let err = e
        .backend
        .logs(&fresh, &LogOptions::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, KubeError::NoPod(_)), "{err}");
}

#[tokio::test]
async fn api_errors_are_typed_403_404_409_and_outage() {
    let e = env(4).await;
    // 409: the name this rerun picks exists already (someone else created it just now)
    let taken = names::job_name("jfk_delay", "rerun", Some("2013-07-02"), 0);
    e.fake.insert(
        "jobs",
        serde_json::json!({"metadata": {"name": taken}, "spec": {"template": {}}}),
    );
    let err = e
        .backend
        .rerun("jfk_delay", date("2013-07-02"), "ana")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(409), "{err}");
    assert!(err.to_string().contains("AlreadyExists"), "{err}");
    // 404 → NoCronJob naming the model and namespace
    let err = e
        .backend
        .rerun("no_such_model", date("2013-07-02"), "ana")
        .await
        .unwrap_err();
    assert!(matches!(err, KubeError::NoCronJob { .. }), "{err}");
    assert!(err.to_string().contains("no_such_model") && err.to_string().contains(NS));
    // 403 with the API server's message
    e.fake.forbid("create", "jobs");
    let err = e
        .backend
        .rerun("jfk_delay", date("2013-07-03"), "ana")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(403));
    assert!(err.to_string().contains("cannot create resource"), "{err}");
    // outage: nothing listens
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let config = kube::Config::new(format!("http://{dead}").parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let b = KubeBackend::from_client(client, KubernetesSettings::default(), "gone".into());
    let err = b.runs().await.unwrap_err();
    assert!(matches!(err, KubeError::Unreachable { .. }), "{err}");
}

#[tokio::test]
async fn backfill_bounds_jobs_in_flight_and_skips_running_dates() {
    let e = env(2).await;
    // a rerun of 2013-09-03 is still running: the backfill must not add a second Job for it
    let running = e
        .backend
        .rerun("jfk_delay", date("2013-09-03"), "ana")
        .await
        .unwrap();
    e.fake.start_pod(&running);

    // controller stand-in: completes backfill Jobs a little after they appear, records the
    // most backfill Jobs unfinished at once
    let fake = e.fake.clone();
    let controller = tokio::spawn(async move {
        let mut max_in_flight = 0;
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..500 {
            let open: Vec<String> = fake
                .list("jobs")
                .iter()
                .filter(|j| j["metadata"]["labels"]["driftdeck.io/action"] == "backfill")
                .filter(|j| j["status"]["conditions"].is_null())
                .filter_map(|j| j["metadata"]["name"].as_str().map(str::to_string))
                .collect();
            max_in_flight = max_in_flight.max(open.len());
            for name in &open {
                if seen.contains(name) {
                    fake.start_pod(name);
                    fake.complete_job(name);
                } else {
                    seen.push(name.clone());
                }
            }
            if seen.len() == 5 && open.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        max_in_flight
    });
    let dates: Vec<NaiveDate> = (1..=6).map(|d| date(&format!("2013-09-0{d}"))).collect();
    let report = e
        .backend
        .backfill("jfk_delay", &dates, "ana")
        .await
        .unwrap();
    let max_in_flight = controller.await.unwrap();
    assert_eq!(report.created.len(), 5, "{report:?}");
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    assert_eq!(report.skipped[0].0, date("2013-09-03"));
    assert!(report.failed.is_empty());
    assert!(
        max_in_flight <= 2,
        "at most 2 in flight, saw {max_in_flight}"
    );
    assert!(max_in_flight >= 1);
    let jobs_for_3 = e
        .fake
        .list("jobs")
        .iter()
        .filter(|j| j["metadata"]["labels"]["driftdeck.io/calculation-date"] == "2013-09-03")
        .count();
    assert_eq!(jobs_for_3, 1);
}

#[tokio::test]
async fn refresh_uses_the_refresh_cronjob_with_the_selection() {
    let e = env(4).await;
    let name = e
        .backend
        .refresh(None, Some("airports"), false, "admin")
        .await
        .unwrap();
    let job = e.fake.get("jobs", &name).unwrap();
    assert_eq!(
        job["metadata"]["ownerReferences"][0]["name"],
        names::REFRESH_CRONJOB
    );
    assert_eq!(job["metadata"]["labels"]["driftdeck.io/action"], "refresh");
    assert_eq!(
        job["metadata"]["labels"]["driftdeck.io/value-stream"],
        "airports"
    );
    let env = &job["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(env[2]["name"], "DRIFTDECK_JOB_LOG");
    assert_eq!(
        env[2]["value"],
        "k8s:model-monitoring/job/$(DRIFTDECK_K8S_JOB)"
    );
    let args = &job["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(
        args,
        &serde_json::json!([
            "refresh-benchmarks",
            "--value-stream",
            "airports",
            "--triggered-by",
            "admin",
            "--run-id",
            name
        ])
    );
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["secretRef"]["name"],
        "snowflake-credentials"
    );
}

async fn next(rx: &mut tokio::sync::mpsc::Receiver<WatchSignal>) -> WatchSignal {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a watch signal within 10 s")
        .expect("watch open")
}

#[tokio::test]
async fn watch_reports_changes_and_relists_after_410() {
    let e = env(4).await;
    let mut rx = e.backend.watch();
    assert!(matches!(next(&mut rx).await, WatchSignal::Listed { .. }));
    let name = e
        .backend
        .rerun("jfk_delay", date("2013-10-01"), "ana")
        .await
        .unwrap();
    match next(&mut rx).await {
        WatchSignal::Changed { name: n, status } => {
            assert_eq!(n, name);
            assert_eq!(status.unwrap().phase, RunPhase::Pending);
        }
        other => panic!("expected Changed, got {other:?}"),
    }
    // history compacted, then the connection drops: the reconnect gets 410 and lists again
    e.fake.compact();
    e.fake.close_watches();
    assert_eq!(next(&mut rx).await, WatchSignal::Expired);
    assert!(matches!(next(&mut rx).await, WatchSignal::Listed { .. }));
    e.fake.start_pod(&name);
    e.fake.complete_job(&name);
    loop {
        if let WatchSignal::Changed {
            status: Some(s), ..
        } = next(&mut rx).await
            && s.phase == RunPhase::Succeeded
        {
            break;
        }
    }
    let watches = e
        .fake
        .requests()
        .iter()
        .filter(|r| r.contains("watch=true"))
        .count();
    assert!(watches >= 2, "reconnected: {watches}");
}

/// A backfill through the Orchestrator trait: a parent job whose Jobs (one per date) stay within
/// `concurrency` in flight, whose log lists them, and which ends when they have; the planner
/// (jobs/ in production) chooses the dates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orchestrator_backfill_is_a_parent_of_bounded_jobs() {
    use driftdeck::domain::ModelId;
    use driftdeck::orchestrator::kubernetes::KubeOrchestrator;
    use driftdeck::orchestrator::{JobRequest, JobSpec, JobState, Orchestrator};
    use fake_kube::Script;

    let e = env(2).await;
    let kubelet = e.fake.run_kubelet(|_| Script::Succeed {
        lines: vec!["computing".into()],
        every: Duration::from_millis(150),
    });
    // the most backfill Jobs unfinished at once, sampled until told to stop
    let fake = e.fake.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_sampling = stop.clone();
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        while !stop_sampling.load(std::sync::atomic::Ordering::Relaxed) {
            let open = fake
                .list("jobs")
                .iter()
                .filter(|j| j["metadata"]["labels"]["driftdeck.io/action"] == "backfill")
                .filter(|j| j["status"]["conditions"].is_null())
                .count();
            peak = peak.max(open);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        peak
    });
    let planner_calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let calls = planner_calls.clone();
    let o = KubeOrchestrator::new(e.backend.clone())
        .unwrap()
        .with_planner(std::sync::Arc::new(move |_, from, to, only_missing| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let all: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
            // "only missing": pretend every other date is stored already
            if only_missing {
                all.into_iter().step_by(2).collect()
            } else {
                all
            }
        }));
    let mut rx = o.subscribe();
    let parent = o
        .submit(JobRequest {
            spec: JobSpec::Backfill {
                model: ModelId::new("jfk_delay").unwrap(),
                from: date("2013-09-01"),
                to: date("2013-09-05"),
                only_missing: false,
            },
            triggered_by: "ana".into(),
        })
        .await
        .unwrap();
    assert_eq!(parent.state, JobState::Queued);
    assert!(
        parent
            .id
            .as_str()
            .starts_with("backfill-jfk-delay-20130901-20130905-"),
        "{}",
        parent.id
    );
    let done = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let ev = rx.recv().await.unwrap();
            if ev.job.id == parent.id && ev.job.state.is_final() {
                return ev.job;
            }
        }
    })
    .await
    .expect("the backfill ends");
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.note);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.unwrap();
    assert!(
        (1..=2).contains(&peak),
        "{peak} backfill Jobs in flight, bound 2"
    );
    let dates: std::collections::BTreeSet<String> = e
        .fake
        .list("jobs")
        .iter()
        .filter(|j| j["metadata"]["labels"]["driftdeck.io/action"] == "backfill")
        .map(|j| {
            j["metadata"]["labels"]["driftdeck.io/calculation-date"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(dates.len(), 5);
    let lines: Vec<String> = o
        .logs(&parent.log, driftdeck::orchestrator::LogOptions::default())
        .map(|l| l.unwrap())
        .collect()
        .await;
    assert_eq!(
        lines.iter().filter(|l| l.contains("created Job")).count(),
        5,
        "{lines:?}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .contains("5 Job(s) created, 5 succeeded"),
        "{lines:?}"
    );
    assert!(o.list().await.unwrap().iter().any(|j| j.id == parent.id));
    assert_eq!(o.job(parent.id.clone()).await.unwrap(), done);

    // only missing: the planner's dates only
    let second = o
        .submit(JobRequest {
            spec: JobSpec::Backfill {
                model: ModelId::new("ewr_delay").unwrap(),
                from: date("2013-10-01"),
                to: date("2013-10-04"),
                only_missing: true,
            },
            triggered_by: "ana".into(),
        })
        .await
        .unwrap();
    assert_eq!(second.note.as_deref(), Some("2 date(s) planned"));
    assert_eq!(planner_calls.load(std::sync::atomic::Ordering::Relaxed), 2);
    kubelet.abort();
}

/// Through the Orchestrator trait: Jobs that had ended before the console started raise no
/// events (they are history); a following log stream of a Job without a pod yet waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orchestrator_events_are_changes_and_logs_wait_for_the_pod() {
    use driftdeck::domain::ModelId;
    use driftdeck::orchestrator::kubernetes::KubeOrchestrator;
    use driftdeck::orchestrator::{JobRequest, JobSpec, JobState, LogOptions, Orchestrator};

    let e = env(4).await;
    let old = e
        .backend
        .rerun("jfk_delay", date("2013-06-01"), "ana")
        .await
        .unwrap();
    e.fake.start_pod(&old);
    e.fake.complete_job(&old);
    // created "before the console started" by more than the orchestrator's one-second margin
    e.fake.update_job_created(&old, "2020-01-01T00:00:00Z");

    let o = KubeOrchestrator::new(e.backend.clone()).unwrap();
    let mut rx = o.subscribe();
    let job = o
        .submit(JobRequest {
            spec: JobSpec::Run {
                model: ModelId::new("ewr_delay").unwrap(),
                date: Some(date("2013-06-02")),
            },
            triggered_by: "ana".into(),
        })
        .await
        .unwrap();
    assert_eq!(job.state, JobState::Queued);
    let follow = LogOptions {
        follow: true,
        tail: None,
        since: None,
    };
    let mut lines = o.logs(&job.log, follow);
    // no pod yet: the stream waits; the pod starts and logs, the stream delivers
    let pod = e.fake.start_pod(job.id.as_str());
    e.fake.log(&pod, "hello from the pod");
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next())
        .await
        .expect("a line once the pod exists");
    assert_eq!(first.unwrap().unwrap(), "hello from the pod");
    e.fake.complete_job(job.id.as_str());
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let ev = rx.recv().await.unwrap();
            assert_ne!(
                ev.job.id.as_str(),
                old,
                "an old, finished Job raised an event"
            );
            if ev.job.id == job.id && ev.job.state == JobState::Succeeded {
                break;
            }
        }
    })
    .await
    .expect("the new Job's events arrive");
}
