//! The Kubernetes backend proper: discovery and status of the driftdeck CronJobs, Jobs and Pods
//! of one namespace, a watch that survives `410 Gone` and network errors, pod log streams, and
//! the actions (rerun, backfill with bounded Jobs in flight, refresh, suspend/resume).
//!
//! Every call goes through the real [`kube::Client`]; API failures become a [`KubeError`] with
//! the HTTP code and the API server's reason (403, 404, 409, unreachable), never a panic.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use futures::{AsyncBufReadExt, Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{
    Api, ListParams, LogParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use tokio::sync::mpsc;

use super::builder::{JobAction, console_job};
use super::names::{
    APP, LABEL_ACTION, LABEL_APP, LABEL_DATE, LABEL_MODEL, LABEL_TRIGGERED_BY, LABEL_VALUE_STREAM,
    REFRESH_CRONJOB, cronjob_name, job_name,
};
use super::status::{RunPhase, RunStatus, run_status, to_utc};
use crate::config::KubernetesSettings;

/// Longest log line kept, in bytes; longer lines are cut (with a `…` marker).
pub const MAX_LOG_LINE: usize = 16 * 1024;

/// Errors of the Kubernetes backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeError {
    /// No usable kubeconfig / in-cluster configuration, or an unknown context.
    #[error("kubernetes configuration: {0}")]
    Config(String),
    /// The API server answered with an error status (403 forbidden, 404 not found, 409 conflict…).
    #[error("{action}: {code} {reason}: {message}")]
    Api {
        /// What was attempted, e.g. `create Job x`.
        action: String,
        /// HTTP status code.
        code: u16,
        /// The Status reason (`Forbidden`, `NotFound`, `AlreadyExists`, `Expired`…).
        reason: String,
        /// The API server's message.
        message: String,
    },
    /// The API server could not be reached or the connection broke.
    #[error("{action}: API server unreachable: {message}")]
    Unreachable {
        /// What was attempted.
        action: String,
        /// The client's message.
        message: String,
    },
    /// The model has no CronJob in the namespace (nothing to build a Job from).
    #[error(
        "no CronJob for model {model} in namespace {namespace} (render and apply the manifests first)"
    )]
    NoCronJob {
        /// Model id.
        model: String,
        /// Namespace searched.
        namespace: String,
    },
    /// The Job has no pod yet, so it has no logs.
    #[error("Job {0} has no pod yet")]
    NoPod(String),
}

impl KubeError {
    /// HTTP code of an API error.
    pub fn code(&self) -> Option<u16> {
        match self {
            KubeError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

fn api_err(action: impl Into<String>, e: kube::Error) -> KubeError {
    let action = action.into();
    match e {
        kube::Error::Api(s) => KubeError::Api {
            action,
            code: s.code,
            reason: s.reason.clone(),
            message: s.message.clone(),
        },
        other => KubeError::Unreachable {
            action,
            message: other.to_string(),
        },
    }
}

/// One driftdeck CronJob.
#[derive(Debug, Clone, PartialEq)]
pub struct CronJobInfo {
    /// CronJob name.
    pub name: String,
    /// Model id (label `driftdeck.io/model`); `None` for the refresh CronJob.
    pub model: Option<String>,
    /// Value stream label.
    pub value_stream: Option<String>,
    /// Cron schedule.
    pub schedule: String,
    /// `spec.suspend`.
    pub suspended: bool,
    /// `status.lastScheduleTime` (UTC).
    pub last_schedule: Option<DateTime<Utc>>,
    /// Next firing after now per the schedule (UTC, as a CronJob without `timeZone` on a UTC
    /// cluster); `None` when suspended or the schedule does not parse.
    pub next_schedule: Option<DateTime<Utc>>,
    /// Jobs the CronJob controller reports active.
    pub active: usize,
}

/// One driftdeck Job with its mapped status.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// Job name (also the `--run-id` of console Jobs).
    pub name: String,
    /// Model id label.
    pub model: Option<String>,
    /// Value stream label.
    pub value_stream: Option<String>,
    /// Action label: `schedule`, `rerun`, `backfill`, `refresh`.
    pub action: String,
    /// Calculation date label.
    pub date: Option<NaiveDate>,
    /// Triggered-by label (`schedule` for Jobs of the CronJob controller).
    pub triggered_by: String,
    /// Status from the Job and its Pods.
    pub status: RunStatus,
    /// `metadata.creationTimestamp` (UTC).
    pub created_at: Option<DateTime<Utc>>,
    /// Names of its Pods, newest first.
    pub pods: Vec<String>,
}

/// Options of a log stream (the `pods/log` query).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep the stream open and deliver new lines.
    pub follow: bool,
    /// Only lines newer than this many seconds.
    pub since_seconds: Option<i64>,
    /// Only the last N lines.
    pub tail_lines: Option<i64>,
    /// The previous (crashed) container's log.
    pub previous: bool,
}

/// What the watch reports; on any of these the console re-reads [`KubeBackend::runs`].
#[derive(Debug, Clone, PartialEq)]
pub enum WatchSignal {
    /// The watch (re)started from a fresh list at this resourceVersion.
    Listed {
        /// resourceVersion of the list.
        resource_version: String,
    },
    /// A Job was added, modified or deleted.
    Changed {
        /// Job name.
        name: String,
        /// Its mapped status (`None` when deleted).
        status: Option<RunStatus>,
    },
    /// The resourceVersion expired (410 Gone): the watch lists again.
    Expired,
    /// An error; the watch retries after a back-off.
    Error(KubeError),
}

/// Result of a backfill.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackfillReport {
    /// Jobs created, in date order.
    pub created: Vec<String>,
    /// Dates skipped, with why (a Job for the date is already running, or was just created by
    /// someone else: 409).
    pub skipped: Vec<(NaiveDate, String)>,
    /// Dates whose Job could not be created.
    pub failed: Vec<(NaiveDate, KubeError)>,
}

/// The Kubernetes backend of one namespace.
#[derive(Clone)]
pub struct KubeBackend {
    client: Client,
    settings: KubernetesSettings,
    context: String,
    poll: Duration,
}

impl std::fmt::Debug for KubeBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeBackend")
            .field("context", &self.context)
            .field("namespace", &self.settings.namespace)
            .finish()
    }
}

fn selector_app() -> String {
    format!("{LABEL_APP}={APP}")
}

fn label<'a>(labels: Option<&'a BTreeMap<String, String>>, key: &str) -> Option<&'a String> {
    labels.and_then(|l| l.get(key))
}

/// Next firing of a 5-field cron expression (or `@daily`-style nickname) after `after`, UTC.
pub fn next_schedule(expr: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    use croner::parser::{CronParser, Seconds, Year};
    let cron = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
        .ok()?;
    cron.find_next_occurrence(&after, false).ok()
}

fn cut_line(mut line: String) -> String {
    if line.len() > MAX_LOG_LINE {
        let mut end = MAX_LOG_LINE;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push('…');
    }
    line
}

impl KubeBackend {
    /// Connects with the kubeconfig (`KUBECONFIG` or `~/.kube/config`, the settings' context or
    /// the current one); without a kubeconfig and no context asked, the in-cluster config.
    ///
    /// # Errors
    /// [`KubeError::Config`] naming the context or the missing configuration.
    pub async fn connect(settings: KubernetesSettings) -> Result<Self, KubeError> {
        settings.validate().map_err(KubeError::Config)?;
        let options = KubeConfigOptions {
            context: settings.context.clone(),
            ..Default::default()
        };
        let (config, context) = match Config::from_kubeconfig(&options).await {
            Ok(c) => {
                let ctx = match &settings.context {
                    Some(c) => c.clone(),
                    None => Kubeconfig::read()
                        .ok()
                        .and_then(|k| k.current_context)
                        .unwrap_or_else(|| "kubeconfig".into()),
                };
                (c, ctx)
            }
            Err(e) if settings.context.is_some() => {
                return Err(KubeError::Config(format!(
                    "context {:?}: {e}",
                    settings.context.as_deref().unwrap_or("")
                )));
            }
            Err(kubeconfig_err) => match Config::incluster() {
                Ok(c) => (c, "in-cluster".into()),
                Err(e) => {
                    return Err(KubeError::Config(format!(
                        "no kubeconfig ({kubeconfig_err}) and not in a cluster ({e})"
                    )));
                }
            },
        };
        let client = Client::try_from(config).map_err(|e| KubeError::Config(e.to_string()))?;
        Ok(Self::from_client(client, settings, context))
    }

    /// A backend over an existing client; `context` is the name shown in the console header.
    pub fn from_client(client: Client, settings: KubernetesSettings, context: String) -> Self {
        Self {
            client,
            settings,
            context,
            poll: Duration::from_secs(2),
        }
    }

    /// Interval at which a backfill re-counts its Jobs in flight (default 2 s).
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// kube context name (or `in-cluster`).
    pub fn context(&self) -> &str {
        &self.context
    }

    /// Namespace.
    pub fn namespace(&self) -> &str {
        &self.settings.namespace
    }

    /// The settings.
    pub fn settings(&self) -> &KubernetesSettings {
        &self.settings
    }

    fn cronjobs_api(&self) -> Api<CronJob> {
        Api::namespaced(self.client.clone(), &self.settings.namespace)
    }
    fn jobs_api(&self) -> Api<Job> {
        Api::namespaced(self.client.clone(), &self.settings.namespace)
    }
    fn pods_api(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.settings.namespace)
    }

    /// The driftdeck CronJobs (label `app.kubernetes.io/name=driftdeck`), by name.
    ///
    /// # Errors
    /// [`KubeError::Api`] / [`KubeError::Unreachable`].
    pub async fn cronjobs(&self) -> Result<Vec<CronJobInfo>, KubeError> {
        let list = self
            .cronjobs_api()
            .list(&ListParams::default().labels(&selector_app()))
            .await
            .map_err(|e| api_err("list CronJobs", e))?;
        let now = Utc::now();
        let mut out: Vec<CronJobInfo> = list
            .items
            .into_iter()
            .map(|cj| {
                let labels = cj.metadata.labels.as_ref();
                let spec = cj.spec.as_ref();
                let schedule = spec.map(|s| s.schedule.clone()).unwrap_or_default();
                let suspended = spec.and_then(|s| s.suspend).unwrap_or(false);
                CronJobInfo {
                    name: cj.metadata.name.clone().unwrap_or_default(),
                    model: label(labels, LABEL_MODEL).cloned(),
                    value_stream: label(labels, LABEL_VALUE_STREAM).cloned(),
                    next_schedule: if suspended {
                        None
                    } else {
                        next_schedule(&schedule, now)
                    },
                    schedule,
                    suspended,
                    last_schedule: cj
                        .status
                        .as_ref()
                        .and_then(|s| s.last_schedule_time.as_ref())
                        .and_then(to_utc),
                    active: cj
                        .status
                        .as_ref()
                        .and_then(|s| s.active.as_ref())
                        .map_or(0, Vec::len),
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Every driftdeck Job with its status, newest first.
    ///
    /// # Errors
    /// [`KubeError::Api`] / [`KubeError::Unreachable`].
    pub async fn runs(&self) -> Result<Vec<RunInfo>, KubeError> {
        self.runs_matching(&selector_app()).await
    }

    async fn runs_matching(&self, selector: &str) -> Result<Vec<RunInfo>, KubeError> {
        let lp = ListParams::default().labels(selector);
        let (jobs, pods) = futures::try_join!(
            async {
                self.jobs_api()
                    .list(&lp)
                    .await
                    .map_err(|e| api_err("list Jobs", e))
            },
            async {
                self.pods_api()
                    .list(&lp)
                    .await
                    .map_err(|e| api_err("list Pods", e))
            },
        )?;
        let mut by_job: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
        for pod in pods.items {
            if let Some(job) = pod_job_name(&pod) {
                by_job.entry(job).or_default().push(pod);
            }
        }
        let mut out: Vec<RunInfo> = jobs
            .items
            .iter()
            .map(|job| {
                let name = job.metadata.name.clone().unwrap_or_default();
                let mut pods = by_job.remove(&name).unwrap_or_default();
                pods.sort_by(|a, b| {
                    b.metadata
                        .creation_timestamp
                        .as_ref()
                        .map(|t| t.0)
                        .cmp(&a.metadata.creation_timestamp.as_ref().map(|t| t.0))
                });
                run_info(job, &pods)
            })
            .collect();
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.name.cmp(&b.name)));
        Ok(out)
    }

    /// The CronJob of `model`: the one labelled with the model and action `schedule`, else the
    /// rendered name `<model>-cronjob`.
    ///
    /// # Errors
    /// [`KubeError::NoCronJob`], API errors.
    pub async fn model_cronjob(&self, model: &str) -> Result<CronJob, KubeError> {
        let lp =
            ListParams::default().labels(&format!("{LABEL_MODEL}={model},{LABEL_ACTION}=schedule"));
        let list = self
            .cronjobs_api()
            .list(&lp)
            .await
            .map_err(|e| api_err(format!("list CronJobs of {model}"), e))?;
        if let Some(cj) = list.items.into_iter().next() {
            return Ok(cj);
        }
        let name = cronjob_name(model);
        match self.cronjobs_api().get_opt(&name).await {
            Ok(Some(cj)) => Ok(cj),
            Ok(None) => Err(KubeError::NoCronJob {
                model: model.into(),
                namespace: self.settings.namespace.clone(),
            }),
            Err(e) => Err(api_err(format!("get CronJob {name}"), e)),
        }
    }

    /// Jobs of `model` with `action` and `date` (any state).
    async fn jobs_for(
        &self,
        model: &str,
        action: &str,
        date: Option<&str>,
    ) -> Result<Vec<Job>, KubeError> {
        let mut sel = format!("{LABEL_MODEL}={model},{LABEL_ACTION}={action}");
        if let Some(d) = date {
            sel.push_str(&format!(",{LABEL_DATE}={d}"));
        }
        Ok(self
            .jobs_api()
            .list(&ListParams::default().labels(&sel))
            .await
            .map_err(|e| api_err(format!("list Jobs of {model}"), e))?
            .items)
    }

    async fn create_from(
        &self,
        cronjob: &CronJob,
        model: &str,
        action: &JobAction,
        triggered_by: &str,
    ) -> Result<Job, KubeError> {
        let existing = self.jobs_for(model, action.label(), action.date()).await?;
        let name = job_name(model, action.label(), action.date(), existing.len());
        let vs = label(cronjob.metadata.labels.as_ref(), LABEL_VALUE_STREAM).map(String::as_str);
        let job = console_job(cronjob, &name, model, vs, action, triggered_by);
        self.jobs_api()
            .create(&PostParams::default(), &job)
            .await
            .map_err(|e| api_err(format!("create Job {name}"), e))
    }

    /// Reruns `model` on `date`: a Job from the model's CronJob (as `kubectl create job
    /// --from=cronjob/…`) with `--date`. Returns the created Job's name.
    ///
    /// # Errors
    /// [`KubeError::NoCronJob`]; [`KubeError::Api`] with 409 when the same rerun is being
    /// created concurrently, 403 without the `create jobs` permission.
    pub async fn rerun(
        &self,
        model: &str,
        date: NaiveDate,
        triggered_by: &str,
    ) -> Result<String, KubeError> {
        let job = self.rerun_job(model, date, triggered_by).await?;
        Ok(job.metadata.name.unwrap_or_default())
    }

    /// [`KubeBackend::rerun`] returning the created Job as the API server answered it.
    ///
    /// # Errors
    /// As [`KubeBackend::rerun`].
    pub async fn rerun_job(
        &self,
        model: &str,
        date: NaiveDate,
        triggered_by: &str,
    ) -> Result<Job, KubeError> {
        let cj = self.model_cronjob(model).await?;
        let action = JobAction::Rerun {
            date: date.format("%Y-%m-%d").to_string(),
        };
        self.create_from(&cj, model, &action, triggered_by).await
    }

    /// Backfills `model` over `dates`: one Job per date, at most `[orchestrator] concurrency`
    /// backfill Jobs of the model unfinished at once (re-counted every poll interval), and no Job
    /// for a date that already has an unfinished one. Returns when every Job is created (not
    /// finished); follow them with [`KubeBackend::watch`].
    ///
    /// # Errors
    /// [`KubeError::NoCronJob`]; errors of single dates are in the report.
    pub async fn backfill(
        &self,
        model: &str,
        dates: &[NaiveDate],
        triggered_by: &str,
    ) -> Result<BackfillReport, KubeError> {
        let never = std::sync::atomic::AtomicBool::new(false);
        self.backfill_with(model, dates, triggered_by, &never, &mut |_| {})
            .await
    }

    /// [`KubeBackend::backfill`] that stops creating Jobs once `cancel` is set, and reports each
    /// date's outcome to `progress` as it happens (a line such as `2013-02-01: created Job x`).
    ///
    /// # Errors
    /// As [`KubeBackend::backfill`].
    pub async fn backfill_with(
        &self,
        model: &str,
        dates: &[NaiveDate],
        triggered_by: &str,
        cancel: &std::sync::atomic::AtomicBool,
        progress: &mut (dyn FnMut(String) + Send),
    ) -> Result<BackfillReport, KubeError> {
        use std::sync::atomic::Ordering;
        let cj = self.model_cronjob(model).await?;
        let limit = self.settings.concurrency.max(1);
        let mut report = BackfillReport::default();
        for &date in dates {
            if cancel.load(Ordering::Relaxed) {
                progress(format!("{date}: not started (cancelled)"));
                continue;
            }
            let d = date.format("%Y-%m-%d").to_string();
            // Any unfinished Job of this model and date (scheduled, rerun or backfill)?
            let sel = format!("{LABEL_MODEL}={model},{LABEL_DATE}={d}");
            let same_date = self.runs_matching(&sel).await?;
            if let Some(r) = same_date.iter().find(|r| !r.status.phase.is_final()) {
                let why = format!("Job {} is {}", r.name, r.status.phase);
                progress(format!("{date}: skipped, {why}"));
                report.skipped.push((date, why));
                continue;
            }
            loop {
                let in_flight = self
                    .jobs_for(model, "backfill", None)
                    .await?
                    .iter()
                    .filter(|j| !run_status(j, &[]).phase.is_final())
                    .count();
                if in_flight < limit || cancel.load(Ordering::Relaxed) {
                    break;
                }
                tokio::time::sleep(self.poll).await;
            }
            if cancel.load(Ordering::Relaxed) {
                progress(format!("{date}: not started (cancelled)"));
                continue;
            }
            match self
                .create_from(&cj, model, &JobAction::Backfill { date: d }, triggered_by)
                .await
            {
                Ok(job) => {
                    let name = job.metadata.name.unwrap_or_default();
                    progress(format!("{date}: created Job {name}"));
                    report.created.push(name);
                }
                Err(e) if e.code() == Some(409) => {
                    progress(format!("{date}: skipped, {e}"));
                    report.skipped.push((date, format!("already exists: {e}")));
                }
                Err(e) => {
                    progress(format!("{date}: FAILED to create: {e}"));
                    report.failed.push((date, e));
                }
            }
        }
        Ok(report)
    }

    /// One Job with its Pods.
    ///
    /// # Errors
    /// [`KubeError::Api`] with 404 for an unknown Job; other API errors.
    pub async fn run(&self, name: &str) -> Result<RunInfo, KubeError> {
        let job = self
            .jobs_api()
            .get(name)
            .await
            .map_err(|e| api_err(format!("get Job {name}"), e))?;
        let sel = format!("batch.kubernetes.io/job-name={name}");
        let pods = self
            .pods_api()
            .list(&ListParams::default().labels(&sel))
            .await
            .map_err(|e| api_err(format!("list Pods of Job {name}"), e))?
            .items;
        Ok(run_info(&job, &pods))
    }

    /// Deletes a Job and (background propagation) its Pods, as `kubectl delete job` does.
    ///
    /// # Errors
    /// API errors (404 for an unknown Job, 403 without `delete jobs`).
    pub async fn delete_job(&self, name: &str) -> Result<(), KubeError> {
        self.jobs_api()
            .delete(name, &kube::api::DeleteParams::background())
            .await
            .map_err(|e| api_err(format!("delete Job {name}"), e))?;
        Ok(())
    }

    /// Refreshes the benchmark of `model` (or every model of `value_stream`): a Job from the
    /// refresh CronJob with that selection. Returns the Job name.
    ///
    /// # Errors
    /// [`KubeError::NoCronJob`] when the refresh CronJob is missing; API errors.
    pub async fn refresh(
        &self,
        model: Option<&str>,
        value_stream: Option<&str>,
        dry_run: bool,
        triggered_by: &str,
    ) -> Result<String, KubeError> {
        let job = self
            .refresh_job(model, value_stream, dry_run, triggered_by)
            .await?;
        Ok(job.metadata.name.unwrap_or_default())
    }

    /// [`KubeBackend::refresh`] returning the created Job as the API server answered it.
    ///
    /// # Errors
    /// As [`KubeBackend::refresh`].
    pub async fn refresh_job(
        &self,
        model: Option<&str>,
        value_stream: Option<&str>,
        dry_run: bool,
        triggered_by: &str,
    ) -> Result<Job, KubeError> {
        let cj = match self.cronjobs_api().get_opt(REFRESH_CRONJOB).await {
            Ok(Some(cj)) => cj,
            Ok(None) => {
                return Err(KubeError::NoCronJob {
                    model: "(benchmark refresh)".into(),
                    namespace: self.settings.namespace.clone(),
                });
            }
            Err(e) => return Err(api_err(format!("get CronJob {REFRESH_CRONJOB}"), e)),
        };
        let target = model.or(value_stream).unwrap_or("all");
        let action = JobAction::Refresh {
            model: model.map(str::to_string),
            value_stream: value_stream.map(str::to_string),
            dry_run,
        };
        self.create_from(&cj, target, &action, triggered_by).await
    }

    /// Names of the namespaces the API server lists (sorted; at most [`MAX_TARGETS`], names
    /// that are not DNS-1123 labels dropped).
    ///
    /// # Errors
    /// API errors: 403 when the credentials may not list namespaces (common for
    /// namespace-scoped service accounts: then a namespace is typed, not picked).
    pub async fn namespaces(&self) -> Result<Vec<String>, KubeError> {
        use k8s_openapi::api::core::v1::Namespace;
        let list = Api::<Namespace>::all(self.client.clone())
            .list(&ListParams::default().limit(MAX_TARGETS as u32))
            .await
            .map_err(|e| api_err("list Namespaces", e))?;
        let mut names: Vec<String> = list
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .filter(|n| super::names::is_dns1123_label(n))
            .take(MAX_TARGETS)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Suspends (`true`) or resumes the model's CronJob (merge patch of `spec.suspend`).
    ///
    /// # Errors
    /// [`KubeError::NoCronJob`]; 403 without the `patch cronjobs` permission.
    pub async fn set_suspended(&self, model: &str, suspend: bool) -> Result<(), KubeError> {
        let cj = self.model_cronjob(model).await?;
        let name = cj.metadata.name.unwrap_or_default();
        let patch = serde_json::json!({"spec": {"suspend": suspend}});
        self.cronjobs_api()
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| api_err(format!("patch CronJob {name}"), e))?;
        Ok(())
    }

    /// The log of the Job's newest pod as a stream of lines (each cut to [`MAX_LOG_LINE`]).
    /// Dropping the stream closes the request (the console drops it when the log view closes).
    ///
    /// # Errors
    /// [`KubeError::NoPod`] when the Job has no pod; API errors (also inside the stream).
    pub async fn logs(
        &self,
        job: &str,
        options: &LogOptions,
    ) -> Result<impl Stream<Item = Result<String, KubeError>> + Send + use<>, KubeError> {
        let sel = format!("batch.kubernetes.io/job-name={job}");
        let mut pods = self
            .pods_api()
            .list(&ListParams::default().labels(&sel))
            .await
            .map_err(|e| api_err(format!("list Pods of Job {job}"), e))?
            .items;
        pods.sort_by(|a, b| {
            b.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0)
                .cmp(&a.metadata.creation_timestamp.as_ref().map(|t| t.0))
        });
        let pod = pods
            .first()
            .and_then(|p| p.metadata.name.clone())
            .ok_or_else(|| KubeError::NoPod(job.to_string()))?;
        let lp = LogParams {
            follow: options.follow,
            since_seconds: options.since_seconds,
            tail_lines: options.tail_lines,
            previous: options.previous,
            ..LogParams::default()
        };
        let action = format!("logs of pod {pod}");
        let reader = self
            .pods_api()
            .log_stream(&pod, &lp)
            .await
            .map_err(|e| api_err(action.clone(), e))?;
        Ok(reader
            .lines()
            .map_ok(cut_line)
            .map_err(move |e| KubeError::Unreachable {
                action: action.clone(),
                message: e.to_string(),
            }))
    }

    /// Watches the driftdeck Jobs in a background task: lists, then watches from the list's
    /// resourceVersion; on `410 Gone` lists again, on errors retries after a back-off (1 s
    /// doubling to 30 s). Ends when the receiver is dropped.
    pub fn watch(&self) -> mpsc::Receiver<WatchSignal> {
        let (tx, rx) = mpsc::channel(256);
        let api = self.jobs_api();
        tokio::spawn(async move { watch_loop(api, tx).await });
        rx
    }
}

fn pod_job_name(pod: &Pod) -> Option<String> {
    let labels = pod.metadata.labels.as_ref();
    label(labels, "batch.kubernetes.io/job-name")
        .or_else(|| label(labels, "job-name"))
        .cloned()
        .or_else(|| {
            pod.metadata
                .owner_references
                .as_ref()?
                .iter()
                .find(|o| o.kind == "Job")
                .map(|o| o.name.clone())
        })
}

/// Maps a Job and its Pods to a [`RunInfo`].
pub fn run_info(job: &Job, pods: &[Pod]) -> RunInfo {
    let labels = job.metadata.labels.as_ref();
    RunInfo {
        name: job.metadata.name.clone().unwrap_or_default(),
        model: label(labels, LABEL_MODEL).cloned(),
        value_stream: label(labels, LABEL_VALUE_STREAM).cloned(),
        action: label(labels, LABEL_ACTION)
            .cloned()
            .unwrap_or_else(|| "schedule".into()),
        date: label(labels, LABEL_DATE).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        triggered_by: label(labels, LABEL_TRIGGERED_BY)
            .cloned()
            .unwrap_or_else(|| "schedule".into()),
        status: run_status(job, pods),
        created_at: job.metadata.creation_timestamp.as_ref().and_then(to_utc),
        pods: pods
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect(),
    }
}

async fn watch_loop(api: Api<Job>, tx: mpsc::Sender<WatchSignal>) {
    let selector = selector_app();
    let mut backoff = Duration::from_secs(1);
    let mut version: Option<String> = None;
    let pause = |b: &mut Duration| {
        let d = *b;
        *b = (*b * 2).min(Duration::from_secs(30));
        d
    };
    loop {
        if tx.is_closed() {
            return;
        }
        let rv = match version.clone() {
            Some(v) => v,
            None => match api.list(&ListParams::default().labels(&selector)).await {
                Ok(list) => {
                    let v = list.metadata.resource_version.unwrap_or_else(|| "0".into());
                    if tx
                        .send(WatchSignal::Listed {
                            resource_version: v.clone(),
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                    version = Some(v.clone());
                    v
                }
                Err(e) => {
                    if tx
                        .send(WatchSignal::Error(api_err("list Jobs", e)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    tokio::time::sleep(pause(&mut backoff)).await;
                    continue;
                }
            },
        };
        let wp = WatchParams::default().labels(&selector).timeout(290);
        let stream = match api.watch(&wp, &rv).await {
            Ok(s) => s,
            Err(e) => {
                let err = api_err("watch Jobs", e);
                if err.code() == Some(410) {
                    version = None;
                    if tx.send(WatchSignal::Expired).await.is_err() {
                        return;
                    }
                    continue;
                }
                if tx.send(WatchSignal::Error(err)).await.is_err() {
                    return;
                }
                tokio::time::sleep(pause(&mut backoff)).await;
                continue;
            }
        };
        let mut stream = std::pin::pin!(stream);
        loop {
            // a receiver dropped mid-watch (the orchestrator switched its namespace or context)
            // ends the request now, not at the next event or the 290 s timeout
            let ev = tokio::select! {
                ev = stream.next() => ev,
                () = tx.closed() => return,
            };
            let Some(ev) = ev else { break };
            let signal = match ev {
                Ok(WatchEvent::Added(j) | WatchEvent::Modified(j)) => {
                    backoff = Duration::from_secs(1);
                    version = j.metadata.resource_version.clone().or(version);
                    WatchSignal::Changed {
                        name: j.metadata.name.clone().unwrap_or_default(),
                        status: Some(run_status(&j, &[])),
                    }
                }
                Ok(WatchEvent::Deleted(j)) => {
                    version = j.metadata.resource_version.clone().or(version);
                    WatchSignal::Changed {
                        name: j.metadata.name.clone().unwrap_or_default(),
                        status: None,
                    }
                }
                Ok(WatchEvent::Bookmark(b)) => {
                    version = Some(b.metadata.resource_version);
                    continue;
                }
                Ok(WatchEvent::Error(s)) if s.code == 410 => {
                    version = None;
                    WatchSignal::Expired
                }
                Ok(WatchEvent::Error(s)) => WatchSignal::Error(KubeError::Api {
                    action: "watch Jobs".into(),
                    code: s.code,
                    reason: s.reason.clone(),
                    message: s.message.clone(),
                }),
                Err(e) => WatchSignal::Error(api_err("watch Jobs", e)),
            };
            let stop = !matches!(signal, WatchSignal::Changed { .. });
            if tx.send(signal).await.is_err() {
                return;
            }
            if stop {
                break;
            }
        }
        if version.is_some() {
            // a normal end (timeoutSeconds) or an error: resume; after errors wait first
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Most contexts or namespaces offered for a switch.
pub const MAX_TARGETS: usize = 500;

/// The kubeconfig's contexts (`KUBECONFIG` or `~/.kube/config`): `(name, namespace it names)`,
/// in file order, at most [`MAX_TARGETS`], names with control characters dropped.
///
/// # Errors
/// [`KubeError::Config`] when there is no readable kubeconfig.
pub fn kubeconfig_contexts() -> Result<Vec<(String, Option<String>)>, KubeError> {
    let kc =
        Kubeconfig::read().map_err(|e| KubeError::Config(format!("no usable kubeconfig: {e}")))?;
    Ok(kc
        .contexts
        .into_iter()
        .filter(|c| !c.name.is_empty() && !c.name.chars().any(char::is_control))
        .take(MAX_TARGETS)
        .map(|c| {
            let ns = c.context.and_then(|c| c.namespace);
            (c.name, ns)
        })
        .collect())
}

/// Checks, without contacting the API server, that a kubeconfig (or the in-cluster service
/// account) is there and names the context asked for. Returns e.g. `context prod-eks, server
/// https://…` (for `driftdeck doctor`).
///
/// # Errors
/// A sentence naming the missing kubeconfig or context.
pub fn check_config(settings: &KubernetesSettings) -> Result<String, String> {
    match Kubeconfig::read() {
        Ok(kc) => {
            let ctx = settings
                .context
                .clone()
                .or_else(|| kc.current_context.clone())
                .ok_or_else(|| {
                    "the kubeconfig has no current-context; set [orchestrator] context".to_string()
                })?;
            let Some(named) = kc.contexts.iter().find(|c| c.name == ctx) else {
                let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
                return Err(format!(
                    "context {ctx:?} is not in the kubeconfig (known: {})",
                    known.join(", ")
                ));
            };
            let cluster = named
                .context
                .as_ref()
                .map(|c| c.cluster.clone())
                .unwrap_or_default();
            let server = kc
                .clusters
                .iter()
                .find(|c| c.name == cluster)
                .and_then(|c| c.cluster.as_ref())
                .and_then(|c| c.server.clone())
                .unwrap_or_else(|| "(no server)".into());
            Ok(format!("context {ctx}, server {server}"))
        }
        Err(e)
            if settings.context.is_none()
                && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() =>
        {
            let _ = e;
            Ok("in-cluster service account".into())
        }
        Err(e) => Err(format!("no usable kubeconfig: {e}")),
    }
}

/// Phase counts for a header or a test: how many runs are in each phase.
pub fn phase_counts(runs: &[RunInfo]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for r in runs {
        *m.entry(r.status.phase.as_str()).or_insert(0) += 1;
    }
    m
}

/// True when `phase` still occupies a slot (not succeeded or failed).
pub fn in_flight(phase: RunPhase) -> bool {
    !phase.is_final()
}
