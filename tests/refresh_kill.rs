//! SIGKILL during a benchmark refresh, at every step of the installation (the test hook
//! `DRIFTDECK_FAILPOINT` pauses the real binary there; the test then kills it with SIGKILL):
//! the model always has a complete, readable benchmark (the old or the new one, byte for byte),
//! a daily run works right away, and the next refresh's recovery leaves a profile whose checksum
//! is the benchmark's (rolled forward once the journal was written, discarded before).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sha2::{Digest, Sha256};

fn sha(path: &Path) -> String {
    format!(
        "{:x}",
        Sha256::digest(std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    )
}

fn run(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("DRIFTDECK_FAILPOINT")
        .output()
        .expect("runs")
}

/// Refreshes ewr_delay with the failpoint `point` and SIGKILLs the process when it reports it.
fn kill_at(config: &Path, point: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .arg("--config")
        .arg(config)
        .args(["refresh-benchmarks", "--model", "ewr_delay"])
        .env("DRIFTDECK_FAILPOINT", point)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    let wanted = format!("failpoint {point}");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains(&wanted) {
                let _ = tx.send(());
                break;
            }
        }
    });
    let reached = rx.recv_timeout(Duration::from_secs(120));
    child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
    let _ = child.wait();
    assert!(
        reached.is_ok(),
        "the refresh never reached failpoint {point}"
    );
}

#[test]
fn sigkill_at_every_step_leaves_a_complete_benchmark_and_a_consistent_profile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let points = [
        ("staged", false),
        ("profile-staged", false),
        ("version-kept", false),
        ("journal-written", true),
        ("benchmark-renamed", true),
        ("profile-renamed", true),
    ];
    for (point, committed) in points {
        let ws = dir.path().join(point);
        let out = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
            .args(["demo", "init"])
            .arg(&ws)
            .output()
            .expect("demo init");
        assert!(out.status.success());
        let config = ws.join("config/driftdeck.toml");
        let model_dir: PathBuf = ws.join("benchmarks/airports/ewr_delay");
        let bench = model_dir.join("benchmark.csv");
        let profile = model_dir.join("benchmark.profile.json");
        // A daily run first, so a profile of the old benchmark exists.
        let out = run(
            &config,
            &["run", "--model", "ewr_delay", "--date", "2013-02-01"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let old = sha(&bench);

        kill_at(&config, point);

        // Complete and readable: exactly the old file, or a full new one.
        let now = sha(&bench);
        let table = driftdeck::sources::read_table(&bench, None)
            .unwrap_or_else(|e| panic!("{point}: unreadable benchmark: {e}"));
        if committed {
            assert!(table.rows > 3000, "{point}: {} rows", table.rows);
        } else {
            assert_eq!(now, old, "{point}: benchmark changed before the commit");
        }
        // A daily run works right away (a stale profile is detected and rebuilt).
        let out = run(
            &config,
            &[
                "run",
                "--model",
                "ewr_delay",
                "--date",
                "2013-02-02",
                "--attempts",
                "1",
            ],
        );
        assert!(
            out.status.success(),
            "{point}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Recovery (run by the next refresh) completes or discards; then profile == benchmark.
        let out = run(
            &config,
            &["refresh-benchmarks", "--model", "ewr_delay", "--dry-run"],
        );
        assert!(
            out.status.success(),
            "{point}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let after = sha(&bench);
        if committed {
            assert_ne!(
                after, old,
                "{point}: committed refresh was not rolled forward"
            );
        } else {
            assert_eq!(after, old, "{point}");
        }
        let p: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&profile).expect("profile")).expect("json");
        assert_eq!(
            p["source_checksum"].as_str(),
            Some(after.as_str()),
            "{point}"
        );
        let leftovers: Vec<String> = std::fs::read_dir(&model_dir)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".refresh-") || n == "refresh.journal.json")
            .collect();
        assert!(leftovers.is_empty(), "{point}: {leftovers:?}");
        let versions: Vec<String> = std::fs::read_dir(model_dir.join("versions"))
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            versions.iter().all(|v| !v.starts_with('.')),
            "{point}: partial version left: {versions:?}"
        );
        if committed {
            assert_eq!(versions.len(), 1, "{point}: the old benchmark is kept");
            assert_eq!(
                sha(&model_dir
                    .join("versions")
                    .join(&versions[0])
                    .join("benchmark.csv")),
                old
            );
        }
    }
}
