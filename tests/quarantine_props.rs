//! Properties of the daily quarantine (issue 10 quality bar): for any table and any set of bad
//! rows, kept rows + quarantined rows = rows read, the kept rows are exactly the good ones, and a
//! quarantined row in the quarantine file is byte-identical to its input line apart from the
//! added `line` and `reason` columns.

use std::sync::Arc;

use chrono::NaiveDate;
use driftdeck::engine::column::Column;
use driftdeck::quarantine::QuarantineWriter;
use driftdeck::sources::{ColumnRequest, CurrentSource, FileCache, FilePatternSource, KindHint};
use proptest::prelude::*;

/// Ways to spoil a row.
fn bad(kind: u8, i: usize) -> String {
    match kind % 6 {
        0 => format!("{i},oops{i},x"),
        1 => format!("{i},inf,x"),
        2 => format!("{i},-1e999,x"),
        3 => format!("{i},0.5"),
        4 => format!("{i},0.5,x,extra"),
        _ => format!("{i},0.5;7,x"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn kept_plus_quarantined_is_rows_read_and_lines_are_kept_byte_for_byte(
        scores in proptest::collection::vec(-1e6f64..1e6, 1..80),
        spoil in proptest::collection::vec((any::<bool>(), any::<u8>()), 80),
        crlf in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut lines = vec!["id,score,c".to_string()];
        let mut good = Vec::new();
        let mut bad_lines = Vec::new();
        for (i, s) in scores.iter().enumerate() {
            let (is_bad, kind) = spoil[i];
            if is_bad {
                lines.push(bad(kind, i));
                bad_lines.push(i + 2);
            } else {
                lines.push(format!("{i},{s},c{}", i % 3));
                good.push(*s);
            }
        }
        let text = lines.join(eol) + eol;
        std::fs::write(dir.path().join("cur.csv"), &text).expect("write");
        let source = FilePatternSource::new(
            dir.path().join("cur.csv").to_string_lossy(),
            None,
            1,
            vec![],
            Arc::new(FileCache::default()),
        )
        .expect("source");
        let date = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
        let cols = [
            ColumnRequest::new("score", KindHint::Numeric),
            ColumnRequest::new("c", KindHint::Categorical),
        ];
        let pop = source.load_population(date, &cols).expect("lenient load");
        prop_assert_eq!(pop.table.rows + pop.quarantined_rows(), scores.len());
        prop_assert_eq!(&pop.table.columns[0], &Column::Numeric(good));
        let q_lines: Vec<usize> = pop.quarantined.iter().flat_map(|q| q.rows.iter().map(|r| r.line)).collect();
        prop_assert_eq!(&q_lines, &bad_lines);
        // The strict load still fails on the first bad row.
        prop_assert_eq!(source.load(date, &cols).is_err(), !bad_lines.is_empty());

        if let Some(q) = pop.quarantined.first() {
            let target = dir.path().join("q").join("run.csv");
            let mut w = QuarantineWriter::create(&target, &q.header).expect("create");
            for r in &q.rows {
                w.push_raw(&r.raw, r.line as u64, &r.reason).expect("push");
            }
            w.finish().expect("finish");
            let out = std::fs::read(&target).expect("read");
            let out_lines: Vec<&[u8]> = out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
            prop_assert_eq!(out_lines.len(), bad_lines.len() + 1);
            prop_assert!(out_lines[0].starts_with(b"id,score,c,line,reason"));
            for (l, n) in out_lines[1..].iter().zip(&bad_lines) {
                let mut want = lines[n - 1].as_bytes().to_vec();
                want.extend_from_slice(format!(",{n},").as_bytes());
                prop_assert!(l.starts_with(&want), "{:?} vs {:?}", String::from_utf8_lossy(l), String::from_utf8_lossy(&want));
            }
        }
    }
}

#[test]
fn parquet_infinite_values_are_quarantined_with_their_row() {
    use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cur.parquet");
    let batch = RecordBatch::try_from_iter([
        (
            "score",
            Arc::new(Float64Array::from(vec![
                Some(0.1),
                Some(f64::INFINITY),
                None,
                Some(f64::NEG_INFINITY),
            ])) as ArrayRef,
        ),
        (
            "c",
            Arc::new(StringArray::from(vec!["a", "b,x", "c", "d"])) as ArrayRef,
        ),
    ])
    .expect("batch");
    let file = std::fs::File::create(&path).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let source = FilePatternSource::new(
        path.to_string_lossy(),
        None,
        1,
        vec![],
        Arc::new(FileCache::default()),
    )
    .expect("source");
    let date = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    let cols = [
        ColumnRequest::new("score", KindHint::Numeric),
        ColumnRequest::new("c", KindHint::Categorical),
    ];
    let pop = source.load_population(date, &cols).expect("lenient");
    assert_eq!(pop.table.rows, 2);
    let rows = &pop.quarantined[0].rows;
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
    assert_eq!(rows[0].raw, b"inf,\"b,x\"");
    assert!(
        rows[1]
            .reason
            .contains("row 4, column \"score\": infinite value \"-inf\""),
        "{rows:?}"
    );
    assert_eq!(pop.quarantined[0].header, b"score,c");
    let err = source.load(date, &cols).expect_err("strict");
    assert!(err.to_string().contains("row 2"), "{err}");
}
