//! Issue 11, finding 1: the crash-and-signal suite. SIGKILL and SIGTERM at points of `run` and
//! `backfill` (mid-backfill, during a retry wait), then recovery: no attempt is left non-final
//! (the reaper in `status` ends expired leases as `lost`, SIGTERM records `cancelled`), every
//! result is complete (its characteristics and bins, `PCI_CSI_DAILY_BINS`, with it) or absent, and the next
//! `backfill --only-missing` finishes the set.
//!
//! A 2 s lease (`DRIFTDECK_LEASE_SECONDS`) keeps the suite short; kill points are drawn from the
//! clock, so each run of the suite kills at a different moment.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

const LEASE: &str = "2";

fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftdeck"));
    cmd.env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .env("NO_COLOR", "1");
    for k in [
        "DRIFTDECK_CONFIG",
        "DRIFTDECK_LOG",
        "DRIFTDECK_JOB_LOG",
        "THRESHOLD",
        "BENCHMARKING_PATH",
        "EMAIL_RECIPIENTS",
        "VALIDATION_THRESHOLD",
        "MODEL_M1_BENCHMARKING_PATH",
    ] {
        cmd.env_remove(k);
    }
    cmd
}

/// A one-model workspace (`m1` in value stream `vs`, one attempt, no delay).
struct Ws {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
}

impl Ws {
    fn new() -> Ws {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("ws");
        for d in ["config", "data", "benchmarks/vs/m1"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::write(
            root.join("config/driftdeck.toml"),
            "[workspace]\nname = \"mini\"\n\n[retry]\nattempts = 1\ndelay_seconds = 0\n",
        )
        .expect("toml");
        std::fs::write(
            root.join("config/models.yaml"),
            r#"models:
  - id: m1
    value_stream: vs
    owner: tests
    schedule: "0 6 * * *"
    score: score
    characteristics:
      - { name: x, kind: numeric }
      - { name: c, kind: categorical }
    current:
      path: data/cur_{date}.csv
"#,
        )
        .expect("yaml");
        let mut bench = String::from("score,x,c\n");
        for i in 0..40 {
            bench.push_str(&format!(
                "{},{},{}\n",
                i as f64 / 40.0,
                i * 3,
                ["a", "b", "c"][i % 3]
            ));
        }
        std::fs::write(root.join("benchmarks/vs/m1/benchmark.csv"), bench).expect("bench");
        Ws {
            config: root.join("config/driftdeck.toml"),
            root,
            _dir: dir,
        }
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = command();
        cmd.arg("--config").arg(&self.config).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("driftdeck binary runs")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    fn db(&self) -> Connection {
        Connection::open_with_flags(
            self.root.join("driftdeck.sqlite"),
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open store")
    }

    fn count(&self, sql: &str) -> i64 {
        if !self.root.join("driftdeck.sqlite").exists() {
            return 0;
        }
        self.db()
            .query_row(sql, [], |r| r.get(0))
            .expect("count query")
    }
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The workspace with a second model `m2` (same columns) and current files for 2024-04-01..08.
fn two_model_ws() -> Ws {
    let ws = Ws::new();
    let models = ws.root.join("config/models.yaml");
    let yaml = std::fs::read_to_string(&models).expect("yaml");
    let m2 = yaml.replacen("  - id: m1", "  - id: m2", 1);
    let m2 = &m2[m2.find("  - id: m2").expect("m2")..];
    std::fs::write(&models, format!("{yaml}{m2}")).expect("yaml");
    std::fs::create_dir_all(ws.root.join("benchmarks/vs/m2")).expect("mkdir");
    std::fs::copy(
        ws.root.join("benchmarks/vs/m1/benchmark.csv"),
        ws.root.join("benchmarks/vs/m2/benchmark.csv"),
    )
    .expect("bench");
    for day in 1..=8 {
        let mut cur = String::from("score,x,c\n");
        for i in 0..30 {
            cur.push_str(&format!(
                "{},{},{}\n",
                (i + day) as f64 / 40.0,
                i * day,
                ["a", "b", "c"][i % 3]
            ));
        }
        std::fs::write(ws.root.join(format!("data/cur_2024-04-0{day}.csv")), cur).expect("current");
    }
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
