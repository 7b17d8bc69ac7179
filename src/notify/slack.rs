//! Slack incoming webhook: one `POST {"text": ...}` per notification (blocking reqwest, rustls).

use serde::{Deserialize, Serialize};

use super::{DeliveryError, DeliveryRetry, Secret, clip, read_secret};
use crate::jobs::{Notification, Notifier, NotifyError};

/// `[notify] kind = "slack"` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSettings {
    /// Environment variable holding the webhook URL (or `<VAR>_FILE` naming a file with it).
    /// Default `DRIFTDECK_SLACK_WEBHOOK`.
    #[serde(default = "default_env")]
    pub webhook_env: String,
    /// Attempts, backoff and timeout.
    #[serde(default)]
    pub retry: DeliveryRetry,
}

fn default_env() -> String {
    "DRIFTDECK_SLACK_WEBHOOK".into()
}

impl Default for SlackSettings {
    fn default() -> Self {
        Self {
            webhook_env: default_env(),
            retry: DeliveryRetry::default(),
        }
    }
}

/// Posts notifications to a Slack incoming webhook.
#[derive(Debug)]
pub struct SlackNotifier {
    webhook: Secret,
    env_name: String,
    retry: DeliveryRetry,
    client: reqwest::blocking::Client,
}

impl SlackNotifier {
    /// A notifier from settings, reading the webhook URL through `env`.
    ///
    /// # Errors
    /// [`DeliveryError::Setup`] when the secret is missing or not an http(s) URL, or the HTTP
    /// client cannot be built (the URL is never part of the message).
    pub fn from_settings(
        settings: &SlackSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, DeliveryError> {
        let webhook = read_secret(&settings.webhook_env, env)?;
        let url = reqwest::Url::parse(webhook.expose()).map_err(|_| {
            DeliveryError::Setup(format!(
                "{}: the value is not a URL (not shown)",
                settings.webhook_env
            ))
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(DeliveryError::Setup(format!(
                "{}: the webhook must be an http(s) URL",
                settings.webhook_env
            )));
        }
        let retry = settings.retry.bounded();
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(retry.timeout_seconds))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DeliveryError::Setup(format!("HTTP client: {e}")))?;
        Ok(Self {
            webhook,
            env_name: settings.webhook_env.clone(),
            retry,
            client,
        })
    }

    /// Sends one notification, retrying.
    ///
    /// # Errors
    /// [`DeliveryError::Failed`] with the last status or transport error (URL stripped).
    pub fn send(&self, n: &Notification) -> Result<(), DeliveryError> {
        let mut text = format!("*{}*\n", n.subject);
        if let Some(channel) = &n.slack {
            text.push_str(&format!("for {channel}\n"));
        }
        text.push_str(&format!("```\n{}\n```", clip(&n.body, 3500)));
        let payload = serde_json::json!({ "text": text });
        self.retry.run("slack webhook", || {
            let resp = self
                .client
                .post(self.webhook.expose())
                .json(&payload)
                .send()
                .map_err(|e| (e.without_url().to_string(), true))?;
            let status = resp.status();
            if status.is_success() {
                Ok(())
            } else {
                // 429 and 5xx are worth another attempt; other 4xx are not.
                let retryable = status.as_u16() == 429 || status.is_server_error();
                Err((format!("HTTP {status}"), retryable))
            }
        })
    }
}

impl Notifier for SlackNotifier {
    fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        self.send(notification).map_err(|e| NotifyError::Refused {
            target: "slack webhook".into(),
            message: e.to_string(),
        })
    }

    fn describe(&self) -> String {
        format!("slack webhook (URL from {})", self.env_name)
    }
}
