//! Results store at scale (SQLite, real files in a tempdir):
//!
//! - `store_scale/overview/365` and `/3650`: one `ResultsStore::overview` call (latest result,
//!   worst characteristic and newest attempt of every model) on `STORE_SCALE_MODELS` models
//!   (default 1,000) with 365 and 3,650 days of results each; the latest 30 days carry
//!   characteristics with bins. Its time must not grow with the history.
//! - Printed once (setup): bytes per daily result of a store where every result has 17 columns
//!   × 10 bins (the demo's shape), and the resulting size at 1,000 models × 365 days.
//!
//! `cargo bench --bench store_scale` (`STORE_SCALE_MODELS=200` for a quicker run).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use driftdeck::domain::{BinStat, RunAction, RunStatus};
use driftdeck::store::sqlite::SqliteStore;
use driftdeck::store::{CharacteristicRecord, ColumnRole, ResultRecord, ResultsStore, RunRecord};

const COLUMNS: usize = 17;
const BINS: u64 = 10;
const BIN_DAYS: i64 = 30;

fn models() -> usize {
    std::env::var("STORE_SCALE_MODELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2010, 1, 1).expect("date")
}

fn result(model: usize, date: NaiveDate, psi: f64) -> ResultRecord {
    ResultRecord {
        model_id: format!("model_{model:04}"),
        value_stream: format!("vs_{}", model % 7),
        calculation_date: date,
        psi_score: psi,
        csi_score: psi * 1.5,
        execution_time: Utc.timestamp_opt(1_300_000_000, 0).single().expect("t"),
    }
}

/// Engine-shaped columns: shares of the totals, (A − E) · ln(A / E).
fn columns(r: &ResultRecord, day: u64) -> Vec<CharacteristicRecord> {
    (0..COLUMNS)
        .map(|j| {
            let expected: Vec<u64> = (0..BINS).map(|i| 2_000 + 97 * i + j as u64).collect();
            let actual: Vec<u64> = (0..BINS)
                .map(|i| 1_500 + (i * 31 + day * 7) % 900)
                .collect();
            let te: u64 = expected.iter().sum();
            let ta: u64 = actual.iter().sum();
            let bins: Vec<BinStat> = (0..BINS as usize)
                .map(|i| {
                    let es = expected[i] as f64 / te as f64;
                    let as_ = actual[i] as f64 / ta as f64;
                    BinStat {
                        label: format!("({:.1}, {:.1}]", i as f64 * 12.5, (i + 1) as f64 * 12.5),
                        expected_count: expected[i],
                        actual_count: actual[i],
                        expected_share: es,
                        actual_share: as_,
                        contribution: (as_ - es) * (as_ / es).ln(),
                    }
                })
                .collect();
            CharacteristicRecord {
                model_id: r.model_id.clone(),
                calculation_date: r.calculation_date,
                characteristic: if j == 0 {
                    "score".to_string()
                } else {
                    format!("feature_{j:02}")
                },
                role: if j == 0 {
                    ColumnRole::Score
                } else {
                    ColumnRole::Characteristic
                },
                kind: "numeric".to_string(),
                index_value: bins.iter().map(|b| b.contribution).sum(),
                bins,
            }
        })
        .collect()
}

/// `models` × `days` results; the last [`BIN_DAYS`] with bins (through `save_result`), the
/// older ones as plain result rows in one transaction; one attempt per model.
fn build(path: &Path, models: usize, days: i64) -> SqliteStore {
    let store = SqliteStore::open(path).expect("open");
    {
        let mut raw = rusqlite::Connection::open(path).expect("raw");
        let tx = raw.transaction().expect("tx");
        {
            let mut ins = tx
                .prepare(
                    "INSERT INTO PCI_CSI_RESULTS VALUES (?1, ?2, ?3, ?4, ?5, \
                     '2013-02-01T06:00:00.000000000Z')",
                )
                .expect("prepare");
            for m in 0..models {
                for d in 0..days - BIN_DAYS {
                    let r = result(m, start() + chrono::Duration::days(d), 0.01);
                    ins.execute(rusqlite::params![
                        r.model_id,
                        r.value_stream,
                        r.calculation_date.format("%Y-%m-%d").to_string(),
                        r.psi_score,
                        r.csi_score
                    ])
                    .expect("insert");
                }
            }
        }
        tx.commit().expect("commit");
    }
    for m in 0..models {
        for d in days - BIN_DAYS..days {
            let r = result(m, start() + chrono::Duration::days(d), 0.02);
            store.save_result(&r, &columns(&r, d as u64)).expect("save");
        }
        store
            .record_attempt(&RunRecord {
                run_id: format!("run-{m}"),
                attempt: 1,
                max_attempts: 3,
                model_id: format!("model_{m:04}"),
                value_stream: format!("vs_{}", m % 7),
                calculation_date: start() + chrono::Duration::days(days - 1),
                action: RunAction::Run,
                status: RunStatus::Succeeded,
                error: None,
                started_at: Utc.timestamp_opt(1_300_000_000, 0).single().expect("t"),
                finished_at: None,
                benchmark_version: None,
                rows_benchmark: None,
                rows_current: None,
                triggered_by: "schedule".to_string(),
                log_path: None,
            })
            .expect("attempt");
    }
    store
}

fn file_bytes(path: &Path) -> u64 {
    let c = rusqlite::Connection::open(path).expect("raw");
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")
        .expect("checkpoint");
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    // Size: every result with bins (100 models × 365 days), extrapolated to 1,000 models.
    let size_path = dir.path().join("size.sqlite");
    let store = SqliteStore::open(&size_path).expect("open");
    for m in 0..100 {
        for d in 0..365 {
            let r = result(m, start() + chrono::Duration::days(d), 0.02);
            store.save_result(&r, &columns(&r, d as u64)).expect("save");
        }
    }
    drop(store);
    let bytes = file_bytes(&size_path);
    let per = bytes as f64 / 36_500.0;
    eprintln!(
        "store_scale: {bytes} bytes for 36,500 results with {COLUMNS} columns x {BINS} bins: \
         {per:.0} B per daily result; 1,000 models x 365 days = {:.0} MB",
        per * 365_000.0 / 1e6
    );

    let n = models();
    let mut g = c.benchmark_group("store_scale");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    for days in [365, 3_650] {
        let path = dir.path().join(format!("overview-{days}.sqlite"));
        let store = build(&path, n, days);
        eprintln!(
            "store_scale: {n} models x {days} days: {} MB",
            file_bytes(&path) / 1_000_000
        );
        g.bench_function(format!("overview/{days}"), |b| {
            b.iter(|| black_box(store.overview().expect("overview").len()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
