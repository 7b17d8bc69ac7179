//! `FilePatternSource` on the demo data: one calculation date selects that day's rows of one
//! origin, and a backfill over two months reads each monthly file once.
//! Expected counts computed with pandas: `d[(d.origin == 'EWR') & (d.flight_date == '2013-02-14')]`
//! has 143 rows with score sum 57.635447; EWR rows in Feb + Mar: 7714.

use std::path::PathBuf;
use std::sync::Arc;

use driftdeck::domain::{date_range, parse_date};
use driftdeck::engine::column::Column;
use driftdeck::sources::{
    ColumnRequest, CurrentSource, FileCache, FilePatternSource, KindHint, ValueFilter,
};

#[test]
fn demo_backfill_reads_each_month_once() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/demo/data");
    let pattern = data.join("current_{month}.csv");
    let cache = Arc::new(FileCache::default());
    let src = FilePatternSource::new(
        pattern.to_string_lossy(),
        Some("flight_date".into()),
        1,
        vec![ValueFilter::new("origin", ["EWR"])],
        cache.clone(),
    )
    .expect("source");
    let cols = [
        ColumnRequest::new("score", KindHint::Numeric),
        ColumnRequest::new("carrier", KindHint::Categorical),
    ];
    let day = src
        .load(parse_date("2013-02-14").expect("d"), &cols)
        .expect("load");
    assert_eq!(day.rows, 143);
    let Some(Column::Numeric(score)) = day.column("score") else {
        panic!("score numeric")
    };
    assert!((score.iter().sum::<f64>() - 57.635447).abs() < 1e-9);
    let mut total = 0;
    for d in date_range(
        parse_date("2013-02-01").expect("d"),
        parse_date("2013-03-31").expect("d"),
    )
    .expect("range")
    {
        total += src.load(d, &cols).expect("load").rows;
    }
    assert_eq!(total, 7714);
    assert_eq!(cache.stats().reads, 2, "{:?}", cache.stats());
}
