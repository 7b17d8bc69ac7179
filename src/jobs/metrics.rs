//! Job metrics (README, Design §5): counters, gauges and timings tagged with the model, its value
//! stream and the action. The embedded default, [`NoMetrics`], drops everything; a DogStatsD
//! implementation plugs in behind the same [`Metrics`] trait (`[metrics] kind`). A metrics outage
//! never fails a job, so the methods return nothing: an implementation logs its own failures.

use std::time::Duration;

/// Tags of every metric a job sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tags<'a> {
    /// Model id.
    pub model: &'a str,
    /// Value stream of the model.
    pub value_stream: &'a str,
    /// `run`, `backfill` or `refresh`.
    pub action: &'a str,
}

/// Metric names the jobs send (a backend may add its own prefix).
pub mod names {
    /// Counter: a run (all its attempts) started.
    pub const RUN_STARTED: &str = "run.started";
    /// Counter: a run succeeded.
    pub const RUN_SUCCEEDED: &str = "run.succeeded";
    /// Counter: a run failed after its last attempt.
    pub const RUN_FAILED: &str = "run.failed";
    /// Counter: one attempt of a run.
    pub const ATTEMPT: &str = "run.attempt";
    /// Timing: duration of one attempt.
    pub const ATTEMPT_DURATION: &str = "run.attempt.duration";
    /// Gauge: PSI of the score on the calculation date.
    pub const PSI: &str = "psi";
    /// Gauge: largest CSI over the characteristics on the calculation date.
    pub const CSI: &str = "csi.max";
}

/// Where job metrics go. Implementations must not block for long and must not panic.
pub trait Metrics: Send + Sync {
    /// Adds `value` to the counter `name`.
    fn count(&self, name: &str, value: u64, tags: &Tags<'_>);
    /// Sets the gauge `name` to `value` (unitless index values such as PSI).
    fn gauge(&self, name: &str, value: f64, tags: &Tags<'_>);
    /// Records one duration of `name`.
    fn timing(&self, name: &str, duration: Duration, tags: &Tags<'_>);
    /// One line for `driftdeck info` and `doctor`, e.g. `none`.
    fn describe(&self) -> String;
}

/// Metrics switched off (`[metrics] kind = "none"`, the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn count(&self, _: &str, _: u64, _: &Tags<'_>) {}
    fn gauge(&self, _: &str, _: f64, _: &Tags<'_>) {}
    fn timing(&self, _: &str, _: Duration, _: &Tags<'_>) {}
    fn describe(&self) -> String {
        "none".into()
    }
}
