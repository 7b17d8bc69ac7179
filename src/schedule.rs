//! `driftdeck schedule`: the models' cron schedules run by the local runner as a foreground
//! service, for teams without Kubernetes (where each model is a CronJob instead).
//!
//! Schedules use the CronJob syntax validated by the config (5 fields or `@daily`-style
//! nicknames) and are evaluated in UTC, as a CronJob without `spec.timeZone` on a UTC cluster.
//! Each firing submits `driftdeck run --model M` (calculation date: yesterday) through the
//! [`Orchestrator`], triggered by `schedule`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::config::Config;
use crate::domain::ModelId;
use crate::orchestrator::{JobRequest, JobSpec, Orchestrator};

/// Errors of the scheduler.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// A schedule that does not parse (the config validation normally catches this first).
    #[error("model {model}: schedule {schedule:?}: {message}")]
    BadCron {
        /// Model id.
        model: String,
        /// The schedule text.
        schedule: String,
        /// The parser's message.
        message: String,
    },
    /// No model has a schedule with a future occurrence.
    #[error("no model has a future scheduled time")]
    NothingScheduled,
}

/// One model's parsed schedule.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Model id.
    pub model: ModelId,
    /// Schedule text as configured.
    pub schedule: String,
    cron: Cron,
}

/// Parses every model's schedule.
///
/// # Errors
/// [`ScheduleError::BadCron`] naming the model.
pub fn entries(config: &Config) -> Result<Vec<Entry>, ScheduleError> {
    let parser = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build();
    config
        .models
        .iter()
        .map(|m| {
            parser
                .parse(&m.schedule)
                .map(|cron| Entry {
                    model: m.id.clone(),
                    schedule: m.schedule.clone(),
                    cron,
                })
                .map_err(|e| ScheduleError::BadCron {
                    model: m.id.to_string(),
                    schedule: m.schedule.clone(),
                    message: e.to_string(),
                })
        })
        .collect()
}

/// The next firing strictly after `after`, and every model due at that instant.
pub fn next_due(entries: &[Entry], after: DateTime<Utc>) -> Option<(DateTime<Utc>, Vec<ModelId>)> {
    use chrono::{DurationRound, TimeDelta};
    // Occurrences are whole minutes: drop the sub-second part `after` carries.
    let after = after.duration_trunc(TimeDelta::seconds(1)).unwrap_or(after);
    let mut best: Option<(DateTime<Utc>, Vec<ModelId>)> = None;
    for e in entries {
        let Ok(t) = e.cron.find_next_occurrence(&after, false) else {
            continue;
        };
        match &mut best {
            Some((bt, models)) if t == *bt => models.push(e.model.clone()),
            Some((bt, _)) if t > *bt => {}
            _ => best = Some((t, vec![e.model.clone()])),
        }
    }
    best
}

/// The next `n` firings after `after` (for `driftdeck schedule --list`).
pub fn upcoming(
    entries: &[Entry],
    after: DateTime<Utc>,
    n: usize,
) -> Vec<(DateTime<Utc>, Vec<ModelId>)> {
    let mut out = Vec::with_capacity(n);
    let mut t = after;
    while out.len() < n {
        let Some((next, models)) = next_due(entries, t) else {
            break;
        };
        t = next;
        out.push((next, models));
    }
    out
}

/// Runs the schedule until `shutdown` resolves: sleeps until the next firing, then submits one
/// run per due model. Jobs already started keep running after shutdown (they live in their own
/// process groups).
///
/// # Errors
/// [`ScheduleError::NothingScheduled`] when no schedule has a future occurrence.
pub async fn serve(
    entries: Vec<Entry>,
    orchestrator: Arc<dyn Orchestrator>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ScheduleError> {
    tokio::pin!(shutdown);
    loop {
        let now = Utc::now();
        let (when, models) = next_due(&entries, now).ok_or(ScheduleError::NothingScheduled)?;
        tracing::info!(event = "schedule_next", at = %when, models = ?models.iter().map(|m| m.as_str()).collect::<Vec<_>>(), "next scheduled runs");
        let wait = (when - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = &mut shutdown => {
                tracing::info!(event = "schedule_stop", "scheduler stopped; started jobs keep running");
                return Ok(());
            }
            _ = tokio::time::sleep(wait) => {}
        }
        for model in models {
            let request = JobRequest {
                spec: JobSpec::Run {
                    model: model.clone(),
                    date: None,
                },
                triggered_by: "schedule".into(),
            };
            match orchestrator.submit(request).await {
                Ok(job) => {
                    tracing::info!(event = "schedule_submit", model = %model, job = %job.id.as_str(), "scheduled run submitted")
                }
                Err(e) => {
                    tracing::error!(event = "schedule_submit", model = %model, error = %e, "scheduled run not submitted")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(model: &str, schedule: &str) -> Entry {
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(schedule)
            .expect("valid cron");
        Entry {
            model: ModelId::new(model).expect("id"),
            schedule: schedule.into(),
            cron,
        }
    }

    #[test]
    fn next_due_groups_models_firing_together() {
        let e = vec![
            entry("a", "0 6 * * *"),
            entry("b", "5 6 * * *"),
            entry("c", "0 6 * * *"),
        ];
        let t0 = Utc
            .with_ymd_and_hms(2026, 11, 22, 5, 0, 0)
            .single()
            .expect("time");
        let (t, models) = next_due(&e, t0).expect("due");
        assert_eq!(
            t,
            Utc.with_ymd_and_hms(2026, 11, 22, 6, 0, 0)
                .single()
                .expect("time")
        );
        let names: Vec<&str> = models.iter().map(|m| m.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        let up = upcoming(&e, t0, 3);
        assert_eq!(up.len(), 3);
        assert_eq!(up[1].1[0].as_str(), "b");
        assert_eq!(
            up[2].0,
            Utc.with_ymd_and_hms(2026, 11, 23, 6, 0, 0)
                .single()
                .expect("time")
        );
    }

    #[test]
    fn nothing_due_without_entries() {
        assert!(next_due(&[], Utc::now()).is_none());
    }
}
