//! Job and Pod status → run state (pending, running, retrying, succeeded, failed with a reason).
//!
//! Sources: the Job's `status.conditions` (`Complete`, `Failed` with `BackoffLimitExceeded` or
//! `DeadlineExceeded`, `Suspended`), its `failed` count, and its Pods' container states
//! (`waiting.reason` such as `ImagePullBackOff`, `terminated.reason` such as `OOMKilled`, restart
//! counts). The console shows the most specific reason: a Job that failed because its container
//! was OOM-killed reads `BackoffLimitExceeded: OOMKilled`.

use std::fmt;

use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Phase of a run backed by a Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunPhase {
    /// Created, no pod running yet (scheduling, pulling the image, suspended).
    Pending,
    /// A pod is running.
    Running,
    /// A pod failed or restarted and the Job will try again (within `backoffLimit`).
    Retrying,
    /// The Job completed.
    Succeeded,
    /// The Job failed, or its pod cannot start (image cannot be pulled, bad config).
    Failed,
}

impl RunPhase {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunPhase::Pending => "pending",
            RunPhase::Running => "running",
            RunPhase::Retrying => "retrying",
            RunPhase::Succeeded => "succeeded",
            RunPhase::Failed => "failed",
        }
    }

    /// True for succeeded and failed.
    pub fn is_final(self) -> bool {
        matches!(self, RunPhase::Succeeded | RunPhase::Failed)
    }
}

impl fmt::Display for RunPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of one Job as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStatus {
    /// Phase.
    pub phase: RunPhase,
    /// Why (condition or container reason), e.g. `BackoffLimitExceeded: OOMKilled`.
    pub reason: Option<String>,
    /// Pod attempts so far (failed pods + container restarts + the current one), ≥ 1.
    pub attempts: u32,
    /// `status.startTime` (UTC).
    pub started_at: Option<DateTime<Utc>>,
    /// `status.completionTime`, or the time of the `Failed` condition (UTC).
    pub finished_at: Option<DateTime<Utc>>,
    /// Exit code of the last terminated container of the first pod given (the newest, as
    /// [`super::client::KubeBackend::runs`] orders them); `None` while none has terminated.
    pub exit_code: Option<i32>,
}

/// Waiting reasons after which a pod will not start without a change by a person.
const STUCK: [&str; 4] = [
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// Converts an API timestamp to chrono (UTC).
pub fn to_utc(t: &Time) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(t.0.subsec_nanosecond()).unwrap_or(0);
    DateTime::from_timestamp(t.0.as_second(), nanos)
}

fn containers(pod: &Pod) -> impl Iterator<Item = &ContainerStatus> {
    pod.status
        .iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .chain(s.container_statuses.iter())
        })
        .flatten()
}

/// The most telling container reason among `pods`: a stuck waiting reason first, then a
/// terminated reason other than `Completed` (current state, then last state).
fn pod_reason(pods: &[Pod]) -> Option<String> {
    let waiting = pods.iter().flat_map(containers).find_map(|c| {
        let r = c.state.as_ref()?.waiting.as_ref()?.reason.clone()?;
        (STUCK.contains(&r.as_str()) || r == "CrashLoopBackOff" || r == "ErrImagePull").then_some(r)
    });
    if waiting.is_some() {
        return waiting;
    }
    let terminated = pods.iter().flat_map(containers).find_map(|c| {
        [c.state.as_ref(), c.last_state.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|s| s.terminated.as_ref()?.reason.clone())
            .find(|r| r != "Completed")
    });
    terminated.or_else(|| {
        pods.iter()
            .filter_map(|p| p.status.as_ref())
            .filter(|s| s.phase.as_deref() == Some("Failed"))
            .find_map(|s| s.reason.clone())
    })
}

/// Maps a Job and its Pods (those matching the Job's selector) to a [`RunStatus`].
pub fn run_status(job: &Job, pods: &[Pod]) -> RunStatus {
    let status = job.status.as_ref();
    let failed_pods = status.and_then(|s| s.failed).unwrap_or(0).max(0) as u32;
    let restarts: u32 = pods
        .iter()
        .flat_map(containers)
        .map(|c| c.restart_count.max(0) as u32)
        .sum();
    let attempts = failed_pods.saturating_add(restarts).saturating_add(1);
    let started_at = status.and_then(|s| s.start_time.as_ref()).and_then(to_utc);
    let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]);
    let cond = |t: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == t && c.status == "True")
    };
    let reason = pod_reason(pods);
    let exit_code = pods.first().and_then(|p| {
        containers(p).find_map(|c| {
            [c.state.as_ref(), c.last_state.as_ref()]
                .into_iter()
                .flatten()
                .find_map(|s| s.terminated.as_ref().map(|t| t.exit_code))
        })
    });
    let mut out = RunStatus {
        phase: RunPhase::Pending,
        reason: None,
        attempts,
        started_at,
        finished_at: None,
        exit_code,
    };
    if let Some(c) = cond("Complete").or_else(|| cond("SuccessCriteriaMet")) {
        out.phase = RunPhase::Succeeded;
        out.finished_at = status
            .and_then(|s| s.completion_time.as_ref())
            .or(c.last_transition_time.as_ref())
            .and_then(to_utc);
        out.attempts = failed_pods + 1;
        return out;
    }
    if let Some(c) = cond("Failed").or_else(|| cond("FailureTarget")) {
        out.phase = RunPhase::Failed;
        out.finished_at = c.last_transition_time.as_ref().and_then(to_utc);
        out.reason = match (c.reason.clone(), reason) {
            (Some(a), Some(b)) => Some(format!("{a}: {b}")),
            (a, b) => a.or(b),
        };
        return out;
    }
    if let Some(c) = cond("Suspended") {
        out.reason = Some(c.reason.clone().unwrap_or_else(|| "Suspended".into()));
        return out;
    }
    if let Some(r) = &reason
        && STUCK.contains(&r.as_str())
    {
        out.phase = RunPhase::Failed;
        out.reason = reason;
        return out;
    }
    let running = pods.iter().any(|p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            && p.metadata.deletion_timestamp.is_none()
    });
    if failed_pods > 0 || restarts > 0 || reason.as_deref() == Some("CrashLoopBackOff") {
        out.phase = RunPhase::Retrying;
        out.reason = reason;
    } else if running {
        out.phase = RunPhase::Running;
    } else {
        out.reason = reason;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(status: serde_json::Value) -> Job {
        serde_json::from_value(json!({"metadata": {"name": "j"}, "status": status})).unwrap()
    }
    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
    }

    #[test]
    fn complete_is_succeeded_with_times() {
        let s = run_status(
            &job(
                json!({"startTime": "2026-11-29T02:00:00Z", "completionTime": "2026-11-29T02:03:00Z",
                "succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
            ),
            &[],
        );
        assert_eq!(s.phase, RunPhase::Succeeded);
        assert_eq!(s.attempts, 1);
        assert_eq!(
            s.finished_at.unwrap().to_rfc3339(),
            "2026-11-29T02:03:00+00:00"
        );
    }

    #[test]
    fn backoff_limit_with_oom_killed_pod() {
        let s = run_status(
            &job(
                json!({"failed": 3, "conditions": [{"type": "Failed", "status": "True",
                "reason": "BackoffLimitExceeded", "lastTransitionTime": "2026-11-29T02:09:00Z"}]}),
            ),
            &[pod(
                json!({"phase": "Failed", "containerStatuses": [{"name": "driftdeck",
                "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}),
            )],
        );
        assert_eq!(s.phase, RunPhase::Failed);
        assert_eq!(s.reason.as_deref(), Some("BackoffLimitExceeded: OOMKilled"));
        assert!(s.finished_at.is_some());
        assert_eq!(s.exit_code, Some(137));
    }

    #[test]
    fn image_pull_back_off_is_failed() {
        let s = run_status(
            &job(json!({"active": 1})),
            &[pod(
                json!({"phase": "Pending", "containerStatuses": [{"name": "driftdeck",
                "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}),
            )],
        );
        assert_eq!(s.phase, RunPhase::Failed);
        assert_eq!(s.reason.as_deref(), Some("ImagePullBackOff"));
    }

    #[test]
    fn restart_after_oom_is_retrying_and_running_is_running() {
        let restarted = pod(
            json!({"phase": "Running", "containerStatuses": [{"name": "driftdeck",
            "image": "i", "imageID": "", "ready": true, "restartCount": 1,
            "state": {"running": {}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}),
        );
        let s = run_status(&job(json!({"active": 1})), &[restarted]);
        assert_eq!(
            (s.phase, s.reason.as_deref(), s.attempts),
            (RunPhase::Retrying, Some("OOMKilled"), 2)
        );
        let s = run_status(
            &job(json!({"active": 1})),
            &[pod(json!({"phase": "Running"}))],
        );
        assert_eq!(s.phase, RunPhase::Running);
        let s = run_status(&job(json!({})), &[]);
        assert_eq!(s.phase, RunPhase::Pending);
        let s = run_status(
            &job(json!({"conditions": [{"type": "Failed", "status": "True",
            "reason": "DeadlineExceeded"}]})),
            &[],
        );
        assert_eq!(
            (s.phase, s.reason.as_deref()),
            (RunPhase::Failed, Some("DeadlineExceeded"))
        );
    }
}
