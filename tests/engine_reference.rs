//! Cross-check against the oracle `shared/peers/psi_reference.py` on the demo data: PSI equal to
//! 1e-9 relative, edges bit-for-bit, bin labels and counts identical. Fixtures and the exact
//! commands that produced them: tests/fixtures/reference/README.md.

mod common;

use common::{CATEGORICAL, Csv, numeric_columns, repo};
use driftdeck::engine::{
    BenchmarkProfile, ColumnSpec, EngineOptions, Evaluation, Kind, build_profile, compare, evaluate,
};
use driftdeck::store::ColumnRole;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Fixture {
    case: String,
    current_file: String,
    flight_date: Option<String>,
    filter: Option<String>,
    rows_benchmark: u64,
    rows_current: u64,
    columns: BTreeMap<String, RefColumn>,
}

#[derive(Deserialize)]
struct RefColumn {
    kind: Kind,
    psi: f64,
    edges: Vec<String>,
    bins: Vec<(String, u64, u64)>,
}

const CASES: &[&str] = &[
    "month_2013-02",
    "month_2013-06",
    "month_2013-12",
    "month_2013-07_origin_JFK",
    "month_2013-04_carrier_UA",
    "day_2013-03-15",
    "day_2013-08-01",
    "day_2013-11-28_origin_LGA",
];

fn load_fixture(case: &str) -> Fixture {
    let path = repo().join(format!("tests/fixtures/reference/{case}.json"));
    let text = std::fs::read_to_string(&path).expect("fixture present");
    serde_json::from_str(&text).expect("fixture parses")
}

fn specs_for(fx: &Fixture) -> Vec<ColumnSpec> {
    fx.columns
        .iter()
        .map(|(name, c)| {
            let role = if name == "score" {
                ColumnRole::Score
            } else {
                ColumnRole::Characteristic
            };
            match c.kind {
                Kind::Numeric => ColumnSpec::numeric(name.clone(), role, 10),
                Kind::Categorical => ColumnSpec::categorical(name.clone(), role),
            }
        })
        .collect()
}

fn check(fx: &Fixture, ev: &Evaluation, profile: &BenchmarkProfile) {
    assert_eq!(ev.rows_benchmark, fx.rows_benchmark, "{}", fx.case);
    assert_eq!(ev.rows_current, fx.rows_current, "{}", fx.case);
    assert_eq!(ev.columns.len(), fx.columns.len(), "{}", fx.case);
    for (name, want) in &fx.columns {
        let got = ev.column(name).expect("column scored");
        let ctx = format!("{} / {name}", fx.case);
        assert_eq!(got.kind, want.kind, "{ctx}");
        let rel = (got.index - want.psi).abs() / want.psi.abs().max(f64::MIN_POSITIVE);
        if std::env::var_os("ENGINE_REFERENCE_VERBOSE").is_some() {
            eprintln!("{ctx}: rel {rel:e} bit-equal {}", got.index == want.psi);
        }
        assert!(
            rel <= 1e-9,
            "{ctx}: psi {} vs reference {} (rel {rel:e})",
            got.index,
            want.psi
        );
        let labels: Vec<&str> = got.bins.iter().map(|b| b.label.as_str()).collect();
        let want_labels: Vec<&str> = want.bins.iter().map(|b| b.0.as_str()).collect();
        assert_eq!(labels, want_labels, "{ctx}: labels");
        let counts: Vec<(u64, u64)> = got
            .bins
            .iter()
            .map(|b| (b.expected_count, b.actual_count))
            .collect();
        let want_counts: Vec<(u64, u64)> = want.bins.iter().map(|b| (b.1, b.2)).collect();
        assert_eq!(counts, want_counts, "{ctx}: counts");
        let edges: Vec<u64> = profile
            .column(name)
            .expect("profiled")
            .edges
            .iter()
            .map(|e| e.to_bits())
            .collect();
        let want_edges: Vec<u64> = want
            .edges
            .iter()
            .map(|e| e.parse::<f64>().expect("edge").to_bits())
            .collect();
        assert_eq!(edges, want_edges, "{ctx}: edges");
    }
}

#[test]
fn engine_matches_psi_reference_on_demo_data() {
    let data = repo().join("assets/demo/data");
    let bench_csv = Csv::read(&data.join("benchmark.csv"));
    let numeric = numeric_columns(&bench_csv);
    let opts = EngineOptions::default();
    for case in CASES {
        let fx = load_fixture(case);
        let file = repo().join(&fx.current_file);
        let mut cur_csv = Csv::read(&file);
        let mut bench = bench_csv.clone();
        if let Some(day) = &fx.flight_date {
            cur_csv = cur_csv.filter("flight_date", day);
        }
        if let Some(f) = &fx.filter {
            let (col, val) = f.split_once('=').expect("COL=VAL");
            cur_csv = cur_csv.filter(col, val);
            bench = bench.filter(col, val);
        }
        let b = bench.table(&numeric, CATEGORICAL);
        let c = cur_csv.table(&numeric, CATEGORICAL);
        let specs = specs_for(&fx);
        assert_eq!(specs.len(), numeric.len() + CATEGORICAL.len(), "{case}");

        // Ad-hoc path.
        let ev = compare(&b, &c, &specs, &opts).expect("compare");
        let profile = build_profile(&b, &specs, &opts, "test").expect("profile");
        check(&fx, &ev, &profile);

        // Frozen path through benchmark.profile.json: identical results.
        let json = serde_json::to_string_pretty(&profile).expect("serialise");
        let frozen: BenchmarkProfile = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(frozen, profile, "{case}: profile JSON round trip");
        let ev2 = evaluate(&frozen, &c).expect("evaluate");
        assert_eq!(ev2, ev, "{case}: frozen path");
        assert_eq!(
            ev.psi(),
            ev.column("score").map(|c| c.index),
            "{case}: psi()"
        );
    }
}
