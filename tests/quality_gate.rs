//! End-to-end tests of the data-quality gate (issue 10) through the real binary on a tiny
//! workspace: a `warn` finding lets the run succeed and is stored (PCI_CSI_FINDINGS, `status
//! --json`); a `fail` finding fails the run with the reason, writes no result and is notified;
//! per-model overrides in models.yaml beat `[quality]` in driftdeck.toml; a window day without
//! rows is named.

use std::path::PathBuf;
use std::process::{Command, Output};

use rusqlite::{Connection, OpenFlags, params};
use serde_json::Value;

struct Ws {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Ws {
    fn run(&self, args: &[&str]) -> Output {
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
        ] {
            cmd.env_remove(k);
        }
        cmd.arg("--config")
            .arg(self.root.join("config/driftdeck.toml"))
            .args(args)
            .output()
            .expect("driftdeck runs")
    }

    fn write_current(&self, date: &str, body: &str) {
        std::fs::write(self.root.join(format!("data/cur_{date}.csv")), body).expect("write");
    }

    fn db(&self) -> Connection {
        Connection::open_with_flags(
            self.root.join("driftdeck.sqlite"),
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open store")
    }

    /// (check, column, severity) of the findings of a model's runs on a date.
    fn findings(&self, model: &str, date: &str) -> Vec<(String, Option<String>, String)> {
        let db = self.db();
        let mut st = db
            .prepare(
                "SELECT f.check_name, f.column_name, f.severity FROM PCI_CSI_FINDINGS f
                 JOIN PCI_CSI_RUNS r ON r.run_id = f.run_id AND r.attempt = f.attempt
                 WHERE r.model_id = ?1 AND r.calculation_date = ?2 ORDER BY f.seq, f.attempt",
            )
            .expect("prepare");
        st.query_map(params![model, date], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    }

    fn results(&self, model: &str, date: &str) -> i64 {
        self.db()
            .query_row(
                "SELECT COUNT(*) FROM PCI_CSI_RESULTS WHERE model_id = ?1 AND calculation_date = ?2",
                params![model, date],
                |r| r.get(0),
            )
            .expect("count")
    }
}

/// Models `m1` (daily files, key column `id`, min_rows 5 by override) and `m2` (a 3-day window
/// over monthly files with a date column) on one benchmark each; `[quality]` defaults in the toml.
fn ws() -> Ws {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("ws");
    for d in ["config", "data", "benchmarks/vs/m1", "benchmarks/vs/m2"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::write(
        root.join("config/driftdeck.toml"),
        "[workspace]\nname = \"q\"\n\n[retry]\nattempts = 2\ndelay_seconds = 0\n\n\
         [quality]\nmin_rows = 1\nhistory_runs = 3\nmin_rows_vs_median = 0.5\n\
         range_tolerance = 0.5\nmax_missing_share = 0.2\n",
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
    current:
      path: data/cur_{date}.csv
    quality:
      min_rows: 5
      key_column: id
  - id: m2
    value_stream: vs
    owner: tests
    schedule: "0 6 * * *"
    score: score
    current:
      path: data/month_{month}.csv
      date_column: day
      window_days: 3
"#,
    )
    .expect("yaml");
    let mut bench = String::from("score,x\n");
    for i in 0..40 {
        bench.push_str(&format!("{},{}\n", i as f64 / 40.0, i * 3)); // x in 0..=117
    }
    std::fs::write(root.join("benchmarks/vs/m1/benchmark.csv"), &bench).expect("bench");
    std::fs::write(root.join("benchmarks/vs/m2/benchmark.csv"), &bench).expect("bench");
    Ws { _dir: dir, root }
}

fn current(rows: usize, x_of: impl Fn(usize) -> String) -> String {
    let mut s = String::from("id,score,x\n");
    for i in 0..rows {
        s.push_str(&format!("k{i},{},{}\n", i as f64 / rows as f64, x_of(i)));
    }
    s
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn warn_succeeds_and_is_stored_fail_fails_and_is_notified() {
    let ws = ws();
    for day in ["2024-01-01", "2024-01-02", "2024-01-03"] {
        ws.write_current(day, &current(30, |i| (i * 3).to_string()));
        let out = ws.run(&["run", "--model", "m1", "--date", day]);
        assert!(out.status.success(), "{day}: {}", stderr(&out));
        assert!(ws.findings("m1", day).is_empty(), "{day}");
    }
    // Too few rows against the median of the last 3 runs (30): warn, the run succeeds.
    // One x far beyond the benchmark's maximum 117 + 0.5 × 117: warn. One x missing of 10: 10 %.
    ws.write_current(
        "2024-01-04",
        &current(10, |i| match i {
            0 => "900".into(),
            1 => String::new(),
            _ => i.to_string(),
        }),
    );
    let out = ws.run(&["run", "--model", "m1", "--date", "2024-01-04"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ws.results("m1", "2024-01-04"), 1);
    assert_eq!(
        ws.findings("m1", "2024-01-04"),
        [
            ("row_count_history".to_string(), None, "warn".to_string()),
            (
                "benchmark_range".to_string(),
                Some("x".to_string()),
                "warn".to_string()
            ),
        ]
    );
    let out = ws.run(&["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows: Vec<Value> = serde_json::from_value(doc["models"].clone()).expect("models");
    let m1 = rows.iter().find(|r| r["model_id"] == "m1").expect("m1 row");
    assert_eq!(m1["rows_current"], 10, "{m1}");
    let f = m1["findings"].as_array().expect("findings");
    assert_eq!(f.len(), 2, "{m1}");
    assert_eq!(f[0]["check"], "row_count_history");
    assert_eq!(f[0]["severity"], "warn");
    assert_eq!(f[0]["observed"], 10.0);
    assert_eq!(f[0]["limit"], 15.0);

    // Override min_rows 5 (default 1): 4 rows fail, after both attempts; nothing written.
    ws.write_current("2024-01-05", &current(4, |i| i.to_string()));
    let out = ws.run(&["run", "--model", "m1", "--date", "2024-01-05"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("data-quality check failed") && err.contains("4 current rows, minimum 5"),
        "{err}"
    );
    assert_eq!(ws.results("m1", "2024-01-05"), 0);
    let stored = ws.findings("m1", "2024-01-05");
    // Per attempt (2): the failing row count first, then the warning against history.
    let names: Vec<(&str, &str)> = stored
        .iter()
        .map(|f| (f.0.as_str(), f.2.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("row_count", "fail"),
            ("row_count", "fail"),
            ("row_count_history", "warn"),
            ("row_count_history", "warn")
        ]
    );
    let outbox = std::fs::read_to_string(ws.root.join("outbox/notifications.jsonl"))
        .expect("notification written");
    assert!(
        outbox.contains("failed after 2 attempts") && outbox.contains("4 current rows, minimum 5"),
        "{outbox}"
    );
    // The notification carries the failed attempt's findings, the warning included.
    let note: Value = serde_json::from_str(outbox.lines().last().expect("a line")).expect("json");
    let body = note["body"].as_str().expect("body");
    assert!(
        body.contains("data-quality findings of the failed attempt (2):")
            && body.contains("- fail row_count: 4 current rows, minimum 5")
            && body.contains("- warn row_count_history:"),
        "{body}"
    );

    // A repeated key (declared key column `id`) fails the run by default.
    let mut dup = current(8, |i| i.to_string());
    dup.push_str("k3,0.5,7\n");
    ws.write_current("2024-01-06", &dup);
    let out = ws.run(&["run", "--model", "m1", "--date", "2024-01-06"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("duplicate_keys [id]"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ws.results("m1", "2024-01-06"), 0);
}

#[test]
fn a_window_day_without_rows_is_named() {
    let ws = ws();
    let mut month = String::from("day,score,x\n");
    for (day, n) in [("2024-03-08", 20), ("2024-03-10", 20)] {
        for i in 0..n {
            month.push_str(&format!("{day},{},{}\n", i as f64 / 20.0, i * 5));
        }
    }
    std::fs::write(ws.root.join("data/month_2024-03.csv"), month).expect("write");
    let out = ws.run(&["run", "--model", "m2", "--date", "2024-03-10"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        ws.findings("m2", "2024-03-10"),
        [(
            "window_coverage".to_string(),
            Some("2024-03-09".to_string()),
            "warn".to_string()
        )]
    );
    // Missing share above 20 % of the score: warn, stored with the column named.
    let mut month = String::from("day,score,x\n");
    for i in 0..20 {
        let score = if i < 5 {
            String::new()
        } else {
            format!("{}", i as f64 / 20.0)
        };
        for day in ["2024-04-01", "2024-04-02", "2024-04-03"] {
            month.push_str(&format!("{day},{score},{}\n", i * 5));
        }
    }
    std::fs::write(ws.root.join("data/month_2024-04.csv"), month).expect("write");
    let out = ws.run(&["run", "--model", "m2", "--date", "2024-04-03"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        ws.findings("m2", "2024-04-03"),
        [(
            "missing_share".to_string(),
            Some("score".to_string()),
            "warn".to_string()
        )]
    );
}

/// SCD-2 through the real binary: a rerun with the same data adds no history row; a rerun after
/// the extract changed keeps the replaced PSI/CSI with the run that superseded it.
#[test]
fn a_rerun_that_changes_a_result_keeps_the_replaced_one() {
    let ws = ws();
    let day = "2024-01-01";
    ws.write_current(day, &current(30, |i| (i * 3).to_string()));
    for _ in 0..2 {
        let out = ws.run(&["run", "--model", "m1", "--date", day]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let history = |ws: &Ws| -> Vec<(f64, String, String, Option<String>)> {
        let db = ws.db();
        let mut st = db
            .prepare(
                "SELECT csi_score, valid_from, valid_to, superseded_by_run \
                 FROM PCI_CSI_RESULTS_HISTORY WHERE model_id = 'm1' AND calculation_date = ?1 \
                 ORDER BY seq",
            )
            .expect("prepare");
        st.query_map(params![day], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    };
    assert!(
        history(&ws).is_empty(),
        "an identical rerun is not a change"
    );
    let (csi_before, time_before): (f64, String) = ws
        .db()
        .query_row(
            "SELECT csi_score, execution_time FROM PCI_CSI_RESULTS \
             WHERE model_id = 'm1' AND calculation_date = ?1",
            params![day],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("result");
    // The extract is repaired (other values): the rerun replaces the result.
    ws.write_current(day, &current(30, |i| (i % 7).to_string()));
    let out = ws.run(&["run", "--model", "m1", "--date", day]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (csi_after, time_after, run_id): (f64, String, String) = ws
        .db()
        .query_row(
            "SELECT r.csi_score, r.execution_time, \
             (SELECT run_id FROM PCI_CSI_RUNS WHERE model_id = 'm1' \
              ORDER BY started_at DESC LIMIT 1) \
             FROM PCI_CSI_RESULTS r WHERE r.model_id = 'm1' AND r.calculation_date = ?1",
            params![day],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("result");
    assert_ne!(csi_after, csi_before, "the test data must change the CSI");
    assert_eq!(
        history(&ws),
        [(csi_before, time_before, time_after, Some(run_id))]
    );
    assert_eq!(ws.results("m1", day), 1, "replaced, never duplicated");
}
