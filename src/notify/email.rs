//! E-mail over SMTP (lettre): STARTTLS (default), implicit TLS or plain (loopback relays only),
//! optional authentication, one message per notification to its recipients.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde::{Deserialize, Serialize};

use super::{DeliveryError, DeliveryRetry, Secret, clip, read_secret};
use crate::jobs::{Notification, Notifier, NotifyError};

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, required (port 587). Default.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the loopback interface (refused otherwise).
    None,
}

/// `[notify] kind = "email"` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// SMTP server host name.
    pub smtp_host: String,
    /// Port. Default 587.
    #[serde(default = "default_port")]
    pub smtp_port: u16,
    /// `starttls` (default), `tls` or `none` (loopback only).
    #[serde(default)]
    pub tls: SmtpTls,
    /// Extra CA certificate (PEM) to trust, e.g. a company relay's; relative to the workspace.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// User name for SMTP AUTH; None = no authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable with the SMTP password (or `<VAR>_FILE`). Default
    /// `DRIFTDECK_SMTP_PASSWORD`.
    #[serde(default = "default_password_env")]
    pub password_env: String,
    /// Sender address, e.g. `driftdeck <mlops@example.com>`.
    pub from: String,
    /// Recipients of every failure notice and refresh summary, besides each model's own.
    #[serde(default)]
    pub email_recipients: Vec<String>,
    /// Attempts, backoff and timeout.
    #[serde(default)]
    pub retry: DeliveryRetry,
}

fn default_port() -> u16 {
    587
}
fn default_password_env() -> String {
    "DRIFTDECK_SMTP_PASSWORD".into()
}

/// Sends notifications as e-mails.
pub struct EmailNotifier {
    transport: SmtpTransport,
    from: Mailbox,
    target: String,
    retry: DeliveryRetry,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("target", &self.target)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl EmailNotifier {
    /// A notifier from settings; the password is read through `env` when `username` is set;
    /// `ca_file` must already be absolute (or relative to the process's directory).
    ///
    /// # Errors
    /// [`DeliveryError::Setup`]: missing password, bad sender address, unreadable CA file,
    /// `tls = "none"` towards a host that is not loopback.
    pub fn from_settings(
        s: &EmailSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, DeliveryError> {
        let setup = |m: String| DeliveryError::Setup(m);
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| setup(format!("notify.from {:?}: {e}", s.from)))?;
        let retry = s.retry.bounded();
        let mut tls_params = TlsParameters::builder(s.smtp_host.clone());
        if let Some(ca) = &s.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| setup(format!("notify.ca_file {}: {e}", ca.display())))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| setup(format!("notify.ca_file {}: {e}", ca.display())))?;
            tls_params = tls_params.add_root_certificate(cert);
        }
        let tls = match s.tls {
            SmtpTls::None => {
                if !is_loopback(&s.smtp_host) {
                    return Err(setup(format!(
                        "notify.tls = \"none\" is only allowed for a loopback relay, not {}",
                        s.smtp_host
                    )));
                }
                Tls::None
            }
            SmtpTls::Starttls => Tls::Required(
                tls_params
                    .build_rustls()
                    .map_err(|e| setup(format!("TLS setup: {e}")))?,
            ),
            SmtpTls::Tls => Tls::Wrapper(
                tls_params
                    .build_rustls()
                    .map_err(|e| setup(format!("TLS setup: {e}")))?,
            ),
        };
        let mut builder = SmtpTransport::builder_dangerous(s.smtp_host.clone())
            .port(s.smtp_port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(retry.timeout_seconds)));
        if let Some(user) = &s.username {
            let password: Secret = read_secret(&s.password_env, env)?;
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            target: format!("smtp {}:{}", s.smtp_host, s.smtp_port),
            retry,
        })
    }

    /// Sends one notification to its e-mail recipients (none: nothing to do), retrying.
    ///
    /// # Errors
    /// [`DeliveryError::Failed`] with the server's last answer; [`DeliveryError::Setup`] when no
    /// recipient address is valid.
    pub fn send(&self, n: &Notification) -> Result<(), DeliveryError> {
        let mut to = Vec::new();
        for r in &n.email {
            match r.parse::<Mailbox>() {
                Ok(m) => to.push(m),
                Err(e) => {
                    tracing::warn!(event = "notify_recipient", recipient = %r, error = %e, "invalid e-mail recipient skipped");
                }
            }
        }
        if to.is_empty() {
            if n.email.is_empty() {
                return Ok(());
            }
            return Err(DeliveryError::Setup("no valid e-mail recipient".into()));
        }
        let subject: String = n.subject.chars().filter(|c| !c.is_control()).collect();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for m in to {
            builder = builder.to(m);
        }
        let message = builder
            .body(clip(&n.body, 100_000))
            .map_err(|e| DeliveryError::Setup(format!("cannot build the message: {e}")))?;
        self.retry.run(&self.target, || {
            self.transport.send(&message).map(|_| ()).map_err(|e| {
                // Permanent SMTP answers (5xx) are not retried.
                (e.to_string(), !e.is_permanent())
            })
        })
    }
}

impl Notifier for EmailNotifier {
    fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        self.send(notification).map_err(|e| NotifyError::Refused {
            target: self.target.clone(),
            message: e.to_string(),
        })
    }

    fn describe(&self) -> String {
        format!("email {} from {}", self.target, self.from)
    }
}
