//! Engine throughput in cells/s (rows × columns), in memory, with criterion.
//!
//! Data: the directory in `DRIFTDECK_BENCH_DATA` holding `benchmark.csv` and `current.csv` as
//! written by `shared/peers/gen_synthetic.py` (column `y` skipped; a column is categorical when a
//! value does not parse as a number); without it, an in-process synthetic table of the same shape
//! (1,000,000 rows, 31 numeric columns with ties and missing values, 3 categorical columns, one
//! unseen level). `DRIFTDECK_BENCH_ROWS` changes the synthetic row count.
//!
//! - `engine/compare`: [`compare`] (benchmark edges + both sides binned); throughput counts the
//!   cells of both sides, like `psi_numpy_peer.py`.
//! - `engine/evaluate_frozen`: [`evaluate`] against a prebuilt profile (the daily path, only the
//!   current side is read); throughput counts the current side's cells only.
//!
//! `benches/compare_peers.sh` runs this next to the numpy peer and prints the ratio.

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use driftdeck::engine::{
    CategoricalColumn, Column, ColumnSpec, EngineOptions, Table, build_profile, compare, evaluate,
};
use driftdeck::store::ColumnRole;

fn read_csv(path: &Path, skip: &[&str]) -> Table {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let mut cells: Vec<Vec<&str>> = vec![Vec::new(); header.len()];
    let mut rows = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        for (i, v) in line.split(',').enumerate() {
            cells[i].push(v);
        }
        rows += 1;
    }
    let mut t = Table {
        rows,
        ..Table::default()
    };
    for (name, values) in header.iter().zip(cells) {
        if skip.contains(name) {
            continue;
        }
        let numeric: Option<Vec<f64>> = values
            .iter()
            .map(|v| {
                if v.is_empty() || *v == "nan" || *v == "NaN" {
                    Some(f64::NAN)
                } else {
                    v.parse().ok()
                }
            })
            .collect();
        let col = match numeric {
            Some(v) => Column::Numeric(v),
            None => Column::Categorical(CategoricalColumn::from_values(
                values.iter().map(|v| (!v.is_empty()).then_some(*v)),
            )),
        };
        t.names.push((*name).to_string());
        t.columns.push(col);
    }
    t
}

/// xorshift64*: deterministic, dependency-free noise for the fallback table.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn synthetic(rows: usize, current: bool, seed: u64) -> Table {
    let mut rng = Rng(seed);
    let mut t = Table {
        rows,
        ..Table::default()
    };
    let shift = if current { 0.05 } else { 0.0 };
    for j in 0..31 {
        let values = (0..rows)
            .map(|_| {
                let u = rng.next();
                if j % 5 == 4 && u < 0.05 {
                    f64::NAN
                } else if j >= 20 {
                    ((u + shift) * 6.0).floor()
                } else {
                    let z = rng.next() + rng.next() + rng.next() - 1.5 + shift;
                    10.0 * j as f64 + z * (1.0 + j as f64 / 4.0)
                }
            })
            .collect();
        t.names.push(if j == 0 {
            "score".into()
        } else {
            format!("f{j:02}")
        });
        t.columns.push(Column::Numeric(values));
    }
    for (j, k) in [5usize, 20, 50].into_iter().enumerate() {
        let levels: Vec<String> = (0..k).map(|i| format!("L{i:02}")).collect();
        let values: Vec<Option<&str>> = (0..rows)
            .map(|_| {
                let u = rng.next();
                if current && j == 2 && u < 0.002 {
                    Some("NEW")
                } else {
                    Some(levels[((u * u) * k as f64) as usize % k].as_str())
                }
            })
            .collect();
        t.names.push(format!("c{j}"));
        t.columns
            .push(Column::Categorical(CategoricalColumn::from_values(values)));
    }
    t
}

fn specs(t: &Table) -> Vec<ColumnSpec> {
    t.names
        .iter()
        .zip(&t.columns)
        .map(|(name, col)| {
            let role = if name == "score" {
                ColumnRole::Score
            } else {
                ColumnRole::Characteristic
            };
            match col {
                Column::Numeric(_) => ColumnSpec::numeric(name.clone(), role, 10),
                Column::Categorical(_) => ColumnSpec::categorical(name.clone(), role),
            }
        })
        .collect()
}

fn load() -> (Table, Table, String) {
    match std::env::var_os("DRIFTDECK_BENCH_DATA") {
        Some(dir) => {
            let dir = Path::new(&dir);
            let b = read_csv(&dir.join("benchmark.csv"), &["y"]);
            let c = read_csv(&dir.join("current.csv"), &["y"]);
            (b, c, dir.display().to_string())
        }
        None => {
            let rows = std::env::var("DRIFTDECK_BENCH_ROWS")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(1_000_000);
            (
                synthetic(rows, false, 42),
                synthetic(rows, true, 7),
                format!("in-process synthetic, {rows} rows"),
            )
        }
    }
}

fn bench(c: &mut Criterion) {
    let (bench_t, cur_t, origin) = load();
    let specs = specs(&bench_t);
    let opts = EngineOptions::default();
    let cols = specs.len() as u64;
    let cells_both = (bench_t.rows + cur_t.rows) as u64 * cols;
    let cells_current = cur_t.rows as u64 * cols;
    println!(
        "data: {origin}; benchmark {} rows, current {} rows, {cols} columns; cells both sides \
         {cells_both}, current {cells_current}",
        bench_t.rows, cur_t.rows
    );
    let profile = build_profile(&bench_t, &specs, &opts, "bench").expect("profile");
    let ev = compare(&bench_t, &cur_t, &specs, &opts).expect("compare");
    println!("psi = {:?}, max csi = {:?}", ev.psi(), ev.max_csi());

    let mut g = c.benchmark_group("engine");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(cells_both));
    g.bench_function("compare", |b| {
        b.iter(|| compare(&bench_t, &cur_t, &specs, &opts).expect("compare"))
    });
    g.throughput(Throughput::Elements(cells_current));
    g.bench_function("evaluate_frozen", |b| {
        b.iter(|| evaluate(&profile, &cur_t).expect("evaluate"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
