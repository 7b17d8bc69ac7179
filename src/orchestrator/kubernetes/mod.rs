//! The Kubernetes backend (issue 9, DESIGN section 8): every model's daily calculation is a
//! CronJob, reruns/backfills/refreshes are Jobs built from CronJobs like `kubectl create job
//! --from=cronjob/…`, status comes from Jobs and Pods, logs from `pods/log`.
//!
//! - [`names`]: DNS-1123 names with deterministic suffixes, the labels.
//! - [`builder`]: Job from a CronJob (kubectl's algorithm) and the console's Jobs.
//! - [`status`]: Job/Pod status → run phase with reason.
//! - [`manifests`]: `driftdeck render k8s`.
//! - [`client`]: [`KubeBackend`] over the real `kube::Client`.
//! - [`settings`]: `[orchestrator] kind = "kubernetes"` keys.

pub mod builder;
pub mod client;
pub mod manifests;
pub mod names;
pub mod settings;
pub mod status;

pub use client::{
    BackfillReport, CronJobInfo, KubeBackend, KubeError, LogOptions, RunInfo, WatchSignal,
};
pub use settings::KubernetesSettings;
pub use status::{RunPhase, RunStatus};
