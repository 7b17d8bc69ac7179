//! End-to-end tests of `driftdeck psi` (the real binary):
//! - on the demo files it reproduces the oracle fixtures of `tests/fixtures/reference/`
//!   (produced by `shared/peers/psi_reference.py`, see that directory's README): PSI per column to
//!   1e-9 relative, edges bit-for-bit, bin labels and counts identical;
//! - hostile inputs give a clear message naming file / line / column, a non-zero exit and no
//!   output on stdout.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use serde_json::Value;

/// Columns the fixtures excluded (`make_fixtures.py`: `EXCLUDED`).
const EXCLUDED: &str = "flight_id,flight_date,month,delayed,cancelled_or_diverted";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo_data(name: &str) -> PathBuf {
    repo().join("assets/demo/data").join(name)
}

/// Runs the binary with a clean environment for the variables driftdeck reads.
fn driftdeck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .env("NO_COLOR", "1")
        .env_remove("DRIFTDECK_CONFIG")
        .env_remove("DRIFTDECK_LOG")
        .output()
        .expect("driftdeck binary runs")
}

/// stderr as text with ANSI escape sequences removed.
fn stderr_of(out: &Output) -> String {
    common::strip_ansi(&String::from_utf8_lossy(&out.stderr))
}

#[derive(Deserialize)]
struct Fixture {
    current_file: String,
    rows_benchmark: u64,
    rows_current: u64,
    columns: BTreeMap<String, RefColumn>,
}

#[derive(Deserialize)]
struct RefColumn {
    kind: String,
    psi: f64,
    edges: Vec<String>,
    bins: Vec<(String, u64, u64)>,
}

fn load_fixture(case: &str) -> Fixture {
    let path = repo().join(format!("tests/fixtures/reference/{case}.json"));
    let text = std::fs::read_to_string(&path).expect("fixture present");
    serde_json::from_str(&text).expect("fixture parses")
}

fn assert_matches_fixture(case: &str) {
    let fx = load_fixture(case);
    let bench = demo_data("benchmark.csv");
    let current = repo().join(&fx.current_file);
    let out = driftdeck(&[
        "psi",
        bench.to_str().expect("utf-8 path"),
        current.to_str().expect("utf-8 path"),
        "--exclude",
        EXCLUDED,
        "--json",
    ]);
    assert!(out.status.success(), "{case}: {}", stderr_of(&out));
    let got: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(got["rows_benchmark"], fx.rows_benchmark, "{case}");
    assert_eq!(got["rows_current"], fx.rows_current, "{case}");
    let columns = got["columns"].as_object().expect("columns object");
    let got_names: Vec<&String> = columns.keys().collect();
    let want_names: Vec<&String> = fx.columns.keys().collect();
    let mut got_sorted = got_names.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, want_names, "{case}: same columns scored");

    for (name, want) in &fx.columns {
        let ctx = format!("{case} / {name}");
        let col = &columns[name];
        assert_eq!(col["kind"], want.kind.as_str(), "{ctx}");
        let psi = col["psi"].as_f64().expect("psi number");
        let rel = (psi - want.psi).abs() / want.psi.abs().max(f64::MIN_POSITIVE);
        assert!(
            rel <= 1e-9,
            "{ctx}: psi {psi} vs oracle {} (rel {rel:e})",
            want.psi
        );

        let bins = col["bins"].as_array().expect("bins array");
        let got_bins: Vec<(String, u64, u64)> = bins
            .iter()
            .map(|b| {
                (
                    b["label"].as_str().expect("label").to_string(),
                    b["expected_count"].as_u64().expect("expected_count"),
                    b["actual_count"].as_u64().expect("actual_count"),
                )
            })
            .collect();
        assert_eq!(got_bins, want.bins, "{ctx}: bin labels and counts");

        // The per-bin table is consistent with itself: a share is count / rows (ε = 1e-4 in
        // place of an empty bin's 0, README, Design §6), and the contributions add up to the PSI.
        let share = |count: f64, rows: u64| {
            if count == 0.0 {
                1e-4
            } else {
                count / rows as f64
            }
        };
        let mut sum_contribution = 0.0;
        for b in bins {
            let e = b["expected_count"].as_u64().expect("count") as f64;
            let a = b["actual_count"].as_u64().expect("count") as f64;
            let es = b["expected_share"].as_f64().expect("expected_share");
            let as_ = b["actual_share"].as_f64().expect("actual_share");
            assert!(
                (es - share(e, fx.rows_benchmark)).abs() < 1e-15,
                "{ctx}: expected share {es} of count {e}"
            );
            assert!(
                (as_ - share(a, fx.rows_current)).abs() < 1e-15,
                "{ctx}: actual share {as_} of count {a}"
            );
            let c = b["contribution"].as_f64().expect("contribution");
            assert!(
                (c - (as_ - es) * (as_ / es).ln()).abs() <= 1e-12 * c.abs().max(1e-12),
                "{ctx}: contribution {c}"
            );
            sum_contribution += c;
        }
        assert!(
            (sum_contribution - psi).abs() <= 1e-9 * psi.max(1e-12),
            "{ctx}: contributions {sum_contribution} vs psi {psi}"
        );

        if want.kind == "numeric" {
            let edges: Vec<f64> = col["edges"]
                .as_array()
                .expect("edges array")
                .iter()
                .map(|e| e.as_f64().expect("edge number"))
                .collect();
            let want_edges: Vec<f64> = want
                .edges
                .iter()
                .map(|e| e.parse::<f64>().expect("fixture edge"))
                .collect();
            assert_eq!(edges.len(), want_edges.len(), "{ctx}: edge count");
            for (g, w) in edges.iter().zip(&want_edges) {
                assert_eq!(g.to_bits(), w.to_bits(), "{ctx}: edge {g} vs {w}");
            }
        }
    }
}

#[test]
fn psi_cli_matches_oracle_june() {
    assert_matches_fixture("month_2013-06");
}

#[test]
fn psi_cli_matches_oracle_december() {
    assert_matches_fixture("month_2013-12");
}

#[test]
fn psi_cli_matches_oracle_february() {
    assert_matches_fixture("month_2013-02");
}

#[test]
fn psi_cli_text_output_lists_every_column() {
    let bench = demo_data("benchmark.csv");
    let current = demo_data("current_2013-06.csv");
    let out = driftdeck(&[
        "psi",
        bench.to_str().expect("utf-8"),
        current.to_str().expect("utf-8"),
        "--exclude",
        EXCLUDED,
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let fx = load_fixture("month_2013-06");
    assert_eq!(text.lines().count(), fx.columns.len(), "{text}");
    let score = text
        .lines()
        .find(|l| l.starts_with("score "))
        .expect("score line");
    let printed: f64 = score
        .split("psi=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("psi= value");
    assert!((printed - fx.columns["score"].psi).abs() < 1e-9, "{score}");
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write fixture file");
    p
}

const GOOD: &[u8] = b"x,c\n1,a\n2,b\n3,c\n4,a\n5,b\n";

/// Runs `driftdeck psi GOOD <current>` and returns (success, stdout, stderr).
fn psi_against_good(dir: &Path, current: &[u8]) -> (bool, String, String) {
    let bench = write(dir, "bench.csv", GOOD);
    let cur = write(dir, "cur.csv", current);
    let out = driftdeck(&[
        "psi",
        bench.to_str().expect("utf-8"),
        cur.to_str().expect("utf-8"),
        "--json",
    ]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr_of(&out),
    )
}

fn assert_fails(dir: &Path, current: &[u8], needles: &[&str]) -> String {
    let (ok, stdout, stderr) = psi_against_good(dir, current);
    assert!(!ok, "expected failure; stdout: {stdout}");
    assert!(stdout.is_empty(), "nothing on stdout on failure: {stdout}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
    stderr
}

#[test]
fn psi_ragged_row_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_fails(
        dir.path(),
        b"x,c\n1,a\n2,b\n3\n",
        &["cur.csv", "line 4", "malformed CSV"],
    );
}

#[test]
fn psi_bad_utf8_names_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_fails(
        dir.path(),
        b"x,c\n1,a\n2,caf\xe9\n",
        &["cur.csv", "line 3", "UTF-8", "\"c\""],
    );
}

#[test]
fn psi_unterminated_quote_is_an_error_not_swallowed_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The quote opened on line 3 never closes: it must not silently swallow lines 3..5 into one
    // field (the field count still matches the header, so only quote tracking catches it).
    assert_fails(
        dir.path(),
        b"x,c\n1,a\n2,\"b\n3,c\n4,a\n",
        &["cur.csv", "line 3", "quote"],
    );
    // Same in the benchmark.
    let bench = write(dir.path(), "badbench.csv", b"x,c\n1,\"a\n2,b\n");
    let cur = write(dir.path(), "okcur.csv", GOOD);
    let out = driftdeck(&[
        "psi",
        bench.to_str().expect("utf-8"),
        cur.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains("badbench.csv") && err.contains("quote"),
        "{err}"
    );
    // Well-formed quoting (delimiters, doubled quotes and newlines inside quotes) still reads.
    let (ok, stdout, stderr) = psi_against_good(
        dir.path(),
        b"x,c\n1,\"a\"\n2,\"b, \"\"quoted\"\"\"\n3,\"multi\nline\"\n",
    );
    assert!(ok, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["rows_current"], 3);
}

#[test]
fn psi_empty_and_header_only_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_fails(dir.path(), b"", &["cur.csv", "empty file"]);
    assert_fails(
        dir.path(),
        b"x,c\n",
        &["current population is empty", "0 rows"],
    );
}

#[test]
fn psi_nan_text_is_missing_but_inf_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, stdout, stderr) = psi_against_good(dir.path(), b"x,c\n1,a\nNaN,b\n3,c\n");
    assert!(ok, "NaN text is a missing value, not an error: {stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("json");
    let missing = v["columns"]["x"]["bins"]
        .as_array()
        .expect("bins")
        .iter()
        .find(|b| b["label"] == "missing")
        .expect("missing bin")
        .clone();
    assert_eq!(missing["actual_count"], 1, "{missing}");

    for inf in ["inf", "-inf", "Infinity"] {
        let body = format!("x,c\n1,a\n{inf},b\n3,c\n");
        assert_fails(
            dir.path(),
            body.as_bytes(),
            &["cur.csv", "line 3", "\"x\"", "infinite"],
        );
    }
}

#[test]
fn psi_huge_values_are_fine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, stdout, stderr) = psi_against_good(dir.path(), b"x,c\n1e308,a\n-1.7e308,b\n3,c\n");
    assert!(ok, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("json");
    let psi = v["columns"]["x"]["psi"].as_f64().expect("psi");
    assert!(psi.is_finite() && psi > 0.0, "{psi}");
    // Both extremes land in the outer bins.
    let bins = v["columns"]["x"]["bins"].as_array().expect("bins");
    let first = bins.first().expect("bin");
    let last_value_bin = &bins[bins.len() - 2];
    assert_eq!(first["actual_count"], 1, "{first}");
    assert_eq!(last_value_bin["actual_count"], 1, "{last_value_bin}");
}

#[test]
fn psi_text_in_numeric_column_names_file_line_column_and_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_fails(
        dir.path(),
        b"x,c\n1,a\n2,b\nabc,c\n",
        &["cur.csv", "line 4", "\"x\"", "\"abc\"", "not a number"],
    );
}

#[test]
fn psi_missing_file_names_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bench = dir.path().join("no_such_benchmark.csv");
    let cur = write(dir.path(), "cur.csv", GOOD);
    let out = driftdeck(&[
        "psi",
        bench.to_str().expect("utf-8"),
        cur.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = stderr_of(&out);
    assert!(
        err.contains(bench.to_str().expect("utf-8")) && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn psi_unknown_column_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bench = write(dir.path(), "bench.csv", GOOD);
    let cur = write(dir.path(), "cur.csv", b"x\n1\n2\n");
    let out = driftdeck(&[
        "psi",
        bench.to_str().expect("utf-8"),
        cur.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(err.contains("cur.csv") && err.contains("\"c\""), "{err}");
}

#[test]
fn psi_errors_are_plain_text_when_stderr_is_not_a_terminal() {
    // Job logs and CronJob logs capture stderr: no ANSI colour codes there, even without NO_COLOR.
    let dir = tempfile::tempdir().expect("tempdir");
    let bench = write(dir.path(), "bench.csv", GOOD);
    let cur = write(dir.path(), "cur.csv", b"x,c\n1,a\nabc,b\n");
    let out = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args(["psi"])
        .arg(&bench)
        .arg(&cur)
        .env("RUST_BACKTRACE", "0")
        .env_remove("NO_COLOR")
        .output()
        .expect("driftdeck runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains('\u{1b}'),
        "ANSI escapes in piped stderr: {err:?}"
    );
    assert!(err.contains("cur.csv: line 3, column \"x\""), "{err}");
}
