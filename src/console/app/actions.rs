//! Actions: rerun and backfill targets, role forecasts, and dispatch outcomes.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::console::action::{Action, DispatchReport, Outcome, RunTarget, compact_dates};
use crate::jobs::backfill::{DatePlan, newest_status_by_date, plan_dates};
use crate::orchestrator::JobSpec;

use super::{App, BackfillForm, Effect, Level, LogSource};

impl App {
    pub(super) fn rerun_target(&self) -> Option<RunTarget> {
        let row = self.selected_row()?;
        // In the runs pane, `r` reruns the selected run's date (issue 10: triage of a failed
        // run); elsewhere the trend cursor's date, else the newest attempt's.
        let run_date = (self.focus == super::Pane::Runs)
            .then(|| self.selected_run().map(|r| r.calculation_date))
            .flatten();
        Some(RunTarget {
            model_id: row.model_id.clone(),
            value_stream: row.value_stream.clone(),
            date: run_date.or(self.cursor_date()).or(row.run_date)?,
        })
    }

    /// Builds the backfill action from the form; `Err` explains an invalid form.
    pub fn backfill_action(&self, form: &BackfillForm) -> Result<Action, String> {
        let from = crate::domain::parse_date(&form.from).map_err(|e| format!("from: {e}"))?;
        let to = crate::domain::parse_date(&form.to).map_err(|e| format!("to: {e}"))?;
        // The dry run uses the jobs' planning rules on what the detail pane already loaded
        // (no store call from the UI loop).
        let detail = self.detail.as_ref().filter(|d| d.model_id == form.model_id);
        let stored: BTreeSet<NaiveDate> = detail
            .map(|d| d.history.iter().map(|r| r.calculation_date).collect())
            .unwrap_or_default();
        let newest = detail
            .map(|d| newest_status_by_date(&d.runs))
            .unwrap_or_default();
        let DatePlan {
            dates, existing, ..
        } = plan_dates(from, to, form.only_missing, &stored, &newest).map_err(|e| e.to_string())?;
        Ok(Action::Backfill {
            model_id: form.model_id.clone(),
            value_stream: form.value_stream.clone(),
            from,
            to,
            dates,
            existing,
            only_missing: form.only_missing,
        })
    }

    /// A warning shown in the confirm dialog when the dispatcher will refuse the action.
    pub fn forecast_denial(&self, action: &Action) -> Option<String> {
        crate::console::action::authorize(self.session.role, self.session.read_only, action)
            .err()
            .map(|d| d.to_string())
    }
}

pub(super) fn on_dispatched(app: &mut App, report: DispatchReport) -> Vec<Effect> {
    let mut fx = Vec::new();
    match &report.outcome {
        Outcome::Started(tickets) => {
            // The dates of single-date runs (a backfill job plans its own dates).
            let dates: Vec<NaiveDate> = tickets
                .iter()
                .filter_map(|t| match &t.spec {
                    JobSpec::Run { date, .. } => *date,
                    _ => None,
                })
                .collect();
            app.set_status(
                Level::Info,
                format!(
                    "{} started: {} job(s){}",
                    report.action.name(),
                    tickets.len(),
                    if dates.is_empty() {
                        String::new()
                    } else {
                        format!(" for {}", compact_dates(&dates))
                    }
                ),
            );
            for t in tickets {
                app.console_jobs.insert(t.id.to_string(), t.clone());
            }
            // Show the first job's log.
            if let Some(t) = tickets.first() {
                let source = LogSource::Job(t.id.to_string());
                app.switch_log(source.clone());
                fx.push(Effect::TailLog {
                    source,
                    log: Some(t.log.clone()),
                });
            }
            fx.extend(app.request_overview());
        }
        Outcome::Done(what) => {
            app.set_status(Level::Info, format!("{}: {what}", report.action.name()));
            fx.extend(app.request_overview());
            if let Action::Rollback { model_id, .. } = &report.action {
                fx.push(app.request_refreshes(vec![model_id.clone()]));
                if app.selected_row().is_some_and(|r| &r.model_id == model_id)
                    && app.detail_loading.is_none()
                {
                    app.detail_loading = Some(model_id.clone());
                    fx.push(Effect::LoadDetail(model_id.clone()));
                }
            }
        }
        Outcome::Denied(reason) => app.set_status(Level::Warn, format!("denied: {reason}")),
        Outcome::NotConfigured(reason) => app.set_status(Level::Warn, reason.clone()),
        Outcome::Applied(what) => {
            app.set_status(Level::Info, format!("{}: {what}", report.action.name()));
            fx.extend(app.request_overview());
        }
        Outcome::Failed(reason) => app.set_status(
            Level::Error,
            format!("{} failed: {reason}", report.action.name()),
        ),
    }
    if let Some(e) = report.audit_error {
        app.set_status(Level::Error, e);
    }
    fx
}
