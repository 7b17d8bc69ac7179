//! DogStatsD metrics over UDP (cadence): counters, gauges and timings with Datadog tags
//! (`model`, `value_stream`, `action`, plus the configured constant tags).
//!
//! Configured as `[metrics] kind = "dogstatsd"`, `address = "127.0.0.1:8125"`, optional `prefix`
//! and `tags`; the Datadog agent's env convention `DD_AGENT_HOST` / `DD_DOGSTATSD_PORT`
//! (default port 8125) overrides the address, as the agent's DaemonSet sets them through the
//! downward API. Sends are non-blocking UDP: an agent that is down or unreachable loses the
//! datagrams (logged at debug level), never fails or slows a job.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use cadence::prelude::*;
use cadence::{StatsdClient, UdpMetricSink};
use serde::{Deserialize, Serialize};

/// `[metrics] kind = "dogstatsd"` settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DogStatsdSettings {
    /// `host:port` of the agent. Default `127.0.0.1:8125`; env `DD_AGENT_HOST` /
    /// `DD_DOGSTATSD_PORT` override it.
    #[serde(default)]
    pub address: Option<String>,
    /// Prefix of every metric name (`prefix.name`). Default `driftdeck`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Constant tags added to every metric, e.g. `{ env = "prod", team = "mlops" }`.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Why the metrics client could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// The address does not resolve or the local socket cannot be opened.
    #[error("metrics ({address}): {message}")]
    Setup {
        /// The address tried.
        address: String,
        /// What failed.
        message: String,
    },
}

/// A DogStatsD client.
pub struct DogStatsd {
    client: StatsdClient,
    address: SocketAddr,
}

impl std::fmt::Debug for DogStatsd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DogStatsd")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// The agent address: `DD_AGENT_HOST` (with `DD_DOGSTATSD_PORT`, default 8125), else `address`, else
/// `127.0.0.1:8125`.
pub fn resolve_address(
    settings: &DogStatsdSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> String {
    let port = env("DD_DOGSTATSD_PORT")
        .map(|p| p.trim().to_string())
        .filter(|p| p.parse::<u16>().is_ok());
    match env("DD_AGENT_HOST").map(|h| h.trim().to_string()) {
        Some(host) if !host.is_empty() => {
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]") // IPv6 literal
            } else {
                host
            };
            format!("{host}:{}", port.unwrap_or_else(|| "8125".into()))
        }
        _ => settings
            .address
            .clone()
            .unwrap_or_else(|| "127.0.0.1:8125".into()),
    }
}

impl DogStatsd {
    /// A client sending to the resolved address (see [`resolve_address`]).
    ///
    /// # Errors
    /// [`MetricsError::Setup`] when the address does not resolve or no UDP socket can be opened.
    pub fn from_settings(
        settings: &DogStatsdSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, MetricsError> {
        let address_text = resolve_address(settings, env);
        let err = |m: String| MetricsError::Setup {
            address: address_text.clone(),
            message: m,
        };
        let address = address_text
            .to_socket_addrs()
            .map_err(|e| err(format!("cannot resolve: {e}")))?
            .next()
            .ok_or_else(|| err("resolves to no address".into()))?;
        let bind = if address.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let socket = UdpSocket::bind(bind).map_err(|e| err(format!("UDP socket: {e}")))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| err(format!("UDP socket: {e}")))?;
        let sink = UdpMetricSink::from(address, socket).map_err(|e| err(e.to_string()))?;
        let prefix = settings
            .prefix
            .clone()
            .unwrap_or_else(|| "driftdeck".into());
        let mut builder = StatsdClient::builder(&prefix, sink).with_error_handler(|e| {
            tracing::debug!(event = "metrics_dropped", error = %e, "metric not sent");
        });
        for (k, v) in &settings.tags {
            builder = builder.with_tag(k.as_str(), v.as_str());
        }
        Ok(Self {
            client: builder.build(),
            address,
        })
    }

    /// The agent address in use.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Adds `value` to counter `name` (`name:value|c|#tags`).
    pub fn count(&self, name: &str, value: i64, tags: &[(&str, &str)]) {
        let mut b = self.client.count_with_tags(name, value);
        for (k, v) in tags {
            b = b.with_tag(k, v);
        }
        let _ = b.try_send();
    }

    /// Sets gauge `name` (`name:value|g|#tags`); a non-finite value is not sent.
    pub fn gauge(&self, name: &str, value: f64, tags: &[(&str, &str)]) {
        if !value.is_finite() {
            return;
        }
        let mut b = self.client.gauge_with_tags(name, value);
        for (k, v) in tags {
            b = b.with_tag(k, v);
        }
        let _ = b.try_send();
    }

    /// Records a duration in milliseconds (`name:ms|ms|#tags`).
    pub fn timing(&self, name: &str, elapsed: Duration, tags: &[(&str, &str)]) {
        let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let mut b = self.client.time_with_tags(name, ms);
        for (k, v) in tags {
            b = b.with_tag(k, v);
        }
        let _ = b.try_send();
    }
}

impl crate::jobs::Metrics for DogStatsd {
    fn count(&self, name: &str, value: u64, tags: &crate::jobs::metrics::Tags<'_>) {
        DogStatsd::count(
            self,
            name,
            i64::try_from(value).unwrap_or(i64::MAX),
            &job_tags(tags),
        );
    }
    fn gauge(&self, name: &str, value: f64, tags: &crate::jobs::metrics::Tags<'_>) {
        DogStatsd::gauge(self, name, value, &job_tags(tags));
    }
    fn timing(&self, name: &str, duration: Duration, tags: &crate::jobs::metrics::Tags<'_>) {
        DogStatsd::timing(self, name, duration, &job_tags(tags));
    }
    fn describe(&self) -> String {
        format!("dogstatsd udp://{}", self.address)
    }
}

fn job_tags<'a>(t: &crate::jobs::metrics::Tags<'a>) -> [(&'static str, &'a str); 3] {
    [
        ("model", t.model),
        ("value_stream", t.value_stream),
        ("action", t.action),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_the_address_like_the_datadog_agent() {
        let s = DogStatsdSettings {
            address: Some("10.0.0.1:9125".into()),
            ..Default::default()
        };
        let none = |_: &str| None;
        assert_eq!(resolve_address(&s, &none), "10.0.0.1:9125");
        let env = |k: &str| match k {
            "DD_AGENT_HOST" => Some("192.168.1.7".to_string()),
            "DD_DOGSTATSD_PORT" => Some("8126".to_string()),
            _ => None,
        };
        assert_eq!(resolve_address(&s, &env), "192.168.1.7:8126");
        let host_only = |k: &str| (k == "DD_AGENT_HOST").then(|| "fd00::1".to_string());
        assert_eq!(resolve_address(&s, &host_only), "[fd00::1]:8125");
        assert_eq!(
            resolve_address(&DogStatsdSettings::default(), &none),
            "127.0.0.1:8125"
        );
    }
}
