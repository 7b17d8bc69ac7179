//! Property tests of the PSI/CSI definition (README, Design §6) through the public API.

use driftdeck::engine::{
    CategoricalColumn, Column, ColumnSpec, EngineOptions, Table, build_profile, compare, evaluate,
};
use driftdeck::store::ColumnRole;
use proptest::prelude::*;

/// Numeric values with ties, missing values and a wide range.
fn numeric_values(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            4 => -1e3f64..1e3,
            3 => (0i32..4).prop_map(f64::from),
            1 => Just(f64::NAN),
        ],
        1..max,
    )
}

/// Categorical values over a few levels with missing ones.
fn level_values(max: usize) -> impl Strategy<Value = Vec<Option<u8>>> {
    prop::collection::vec(prop::option::weighted(0.9, 0u8..6), 1..max)
}

fn table(num: &[f64], cat: &[Option<u8>]) -> Table {
    let names = ["a", "b", "c", "d", "e", "f"];
    let rows = num.len().min(cat.len());
    Table {
        names: vec!["score".into(), "cat".into()],
        columns: vec![
            Column::Numeric(num[..rows].to_vec()),
            Column::Categorical(CategoricalColumn::from_values(
                cat[..rows].iter().map(|c| c.map(|i| names[i as usize])),
            )),
        ],
        rows,
    }
}

fn specs(bins: usize) -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::numeric("score", ColumnRole::Score, bins),
        ColumnSpec::categorical("cat", ColumnRole::Characteristic),
    ]
}

fn has_value(v: &[f64]) -> bool {
    v.iter().any(|x| !x.is_nan())
}

proptest! {
    #[test]
    fn psi_of_a_population_against_itself_is_zero(
        num in numeric_values(300), cat in level_values(300), bins in 1usize..20,
    ) {
        prop_assume!(has_value(&num));
        let t = table(&num, &cat);
        prop_assume!(has_value(match &t.columns[0] { Column::Numeric(v) => v, _ => &num }));
        let ev = compare(&t, &t, &specs(bins), &EngineOptions::default()).expect("compare");
        for c in &ev.columns {
            prop_assert_eq!(c.index, 0.0, "{}", c.name);
        }
    }

    #[test]
    fn psi_is_non_negative_and_finite(
        bn in numeric_values(200), bc in level_values(200),
        cn in numeric_values(200), cc in level_values(200),
        bins in 1usize..15, eps in 1e-8f64..1e-2,
    ) {
        let b = table(&bn, &bc);
        prop_assume!(has_value(match &b.columns[0] { Column::Numeric(v) => v, _ => &bn }));
        let c = table(&cn, &cc);
        let ev = compare(&b, &c, &specs(bins), &EngineOptions { eps }).expect("compare");
        for col in &ev.columns {
            prop_assert!(col.index >= 0.0 && col.index.is_finite(), "{} {}", col.name, col.index);
            for bin in &col.bins {
                prop_assert!(bin.contribution >= 0.0);
            }
        }
    }

    #[test]
    fn invariant_to_row_order(
        bn in numeric_values(200), bc in level_values(200),
        cn in numeric_values(200), cc in level_values(200),
        seed in any::<u64>(),
    ) {
        let b = table(&bn, &bc);
        prop_assume!(has_value(match &b.columns[0] { Column::Numeric(v) => v, _ => &bn }));
        let c = table(&cn, &cc);
        let ev = compare(&b, &c, &specs(10), &EngineOptions::default()).expect("compare");
        // Reverse then rotate both populations.
        let permute = |n: &[f64], k: &[Option<u8>]| {
            let rows = n.len().min(k.len());
            let (mut n, mut k) = (n[..rows].to_vec(), k[..rows].to_vec());
            n.reverse();
            k.reverse();
            let r = (seed as usize) % rows;
            n.rotate_left(r);
            k.rotate_left(r);
            table(&n, &k)
        };
        let ev2 = compare(&permute(&bn, &bc), &permute(&cn, &cc), &specs(10),
            &EngineOptions::default()).expect("compare");
        prop_assert_eq!(ev, ev2);
    }

    #[test]
    fn a_missing_only_shift_is_detected(
        num in prop::collection::vec(-1e3f64..1e3, 20..300), cat in level_values(300),
        every in 2usize..6,
    ) {
        let b = table(&num, &cat);
        let rows = b.rows;
        prop_assume!(rows >= every);
        // Same values, but every `every`-th one missing in the current population.
        let shifted: Vec<f64> = num[..rows]
            .iter()
            .enumerate()
            .map(|(i, x)| if i % every == 0 { f64::NAN } else { *x })
            .collect();
        let shifted_cat: Vec<Option<u8>> = cat[..rows]
            .iter()
            .enumerate()
            .map(|(i, x)| if i % every == 0 { None } else { *x })
            .collect();
        let c = table(&shifted, &shifted_cat);
        let ev = compare(&b, &c, &specs(10), &EngineOptions::default()).expect("compare");
        prop_assert!(ev.psi().expect("psi") > 0.0);
        let cat_index = ev.column("cat").expect("cat").index;
        prop_assert!(cat_index > 0.0 || cat[..rows].iter().step_by(every).all(Option::is_none));
    }

    #[test]
    fn ties_and_constant_columns_do_not_panic(
        value in -5i32..5, rows in 1usize..200, other in prop::collection::vec(-2i32..2, 1..200),
        bins in 1usize..30,
    ) {
        let constant = vec![f64::from(value); rows];
        let cats = vec![Some(0u8); rows];
        let b = table(&constant, &cats);
        let cur: Vec<f64> = other.iter().map(|x| f64::from(*x)).collect();
        let c = table(&cur, &vec![Some(1u8); cur.len()]);
        let opts = EngineOptions::default();
        let profile = build_profile(&b, &specs(bins), &opts, "").expect("profile");
        prop_assert!(profile.columns[0].edges.len() <= 1);
        let ev = evaluate(&profile, &c).expect("evaluate");
        prop_assert!(ev.columns.iter().all(|c| c.index.is_finite() && c.index >= 0.0));
    }

    #[test]
    fn frozen_profile_equals_ad_hoc(
        bn in numeric_values(200), bc in level_values(200),
        cn in numeric_values(200), cc in level_values(200),
    ) {
        let b = table(&bn, &bc);
        prop_assume!(has_value(match &b.columns[0] { Column::Numeric(v) => v, _ => &bn }));
        let c = table(&cn, &cc);
        let opts = EngineOptions::default();
        let profile = build_profile(&b, &specs(10), &opts, "x").expect("profile");
        let json = serde_json::to_string(&profile).expect("json");
        let back = serde_json::from_str(&json).expect("parse");
        prop_assert_eq!(&profile, &back);
        prop_assert_eq!(evaluate(&back, &c).expect("evaluate"),
            compare(&b, &c, &specs(10), &opts).expect("compare"));
    }
}
