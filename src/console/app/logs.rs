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
            // No job log (history written by `demo init`, a run from an external scheduler):
            // the attempt's recorded details stand in for it.
            let lines = recorded_details(&run, self.selected_detail());
            for line in lines {
                self.log.buffer.push(line);
            }
            self.log.follow = false;
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

/// The recorded details of an attempt, one escaped line each: what the logs pane shows for a
/// run without a job log. Error, status and times, rows, benchmark version, findings (a
/// `quarantine` finding names the file of the quarantined rows), and the result it replaced.
pub fn recorded_details(
    run: &crate::store::RunRecord,
    detail: Option<&super::Detail>,
) -> Vec<String> {
    use crate::sanitize::escape_controls as esc;
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "—".to_string());
    let mut out = vec![
        format!(
            "no job log kept for run {} attempt {}/{} (written by `demo init` or an external \
             scheduler); the attempt's recorded details:",
            esc(&run.run_id),
            run.attempt,
            run.max_attempts
        ),
        format!(
            "status:     {} ({}, triggered by {})",
            run.status.as_str(),
            run.action.as_str(),
            esc(&run.triggered_by)
        ),
        format!(
            "started:    {} UTC · finished: {}",
            run.started_at.format("%Y-%m-%d %H:%M:%S"),
            or_dash(
                run.finished_at
                    .map(|t| format!("{} UTC", t.format("%Y-%m-%d %H:%M:%S")))
            )
        ),
        format!(
            "error:      {}",
            or_dash(run.error.as_deref().map(|e| esc(e).into_owned()))
        ),
        format!(
            "rows:       current {} · benchmark {}",
            or_dash(run.rows_current.map(|n| n.to_string())),
            or_dash(run.rows_benchmark.map(|n| n.to_string()))
        ),
        format!(
            "benchmark:  {}",
            or_dash(
                run.benchmark_version
                    .as_deref()
                    .map(|v| esc(v).into_owned())
            )
        ),
    ];
    let mut findings = 0;
    for f in detail.into_iter().flat_map(|d| d.findings_of(run)) {
        findings += 1;
        let mark = match f.severity {
            crate::quality::Severity::Warn => "Q!",
            crate::quality::Severity::Fail => "Q✗",
        };
        let label = if f.check.as_str() == "quarantine" {
            "quarantine:"
        } else {
            "finding:   "
        };
        let column = f
            .column
            .as_deref()
            .map(|c| format!(" [{}]", esc(c)))
            .unwrap_or_default();
        out.push(format!(
            "{label} {mark} {}{column}: {}",
            f.check.as_str(),
            esc(&f.message)
        ));
    }
    if findings == 0 {
        out.push("findings:   none recorded".to_string());
    }
    if let Some(h) = detail.and_then(|d| d.replaced_by(run)) {
        out.push(format!(
            "replaced:   {}",
            crate::console::view::replaced_text(h)
        ));
    }
    out
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
