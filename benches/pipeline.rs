//! End-to-end throughput: files → sources (arrow-rs) → engine, and a year of demo backfill.
//!
//! - `pipeline/parquet_end_to_end`, `pipeline/csv_end_to_end`: read `benchmark` and `current`
//!   (Parquet or CSV, every column but `y`, kinds inferred) with [`read_table`] and run
//!   [`compare`]; throughput in cells (rows × columns, both sides), comparable to the numpy peer's
//!   read + compute. Data: `DRIFTDECK_BENCH_DATA` (output of `shared/peers/gen_synthetic.py`);
//!   skipped when unset.
//! - `pipeline/demo_backfill_year`: the demo estate (6 models) backfilled for 2013-02-01..12-31
//!   (2,004 runs: current windows read, binned against the frozen profiles, stored in SQLite).
//!
//! `benches/compare_peers.sh` runs these next to the numpy peer and prints the ratios.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use driftdeck::engine::{Column, ColumnSpec, EngineOptions, compare};
use driftdeck::sources::read_table;
use driftdeck::store::ColumnRole;

fn specs_of(table: &driftdeck::engine::Table) -> Vec<ColumnSpec> {
    table
        .names
        .iter()
        .zip(&table.columns)
        .filter(|(n, _)| n.as_str() != "y")
        .map(|(n, c)| match c {
            Column::Numeric(_) => ColumnSpec::numeric(n.clone(), ColumnRole::Characteristic, 10),
            Column::Categorical(_) => {
                ColumnSpec::categorical(n.clone(), ColumnRole::Characteristic)
            }
        })
        .collect()
}

fn end_to_end(dir: &Path, ext: &str) -> f64 {
    let bench = read_table(&dir.join(format!("benchmark.{ext}")), None).expect("benchmark");
    let curr = read_table(&dir.join(format!("current.{ext}")), None).expect("current");
    let specs = specs_of(&bench);
    let eval = compare(&bench, &curr, &specs, &EngineOptions::default()).expect("compare");
    eval.columns.iter().map(|c| c.index).sum()
}

fn files(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("DRIFTDECK_BENCH_DATA").map(PathBuf::from) else {
        eprintln!("pipeline: DRIFTDECK_BENCH_DATA unset; file benchmarks skipped");
        return;
    };
    let probe = read_table(&dir.join("benchmark.parquet"), None).expect("benchmark.parquet");
    let cols = probe.names.iter().filter(|n| n.as_str() != "y").count() as u64;
    let rows_c = read_table(&dir.join("current.parquet"), None)
        .expect("current.parquet")
        .rows as u64;
    let cells = (probe.rows as u64 + rows_c) * cols;
    eprintln!("pipeline cells both sides {cells}");
    drop(probe);
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(cells));
    g.bench_function("parquet_end_to_end", |b| {
        b.iter(|| end_to_end(&dir, "parquet"))
    });
    g.bench_function("csv_end_to_end", |b| b.iter(|| end_to_end(&dir, "csv")));
    g.finish();
}

fn demo_year(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ws");
    driftdeck::demo::init(&dir, false, &|_| {}).expect("demo init");
    let ws = driftdeck::jobs::setup::Workspace::open(Some(&driftdeck::demo::config_path(&dir)))
        .expect("workspace");
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.bench_function("demo_backfill_year", |b| {
        b.iter(|| {
            let (from, to) = driftdeck::demo::demo_range();
            let models: Vec<&driftdeck::jobs::ModelJob> = ws.jobs.iter().collect();
            let options = driftdeck::jobs::backfill::BackfillOptions {
                from,
                to,
                only_missing: false,
                concurrency: ws.concurrency,
                triggered_by: "bench".into(),
                run_id_prefix: None,
                log_path: None,
                large: false,
            };
            let s = driftdeck::jobs::backfill::backfill(&ws.ctx, &models, &options, &|_, _| {})
                .expect("backfill");
            assert_eq!(s.failures.len(), 0);
            s.outcomes.len()
        })
    });
    g.finish();
}

criterion_group!(benches, files, demo_year);
criterion_main!(benches);
