//! Errors, never silent zeros, and the small API contracts (README, Design §6).

use driftdeck::engine::{
    Binning, CategoricalColumn, Column, ColumnSpec, EngineError, EngineOptions, Kind, Side, Table,
    build_profile, compare, evaluate,
};
use driftdeck::store::ColumnRole;

fn num(name: &str, v: Vec<f64>) -> (String, Column) {
    (name.to_string(), Column::Numeric(v))
}

fn cat(name: &str, v: &[Option<&str>]) -> (String, Column) {
    (
        name.to_string(),
        Column::Categorical(CategoricalColumn::from_values(v.iter().copied())),
    )
}

fn table(cols: Vec<(String, Column)>) -> Table {
    let rows = cols.first().map_or(0, |c| c.1.len());
    let (names, columns) = cols.into_iter().unzip();
    Table {
        names,
        columns,
        rows,
    }
}

fn score() -> Vec<ColumnSpec> {
    vec![ColumnSpec::numeric("score", ColumnRole::Score, 10)]
}

fn opts() -> EngineOptions {
    EngineOptions::default()
}

#[test]
fn empty_current_is_an_error() {
    let b = table(vec![num("score", vec![1.0, 2.0])]);
    let c = table(vec![num("score", vec![])]);
    assert_eq!(
        compare(&b, &c, &score(), &opts()),
        Err(EngineError::EmptyCurrent)
    );
    let p = build_profile(&b, &score(), &opts(), "").expect("profile");
    assert_eq!(evaluate(&p, &c), Err(EngineError::EmptyCurrent));
}

#[test]
fn empty_benchmark_is_an_error() {
    let b = table(vec![num("score", vec![])]);
    assert_eq!(
        build_profile(&b, &score(), &opts(), ""),
        Err(EngineError::EmptyBenchmark)
    );
}

#[test]
fn all_missing_benchmark_column_is_an_error() {
    let b = table(vec![num("score", vec![f64::NAN; 3])]);
    let c = table(vec![num("score", vec![1.0])]);
    assert!(matches!(
        compare(&b, &c, &score(), &opts()),
        Err(EngineError::AllMissingBenchmark { column }) if column == "score"
    ));
}

#[test]
fn unknown_column_names_the_side() {
    let b = table(vec![num("score", vec![1.0, 2.0])]);
    let c = table(vec![num("other", vec![1.0])]);
    let err = compare(&b, &c, &score(), &opts()).expect_err("unknown");
    assert_eq!(
        err,
        EngineError::UnknownColumn {
            column: "score".into(),
            side: Side::Current
        }
    );
    assert!(err.to_string().contains("current"), "{err}");
    let err = compare(&c, &b, &score(), &opts()).expect_err("unknown");
    assert!(matches!(
        err,
        EngineError::UnknownColumn {
            side: Side::Benchmark,
            ..
        }
    ));
}

#[test]
fn kind_mismatch_is_an_error() {
    let b = table(vec![cat("score", &[Some("a")])]);
    let err = build_profile(&b, &score(), &opts(), "").expect_err("mismatch");
    assert!(matches!(
        err,
        EngineError::KindMismatch {
            expected: Kind::Numeric,
            found: Kind::Categorical,
            side: Side::Benchmark,
            ..
        }
    ));
    // Same name, other kind in the current population.
    let b = table(vec![num("score", vec![1.0])]);
    let c = table(vec![cat("score", &[Some("1")])]);
    assert!(matches!(
        compare(&b, &c, &score(), &opts()),
        Err(EngineError::KindMismatch {
            side: Side::Current,
            ..
        })
    ));
}

#[test]
fn invalid_binning_and_options_are_errors() {
    let b = table(vec![num("score", vec![1.0, 2.0])]);
    for binning in [
        Binning::Quantile { bins: 0 },
        Binning::EqualWidth { bins: 0 },
        Binning::Fixed {
            edges: vec![2.0, 1.0],
        },
        Binning::Fixed {
            edges: vec![1.0, 1.0],
        },
        Binning::Fixed {
            edges: vec![f64::NAN],
        },
        Binning::Fixed { edges: vec![] },
    ] {
        let spec = ColumnSpec {
            binning: binning.clone(),
            ..ColumnSpec::numeric("score", ColumnRole::Score, 10)
        };
        assert!(
            matches!(
                build_profile(&b, &[spec], &opts(), ""),
                Err(EngineError::InvalidBinning { .. })
            ),
            "{binning:?}"
        );
    }
    for eps in [0.0, -1.0, f64::NAN, 1.0] {
        assert!(matches!(
            build_profile(&b, &score(), &EngineOptions { eps }, ""),
            Err(EngineError::InvalidOptions { .. })
        ));
    }
    assert_eq!(
        build_profile(&b, &[], &opts(), ""),
        Err(EngineError::NoColumns)
    );
    let twice = [score(), score()].concat();
    assert!(matches!(
        build_profile(&b, &twice, &opts(), ""),
        Err(EngineError::DuplicateColumn { .. })
    ));
}

#[test]
fn infinite_benchmark_values_and_ragged_tables_are_errors() {
    let b = table(vec![num("score", vec![1.0, f64::INFINITY])]);
    assert!(matches!(
        build_profile(&b, &score(), &opts(), ""),
        Err(EngineError::NonFiniteBenchmark { .. })
    ));
    let mut b = table(vec![num("score", vec![1.0, 2.0])]);
    b.rows = 3;
    assert!(matches!(
        build_profile(&b, &score(), &opts(), ""),
        Err(EngineError::RaggedTable {
            len: 2,
            rows: 3,
            ..
        })
    ));
}

#[test]
fn corrupt_profile_is_rejected() {
    let b = table(vec![num("score", (0..100).map(f64::from).collect())]);
    let good = build_profile(&b, &score(), &opts(), "sha").expect("profile");
    let c = table(vec![num("score", vec![5.0])]);

    let mut p = good.clone();
    p.columns[0].expected_counts[0] += 1;
    assert!(matches!(
        evaluate(&p, &c),
        Err(EngineError::InvalidProfile { .. })
    ));
    let mut p = good.clone();
    p.columns[0].edges.swap(0, 1);
    assert!(matches!(
        evaluate(&p, &c),
        Err(EngineError::InvalidProfile { .. })
    ));
    let mut p = good.clone();
    p.columns[0].labels.pop();
    assert!(matches!(
        evaluate(&p, &c),
        Err(EngineError::InvalidProfile { .. })
    ));
    let mut p = good;
    p.rows = 0;
    assert_eq!(evaluate(&p, &c), Err(EngineError::EmptyBenchmark));
}

#[test]
fn fixed_and_equal_width_bins() {
    let b = table(vec![num("x", vec![0.0, 1.0, 2.0, 3.0, 4.0, f64::NAN])]);
    let c = table(vec![num("x", vec![0.5, 1.0, 9.0, f64::NAN, f64::NAN])]);
    let fixed = ColumnSpec {
        binning: Binning::Fixed {
            edges: vec![1.0, 3.0],
        },
        ..ColumnSpec::numeric("x", ColumnRole::Characteristic, 10)
    };
    let ev = compare(&b, &c, &[fixed], &opts()).expect("fixed");
    let bins = &ev.columns[0].bins;
    let labels: Vec<&str> = bins.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(
        labels,
        ["(-inf, 1.0]", "(1.0, 3.0]", "(3.0, +inf)", "missing"]
    );
    let counts: Vec<(u64, u64)> = bins
        .iter()
        .map(|b| (b.expected_count, b.actual_count))
        .collect();
    assert_eq!(counts, [(2, 2), (2, 0), (1, 1), (1, 2)]);
    // A zero current share is eps, not 0, and the index is finite.
    assert_eq!(bins[1].actual_share, 1e-4);
    assert!(ev.columns[0].index.is_finite() && ev.columns[0].index > 0.0);

    let ew = ColumnSpec {
        binning: Binning::EqualWidth { bins: 4 },
        ..ColumnSpec::numeric("x", ColumnRole::Characteristic, 10)
    };
    let p = build_profile(&b, &[ew], &opts(), "").expect("equal width");
    assert_eq!(p.columns[0].edges, vec![1.0, 2.0, 3.0]);
}

#[test]
fn categorical_unseen_and_missing_bins() {
    let b = table(vec![cat("c", &[Some("b"), Some("a"), None, Some("a")])]);
    let c = table(vec![cat("c", &[Some("z"), Some("a"), Some("y"), None])]);
    let spec = [ColumnSpec::categorical("c", ColumnRole::Characteristic)];
    let ev = compare(&b, &c, &spec, &opts()).expect("compare");
    let rows: Vec<(&str, u64, u64)> = ev.columns[0]
        .bins
        .iter()
        .map(|b| (b.label.as_str(), b.expected_count, b.actual_count))
        .collect();
    assert_eq!(
        rows,
        [
            ("a", 2, 1),
            ("b", 1, 0),
            ("unseen", 0, 2),
            ("missing", 1, 1)
        ]
    );
    // Index by hand: Σ (A − E) ln(A/E) with eps for zero shares, numpy pairwise order (n < 8:
    // sequential).
    let terms: [(f64, f64); 4] = [(0.5, 0.25), (0.25, 1e-4), (1e-4, 0.5), (0.25, 0.25)];
    let mut want = 0.0;
    for (e, a) in terms {
        want += (a - e) * (a / e).ln();
    }
    assert_eq!(ev.columns[0].index, want);
}

#[test]
fn psi_and_max_csi() {
    let b = table(vec![
        num("score", vec![1.0, 2.0, 3.0, 4.0]),
        num("f1", vec![1.0, 2.0, 3.0, 4.0]),
        cat("f2", &[Some("a"), Some("b"), Some("a"), Some("b")]),
    ]);
    let c = table(vec![
        num("score", vec![1.0, 2.0, 3.0, 4.0]),
        num("f1", vec![4.0, 4.0, 4.0, 4.0]),
        cat("f2", &[Some("a"), Some("a"), Some("a"), Some("b")]),
    ]);
    let specs = vec![
        ColumnSpec::numeric("score", ColumnRole::Score, 4),
        ColumnSpec::numeric("f1", ColumnRole::Characteristic, 4),
        ColumnSpec::categorical("f2", ColumnRole::Characteristic),
    ];
    let ev = compare(&b, &c, &specs, &opts()).expect("compare");
    assert_eq!(ev.psi(), Some(0.0));
    let (name, csi) = ev.max_csi().expect("characteristics");
    assert_eq!(name, "f1");
    assert!(csi > ev.column("f2").expect("f2").index);
    let only_score = compare(&b, &c, &specs[..1], &opts()).expect("compare");
    assert_eq!(only_score.max_csi(), None);
}
