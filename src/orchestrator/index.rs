//! The local runner's job index: `<log_dir>/jobs.jsonl`, one JSON event per line, append-only.
//!
//! Events: `submitted` (spec, user, log path), `started` (pid), `finished` (state, exit code).
//! A new runner folds the file to rebuild every job's last known state; a line that does not
//! parse (a torn write after a crash) is skipped with a warning.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{JobId, JobInfo, JobSpec, JobState, OrchestratorError};

/// One line of `jobs.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub(crate) enum IndexEvent {
    Submitted {
        id: JobId,
        spec: JobSpec,
        triggered_by: String,
        at: DateTime<Utc>,
        log_path: PathBuf,
    },
    Started {
        id: JobId,
        at: DateTime<Utc>,
        pid: u32,
    },
    Finished {
        id: JobId,
        at: DateTime<Utc>,
        state: JobState,
        exit_code: Option<i32>,
        note: Option<String>,
    },
}

/// Appends one event as one line (a single `write` on an `O_APPEND` file).
pub(crate) fn append(path: &Path, event: &IndexEvent) -> Result<(), OrchestratorError> {
    let io = |e: std::io::Error| OrchestratorError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut line = serde_json::to_vec(event).map_err(|e| OrchestratorError::Io {
        path: path.display().to_string(),
        message: format!("cannot encode job event: {e}"),
    })?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    file.write_all(&line).map_err(io)
}

/// Reads the index and folds it into the last known snapshot of every job with the pid of its
/// process (when it started), in file order of submission. A missing file is an empty index.
pub(crate) fn load(path: &Path) -> Result<Vec<(JobInfo, Option<u32>)>, OrchestratorError> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(OrchestratorError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            });
        }
    };
    let mut order: Vec<JobId> = Vec::new();
    let mut jobs: HashMap<JobId, (JobInfo, Option<u32>)> = HashMap::new();
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event: IndexEvent = match serde_json::from_slice(line) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(path = %path.display(), line = n + 1, error = %e, "skipping unreadable job index line");
                continue;
            }
        };
        match event {
            IndexEvent::Submitted {
                id,
                spec,
                triggered_by,
                at,
                log_path: _,
            } => {
                if !jobs.contains_key(&id) {
                    order.push(id.clone());
                }
                jobs.insert(
                    id.clone(),
                    (
                        JobInfo {
                            log: super::local::log_ref(&id),
                            id,
                            spec,
                            triggered_by,
                            state: JobState::Queued,
                            submitted_at: at,
                            started_at: None,
                            finished_at: None,
                            exit_code: None,
                            note: None,
                        },
                        None,
                    ),
                );
            }
            IndexEvent::Started { id, at, pid } => {
                if let Some((job, job_pid)) = jobs.get_mut(&id) {
                    job.state = JobState::Running;
                    job.started_at = Some(at);
                    *job_pid = Some(pid);
                }
            }
            IndexEvent::Finished {
                id,
                at,
                state,
                exit_code,
                note,
            } => {
                if let Some((job, _)) = jobs.get_mut(&id) {
                    job.state = state;
                    job.finished_at = Some(at);
                    job.exit_code = exit_code;
                    job.note = note;
                }
            }
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|id| jobs.remove(&id))
        .collect())
}
