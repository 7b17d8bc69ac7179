//! Jobs built from CronJobs, exactly as `kubectl create job NAME --from=cronjob/CJ` builds them
//! (kubectl's `createJobFromCronJob`), plus the driftdeck specifics of a rerun, a backfill date or
//! a benchmark refresh (labels, container arguments).

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::names::{
    ANNOTATION_INSTANTIATE, LABEL_ACTION, LABEL_APP, LABEL_DATE, LABEL_MODEL, LABEL_TRIGGERED_BY,
    LABEL_VALUE_STREAM, label_value,
};

/// Name of the job container in the rendered CronJobs; the builder sets the arguments of the
/// container with this name (or of the first container when none has it).
pub const CONTAINER: &str = "driftdeck";

/// What a console-made Job does; decides its labels and container arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobAction {
    /// `driftdeck run --model M --date D` (the console's `r`).
    Rerun {
        /// Calculation date, `YYYY-MM-DD`.
        date: String,
    },
    /// One date of a backfill: `driftdeck run --model M --date D`, labelled `backfill`.
    Backfill {
        /// Calculation date, `YYYY-MM-DD`.
        date: String,
    },
    /// `driftdeck refresh-benchmarks --model M | --value-stream VS | --all [--dry-run]` (from the
    /// refresh CronJob).
    Refresh {
        /// Model to refresh.
        model: Option<String>,
        /// Value stream to refresh when no model is given (neither = every model).
        value_stream: Option<String>,
        /// Report what would be refreshed without writing a benchmark.
        dry_run: bool,
    },
}

impl JobAction {
    /// Value of the `driftdeck.io/action` label: `rerun`, `backfill`, `refresh`.
    pub fn label(&self) -> &'static str {
        match self {
            JobAction::Rerun { .. } => "rerun",
            JobAction::Backfill { .. } => "backfill",
            JobAction::Refresh { .. } => "refresh",
        }
    }

    /// Calculation date of a rerun or backfill Job.
    pub fn date(&self) -> Option<&str> {
        match self {
            JobAction::Rerun { date } | JobAction::Backfill { date } => Some(date),
            JobAction::Refresh { .. } => None,
        }
    }

    /// Container arguments: the driftdeck job CLI contract after the binary name, the same as
    /// the orchestrator's `JobSpec::cli_args` (`run --model M --date D --triggered-by U --run-id
    /// N`, `refresh-benchmarks --model M [--dry-run] --triggered-by U --run-id N`).
    pub fn args(&self, model: &str, triggered_by: &str, run_id: &str) -> Vec<String> {
        let mut a: Vec<String> = match self {
            JobAction::Rerun { date } | JobAction::Backfill { date } => {
                ["run", "--model", model, "--date", date]
                    .map(String::from)
                    .to_vec()
            }
            JobAction::Refresh {
                model: m,
                value_stream,
                dry_run,
            } => {
                let mut a = vec!["refresh-benchmarks".to_string()];
                match (m, value_stream) {
                    (Some(m), _) => a.extend(["--model".into(), m.clone()]),
                    (None, Some(vs)) => a.extend(["--value-stream".into(), vs.clone()]),
                    (None, None) => a.push("--all".into()),
                }
                if *dry_run {
                    a.push("--dry-run".into());
                }
                a
            }
        };
        a.extend([
            "--triggered-by".into(),
            triggered_by.to_string(),
            "--run-id".into(),
            run_id.to_string(),
        ]);
        a
    }
}

/// The Job `kubectl create job <name> --from=cronjob/<cronjob> --dry-run=client -o json` builds:
/// `apiVersion: batch/v1`, `kind: Job`; the CronJob's namespace; labels of
/// `jobTemplate.metadata`; annotations `cronjob.kubernetes.io/instantiate: manual` overlaid by
/// those of `jobTemplate.metadata`; one ownerReference (batch/v1 CronJob, name, uid,
/// `controller: true`, no `blockOwnerDeletion`); `spec` = `jobTemplate.spec`.
pub fn job_from_cronjob(cronjob: &CronJob, name: &str) -> Job {
    let template = cronjob.spec.as_ref().map(|s| &s.job_template);
    let tmeta = template.and_then(|t| t.metadata.as_ref());
    let mut annotations = BTreeMap::from([(ANNOTATION_INSTANTIATE.to_string(), "manual".into())]);
    if let Some(a) = tmeta.and_then(|m| m.annotations.as_ref()) {
        annotations.extend(a.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Job {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: cronjob.metadata.namespace.clone(),
            labels: tmeta.and_then(|m| m.labels.clone()),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                name: cronjob.metadata.name.clone().unwrap_or_default(),
                uid: cronjob.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: None,
            }]),
            ..ObjectMeta::default()
        },
        spec: template.and_then(|t| t.spec.clone()),
        status: None,
    }
}

/// A console Job for `model` from its CronJob: [`job_from_cronjob`], then the labels
/// `app.kubernetes.io/name`, `driftdeck.io/model`, `driftdeck.io/value-stream` (kept from the
/// template when present), `driftdeck.io/action`, `driftdeck.io/calculation-date` and
/// `driftdeck.io/triggered-by` on the Job and its pod template, and the arguments of
/// [`JobAction::args`] on the driftdeck container. The pod template keeps everything else
/// (image, `envFrom`, the EFS volume, `restartPolicy`).
pub fn console_job(
    cronjob: &CronJob,
    name: &str,
    model: &str,
    value_stream: Option<&str>,
    action: &JobAction,
    triggered_by: &str,
) -> Job {
    let mut job = job_from_cronjob(cronjob, name);
    let mut extra = BTreeMap::from([
        (LABEL_APP.to_string(), super::names::APP.to_string()),
        (LABEL_ACTION.to_string(), action.label().to_string()),
        (LABEL_TRIGGERED_BY.to_string(), label_value(triggered_by)),
    ]);
    match action {
        JobAction::Refresh {
            model: m,
            value_stream: vs,
            ..
        } => {
            if let Some(m) = m {
                extra.insert(LABEL_MODEL.into(), m.clone());
            }
            if let Some(vs) = vs {
                extra.insert(LABEL_VALUE_STREAM.into(), vs.clone());
            }
        }
        _ => {
            extra.insert(LABEL_MODEL.into(), model.to_string());
            if let Some(vs) = value_stream {
                extra.insert(LABEL_VALUE_STREAM.into(), vs.to_string());
            }
        }
    }
    if let Some(d) = action.date() {
        extra.insert(LABEL_DATE.into(), d.to_string());
    }
    job.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .extend(extra.clone());
    let arg_model = match action {
        JobAction::Refresh { model: Some(m), .. } => m.as_str(),
        _ => model,
    };
    let args = action.args(arg_model, triggered_by, name);
    if let Some(spec) = job.spec.as_mut() {
        spec.template
            .metadata
            .get_or_insert_with(ObjectMeta::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .extend(extra);
        if let Some(pod) = spec.template.spec.as_mut() {
            let idx = pod
                .containers
                .iter()
                .position(|c| c.name == CONTAINER)
                .unwrap_or(0);
            if let Some(c) = pod.containers.get_mut(idx) {
                c.args = Some(args);
            }
        }
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{CronJobSpec, JobSpec, JobTemplateSpec};
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};

    fn cronjob() -> CronJob {
        CronJob {
            metadata: ObjectMeta {
                name: Some("model-x-cronjob".into()),
                namespace: Some("model-monitoring".into()),
                uid: Some("1b2c".into()),
                ..Default::default()
            },
            spec: Some(CronJobSpec {
                schedule: "0 2 * * *".into(),
                job_template: JobTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(BTreeMap::from([
                            (LABEL_MODEL.into(), "model_x".into()),
                            (LABEL_ACTION.into(), "schedule".into()),
                        ])),
                        annotations: Some(BTreeMap::from([("team".into(), "risk".into())])),
                        ..Default::default()
                    }),
                    spec: Some(JobSpec {
                        backoff_limit: Some(2),
                        template: PodTemplateSpec {
                            metadata: None,
                            spec: Some(PodSpec {
                                restart_policy: Some("OnFailure".into()),
                                containers: vec![Container {
                                    name: CONTAINER.into(),
                                    image: Some("img:1".into()),
                                    args: Some(vec![
                                        "run".into(),
                                        "--model".into(),
                                        "model_x".into(),
                                    ]),
                                    ..Default::default()
                                }],
                                ..Default::default()
                            }),
                        },
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            status: None,
        }
    }

    #[test]
    fn matches_kubectl_golden_json() {
        let job = job_from_cronjob(&cronjob(), "manual-1");
        let json = serde_json::to_value(&job).unwrap();
        let golden = serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {
                "name": "manual-1", "namespace": "model-monitoring",
                "labels": {"driftdeck.io/model": "model_x", "driftdeck.io/action": "schedule"},
                "annotations": {"cronjob.kubernetes.io/instantiate": "manual", "team": "risk"},
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                    "name": "model-x-cronjob", "uid": "1b2c", "controller": true}]
            },
            "spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "OnFailure",
                "containers": [{"name": "driftdeck", "image": "img:1",
                    "args": ["run", "--model", "model_x"]}]}}}
        });
        assert_eq!(json, golden);
    }

    #[test]
    fn rerun_sets_labels_and_date_argument() {
        let job = console_job(
            &cronjob(),
            "model-x-rerun-20130201-abcde",
            "model_x",
            Some("vs1"),
            &JobAction::Rerun {
                date: "2013-02-01".into(),
            },
            "ana",
        );
        let labels = job.metadata.labels.clone().unwrap();
        assert_eq!(labels[LABEL_ACTION], "rerun");
        assert_eq!(labels[LABEL_DATE], "2013-02-01");
        assert_eq!(labels[LABEL_VALUE_STREAM], "vs1");
        let spec = job.spec.unwrap();
        assert_eq!(
            spec.template.metadata.unwrap().labels.unwrap()[LABEL_DATE],
            "2013-02-01"
        );
        let args = spec.template.spec.unwrap().containers[0]
            .args
            .clone()
            .unwrap();
        assert_eq!(
            args,
            [
                "run",
                "--model",
                "model_x",
                "--date",
                "2013-02-01",
                "--triggered-by",
                "ana",
                "--run-id",
                "model-x-rerun-20130201-abcde"
            ]
        );
    }

    #[test]
    fn refresh_args() {
        let a = JobAction::Refresh {
            model: None,
            value_stream: Some("airports".into()),
            dry_run: true,
        };
        assert_eq!(
            a.args("", "x", "y"),
            [
                "refresh-benchmarks",
                "--value-stream",
                "airports",
                "--dry-run",
                "--triggered-by",
                "x",
                "--run-id",
                "y"
            ]
        );
        assert_eq!(a.date(), None);
    }
}
