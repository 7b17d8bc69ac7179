//! Writes the console's scale estate (1,000 models × 365 days, fixture data) into a real SQLite
//! results store and, optionally, a matching `models.yaml`. Used by `benches/console_memory.sh`.
//! A bench target (harness = false) only so that it lives with the benches; it measures nothing.
//!
//! usage: `cargo bench --bench console_estate -- DB_PATH [MODELS_YAML
//!         [BENCHMARK [CURRENT_PATTERN]]]`
//!   BENCHMARK defaults to the demo's `benchmarks/airports/ewr_delay/benchmark.csv`,
//!   CURRENT_PATTERN to `data/current_{month}.csv` (both relative to the workspace root).

#[path = "support/estate.rs"]
mod estate;

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; everything else is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(db) = args.first() else {
        eprintln!("usage: console_estate DB_PATH [MODELS_YAML [BENCHMARK [CURRENT_PATTERN]]]");
        return ExitCode::from(2);
    };
    let started = Instant::now();
    let written = match estate::write_estate(std::path::Path::new(db), &estate::spec_1000x365()) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("console_estate: {db}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "console_estate: {db}: {} results ({} with characteristics), {} runs, {} models in {:.1} s",
        written.results,
        written.with_characteristics,
        written.runs,
        written.models.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(yaml) = args.get(1) {
        let benchmark = args.get(2).map_or(
            "benchmarks/airports/ewr_delay/benchmark.csv",
            String::as_str,
        );
        let current = args
            .get(3)
            .map_or("data/current_{month}.csv", String::as_str);
        let text = estate::models_yaml(&written.models, benchmark, current);
        if let Err(e) = std::fs::write(yaml, text) {
            eprintln!("console_estate: {yaml}: {e}");
            return ExitCode::FAILURE;
        }
        eprintln!("console_estate: {yaml}: {} models", written.models.len());
    }
    ExitCode::SUCCESS
}
