//! Hostile and edge-case input for `sources::read_table`: every error must name the file and,
//! where it applies, the line, the column and the offending value. Nothing may panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use driftdeck::engine::column::{Column, MISSING_CODE, Table};
use driftdeck::sources::{
    ColumnRequest, DateSelection, KindHint, Selection, SourceError, ValueFilter, read_table,
    read_table_selected,
};
use parquet::arrow::ArrowWriter;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write fixture");
    p
}

fn req(name: &str, kind: KindHint) -> ColumnRequest {
    ColumnRequest::new(name, kind)
}

fn err_of(path: &Path, requests: Option<&[ColumnRequest]>) -> String {
    let e = read_table(path, requests).expect_err("should fail");
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "file not named: {msg}"
    );
    msg
}

fn numeric(t: &Table, name: &str) -> Vec<f64> {
    match t.column(name) {
        Some(Column::Numeric(v)) => v.clone(),
        other => panic!("{name} is not numeric: {other:?}"),
    }
}

fn categorical(t: &Table, name: &str) -> (Vec<String>, Vec<u32>) {
    match t.column(name) {
        Some(Column::Categorical(c)) => (c.levels.clone(), c.codes.clone()),
        other => panic!("{name} is not categorical: {other:?}"),
    }
}

#[test]
fn missing_values_and_inference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "a.csv",
        b"x,c,n,allmiss\n1.5,a,1,\n,NaN,2,NaN\nnan,b,x7,nan\n -2 ,a,3,\n",
    );
    let t = read_table(&p, None).expect("read");
    assert_eq!(t.rows, 4);
    assert_eq!(t.names, vec!["x", "c", "n", "allmiss"]);
    let x = numeric(&t, "x");
    assert_eq!(x[0], 1.5);
    assert!(x[1].is_nan() && x[2].is_nan());
    assert_eq!(x[3], -2.0);
    let (levels, codes) = categorical(&t, "c");
    assert_eq!(levels, vec!["a", "b"]);
    assert_eq!(codes, vec![0, MISSING_CODE, 1, 0]);
    // One non-number makes the column categorical (like pandas).
    let (levels, _) = categorical(&t, "n");
    assert_eq!(levels, vec!["1", "2", "x7", "3"]);
    assert!(numeric(&t, "allmiss").iter().all(|v| v.is_nan()));
    // Numbers requested as categorical keep their text.
    let t = read_table(&p, Some(&[req("x", KindHint::Categorical)])).expect("read");
    assert_eq!(categorical(&t, "x").0, vec!["1.5", " -2 "]);
}

#[test]
fn non_numeric_text_names_file_line_column_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "b.csv", b"id,score\n1,0.5\n2,0.7\n3,oops\n");
    let msg = err_of(&p, Some(&[req("score", KindHint::Numeric)]));
    assert!(msg.contains("line 4"), "{msg}");
    assert!(msg.contains("\"score\""), "{msg}");
    assert!(msg.contains("\"oops\""), "{msg}");
}

#[test]
fn infinities_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, bad) in ["inf", "-inf", "infinity", "-Infinity", "1e999"]
        .iter()
        .enumerate()
    {
        let p = write(
            dir.path(),
            &format!("inf{i}.csv"),
            format!("v\n1\n{bad}\n").as_bytes(),
        );
        let msg = err_of(&p, Some(&[req("v", KindHint::Numeric)]));
        assert!(msg.contains("line 3") && msg.contains("infinite"), "{msg}");
        // Inferred numeric columns too.
        let msg = err_of(&p, None);
        assert!(msg.contains("infinite") && msg.contains(bad), "{msg}");
    }
    // Huge finite values are fine.
    let p = write(dir.path(), "huge.csv", b"v\n1e308\n-1e308\n");
    assert_eq!(
        numeric(&read_table(&p, None).expect("read"), "v"),
        vec![1e308, -1e308]
    );
}

#[test]
fn ragged_rows_name_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let short = write(dir.path(), "short.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n");
    let msg = err_of(&short, None);
    assert!(
        msg.contains("line 3") && msg.contains("expected 3 fields"),
        "{msg}"
    );
    let long = write(dir.path(), "long.csv", b"a,b\n1,2\n3,4\n5,6,7\n");
    let msg = err_of(&long, Some(&[req("a", KindHint::Numeric)]));
    assert!(
        msg.contains("line 4") && msg.contains("expected 2 fields"),
        "{msg}"
    );
}

#[test]
fn bad_utf8_names_the_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "utf.csv", b"a,b\n1,ok\n2,caf\xe9\n3,x\n");
    let msg = err_of(&p, None);
    assert!(msg.contains("UTF-8") && msg.contains("line 3"), "{msg}");
    assert!(msg.contains("\"b\""), "{msg}");
    let header = write(dir.path(), "utfh.csv", b"a,\xff\xfe\n1,2\n");
    let msg = err_of(&header, None);
    assert!(msg.contains("UTF-8") && msg.contains("header"), "{msg}");
}

#[test]
fn quotes_are_honoured_and_unterminated_quotes_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "q.csv",
        b"name,v\n\"Smith, J\",1\n\"say \"\"hi\"\"\",2\n",
    );
    let t = read_table(&p, None).expect("read");
    assert_eq!(categorical(&t, "name").0, vec!["Smith, J", "say \"hi\""]);
    let bad = write(dir.path(), "uq.csv", b"name,v\n\"open,1\n2,3\n");
    let msg = err_of(&bad, None);
    assert!(msg.contains("malformed CSV"), "{msg}");
}

#[test]
fn empty_header_only_and_missing_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = write(dir.path(), "empty.csv", b"");
    assert!(err_of(&empty, None).contains("empty file"));
    let header = write(dir.path(), "header.csv", b"a,b\n");
    let t = read_table(&header, Some(&[req("b", KindHint::Numeric)])).expect("0 rows is valid");
    assert_eq!(t.rows, 0);
    assert_eq!(t.columns, vec![Column::Numeric(vec![])]);
    let missing = dir.path().join("nope.csv");
    let e = read_table(&missing, None).expect_err("missing");
    assert!(matches!(e, SourceError::NotFound { .. }));
    assert!(e.to_string().contains("nope.csv") && e.to_string().contains("not found"));
}

#[test]
fn missing_and_duplicate_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "m.csv", b"a,b\n1,2\n");
    let msg = err_of(&p, Some(&[req("zzz", KindHint::Infer)]));
    assert!(
        msg.contains("\"zzz\"") && msg.contains("available columns: a, b"),
        "{msg}"
    );
    let dup = write(dir.path(), "dup.csv", b"a,b,a\n1,2,3\n");
    let msg = err_of(&dup, None);
    assert!(msg.contains("duplicate column name \"a\""), "{msg}");
    let msg = err_of(
        &p,
        Some(&[req("a", KindHint::Infer), req("a", KindHint::Numeric)]),
    );
    assert!(msg.contains("requested twice"), "{msg}");
}

#[test]
fn requests_choose_order_and_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "o.csv", b"\xef\xbb\xbfa,b,c\n1,x,3\n2,y,4\n");
    let t = read_table(
        &p,
        Some(&[req("c", KindHint::Numeric), req("a", KindHint::Infer)]),
    )
    .expect("read");
    assert_eq!(t.names, vec!["c", "a"], "BOM stripped, request order kept");
    assert_eq!(numeric(&t, "a"), vec![1.0, 2.0]);
    let t = read_table(&p, Some(&[])).expect("no columns");
    assert_eq!(t.rows, 2);
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).expect("create");
    let mut w = ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    w.write(batch).expect("write");
    w.close().expect("close");
}

#[test]
fn parquet_types_nulls_projection_and_dates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("t.parquet");
    let batch = RecordBatch::try_from_iter(vec![
        (
            "f",
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(f64::NAN)])) as ArrayRef,
        ),
        (
            "i",
            Arc::new(Int64Array::from(vec![Some(1), Some(2), None])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![Some("EWR"), None, Some("JFK")])) as ArrayRef,
        ),
        (
            "d",
            // 2013-01-01 = day 15706 since the epoch.
            Arc::new(Date32Array::from(vec![15706, 15707, 15706])) as ArrayRef,
        ),
        (
            "t",
            Arc::new(StringArray::from(vec![Some("1"), Some("x"), Some("3")])) as ArrayRef,
        ),
    ])
    .expect("batch");
    write_parquet(&p, &batch);
    let t = read_table(&p, None).expect("read");
    assert_eq!(t.rows, 3);
    let f = numeric(&t, "f");
    assert!(f[0] == 1.5 && f[1].is_nan() && f[2].is_nan());
    let i = numeric(&t, "i");
    assert!(i[0] == 1.0 && i[2].is_nan());
    assert_eq!(
        categorical(&t, "s"),
        (vec!["EWR".into(), "JFK".into()], vec![0, MISSING_CODE, 1])
    );
    assert_eq!(categorical(&t, "d").0, vec!["2013-01-01", "2013-01-02"]);
    // Projection and numeric-as-categorical.
    let t = read_table(&p, Some(&[req("i", KindHint::Categorical)])).expect("read");
    assert_eq!(t.names, vec!["i"]);
    assert_eq!(categorical(&t, "i").0, vec!["1", "2"]);
    // Text requested as numeric: errors name the row.
    let msg = err_of(&p, Some(&[req("t", KindHint::Numeric)]));
    assert!(
        msg.contains("row 2") && msg.contains("\"t\"") && msg.contains("\"x\""),
        "{msg}"
    );
    let msg = err_of(&p, Some(&[req("nope", KindHint::Numeric)]));
    assert!(msg.contains("available columns: f, i, s, d, t"), "{msg}");
    // Date selection on a Date32 column.
    let sel = Selection {
        date: Some(DateSelection {
            column: "d".into(),
            from: driftdeck::domain::parse_date("2013-01-02").expect("date"),
            to: driftdeck::domain::parse_date("2013-01-02").expect("date"),
        }),
        filters: vec![],
    };
    let t = read_table_selected(&p, Some(&[req("i", KindHint::Numeric)]), &sel).expect("sel");
    assert_eq!(t.names, vec!["i"]);
    assert_eq!(numeric(&t, "i"), vec![2.0]);
}

#[test]
fn parquet_infinity_and_garbage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("inf.parquet");
    let batch = RecordBatch::try_from_iter(vec![(
        "v",
        Arc::new(Float64Array::from(vec![1.0, f64::INFINITY])) as ArrayRef,
    )])
    .expect("batch");
    write_parquet(&p, &batch);
    let msg = err_of(&p, None);
    assert!(msg.contains("row 2") && msg.contains("infinite"), "{msg}");
    let junk = write(dir.path(), "junk.parquet", b"this is not parquet");
    let msg = err_of(&junk, None);
    assert!(msg.contains("Parquet"), "{msg}");
    let empty = write(dir.path(), "empty.parquet", b"");
    err_of(&empty, None);
}

#[test]
fn selection_on_csv_by_date_and_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "s.csv",
        b"flight_date,carrier,score\n2013-02-01,AA,0.1\n2013-02-01,B6,0.2\n2013-02-02,DL,0.3\n,AA,0.4\n2013-02-01,DL,0.5\n",
    );
    let day = driftdeck::domain::parse_date("2013-02-01").expect("date");
    let sel = Selection {
        date: Some(DateSelection {
            column: "flight_date".into(),
            from: day,
            to: day,
        }),
        filters: vec![ValueFilter::new("carrier", ["AA", "DL"])],
    };
    let t = read_table_selected(&p, Some(&[req("score", KindHint::Numeric)]), &sel).expect("sel");
    assert_eq!(t.names, vec!["score"]);
    assert_eq!(numeric(&t, "score"), vec![0.1, 0.5]);
    // A filter column that does not exist is named with the available columns.
    let bad = Selection {
        date: None,
        filters: vec![ValueFilter::new("origin", ["EWR"])],
    };
    let msg = read_table_selected(&p, Some(&[req("score", KindHint::Numeric)]), &bad)
        .expect_err("missing filter column")
        .to_string();
    assert!(
        msg.contains("\"origin\"") && msg.contains("available columns"),
        "{msg}"
    );
}

#[test]
fn demo_month_reads_with_inferred_kinds() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/data/current_2013-02.csv");
    let t = read_table(&p, None).expect("demo file");
    assert_eq!(t.rows, 9980);
    assert!(matches!(t.column("plane_year"), Some(Column::Numeric(_))));
    assert!(matches!(t.column("carrier"), Some(Column::Categorical(_))));
    assert!(matches!(
        t.column("flight_date"),
        Some(Column::Categorical(_))
    ));
    let missing = numeric(&t, "wind_gust")
        .iter()
        .filter(|v| v.is_nan())
        .count();
    assert!(missing > 0);
}

/// Text columns decode as dictionaries (each distinct text classified once); the result must be
/// the same column the CSV reader builds from the same texts: levels in first-appearance order,
/// missing spellings missing, across several row groups whose dictionaries differ; a text
/// column of numbers stays categorical unless numeric is asked for.
#[test]
fn parquet_dictionary_text_matches_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let texts: Vec<Option<&str>> = (0..5000)
        .map(|i| match i % 7 {
            0 => Some("JFK"),
            1 => None,
            2 => Some(if i < 2500 { "EWR" } else { "LGA" }),
            3 => Some("nan"),
            4 => Some(""),
            5 => Some(if i % 2 == 0 { "JFK" } else { "ZRH" }),
            _ => Some("EWR"),
        })
        .collect();
    let numbers: Vec<Option<String>> = (0..5000)
        .map(|i| (i % 5 != 0).then(|| format!("{}", i % 13)))
        .collect();
    let batch = RecordBatch::try_from_iter(vec![
        ("s", Arc::new(StringArray::from(texts.clone())) as ArrayRef),
        (
            "n",
            Arc::new(StringArray::from(
                numbers.iter().map(|v| v.as_deref()).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
    ])
    .expect("batch");
    let p = dir.path().join("dict.parquet");
    let file = std::fs::File::create(&p).expect("create");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_size(1024)
        .build();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let mut csv = String::from("s,n\n");
    for (s, n) in texts.iter().zip(&numbers) {
        csv.push_str(&format!(
            "{},{}\n",
            s.unwrap_or(""),
            n.as_deref().unwrap_or("")
        ));
    }
    let c = write(dir.path(), "dict.csv", csv.as_bytes());
    for kind in [KindHint::Infer, KindHint::Categorical] {
        let from_parquet = read_table(&p, Some(&[req("s", kind)])).expect("parquet");
        let from_csv = read_table(&c, Some(&[req("s", kind)])).expect("csv");
        assert_eq!(
            categorical(&from_parquet, "s"),
            categorical(&from_csv, "s"),
            "{kind:?}"
        );
    }
    let (levels, codes) = categorical(&read_table(&p, None).expect("read"), "s");
    assert_eq!(levels, vec!["JFK", "EWR", "ZRH", "LGA"]);
    assert_eq!(codes.len(), 5000);
    assert_eq!(codes[1], MISSING_CODE);
    assert_eq!(codes[3], MISSING_CODE);
    assert_eq!(codes[4], MISSING_CODE);
    let n = numeric(
        &read_table(&p, Some(&[req("n", KindHint::Numeric)])).expect("read"),
        "n",
    );
    assert!(n[0].is_nan() && n[1] == 1.0 && n[12] == 12.0);
    let (levels, codes) = categorical(&read_table(&p, None).expect("read"), "n");
    assert_eq!(levels[..3], ["1", "2", "3"]);
    assert_eq!(codes[0], MISSING_CODE);
}
