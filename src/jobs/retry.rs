//! Retry policy of a run: how many attempts and how long to wait between them.

use std::time::Duration;

/// Most attempts of one run (`[retry] attempts`, `--attempts`): beyond it a failing run would
/// write rows and notifications for hours.
pub const MAX_ATTEMPTS: u32 = 20;
/// Longest delay between attempts in seconds (`[retry] delay_seconds`, `--retry-delay`): one day.
pub const MAX_DELAY_SECONDS: u64 = 86_400;

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
    /// A policy from config values, clamped (configuration and CLI validate them first and name
    /// the limits): `attempts` to `1..=`[`MAX_ATTEMPTS`], the delay to
    /// `0..=`[`MAX_DELAY_SECONDS`] (negative or NaN → 0). Never panics.
    pub fn new(attempts: u32, delay_seconds: f64) -> Self {
        let max = MAX_DELAY_SECONDS as f64;
        let delay = if delay_seconds > 0.0 {
            Duration::from_secs_f64(delay_seconds.min(max))
        } else {
            Duration::ZERO
        };
        Self {
            attempts: attempts.clamp(1, MAX_ATTEMPTS),
            delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_values_are_clamped_never_panic() {
        let p = RetryPolicy::new(u32::MAX, 1e20);
        assert_eq!(p.attempts, MAX_ATTEMPTS);
        assert_eq!(p.delay, Duration::from_secs(MAX_DELAY_SECONDS));
        let p = RetryPolicy::new(0, f64::NAN);
        assert_eq!((p.attempts, p.delay), (1, Duration::ZERO));
        let p = RetryPolicy::new(2, f64::INFINITY);
        assert_eq!(p.delay, Duration::from_secs(MAX_DELAY_SECONDS));
        let p = RetryPolicy::new(2, u64::MAX as f64);
        assert_eq!(p.delay, Duration::from_secs(MAX_DELAY_SECONDS));
    }
}
