//! Hostile literals and identifiers round-trip through a real Snowflake-protocol server over TLS.

#[path = "snowflake/support.rs"]
mod support;

use chrono::{NaiveDate, TimeZone, Utc};
use driftdeck::store::snowflake::decode::{self, Value};
use driftdeck::store::snowflake::{SnowflakeError, sql};

const HOSTILE: &[&str] = &[
    "x'); DROP TABLE t;--",
    "\\'",
    "\\",
    "'",
    "''",
    "a\nb\r\nc\td",
    "emoji 😀🚀 and ünïcödé ß 中文",
    "$$ dollar $$",
    "\"double\" quotes",
    "back\\slash\\n not a newline",
    "\u{1}\u{1f}\u{7f} controls",
    "",
];

#[test]
fn hostile_strings_round_trip_exactly() {
    let Some(db) = support::test_db("hostile_strings") else {
        return;
    };
    let c = db.client();
    c.execute("CREATE SCHEMA", "CREATE SCHEMA IF NOT EXISTS PSI")
        .unwrap();
    c.execute("CREATE TABLE", "CREATE TABLE t (i INT, s VARCHAR)")
        .unwrap();
    let values: Vec<String> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, s)| format!("({i}, {})", sql::string(s).unwrap()))
        .collect();
    c.execute(
        "INSERT t",
        &format!("INSERT INTO t VALUES {}", values.join(", ")),
    )
    .unwrap();
    // Still one table, with every row intact.
    let rows = decode::rows(
        "SELECT t",
        c.execute("SELECT t", "SELECT i, s FROM t ORDER BY i")
            .unwrap(),
        100,
    )
    .unwrap();
    assert_eq!(rows.rows.len(), HOSTILE.len());
    for (row, want) in rows.iter("SELECT t").zip(HOSTILE) {
        assert_eq!(row.text(1).unwrap(), *want);
    }
    // As a predicate too: the literal matches exactly its own row.
    for (i, s) in HOSTILE.iter().enumerate() {
        let q = format!("SELECT i FROM t WHERE s = {}", sql::string(s).unwrap());
        let r = decode::rows("SELECT t", c.execute("SELECT t", &q).unwrap(), 10).unwrap();
        let ids: Vec<i64> = r.iter("SELECT t").map(|r| r.i64(0).unwrap()).collect();
        assert_eq!(ids, [i as i64], "{s:?}");
    }
}

#[test]
fn hostile_identifiers_floats_dates_timestamps_and_nulls_round_trip() {
    let Some(db) = support::test_db("hostile_values") else {
        return;
    };
    let c = db.client();
    c.execute("CREATE SCHEMA", "CREATE SCHEMA IF NOT EXISTS PSI")
        .unwrap();
    let table = sql::ident("odd \"name\"; DROP").unwrap();
    c.execute(
        "CREATE TABLE",
        &format!("CREATE TABLE {table} (i INT, f FLOAT, d DATE, t TIMESTAMP_NTZ, s VARCHAR)"),
    )
    .unwrap();
    let t = Utc.with_ymd_and_hms(2013, 2, 1, 6, 0, 5).unwrap()
        + chrono::Duration::microseconds(123_456);
    let d = NaiveDate::from_ymd_opt(2013, 12, 31).unwrap();
    let floats = [
        0.1,
        -2.5e-300,
        1.0 / 3.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
    ];
    let rows: Vec<String> = floats
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                "({i}, {}, {}, {}, {})",
                sql::float(*f),
                sql::date(d),
                sql::timestamp(&t),
                sql::opt_string(None).unwrap()
            )
        })
        .collect();
    c.execute(
        "INSERT odd",
        &format!("INSERT INTO {table} VALUES {}", rows.join(", ")),
    )
    .unwrap();
    let r = decode::rows(
        "SELECT odd",
        c.execute(
            "SELECT odd",
            &format!("SELECT i, f, d, t, s FROM {table} ORDER BY i"),
        )
        .unwrap(),
        100,
    )
    .unwrap();
    for (row, want) in r.iter("SELECT odd").zip(floats) {
        let got = row.f64(1).unwrap();
        assert!(
            got == want || (got.is_nan() && want.is_nan()),
            "{got} != {want}"
        );
        assert_eq!(row.date(2).unwrap(), d);
        assert_eq!(row.timestamp(3).unwrap(), t);
        assert_eq!(row.opt_text(4).unwrap(), None);
    }
    assert_eq!(r.rows[0][4], Value::Null);
}

#[test]
fn sql_errors_name_the_statement_and_code_and_are_not_retried() {
    let Some(db) = support::test_db("sql_errors") else {
        return;
    };
    let c = db.client();
    let before = c.stats().attempts();
    let Err(err) = c.execute("SELECT missing", "SELECT * FROM no_such_table_here") else {
        panic!("a missing table is an error");
    };
    assert!(matches!(err, SnowflakeError::Sql { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("SELECT missing: Snowflake error "),
        "{text}"
    );
    assert!(!text.contains("test-password"), "{text}");
    assert_eq!(
        c.stats().attempts() - before,
        1,
        "SQL errors are not retried"
    );
}

#[test]
fn unreachable_server_is_retried_then_named_without_the_secret() {
    let Some(mut db) = support::test_db("unreachable") else {
        return;
    };
    // A loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    db.settings.address = Some(format!("127.0.0.1:{port}"));
    db.settings.attempts = 3;
    db.settings.backoff_ms = 10;
    let c = db.client();
    let Err(err) = c.execute("MERGE PCI_CSI_RESULTS", "SELECT 1") else {
        panic!("nothing listens there");
    };
    assert!(err.is_unavailable(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("MERGE PCI_CSI_RESULTS: Snowflake unreachable after 3 attempt(s)"),
        "{text}"
    );
    assert!(!text.contains("test-password"), "{text}");
    assert_eq!(c.stats().attempts(), 3);
    assert!(!format!("{c:?}").contains("test-password"));
}
