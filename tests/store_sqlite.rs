//! SQLite results store against real database files in temporary directories.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use driftdeck::domain::{BinStat, RunAction, RunStatus};
use driftdeck::store::sqlite::{SCHEMA_VERSION, SqliteOptions, SqliteStore};
use driftdeck::store::{
    AuditRecord, CharacteristicRecord, ColumnRole, ResultRecord, ResultsStore, RunRecord,
    StoreError,
};
use rusqlite::Connection;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_360_000_000 + secs, nanos)
        .single()
        .expect("test time")
}

fn result(model: &str, d: &str, psi: f64) -> ResultRecord {
    ResultRecord {
        model_id: model.to_string(),
        value_stream: "vs1".to_string(),
        calculation_date: date(d),
        psi_score: psi,
        csi_score: psi / 2.0,
        execution_time: at(0, 123_456_789),
    }
}

fn bins(n: u64) -> Vec<BinStat> {
    (0..n)
        .map(|i| BinStat {
            label: format!("bin {i}"),
            expected_count: 10 + i,
            actual_count: 20 + i,
            expected_share: 0.1,
            actual_share: 0.2,
            contribution: 0.0693 * i as f64,
        })
        .collect()
}

fn characteristic(
    model: &str,
    d: &str,
    name: &str,
    role: ColumnRole,
    index: f64,
) -> CharacteristicRecord {
    CharacteristicRecord {
        model_id: model.to_string(),
        calculation_date: date(d),
        characteristic: name.to_string(),
        role,
        kind: "numeric".to_string(),
        index_value: index,
        bins: bins(3),
    }
}

fn run(run_id: &str, attempt: u32, model: &str, started: i64, status: RunStatus) -> RunRecord {
    RunRecord {
        run_id: run_id.to_string(),
        attempt,
        max_attempts: 3,
        model_id: model.to_string(),
        value_stream: "vs1".to_string(),
        calculation_date: date("2013-02-01"),
        action: RunAction::Run,
        status,
        error: (status == RunStatus::Failed).then(|| "boom".to_string()),
        started_at: at(started, 0),
        finished_at: status.is_final().then(|| at(started + 5, 500)),
        benchmark_version: Some("abc123".to_string()),
        rows_benchmark: Some(27_004),
        rows_current: Some(900),
        triggered_by: "schedule".to_string(),
        log_path: None,
    }
}

fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("results.sqlite")).expect("open store");
    (dir, store)
}

fn count(path: &std::path::Path, table: &str) -> i64 {
    let conn = Connection::open(path).expect("raw open");
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

#[test]
fn fresh_file_is_wal_and_current_version() {
    let (_dir, store) = temp_store();
    assert_eq!(store.backend(), "sqlite");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    let conn = Connection::open(store.path()).expect("raw open");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
    // Reopening an up-to-date file is a no-op.
    let again = SqliteStore::open(store.path()).expect("reopen");
    assert_eq!(again.schema_version().expect("version"), SCHEMA_VERSION);
}

#[test]
fn result_and_characteristics_round_trip_in_console_order() {
    let (_dir, store) = temp_store();
    let r = result("jfk_delay", "2013-02-01", 0.31);
    let chars = vec![
        characteristic(
            "jfk_delay",
            "2013-02-01",
            "age",
            ColumnRole::Characteristic,
            0.08,
        ),
        characteristic(
            "jfk_delay",
            "2013-02-01",
            "income",
            ColumnRole::Characteristic,
            0.31,
        ),
        characteristic("jfk_delay", "2013-02-01", "score", ColumnRole::Score, 0.01),
        characteristic(
            "jfk_delay",
            "2013-02-01",
            "distance",
            ColumnRole::Characteristic,
            0.2,
        ),
    ];
    store.save_result(&r, &chars).expect("save");

    let history = store.history("jfk_delay", None, None).expect("history");
    assert_eq!(
        history,
        vec![r.clone()],
        "nanosecond execution_time survives"
    );

    let got = store
        .characteristics("jfk_delay", date("2013-02-01"))
        .expect("characteristics");
    let names: Vec<&str> = got.iter().map(|c| c.characteristic.as_str()).collect();
    assert_eq!(names, ["score", "income", "distance", "age"]);
    assert_eq!(got[1], chars[1], "bins JSON round trip");
    assert!(
        store
            .characteristics("jfk_delay", date("2013-02-02"))
            .expect("other date")
            .is_empty()
    );
}

#[test]
fn latest_and_history_queries() {
    let (_dir, store) = temp_store();
    for (model, vs) in [("m_b", "vs1"), ("m_a", "vs2"), ("m_c", "vs1")] {
        for day in 1..=10 {
            let mut r = result(model, &format!("2013-02-{day:02}"), day as f64 / 100.0);
            r.value_stream = vs.to_string();
            store.save_result(&r, &[]).expect("save");
        }
    }
    let latest = store.latest_results().expect("latest");
    let keys: Vec<(&str, &str, NaiveDate)> = latest
        .iter()
        .map(|r| {
            (
                r.value_stream.as_str(),
                r.model_id.as_str(),
                r.calculation_date,
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("vs1", "m_b", date("2013-02-10")),
            ("vs1", "m_c", date("2013-02-10")),
            ("vs2", "m_a", date("2013-02-10")),
        ]
    );

    let h = store
        .history("m_b", Some(date("2013-02-03")), Some(date("2013-02-05")))
        .expect("history range");
    let dates: Vec<NaiveDate> = h.iter().map(|r| r.calculation_date).collect();
    assert_eq!(
        dates,
        [date("2013-02-03"), date("2013-02-04"), date("2013-02-05")]
    );
    assert_eq!(
        store
            .history("m_b", Some(date("2013-02-08")), None)
            .expect("open end")
            .len(),
        3
    );
    assert!(
        store
            .history("nope", None, None)
            .expect("unknown")
            .is_empty()
    );

    let all = store
        .history_all(Some(date("2013-02-09")), Some(date("2013-02-10")))
        .expect("history all");
    let keys: Vec<(&str, NaiveDate)> = all
        .iter()
        .map(|r| (r.model_id.as_str(), r.calculation_date))
        .collect();
    assert_eq!(
        keys,
        [
            ("m_a", date("2013-02-09")),
            ("m_a", date("2013-02-10")),
            ("m_b", date("2013-02-09")),
            ("m_b", date("2013-02-10")),
            ("m_c", date("2013-02-09")),
            ("m_c", date("2013-02-10")),
        ]
    );
    assert_eq!(store.history_all(None, None).expect("all").len(), 30);
    assert!(store.latest_results().is_ok());
}

#[test]
fn empty_store_queries_return_nothing() {
    let (_dir, store) = temp_store();
    assert!(store.latest_results().expect("latest").is_empty());
    assert!(store.latest_runs().expect("latest runs").is_empty());
    assert!(store.runs(None, 10).expect("runs").is_empty());
    assert!(store.audit(10).expect("audit").is_empty());
}

#[test]
fn rerun_replaces_result_and_characteristics() {
    let (_dir, store) = temp_store();
    let d = "2013-02-01";
    let first = result("m1", d, 0.5);
    store
        .save_result(
            &first,
            &[
                characteristic("m1", d, "score", ColumnRole::Score, 0.5),
                characteristic("m1", d, "old_feature", ColumnRole::Characteristic, 0.4),
            ],
        )
        .expect("first save");
    let mut second = result("m1", d, 0.05);
    second.execution_time = at(3600, 0);
    let second_chars = vec![
        characteristic("m1", d, "score", ColumnRole::Score, 0.05),
        characteristic("m1", d, "new_feature", ColumnRole::Characteristic, 0.02),
    ];
    store.save_result(&second, &second_chars).expect("rerun");
    store
        .save_result(&second, &second_chars)
        .expect("rerun again");

    assert_eq!(count(store.path(), "PCI_CSI_RESULTS"), 1);
    // One day row; two benchmark profile versions (the rerun's columns differ).
    assert_eq!(count(store.path(), "PCI_CSI_DAILY_BINS"), 1);
    assert_eq!(count(store.path(), "PCI_CSI_PROFILES"), 2);
    assert_eq!(
        store.history("m1", None, None).expect("history"),
        vec![second]
    );
    let names: Vec<String> = store
        .characteristics("m1", date(d))
        .expect("chars")
        .into_iter()
        .map(|c| c.characteristic)
        .collect();
    assert_eq!(names, ["score", "new_feature"]);
}

#[test]
fn failing_characteristic_insert_leaves_no_result() {
    let (_dir, store) = temp_store();
    let d = "2013-02-01";
    // Two rows with the same characteristic name are refused before anything is written.
    let err = store
        .save_result(
            &result("m1", d, 0.2),
            &[
                characteristic("m1", d, "income", ColumnRole::Characteristic, 0.2),
                characteristic("m1", d, "income", ColumnRole::Characteristic, 0.1),
            ],
        )
        .expect_err("duplicate characteristic must fail");
    assert!(
        matches!(err, StoreError::Invalid(ref m) if m.contains("income")),
        "{err}"
    );
    assert_eq!(count(store.path(), "PCI_CSI_RESULTS"), 0);
    assert_eq!(count(store.path(), "PCI_CSI_DAILY_BINS"), 0);
}

#[test]
fn failing_rerun_keeps_the_previous_result_intact() {
    let (_dir, store) = temp_store();
    let d = "2013-02-01";
    let good = result("m1", d, 0.2);
    let good_chars = vec![
        characteristic("m1", d, "score", ColumnRole::Score, 0.2),
        characteristic("m1", d, "income", ColumnRole::Characteristic, 0.1),
    ];
    store.save_result(&good, &good_chars).expect("first save");
    // A trigger makes the database itself reject the day's bins row mid-transaction, after the
    // upsert of the result and of the new profile version have run.
    Connection::open(store.path())
        .expect("raw open")
        .execute_batch(
            "CREATE TRIGGER reject_boom BEFORE INSERT ON PCI_CSI_DAILY_BINS \
             WHEN NEW.worst_characteristic = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END;",
        )
        .expect("trigger");
    let mut bad = result("m1", d, 0.9);
    bad.execution_time = at(99, 0);
    let err = store
        .save_result(
            &bad,
            &[
                characteristic("m1", d, "score", ColumnRole::Score, 0.9),
                characteristic("m1", d, "boom", ColumnRole::Characteristic, 0.9),
            ],
        )
        .expect_err("trigger must fail the save");
    assert!(err.to_string().contains("forced failure"), "{err}");
    assert_eq!(
        store.history("m1", None, None).expect("history"),
        vec![good]
    );
    let mut chars = store.characteristics("m1", date(d)).expect("chars");
    chars.sort_by(|a, b| a.characteristic.cmp(&b.characteristic));
    let mut expected = good_chars;
    expected.sort_by(|a, b| a.characteristic.cmp(&b.characteristic));
    assert_eq!(chars, expected);
}

#[test]
fn invalid_records_are_rejected_before_writing() {
    let (_dir, store) = temp_store();
    let err = store
        .save_result(&result("m1", "2013-02-01", f64::NAN), &[])
        .expect_err("NaN PSI");
    assert!(err.to_string().contains("psi_score"), "{err}");
    let err = store
        .save_result(
            &result("m1", "2013-02-01", 0.1),
            &[characteristic(
                "m2",
                "2013-02-01",
                "x",
                ColumnRole::Characteristic,
                0.1,
            )],
        )
        .expect_err("characteristic of another model");
    assert!(err.to_string().contains("m2"), "{err}");
    assert_eq!(count(store.path(), "PCI_CSI_RESULTS"), 0);
}

#[test]
fn attempts_upsert_and_come_back_newest_first() {
    let (_dir, store) = temp_store();
    store
        .record_attempt(&run("r1", 1, "m1", 0, RunStatus::Running))
        .expect("running");
    let failed = run("r1", 1, "m1", 0, RunStatus::Retrying);
    store.record_attempt(&failed).expect("retrying");
    let second = run("r1", 2, "m1", 10, RunStatus::Succeeded);
    store.record_attempt(&second).expect("attempt 2");
    let other = run("r2", 1, "m2", 5, RunStatus::Failed);
    store.record_attempt(&other).expect("m2");
    let old = run("r0", 1, "m2", -100, RunStatus::Succeeded);
    store.record_attempt(&old).expect("old m2");

    assert_eq!(count(store.path(), "PCI_CSI_RUNS"), 4);
    let m1 = store.runs(Some("m1"), 10).expect("runs m1");
    assert_eq!(m1, vec![second.clone(), failed]);
    assert_eq!(store.runs(Some("m1"), 1).expect("limit").len(), 1);
    let all = store.runs(None, 3).expect("all runs");
    let ids: Vec<(&str, u32)> = all.iter().map(|r| (r.run_id.as_str(), r.attempt)).collect();
    assert_eq!(ids, [("r1", 2), ("r2", 1), ("r1", 1)]);
    assert_eq!(
        store.latest_runs().expect("latest runs"),
        vec![second, other]
    );
}

#[test]
fn audit_entries_come_back_newest_first() {
    let (_dir, store) = temp_store();
    for (i, action) in ["rerun", "backfill", "refresh"].iter().enumerate() {
        store
            .append_audit(&AuditRecord {
                at: at(i as i64, 0),
                user: "ana".to_string(),
                role: "operator".to_string(),
                action: action.to_string(),
                target: "m1 2013-02-01".to_string(),
                outcome: if i == 2 { "denied" } else { "started" }.to_string(),
            })
            .expect("audit");
    }
    let got = store.audit(2).expect("audit");
    let actions: Vec<&str> = got.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["refresh", "backfill"]);
    assert_eq!(got[0].outcome, "denied");
}

#[test]
fn v1_seed_file_is_migrated_and_keeps_its_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("seed.sqlite");
    {
        let conn = Connection::open(&path).expect("raw open");
        conn.execute_batch(
            "CREATE TABLE PCI_CSI_RESULTS (model_id TEXT NOT NULL, value_stream TEXT NOT NULL, \
             calculation_date TEXT NOT NULL, psi_score REAL, csi_score REAL, execution_time TEXT, \
             PRIMARY KEY (model_id, calculation_date)); \
             INSERT INTO PCI_CSI_RESULTS VALUES \
               ('seed_model', 'vs1', '2013-01-31', 0.12, 0.3, '2013-02-01T06:00:00+00:00'); \
             PRAGMA user_version = 1;",
        )
        .expect("v1 file");
    }
    let store = SqliteStore::open(&path).expect("migrate");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    let history = store.history("seed_model", None, None).expect("seed row");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].psi_score, 0.12);
    assert_eq!(
        history[0].execution_time,
        Utc.with_ymd_and_hms(2013, 2, 1, 6, 0, 0)
            .single()
            .expect("time")
    );
    // The new tables work on the migrated file, including the foreign key to the seed row.
    store
        .save_result(
            &history[0],
            &[characteristic(
                "seed_model",
                "2013-01-31",
                "x",
                ColumnRole::Characteristic,
                0.3,
            )],
        )
        .expect("save on migrated file");
    store
        .record_attempt(&run("r1", 1, "seed_model", 0, RunStatus::Succeeded))
        .expect("runs table");
    assert_eq!(count(&path, "PCI_CSI_DAILY_BINS"), 1);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("future.sqlite");
    Connection::open(&path)
        .expect("raw open")
        .execute_batch("PRAGMA user_version = 99;")
        .expect("set version");
    for opened in [SqliteStore::open(&path), SqliteStore::open_read_only(&path)] {
        match opened {
            Err(StoreError::SchemaTooNew { found, supported }) => {
                assert_eq!(found, 99);
                assert_eq!(supported, SCHEMA_VERSION);
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }
}

#[test]
fn missing_directory_gives_open_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("no_such_dir").join("results.sqlite");
    match SqliteStore::open(&path) {
        Err(StoreError::Open { path: p, message }) => {
            assert_eq!(p, path.display().to_string());
            assert!(message.contains("no_such_dir"), "{message}");
        }
        other => panic!("expected Open, got {other:?}"),
    }
    assert!(
        !path.parent().expect("parent").exists(),
        "no directory created"
    );
}

#[test]
fn a_file_that_is_not_a_database_gives_open_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("junk.sqlite");
    std::fs::write(&path, vec![b'x'; 4096]).expect("junk");
    match SqliteStore::open(&path) {
        Err(StoreError::Open { path: p, .. }) => assert_eq!(p, path.display().to_string()),
        other => panic!("expected Open, got {other:?}"),
    }
}

#[test]
fn locked_database_gives_busy_and_reads_still_work() {
    let (_dir, store) = temp_store();
    store
        .save_result(&result("m1", "2013-02-01", 0.1), &[])
        .expect("seed row");
    let impatient = SqliteStore::open_with(
        store.path(),
        &SqliteOptions {
            busy_timeout: Duration::from_millis(50),
            ..SqliteOptions::default()
        },
    )
    .expect("second store");
    let holder = Connection::open(store.path()).expect("raw open");
    holder
        .execute_batch("BEGIN EXCLUSIVE; INSERT INTO PCI_CSI_AUDIT (at, user, role, action, target, outcome) VALUES ('x','x','x','x','x','x');")
        .expect("hold lock");

    let err = impatient
        .save_result(&result("m1", "2013-02-02", 0.2), &[])
        .expect_err("write while locked");
    assert!(matches!(err, StoreError::Busy(_)), "{err:?}");
    let err = impatient
        .record_attempt(&run("r1", 1, "m1", 0, RunStatus::Running))
        .expect_err("attempt while locked");
    assert!(matches!(err, StoreError::Busy(_)), "{err:?}");
    // WAL: readers are not blocked by the writer.
    assert_eq!(
        impatient.latest_results().expect("read while locked").len(),
        1
    );

    holder.execute_batch("ROLLBACK;").expect("release");
    impatient
        .save_result(&result("m1", "2013-02-02", 0.2), &[])
        .expect("write after release");
    assert_eq!(count(store.path(), "PCI_CSI_AUDIT"), 0);
}

#[test]
fn read_only_store_reads_and_refuses_writes() {
    let (dir, store) = temp_store();
    store
        .save_result(&result("m1", "2013-02-01", 0.1), &[])
        .expect("seed row");
    let ro = SqliteStore::open_read_only(store.path()).expect("read only");
    assert!(ro.is_read_only());
    assert_eq!(ro.latest_results().expect("read").len(), 1);
    assert!(
        ro.save_result(&result("m1", "2013-02-02", 0.1), &[])
            .is_err()
    );
    assert!(
        ro.append_audit(&AuditRecord {
            at: at(0, 0),
            user: "u".into(),
            role: "viewer".into(),
            action: "rerun".into(),
            target: "m1".into(),
            outcome: "denied".into(),
        })
        .is_err()
    );
    assert_eq!(count(store.path(), "PCI_CSI_RESULTS"), 1);

    let missing = dir.path().join("missing.sqlite");
    assert!(matches!(
        SqliteStore::open_read_only(&missing),
        Err(StoreError::Open { .. })
    ));
    assert!(!missing.exists(), "read-only open must not create the file");
}

#[test]
fn corrupt_values_name_table_and_column() {
    let (_dir, store) = temp_store();
    let d = "2013-02-01";
    store
        .save_result(
            &result("m1", d, 0.1),
            &[characteristic(
                "m1",
                d,
                "x",
                ColumnRole::Characteristic,
                0.1,
            )],
        )
        .expect("save");
    let raw = Connection::open(store.path()).expect("raw open");
    raw.execute("UPDATE PCI_CSI_DAILY_BINS SET actual = X'0100'", [])
        .expect("break bins");
    match store.characteristics("m1", date(d)) {
        Err(StoreError::Corrupt { table, column, .. }) => {
            assert_eq!((table, column), ("PCI_CSI_DAILY_BINS", "actual"));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    raw.execute(
        "INSERT INTO PCI_CSI_RESULTS VALUES ('m2', 'vs1', '01/02/2013', 0.1, 0.1, 'x')",
        [],
    )
    .expect("bad date");
    match store.history_all(None, None) {
        Err(StoreError::Corrupt { table, column, .. }) => {
            assert_eq!((table, column), ("PCI_CSI_RESULTS", "calculation_date"));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    raw.execute("UPDATE PCI_CSI_RESULTS SET calculation_date = '2013-02-01', psi_score = 'abc' WHERE model_id = 'm2'", [])
        .expect("bad psi");
    match store.history("m2", None, None) {
        Err(StoreError::Corrupt { column, .. }) => assert_eq!(column, "psi_score"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    store
        .record_attempt(&run("r1", 1, "m1", 0, RunStatus::Running))
        .expect("attempt");
    raw.execute("UPDATE PCI_CSI_RUNS SET status = 'exploded'", [])
        .expect("bad status");
    match store.runs(None, 5) {
        Err(StoreError::Corrupt {
            table,
            column,
            message,
        }) => {
            assert_eq!((table, column), ("PCI_CSI_RUNS", "status"));
            assert!(message.contains("exploded"), "{message}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn concurrent_writers_from_threads() {
    let (_dir, store) = temp_store();
    let shared = Arc::new(store);
    let path = shared.path().to_path_buf();
    let mut handles = Vec::new();
    for t in 0..4 {
        // Half the threads share one store (one connection), half open their own file handle
        // like separate job processes would.
        let own = t % 2 == 1;
        let shared = Arc::clone(&shared);
        let path = path.clone();
        handles.push(std::thread::spawn(move || {
            let own_store = own.then(|| SqliteStore::open(&path).expect("thread store"));
            let store: &SqliteStore = own_store.as_ref().unwrap_or(&shared);
            for day in 1..=20 {
                let model = format!("m{t}");
                let d = format!("2013-03-{day:02}");
                store
                    .save_result(
                        &result(&model, &d, 0.01 * day as f64),
                        &[characteristic(
                            &model,
                            &d,
                            "x",
                            ColumnRole::Characteristic,
                            0.1,
                        )],
                    )
                    .expect("concurrent save");
                store
                    .record_attempt(&run(
                        &format!("{model}-{d}"),
                        1,
                        &model,
                        day,
                        RunStatus::Succeeded,
                    ))
                    .expect("concurrent attempt");
            }
        }));
    }
    for h in handles {
        h.join().expect("writer thread");
    }
    assert_eq!(count(&path, "PCI_CSI_RESULTS"), 80);
    assert_eq!(count(&path, "PCI_CSI_DAILY_BINS"), 80);
    assert_eq!(count(&path, "PCI_CSI_RUNS"), 80);
    assert_eq!(shared.latest_results().expect("latest").len(), 4);
}

#[test]
fn has_result_reports_presence() {
    let (_dir, store) = temp_store();
    store
        .save_result(&result("m1", "2013-02-01", 0.1), &[])
        .expect("save");
    assert!(store.has_result("m1", date("2013-02-01")).expect("has"));
    assert!(!store.has_result("m1", date("2013-02-02")).expect("has not"));
}
