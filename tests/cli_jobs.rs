//! End-to-end tests of the job commands of the real binary (`run`, `backfill`, `status`) on the demo
//! workspace (`driftdeck demo init`) and on a tiny hand-written workspace, checking the SQLite rows
//! with rusqlite: one result per (model, date) with csi_score = max CSI, idempotent reruns,
//! `--only-missing`, retries with one PCI_CSI_RUNS row per attempt, notifications, hostile inputs
//! (clear message, non-zero exit, nothing half-written) and env overrides.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use driftdeck::store::sqlite::SqliteStore;
use driftdeck::store::{CharacteristicRecord, ColumnRole, ResultsStore};
use rusqlite::{Connection, OpenFlags, params};
use serde_json::Value;

/// Env variables driftdeck reads; cleared so the caller's environment cannot leak into a test.
const CLEARED_ENV: &[&str] = &[
    "DRIFTDECK_CONFIG",
    "DRIFTDECK_LOG",
    "DRIFTDECK_JOB_LOG",
    "THRESHOLD",
    "BENCHMARKING_PATH",
    "EMAIL_RECIPIENTS",
    "VALIDATION_THRESHOLD",
    "MODEL_JFK_DELAY_BENCHMARKING_PATH",
    "MODEL_M1_BENCHMARKING_PATH",
];

fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftdeck"));
    cmd.env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .env("NO_COLOR", "1");
    for k in CLEARED_ENV {
        cmd.env_remove(k);
    }
    cmd
}

/// A workspace: its root and its driftdeck.toml.
struct Ws {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
}

impl Ws {
    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = command();
        cmd.arg("--config").arg(&self.config).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("driftdeck binary runs")
    }

    fn db(&self) -> Connection {
        Connection::open_with_flags(
            self.root.join("driftdeck.sqlite"),
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open store")
    }

    /// Characteristic rows of one result, read through the store (the bins are a compact
    /// payload in the file, not SQL-readable).
    fn characteristics(&self, model: &str, date: &str) -> Vec<CharacteristicRecord> {
        let store = SqliteStore::open_read_only(self.root.join("driftdeck.sqlite"))
            .expect("open store read-only");
        let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
        store.characteristics(model, date).expect("characteristics")
    }

    fn count(&self, sql: &str, model: &str) -> i64 {
        self.db()
            .query_row(sql, params![model], |r| r.get(0))
            .expect("count query")
    }

    fn results(&self, model: &str, date: &str) -> Vec<(f64, f64, String)> {
        let db = self.db();
        let mut st = db
            .prepare(
                "SELECT psi_score, csi_score, execution_time FROM PCI_CSI_RESULTS
                 WHERE model_id = ?1 AND calculation_date = ?2",
            )
            .expect("prepare");
        st.query_map(params![model, date], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    }

    /// (run_id, attempt, status, error) of a model's runs on a date, in attempt order.
    fn runs(&self, model: &str, date: &str) -> Vec<(String, i64, String, Option<String>)> {
        let db = self.db();
        let mut st = db
            .prepare(
                "SELECT run_id, attempt, status, error FROM PCI_CSI_RUNS
                 WHERE model_id = ?1 AND calculation_date = ?2 ORDER BY started_at, attempt",
            )
            .expect("prepare");
        st.query_map(params![model, date], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    }
}

fn demo_ws() -> Ws {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("ws");
    let out = command()
        .args(["demo", "init"])
        .arg(&root)
        .output()
        .expect("demo init runs");
    assert!(out.status.success(), "demo init: {}", stderr_of(&out));
    Ws {
        config: root.join("config/driftdeck.toml"),
        root,
        _dir: dir,
    }
}

fn stderr_of(out: &Output) -> String {
    common::strip_ansi(&String::from_utf8_lossy(&out.stderr))
}

fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        stdout_of(out),
        stderr_of(out)
    );
}

fn assert_fails_with(out: &Output, needles: &[&str]) -> String {
    assert!(
        !out.status.success(),
        "expected a failure; stdout: {}",
        stdout_of(out)
    );
    let err = stderr_of(out);
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    err
}

// ---------------------------------------------------------------------------------------------
// Run + store

#[test]
fn run_stores_one_result_with_max_csi_and_a_rerun_replaces_it() {
    let ws = demo_ws();
    let date = "2013-07-15";
    let args = [
        "run",
        "--model",
        "jfk_delay",
        "--date",
        date,
        "--retry-delay",
        "0",
    ];
    let out = ws.run(&args);
    assert_ok(&out, "run");
    let line = stdout_of(&out);
    assert!(
        line.starts_with("jfk_delay 2013-07-15 psi=") && line.contains("attempts=1"),
        "{line}"
    );

    let rows = ws.results("jfk_delay", date);
    assert_eq!(rows.len(), 1, "exactly one PCI_CSI_RESULTS row");
    let (psi, csi, first_time) = rows[0].clone();

    // csi_score = the largest CSI over the characteristics; psi_score = the score's index.
    let chars = ws.characteristics("jfk_delay", date);
    let max_csi = chars
        .iter()
        .filter(|c| c.role == ColumnRole::Characteristic)
        .map(|c| c.index_value)
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(csi, max_csi);
    let score_index = chars
        .iter()
        .find(|c| c.role == ColumnRole::Score)
        .expect("score row")
        .index_value;
    assert_eq!(psi, score_index);
    assert_eq!(
        chars.len(),
        17,
        "score + 16 characteristics of the airport models"
    );
    // Each stored bin table's actual counts add up to the current rows.
    let db = ws.db();
    let rows_current: i64 = db
        .query_row(
            "SELECT rows_current FROM PCI_CSI_RUNS WHERE model_id = 'jfk_delay'
             AND calculation_date = ?1",
            params![date],
            |r| r.get(0),
        )
        .expect("rows_current");
    let dest = chars
        .iter()
        .find(|c| c.characteristic == "dest")
        .expect("dest");
    let total: u64 = dest.bins.iter().map(|b| b.actual_count).sum();
    assert_eq!(total as i64, rows_current);
    drop(db);

    let runs = ws.runs("jfk_delay", date);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!((runs[0].1, runs[0].2.as_str()), (1, "succeeded"));
    assert_eq!(runs[0].3, None);

    // A rerun of the same date replaces the result: same values, one row, a newer execution_time.
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_ok(&ws.run(&args), "rerun");
    let rows = ws.results("jfk_delay", date);
    assert_eq!(rows.len(), 1, "rerun keeps one row");
    assert_eq!((rows[0].0, rows[0].1), (psi, csi), "same data, same result");
    let parse = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap_or_else(|e| panic!("execution_time {t}: {e}"))
    };
    assert!(
        parse(&rows[0].2) > parse(&first_time),
        "execution_time updated: {} then {}",
        first_time,
        rows[0].2
    );
    assert_eq!(
        ws.characteristics("jfk_delay", date).len(),
        17,
        "characteristics replaced, not duplicated"
    );
    assert_eq!(
        ws.count(
            "SELECT COUNT(*) FROM PCI_CSI_DAILY_BINS WHERE model_id = ?1",
            "jfk_delay"
        ),
        1,
        "one day row per result"
    );
    let runs = ws.runs("jfk_delay", date);
    assert_eq!(runs.len(), 2, "every run is recorded: {runs:?}");
    assert_ne!(runs[0].0, runs[1].0, "distinct run ids");
}

#[test]
fn backfill_counts_and_only_missing_skips_stored_dates() {
    let ws = demo_ws();
    let out = ws.run(&[
        "backfill",
        "--model",
        "lga_delay",
        "--from",
        "2013-02-01",
        "--to",
        "2013-02-03",
    ]);
    assert_ok(&out, "backfill");
    assert!(
        stdout_of(&out)
            .contains("backfill 2013-02-01..2013-02-03: 3 runs, 3 succeeded, 0 failed, 0 skipped"),
        "{}",
        stdout_of(&out)
    );
    let before = ws.results("lga_delay", "2013-02-02");
    assert_eq!(before.len(), 1);

    let out = ws.run(&[
        "backfill",
        "--model",
        "lga_delay",
        "--from",
        "2013-02-01",
        "--to",
        "2013-02-05",
        "--only-missing",
    ]);
    assert_ok(&out, "backfill --only-missing");
    assert!(
        stdout_of(&out)
            .contains("backfill 2013-02-01..2013-02-05: 2 runs, 2 succeeded, 0 failed, 3 skipped"),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(
        ws.count(
            "SELECT COUNT(*) FROM PCI_CSI_RESULTS WHERE model_id = ?1",
            "lga_delay"
        ),
        5
    );
    assert_eq!(
        ws.count(
            "SELECT COUNT(*) FROM PCI_CSI_RUNS WHERE model_id = ?1",
            "lga_delay"
        ),
        5,
        "skipped dates are not run again"
    );
    assert_eq!(ws.results("lga_delay", "2013-02-02"), before, "untouched");
    // Only lga_delay was backfilled.
    assert_eq!(
        ws.db()
            .query_row("SELECT COUNT(*) FROM PCI_CSI_RESULTS", [], |r| r
                .get::<_, i64>(0))
            .expect("count"),
        5
    );
}

#[test]
fn status_json_lists_every_model_after_a_small_backfill() {
    let ws = demo_ws();
    let out = ws.run(&[
        "backfill",
        "--all",
        "--from",
        "2013-02-01",
        "--to",
        "2013-02-02",
    ]);
    assert_ok(&out, "backfill --all");
    assert!(
        stdout_of(&out).contains("12 runs, 12 succeeded, 0 failed, 0 skipped"),
        "{}",
        stdout_of(&out)
    );
    let out = ws.run(&["status", "--json"]);
    assert_ok(&out, "status");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_eq!(doc["pending"], 0, "{doc}");
    let rows: Vec<Value> = serde_json::from_value(doc["models"].clone()).expect("status models");
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["model_id"].as_str().expect("model_id"))
        .collect();
    assert_eq!(
        ids,
        [
            "ewr_delay",
            "jfk_delay",
            "lga_delay",
            "legacy_delay",
            "lowcost_delay",
            "regional_delay"
        ]
    );
    for r in &rows {
        let id = r["model_id"].as_str().expect("id");
        assert_eq!(r["last_date"], "2013-02-02", "{r}");
        assert_eq!(r["run_status"], "succeeded", "{r}");
        let stored = ws.results(id, "2013-02-02");
        assert_eq!(r["psi"].as_f64(), Some(stored[0].0), "{r}");
        assert_eq!(r["csi"].as_f64(), Some(stored[0].1), "{r}");
        // Demo thresholds: warn 0.1, alert 0.25.
        let psi = stored[0].0;
        let band = if psi >= 0.25 {
            "alert"
        } else if psi >= 0.1 {
            "warn"
        } else {
            "ok"
        };
        assert_eq!(r["band"], band, "{r}");
    }
}

// ---------------------------------------------------------------------------------------------
// Retry and failure

#[test]
fn failing_run_retries_records_each_attempt_notifies_and_keeps_other_results() {
    let ws = demo_ws();
    // A good result first, on a date whose window does not touch March.
    assert_ok(
        &ws.run(&["run", "--model", "jfk_delay", "--date", "2013-02-10"]),
        "good run",
    );
    let good = ws.results("jfk_delay", "2013-02-10");
    assert_eq!(good.len(), 1);

    // Ragged rows at the end of the March file: too many to quarantine (above 1 % of the
    // window's rows), so the run fails naming the first of them.
    let march = ws.root.join("data/current_2013-03.csv");
    let mut text = std::fs::read_to_string(&march).expect("march");
    let bad_line = text.lines().count() + 1;
    text.push_str(&"1,2,3\n".repeat(300));
    std::fs::write(&march, text).expect("write");

    let out = ws.run(&[
        "run",
        "--model",
        "jfk_delay",
        "--date",
        "2013-03-10",
        "--attempts",
        "3",
        "--retry-delay",
        "0",
    ]);
    let line = format!("line {bad_line}");
    assert_fails_with(&out, &["current_2013-03.csv", &line, "FAILED"]);

    let runs = ws.runs("jfk_delay", "2013-03-10");
    let statuses: Vec<(i64, &str)> = runs.iter().map(|r| (r.1, r.2.as_str())).collect();
    assert_eq!(
        statuses,
        [(1, "retrying"), (2, "retrying"), (3, "failed")],
        "{runs:?}"
    );
    assert!(runs.iter().all(|r| r.0 == runs[0].0), "one run id");
    for r in &runs {
        let e = r.3.as_deref().expect("error recorded");
        assert!(
            e.contains("current_2013-03.csv") && e.contains(&line),
            "{e}"
        );
    }
    assert!(
        ws.results("jfk_delay", "2013-03-10").is_empty(),
        "no result"
    );
    assert_eq!(
        ws.db()
            .query_row(
                "SELECT COUNT(*) FROM PCI_CSI_DAILY_BINS WHERE calculation_date = '2013-03-10'",
                [],
                |r| r.get::<_, i64>(0)
            )
            .expect("count"),
        0,
        "no half-written characteristics"
    );

    let outbox = std::fs::read_to_string(ws.root.join("outbox/notifications.jsonl"))
        .expect("notification written");
    let notes: Vec<Value> = outbox
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    assert_eq!(notes.len(), 1, "{outbox}");
    let subject = notes[0]["subject"].as_str().expect("subject");
    assert!(
        subject.contains("jfk_delay") && subject.contains("2013-03-10") && subject.contains('3'),
        "{subject}"
    );
    assert!(
        notes[0]["body"]
            .as_str()
            .expect("body")
            .contains("current_2013-03.csv"),
        "{}",
        notes[0]
    );
    assert!(
        notes[0]["email"]
            .as_array()
            .expect("emails")
            .iter()
            .any(|e| e == "airport-ops@example.com"),
        "{}",
        notes[0]
    );

    assert_eq!(
        ws.results("jfk_delay", "2013-02-10"),
        good,
        "prior result untouched"
    );
}

#[test]
fn deleted_current_file_fails_naming_the_path() {
    let ws = demo_ws();
    let march = ws.root.join("data/current_2013-03.csv");
    std::fs::remove_file(&march).expect("remove");
    let out = ws.run(&[
        "run",
        "--model",
        "ewr_delay",
        "--date",
        "2013-03-20",
        "--attempts",
        "2",
        "--retry-delay",
        "0",
    ]);
    assert_fails_with(&out, &["current_2013-03.csv"]);
    let runs = ws.runs("ewr_delay", "2013-03-20");
    let statuses: Vec<&str> = runs.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(statuses, ["retrying", "failed"]);
    assert!(ws.results("ewr_delay", "2013-03-20").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs through `run`, on a tiny workspace

/// A one-model workspace: model `m1` (value stream `vs`), score + numeric `x` + categorical `c`,
/// current data in `data/cur_{date}.csv` (one file per date), one attempt, no delay.
fn mini_ws() -> Ws {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("ws");
    std::fs::create_dir_all(root.join("config")).expect("mkdir");
    std::fs::create_dir_all(root.join("data")).expect("mkdir");
    std::fs::create_dir_all(root.join("benchmarks/vs/m1")).expect("mkdir");
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

fn good_current() -> String {
    let mut s = String::from("score,x,c\n");
    for i in 0..30 {
        s.push_str(&format!(
            "{},{},{}\n",
            i as f64 / 30.0,
            i * 4,
            ["a", "b", "c"][i % 3]
        ));
    }
    s
}

/// Files below `root`, relative, for "nothing was created" checks.
fn tree(root: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                out.insert(
                    p.strip_prefix(base)
                        .expect("below base")
                        .display()
                        .to_string(),
                );
                if p.is_dir() {
                    walk(base, &p, out);
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn hostile_current_data_fails_clearly_and_writes_no_result() {
    let ws = mini_ws();
    // (date, current file bytes, what stderr must name)
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "2024-01-01",
            b"score,x,c\n0.1,1,a\n0.2,2\n".to_vec(),
            vec![
                "cur_2024-01-01.csv",
                "line 3",
                "expected 3 fields",
                "quarantine",
            ],
        ),
        (
            "2024-01-02",
            b"score,x,c\n0.1,1,a\n0.2,2,caf\xe9\n".to_vec(),
            vec!["cur_2024-01-02.csv", "line 3", "UTF-8", "\"c\""],
        ),
        (
            "2024-01-03",
            b"score,x,c\n0.1,1,a\n0.2,2,\"b\n0.3,3,c\n".to_vec(),
            vec!["cur_2024-01-03.csv", "line 3", "unterminated quote"],
        ),
        (
            "2024-01-04",
            b"".to_vec(),
            vec!["cur_2024-01-04.csv", "empty file"],
        ),
        (
            "2024-01-05",
            b"score,x,c\n".to_vec(),
            vec!["current population is empty"],
        ),
        (
            "2024-01-06",
            b"score,x,c\n0.1,1,a\n0.2,inf,b\n".to_vec(),
            vec!["cur_2024-01-06.csv", "line 3", "\"x\"", "infinite"],
        ),
        (
            "2024-01-07",
            b"score,x,c\n0.1,1,a\n0.2,2,b\n0.3,12abc,c\n".to_vec(),
            vec![
                "cur_2024-01-07.csv",
                "line 4",
                "\"x\"",
                "\"12abc\"",
                "not a number",
            ],
        ),
        (
            "2024-01-08",
            b"score,x\n0.1,1\n".to_vec(),
            vec!["cur_2024-01-08.csv", "\"c\""],
        ),
    ];
    for (date, bytes, needles) in &cases {
        std::fs::write(ws.root.join(format!("data/cur_{date}.csv")), bytes).expect("write");
        let out = ws.run(&["run", "--model", "m1", "--date", date]);
        assert_fails_with(&out, needles);
        assert!(
            ws.results("m1", date).is_empty(),
            "{date}: no result written"
        );
        let runs = ws.runs("m1", date);
        assert_eq!(runs.len(), 1, "{date}: {runs:?}");
        assert_eq!(runs[0].2, "failed", "{date}");
    }
    // A date with no file at all names the path it looked for.
    let out = ws.run(&["run", "--model", "m1", "--date", "2024-02-01"]);
    assert_fails_with(&out, &["cur_2024-02-01.csv"]);
    assert_eq!(
        ws.count(
            "SELECT COUNT(*) FROM PCI_CSI_DAILY_BINS WHERE model_id = ?1",
            "m1"
        ),
        0
    );
}

#[test]
fn nan_text_is_missing_and_huge_values_are_fine() {
    let ws = mini_ws();
    let mut nan = good_current();
    nan.push_str("NaN,NaN,a\n0.5,,\n");
    std::fs::write(ws.root.join("data/cur_2024-03-01.csv"), nan).expect("write");
    assert_ok(
        &ws.run(&["run", "--model", "m1", "--date", "2024-03-01"]),
        "NaN run",
    );
    let missing_x: u64 = ws
        .characteristics("m1", "2024-03-01")
        .iter()
        .find(|c| c.characteristic == "x")
        .and_then(|c| c.bins.iter().find(|b| b.label == "missing"))
        .map(|b| b.actual_count)
        .expect("missing bin");
    assert_eq!(missing_x, 2, "NaN text and an empty field are both missing");

    let mut huge = good_current();
    huge.push_str("0.5,1e308,a\n0.6,-1e308,b\n");
    std::fs::write(ws.root.join("data/cur_2024-03-02.csv"), huge).expect("write");
    assert_ok(
        &ws.run(&["run", "--model", "m1", "--date", "2024-03-02"]),
        "huge run",
    );
    let r = ws.results("m1", "2024-03-02");
    assert_eq!(r.len(), 1);
    assert!(r[0].0.is_finite() && r[0].1.is_finite(), "{r:?}");
}

#[test]
fn malformed_or_missing_benchmark_fails_and_writes_no_profile() {
    let ws = mini_ws();
    std::fs::write(ws.root.join("data/cur_2024-04-01.csv"), good_current()).expect("write");
    let bench = ws.root.join("benchmarks/vs/m1/benchmark.csv");
    let profile = ws.root.join("benchmarks/vs/m1/benchmark.profile.json");
    let good = std::fs::read(&bench).expect("bench");

    std::fs::write(&bench, b"score,x,c\n0.1,1,a\n0.2,oops,b\n").expect("write");
    let out = ws.run(&["run", "--model", "m1", "--date", "2024-04-01"]);
    assert_fails_with(&out, &["benchmark.csv", "line 3", "\"x\"", "\"oops\""]);
    assert!(!profile.exists(), "no profile from a bad benchmark");

    std::fs::remove_file(&bench).expect("rm");
    let out = ws.run(&["run", "--model", "m1", "--date", "2024-04-01"]);
    assert_fails_with(&out, &[bench.to_str().expect("utf-8")]);
    assert!(!profile.exists());
    assert!(ws.results("m1", "2024-04-01").is_empty());

    // Restored, the same date runs and the profile is saved beside the benchmark.
    std::fs::write(&bench, good).expect("restore");
    assert_ok(
        &ws.run(&["run", "--model", "m1", "--date", "2024-04-01"]),
        "run",
    );
    assert!(profile.exists());
    assert_eq!(ws.results("m1", "2024-04-01").len(), 1);
}

#[test]
fn hostile_model_ids_and_dates_are_rejected_without_side_effects() {
    let ws = mini_ws();
    std::fs::write(ws.root.join("data/cur_2024-05-01.csv"), good_current()).expect("write");
    // Open the store once so that its files exist before the snapshot.
    assert_ok(&ws.run(&["status"]), "status");
    let parent = ws.root.parent().expect("parent").to_path_buf();
    let before = tree(&parent);

    for model in ["../../etc", "a b", "M1", "m1\"", ""] {
        let out = ws.run(&["run", "--model", model, "--date", "2024-05-01"]);
        assert!(!out.status.success(), "{model:?} accepted");
        let err = stderr_of(&out);
        assert!(err.contains("model"), "{model:?}: {err}");
        let out = ws.run(&[
            "backfill",
            "--model",
            model,
            "--from",
            "2024-05-01",
            "--to",
            "2024-05-01",
        ]);
        assert!(!out.status.success(), "backfill {model:?} accepted");
    }
    assert_fails_with(
        &ws.run(&["run", "--model", "../../etc", "--date", "2024-05-01"]),
        &["unknown model \"../../etc\"", "m1"],
    );

    assert_fails_with(
        &ws.run(&["run", "--model", "m1", "--date", "2013-02-30"]),
        &["2013-02-30", "YYYY-MM-DD"],
    );
    assert_fails_with(
        &ws.run(&[
            "backfill",
            "--model",
            "m1",
            "--from",
            "2024-05-05",
            "--to",
            "2024-05-01",
        ]),
        &["2024-05-05", "after", "2024-05-01"],
    );
    assert_fails_with(
        &ws.run(&[
            "backfill",
            "--model",
            "m1",
            "--from",
            "2024-05-01",
            "--to",
            "2024-13-01",
        ]),
        &["2024-13-01"],
    );

    let db = ws.db();
    let runs: i64 = db
        .query_row("SELECT COUNT(*) FROM PCI_CSI_RUNS", [], |r| r.get(0))
        .expect("count");
    assert_eq!(runs, 0, "rejected commands record no run");
    drop(db);
    let after = tree(&parent);
    // SQLite may add or remove its -wal/-shm side files; nothing else may appear anywhere.
    let strip = |s: &BTreeSet<String>| -> BTreeSet<String> {
        s.iter()
            .filter(|p| !p.ends_with("-wal") && !p.ends_with("-shm"))
            .cloned()
            .collect()
    };
    assert_eq!(strip(&after), strip(&before), "no file created");
}

#[test]
fn config_errors_name_file_and_key() {
    let ws = mini_ws();
    let toml = ws.config.clone();
    let original = std::fs::read_to_string(&toml).expect("toml");
    std::fs::write(&toml, format!("{original}\n[store]\npaht = \"x.sqlite\"\n")).expect("write");
    let out = ws.run(&["status"]);
    assert_fails_with(&out, &["driftdeck.toml", "store.paht", "unknown field"]);
    std::fs::write(&toml, &original).expect("restore");

    let yaml = ws.root.join("config/models.yaml");
    let models = std::fs::read_to_string(&yaml).expect("yaml");
    for bad in ["../x", "a b", "Bad\"Quote"] {
        let text = models.replace("id: m1", &format!("id: {bad:?}"));
        std::fs::write(&yaml, text).expect("write");
        let out = ws.run(&["run", "--model", "m1", "--date", "2024-05-01"]);
        let quoted = format!("{bad:?}");
        assert_fails_with(&out, &["models.yaml", "models[0].id", &quoted]);
    }
    let text = models.replace("    owner: tests\n", "    owner: tests\n    colour: red\n");
    std::fs::write(&yaml, text).expect("write");
    assert_fails_with(&ws.run(&["status"]), &["models.yaml", "colour"]);
    assert!(
        !ws.root.join("benchmarks/x").exists() && !ws.root.join("x").exists(),
        "no directory created for a hostile id"
    );
}

// ---------------------------------------------------------------------------------------------
// Env overrides

#[test]
fn env_threshold_sets_the_alert_band() {
    let ws = demo_ws();
    // jfk_delay on 2013-02-07 has a PSI of about 0.02: "ok" with the demo thresholds.
    let args = ["run", "--model", "jfk_delay", "--date", "2013-02-07"];
    let out = ws.run(&args);
    assert_ok(&out, "run");
    assert!(stdout_of(&out).contains("band=ok"), "{}", stdout_of(&out));
    let psi = ws.results("jfk_delay", "2013-02-07")[0].0;
    assert!(psi > 0.011 && psi < 0.1, "premise: psi {psi}");

    // With warn lowered to 0.005 in the registry, THRESHOLD=0.01 makes the run alert ...
    let yaml = ws.root.join("config/models.yaml");
    let models = std::fs::read_to_string(&yaml).expect("yaml");
    std::fs::write(
        &yaml,
        models.replace(
            "thresholds: { warn: 0.1, alert: 0.25 }",
            "thresholds: { warn: 0.005, alert: 0.25 }",
        ),
    )
    .expect("write");
    let out = ws.run(&args);
    assert_ok(&out, "run");
    assert!(stdout_of(&out).contains("band=warn"), "{}", stdout_of(&out));
    let out = ws.run_env(&args, &[("THRESHOLD", "0.01")]);
    assert_ok(&out, "run with THRESHOLD");
    assert!(
        stdout_of(&out).contains("band=alert"),
        "{}",
        stdout_of(&out)
    );
    let out = ws.run_env(&["status", "--json"], &[("THRESHOLD", "0.01")]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_eq!(doc["pending"], 0, "{doc}");
    let rows: Vec<Value> = serde_json::from_value(doc["models"].clone()).expect("status models");
    let jfk = rows
        .iter()
        .find(|r| r["model_id"] == "jfk_delay")
        .expect("jfk row");
    assert_eq!(jfk["band"], "alert", "{jfk}");

    // ... and with the demo's warn of 0.1, THRESHOLD=0.01 still wins (warn follows it down), as a
    // seed ConfigMap with a single THRESHOLD expects.
    std::fs::write(&yaml, &models).expect("restore");
    let out = ws.run_env(&args, &[("THRESHOLD", "0.01")]);
    assert_ok(&out, "run with THRESHOLD below warn");
    assert!(
        stdout_of(&out).contains("band=alert"),
        "{}",
        stdout_of(&out)
    );
    let out = ws.run_env(&args, &[("THRESHOLD", "high")]);
    assert_fails_with(&out, &["THRESHOLD", "high"]);
}

#[test]
fn env_model_benchmark_path_to_a_missing_file_fails_naming_it() {
    let ws = demo_ws();
    let missing = ws.root.join("elsewhere/jfk_benchmark.csv");
    let out = ws.run_env(
        &[
            "run",
            "--model",
            "jfk_delay",
            "--date",
            "2013-02-10",
            "--attempts",
            "1",
        ],
        &[(
            "MODEL_JFK_DELAY_BENCHMARKING_PATH",
            missing.to_str().expect("utf-8"),
        )],
    );
    let path = missing.to_str().expect("utf-8");
    assert_fails_with(&out, &[path, "not found"]);
    let runs = ws.runs("jfk_delay", "2013-02-10");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].2, "failed");
    assert!(runs[0].3.as_deref().expect("error").contains(path));
    assert!(ws.results("jfk_delay", "2013-02-10").is_empty());
    // Other models are unaffected by the override.
    assert_ok(
        &ws.run_env(
            &["run", "--model", "ewr_delay", "--date", "2013-02-10"],
            &[(
                "MODEL_JFK_DELAY_BENCHMARKING_PATH",
                missing.to_str().expect("utf-8"),
            )],
        ),
        "ewr run",
    );
}

#[test]
fn doctor_checks_every_backend_with_a_fix_and_fails_on_a_broken_one() {
    let ws = mini_ws();
    // No results store yet: a failing line with its fix, exit 1.
    let out = ws.run(&["doctor"]);
    let text = assert_fails_with(&out, &[]);
    let stdout = stdout_of(&out);
    assert!(
        stdout.contains("FAIL  store") && stdout.contains("fix:"),
        "{stdout}{text}"
    );
    // `status` opens (creates) the store: every backend healthy, one line each.
    assert_ok(&ws.run(&["status"]), "status");
    let out = ws.run(&["doctor"]);
    assert_ok(&out, "doctor");
    let stdout = stdout_of(&out);
    for backend in ["store", "benchmarks", "orchestrator", "notify", "metrics"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("ok ") && l.contains(backend)),
            "{backend}: {stdout}"
        );
    }
    assert!(stdout.contains("schema"), "{stdout}");
    // A missing benchmark and an unusable log directory each fail, naming what to fix.
    std::fs::remove_file(ws.root.join("benchmarks/vs/m1/benchmark.csv")).expect("rm");
    let _ = std::fs::remove_dir_all(ws.root.join("logs"));
    std::fs::write(ws.root.join("logs"), "not a directory").expect("block logs");
    let out = ws.run(&["doctor"]);
    assert_fails_with(&out, &[]);
    let stdout = stdout_of(&out);
    assert!(
        stdout.contains("FAIL  benchmarks") && stdout.contains("m1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL  orchestrator") && stdout.contains("log_dir"),
        "{stdout}"
    );
    assert!(stdout.contains("2 of 5 backends failing"), "{stdout}");
}

#[test]
fn an_unknown_backend_kind_or_key_is_a_config_error_naming_key_and_file() {
    let ws = mini_ws();
    let original = std::fs::read_to_string(&ws.config).expect("toml");
    std::fs::write(
        &ws.config,
        format!("{original}\n[metrics]\nkind = \"graphite\"\n"),
    )
    .expect("write");
    let out = ws.run(&["status"]);
    assert_fails_with(
        &out,
        &["driftdeck.toml", "metrics.kind", "graphite", "dogstatsd"],
    );
    std::fs::write(
        &ws.config,
        format!("{original}\n[metrics]\nkind = \"dogstatsd\"\nhost = \"x\"\n"),
    )
    .expect("write");
    let out = ws.run(&["status"]);
    assert_fails_with(&out, &["driftdeck.toml", "metrics.host", "unknown field"]);
}

#[test]
fn benchmarking_path_to_a_file_is_read_through_the_benchmark_store() {
    let ws = mini_ws();
    std::fs::write(ws.root.join("data/cur_2024-05-01.csv"), good_current()).expect("current");
    // Move the benchmark to a seed-style mount: /mnt/efs/<vs>/<model>/benchmark.csv.
    let efs = ws.root.join("mnt/efs");
    let file = efs.join("vs/m1/benchmark.csv");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    std::fs::rename(ws.root.join("benchmarks/vs/m1/benchmark.csv"), &file).expect("move");
    let value = file.to_string_lossy().into_owned();
    let out = ws.run_env(
        &["run", "--model", "m1", "--date", "2024-05-01"],
        &[("BENCHMARKING_PATH", value.as_str())],
    );
    assert_ok(&out, "run with BENCHMARKING_PATH a file");
    assert!(
        efs.join("vs/m1/benchmark.profile.json").is_file(),
        "profile written beside the benchmark, under the root derived from the file"
    );
    // Without the variable the benchmark is missing again: the run fails naming the layout path.
    let out = ws.run(&["run", "--model", "m1", "--date", "2024-05-01"]);
    assert_fails_with(&out, &["benchmarks/vs/m1/benchmark.csv"]);
}

/// `refresh-benchmarks` requires a selection, as in the job contract (the job itself is tested
/// in tests/refresh_cli.rs and tests/refresh_kill.rs).
#[test]
fn refresh_benchmarks_requires_a_selection() {
    let out = command()
        .args(["refresh-benchmarks"])
        .output()
        .expect("driftdeck binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--model"), "{}", stderr_of(&out));
}

/// `backfill --only-missing` runs the dates without a result and the dates whose newest attempt
/// failed (the rule the console's dry run shows, `jobs::backfill::plan_dates`).
#[test]
fn only_missing_backfill_reruns_dates_whose_newest_attempt_failed() {
    let ws = demo_ws();
    for d in ["2013-03-09", "2013-03-10"] {
        assert_ok(&ws.run(&["run", "--model", "jfk_delay", "--date", d]), d);
    }
    // 2013-03-10 fails on a rerun: its older result stays, its newest attempt is failed.
    let march = ws.root.join("data/current_2013-03.csv");
    let original = std::fs::read_to_string(&march).expect("march");
    std::fs::write(&march, "flight_id\n1\n").expect("write"); // the columns are gone
    let out = ws.run(&[
        "run",
        "--model",
        "jfk_delay",
        "--date",
        "2013-03-10",
        "--attempts",
        "1",
        "--retry-delay",
        "0",
    ]);
    assert!(!out.status.success(), "the rerun fails");
    assert_eq!(
        ws.results("jfk_delay", "2013-03-10").len(),
        1,
        "result kept"
    );
    std::fs::write(&march, original).expect("restore");

    let out = ws.run(&[
        "backfill",
        "--model",
        "jfk_delay",
        "--from",
        "2013-03-09",
        "--to",
        "2013-03-11",
        "--only-missing",
        "--retry-delay",
        "0",
    ]);
    assert_ok(&out, "backfill");
    let text = stdout_of(&out);
    assert!(
        text.contains("2 runs, 2 succeeded, 0 failed, 1 skipped"),
        "03-10 (failed) and 03-11 (missing) run, 03-09 is skipped: {text}"
    );
    let runs = ws.runs("jfk_delay", "2013-03-10");
    assert_eq!(
        runs.iter().filter(|r| r.2 == "succeeded").count(),
        2,
        "{runs:?}"
    );
}
