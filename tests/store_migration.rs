//! Migration of a schema-version-2 results file (per-characteristic rows with the bins as JSON,
//! the layout before the compact schema) to the current schema: every value read back through
//! the store equals the value written into the old file, and the old table is gone.

use chrono::NaiveDate;
use driftdeck::domain::BinStat;
use driftdeck::store::sqlite::{SCHEMA_VERSION, SqliteStore};
use driftdeck::store::{CharacteristicRecord, ColumnRole, ResultsStore};
use rusqlite::{Connection, params};

/// The version-2 schema exactly as the previous binary created it (frozen here).
const V2_SCHEMA: &str = "
    CREATE TABLE PCI_CSI_RESULTS (
        model_id TEXT NOT NULL, value_stream TEXT NOT NULL, calculation_date TEXT NOT NULL,
        psi_score REAL, csi_score REAL, execution_time TEXT,
        PRIMARY KEY (model_id, calculation_date)) WITHOUT ROWID;
    CREATE TABLE PCI_CSI_CHARACTERISTICS (
        model_id TEXT NOT NULL, calculation_date TEXT NOT NULL, characteristic TEXT NOT NULL,
        role TEXT NOT NULL, kind TEXT NOT NULL, index_value REAL NOT NULL,
        bins_json TEXT NOT NULL,
        PRIMARY KEY (model_id, calculation_date, characteristic),
        FOREIGN KEY (model_id, calculation_date)
            REFERENCES PCI_CSI_RESULTS (model_id, calculation_date) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE TABLE PCI_CSI_RUNS (
        run_id TEXT NOT NULL, attempt INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
        model_id TEXT NOT NULL, value_stream TEXT NOT NULL, calculation_date TEXT NOT NULL,
        action TEXT NOT NULL, status TEXT NOT NULL, error TEXT, started_at TEXT NOT NULL,
        finished_at TEXT, benchmark_version TEXT, rows_benchmark INTEGER, rows_current INTEGER,
        triggered_by TEXT NOT NULL, log_path TEXT, PRIMARY KEY (run_id, attempt));
    CREATE INDEX PCI_CSI_RUNS_BY_MODEL ON PCI_CSI_RUNS (model_id, started_at DESC, attempt DESC);
    CREATE INDEX PCI_CSI_RUNS_BY_START ON PCI_CSI_RUNS (started_at DESC, attempt DESC);
    CREATE TABLE PCI_CSI_AUDIT (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT NOT NULL,
        role TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL);
    PRAGMA user_version = 2;";

const EPS: f64 = 1e-4;

/// Bins as the engine makes them (shares of the totals, ε for empty bins, (A−E)·ln(A/E)).
fn engine_bins(expected: &[u64], actual: &[u64]) -> (f64, Vec<BinStat>) {
    let te: u64 = expected.iter().sum();
    let ta: u64 = actual.iter().sum();
    let share = |c: u64, t: u64| if c == 0 { EPS } else { c as f64 / t as f64 };
    let bins: Vec<BinStat> = expected
        .iter()
        .zip(actual)
        .enumerate()
        .map(|(i, (&e, &a))| {
            let (es, as_) = (share(e, te), share(a, ta));
            BinStat {
                label: format!("({i}, {}]", i + 1),
                expected_count: e,
                actual_count: a,
                expected_share: es,
                actual_share: as_,
                contribution: (as_ - es) * (as_ / es).ln(),
            }
        })
        .collect();
    (bins.iter().map(|b| b.contribution).sum(), bins)
}

fn records(model: &str, date: NaiveDate, day: u64) -> Vec<CharacteristicRecord> {
    let mut out = Vec::new();
    for (j, name) in ["score", "age", "income", "région 🚀", "o'brien"]
        .iter()
        .enumerate()
    {
        let expected: Vec<u64> = (0..10).map(|i| 1_000 + 37 * i + j as u64).collect();
        let actual: Vec<u64> = (0..10)
            .map(|i| {
                if i == 3 && j == 2 {
                    0
                } else {
                    900 + (i * day * 13) % 400
                }
            })
            .collect();
        let (index, mut bins) = engine_bins(&expected, &actual);
        if j == 4 {
            // Values no formula reproduces: must survive too (explicit mode).
            bins[1].actual_share = 0.123_456_789;
            bins[2].contribution = 1e-300;
        }
        out.push(CharacteristicRecord {
            model_id: model.to_string(),
            calculation_date: date,
            characteristic: (*name).to_string(),
            role: if j == 0 {
                ColumnRole::Score
            } else {
                ColumnRole::Characteristic
            },
            kind: if j == 3 { "categorical" } else { "numeric" }.to_string(),
            index_value: index,
            bins,
        });
    }
    out
}

fn console_order(rows: &mut [CharacteristicRecord]) {
    rows.sort_by(|a, b| {
        u8::from(a.role != ColumnRole::Score)
            .cmp(&u8::from(b.role != ColumnRole::Score))
            .then(b.index_value.total_cmp(&a.index_value))
            .then_with(|| a.characteristic.cmp(&b.characteristic))
    });
}

#[test]
fn version_2_file_migrates_without_losing_a_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.sqlite");
    let mut written = Vec::new();
    {
        let conn = Connection::open(&path).expect("create v2 file");
        conn.execute_batch(V2_SCHEMA).expect("v2 schema");
        for model in ["m1", "m2"] {
            for day in 1..=20u64 {
                let date = NaiveDate::from_ymd_opt(2013, 2, day as u32).expect("date");
                let d = date.format("%Y-%m-%d").to_string();
                let rows = records(model, date, day);
                conn.execute(
                    "INSERT INTO PCI_CSI_RESULTS VALUES (?1, 'vs', ?2, ?3, ?4, \
                     '2013-02-01T06:00:00.000000000Z')",
                    params![model, d, rows[0].index_value, rows[1].index_value],
                )
                .expect("result");
                for c in &rows {
                    conn.execute(
                        "INSERT INTO PCI_CSI_CHARACTERISTICS VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            model,
                            d,
                            c.characteristic,
                            if c.role == ColumnRole::Score {
                                "score"
                            } else {
                                "characteristic"
                            },
                            c.kind,
                            c.index_value,
                            serde_json::to_string(&c.bins).expect("json"),
                        ],
                    )
                    .expect("characteristic");
                }
                written.push((model, date, rows));
            }
        }
    }
    let store = SqliteStore::open(&path).expect("open migrates");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    for (model, date, mut rows) in written {
        console_order(&mut rows);
        let got = store.characteristics(model, date).expect("read back");
        assert_eq!(got.len(), rows.len());
        for (g, w) in got.iter().zip(&rows) {
            assert_eq!(g, w, "{model} {date} {}", w.characteristic);
            // Bit-exact, not only ==.
            for (gb, wb) in g.bins.iter().zip(&w.bins) {
                assert_eq!(gb.actual_share.to_bits(), wb.actual_share.to_bits());
                assert_eq!(gb.contribution.to_bits(), wb.contribution.to_bits());
                assert_eq!(gb.expected_share.to_bits(), wb.expected_share.to_bits());
            }
        }
    }
    assert_eq!(store.history_all(None, None).expect("results").len(), 40);
    let o = store.overview().expect("overview");
    assert_eq!(o.len(), 2);
    assert!(o.iter().all(|l| l.worst.is_some()));
    drop(store);
    let raw = Connection::open(&path).expect("raw");
    let old: i64 = raw
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'PCI_CSI_CHARACTERISTICS'",
            [],
            |r| r.get(0),
        )
        .expect("master");
    assert_eq!(old, 0, "old table dropped");
    // The benchmark side is stored once per model (the expected side is the same every day).
    let profiles: i64 = raw
        .query_row("SELECT COUNT(*) FROM PCI_CSI_PROFILES", [], |r| r.get(0))
        .expect("profiles");
    assert_eq!(profiles, 2);
    let max_payload: i64 = raw
        .query_row(
            "SELECT MAX(LENGTH(actual)) FROM PCI_CSI_DAILY_BINS",
            [],
            |r| r.get(0),
        )
        .expect("payload");
    // 4 derived columns (1 + 8 + 10 × 2 bytes, + 8 for ε in one) and 1 explicit column.
    assert!(
        max_payload < 4 * 40 + 8 + 200,
        "payload {max_payload} bytes"
    );
}

/// A schema-version-5 file (findings, before the results history) migrates to version 6: its
/// results stay, the history table starts empty, and the first rerun with other values of a
/// result written under version 5 is kept in it.
#[test]
fn version_5_file_gains_the_results_history() {
    use chrono::{TimeZone, Utc};
    use driftdeck::store::ResultRecord;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("results.db");
    let date = NaiveDate::from_ymd_opt(2013, 2, 1).expect("date");
    let result = |psi: f64, secs: i64| ResultRecord {
        model_id: "jfk_delay".into(),
        value_stream: "ops".into(),
        calculation_date: date,
        psi_score: psi,
        csi_score: psi / 2.0,
        execution_time: Utc
            .timestamp_opt(1_360_000_000 + secs, 0)
            .single()
            .expect("t"),
    };
    // A version-5 file: today's schema without the history table, as the previous binary left it.
    {
        let store = SqliteStore::open(&path).expect("create");
        store.save_result(&result(0.1, 0), &[]).expect("v5 result");
    }
    {
        let raw = Connection::open(&path).expect("raw");
        raw.execute_batch(
            "DROP INDEX PCI_CSI_RESULTS_HISTORY_BY_DATE; DROP TABLE PCI_CSI_RESULTS_HISTORY; \
             PRAGMA user_version = 5;",
        )
        .expect("make v5");
    }
    // Read-only cannot use it before the migration, and says how to migrate.
    let err = SqliteStore::open_read_only(&path).expect_err("older schema");
    assert!(err.to_string().contains("schema version 5"), "{err}");
    let store = SqliteStore::open(&path).expect("open migrates");
    assert_eq!(SCHEMA_VERSION, 6);
    assert_eq!(store.schema_version().expect("version"), 6);
    assert_eq!(
        store.history_all(None, None).expect("results"),
        vec![result(0.1, 0)]
    );
    assert!(
        store
            .result_history("jfk_delay", date)
            .expect("history")
            .is_empty()
    );
    store
        .save_result_of_run(&result(0.3, 60), &[], Some("jfk_delay-2013-02-01-x"))
        .expect("rerun");
    let history = store.result_history("jfk_delay", date).expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].psi_score, 0.1);
    assert_eq!(history[0].valid_from, result(0.1, 0).execution_time);
    assert_eq!(history[0].valid_to, result(0.3, 60).execution_time);
    assert_eq!(
        history[0].superseded_by_run.as_deref(),
        Some("jfk_delay-2013-02-01-x")
    );
}
