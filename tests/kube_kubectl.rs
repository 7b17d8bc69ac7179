//! Cross-checks with the machine's `kubectl` as an independent client of the fake API server
//! (tests/fake_kube): the Job the console creates for a rerun is the one `kubectl create job
//! --from=cronjob/…` builds plus driftdeck's documented additions; `kubectl logs job/…` prints
//! what the console reads; `kubectl patch` of `spec.suspend` is what the console sees; kubectl
//! decodes every rendered manifest. Skipped, with a printed reason, without kubectl ≥ 1.21
//! (`.ci/run` installs one when missing).

mod fake_kube;

use std::path::Path;
use std::time::Duration;

use chrono::NaiveDate;
use driftdeck::orchestrator::kubernetes::builder::job_from_cronjob;
use driftdeck::orchestrator::kubernetes::{KubeBackend, KubernetesSettings, LogOptions};
use fake_kube::FakeKube;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use serde_json::{Value, json};

const NS: &str = "model-monitoring";

/// kubectl's client version (major, minor), or None with the reason printed.
fn kubectl_available() -> bool {
    let out = std::process::Command::new("kubectl")
        .args(["version", "--client", "-o", "json"])
        .output();
    let Ok(out) = out else {
        eprintln!("SKIPPED: kubectl is not installed (.ci/run installs it)");
        return false;
    };
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let minor: u32 = v["clientVersion"]["minor"]
        .as_str()
        .unwrap_or("0")
        .trim_end_matches('+')
        .parse()
        .unwrap_or(0);
    // the gcloud dispatcher reports its own version and runs the one matching the server
    let dispatcher = v["clientVersion"]["gitVersion"]
        .as_str()
        .unwrap_or("")
        .contains("dispatcher");
    if minor < 21 && !dispatcher {
        eprintln!(
            "SKIPPED: kubectl 1.{minor} builds Jobs from batch/v1beta1 CronJobs; need ≥ 1.21"
        );
        return false;
    }
    true
}

struct Kubectl {
    kubeconfig: std::path::PathBuf,
    cache: std::path::PathBuf,
}

impl Kubectl {
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> String {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(["-n", NS])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn kubectl");
        if let Some(mut si) = child.stdin.take() {
            if let Some(text) = stdin {
                si.write_all(text.as_bytes()).await.expect("kubectl stdin");
            }
            drop(si);
        }
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("kubectl within 60 s")
            .expect("kubectl output");
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

async fn setup(dir: &Path) -> (FakeKube, KubeBackend, Kubectl) {
    let fake = FakeKube::start(NS).await;
    let client = fake.client(dir).await;
    let backend =
        KubeBackend::from_client(client, KubernetesSettings::default(), "fake-ctx".into());
    fake.apply_rendered_cronjobs();
    let k = Kubectl {
        kubeconfig: dir.join("kubeconfig"),
        cache: dir.join("kube-cache"),
    };
    (fake, backend, k)
}

/// Removes what the API server generates (and kubectl's dry-run leaves empty).
fn strip_generated(mut v: Value) -> Value {
    let m = v["metadata"].as_object_mut().unwrap();
    for k in ["uid", "resourceVersion", "creationTimestamp"] {
        m.remove(k);
    }
    v.as_object_mut().unwrap().remove("status");
    if let Some(spec) = v["spec"].as_object_mut() {
        spec.remove("selector");
    }
    if let Some(l) = v["spec"]["template"]["metadata"]["labels"].as_object_mut() {
        for k in [
            "batch.kubernetes.io/controller-uid",
            "controller-uid",
            "batch.kubernetes.io/job-name",
            "job-name",
        ] {
            l.remove(k);
        }
    }
    if let Some(t) = v["spec"]["template"]["metadata"].as_object_mut() {
        t.remove("creationTimestamp");
        if t.get("labels")
            .is_some_and(|l| l.as_object().is_some_and(|o| o.is_empty()))
        {
            t.remove("labels");
        }
    }
    // typed round trip: null/empty optional fields compare equal
    let job: Job = serde_json::from_value(v).unwrap();
    serde_json::to_value(job).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_job_is_kubectls_job_from_the_cronjob_plus_documented_additions() {
    if !kubectl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (fake, backend, kubectl) = setup(dir.path()).await;
    let cj_value = fake
        .list("cronjobs")
        .into_iter()
        .find(|c| c["metadata"]["labels"]["driftdeck.io/model"] == "jfk_delay")
        .unwrap();
    let cj_name = cj_value["metadata"]["name"].as_str().unwrap().to_string();
    let console = backend
        .rerun(
            "jfk_delay",
            NaiveDate::from_ymd_opt(2013, 7, 1).unwrap(),
            "ana",
        )
        .await
        .unwrap();
    let text = kubectl
        .run(
            &[
                "create",
                "job",
                &console,
                &format!("--from=cronjob/{cj_name}"),
                "--dry-run=client",
                "-o",
                "json",
            ],
            None,
        )
        .await;
    let kubectl_job: Value = serde_json::from_str(&text).unwrap();
    let kubectl_job = strip_generated(kubectl_job);

    // 1. the pure builder is exactly kubectl's algorithm
    let cj: CronJob = serde_json::from_value(cj_value).unwrap();
    let ours = strip_generated(serde_json::to_value(job_from_cronjob(&cj, &console)).unwrap());
    assert_eq!(ours, kubectl_job, "builder differs from kubectl");

    // 2. the Job the console POSTed = kubectl's + labels (action, date, triggered-by) + --date args
    let created = strip_generated(fake.get("jobs", &console).unwrap());
    let mut expected = kubectl_job.clone();
    let extra = json!({"driftdeck.io/action": "rerun", "driftdeck.io/calculation-date": "2013-07-01",
        "driftdeck.io/triggered-by": "ana"});
    for path in ["/metadata/labels", "/spec/template/metadata/labels"] {
        let labels = expected.pointer_mut(path).unwrap();
        for (k, v) in extra.as_object().unwrap() {
            labels[k] = v.clone();
        }
    }
    expected["spec"]["template"]["spec"]["containers"][0]["args"] = json!([
        "run",
        "--model",
        "jfk_delay",
        "--date",
        "2013-07-01",
        "--triggered-by",
        "ana",
        "--run-id",
        console
    ]);
    assert_eq!(created, expected);

    // 3. kubectl can create that Job through the fake too (JSON, not protobuf)
    let named = text.replace(
        &format!("\"name\": \"{console}\""),
        "\"name\": \"kubectl-made\"",
    );
    kubectl
        .run(&["create", "--validate=false", "-f", "-"], Some(&named))
        .await;
    assert!(fake.get("jobs", "kubectl-made").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_and_patch_agree_with_the_console() {
    if !kubectl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (fake, backend, kubectl) = setup(dir.path()).await;
    let job = backend
        .rerun(
            "ewr_delay",
            NaiveDate::from_ymd_opt(2013, 7, 2).unwrap(),
            "ana",
        )
        .await
        .unwrap();
    let pod = fake.start_pod(&job);
    for l in [
        "INFO run started model=ewr_delay",
        "INFO psi=0.31 alert",
        "ERROR attempt 1 failed: timeout",
    ] {
        fake.log(&pod, l);
    }
    fake.fail_job(&job, "Error");
    let console: Vec<String> = backend
        .logs(&job, &LogOptions::default())
        .await
        .unwrap()
        .map(|l| l.unwrap())
        .collect()
        .await;
    let printed = kubectl.run(&["logs", &format!("job/{job}")], None).await;
    assert_eq!(printed.lines().collect::<Vec<_>>(), console);
    assert_eq!(console.len(), 3);

    let listed = kubectl.run(&["get", "cronjobs", "-o", "json"], None).await;
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 7);
    let cj = backend.model_cronjob("ewr_delay").await.unwrap();
    let cj_name = cj.metadata.name.unwrap();
    kubectl
        .run(
            &[
                "patch",
                "cronjob",
                &cj_name,
                "-p",
                r#"{"spec":{"suspend":true}}"#,
            ],
            None,
        )
        .await;
    let seen = backend.cronjobs().await.unwrap();
    assert!(seen.iter().find(|c| c.name == cj_name).unwrap().suspended);
    let jobs = kubectl.run(&["get", "jobs", "-o", "name"], None).await;
    assert!(
        jobs.lines().any(|l| l == format!("job.batch/{job}")),
        "{jobs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_decodes_every_rendered_manifest() {
    if !kubectl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_fake, _backend, kubectl) = setup(dir.path()).await;
    let out = dir.path().join("manifests");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .arg("--config")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/driftdeck.toml"))
        .args(["render", "k8s", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let text = kubectl
        .run(
            &[
                "create",
                "--dry-run=client",
                "--validate=false",
                "-o",
                "json",
                "-f",
                out.to_str().unwrap(),
            ],
            None,
        )
        .await;
    // one JSON object per file, concatenated
    let items: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(items.len(), 21);
    for item in &items {
        let kind = item["kind"].as_str().unwrap();
        let name = item["metadata"]["name"].as_str().unwrap();
        let file = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.to_string_lossy()
                    .ends_with(&format!("-{}-{name}.yaml", kind.to_ascii_lowercase()))
            })
            .unwrap_or_else(|| panic!("no file for {kind} {name}"));
        let ours: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        // kubectl decoded and re-encoded it: same object (kubectl adds an empty status and a
        // null creationTimestamp to some kinds)
        let mut theirs = item.clone();
        let obj = theirs.as_object_mut().unwrap();
        obj.remove("status");
        obj["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("creationTimestamp");
        for p in [
            "/spec/jobTemplate/metadata",
            "/spec/jobTemplate/spec/template/metadata",
        ] {
            if let Some(m) = theirs.pointer_mut(p).and_then(Value::as_object_mut) {
                m.remove("creationTimestamp");
            }
        }
        assert_eq!(theirs, ours, "{kind} {name}");
    }
    let cronjobs = items.iter().filter(|i| i["kind"] == "CronJob").count();
    assert_eq!(cronjobs, 7);
}
