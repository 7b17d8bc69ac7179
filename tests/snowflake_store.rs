//! The Snowflake results store against the Snowflake-protocol test server (TLS on loopback):
//! the shared `ResultsStore` contract suite, unchanged, then Snowflake-specific behaviour.

#[path = "snowflake/support.rs"]
mod support;

use driftdeck::store::ResultsStore;
use driftdeck::store::contract;
use driftdeck::store::snowflake::SnowflakeStore;

#[test]
fn snowflake_store_meets_the_contract() {
    if support::test_db("probe").is_none() {
        return;
    }
    let mut dbs = Vec::new();
    contract::run_all(&mut || {
        let db = support::test_db("contract").expect("server");
        let store = SnowflakeStore::open(&db.settings, &db.base()).expect("open snowflake store");
        dbs.push(db);
        Box::new(store) as Box<dyn ResultsStore>
    });
    assert_eq!(dbs.len(), contract::CHECKS.len());
}

use chrono::NaiveDate;
use driftdeck::domain::{RunAction, RunStatus};
use driftdeck::store::ColumnRole;
use driftdeck::store::snowflake::decode;

/// Stops the server in the middle of a backfill, resumes it, syncs: every result and attempt is in
/// Snowflake exactly once, and the run never failed.
#[test]
fn results_survive_an_outage_mid_backfill_exactly_once() {
    let Some(mut db) = support::test_db("outbox") else {
        return;
    };
    let server = support::OwnServer::start();
    db.settings.address = Some(format!("127.0.0.1:{}", server.port));
    db.settings.query_timeout_secs = 2;
    db.settings.attempts = 2;
    db.settings.batch_rows = 40;
    // The database lives on the own server.
    db.client()
        .execute(
            "CREATE DATABASE",
            &format!("CREATE DATABASE IF NOT EXISTS {}", db.settings.database),
        )
        .expect("create database on own server");
    let store = SnowflakeStore::open(&db.settings, &db.base()).expect("open");
    store.migrate().expect("migrate");
    let start = NaiveDate::from_ymd_opt(2013, 2, 1).unwrap();
    let models = ["m1", "m2", "m3"];
    let days = 60;
    let mut written = 0;
    for d in 0..days {
        let date = (start + chrono::Days::new(d))
            .format("%Y-%m-%d")
            .to_string();
        if d == 20 {
            server.stop();
        }
        if d == 45 {
            assert!(
                store.pending().unwrap() > 0,
                "writes queue while the server is down"
            );
            server.resume();
        }
        for m in models {
            let mut run = contract::attempt(&format!("{m}-{date}"), 1, m, &date, d as i64);
            run.action = RunAction::Backfill;
            run.status = RunStatus::Running;
            store
                .record_attempt(&run)
                .expect("attempt recorded (queued)");
            let chars = [
                contract::characteristic(m, &date, "score", ColumnRole::Score, 0.1),
                contract::characteristic(m, &date, "temp", ColumnRole::Characteristic, 0.3),
            ];
            store
                .save_result(&contract::result("vs", m, &date, 0.1), &chars)
                .expect("result accepted while the server is down");
            run.status = RunStatus::Succeeded;
            store
                .record_attempt(&run)
                .expect("attempt recorded (queued)");
            written += 1;
        }
    }
    // A rerun of some dates replaces, never duplicates.
    for m in models {
        store
            .save_result(&contract::result("vs", m, "2013-02-05", 0.7), &[])
            .expect("rerun");
    }
    // `driftdeck sync` is another process: same queue file, ordinary timeout (the resumed server
    // first works off the requests that timed out while it was frozen).
    drop(store);
    db.settings.query_timeout_secs = 60;
    let store = SnowflakeStore::open(&db.settings, &db.base()).expect("reopen");
    assert!(
        store.pending().unwrap() > 0,
        "the queue survives the process"
    );
    let report = store.sync().expect("sync after the outage");
    assert_eq!(report.remaining, 0);
    assert_eq!(store.pending().unwrap(), 0);
    let c = db.client();
    let count = |q: &str| -> i64 {
        let rows = decode::rows("SELECT count", c.execute("SELECT count", q).unwrap(), 10).unwrap();
        rows.iter("SELECT count").next().unwrap().i64(0).unwrap()
    };
    assert_eq!(count("SELECT COUNT(*) FROM PCI_CSI_RESULTS"), written);
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM (SELECT DISTINCT model_id, calculation_date FROM PCI_CSI_RESULTS)"
        ),
        written
    );
    assert_eq!(count("SELECT COUNT(*) FROM PCI_CSI_RUNS"), written);
    assert_eq!(
        count("SELECT COUNT(*) FROM PCI_CSI_RUNS WHERE status = 'succeeded'"),
        written
    );
    // Daily bins: one row per result with characteristics (the reruns without any removed them).
    assert_eq!(
        count("SELECT COUNT(*) FROM PCI_CSI_DAILY_BINS"),
        written - 3
    );
    assert_eq!(count("SELECT COUNT(*) FROM PCI_CSI_PROFILES"), 3);
    let rerun = store
        .history(
            "m2",
            Some(start + chrono::Days::new(4)),
            Some(start + chrono::Days::new(4)),
        )
        .unwrap();
    assert_eq!(rerun.len(), 1);
    assert_eq!(rerun[0].psi_score, 0.7);
    // Each rerun kept the replaced result once, although sends timed out and were repeated.
    assert_eq!(count("SELECT COUNT(*) FROM PCI_CSI_RESULTS_HISTORY"), 3);
    let replaced = store
        .result_history("m2", start + chrono::Days::new(4))
        .unwrap();
    assert_eq!(replaced.len(), 1);
    assert_eq!(replaced[0].psi_score, 0.1);
}

/// The results history when the pending queue is sent twice (the process died after Snowflake
/// accepted a batch but before the queue forgot it): versions replaced while queued and the
/// stored one they replaced are each kept once.
#[test]
fn a_resent_queue_adds_no_history_row() {
    let Some(db) = support::test_db("resend") else {
        return;
    };
    let d = "2013-03-01";
    let day = NaiveDate::from_ymd_opt(2013, 3, 1).unwrap();
    let at = |r: driftdeck::store::ResultRecord, secs: i64| driftdeck::store::ResultRecord {
        execution_time: r.execution_time + chrono::Duration::seconds(secs),
        ..r
    };
    let store = SnowflakeStore::open(&db.settings, &db.base()).unwrap();
    store
        .save_result_of_run(
            &at(contract::result("vs", "m1", d, 0.1), 0),
            &[],
            Some("r1"),
        )
        .unwrap();
    store.sync().unwrap();
    // Two reruns while queued: v2 replaces the stored v1, v3 replaces the queued v2.
    store
        .save_result_of_run(
            &at(contract::result("vs", "m1", d, 0.2), 10),
            &[],
            Some("r2"),
        )
        .unwrap();
    store
        .save_result_of_run(
            &at(contract::result("vs", "m1", d, 0.3), 20),
            &[],
            Some("r3"),
        )
        .unwrap();
    assert_eq!(
        store.pending().unwrap(),
        1,
        "one queued item per result key"
    );
    let queue = db.base().join(&db.settings.pending_path);
    let copy = db.base().join("pending-copy.sqlite");
    std::fs::copy(&queue, &copy).unwrap();
    store.sync().unwrap();
    let expect = |h: &[driftdeck::store::ReplacedResult]| {
        let got: Vec<(f64, Option<&str>)> = h
            .iter()
            .map(|h| (h.psi_score, h.superseded_by_run.as_deref()))
            .collect();
        assert_eq!(got, [(0.1, Some("r2")), (0.2, Some("r3"))]);
    };
    expect(&store.result_history("m1", day).unwrap());
    drop(store);
    // The same batch again, from the copy of the queue.
    std::fs::copy(&copy, &queue).unwrap();
    let again = SnowflakeStore::open(&db.settings, &db.base()).unwrap();
    assert_eq!(again.pending().unwrap(), 1);
    again.sync().unwrap();
    expect(&again.result_history("m1", day).unwrap());
    assert_eq!(again.history("m1", None, None).unwrap()[0].psi_score, 0.3);
}

/// `driftdeck migrate --from sqlite:PATH`: an embedded workspace's history, copied twice, is in
/// Snowflake once, and reads back equal.
#[test]
fn history_copied_from_sqlite_is_idempotent() {
    let Some(db) = support::test_db("copy") else {
        return;
    };
    let sqlite = driftdeck::store::sqlite::SqliteStore::open(db.base().join("old.sqlite")).unwrap();
    for (m, d) in [
        ("m1", "2013-02-01"),
        ("m1", "2013-02-02"),
        ("m2", "2013-02-01"),
    ] {
        let chars = [
            contract::characteristic(m, d, "score", ColumnRole::Score, 0.2),
            contract::characteristic(m, d, "x'; DROP", ColumnRole::Characteristic, 0.4),
        ];
        sqlite
            .save_result(&contract::result("vs", m, d, 0.2), &chars)
            .unwrap();
        sqlite
            .record_attempt(&contract::attempt(&format!("{m}-{d}"), 1, m, d, 5))
            .unwrap();
    }
    let store = SnowflakeStore::open(&db.settings, &db.base()).unwrap();
    let first = driftdeck::store::snowflake::copy_history(&sqlite, &store).unwrap();
    let second = driftdeck::store::snowflake::copy_history(&sqlite, &store).unwrap();
    assert_eq!((first.results, first.attempts), (3, 3));
    assert_eq!(first, second);
    assert_eq!(
        store.trends(None, None, None).unwrap(),
        sqlite.trends(None, None, None).unwrap()
    );
    assert_eq!(
        store.runs(None, 100).unwrap(),
        sqlite.runs(None, 100).unwrap()
    );
    let d = NaiveDate::from_ymd_opt(2013, 2, 2).unwrap();
    assert_eq!(
        store.characteristics("m1", d).unwrap(),
        sqlite.characteristics("m1", d).unwrap()
    );
}
