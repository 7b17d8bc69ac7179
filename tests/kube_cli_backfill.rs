//! `driftdeck backfill --kubernetes` (the real binary) against the fake API server
//! (tests/fake_kube, kubeconfig through `KUBECONFIG`): one Job per date from the model's
//! CronJob, never more than `--concurrency` unfinished at once (checked each time a Job
//! appears), no Job for a date that already has an unfinished one; refused with the reason when
//! the configuration's orchestrator is not Kubernetes. The fake's kubelet stand-in completes
//! the backfill Jobs (no controller runs them for real).

mod fake_kube;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fake_kube::{FakeKube, Script};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_driftdeck");

fn driftdeck(args: &[&str], kubeconfig: Option<&std::path::Path>) -> (bool, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    if let Some(k) = kubeconfig {
        cmd.env("KUBECONFIG", k);
    }
    let out = cmd.output().expect("run driftdeck");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn unfinished(job: &Value) -> bool {
    let c = job["status"]["conditions"].to_string();
    !(c.contains("Complete") || c.contains("Failed"))
}

#[test]
fn cli_backfill_creates_bounded_jobs_and_skips_running_dates() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let ws_str = ws.to_str().unwrap().to_string();
    let (ok, out) = driftdeck(&["demo", "init", &ws_str], None);
    assert!(ok, "{out}");
    let local_config = ws.join("config/driftdeck.toml");
    let text = std::fs::read_to_string(&local_config).unwrap().replace(
        "kind = \"local\"\n# kind = \"local\": runs executed at once by the local runner and by `backfill` (>= 1). Default 2.\nconcurrency = 2\n# kind = \"local\": directory of per-run job logs. Default \"logs\".\nlog_dir = \"logs\"",
        "kind = \"kubernetes\"\nnamespace = \"model-monitoring\"\nconcurrency = 3",
    );
    assert!(
        text.contains("kind = \"kubernetes\""),
        "the demo config changed shape"
    );
    let kube_config = ws.join("config/kube.toml");
    std::fs::write(&kube_config, text).unwrap();
    let kube_config = kube_config.to_str().unwrap().to_string();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeKube::start("model-monitoring"));
    fake.apply_rendered_cronjobs();
    let kubeconfig = fake.kubeconfig(dir.path());
    // An unfinished Job for jfk_delay 2013-12-02 (someone's rerun, still running).
    let running = rt.block_on(async {
        let client = fake.client(dir.path()).await;
        let backend = driftdeck::orchestrator::kubernetes::KubeBackend::from_client(
            client,
            Default::default(),
            "fake-ctx".into(),
        );
        backend
            .rerun(
                "jfk_delay",
                chrono::NaiveDate::from_ymd_opt(2013, 12, 2).unwrap(),
                "ana",
            )
            .await
            .unwrap()
    });
    // The kubelet stand-in: the rerun hangs; each backfill Job logs for a while, then
    // completes. On each new backfill Job: how many other backfill Jobs were unfinished?
    let max_other_unfinished = Arc::new(AtomicUsize::new(0));
    let kubelet = {
        let _in = rt.enter();
        let fake2 = fake.clone();
        let max = max_other_unfinished.clone();
        fake.run_kubelet(move |job| {
            if job["metadata"]["labels"]["driftdeck.io/action"] != "backfill" {
                return Script::Hang;
            }
            let me = job["metadata"]["name"].clone();
            let others = fake2
                .list("jobs")
                .into_iter()
                .filter(|j| {
                    j["metadata"]["labels"]["driftdeck.io/action"] == "backfill"
                        && j["metadata"]["name"] != me
                        && unfinished(j)
                })
                .count();
            max.fetch_max(others, Ordering::SeqCst);
            Script::Succeed {
                lines: vec!["computing".into(); 3],
                every: Duration::from_millis(100),
            }
        })
    };

    let (ok, out) = driftdeck(
        &[
            "--config",
            &kube_config,
            "backfill",
            "--model",
            "jfk_delay",
            "--from",
            "2013-12-01",
            "--to",
            "2013-12-06",
            "--concurrency",
            "2",
            "--kubernetes",
        ],
        Some(&kubeconfig),
    );
    assert!(ok, "{out}");
    assert!(out.contains("at most 2 Jobs in flight"), "{out}");
    assert!(
        out.contains("5 Job(s) created, 1 skipped"),
        "one Job per date except the running one:\n{out}"
    );
    assert!(
        out.contains(&format!("2013-12-02: skipped, Job {running} is")),
        "{out}"
    );
    let mut dates: Vec<String> = fake
        .list("jobs")
        .into_iter()
        .filter(|j| j["metadata"]["labels"]["driftdeck.io/action"] == "backfill")
        .map(|j| {
            assert_eq!(j["metadata"]["ownerReferences"][0]["kind"], "CronJob");
            j["metadata"]["labels"]["driftdeck.io/calculation-date"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    dates.sort();
    assert_eq!(
        dates,
        [
            "2013-12-01",
            "2013-12-03",
            "2013-12-04",
            "2013-12-05",
            "2013-12-06"
        ]
    );
    let max = max_other_unfinished.load(Ordering::SeqCst);
    assert!(
        max <= 1,
        "a Job was created while {max} others were unfinished (limit 2)"
    );

    // The workspace's own configuration runs jobs locally: refused, with the reason.
    let (ok, out) = driftdeck(
        &[
            "--config",
            local_config.to_str().unwrap(),
            "backfill",
            "--model",
            "jfk_delay",
            "--from",
            "2013-12-01",
            "--to",
            "2013-12-02",
            "--kubernetes",
        ],
        Some(&kubeconfig),
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("backfill --kubernetes needs [orchestrator] kind = \"kubernetes\""),
        "{out}"
    );
    kubelet.abort();
}
