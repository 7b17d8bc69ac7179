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
/// Linux: the command line in `/proc/<pid>/cmdline` must hold the marker. It is empty for a
/// zombie, and also for a moment while a just-spawned process is still inside `execve`: an
/// empty command line of a live, non-kernel process therefore counts as alive. Elsewhere:
/// `kill(pid, 0)`.
pub(crate) fn job_alive(pid: u32, marker: &str) -> bool {
    if Path::new("/proc/self/cmdline").exists() {
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        if !cmdline.is_empty() {
            return cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == marker.as_bytes());
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // Fields after the parenthesised command name: state, ppid, pgrp, session, tty_nr,
        // tpgid, flags.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let state = fields.first().copied().unwrap_or("Z");
        let flags: u64 = fields.get(6).and_then(|f| f.parse().ok()).unwrap_or(0);
        const PF_KTHREAD: u64 = 0x0020_0000;
        !matches!(state, "Z" | "X" | "x") && flags & PF_KTHREAD == 0
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
