//! Issue 11, finding 1: the crash-and-signal suite. SIGKILL and SIGTERM at points of `run` and
//! `backfill` (mid-backfill, during a retry wait), then recovery: no attempt is left non-final
//! (the reaper in `status` ends expired leases as `lost`, SIGTERM records `cancelled`), every
//! result is complete (its characteristics and bins, `PCI_CSI_DAILY_BINS`, with it) or absent, and the next
//! `backfill --only-missing` finishes the set.
//!
//! A 2 s lease (`DRIFTDECK_LEASE_SECONDS`) keeps the suite short; kill points are drawn from the
//! clock, so each run of the suite kills at a different moment.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LEASE: &str = "2";

#[path = "support/reliab_ws.rs"]
mod reliab_ws;
use reliab_ws::{Ws, command, stderr_of};

/// The shared two-model workspace, with its store created (migrated) before anything is killed.
fn two_model_ws() -> Ws {
    let ws = reliab_ws::two_model_ws();
    // The store exists (migrated) before any process is killed.
    assert!(ws.run(&["status"]).status.success(), "store created");
    ws
}

fn spawn(ws: &Ws, args: &[&str]) -> std::process::Child {
    command()
        .env("DRIFTDECK_LEASE_SECONDS", LEASE)
        .arg("--config")
        .arg(&ws.config)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn driftdeck")
}

fn non_final(ws: &Ws) -> i64 {
    ws.count("SELECT COUNT(*) FROM PCI_CSI_RUNS WHERE status IN ('queued', 'running', 'retrying')")
}

fn incomplete_results(ws: &Ws) -> i64 {
    ws.count(
        "SELECT COUNT(*) FROM PCI_CSI_RESULTS r WHERE NOT EXISTS (SELECT 1 FROM \
         PCI_CSI_DAILY_BINS c WHERE c.model_id = r.model_id \
         AND c.calculation_date = r.calculation_date)",
    )
}

/// Polls until `sql` counts at least one row (60 s at most).
fn wait_rows(ws: &Ws, sql: &str, what: &str) {
    let start = Instant::now();
    while ws.count(sql) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never saw {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

/// A pseudo-random delay in `0..max_ms` milliseconds from the clock (no extra dependency).
fn random_ms(max_ms: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    u64::from(nanos) % max_ms
}

/// After a crash: the reaper (in `status`) ends what the killed job left non-final once its
/// lease expired, results are complete or absent, and `--only-missing` finishes the set.
fn recover_and_finish(ws: &Ws) {
    std::thread::sleep(Duration::from_millis(2_500)); // the 2 s lease expires
    let out = ws.run_env(&["status"], &[("DRIFTDECK_LEASE_SECONDS", LEASE)]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        non_final(ws),
        0,
        "no attempt left running/retrying after the reaper"
    );
    assert_eq!(incomplete_results(ws), 0, "every result complete or absent");
    let out = ws.run(&[
        "backfill",
        "--all",
        "--from",
        "2024-04-01",
        "--to",
        "2024-04-08",
        "--only-missing",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(ws.count("SELECT COUNT(*) FROM PCI_CSI_RESULTS"), 16);
    assert_eq!(non_final(ws), 0);
}

#[test]
fn sigkill_mid_backfill_then_recovery_finishes_the_set() {
    let ws = two_model_ws();
    // 2024-04-09 has no current file: its runs fail and wait 30 s to retry, so the killed
    // backfill always leaves `retrying` rows besides whatever was `running`.
    let child = spawn(
        &ws,
        &[
            "backfill",
            "--all",
            "--from",
            "2024-04-01",
            "--to",
            "2024-04-09",
            "--concurrency",
            "2",
            "--attempts",
            "3",
            "--retry-delay",
            "30",
        ],
    );
    wait_rows(
        &ws,
        "SELECT COUNT(*) FROM PCI_CSI_RUNS",
        "the first attempt",
    );
    std::thread::sleep(Duration::from_millis(random_ms(300)));
    wait_rows(
        &ws,
        "SELECT COUNT(*) FROM PCI_CSI_RUNS WHERE status = 'retrying'",
        "a retry wait",
    );
    kill(&child, "KILL");
    let _ = child.wait_with_output();
    assert!(non_final(&ws) > 0, "the kill left attempts open");
    recover_and_finish(&ws);
    let lost = ws.count(
        "SELECT COUNT(*) FROM PCI_CSI_RUNS WHERE status = 'lost' AND error LIKE 'lost: the job stopped renewing its lease%'",
    );
    assert!(lost > 0, "reaped attempts say why");
}

#[test]
fn sigkill_of_a_run_at_a_random_point_then_recovery() {
    let ws = two_model_ws();
    let child = spawn(&ws, &["run", "--all", "--date", "2024-04-02"]);
    std::thread::sleep(Duration::from_millis(random_ms(400)));
    kill(&child, "KILL");
    let _ = child.wait_with_output();
    recover_and_finish(&ws);
}

#[test]
fn sigterm_records_attempts_in_flight_as_cancelled() {
    let ws = two_model_ws();
    for (args, label) in [
        (
            &[
                "run",
                "--model",
                "m1",
                "--date",
                "2024-04-09",
                "--attempts",
                "3",
                "--retry-delay",
                "30",
            ][..],
            "run",
        ),
        (
            &[
                "backfill",
                "--all",
                "--from",
                "2024-04-07",
                "--to",
                "2024-04-09",
                "--attempts",
                "3",
                "--retry-delay",
                "30",
            ][..],
            "backfill",
        ),
    ] {
        let child = spawn(&ws, args);
        wait_rows(
            &ws,
            "SELECT COUNT(*) FROM PCI_CSI_RUNS WHERE status = 'retrying'",
            "a retry wait",
        );
        kill(&child, "TERM");
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(143), "{label}: {}", stderr_of(&out));
        assert_eq!(
            non_final(&ws),
            0,
            "{label}: nothing left open after SIGTERM"
        );
        assert!(
            ws.count(
                "SELECT COUNT(*) FROM PCI_CSI_RUNS WHERE status = 'cancelled' AND error LIKE 'cancelled by SIGTERM%'"
            ) > 0,
            "{label}: attempts recorded as cancelled"
        );
        assert_eq!(incomplete_results(&ws), 0);
    }
    // `run --failed` picks cancelled runs up again (and fails again: no current file).
    let out = ws.run(&["run", "--failed", "--attempts", "1"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2024-04-09 FAILED"),
        "{}",
        stderr_of(&out)
    );
}
