//! The `ResultsStore` contract suite (feature `testkit`): what every backend must do, written
//! against `&dyn ResultsStore` so that a new backend's integration test runs it unchanged:
//!
//! ```ignore
//! driftdeck::store::contract::run_all(&mut || Box::new(MyStore::connect_to_a_fresh_schema()));
//! ```
//!
//! Each check receives a fresh, empty store from the factory and panics (test failure) with
//! the check's name on a breach. Covered: every method, orders and tie-breaks, idempotent
//! upserts, atomicity of a result with its characteristics, hostile strings and unicode, NaN
//! and infinities refused with [`StoreError::NonFinite`], latest / history / trends /
//! overview / date-status semantics, the history of replaced results (SCD type 2).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::{
    AuditRecord, CharacteristicRecord, ColumnRole, ResultRecord, ResultsStore, RunRecord,
    StoreError,
};
use crate::domain::{BinStat, RunAction, RunStatus};

/// A check of the contract: takes a fresh, empty store.
pub type Check = fn(&dyn ResultsStore);

/// Every check, by name.
pub const CHECKS: &[(&str, Check)] = &[
    ("empty_store_reads_empty", empty_store_reads_empty),
    ("round_trip_and_orders", round_trip_and_orders),
    ("upsert_is_idempotent", upsert_is_idempotent),
    ("failed_write_leaves_nothing", failed_write_leaves_nothing),
    ("non_finite_refused_typed", non_finite_refused_typed),
    ("hostile_strings_and_unicode", hostile_strings_and_unicode),
    ("ranges_and_selection", ranges_and_selection),
    ("overview_semantics", overview_semantics),
    ("date_status_semantics", date_status_semantics),
    ("runs_order_limit_upsert", runs_order_limit_upsert),
    ("audit_newest_first", audit_newest_first),
    ("findings_replace_and_order", findings_replace_and_order),
    ("replaced_results_history", replaced_results_history),
];

/// Runs every check, each on a fresh store from `factory`, naming the check on stderr first.
pub fn run_all(factory: &mut dyn FnMut() -> Box<dyn ResultsStore>) {
    for (name, check) in CHECKS {
        eprintln!("store contract: {name}");
        let store = factory();
        check(store.as_ref());
    }
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_360_000_000 + secs, 123_456_789)
        .single()
        .expect("test time")
}

/// A result of `model` in value stream `vs` on `date`.
pub fn result(vs: &str, model: &str, date: &str, psi: f64) -> ResultRecord {
    ResultRecord {
        model_id: model.to_string(),
        value_stream: vs.to_string(),
        calculation_date: day(date),
        psi_score: psi,
        csi_score: psi / 2.0,
        execution_time: at(0),
    }
}

/// A characteristic row with three bins.
pub fn characteristic(
    model: &str,
    date: &str,
    name: &str,
    role: ColumnRole,
    index: f64,
) -> CharacteristicRecord {
    let bins = (0..3u64)
        .map(|i| BinStat {
            label: format!("({i}, {}]", i + 1),
            expected_count: 10 + i,
            actual_count: 20 + i,
            expected_share: 0.25 + i as f64 / 10.0,
            actual_share: 0.3 + i as f64 / 10.0,
            contribution: index / 3.0,
        })
        .collect();
    CharacteristicRecord {
        model_id: model.to_string(),
        calculation_date: day(date),
        characteristic: name.to_string(),
        role,
        kind: "numeric".to_string(),
        index_value: index,
        bins,
    }
}

/// An attempt.
pub fn attempt(run_id: &str, n: u32, model: &str, date: &str, started: i64) -> RunRecord {
    RunRecord {
        run_id: run_id.to_string(),
        attempt: n,
        max_attempts: 3,
        model_id: model.to_string(),
        value_stream: "vs".to_string(),
        calculation_date: day(date),
        action: RunAction::Run,
        status: RunStatus::Succeeded,
        error: None,
        started_at: at(started),
        finished_at: Some(at(started + 5)),
        benchmark_version: Some("sha256:ab".to_string()),
        rows_benchmark: Some(1_000),
        rows_current: Some(900),
        triggered_by: "schedule".to_string(),
        log_path: None,
    }
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

/// Every read of an empty store is empty, not an error.
pub fn empty_store_reads_empty(s: &dyn ResultsStore) {
    assert!(s.latest_results().expect("latest").is_empty());
    assert!(s.overview().expect("overview").is_empty());
    assert!(s.history("m", None, None).expect("history").is_empty());
    assert!(s.trends(None, None, None).expect("trends").is_empty());
    assert!(s.history_all(None, None).expect("history_all").is_empty());
    let st = s.date_status(&ids(&["m"]), day("2013-01-01"), day("2013-12-31"));
    assert!(st.expect("date_status").is_empty());
    assert!(
        s.characteristics("m", day("2013-01-01"))
            .expect("c")
            .is_empty()
    );
    assert!(s.runs(None, 10).expect("runs").is_empty());
    assert!(s.latest_runs().expect("latest runs").is_empty());
    assert!(s.audit(10).expect("audit").is_empty());
    assert!(!s.backend().is_empty());
}

/// Values come back exactly; characteristics in score / CSI desc / name order; latest results
/// by (value stream, model).
pub fn round_trip_and_orders(s: &dyn ResultsStore) {
    let d = "2013-02-01";
    let r = result("vs_b", "m1", d, 0.123_456_789_012_345_6);
    let chars = vec![
        characteristic("m1", d, "b_tie", ColumnRole::Characteristic, 0.2),
        characteristic("m1", d, "low", ColumnRole::Characteristic, 0.01),
        characteristic("m1", d, "a_tie", ColumnRole::Characteristic, 0.2),
        characteristic("m1", d, "score", ColumnRole::Score, 0.001),
        characteristic("m1", d, "high", ColumnRole::Characteristic, 0.9),
    ];
    s.save_result(&r, &chars).expect("save");
    s.save_result(&result("vs_a", "m2", d, 0.5), &[])
        .expect("save m2");
    s.save_result(&result("vs_b", "m0", "2013-01-31", 0.5), &[])
        .expect("save m0");
    assert_eq!(s.history("m1", None, None).expect("history"), vec![r]);
    let got = s.characteristics("m1", day(d)).expect("characteristics");
    let names: Vec<&str> = got.iter().map(|c| c.characteristic.as_str()).collect();
    assert_eq!(names, ["score", "high", "a_tie", "b_tie", "low"]);
    for c in &got {
        let sent = chars
            .iter()
            .find(|x| x.characteristic == c.characteristic)
            .expect("sent");
        assert_eq!(c, sent, "characteristic {} round trip", c.characteristic);
    }
    let latest: Vec<(String, String)> = s
        .latest_results()
        .expect("latest")
        .into_iter()
        .map(|r| (r.value_stream, r.model_id))
        .collect();
    assert_eq!(
        latest,
        [("vs_a", "m2"), ("vs_b", "m0"), ("vs_b", "m1")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

/// A rerun of a (model, date) replaces the result and all its characteristics.
pub fn upsert_is_idempotent(s: &dyn ResultsStore) {
    let d = "2013-02-01";
    let first = [
        characteristic("m1", d, "score", ColumnRole::Score, 0.1),
        characteristic("m1", d, "old", ColumnRole::Characteristic, 0.3),
    ];
    s.save_result(&result("vs", "m1", d, 0.1), &first)
        .expect("first");
    s.save_result(&result("vs", "m1", d, 0.1), &first)
        .expect("same again");
    let second = [characteristic(
        "m1",
        d,
        "new",
        ColumnRole::Characteristic,
        0.2,
    )];
    let r2 = result("vs", "m1", d, 0.7);
    s.save_result(&r2, &second).expect("rerun");
    assert_eq!(s.history("m1", None, None).expect("history"), vec![r2]);
    assert_eq!(
        s.characteristics("m1", day(d)).expect("chars"),
        second.to_vec()
    );
    assert_eq!(s.trends(None, None, None).expect("trends").len(), 1);
}

/// A write that fails (duplicate characteristic, one bad value among good ones, a row of
/// another result) leaves neither the result nor any characteristic, and keeps what was
/// stored before.
pub fn failed_write_leaves_nothing(s: &dyn ResultsStore) {
    let d = "2013-02-01";
    let dup = [
        characteristic("m1", d, "income", ColumnRole::Characteristic, 0.2),
        characteristic("m1", d, "income", ColumnRole::Characteristic, 0.1),
    ];
    assert!(s.save_result(&result("vs", "m1", d, 0.2), &dup).is_err());
    let mut bad = characteristic("m1", d, "c3", ColumnRole::Characteristic, 0.1);
    bad.bins[2].actual_share = f64::NAN;
    let mixed = [
        characteristic("m1", d, "c1", ColumnRole::Characteristic, 0.1),
        characteristic("m1", d, "c2", ColumnRole::Characteristic, 0.1),
        bad,
    ];
    assert!(s.save_result(&result("vs", "m1", d, 0.2), &mixed).is_err());
    let other = [characteristic(
        "m2",
        d,
        "c1",
        ColumnRole::Characteristic,
        0.1,
    )];
    let err = s
        .save_result(&result("vs", "m1", d, 0.2), &other)
        .expect_err("foreign characteristic");
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert!(s.history("m1", None, None).expect("history").is_empty());
    assert!(s.characteristics("m1", day(d)).expect("c").is_empty());
    assert!(s.overview().expect("overview").is_empty());
    // A failed rerun keeps the earlier result and characteristics.
    let good = [characteristic(
        "m1",
        d,
        "c1",
        ColumnRole::Characteristic,
        0.4,
    )];
    let r = result("vs", "m1", d, 0.4);
    s.save_result(&r, &good).expect("good");
    assert!(s.save_result(&result("vs", "m1", d, 0.9), &dup).is_err());
    assert_eq!(s.history("m1", None, None).expect("history"), vec![r]);
    assert_eq!(s.characteristics("m1", day(d)).expect("c"), good.to_vec());
}

/// NaN and ±inf in a score, a CSI, an index or a bin are refused with
/// [`StoreError::NonFinite`] and nothing is written.
pub fn non_finite_refused_typed(s: &dyn ResultsStore) {
    let d = "2013-02-01";
    let ok_chars = || {
        vec![characteristic(
            "m1",
            d,
            "c",
            ColumnRole::Characteristic,
            0.1,
        )]
    };
    let mut cases: Vec<(ResultRecord, Vec<CharacteristicRecord>)> = Vec::new();
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut r = result("vs", "m1", d, 0.1);
        r.psi_score = v;
        cases.push((r, ok_chars()));
        let mut r = result("vs", "m1", d, 0.1);
        r.csi_score = v;
        cases.push((r, ok_chars()));
        let mut c = ok_chars();
        c[0].index_value = v;
        cases.push((result("vs", "m1", d, 0.1), c));
        let mut c = ok_chars();
        c[0].bins[0].contribution = v;
        cases.push((result("vs", "m1", d, 0.1), c));
        let mut c = ok_chars();
        c[0].bins[1].expected_share = v;
        cases.push((result("vs", "m1", d, 0.1), c));
    }
    for (r, c) in &cases {
        match s.save_result(r, c) {
            Err(StoreError::NonFinite { model_id, .. }) => assert_eq!(model_id, "m1"),
            other => panic!("non-finite value must be refused with NonFinite: {other:?}"),
        }
    }
    assert!(s.history("m1", None, None).expect("history").is_empty());
    assert!(s.characteristics("m1", day(d)).expect("c").is_empty());
}

/// Quotes, SQL, newlines, unicode and long strings are stored and found verbatim.
pub fn hostile_strings_and_unicode(s: &dyn ResultsStore) {
    let d = "2013-02-01";
    let hostile = [
        "o'brien\"; DROP TABLE PCI_CSI_RESULTS; --",
        "línea\nnueva\ttab",
        "模型_🚀_ü",
        "%_*?[]\\",
    ];
    let long = "x".repeat(10_000);
    for (i, m) in hostile.iter().chain([&long.as_str()]).enumerate() {
        let r = result(m, m, d, 0.1 + i as f64 / 100.0);
        let c = [characteristic(m, d, m, ColumnRole::Characteristic, 0.2)];
        s.save_result(&r, &c).expect("save hostile");
        assert_eq!(s.history(m, None, None).expect("history"), vec![r]);
        assert_eq!(s.characteristics(m, day(d)).expect("c"), c.to_vec());
        let mut run = attempt(m, 1, m, d, 1);
        run.error = Some((*m).to_string());
        run.triggered_by = (*m).to_string();
        s.record_attempt(&run).expect("attempt");
        assert_eq!(s.runs(Some(m), 5).expect("runs"), vec![run]);
        let entry = AuditRecord {
            at: at(i as i64),
            user: (*m).to_string(),
            role: "operator".to_string(),
            action: "rerun".to_string(),
            target: (*m).to_string(),
            outcome: "started".to_string(),
        };
        s.append_audit(&entry).expect("audit");
        assert_eq!(s.audit(1).expect("audit"), vec![entry]);
    }
    assert_eq!(s.latest_results().expect("latest").len(), 5);
    let sel = ids(&[hostile[2], "unknown"]);
    assert_eq!(s.trends(Some(&sel), None, None).expect("trends").len(), 1);
}

/// Inclusive bounds, open bounds, model selection and (model, date) order.
pub fn ranges_and_selection(s: &dyn ResultsStore) {
    for m in ["m_b", "m_a", "m_c"] {
        for d in ["2013-02-03", "2013-02-01", "2013-02-02", "2013-02-05"] {
            s.save_result(&result("vs", m, d, 0.1), &[]).expect("save");
        }
    }
    let dates = |v: Vec<ResultRecord>| -> Vec<(String, NaiveDate)> {
        v.into_iter()
            .map(|r| (r.model_id, r.calculation_date))
            .collect()
    };
    let h = s
        .history("m_b", Some(day("2013-02-02")), Some(day("2013-02-03")))
        .expect("history");
    assert_eq!(
        dates(h),
        [("m_b", "2013-02-02"), ("m_b", "2013-02-03")].map(|(m, d)| (m.to_string(), day(d)))
    );
    let open = s
        .history("m_b", Some(day("2013-02-03")), None)
        .expect("open end");
    assert_eq!(open.len(), 2);
    let all = s
        .trends(None, Some(day("2013-02-02")), Some(day("2013-02-05")))
        .expect("trends");
    let got = dates(all.clone());
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted, "trends ordered by model then date");
    assert_eq!(got.len(), 9);
    assert_eq!(
        s.history_all(Some(day("2013-02-02")), Some(day("2013-02-05")))
            .expect("history_all"),
        all
    );
    let sel = s
        .trends(
            Some(&ids(&["m_c", "m_a", "nope"])),
            None,
            Some(day("2013-02-01")),
        )
        .expect("selected");
    assert_eq!(
        dates(sel),
        [("m_a", "2013-02-01"), ("m_c", "2013-02-01")].map(|(m, d)| (m.to_string(), day(d)))
    );
    assert!(s.trends(Some(&[]), None, None).expect("none").is_empty());
    assert!(
        s.history("m_a", Some(day("2013-03-01")), Some(day("2013-02-01")))
            .expect("inverted")
            .is_empty()
    );
    let latest = s.latest_results().expect("latest");
    assert!(
        latest
            .iter()
            .all(|r| r.calculation_date == day("2013-02-05"))
    );
}

/// The overview: latest result per model, its worst characteristic (never the score; ties to
/// the smallest name), the newest attempt, models with only attempts, (value stream, model)
/// order.
pub fn overview_semantics(s: &dyn ResultsStore) {
    let d1 = "2013-02-01";
    let d2 = "2013-02-02";
    s.save_result(
        &result("vs_b", "m1", d1, 0.1),
        &[characteristic(
            "m1",
            d1,
            "old",
            ColumnRole::Characteristic,
            0.9,
        )],
    )
    .expect("old");
    let latest = result("vs_b", "m1", d2, 0.2);
    s.save_result(
        &latest,
        &[
            characteristic("m1", d2, "score", ColumnRole::Score, 5.0),
            characteristic("m1", d2, "zeta", ColumnRole::Characteristic, 0.4),
            characteristic("m1", d2, "alpha", ColumnRole::Characteristic, 0.4),
            characteristic("m1", d2, "low", ColumnRole::Characteristic, 0.1),
        ],
    )
    .expect("latest");
    s.save_result(
        &result("vs_a", "m2", d1, 0.3),
        &[characteristic("m2", d1, "score", ColumnRole::Score, 0.3)],
    )
    .expect("m2");
    s.record_attempt(&attempt("r1", 1, "m1", d2, 10))
        .expect("a");
    s.record_attempt(&attempt("r1", 2, "m1", d2, 10))
        .expect("a");
    s.record_attempt(&attempt("r0", 1, "m1", d1, 5)).expect("a");
    let mut only_runs = attempt("r9", 1, "m0", d1, 1);
    only_runs.value_stream = "vs_c".to_string();
    only_runs.status = RunStatus::Failed;
    s.record_attempt(&only_runs).expect("only runs");
    let o = s.overview().expect("overview");
    let order: Vec<&str> = o.iter().map(|l| l.model_id.as_str()).collect();
    assert_eq!(order, ["m2", "m1", "m0"]);
    let m1 = &o[1];
    assert_eq!(m1.value_stream, "vs_b");
    assert_eq!(m1.latest.as_ref(), Some(&latest));
    let worst = m1.worst.as_ref().expect("worst");
    assert_eq!((worst.characteristic.as_str(), worst.csi), ("alpha", 0.4));
    let run = m1.latest_run.as_ref().expect("run");
    assert_eq!((run.run_id.as_str(), run.attempt), ("r1", 2));
    assert!(
        o[0].worst.is_none(),
        "the score is never the worst characteristic"
    );
    assert!(o[0].latest_run.is_none());
    assert!(o[2].latest.is_none());
    assert_eq!(o[2].latest_run.as_ref(), Some(&only_runs));
    assert_eq!(o[2].value_stream, "vs_c");
    let lr: Vec<String> = s
        .latest_runs()
        .expect("latest runs")
        .into_iter()
        .map(|r| format!("{}:{}:{}", r.model_id, r.run_id, r.attempt))
        .collect();
    // By value stream first: `vs` (m1) before `vs_c` (m0).
    assert_eq!(lr, ["m1:r1:2", "m0:r9:1"]);
}

/// Date status: results and attempts in range, newest attempt's status, order.
pub fn date_status_semantics(s: &dyn ResultsStore) {
    s.save_result(&result("vs", "m1", "2013-02-01", 0.1), &[])
        .expect("r");
    s.save_result(&result("vs", "m1", "2013-02-05", 0.1), &[])
        .expect("r");
    s.save_result(&result("vs", "m2", "2013-02-02", 0.1), &[])
        .expect("r");
    let mut failed = attempt("a", 1, "m1", "2013-02-03", 10);
    failed.status = RunStatus::Retrying;
    s.record_attempt(&failed).expect("a");
    let mut last = attempt("a", 2, "m1", "2013-02-03", 20);
    last.status = RunStatus::Failed;
    s.record_attempt(&last).expect("a");
    s.record_attempt(&attempt("b", 1, "m1", "2013-02-01", 1))
        .expect("b");
    s.record_attempt(&attempt("c", 1, "m3", "2013-02-02", 1))
        .expect("c");
    let got = s
        .date_status(
            &ids(&["m2", "m1", "ghost"]),
            day("2013-02-01"),
            day("2013-02-04"),
        )
        .expect("date status");
    let view: Vec<(String, String, bool, Option<RunStatus>)> = got
        .into_iter()
        .map(|d| {
            (
                d.model_id,
                d.calculation_date.to_string(),
                d.has_result,
                d.run_status,
            )
        })
        .collect();
    let want = [
        ("m1", "2013-02-01", true, Some(RunStatus::Succeeded)),
        ("m1", "2013-02-03", false, Some(RunStatus::Failed)),
        ("m2", "2013-02-02", true, None),
    ]
    .map(|(m, d, h, st)| (m.to_string(), d.to_string(), h, st));
    assert_eq!(view, want);
    assert!(
        s.date_status(&[], day("2013-01-01"), day("2013-12-31"))
            .expect("no models")
            .is_empty()
    );
}

/// Attempts: upsert on (run id, attempt), newest first by (start, attempt, run id), limit,
/// per-model filter.
pub fn runs_order_limit_upsert(s: &dyn ResultsStore) {
    let d = "2013-02-01";
    let mut a1 = attempt("r1", 1, "m1", d, 10);
    a1.status = RunStatus::Running;
    a1.finished_at = None;
    s.record_attempt(&a1).expect("running");
    a1.status = RunStatus::Failed;
    a1.error = Some("boom".to_string());
    a1.finished_at = Some(at(12));
    s.record_attempt(&a1).expect("update");
    s.record_attempt(&attempt("r1", 2, "m1", d, 10)).expect("2");
    s.record_attempt(&attempt("r2", 1, "m2", d, 30))
        .expect("r2");
    s.record_attempt(&attempt("r3", 1, "m1", d, 30))
        .expect("r3");
    s.record_attempt(&attempt("r0", 1, "m1", d, 30))
        .expect("r0 tie");
    let all: Vec<String> = s
        .runs(None, 100)
        .expect("runs")
        .into_iter()
        .map(|r| format!("{}:{}", r.run_id, r.attempt))
        .collect();
    assert_eq!(all, ["r3:1", "r2:1", "r0:1", "r1:2", "r1:1"]);
    let m1 = s.runs(Some("m1"), 2).expect("m1 runs");
    assert_eq!(m1.len(), 2);
    assert_eq!(m1[0].run_id, "r3");
    assert_eq!(s.runs(Some("m1"), 0).expect("limit 0").len(), 0);
    let stored = s.runs(Some("m1"), 100).expect("m1").pop().expect("oldest");
    assert_eq!(stored, a1);
    let latest = s.latest_runs().expect("latest");
    assert_eq!(latest.len(), 2);
    assert_eq!(latest[0].run_id, "r3");
}

/// Audit: newest first in insertion order, at most `limit`.
pub fn audit_newest_first(s: &dyn ResultsStore) {
    for i in 0..5 {
        s.append_audit(&AuditRecord {
            // Same instant for all: order is insertion order.
            at: at(0) + Duration::zero(),
            user: format!("u{i}"),
            role: "admin".to_string(),
            action: "refresh".to_string(),
            target: "m1".to_string(),
            outcome: "started".to_string(),
        })
        .expect("append");
    }
    let users: Vec<String> = s
        .audit(3)
        .expect("audit")
        .into_iter()
        .map(|a| a.user)
        .collect();
    assert_eq!(users, ["u4", "u3", "u2"]);
    assert_eq!(s.audit(100).expect("all").len(), 5);
}

/// Findings: replaced per attempt, kept in their given order, selected by run id, ordered by
/// run id then attempt; hostile text round-trips; an empty list removes them.
pub fn findings_replace_and_order(s: &dyn ResultsStore) {
    use crate::quality::{Check, Finding, Severity};
    let f = |check: Check, column: Option<&str>, observed: f64, severity: Severity| Finding {
        check,
        column: column.map(str::to_string),
        observed,
        limit: 1.5,
        severity,
        message: "l\u{e4}ngd '; DROP TABLE x; --\n\"q\"".to_string(),
    };
    let first = vec![
        f(Check::RowCount, None, 0.0, Severity::Fail),
        f(
            Check::MissingShare,
            Some("age \u{1f600}"),
            0.75,
            Severity::Warn,
        ),
    ];
    assert!(s.findings(&ids(&["r1"])).expect("findings").is_empty());
    s.record_findings("r2", 1, &first[1..]).expect("record r2");
    s.record_findings("r1", 2, &first).expect("record r1/2");
    s.record_findings("r1", 1, &first).expect("record r1/1");
    // Replacing an attempt's findings does not duplicate them.
    s.record_findings("r1", 1, &first[..1])
        .expect("replace r1/1");
    let got = s.findings(&ids(&["r1", "r2", "nope"])).expect("findings");
    let keys: Vec<(&str, u32, Check)> = got
        .iter()
        .map(|r| (r.run_id.as_str(), r.attempt, r.finding.check))
        .collect();
    assert_eq!(
        keys,
        [
            ("r1", 1, Check::RowCount),
            ("r1", 2, Check::RowCount),
            ("r1", 2, Check::MissingShare),
            ("r2", 1, Check::MissingShare),
        ],
        "findings_replace_and_order"
    );
    assert_eq!(got[2].finding, first[1], "findings round-trip");
    assert_eq!(s.findings(&ids(&["r2"])).expect("r2").len(), 1);
    s.record_findings("r2", 1, &[]).expect("clear");
    assert!(s.findings(&ids(&["r2"])).expect("r2").is_empty());
    assert!(s.findings(&[]).expect("none").is_empty());
}

/// History of replaced results (SCD type 2): a rerun with the same values adds no row; a
/// change keeps the replaced PSI, CSI and worst characteristic with `valid_from` (its
/// `execution_time`), `valid_to` (the replacing one's) and the superseding run; a change of the
/// worst characteristic alone is a change; other dates and models are untouched; the batched
/// read selects by models and date range, ordered by model, date, `valid_to`.
pub fn replaced_results_history(s: &dyn ResultsStore) {
    let m = "m\u{e4}'1";
    let d = "2013-02-01";
    let chars = |worst: &str, csi: f64| {
        vec![
            characteristic(m, d, "score", ColumnRole::Score, 0.1),
            characteristic(m, d, worst, ColumnRole::Characteristic, csi),
        ]
    };
    let at_time = |r: ResultRecord, secs: i64| ResultRecord {
        execution_time: at(secs),
        ..r
    };
    assert!(s.result_history(m, day(d)).expect("empty").is_empty());
    assert!(
        s.recomputed(&ids(&[m]), day(d), day(d))
            .expect("empty")
            .is_empty()
    );
    let first = at_time(result("vs", m, d, 0.1), 0);
    s.save_result_of_run(&first, &chars("age", 0.3), Some("r1"))
        .expect("first");
    s.save_result(&at_time(result("vs", m, "2013-02-02", 0.1), 0), &[])
        .expect("other date");
    // The same values again (an idempotent rerun): no history, execution time refreshed.
    let same = at_time(result("vs", m, d, 0.1), 10);
    s.save_result_of_run(&same, &chars("age", 0.3), Some("r2"))
        .expect("same values");
    assert!(
        s.result_history(m, day(d)).expect("history").is_empty(),
        "replaced_results_history: identical values are not a change"
    );
    assert_eq!(
        s.history(m, Some(day(d)), Some(day(d))).expect("current"),
        vec![same.clone()]
    );
    // A change: the replaced version is kept.
    let second = at_time(result("vs", m, d, 0.4), 20);
    s.save_result_of_run(&second, &chars("age", 0.5), Some("r3 \u{1f600}"))
        .expect("rerun");
    // Only the worst characteristic changes: still a change; outside a run: no run id.
    let third = at_time(result("vs", m, d, 0.4), 30);
    s.save_result(&third, &chars("distance", 0.5))
        .expect("third");
    let got = s.result_history(m, day(d)).expect("history");
    let want = vec![
        super::ReplacedResult {
            model_id: m.to_string(),
            value_stream: "vs".to_string(),
            calculation_date: day(d),
            psi_score: 0.1,
            csi_score: 0.05,
            worst: Some(super::WorstCharacteristic {
                characteristic: "age".to_string(),
                csi: 0.3,
            }),
            valid_from: at(10),
            valid_to: at(20),
            superseded_by_run: Some("r3 \u{1f600}".to_string()),
        },
        super::ReplacedResult {
            model_id: m.to_string(),
            value_stream: "vs".to_string(),
            calculation_date: day(d),
            psi_score: 0.4,
            csi_score: 0.2,
            worst: Some(super::WorstCharacteristic {
                characteristic: "age".to_string(),
                csi: 0.5,
            }),
            valid_from: at(20),
            valid_to: at(30),
            superseded_by_run: None,
        },
    ];
    assert_eq!(got, want, "replaced_results_history");
    assert_eq!(
        s.history(m, Some(day(d)), Some(day(d))).expect("current"),
        vec![third],
        "the current result is the newest"
    );
    // A result without characteristics replaced by another value.
    s.save_result_of_run(
        &at_time(result("vs", "m0", "2013-02-03", 0.2), 40),
        &[],
        Some("r4"),
    )
    .expect("m0");
    s.save_result_of_run(
        &at_time(result("vs", "m0", "2013-02-03", 0.3), 50),
        &[],
        Some("r5"),
    )
    .expect("m0 again");
    let all = s
        .recomputed(
            &ids(&["m0", m, "nope"]),
            day("2013-01-01"),
            day("2013-12-31"),
        )
        .expect("recomputed");
    let keys: Vec<(&str, NaiveDate, DateTime<Utc>, Option<&str>)> = all
        .iter()
        .map(|h| {
            (
                h.model_id.as_str(),
                h.calculation_date,
                h.valid_to,
                h.superseded_by_run.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("m0", day("2013-02-03"), at(50), Some("r5")),
            (m, day(d), at(20), Some("r3 \u{1f600}")),
            (m, day(d), at(30), None),
        ],
        "recomputed: order and selection"
    );
    assert_eq!(all[0].worst, None, "no characteristics, no worst");
    assert!(
        s.recomputed(&ids(&[m]), day("2013-02-02"), day("2013-02-28"))
            .expect("range")
            .is_empty(),
        "recomputed: date range"
    );
    assert!(s.recomputed(&[], day(d), day(d)).expect("none").is_empty());
}
