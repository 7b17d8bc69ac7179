//! Logs: tailing the selected run, switching the log shown, and search matches.

use crate::orchestrator::LogRef;

use super::{App, Effect, Level, LogSource};

impl App {
    pub(super) fn tail_selected_run(&mut self) -> Vec<Effect> {
        let Some(run) = self.selected_run().cloned() else {
            return Vec::new();
        };
        let source = LogSource::Run {
            run_id: run.run_id.clone(),
            attempt: run.attempt,
        };
        if self.log.source.as_ref() == Some(&source) {
            return Vec::new();
        }
        self.switch_log(source.clone());
        let log = run.log_path.clone().map(LogRef::from);
        if log.is_none() {
            self.log.error = Some(format!(
                "no log kept for run {} attempt {} (the orchestrator did not record a log path)",
                run.run_id, run.attempt
            ));
        }
        vec![Effect::TailLog { source, log }]
    }

    pub(super) fn switch_log(&mut self, source: LogSource) {
        self.log.buffer.clear();
        self.log.source = Some(source);
        self.log.error = None;
        self.log.scroll = 0;
        self.log.follow = true;
    }
}

pub(super) fn jump_to_match(app: &mut App, after_current: bool) {
    let matches = app.log.buffer.matches(&app.log.search);
    if matches.is_empty() {
        if !app.log.search.is_empty() {
            app.set_status(Level::Warn, format!("no match for {:?}", app.log.search));
        }
        return;
    }
    let start = if app.log.follow {
        0
    } else {
        app.log.scroll + usize::from(after_current)
    };
    let next = matches
        .iter()
        .copied()
        .find(|&i| i >= start)
        .unwrap_or(matches[0]);
    app.log.follow = false;
    app.log.scroll = next;
}
