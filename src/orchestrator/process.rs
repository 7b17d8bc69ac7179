//! Process liveness and signals for job process groups (Unix).
//!
//! A job runs as `/bin/sh -c WRAPPER <marker> ...` in its own process group (pgid = pid). The
//! marker (`driftdeck-job:<id>`) is the wrapper's `$0`, so it appears in the process's command
//! line: a pid that was reused by an unrelated process is not mistaken for the job.

use std::path::Path;

/// The `$0` given to a job's wrapper shell.
pub(crate) fn marker(id: &str) -> String {
    format!("driftdeck-job:{id}")
}

/// True while the job wrapper with this `pid` and `marker` is alive (a zombie counts as dead).
///
/// Linux: reads `/proc/<pid>/cmdline` (empty for zombies). Elsewhere: `kill(pid, 0)`.
pub(crate) fn job_alive(pid: u32, marker: &str) -> bool {
    if Path::new("/proc/self/cmdline").exists() {
        match std::fs::read(format!("/proc/{pid}/cmdline")) {
            Ok(cmdline) => cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == marker.as_bytes()),
            Err(_) => false,
        }
    } else {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: kill with signal 0 only checks for existence and permission; no memory involved.
        unsafe { libc::kill(pid, 0) == 0 }
    }
}

/// Sends SIGTERM to the process group led by `pid` (the job and every child it started).
pub(crate) fn terminate_group(pid: u32) -> std::io::Result<()> {
    let pgid = libc::pid_t::try_from(pid)
        .map_err(|_| std::io::Error::other(format!("pid {pid} out of range")))?;
    if pgid <= 1 {
        return Err(std::io::Error::other(format!(
            "refusing to signal process group {pgid}"
        )));
    }
    // SAFETY: kill(-pgid, SIGTERM) signals a process group; no memory is shared or borrowed.
    let rc = unsafe { libc::kill(-pgid, libc::SIGTERM) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
