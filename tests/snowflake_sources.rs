//! The Snowflake query template as current-data and benchmark source, against the test server.

#[path = "snowflake/support.rs"]
mod support;

use std::sync::Arc;

use chrono::NaiveDate;
use driftdeck::engine::column::Column;
use driftdeck::sources::{ColumnRequest, CurrentSource, KindHint, SnowflakeQuerySource};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn query_template_loads_the_window_and_writes_benchmark_csv() {
    let Some(db) = support::test_db("sources") else {
        return;
    };
    let c = Arc::new(db.client());
    c.execute("CREATE SCHEMA", "CREATE SCHEMA IF NOT EXISTS PSI")
        .unwrap();
    c.execute(
        "CREATE TABLE",
        "CREATE TABLE scored (flight_date DATE, score FLOAT, carrier VARCHAR, temp NUMBER(6,2))",
    )
    .unwrap();
    c.execute(
        "INSERT scored",
        "INSERT INTO scored VALUES ('2013-02-01', 0.1, 'UA', 30.25), ('2013-02-02', 0.2, 'AA', NULL), \
         ('2013-02-02', NULL, 'O''Hare', 28.5), ('2013-02-03', 0.9, 'DL', 10)",
    )
    .unwrap();
    let src = SnowflakeQuerySource::new(
        Arc::clone(&c),
        "SELECT score, carrier, temp FROM scored WHERE flight_date BETWEEN {from} AND {date} ORDER BY score NULLS LAST",
        2,
    )
    .unwrap();
    assert!(
        src.render(day("2013-02-02"))
            .contains("BETWEEN '2013-02-01'::DATE AND '2013-02-02'::DATE")
    );
    let table = src
        .load(
            day("2013-02-02"),
            &[
                ColumnRequest::new("score", KindHint::Numeric),
                ColumnRequest::new("carrier", KindHint::Categorical),
                ColumnRequest::new("temp", KindHint::Numeric),
            ],
        )
        .unwrap();
    assert_eq!(table.rows, 3);
    assert_eq!(table.names, ["score", "carrier", "temp"]);
    let Column::Numeric(score) = &table.columns[0] else {
        panic!("numeric score")
    };
    assert_eq!(score[..2], [0.1, 0.2]);
    assert!(score[2].is_nan(), "NULL is missing");
    let Column::Numeric(temp) = &table.columns[2] else {
        panic!("numeric temp")
    };
    assert_eq!(temp[0], 30.25, "scaled NUMBER decoded");
    assert!(temp[1].is_nan());
    // An absent column is named with the available ones.
    let err = src
        .load(
            day("2013-02-02"),
            &[ColumnRequest::new("nope", KindHint::Numeric)],
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope") && err.contains("snowflake:"), "{err}");
    // Benchmark extract as CSV.
    let path = db.base().join("benchmark.csv");
    let n = src.fetch_csv(day("2013-02-03"), &path).unwrap();
    assert_eq!(n, 3);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap().to_ascii_lowercase(),
        "score,carrier,temp"
    );
    assert!(text.contains("O'Hare"), "{text}");
    // Unknown placeholders are refused before any query.
    assert!(SnowflakeQuerySource::new(Arc::clone(&c), "SELECT {dat}", 1).is_err());
}
