use super::*;
use crate::engine::column::CategoricalColumn;

fn table(cols: Vec<(&str, Column)>) -> Table {
    let rows = cols.first().map_or(0, |(_, c)| c.len());
    Table {
        names: cols.iter().map(|(n, _)| n.to_string()).collect(),
        columns: cols.into_iter().map(|(_, c)| c).collect(),
        rows,
    }
}

fn d(s: &str) -> NaiveDate {
    crate::domain::parse_date(s).expect("date")
}

#[test]
fn row_count_absolute() {
    let s = QualitySettings {
        min_rows: 100,
        ..Default::default()
    };
    assert!(check_row_count(100, &s).is_empty());
    let f = check_row_count(99, &s);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].check, f[0].observed, f[0].limit),
        (Check::RowCount, 99.0, 100.0)
    );
    assert_eq!(f[0].severity, Severity::Fail);
    let off = QualitySettings {
        min_rows: 0,
        ..Default::default()
    };
    assert!(check_row_count(0, &off).is_empty());
}

#[test]
fn row_count_against_median_of_history() {
    let s = QualitySettings::default(); // 0.5 × median of the last 7
    assert_eq!(median(&[3, 1, 2]), Some(2.0));
    assert_eq!(median(&[4, 1, 2, 3]), Some(2.5));
    assert_eq!(median(&[]), None);
    // Fewer than 3 runs of history: no judgement.
    assert!(check_row_history(1, &[1000, 1000], &s).is_empty());
    let history = [1000, 900, 1100, 1000, 950, 1050, 1000, 1];
    assert!(check_row_history(500, &history, &s).is_empty());
    let f = check_row_history(499, &history, &s);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].check, Check::RowCountHistory);
    assert_eq!(f[0].limit, 500.0);
    assert_eq!(f[0].severity, Severity::Warn);
    // Only the newest history_runs count: with 3 the median is 1000.
    let s3 = QualitySettings {
        history_runs: 3,
        ..Default::default()
    };
    assert!(check_row_history(499, &[1000, 1000, 1000, 1, 1, 1, 1], &s3).len() == 1);
}

#[test]
fn coverage_names_the_missing_day() {
    let s = QualitySettings::default();
    let days = [d("2013-05-08"), d("2013-05-09"), d("2013-05-10")];
    let rows = [d("2013-05-08"), d("2013-05-10"), d("2013-05-10")];
    let f = check_coverage(&days, &rows, &s);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].column.as_deref(), Some("2013-05-09"));
    assert!(f[0].message.contains("2013-05-09"), "{}", f[0]);
    // A one-day window is the row-count check's business.
    assert!(check_coverage(&days[..1], &[], &s).is_empty());
}

#[test]
fn missing_share_per_column() {
    let s = QualitySettings {
        max_missing_share: 0.25,
        ..Default::default()
    };
    let t = table(vec![
        ("a", Column::Numeric(vec![1.0, f64::NAN, 3.0, 4.0])),
        ("b", Column::Numeric(vec![f64::NAN, f64::NAN, 3.0, 4.0])),
        (
            "c",
            Column::Categorical(CategoricalColumn::from_values([
                None,
                None,
                None,
                Some("x"),
            ])),
        ),
    ]);
    let f = check_missing(&t, &s);
    let cols: Vec<_> = f
        .iter()
        .map(|f| f.column.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(cols, ["b", "c"]);
    assert_eq!(f[1].observed, 0.75);
    assert!(check_missing(&Table::default(), &s).is_empty());
}

#[test]
fn benchmark_range_with_tolerance() {
    let s = QualitySettings {
        range_tolerance: 0.1,
        ..Default::default()
    };
    let ranges = [BenchmarkRange {
        column: "x".into(),
        min: 0.0,
        max: 100.0,
    }];
    let inside = table(vec![("x", Column::Numeric(vec![-10.0, 110.0, f64::NAN]))]);
    assert!(check_range(&inside, &ranges, &s).is_empty());
    let outside = table(vec![("x", Column::Numeric(vec![-10.5, 50.0, 111.0]))]);
    let f = check_range(&outside, &ranges, &s);
    assert_eq!(f.len(), 2);
    assert_eq!((f[0].observed, f[0].limit), (-10.5, -10.0));
    assert_eq!((f[1].observed, f[1].limit), (111.0, 110.0));
    let off = QualitySettings {
        range_tolerance: -1.0,
        ..Default::default()
    };
    assert!(check_range(&outside, &ranges, &off).is_empty());
}

#[test]
fn duplicate_keys_when_declared() {
    let none = QualitySettings::default();
    let t = table(vec![
        (
            "id",
            Column::Numeric(vec![1.0, 2.0, 2.0, 0.0, -0.0, f64::NAN, f64::NAN]),
        ),
        (
            "tail",
            Column::Categorical(CategoricalColumn::from_values([
                Some("N1"),
                Some("N2"),
                Some("N1"),
                None,
                None,
                Some("N3"),
                Some("N4"),
            ])),
        ),
    ]);
    assert!(check_duplicates(&t, &none).is_empty());
    let by_id = QualitySettings {
        key_column: Some("id".into()),
        ..Default::default()
    };
    let f = check_duplicates(&t, &by_id);
    assert_eq!(f[0].observed, 2.0, "{f:?}");
    assert_eq!(f[0].severity, Severity::Fail);
    let by_tail = QualitySettings {
        key_column: Some("tail".into()),
        ..Default::default()
    };
    let f = check_duplicates(&t, &by_tail);
    assert_eq!(f[0].observed, 1.0);
    assert!(f[0].message.contains("N1"), "{}", f[0]);
    let absent = QualitySettings {
        key_column: Some("nope".into()),
        ..Default::default()
    };
    assert_eq!(check_duplicates(&t, &absent)[0].severity, Severity::Fail);
}

#[test]
fn gate_orders_fails_first_and_overrides_apply() {
    let defaults = QualitySettings::default();
    let s = defaults.with(&QualityOverrides {
        min_rows: Some(10),
        max_missing_share: Some(0.0),
        ..Default::default()
    });
    assert_eq!(s.min_rows, 10);
    assert_eq!(s.history_runs, defaults.history_runs);
    let t = table(vec![("a", Column::Numeric(vec![f64::NAN, 1.0]))]);
    let f = run_checks(&t, &GateInput::default(), &s);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].check, Check::RowCount);
    assert!(fails(&f));
    assert!(summary(&f).starts_with("fail row_count"), "{}", summary(&f));
    assert!(!fails(&f[1..]));
    assert!(QualitySettings::default().validate().is_ok());
    let bad = QualitySettings {
        max_missing_share: 1.5,
        ..Default::default()
    };
    assert!(bad.validate().unwrap_err().contains("max_missing_share"));
    for c in [Check::RowCount, Check::WindowCoverage, Check::DuplicateKeys] {
        assert_eq!(Check::parse(c.as_str()), Some(c));
    }
}
