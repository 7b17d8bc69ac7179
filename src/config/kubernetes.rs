//! `[orchestrator] kind = "kubernetes"` settings (issue 9): namespace, kube context, job image,
//! EFS claim, Jobs in flight and the deadlines of the rendered CronJobs. Used by the Kubernetes
//! backend (`orchestrator::kubernetes`) and `driftdeck render k8s`.

use serde::{Deserialize, Serialize};

/// Settings of the Kubernetes backend and of `driftdeck render k8s`.
///
/// Every field has a default so a bare `kind = "kubernetes"` is valid; unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSettings {
    /// Namespace of the CronJobs, Jobs and Pods. Default `model-monitoring`.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// kubeconfig context; `None` = the current context, or the in-cluster config inside a pod.
    #[serde(default)]
    pub context: Option<String>,
    /// Container image of the jobs (the driftdeck binary, `assets/deploy/Dockerfile`).
    #[serde(default = "default_image")]
    pub image: String,
    /// PersistentVolumeClaim of the EFS volume with the benchmarks, mounted at `/mnt/efs`.
    #[serde(default = "default_efs_claim")]
    pub efs_claim: String,
    /// Jobs in flight for a backfill (≥ 1). Default 4.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// `activeDeadlineSeconds` of a model's daily Job, in seconds (the seed's "finish within its
    /// time window"). Default 14 400 (4 h).
    #[serde(default = "default_deadline")]
    pub deadline_seconds: i64,
    /// Cron schedule of the benchmark refresh CronJob. Default `0 0 1 * *` (monthly, the seed's).
    #[serde(default = "default_refresh_schedule")]
    pub refresh_schedule: String,
    /// `activeDeadlineSeconds` of the refresh Job, in seconds. Default 21 600 (6 h).
    #[serde(default = "default_refresh_deadline")]
    pub refresh_deadline_seconds: i64,
    /// Name of the Secret with the Snowflake credentials (referenced, never rendered).
    /// Default `snowflake-credentials`.
    #[serde(default = "default_secret")]
    pub snowflake_secret: String,
    /// `backoffLimit` of the Jobs (pod retries before the Job fails). Default 2: the job itself
    /// already retries its attempts (`[retry]`).
    #[serde(default = "default_backoff_limit")]
    pub backoff_limit: i32,
}

fn default_namespace() -> String {
    "model-monitoring".into()
}
fn default_image() -> String {
    "registry.example.com/driftdeck:latest".into()
}
fn default_efs_claim() -> String {
    "model-benchmarks".into()
}
fn default_concurrency() -> usize {
    4
}
fn default_deadline() -> i64 {
    4 * 3600
}
fn default_refresh_schedule() -> String {
    "0 0 1 * *".into()
}
fn default_refresh_deadline() -> i64 {
    6 * 3600
}
fn default_secret() -> String {
    "snowflake-credentials".into()
}
fn default_backoff_limit() -> i32 {
    2
}

impl Default for KubernetesSettings {
    fn default() -> Self {
        Self {
            namespace: default_namespace(),
            context: None,
            image: default_image(),
            efs_claim: default_efs_claim(),
            concurrency: default_concurrency(),
            deadline_seconds: default_deadline(),
            refresh_schedule: default_refresh_schedule(),
            refresh_deadline_seconds: default_refresh_deadline(),
            snowflake_secret: default_secret(),
            backoff_limit: default_backoff_limit(),
        }
    }
}

/// A DNS-1123 label: 1–63 of `[a-z0-9-]`, starting and ending with a letter or digit.
fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain: ≤ 253 characters of dot-separated labels.
fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

impl KubernetesSettings {
    /// Checks the values that Kubernetes would reject later with a less clear message.
    ///
    /// # Errors
    /// A sentence naming the `[orchestrator]` key and the problem.
    pub fn validate(&self) -> Result<(), String> {
        if !is_dns1123_label(&self.namespace) {
            return Err(format!(
                "[orchestrator] namespace {:?} is not a DNS-1123 label (a-z, 0-9, '-', ≤ 63)",
                self.namespace
            ));
        }
        if !is_dns1123_subdomain(&self.efs_claim) {
            return Err(format!(
                "[orchestrator] efs_claim {:?} is not a valid PVC name",
                self.efs_claim
            ));
        }
        if !is_dns1123_subdomain(&self.snowflake_secret) {
            return Err(format!(
                "[orchestrator] snowflake_secret {:?} is not a valid Secret name",
                self.snowflake_secret
            ));
        }
        if self.image.trim().is_empty() || self.image.chars().any(char::is_whitespace) {
            return Err(format!(
                "[orchestrator] image {:?} is not an image reference",
                self.image
            ));
        }
        if self.concurrency == 0 || self.concurrency > 256 {
            return Err(format!(
                "[orchestrator] concurrency {} must be between 1 and 256",
                self.concurrency
            ));
        }
        for (key, v) in [
            ("deadline_seconds", self.deadline_seconds),
            ("refresh_deadline_seconds", self.refresh_deadline_seconds),
        ] {
            if v <= 0 {
                return Err(format!("[orchestrator] {key} must be positive, not {v}"));
            }
        }
        if !(0..=100).contains(&self.backoff_limit) {
            return Err(format!(
                "[orchestrator] backoff_limit {} must be between 0 and 100",
                self.backoff_limit
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_example_parses_and_validates() {
        let s: KubernetesSettings = toml::from_str(
            r#"
namespace = "model-monitoring"
context = "prod-eks"
image = "registry.example.com/driftdeck:1.4.2"
efs_claim = "model-benchmarks"
concurrency = 4
"#,
        )
        .unwrap();
        assert_eq!(s.context.as_deref(), Some("prod-eks"));
        assert_eq!(s.deadline_seconds, 14_400);
        s.validate().unwrap();
    }

    #[test]
    fn bad_values_are_named() {
        let s = KubernetesSettings {
            namespace: "Model_Monitoring".into(),
            ..Default::default()
        };
        assert!(s.validate().unwrap_err().contains("namespace"));
        let s = KubernetesSettings {
            concurrency: 0,
            ..Default::default()
        };
        assert!(s.validate().unwrap_err().contains("concurrency"));
        assert!(toml::from_str::<KubernetesSettings>("nmespace = \"x\"").is_err());
    }
}
