//! A stateful fake Kubernetes API server for the tests of the Kubernetes backend (issue 9).
//!
//! axum on 127.0.0.1 (a free port), speaking the real JSON shapes of batch/v1 CronJob and Job
//! and core/v1 Pod, so the real `kube::Client` and the machine's `kubectl` talk to it over HTTP
//! through a generated kubeconfig ([`FakeKube::kubeconfig`]).
//!
//! Serves: discovery (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/batch/v1`, enough for
//! kubectl); list/get with equality label selectors (`k=v`, `k==v`, `k!=v`, `k`, `!k`; set-based
//! selectors are not supported); create (uid, resourceVersion, creationTimestamp,
//! `generateName`, a 409 `AlreadyExists` Status on clashes); merge patch (a strategic merge patch
//! is applied as a JSON merge patch, which is the same for the maps kubectl and driftdeck
//! patch); delete; watch as JSON lines from a resourceVersion (an `ERROR` event with a 410
//! `Expired` Status when that version is older than [`FakeKube::compact`] allowed); `pods/log`
//! with `follow`, `tailLines` and `previous`; the namespace list (`GET /api/v1/namespaces`: the
//! server's namespace, every namespace holding an object, and [`FakeKube::add_namespace`]).
//!
//! What it does NOT do, and tests must not claim: defaulting (except the Job registry's selector
//! and pod-template labels, which `kubectl logs job/x` needs), validation, admission,
//! authentication/RBAC (a 403 is only produced by [`FakeKube::forbid`]), the Job and CronJob
//! controllers and garbage collection. The hooks [`FakeKube::start_pod`],
//! [`FakeKube::complete_job`], [`FakeKube::fail_job`], [`FakeKube::pod_waiting`] and
//! [`FakeKube::log`] stand in for the Job controller and the kubelet.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Version reported by `/version` (kubectl's dispatcher picks its client version from it).
pub const GIT_VERSION: &str = "v1.32.4";

#[derive(Debug, Clone)]
struct Event {
    rv: u64,
    resource: String,
    namespace: String,
    kind: &'static str,
    object: Value,
}

#[derive(Debug, Default)]
struct Pod {
    lines: Vec<String>,
    previous: Vec<String>,
    closed: bool,
}

#[derive(Debug, Default)]
struct Inner {
    rv: u64,
    /// (resource, namespace, name) → object
    objects: BTreeMap<(String, String, String), Value>,
    events: Vec<Event>,
    compacted: u64,
    logs: HashMap<String, Pod>,
    forbidden: Vec<(String, String)>,
    extra_namespaces: Vec<String>,
    requests: Vec<String>,
    uid_seq: u64,
    watch_generation: u64,
}

/// What a simulated pod does ([`FakeKube::run_kubelet`]).
#[derive(Debug, Clone)]
pub enum Script {
    /// Logs `lines`, one every `every`, then the Job completes.
    Succeed {
        /// Lines to log.
        lines: Vec<String>,
        /// Pause after each line.
        every: Duration,
    },
    /// Logs `lines`, then the pod fails with `exit_code` and the Job with BackoffLimitExceeded.
    Fail {
        /// Lines to log.
        lines: Vec<String>,
        /// Container exit code.
        exit_code: i32,
    },
    /// Runs until the Job is deleted.
    Hang,
    /// Runs `program` with `prefix` then the container's args (e.g. the real driftdeck binary
    /// with `--config <workspace>`), its stdout and stderr lines become the pod log, its exit
    /// status completes or fails the Job. This is the closest the fake gets to a real pod.
    Exec {
        /// Program to run.
        program: PathBuf,
        /// Arguments before the container's.
        prefix: Vec<String>,
        /// Extra environment of this pod.
        env: Vec<(String, String)>,
    },
}

/// Handle on a running fake API server; the server stops when the test's runtime ends.
#[derive(Clone)]
pub struct FakeKube {
    inner: Arc<Mutex<Inner>>,
    addr: std::net::SocketAddr,
    namespace: String,
}

/// Timestamps with microseconds (the API server writes whole seconds; finer ones keep the
/// newest-first order of quickly created objects deterministic in the tests).
fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

fn status(code: u16, reason: &str, message: String) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code});
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn json_response(v: &Value, code: StatusCode) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn kind_of(resource: &str) -> (&'static str, &'static str) {
    match resource {
        "cronjobs" => ("CronJob", "batch/v1"),
        "jobs" => ("Job", "batch/v1"),
        _ => ("Pod", "v1"),
    }
}

/// Equality-based label selector match.
pub fn selector_matches(selector: &str, labels: &Value) -> bool {
    let get = |k: &str| labels.get(k).and_then(Value::as_str);
    selector
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                get(k.trim()) != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                get(k.trim()) == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                get(k.trim()).is_none()
            } else {
                get(term).is_some()
            }
        })
}

fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn discovery(path: &str, addr: std::net::SocketAddr) -> Option<Value> {
    let res = |name: &str, kind: &str, short: &[&str], verbs: &[&str]| {
        json!({"name": name, "singularName": kind.to_ascii_lowercase(), "namespaced": true,
               "kind": kind, "verbs": verbs, "shortNames": short})
    };
    let all = [
        "create", "delete", "get", "list", "patch", "update", "watch",
    ];
    Some(match path {
        "/version" => json!({"major": "1", "minor": "32", "gitVersion": GIT_VERSION,
            "gitCommit": "fake", "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
            "goVersion": "go1.23", "compiler": "gc", "platform": "linux/amd64"}),
        "/api" => json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string()}]}),
        "/apis" => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [{"name": "batch",
            "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}},
            {"name": "rbac.authorization.k8s.io",
            "versions": [{"groupVersion": "rbac.authorization.k8s.io/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "rbac.authorization.k8s.io/v1", "version": "v1"}}]}),
        "/apis/rbac.authorization.k8s.io/v1" => {
            json!({"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "rbac.authorization.k8s.io/v1",
            "resources": [res("roles", "Role", &[], &all), res("rolebindings", "RoleBinding", &[], &all)]})
        }
        "/api/v1" => json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
            res("pods", "Pod", &["po"], &all),
            {"name": "namespaces", "singularName": "namespace", "namespaced": false,
             "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]},
            res("configmaps", "ConfigMap", &["cm"], &all),
            res("serviceaccounts", "ServiceAccount", &["sa"], &all),
            res("persistentvolumeclaims", "PersistentVolumeClaim", &["pvc"], &all),
            {"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]}]}),
        "/apis/batch/v1" => {
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "batch/v1",
            "resources": [res("cronjobs", "CronJob", &["cj"], &all), res("jobs", "Job", &[], &all)]})
        }
        _ => return None,
    })
}

impl FakeKube {
    /// Starts the server on 127.0.0.1 (free port) inside the current tokio runtime.
    pub async fn start(namespace: &str) -> FakeKube {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let fake = FakeKube {
            inner: Arc::new(Mutex::new(Inner::default())),
            addr,
            namespace: namespace.to_string(),
        };
        let app = Router::new().fallback(handle).with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes a kubeconfig (cluster, user with a dummy token, context `fake-ctx` with the
    /// namespace) into `dir` and returns its path.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        self.kubeconfig_with(dir, &[("fake-ctx", &self.namespace)])
    }

    /// A kubeconfig with several contexts `(name, namespace)` on this server (the first is the
    /// current one), e.g. two contexts for the console's context switch.
    pub fn kubeconfig_with(&self, dir: &Path, contexts: &[(&str, &str)]) -> PathBuf {
        let path = dir.join("kubeconfig");
        let mut text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n\
             users:\n- name: fake\n  user:\n    token: fake-token\ncontexts:\n",
            self.url()
        );
        for (name, ns) in contexts {
            text.push_str(&format!(
                "- name: {name}\n  context:\n    cluster: fake\n    user: fake\n    namespace: {ns}\n"
            ));
        }
        text.push_str(&format!(
            "current-context: {}\n",
            contexts.first().map_or("fake-ctx", |c| c.0)
        ));
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }

    /// The same server seen from namespace `ns`: its helpers (insert, get, list, hooks) work
    /// there.
    pub fn namespaced(&self, ns: &str) -> FakeKube {
        FakeKube {
            namespace: ns.to_string(),
            ..self.clone()
        }
    }

    /// Lists `ns` in `GET /api/v1/namespaces` even while it holds nothing.
    pub fn add_namespace(&self, ns: &str) {
        self.lock().extra_namespaces.push(ns.to_string());
    }

    /// A `kube::Client` for this server through a generated kubeconfig in `dir`.
    pub async fn client(&self, dir: &Path) -> kube::Client {
        let kc =
            kube::config::Kubeconfig::read_from(self.kubeconfig(dir)).expect("read kubeconfig");
        let config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .expect("kube config");
        kube::Client::try_from(config).expect("kube client")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Requests seen so far (`METHOD path?query`).
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// Every later `verb` (`create`, `patch`, `list`, `get`, …) on `resource` answers 403.
    pub fn forbid(&self, verb: &str, resource: &str) {
        self.lock().forbidden.push((verb.into(), resource.into()));
    }

    /// Forgets the history, as etcd compaction does after unrelated writes moved the
    /// resourceVersion on: watches from any version seen so far get 410 Gone; a fresh list
    /// returns the new current version, from which watching works again.
    pub fn compact(&self) {
        let mut s = self.lock();
        s.rv += 1;
        s.compacted = s.rv;
        s.events.clear();
    }

    /// Ends every open watch stream (as an API server restart or a load balancer would); the
    /// clients reconnect from their last resourceVersion.
    pub fn close_watches(&self) {
        self.lock().watch_generation += 1;
    }

    /// One object.
    pub fn get(&self, resource: &str, name: &str) -> Option<Value> {
        let s = self.lock();
        s.objects
            .get(&(
                resource.to_string(),
                self.namespace.clone(),
                name.to_string(),
            ))
            .cloned()
    }

    /// Every object of a resource in the namespace.
    pub fn list(&self, resource: &str) -> Vec<Value> {
        let s = self.lock();
        s.objects
            .iter()
            .filter(|((r, ns, _), _)| r == resource && ns == &self.namespace)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn store(s: &mut Inner, resource: &str, ns: &str, mut obj: Value, kind: &'static str) -> Value {
        s.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(s.rv.to_string());
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        s.objects
            .insert((resource.into(), ns.into(), name), obj.clone());
        s.events.push(Event {
            rv: s.rv,
            resource: resource.into(),
            namespace: ns.into(),
            kind,
            object: obj.clone(),
        });
        obj
    }

    fn create(&self, resource: &str, ns: &str, mut obj: Value) -> Result<Value, Box<Response>> {
        let mut s = self.lock();
        let (kind, api_version) = kind_of(resource);
        if obj["metadata"]["name"].as_str().unwrap_or("").is_empty() {
            let Some(prefix) = obj["metadata"]["generateName"].as_str() else {
                return Err(Box::new(status(
                    422,
                    "Invalid",
                    format!("{kind}: metadata.name: Required value"),
                )));
            };
            s.uid_seq += 1;
            obj["metadata"]["name"] = json!(format!("{prefix}{:05x}", s.uid_seq * 7919));
        }
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        if s.objects
            .contains_key(&(resource.to_string(), ns.to_string(), name.clone()))
        {
            return Err(Box::new(status(
                409,
                "AlreadyExists",
                format!(
                    "{resource}.{} \"{name}\" already exists",
                    if api_version == "v1" { "" } else { "batch" }
                ),
            )));
        }
        s.uid_seq += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", s.uid_seq);
        obj["apiVersion"] = json!(api_version);
        obj["kind"] = json!(kind);
        obj["metadata"]["namespace"] = json!(ns);
        obj["metadata"]["uid"] = json!(uid);
        obj["metadata"]["creationTimestamp"] = json!(now());
        if resource == "jobs" {
            // The Job registry's defaulting (not a controller): selector and pod labels by uid.
            let sel = json!({"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid});
            if obj["spec"]["selector"].is_null() {
                obj["spec"]["selector"] =
                    json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
            }
            let labels = &mut obj["spec"]["template"]["metadata"]["labels"];
            if labels.is_null() {
                *labels = json!({});
            }
            merge_patch(labels, &sel);
            merge_patch(
                labels,
                &json!({"batch.kubernetes.io/job-name": name, "job-name": name}),
            );
            if obj["status"].is_null() {
                obj["status"] = json!({});
            }
        }
        Ok(Self::store(&mut s, resource, ns, obj, "ADDED"))
    }

    fn update(&self, resource: &str, name: &str, f: impl FnOnce(&mut Value)) -> Option<Value> {
        let mut s = self.lock();
        let key = (
            resource.to_string(),
            self.namespace.clone(),
            name.to_string(),
        );
        let mut obj = s.objects.get(&key)?.clone();
        f(&mut obj);
        let ns = self.namespace.clone();
        Some(Self::store(&mut s, resource, &ns, obj, "MODIFIED"))
    }

    /// Creates an object through the same path as a POST (test set-up).
    pub fn insert(&self, resource: &str, obj: Value) -> Value {
        let ns = self.namespace.clone();
        self.create(resource, &ns, obj)
            .unwrap_or_else(|_| panic!("insert {resource} failed"))
    }

    /// Renders the repository's demo registry (`config/`) with default settings and creates its
    /// CronJobs here, as `kubectl apply` would; returns their names.
    pub fn apply_rendered_cronjobs(&self) -> Vec<String> {
        use driftdeck::orchestrator::kubernetes::KubernetesSettings;
        use driftdeck::orchestrator::kubernetes::manifests::{ConfigFiles, Manifest, render};
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let cfg = driftdeck::config::load(Some(&root.join("config/driftdeck.toml")))
            .expect("demo config");
        let objects = render(
            &cfg.models,
            &KubernetesSettings::default(),
            &ConfigFiles::default(),
        )
        .expect("render");
        let mut names = Vec::new();
        for m in objects {
            if let Manifest::CronJob(cj) = &m {
                let v = serde_json::to_value(cj).expect("CronJob JSON");
                self.insert("cronjobs", v);
                names.push(m.name().to_string());
            }
        }
        names
    }

    /// Creates a minimal driftdeck CronJob for `model` (labels, one `driftdeck` container
    /// running `run --model <model>`), as the rendered ones are shaped.
    pub fn insert_cronjob(&self, model: &str, value_stream: &str) -> Value {
        let labels = json!({"app.kubernetes.io/name": "driftdeck", "driftdeck.io/model": model,
            "driftdeck.io/value-stream": value_stream, "driftdeck.io/action": "schedule"});
        self.insert(
            "cronjobs",
            json!({"metadata": {"name": format!("{}-cronjob", model.replace('_', "-")), "labels": labels},
                "spec": {"schedule": "0 2 * * *", "concurrencyPolicy": "Forbid",
                    "jobTemplate": {"metadata": {"labels": labels}, "spec": {"backoffLimit": 0,
                        "template": {"metadata": {"labels": labels}, "spec": {"restartPolicy": "Never",
                            "containers": [{"name": "driftdeck", "image": "driftdeck:test",
                                "args": ["run", "--model", model]}]}}}}}}),
        )
    }

    /// Job controller stand-in: creates a Running pod for `job` (from its template) and marks
    /// the Job active. Returns the pod name.
    pub fn start_pod(&self, job: &str) -> String {
        let j = self
            .get("jobs", job)
            .unwrap_or_else(|| panic!("no Job {job}"));
        let uid = j["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let seq = self.list("pods").len();
        let pod_name = format!("{job}-p{seq:04}");
        let template = &j["spec"]["template"];
        let containers: Vec<Value> = template["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| {
                json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true,
                "restartCount": 0, "started": true, "state": {"running": {"startedAt": now()}}})
            })
            .collect();
        let pod = json!({"metadata": {"name": pod_name, "labels": template["metadata"]["labels"],
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job, "uid": uid,
                    "controller": true, "blockOwnerDeletion": true}]},
            "spec": template["spec"],
            "status": {"phase": "Running", "startTime": now(), "containerStatuses": containers}});
        self.insert("pods", pod);
        self.lock().logs.entry(pod_name.clone()).or_default();
        self.update("jobs", job, |j| {
            j["status"]["active"] = json!(1);
            j["status"]["ready"] = json!(1);
            if j["status"]["startTime"].is_null() {
                j["status"]["startTime"] = json!(now());
            }
        });
        pod_name
    }

    fn pods_of(&self, job: &str) -> Vec<String> {
        self.list("pods")
            .iter()
            .filter(|p| p["metadata"]["labels"]["batch.kubernetes.io/job-name"] == job)
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    }

    /// Kubelet stand-in: appends a line to the pod's log.
    pub fn log(&self, pod: &str, line: &str) {
        self.lock()
            .logs
            .entry(pod.into())
            .or_default()
            .lines
            .push(line.into());
    }

    /// Sets the previous container's log (as after a restart).
    pub fn previous_log(&self, pod: &str, lines: &[&str]) {
        self.lock().logs.entry(pod.into()).or_default().previous =
            lines.iter().map(|s| s.to_string()).collect();
    }

    fn finish_pods(&self, job: &str, phase: &str, terminated: Value) {
        for pod in self.pods_of(job) {
            self.lock().logs.entry(pod.clone()).or_default().closed = true;
            self.update("pods", &pod, |p| {
                p["status"]["phase"] = json!(phase);
                if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
                    for c in cs {
                        c["ready"] = json!(false);
                        c["state"] = json!({"terminated": terminated.clone()});
                    }
                }
            });
        }
    }

    /// Job controller stand-in: the pods succeed, the Job gets `Complete`.
    pub fn complete_job(&self, job: &str) {
        self.finish_pods(
            job,
            "Succeeded",
            json!({"exitCode": 0, "reason": "Completed", "finishedAt": now()}),
        );
        self.update("jobs", job, |j| {
            j["status"]["active"] = json!(0);
            j["status"]["ready"] = json!(0);
            j["status"]["succeeded"] = json!(1);
            j["status"]["completionTime"] = json!(now());
            j["status"]["conditions"] = json!([
                {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now()},
                {"type": "Complete", "status": "True", "lastTransitionTime": now()}]);
        });
    }

    /// Job controller stand-in: the pods fail with `container_reason` (`Error`, `OOMKilled`),
    /// the Job gets `Failed` / `BackoffLimitExceeded`.
    pub fn fail_job(&self, job: &str, container_reason: &str) {
        let code = if container_reason == "OOMKilled" {
            137
        } else {
            1
        };
        self.fail_job_with(job, container_reason, code);
    }

    /// [`FakeKube::fail_job`] with the container's exit code.
    pub fn fail_job_with(&self, job: &str, container_reason: &str, code: i32) {
        self.finish_pods(
            job,
            "Failed",
            json!({"exitCode": code, "reason": container_reason, "finishedAt": now()}),
        );
        self.update("jobs", job, |j| {
            j["status"]["active"] = json!(0);
            j["status"]["failed"] = json!(j["spec"]["backoffLimit"].as_i64().unwrap_or(6) + 1);
            j["status"]["conditions"] = json!([
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "lastTransitionTime": now()},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit", "lastTransitionTime": now()}]);
        });
    }

    /// Job controller + kubelet stand-in for contract tests: every 20 ms, each new Job gets a
    /// pod that logs `args: <container args>` and then does what `script(&job)` says. Runs until
    /// the returned task is aborted (or the runtime ends).
    pub fn run_kubelet(
        &self,
        script: impl Fn(&Value) -> Script + Send + Sync + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let fake = self.clone();
        let script = Arc::new(script);
        tokio::spawn(async move {
            let mut seen = std::collections::HashSet::new();
            loop {
                for job in fake.list("jobs") {
                    let Some(name) = job["metadata"]["name"].as_str().map(str::to_string) else {
                        continue;
                    };
                    if !seen.insert(name.clone()) || !job["status"]["conditions"].is_null() {
                        continue;
                    }
                    let what = script(&job);
                    let fake = fake.clone();
                    tokio::spawn(async move { fake.play(&name, &job, what).await });
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    }

    async fn play(&self, name: &str, job: &Value, script: Script) {
        let pod = self.start_pod(name);
        let args: Vec<&str> = job["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        self.log(&pod, &format!("args: {}", args.join(" ")));
        match script {
            Script::Succeed { lines, every } => {
                for l in lines {
                    self.log(&pod, &l);
                    tokio::time::sleep(every).await;
                }
                self.complete_job(name);
            }
            Script::Fail { lines, exit_code } => {
                for l in lines {
                    self.log(&pod, &l);
                }
                self.fail_job_with(name, "Error", exit_code);
            }
            Script::Hang => {}
            Script::Exec {
                program,
                prefix,
                env,
            } => {
                let mut cmd = tokio::process::Command::new(&program);
                cmd.args(&prefix)
                    .envs(env)
                    .args(&args)
                    .env("NO_COLOR", "1")
                    .env(
                        "DRIFTDECK_JOB_LOG",
                        format!("k8s:{}/job/{name}", self.namespace),
                    )
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let output = match cmd.output().await {
                    Ok(o) => o,
                    Err(e) => {
                        self.log(&pod, &format!("cannot start {}: {e}", program.display()));
                        self.fail_job_with(name, "StartError", 128);
                        return;
                    }
                };
                for text in [&output.stdout, &output.stderr] {
                    for line in String::from_utf8_lossy(text).lines() {
                        self.log(&pod, line);
                    }
                }
                match output.status.code() {
                    Some(0) => self.complete_job(name),
                    code => self.fail_job_with(name, "Error", code.unwrap_or(137)),
                }
            }
        }
    }

    /// Sets a Job's `creationTimestamp` (test set-up for "created long ago").
    pub fn update_job_created(&self, job: &str, timestamp: &str) {
        self.update("jobs", job, |j| {
            j["metadata"]["creationTimestamp"] = json!(timestamp);
        });
    }

    /// Kubelet stand-in: the job's pod containers wait with `reason` (e.g. `ImagePullBackOff`).
    pub fn pod_waiting(&self, job: &str, reason: &str) {
        for pod in self.pods_of(job) {
            self.update("pods", &pod, |p| {
                p["status"]["phase"] = json!("Pending");
                if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
                    for c in cs {
                        c["ready"] = json!(false);
                        c["state"] = json!({"waiting": {"reason": reason, "message": "fake"}});
                    }
                }
            });
        }
    }
}

async fn handle(
    State(fake): State<FakeKube>,
    method: Method,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_string();
    fake.lock().requests.push(format!(
        "{method} {}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
    ));
    if method == Method::GET
        && let Some(v) = discovery(&path, fake.addr)
    {
        return json_response(&v, StatusCode::OK);
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if method == Method::GET && segs == ["api", "v1", "namespaces"] {
        return namespaces(&fake);
    }
    // /api/v1/namespaces/NS/RES[/NAME[/SUB]] or /apis/batch/v1/namespaces/NS/RES[/NAME[/SUB]]
    let rest = match segs.as_slice() {
        ["api", "v1", "namespaces", rest @ ..] => rest,
        ["apis", "batch", "v1", "namespaces", rest @ ..] => rest,
        _ => {
            return status(
                404,
                "NotFound",
                format!("the server could not find the requested resource ({path})"),
            );
        }
    };
    let (ns, resource, name, sub) = match rest {
        [ns, res] => (*ns, *res, None, None),
        [ns, res, name] => (*ns, *res, Some(*name), None),
        [ns, res, name, sub] => (*ns, *res, Some(*name), Some(*sub)),
        _ => return status(404, "NotFound", format!("no such path {path}")),
    };
    let api_ok = (segs[0] == "api" && resource == "pods")
        || (segs[0] == "apis" && matches!(resource, "cronjobs" | "jobs"));
    if !api_ok {
        return status(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        );
    }
    let verb = match (&method, name, sub, q.get("watch").map(String::as_str)) {
        (&Method::GET, None, _, Some("true" | "1")) => "watch",
        (&Method::GET, None, _, _) => "list",
        (&Method::GET, Some(_), Some("log"), _) => "log",
        (&Method::GET, Some(_), _, _) => "get",
        (&Method::POST, None, _, _) => "create",
        (&Method::PATCH, Some(_), _, _) => "patch",
        (&Method::DELETE, Some(_), _, _) => "delete",
        _ => return status(405, "MethodNotAllowed", format!("{method} {path}")),
    };
    let forbidden = fake
        .lock()
        .forbidden
        .iter()
        .any(|(v, r)| v == verb && r == resource);
    if forbidden {
        return status(
            403,
            "Forbidden",
            format!(
                "{resource} is forbidden: User \"system:serviceaccount:{ns}:driftdeck-console\" cannot {verb} resource \"{resource}\" in namespace \"{ns}\""
            ),
        );
    }
    let (kind, api_version) = kind_of(resource);
    let key = |n: &str| (resource.to_string(), ns.to_string(), n.to_string());
    let selector = q.get("labelSelector").cloned().unwrap_or_default();
    match verb {
        "list" => {
            let s = fake.lock();
            let items: Vec<Value> = s
                .objects
                .iter()
                .filter(|((r, n, _), o)| {
                    r == resource
                        && n == ns
                        && selector_matches(&selector, &o["metadata"]["labels"])
                })
                .map(|(_, o)| o.clone())
                .collect();
            json_response(
                &json!({"apiVersion": api_version, "kind": format!("{kind}List"),
                "metadata": {"resourceVersion": s.rv.to_string()}, "items": items}),
                StatusCode::OK,
            )
        }
        "get" => match fake.lock().objects.get(&key(name.unwrap_or(""))) {
            Some(o) => json_response(o, StatusCode::OK),
            None => status(
                404,
                "NotFound",
                format!("{resource} \"{}\" not found", name.unwrap_or("")),
            ),
        },
        "create" => {
            let obj: Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => return status(400, "BadRequest", format!("body is not JSON: {e}")),
            };
            if q.contains_key("dryRun") {
                return json_response(&obj, StatusCode::CREATED);
            }
            match fake.create(resource, ns, obj) {
                Ok(o) => json_response(&o, StatusCode::CREATED),
                Err(r) => *r,
            }
        }
        "patch" => {
            let ctype = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !(ctype.contains("merge-patch") || ctype.contains("strategic-merge-patch")) {
                return status(
                    415,
                    "UnsupportedMediaType",
                    format!("patch type {ctype} not supported by the fake"),
                );
            }
            let patch: Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => return status(400, "BadRequest", format!("patch is not JSON: {e}")),
            };
            let n = name.unwrap_or("");
            if !fake.lock().objects.contains_key(&key(n)) {
                return status(404, "NotFound", format!("{resource} \"{n}\" not found"));
            }
            let ns_owned = ns.to_string();
            let mut s = fake.lock();
            let mut obj = s.objects.get(&key(n)).cloned().unwrap_or(Value::Null);
            merge_patch(&mut obj, &patch);
            let o = FakeKube::store(&mut s, resource, &ns_owned, obj, "MODIFIED");
            json_response(&o, StatusCode::OK)
        }
        "delete" => {
            let n = name.unwrap_or("");
            let mut s = fake.lock();
            match s.objects.remove(&key(n)) {
                Some(o) => {
                    s.rv += 1;
                    let rv = s.rv;
                    s.events.push(Event {
                        rv,
                        resource: resource.into(),
                        namespace: ns.into(),
                        kind: "DELETED",
                        object: o.clone(),
                    });
                    if resource == "jobs" {
                        // what background propagation ends with: the Job's pods go too
                        let pods: Vec<(String, String, String)> = s
                            .objects
                            .iter()
                            .filter(|((r, pns, _), p)| {
                                r == "pods"
                                    && pns == ns
                                    && p["metadata"]["labels"]["batch.kubernetes.io/job-name"] == n
                            })
                            .map(|(k, _)| k.clone())
                            .collect();
                        for k in pods {
                            if let Some(p) = s.objects.remove(&k) {
                                s.rv += 1;
                                let rv = s.rv;
                                s.events.push(Event {
                                    rv,
                                    resource: "pods".into(),
                                    namespace: ns.into(),
                                    kind: "DELETED",
                                    object: p,
                                });
                            }
                            if let Some(l) = s.logs.get_mut(&k.2) {
                                l.closed = true;
                            }
                        }
                    }
                    json_response(&o, StatusCode::OK)
                }
                None => status(404, "NotFound", format!("{resource} \"{n}\" not found")),
            }
        }
        "watch" => watch(
            fake.clone(),
            resource.to_string(),
            ns.to_string(),
            selector,
            &q,
        ),
        "log" => logs(fake.clone(), name.unwrap_or("").to_string(), &q),
        _ => status(405, "MethodNotAllowed", verb.to_string()),
    }
}

/// `GET /api/v1/namespaces` (403 after `forbid("list", "namespaces")`).
fn namespaces(fake: &FakeKube) -> Response {
    let s = fake.lock();
    if s.forbidden
        .iter()
        .any(|(v, r)| v == "list" && r == "namespaces")
    {
        return status(
            403,
            "Forbidden",
            "namespaces is forbidden: User \"system:serviceaccount:model-monitoring:driftdeck-console\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope".into(),
        );
    }
    let mut names: std::collections::BTreeSet<String> =
        s.extra_namespaces.iter().cloned().collect();
    names.insert(fake.namespace.clone());
    names.extend(s.objects.keys().map(|(_, ns, _)| ns.clone()));
    let items: Vec<Value> = names
        .into_iter()
        .map(|n| {
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n},
            "status": {"phase": "Active"}})
        })
        .collect();
    json_response(
        &json!({"apiVersion": "v1", "kind": "NamespaceList",
            "metadata": {"resourceVersion": s.rv.to_string()}, "items": items}),
        StatusCode::OK,
    )
}

fn watch(
    fake: FakeKube,
    resource: String,
    ns: String,
    selector: String,
    q: &HashMap<String, String>,
) -> Response {
    let from: u64 = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(290u64)
        .min(600);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let expired = {
        let s = fake.lock();
        from != 0 && from < s.compacted
    };
    if expired {
        let ev = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": format!("too old resource version: {from} ({})", fake.lock().compacted),
            "reason": "Expired", "code": 410}});
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{ev}\n"),
        )
            .into_response();
    }
    // rv 0 = "any": start from now.
    let start = if from == 0 { fake.lock().rv } else { from };
    let generation = fake.lock().watch_generation;
    let stream = futures::stream::unfold((fake, start), move |(fake, mut last)| {
        let resource = resource.clone();
        let ns = ns.clone();
        let selector = selector.clone();
        async move {
            loop {
                if tokio::time::Instant::now() >= deadline
                    || fake.lock().watch_generation != generation
                {
                    return None;
                }
                let batch: Vec<Event> = {
                    let s = fake.lock();
                    s.events.iter().filter(|e| e.rv > last).cloned().collect()
                };
                let mut out = String::new();
                for e in batch {
                    last = last.max(e.rv);
                    if e.resource == resource
                        && e.namespace == ns
                        && selector_matches(&selector, &e.object["metadata"]["labels"])
                    {
                        out.push_str(&json!({"type": e.kind, "object": e.object}).to_string());
                        out.push('\n');
                    }
                }
                if !out.is_empty() {
                    return Some((
                        Ok::<Bytes, std::convert::Infallible>(Bytes::from(out)),
                        (fake, last),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

fn logs(fake: FakeKube, pod: String, q: &HashMap<String, String>) -> Response {
    let follow = matches!(q.get("follow").map(String::as_str), Some("true" | "1"));
    let previous = matches!(q.get("previous").map(String::as_str), Some("true" | "1"));
    let tail: Option<usize> = q.get("tailLines").and_then(|v| v.parse().ok());
    let (lines, exists) = {
        let s = fake.lock();
        match s.logs.get(&pod) {
            Some(p) => (
                if previous {
                    p.previous.clone()
                } else {
                    p.lines.clone()
                },
                true,
            ),
            None => (Vec::new(), false),
        }
    };
    if !exists {
        return status(404, "NotFound", format!("pods \"{pod}\" not found"));
    }
    let skip = tail.map_or(0, |t| lines.len().saturating_sub(t));
    let initial: String = lines[skip..].iter().map(|l| format!("{l}\n")).collect();
    if !follow || previous {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            initial,
        )
            .into_response();
    }
    let sent = lines.len();
    let first = futures::stream::once(async move {
        Ok::<Bytes, std::convert::Infallible>(Bytes::from(initial))
    });
    let rest = futures::stream::unfold((fake, pod, sent), |(fake, pod, mut sent)| async move {
        loop {
            let (new, closed) = {
                let s = fake.lock();
                let p = s.logs.get(&pod)?;
                (p.lines[sent.min(p.lines.len())..].to_vec(), p.closed)
            };
            if !new.is_empty() {
                sent += new.len();
                let text: String = new.iter().map(|l| format!("{l}\n")).collect();
                return Some((Ok(Bytes::from(text)), (fake, pod, sent)));
            }
            if closed {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    use futures::StreamExt;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        Body::from_stream(first.chain(rest)),
    )
        .into_response()
}
