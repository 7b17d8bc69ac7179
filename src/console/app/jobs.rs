//! Job events from the orchestrator: started, finished, log lines.

use crate::console::runner::JobEvent;

use super::{App, Effect, Level, LogSource};

pub(super) fn on_job(app: &mut App, ev: JobEvent) -> Vec<Effect> {
    match ev {
        JobEvent::Started { job_id } => {
            app.set_status(Level::Info, format!("job {job_id} started"));
            app.request_overview().into_iter().collect()
        }
        JobEvent::Log { job_id, line } => {
            if app.log.from_events && app.log.source == Some(LogSource::Job(job_id)) {
                app.log.buffer.push(line);
            } else {
                app.dirty = false;
            }
            Vec::new()
        }
        JobEvent::Finished {
            job_id,
            success,
            error,
        } => {
            let ticket = app.console_jobs.remove(&job_id);
            if success {
                app.set_status(Level::Info, format!("job {job_id} succeeded"));
            } else {
                app.set_status(
                    Level::Error,
                    format!(
                        "job {job_id} failed: {}",
                        error.unwrap_or_else(|| "no error text".into())
                    ),
                );
            }
            let mut fx: Vec<Effect> = app.request_overview().into_iter().collect();
            let selected = app.selected_row().map(|r| r.model_id.clone());
            if let (Some(t), Some(sel)) = (ticket, selected)
                && t.model_id == sel
                && app.detail_loading.is_none()
            {
                app.detail_loading = Some(sel.clone());
                fx.push(Effect::LoadDetail(sel));
            }
            fx
        }
    }
}
