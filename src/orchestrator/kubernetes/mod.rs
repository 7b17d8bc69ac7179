//! The Kubernetes backend (issue 9, DESIGN section 8): every model's daily calculation is a
//! CronJob, reruns/backfills/refreshes are Jobs built from CronJobs like `kubectl create job
//! --from=cronjob/…`, status comes from Jobs and Pods, logs from `pods/log`.
//!
//! - [`names`]: DNS-1123 names with deterministic suffixes, the labels.
//! - [`builder`]: Job from a CronJob (kubectl's algorithm) and the console's Jobs.
//! - [`status`]: Job/Pod status → run phase with reason.
//! - [`manifests`]: `driftdeck render k8s`.
//! - [`client`]: [`KubeBackend`] over the real `kube::Client`.
//! - [`runner`]: [`KubeOrchestrator`], the [`crate::orchestrator::Orchestrator`] on it.
//! - [`KubernetesSettings`]: `[orchestrator] kind = "kubernetes"` keys (defined in `config`).

pub mod builder;
pub mod client;
pub mod manifests;
pub mod names;
pub mod runner;
pub mod status;

pub use crate::config::KubernetesSettings;
pub use client::{
    BackfillReport, CronJobInfo, KubeBackend, KubeError, LogOptions, RunInfo, WatchSignal,
};
pub use status::{RunPhase, RunStatus};

/// Scheme of the Kubernetes backend's log references: `k8s:<namespace>/job/<job name>` (the log
/// of the Job's newest pod). Jobs record it with their runs (env `DRIFTDECK_JOB_LOG`, set in the
/// rendered CronJobs from the pod's `batch.kubernetes.io/job-name` label).
pub const LOG_REF_SCHEME: &str = "k8s:";

/// `k8s:<namespace>/job/`: a log reference without the Job name.
pub fn log_ref_prefix(namespace: &str) -> String {
    format!("{LOG_REF_SCHEME}{namespace}/job/")
}

/// Namespace and Job name of a `k8s:<namespace>/job/<name>` log reference.
pub fn parse_log_ref(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix(LOG_REF_SCHEME)?;
    let (ns, name) = rest.split_once("/job/")?;
    (names::is_dns1123_label(ns) && names::is_dns1123_label(name)).then_some((ns, name))
}
pub use runner::KubeOrchestrator;
