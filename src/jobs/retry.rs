//! Retry policy of a run: how many attempts and how long to wait between them.

use std::time::Duration;

/// Attempts and delay between attempts (seed: 3 attempts, 300 s apart).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, at least 1.
    pub attempts: u32,
    /// Wait after a failed attempt before the next one.
    pub delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            delay: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// A policy from config values; `attempts` is clamped to at least 1 and a negative or
    /// non-finite delay to 0.
    pub fn new(attempts: u32, delay_seconds: f64) -> Self {
        let delay = if delay_seconds.is_finite() && delay_seconds > 0.0 {
            Duration::from_secs_f64(delay_seconds)
        } else {
            Duration::ZERO
        };
        Self {
            attempts: attempts.max(1),
            delay,
        }
    }
}
