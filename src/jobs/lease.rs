//! Runs ended by a signal never stay `running` or `retrying` (issue 11 #1).
//!
//! - **Lease**: every non-final attempt is recorded with `lease_until = now + lease`
//!   ([`lease_duration`]); a [`Heartbeat`] thread renews it every third of the lease while the
//!   attempt runs or waits for its retry. Nothing depends on local PIDs, so a pod killed by its
//!   node is treated like a process killed by SIGKILL.
//! - **Reaper**: [`reap`] ends attempts whose lease expired as `lost` with the reason; it runs at
//!   the start of every job, of the console and in `status`.
//! - **Graceful stop**: [`install_termination_handler`] makes SIGTERM, SIGINT and SIGHUP record
//!   every attempt in flight as `cancelled` before the process exits (Kubernetes sends SIGTERM
//!   and waits `terminationGracePeriodSeconds`).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::Utc;

use crate::domain::RunStatus;
use crate::store::{ResultsStore, RunRecord};

/// Environment variable overriding the lease in seconds ([`MIN_LEASE_SECONDS`]..=
/// [`MAX_LEASE_SECONDS`]; tests use a short one).
pub const LEASE_ENV: &str = "DRIFTDECK_LEASE_SECONDS";
/// Default lease of a running attempt, seconds.
pub const DEFAULT_LEASE_SECONDS: u64 = 60;
/// Shortest lease accepted from [`LEASE_ENV`].
pub const MIN_LEASE_SECONDS: u64 = 2;
/// Longest lease accepted from [`LEASE_ENV`].
pub const MAX_LEASE_SECONDS: u64 = 3_600;
/// Attempts without a lease (written by an older driftdeck) are reaped this long after they
/// started.
pub const UNLEASED_GRACE: Duration = Duration::from_secs(24 * 3_600);

/// The lease: [`LEASE_ENV`] when set to a whole number of seconds within bounds, else
/// [`DEFAULT_LEASE_SECONDS`] (an out-of-range or malformed value is logged and ignored).
pub fn lease_duration() -> Duration {
    match std::env::var(LEASE_ENV) {
        Err(_) => Duration::from_secs(DEFAULT_LEASE_SECONDS),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(s) if (MIN_LEASE_SECONDS..=MAX_LEASE_SECONDS).contains(&s) => Duration::from_secs(s),
            _ => {
                tracing::warn!(
                    "{LEASE_ENV}={} is not a number of seconds in {MIN_LEASE_SECONDS}..={MAX_LEASE_SECONDS}; using {DEFAULT_LEASE_SECONDS}",
                    crate::sanitize::excerpt(&text, 40)
                );
                Duration::from_secs(DEFAULT_LEASE_SECONDS)
            }
        },
    }
}

/// `now + lease`.
pub fn lease_until() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(lease_duration()).unwrap_or(chrono::Duration::MAX)
}

/// Ends expired attempts as `lost` (see [`ResultsStore::reap_expired`]); logs how many. Errors
/// are logged, never fatal: a reaper that cannot write must not stop a job or the console.
pub fn reap(store: &dyn ResultsStore) -> usize {
    match store.reap_expired(Utc::now(), UNLEASED_GRACE) {
        Ok(0) => 0,
        Ok(n) => {
            tracing::warn!(
                event = "reaped",
                attempts = n,
                "attempts whose job stopped renewing its lease recorded as lost"
            );
            n
        }
        Err(e) => {
            tracing::warn!(event = "reaped", "expired attempts not reaped: {e}");
            0
        }
    }
}

/// Renews the lease of one attempt until dropped.
pub struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Starts renewing (`run_id`, `attempt`) every third of the lease.
    pub fn start(store: Arc<dyn ResultsStore>, run_id: String, attempt: u32) -> Heartbeat {
        let (tx, rx) = mpsc::channel::<()>();
        let every = lease_duration() / 3;
        let thread = std::thread::Builder::new()
            .name("lease-heartbeat".into())
            .spawn(move || {
                loop {
                    match rx.recv_timeout(every) {
                        Err(RecvTimeoutError::Timeout) => {
                            if let Err(e) = store.renew_lease(&run_id, attempt, lease_until()) {
                                tracing::warn!(run_id = %run_id, attempt, "lease not renewed: {e}");
                            }
                        }
                        _ => return,
                    }
                }
            })
            .map_err(|e| tracing::warn!("lease heartbeat not started: {e}"))
            .ok();
        Heartbeat {
            stop: Some(tx),
            thread,
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type InFlight = Vec<(Arc<dyn ResultsStore>, RunRecord)>;

/// Attempts recorded non-final by this process and not yet final.
static IN_FLIGHT: Mutex<InFlight> = Mutex::new(Vec::new());

fn in_flight() -> std::sync::MutexGuard<'static, InFlight> {
    IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Remembers the newest state of an attempt of this process (for the termination handler):
/// tracked while non-final, forgotten once final.
pub fn track(store: &Arc<dyn ResultsStore>, record: &RunRecord) {
    let mut g = in_flight();
    g.retain(|(_, r)| !(r.run_id == record.run_id && r.attempt == record.attempt));
    if !record.status.is_final() {
        g.push((Arc::clone(store), record.clone()));
    }
}

/// Records every attempt in flight as `cancelled` with `reason`; returns how many.
pub fn cancel_in_flight(reason: &str) -> usize {
    let records: InFlight = std::mem::take(&mut *in_flight());
    let now = Utc::now();
    let mut n = 0;
    for (store, mut r) in records {
        r.status = RunStatus::Cancelled;
        r.finished_at = Some(now);
        r.error = Some(match &r.error {
            Some(previous) => format!("{reason}; last error: {previous}"),
            None => reason.to_string(),
        });
        match store.record_attempt(&r) {
            Ok(()) => n += 1,
            Err(e) => eprintln!(
                "driftdeck: attempt {} #{} not recorded as cancelled: {e}",
                r.run_id, r.attempt
            ),
        }
    }
    n
}

/// Blocks SIGTERM, SIGINT and SIGHUP in this thread (and every thread it starts later) and
/// starts a thread that waits for them: the first one records every attempt in flight as
/// `cancelled` ("cancelled by SIGTERM"), then exits with 128 + the signal number. Call before
/// starting worker threads (`run`, `backfill`).
pub fn install_termination_handler() {
    // SAFETY: sigset_t is plain data initialised by sigemptyset; pthread_sigmask and sigwait
    // only read the set; no Rust state is touched from a signal handler (none is installed).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            tracing::warn!("termination signals not handled: pthread_sigmask failed");
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("termination".into())
            .spawn(move || {
                let mut sig: libc::c_int = 0;
                if libc::sigwait(&set, &mut sig) != 0 {
                    return;
                }
                let name = match sig {
                    libc::SIGTERM => "SIGTERM",
                    libc::SIGINT => "SIGINT",
                    _ => "SIGHUP",
                };
                let n = cancel_in_flight(&format!("cancelled by {name}"));
                eprintln!("driftdeck: {name}: {n} attempt(s) in flight recorded as cancelled");
                std::process::exit(128 + sig);
            });
        if let Err(e) = spawned {
            tracing::warn!("termination signals not handled: {e}");
        }
    }
}
