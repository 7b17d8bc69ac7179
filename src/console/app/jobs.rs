//! Job state changes from the orchestrator ([`JobEvent`]: the job's new snapshot), from this
//! console, other consoles and the scheduler.

use crate::orchestrator::{JobEvent, JobState};

use super::{App, Effect, Level, Mode};

pub(super) fn on_job(app: &mut App, ev: JobEvent) -> Vec<Effect> {
    let job = ev.job;
    let job_id = job.id.to_string();
    match job.state {
        JobState::Queued => {
            app.dirty = false;
            Vec::new()
        }
        JobState::Running => {
            app.set_status(Level::Info, format!("job {job_id} started"));
            app.request_overview().into_iter().collect()
        }
        state => {
            let started_here = app.console_jobs.remove(&job_id);
            if state == JobState::Succeeded {
                app.set_status(Level::Info, format!("job {job_id} succeeded"));
            } else {
                let why = match (&job.note, job.exit_code) {
                    (Some(n), _) => format!("{state}: {n}"),
                    (None, Some(c)) => format!("{state}: exit code {c}"),
                    (None, None) => state.to_string(),
                };
                app.set_status(Level::Error, format!("job {job_id} failed: {why}"));
            }
            let mut fx: Vec<Effect> = app.request_overview().into_iter().collect();
            // A finished refresh wrote a new report: an open refresh view shows it.
            if app.mode == Mode::Refreshes && job.spec.kind() == crate::domain::RunAction::Refresh {
                fx.push(app.request_refreshes(Vec::new()));
            }
            let selected = app.selected_row().map(|r| r.model_id.clone());
            if let (Some(started), Some(sel)) = (started_here, selected)
                && started.spec.target() == sel
                && app.detail_loading.is_none()
            {
                app.detail_loading = Some(sel.clone());
                fx.push(Effect::LoadDetail(sel));
            }
            fx
        }
    }
}
