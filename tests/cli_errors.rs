//! Input errors read like a tool's, not a crash: the real binary, run with backtraces switched on
//! (`RUST_BACKTRACE=1`, `RUST_LIB_BACKTRACE=1`, `COLORBT_SHOW_HIDDEN=1`, as on many machines and
//! in containers), reports a bad file, a bad config key and a bad date as a message naming the
//! problem, exits non-zero, and prints no backtrace and no source location (an unknown model id
//! too).

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// The binary with every backtrace switch on and the variables driftdeck reads cleared.
fn driftdeck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .env("COLORBT_SHOW_HIDDEN", "1")
        .env("NO_COLOR", "1")
        .env_remove("DRIFTDECK_CONFIG")
        .env_remove("DRIFTDECK_LOG")
        .env_remove("BENCHMARKING_PATH")
        .output()
        .expect("driftdeck binary runs")
}

/// Asserts a failure whose stderr names every needle and carries no trace of a crash report.
fn assert_tool_error(out: &Output, needles: &[&str]) -> String {
    let err = common::strip_ansi(&String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "expected a failure; stderr: {err}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    for crash in [
        "Location",
        "src/main.rs",
        "backtrace",
        "Backtrace",
        "BACKTRACE",
        "panicked",
        "not an input error",
    ] {
        assert!(!err.contains(crash), "stderr shows {crash:?}:\n{err}");
    }
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.lines().count() <= 8, "a message, not a report:\n{err}");
    err
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
}

#[test]
fn a_missing_file_is_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.csv");
    write(&good, "x\n1\n2\n");
    let missing = dir.path().join("absent.csv");
    let out = driftdeck(&[
        "psi",
        missing.to_str().expect("utf-8"),
        good.to_str().expect("utf-8"),
    ]);
    assert_tool_error(&out, &["absent.csv", "not found"]);
}

#[test]
fn a_malformed_file_is_a_message_naming_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.csv");
    write(&good, "x,c\n1,a\n2,b\n3,c\n");
    let bad = dir.path().join("bad.csv");
    write(&bad, "x,c\n1,a\noops,b\n3,c\n");
    let out = driftdeck(&[
        "psi",
        good.to_str().expect("utf-8"),
        bad.to_str().expect("utf-8"),
    ]);
    assert_tool_error(&out, &["bad.csv", "line 3", "\"x\"", "oops"]);
}

#[test]
fn a_bad_config_key_is_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("driftdeck.toml");
    write(&config, "no_such_key = 1\n");
    let out = driftdeck(&["--config", config.to_str().expect("utf-8"), "info"]);
    assert_tool_error(&out, &["driftdeck.toml", "no_such_key"]);
}

#[test]
fn a_bad_date_is_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("ws");
    let init = driftdeck(&["demo", "init", root.to_str().expect("utf-8")]);
    assert!(
        init.status.success(),
        "demo init: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let config = root.join("config/driftdeck.toml");
    let config = config.to_str().expect("utf-8");
    let out = driftdeck(&[
        "--config",
        config,
        "backfill",
        "--all",
        "--from",
        "2013-02-30",
        "--to",
        "2013-03-01",
    ]);
    assert_tool_error(&out, &["--from", "2013-02-30"]);
    let out = driftdeck(&["--config", config, "run", "--all", "--date", "yesterday"]);
    assert_tool_error(&out, &["yesterday"]);
    let out = driftdeck(&[
        "--config",
        config,
        "run",
        "--model",
        "no_such_model",
        "--date",
        "2013-05-01",
    ]);
    assert_tool_error(&out, &["no_such_model"]);
}
