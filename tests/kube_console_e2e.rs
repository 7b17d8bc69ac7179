//! The console against the fake Kubernetes API server, in tmux: the real `driftdeck` binary with
//! `[orchestrator] kind = "kubernetes"` and a kubeconfig pointing at tests/fake_kube. The fake's
//! simulated kubelet runs each Job's container arguments with the real binary on a demo
//! workspace (its output is the pod log), so runs land in the workspace store as they would
//! from pods.
//!
//! Steps: a scheduled Job for jfk_delay 2013-11-30 fails (its benchmark path is broken for that
//! one pod); the console's header names the kube context and namespace; the failed run shows ✗
//! and its pod log is readable in the log pane; `r` + `y` creates a rerun Job (owner CronJob,
//! by the user), the simulated pod succeeds and the run turns ✓; `S` + `y` suspends the model's
//! CronJob (SUSP in the models table, `spec.suspend` on the server); `:ns` picks the other
//! namespace and `:ctx` the other context of the kubeconfig (the header follows), an unknown
//! context is refused with the reason; `q` quits with status 0.
//!
//! Needs tmux; without it the test is skipped with a message (CI's .ci/run installs tmux).

mod fake_kube;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use fake_kube::{FakeKube, Script};

const BIN: &str = env!("CARGO_BIN_EXE_driftdeck");
const SESSION: &str = "kube";
const USER: &str = "e2euser";
const STEP_DEADLINE: Duration = Duration::from_secs(60);

struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .env_remove("TMUX")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run tmux {args:?}: {e}"))
    }
    fn ok(&self, args: &[&str]) {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.ok(&args);
    }
    fn type_text(&self, text: &str) {
        self.ok(&["send-keys", "-t", SESSION, "-l", text]);
    }
    fn capture(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-t", SESSION, "-p"]).stdout)
            .into_owned()
    }
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < STEP_DEADLINE,
                "timed out waiting for {what}; last screen:\n{screen}"
            );
            sleep(Duration::from_millis(200));
        }
    }
    fn wait_text(&self, needles: &[&str]) -> String {
        self.wait_for(&format!("{needles:?}"), |s| {
            needles.iter().all(|n| s.contains(n))
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn driftdeck(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run driftdeck");
    assert!(
        out.status.success(),
        "driftdeck {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs-pane lines (left pane of the lower half) for `date`.
fn run_lines<'a>(screen: &'a str, date: &str) -> Vec<&'a str> {
    screen
        .lines()
        .skip_while(|l| !l.contains("5 Runs "))
        .skip(1)
        .map(|l| l.split('│').nth(1).unwrap_or(""))
        .filter(|l| l.starts_with(date))
        .collect()
}

#[test]
fn console_drives_kubernetes_through_the_fake_api_server() {
    let tmux_ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !tmux_ok {
        eprintln!("SKIPPED: tmux is not installed (CI's .ci/run installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let ws_str = ws.to_str().unwrap().to_string();
    driftdeck(&["demo", "init", &ws_str]);
    // The on-call story's late feed has arrived (README "On call"), so every demo run computes.
    std::fs::copy(
        driftdeck::demo::late_feed_path(&ws),
        ws.join("data/feeds/lowcost_delay/current_2013-11.csv"),
    )
    .expect("late feed in place");
    // The pods' configuration: the demo's, one attempt per run (no 300 s retry pause).
    let job_config = ws.join("config/driftdeck.toml");
    let text = std::fs::read_to_string(&job_config).unwrap();
    assert!(text.contains("attempts = 3"));
    std::fs::write(&job_config, text.replace("attempts = 3", "attempts = 1")).unwrap();
    let job_config_str = job_config.to_str().unwrap().to_string();
    let out = driftdeck(&[
        "--config",
        &job_config_str,
        "backfill",
        "--all",
        "--from",
        "2013-11-28",
        "--to",
        "2013-11-30",
    ]);
    assert!(out.contains("0 failed"), "{out}");
    // The console's configuration: the same workspace, jobs on Kubernetes.
    let console_config = ws.join("config/console.toml");
    let text = std::fs::read_to_string(&job_config).unwrap().replace(
        "kind = \"local\"\n# kind = \"local\": runs executed at once by the local runner and by `backfill` (>= 1). Default 2.\nconcurrency = 2\n# kind = \"local\": directory of per-run job logs. Default \"logs\".\nlog_dir = \"logs\"",
        "kind = \"kubernetes\"\nnamespace = \"model-monitoring\"",
    );
    assert!(
        text.contains("kind = \"kubernetes\""),
        "the demo config changed shape"
    );
    std::fs::write(&console_config, text).unwrap();

    // The fake API server with the rendered CronJobs and a kubelet that runs the real binary.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeKube::start("model-monitoring"));
    // Two contexts on the same fake: the console's `:ctx` / `:ns` switch between them.
    let kubeconfig = fake.kubeconfig_with(
        dir.path(),
        &[("fake-ctx", "model-monitoring"), ("fake-other", "other-ns")],
    );
    fake.namespaced("other-ns")
        .insert_cronjob("jfk_delay", "airports");
    let (client_dir, backend) = rt.block_on(async {
        let client_dir = tempfile::tempdir().unwrap();
        let client = fake.client(client_dir.path()).await;
        let backend = driftdeck::orchestrator::kubernetes::KubeBackend::from_client(
            client,
            Default::default(),
            "fake-ctx".into(),
        );
        (client_dir, backend)
    });
    fake.apply_rendered_cronjobs();
    let broke_once = Arc::new(AtomicBool::new(false));
    let prefix = vec!["--config".to_string(), job_config_str.clone()];
    let kubelet = {
        let _in_runtime = rt.enter();
        let broke_once = broke_once.clone();
        fake.run_kubelet(move |job| {
            let labels = &job["metadata"]["labels"];
            let first_failing = labels["driftdeck.io/triggered-by"] == "schedule"
                && !broke_once.swap(true, Ordering::SeqCst);
            Script::Exec {
                program: PathBuf::from(BIN),
                prefix: prefix.clone(),
                env: if first_failing {
                    vec![(
                        "MODEL_JFK_DELAY_BENCHMARKING_PATH".into(),
                        "/nonexistent/benchmark.csv".into(),
                    )]
                } else {
                    Vec::new()
                },
            }
        })
    };
    // The "scheduled" run of 2013-11-30 fails in its pod.
    let failed_job = rt
        .block_on(backend.rerun(
            "jfk_delay",
            chrono::NaiveDate::from_ymd_opt(2013, 11, 30).unwrap(),
            "schedule",
        ))
        .unwrap();
    let start = Instant::now();
    while fake.get("jobs", &failed_job).unwrap()["status"]["conditions"].is_null() {
        assert!(
            start.elapsed() < STEP_DEADLINE,
            "the failing pod did not end"
        );
        sleep(Duration::from_millis(100));
    }

    let tmux = Tmux {
        socket: dir.path().join("tmux.sock"),
    };
    let script = format!(
        "USER={USER} LOGNAME={USER} KUBECONFIG={} {} --config {}; echo EXIT=$?; exec sleep 600",
        sh_quote(kubeconfig.to_str().unwrap()),
        sh_quote(BIN),
        sh_quote(console_config.to_str().unwrap())
    );
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "160",
        "-y",
        "45",
        &format!("sh -c {}", sh_quote(&script)),
    ]);

    // 1. The header names the orchestrator, its kube context and namespace.
    tmux.wait_text(&["kubernetes fake-ctx/model-monitoring", "6 models"]);

    // 2. The failed run and its pod log.
    tmux.keys(&["/"]);
    tmux.type_text("jfk_delay");
    tmux.keys(&["Enter"]);
    tmux.wait_text(&["1 Models 1/6"]);
    tmux.keys(&["5", "Enter"]);
    let screen = tmux.wait_for("the failed run of 2013-11-30", |s| {
        run_lines(s, "2013-11-30")
            .iter()
            .any(|l| l.contains("FAIL"))
    });
    assert!(
        screen.contains("benchmark"),
        "the failure names its cause:\n{screen}"
    );
    // the log pane follows the failed run's pod log (its first line is the pod's arguments)
    tmux.wait_text(&[
        &format!("6 Log {failed_job}"),
        "args: run --model jfk_delay --date 2013-11-30 --triggered-by schedule",
    ]);

    // 3. Rerun from the keyboard: a Job from the CronJob, the pod succeeds, the run turns ✓.
    tmux.keys(&["r"]);
    tmux.wait_text(&["Confirm rerun", "2013-11-30"]);
    tmux.keys(&["y"]);
    // The console's user is the OS account (issue 11 #7), not the claimed $USER.
    let user = driftdeck::identity::os_user();
    let user = user.as_str();
    tmux.wait_for("the rerun succeeded (✓ by the user)", |s| {
        run_lines(s, "2013-11-30")
            .iter()
            .any(|l| l.contains("✓ ok") && l.contains(user))
    });
    let reruns: Vec<serde_json::Value> = fake
        .list("jobs")
        .into_iter()
        .filter(|j| j["metadata"]["labels"]["driftdeck.io/triggered-by"] == user)
        .collect();
    assert_eq!(reruns.len(), 1, "one Job created by the console");
    let job = &reruns[0];
    assert_eq!(
        job["metadata"]["labels"]["driftdeck.io/calculation-date"],
        "2013-11-30"
    );
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    assert!(job["status"]["conditions"].to_string().contains("Complete"));

    // 4. Suspend the model's CronJob from the console: confirm, then SUSP in the models table.
    tmux.keys(&["1", "S"]);
    tmux.wait_text(&["Confirm suspend", "jfk-delay-cronjob"]);
    tmux.keys(&["y"]);
    tmux.wait_for("SUSP on the jfk_delay row", |s| {
        s.lines()
            .any(|l| l.contains(" jfk_delay ") && l.contains("SUSP"))
    });
    let suspended: Vec<serde_json::Value> = fake
        .list("cronjobs")
        .into_iter()
        .filter(|c| c["metadata"]["labels"]["driftdeck.io/model"] == "jfk_delay")
        .map(|c| c["spec"]["suspend"].clone())
        .collect();
    assert_eq!(
        suspended,
        [serde_json::Value::Bool(true)],
        "spec.suspend on the server"
    );

    // 5. Switch the namespace with the picker (the namespaces the API server lists).
    tmux.type_text(":ns");
    tmux.keys(&["Enter"]);
    tmux.wait_text(&["Switch kube namespace", "other-ns"]);
    tmux.type_text("other");
    tmux.keys(&["Enter"]);
    tmux.wait_text(&["kubernetes fake-ctx/other-ns", "namespace switched"]);

    // 6. An unknown context is refused with the reason; the header stays.
    tmux.type_text(":ctx prod-eks");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_text(&["context prod-eks not used"]);
    assert!(screen.contains("kubernetes fake-ctx/other-ns"), "{screen}");

    // 7. Switch the context with the picker: its kubeconfig namespace comes with it.
    tmux.type_text(":ctx");
    tmux.keys(&["Enter"]);
    tmux.wait_text(&["Switch kube context", "fake-other"]);
    tmux.keys(&["Down", "Enter"]);
    tmux.wait_text(&["kubernetes fake-other/other-ns", "context switched"]);

    // 8. Quit cleanly.
    tmux.keys(&["q"]);
    tmux.wait_text(&["EXIT=0"]);
    kubelet.abort();
    drop(client_dir);
}
