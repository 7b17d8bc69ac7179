//! `driftdeck render k8s`: the Kubernetes objects that deploy driftdeck for a models.yaml.
//!
//! Rendered, in apply order: the console's and the jobs' ServiceAccount with a least-privilege
//! Role and RoleBinding; the EFS PersistentVolumeClaim the jobs mount at `/mnt/efs`; a ConfigMap
//! `driftdeck-config` with `driftdeck.toml` and `models.yaml` (mounted at `/etc/driftdeck`); per
//! model a ConfigMap with the seed keys (`THRESHOLD`, `BENCHMARKING_PATH`, `EMAIL_RECIPIENTS`,
//! `MODEL_ID`, `VALUE_STREAM`) and a CronJob (the model's schedule, `concurrencyPolicy: Forbid`,
//! `activeDeadlineSeconds`, `restartPolicy: OnFailure`, `envFrom: configMapRef`, the EFS volume
//! with a `subPath`); and the monthly benchmark refresh CronJob. Every job pod gets the Snowflake
//! store's pending queue on the EFS volume ([`PENDING_PATH`], env `DRIFTDECK_PENDING_PATH`, a
//! writable mount of [`PENDING_DIR`]), never on the pod's disk. Secrets are only referenced
//! (`secretRef`), never rendered.
//!
//! Each object is built as JSON and converted to its k8s-openapi type, so a misspelt field is
//! caught by the tests (the typed object serialises back to the same JSON).

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use serde_json::{Value, json};

use super::builder::CONTAINER;
use super::names::{
    APP, CONSOLE_ACCOUNT, JOBS_ACCOUNT, LABEL_ACTION, LABEL_APP, LABEL_MODEL, LABEL_VALUE_STREAM,
    REFRESH_CRONJOB, SHARED_CONFIGMAP, configmap_name, cronjob_name,
};
use crate::config::KubernetesSettings;
use crate::config::ModelConfig;

/// Where the EFS volume is mounted in the job pods.
pub const EFS_MOUNT: &str = "/mnt/efs";
/// Directory on the EFS volume (sub path) holding the Snowflake store's pending queue; a
/// dot-name, so no value stream (`[a-z0-9_-]`) can collide with it.
pub const PENDING_DIR: &str = ".driftdeck";
/// The pending queue file every job pod gets (env `DRIFTDECK_PENDING_PATH`): on the shared EFS
/// volume, so results a pod could not send survive the pod and the next job or `driftdeck sync`
/// sends them.
pub const PENDING_PATH: &str = "/mnt/efs/.driftdeck/pending.sqlite";
/// Where `driftdeck.toml` and `models.yaml` are mounted in the job pods.
pub const CONFIG_MOUNT: &str = "/etc/driftdeck";
/// UID the job container runs as (the Dockerfile's non-root user).
pub const RUN_AS_USER: i64 = 10001;

/// One rendered object, typed.
// A few dozen objects rendered once per command: boxing the larger variants buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Manifest {
    /// core/v1 ServiceAccount.
    ServiceAccount(ServiceAccount),
    /// rbac.authorization.k8s.io/v1 Role.
    Role(Role),
    /// rbac.authorization.k8s.io/v1 RoleBinding.
    RoleBinding(RoleBinding),
    /// core/v1 PersistentVolumeClaim.
    PersistentVolumeClaim(PersistentVolumeClaim),
    /// core/v1 ConfigMap.
    ConfigMap(ConfigMap),
    /// batch/v1 CronJob.
    CronJob(CronJob),
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A built object does not parse as its Kubernetes type (a bug in the renderer).
    #[error("{kind} {name}: {message}")]
    Shape {
        /// Object kind.
        kind: &'static str,
        /// Object name.
        name: String,
        /// The deserialiser's message.
        message: String,
    },
    /// The settings are not usable.
    #[error("{0}")]
    Settings(String),
    /// YAML output failed.
    #[error("YAML: {0}")]
    Yaml(String),
    /// A manifest file could not be written.
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// The operating system's message.
        message: String,
    },
}

impl Manifest {
    /// `kind` of the object.
    pub fn kind(&self) -> &'static str {
        match self {
            Manifest::ServiceAccount(_) => "ServiceAccount",
            Manifest::Role(_) => "Role",
            Manifest::RoleBinding(_) => "RoleBinding",
            Manifest::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
            Manifest::ConfigMap(_) => "ConfigMap",
            Manifest::CronJob(_) => "CronJob",
        }
    }

    /// `metadata.name` of the object.
    pub fn name(&self) -> &str {
        let meta = match self {
            Manifest::ServiceAccount(o) => &o.metadata,
            Manifest::Role(o) => &o.metadata,
            Manifest::RoleBinding(o) => &o.metadata,
            Manifest::PersistentVolumeClaim(o) => &o.metadata,
            Manifest::ConfigMap(o) => &o.metadata,
            Manifest::CronJob(o) => &o.metadata,
        };
        meta.name.as_deref().unwrap_or("")
    }

    /// The object as JSON (with `apiVersion` and `kind`).
    pub fn to_json(&self) -> Value {
        let v = match self {
            Manifest::ServiceAccount(o) => serde_json::to_value(o),
            Manifest::Role(o) => serde_json::to_value(o),
            Manifest::RoleBinding(o) => serde_json::to_value(o),
            Manifest::PersistentVolumeClaim(o) => serde_json::to_value(o),
            Manifest::ConfigMap(o) => serde_json::to_value(o),
            Manifest::CronJob(o) => serde_json::to_value(o),
        };
        v.unwrap_or(Value::Null)
    }

    /// Parses one object by its `kind` (the reverse of [`Manifest::to_json`]).
    ///
    /// # Errors
    /// [`RenderError::Shape`] for an unknown kind or a body that is not that kind.
    pub fn from_json(value: Value) -> Result<Self, RenderError> {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let err = |k: &'static str, e: serde_json::Error| RenderError::Shape {
            kind: k,
            name: name.clone(),
            message: e.to_string(),
        };
        Ok(match kind.as_str() {
            "ServiceAccount" => Manifest::ServiceAccount(
                serde_json::from_value(value).map_err(|e| err("ServiceAccount", e))?,
            ),
            "Role" => Manifest::Role(serde_json::from_value(value).map_err(|e| err("Role", e))?),
            "RoleBinding" => Manifest::RoleBinding(
                serde_json::from_value(value).map_err(|e| err("RoleBinding", e))?,
            ),
            "PersistentVolumeClaim" => Manifest::PersistentVolumeClaim(
                serde_json::from_value(value).map_err(|e| err("PersistentVolumeClaim", e))?,
            ),
            "ConfigMap" => {
                Manifest::ConfigMap(serde_json::from_value(value).map_err(|e| err("ConfigMap", e))?)
            }
            "CronJob" => {
                Manifest::CronJob(serde_json::from_value(value).map_err(|e| err("CronJob", e))?)
            }
            _ => {
                return Err(RenderError::Shape {
                    kind: "unknown",
                    name,
                    message: format!("unexpected kind {kind:?}"),
                });
            }
        })
    }

    /// File name for `--out DIR`: `<NN>-<kind>-<name>.yaml`, `NN` the apply order.
    pub fn file_name(&self, index: usize) -> String {
        format!(
            "{index:02}-{}-{}.yaml",
            self.kind().to_ascii_lowercase(),
            self.name()
        )
    }

    /// The object as one YAML document (no `---`).
    ///
    /// # Errors
    /// [`RenderError::Yaml`].
    pub fn to_yaml(&self) -> Result<String, RenderError> {
        serde_yaml_ng::to_string(&self.to_json()).map_err(|e| RenderError::Yaml(e.to_string()))
    }
}

/// The files shipped in the `driftdeck-config` ConfigMap.
#[derive(Debug, Clone, Default)]
pub struct ConfigFiles {
    /// Text of `driftdeck.toml` as it should run in the cluster.
    pub driftdeck_toml: String,
    /// Text of `models.yaml`.
    pub models_yaml: String,
}

fn labels(model: Option<&ModelConfig>, action: Option<&str>) -> Value {
    let mut m = BTreeMap::from([(LABEL_APP.to_string(), APP.to_string())]);
    if let Some(model) = model {
        m.insert(LABEL_MODEL.into(), model.id.to_string());
        m.insert(LABEL_VALUE_STREAM.into(), model.value_stream.to_string());
    }
    if let Some(a) = action {
        m.insert(LABEL_ACTION.into(), a.to_string());
    }
    json!(m)
}

fn meta(name: &str, ns: &str, labels: Value) -> Value {
    json!({"name": name, "namespace": ns, "labels": labels})
}

fn security() -> (Value, Value) {
    (
        json!({"runAsNonRoot": true, "runAsUser": RUN_AS_USER, "runAsGroup": RUN_AS_USER,
               "fsGroup": RUN_AS_USER, "seccompProfile": {"type": "RuntimeDefault"}}),
        json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
               "capabilities": {"drop": ["ALL"]}}),
    )
}

/// The model's relative directory on EFS: `<value_stream>/<model_id>` (the benchmark layout).
pub fn efs_sub_path(model: &ModelConfig) -> String {
    format!("{}/{}", model.value_stream, model.id)
}

struct CronJobParts<'a> {
    name: String,
    schedule: &'a str,
    labels: Value,
    args: Vec<String>,
    env_from: Value,
    efs_mount: Value,
    /// Further mounts of the EFS volume (the model jobs' writable pending-queue directory).
    extra_mounts: Vec<Value>,
    deadline: i64,
}

fn cronjob(s: &KubernetesSettings, p: CronJobParts<'_>) -> Value {
    let (pod_sec, ctr_sec) = security();
    let mut mounts = vec![p.efs_mount];
    mounts.extend(p.extra_mounts);
    mounts.push(json!({"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": true}));
    mounts.push(json!({"name": "tmp", "mountPath": "/tmp"}));
    json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": meta(&p.name, &s.namespace, p.labels.clone()),
        "spec": {
            "schedule": p.schedule,
            "concurrencyPolicy": "Forbid",
            "suspend": false,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {
                "metadata": {"labels": p.labels.clone()},
                "spec": {
                    "activeDeadlineSeconds": p.deadline,
                    "backoffLimit": s.backoff_limit,
                    "template": {
                        "metadata": {"labels": p.labels},
                        "spec": {
                            "serviceAccountName": JOBS_ACCOUNT,
                            "automountServiceAccountToken": false,
                            "restartPolicy": "OnFailure",
                            "securityContext": pod_sec,
                            "containers": [{
                                "name": CONTAINER,
                                "image": s.image,
                                "args": p.args,
                                "env": [
                                    {"name": "DRIFTDECK_CONFIG",
                                     "value": format!("{CONFIG_MOUNT}/driftdeck.toml")},
                                    // the Job's name (set by the Job registry on its pods), then
                                    // the log reference the job records with its runs
                                    {"name": "DRIFTDECK_K8S_JOB", "valueFrom": {"fieldRef":
                                        {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}}},
                                    {"name": "DRIFTDECK_JOB_LOG",
                                     "value": format!("{}$(DRIFTDECK_K8S_JOB)", super::log_ref_prefix(&s.namespace))},
                                    // the Snowflake store's pending queue, on EFS (see PENDING_PATH)
                                    {"name": "DRIFTDECK_PENDING_PATH", "value": PENDING_PATH}
                                ],
                                "envFrom": p.env_from,
                                "resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                                              "limits": {"memory": "2Gi"}},
                                "securityContext": ctr_sec,
                                "volumeMounts": mounts
                            }],
                            "volumes": [
                                {"name": "efs", "persistentVolumeClaim": {"claimName": s.efs_claim}},
                                {"name": "config", "configMap": {"name": SHARED_CONFIGMAP}},
                                {"name": "tmp", "emptyDir": {}}
                            ]
                        }
                    }
                }
            }
        }
    })
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

/// The objects as JSON, in apply order (see the module docs).
pub fn render_json(
    models: &[ModelConfig],
    s: &KubernetesSettings,
    files: &ConfigFiles,
) -> Vec<Value> {
    let ns = s.namespace.as_str();
    let app = labels(None, None);
    let mut out = Vec::new();
    // The console: read CronJobs/Jobs/Pods and logs, create Jobs (rerun, backfill, refresh),
    // delete Jobs (cancel), patch CronJobs (suspend/resume). Nothing else, no Secrets.
    let console_rules = json!([
        rule(
            &["batch"],
            &["cronjobs"],
            &["get", "list", "watch", "patch"]
        ),
        rule(
            &["batch"],
            &["jobs"],
            &["get", "list", "watch", "create", "delete"]
        ),
        rule(&[""], &["pods"], &["get", "list", "watch"]),
        rule(&[""], &["pods/log"], &["get"]),
    ]);
    // The jobs need no API access (config and secrets arrive as env and volumes); the Role only
    // lets them read their own ConfigMaps, by name.
    let mut own_maps: Vec<String> = vec![SHARED_CONFIGMAP.into()];
    own_maps.extend(models.iter().map(|m| configmap_name(m.id.as_str())));
    let jobs_rules = json!([{"apiGroups": [""], "resources": ["configmaps"],
        "resourceNames": own_maps, "verbs": ["get"]}]);
    for (account, rules) in [(CONSOLE_ACCOUNT, console_rules), (JOBS_ACCOUNT, jobs_rules)] {
        let automount = account == CONSOLE_ACCOUNT;
        out.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": meta(account, ns, app.clone()),
            "automountServiceAccountToken": automount}));
        out.push(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": meta(account, ns, app.clone()), "rules": rules}),
        );
        out.push(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": meta(account, ns, app.clone()),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": ns}]}),
        );
    }
    out.push(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": meta(&s.efs_claim, ns, app.clone()),
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "efs-sc",
                 "resources": {"requests": {"storage": "5Gi"}}}}));
    out.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": meta(SHARED_CONFIGMAP, ns, app.clone()),
        "data": {"driftdeck.toml": files.driftdeck_toml, "models.yaml": files.models_yaml}}));
    for m in models {
        let cm = configmap_name(m.id.as_str());
        let sub = efs_sub_path(m);
        out.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": meta(&cm, ns, labels(Some(m), None)),
        "data": {
            "MODEL_ID": m.id.to_string(),
            "VALUE_STREAM": m.value_stream.to_string(),
            "THRESHOLD": m.thresholds.alert.to_string(),
            "BENCHMARKING_PATH": format!("{EFS_MOUNT}/{sub}/benchmark.csv"),
            "EMAIL_RECIPIENTS": m.recipients.email.join(","),
        }}));
        out.push(cronjob(
            s,
            CronJobParts {
                name: cronjob_name(m.id.as_str()),
                schedule: &m.schedule,
                labels: labels(Some(m), Some("schedule")),
                args: vec!["run".into(), "--model".into(), m.id.to_string()],
                env_from: json!([
                    {"configMapRef": {"name": cm}},
                    {"secretRef": {"name": s.snowflake_secret, "optional": true}}
                ]),
                efs_mount: json!({"name": "efs", "mountPath": format!("{EFS_MOUNT}/{sub}"),
                                  "subPath": sub, "readOnly": true}),
                // the benchmark directory is read-only; the pending queue needs a writable one
                extra_mounts: vec![json!({"name": "efs",
                    "mountPath": format!("{EFS_MOUNT}/{PENDING_DIR}"), "subPath": PENDING_DIR})],
                deadline: s.deadline_seconds,
            },
        ));
    }
    out.push(cronjob(
        s,
        CronJobParts {
            name: REFRESH_CRONJOB.into(),
            schedule: &s.refresh_schedule,
            labels: labels(None, Some("refresh")),
            args: vec!["refresh-benchmarks".into(), "--all".into()],
            env_from: json!([{"secretRef": {"name": s.snowflake_secret}}]),
            efs_mount: json!({"name": "efs", "mountPath": EFS_MOUNT}),
            // the whole volume, writable: PENDING_PATH is inside it
            extra_mounts: Vec::new(),
            deadline: s.refresh_deadline_seconds,
        },
    ));
    out
}

/// The typed objects, in apply order.
///
/// # Errors
/// [`RenderError::Settings`] for invalid settings, [`RenderError::Shape`] if an object does not
/// parse as its type.
pub fn render(
    models: &[ModelConfig],
    s: &KubernetesSettings,
    files: &ConfigFiles,
) -> Result<Vec<Manifest>, RenderError> {
    s.validate().map_err(RenderError::Settings)?;
    render_json(models, s, files)
        .into_iter()
        .map(Manifest::from_json)
        .collect()
}

/// The objects as one YAML stream (`---` between documents), for stdout.
///
/// # Errors
/// [`RenderError::Yaml`].
pub fn to_yaml_stream(manifests: &[Manifest]) -> Result<String, RenderError> {
    let mut out = String::new();
    for m in manifests {
        out.push_str("---\n");
        out.push_str(&m.to_yaml()?);
    }
    Ok(out)
}

/// Parses a YAML stream (as written by [`to_yaml_stream`] or the files of `--out`) back into
/// typed objects.
///
/// # Errors
/// [`RenderError::Yaml`] for YAML that does not parse, [`RenderError::Shape`] for an object that
/// is not its kind.
pub fn parse_yaml_stream(text: &str) -> Result<Vec<Manifest>, RenderError> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(doc)
            .map_err(|e: serde_yaml_ng::Error| RenderError::Yaml(e.to_string()))?;
        if v.is_null() {
            continue;
        }
        out.push(Manifest::from_json(v)?);
    }
    Ok(out)
}

/// Writes one `NN-kind-name.yaml` per object into `dir` (created if missing); returns the paths.
///
/// # Errors
/// [`RenderError::Io`] naming the file, [`RenderError::Yaml`].
pub fn write_dir(
    manifests: &[Manifest],
    dir: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>, RenderError> {
    let io = |p: &std::path::Path, e: std::io::Error| RenderError::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut out = Vec::with_capacity(manifests.len());
    for (i, m) in manifests.iter().enumerate() {
        let path = dir.join(m.file_name(i));
        std::fs::write(&path, m.to_yaml()?).map_err(|e| io(&path, e))?;
        out.push(path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_models() -> Vec<ModelConfig> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        crate::config::load(Some(&root.join("config/driftdeck.toml")))
            .unwrap()
            .models
    }

    #[test]
    fn typed_objects_keep_every_rendered_field() {
        let s = KubernetesSettings::default();
        let files = ConfigFiles {
            driftdeck_toml: "[orchestrator]\n".into(),
            models_yaml: "models: []\n".into(),
        };
        let json = render_json(&demo_models(), &s, &files);
        assert_eq!(json.len(), 21);
        for v in json {
            let typed = Manifest::from_json(v.clone()).unwrap();
            // a misspelt or misplaced field would be dropped by the typed deserialiser
            assert_eq!(typed.to_json(), v, "{} {}", typed.kind(), typed.name());
        }
    }

    #[test]
    fn unknown_kind_and_bad_shape_are_errors() {
        let err = Manifest::from_json(json!({"kind": "Secret", "metadata": {"name": "x"}}));
        assert!(err.unwrap_err().to_string().contains("Secret"));
        let err = Manifest::from_json(json!({"kind": "CronJob", "metadata": {"name": "x"},
            "spec": {"schedule": 5}}));
        assert!(matches!(
            err,
            Err(RenderError::Shape {
                kind: "CronJob",
                ..
            })
        ));
        assert!(parse_yaml_stream("kind: [unclosed").is_err());
    }
}
