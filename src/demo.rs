//! The bundled demo workspace: six delay models in two value streams built from the CC0 NYC
//! flights 2013 data in `assets/demo/data/` (see its PROVENANCE.md).
//!
//! `init` lays out a complete workspace: `config/` (the repository's reference configuration with
//! the workspace root set to the workspace itself), `data/` (the monthly current files), the
//! benchmark tree in the EFS layout (January rows of each model's population) with a `common/`
//! directory per value stream, and an empty SQLite results store.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::benchmarks::{BenchmarkStore, write_atomic};
use crate::config::{self, Config};
use crate::jobs::{self, JobError};

/// The reference settings file, used as the demo template.
const SETTINGS_TEMPLATE: &str = include_str!("../config/driftdeck.toml");
/// The reference model registry, used as the demo template.
const MODELS_TEMPLATE: &str = include_str!("../config/models.yaml");
/// The workspace root line of the reference settings, replaced in a generated workspace.
const ROOT_LINE: &str = "root = \"../demo-workspace\"";

/// First and last calculation dates of the demo data after the January benchmark.
pub const DEMO_FROM: &str = "2013-02-01";
/// Last calculation date of the demo data.
pub const DEMO_TO: &str = "2013-12-31";
/// Last date the console's first start computes: the story is that the nightly jobs ran until
/// the end of November, so December is there for the user to backfill.
pub const CONSOLE_HISTORY_TO: &str = "2013-11-30";

/// Errors of the demo workspace.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The workspace exists and `--force` was not given.
    #[error("{0} already holds a workspace (config/driftdeck.toml); use --force to replace it")]
    Exists(PathBuf),
    /// The bundled data could not be found.
    #[error(
        "demo data not found in {0} (set DRIFTDECK_ASSETS to the directory holding benchmark.csv and current_2013-*.csv)"
    )]
    Assets(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The generated configuration did not load (a bug in the template).
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// A job failed.
    #[error(transparent)]
    Job(#[from] JobError),
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> DemoError {
    DemoError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// `./demo-workspace`.
pub fn default_dir() -> PathBuf {
    PathBuf::from("demo-workspace")
}

/// `<dir>/config/driftdeck.toml`.
pub fn config_path(dir: &Path) -> PathBuf {
    dir.join("config").join("driftdeck.toml")
}

/// The demo data directory: `$DRIFTDECK_ASSETS`, else `assets/demo/data` of the source tree this
/// binary was built from.
pub fn assets_dir() -> PathBuf {
    std::env::var_os("DRIFTDECK_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/data"))
}

/// True when `dir` holds a generated workspace (config and store present).
pub fn is_initialized(dir: &Path) -> bool {
    config_path(dir).is_file() && dir.join("driftdeck.sqlite").is_file()
}

/// Creates the demo workspace in `dir`, reporting steps through `progress`.
///
/// # Errors
/// [`DemoError::Exists`] without `force`, missing assets, or I/O errors naming the file.
/// With `force`, only what `init` creates is replaced (config, data, benchmarks, store, logs).
pub fn init(
    dir: &Path,
    force: bool,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<PathBuf, DemoError> {
    let assets = assets_dir();
    if !assets.join("benchmark.csv").is_file() {
        return Err(DemoError::Assets(assets));
    }
    if config_path(dir).exists() {
        if !force {
            return Err(DemoError::Exists(dir.to_path_buf()));
        }
        for sub in [
            "config",
            "data",
            "benchmarks",
            "logs",
            "outbox",
            "refresh",
            "quarantine",
            "late",
        ] {
            let p = dir.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p).map_err(|e| io_err(&p, e))?;
            }
        }
        for f in [
            "driftdeck.sqlite",
            "driftdeck.sqlite-wal",
            "driftdeck.sqlite-shm",
        ] {
            let p = dir.join(f);
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
            }
        }
    }
    let config_dir = dir.join("config");
    std::fs::create_dir_all(&config_dir).map_err(|e| io_err(&config_dir, e))?;
    progress(&format!("[1/4] configuration in {}", config_dir.display()));
    let settings = SETTINGS_TEMPLATE.replacen(ROOT_LINE, "root = \"..\"", 1);
    write_atomic(&config_dir.join("driftdeck.toml"), settings.as_bytes())
        .map_err(|e| io_err(&config_dir, e))?;
    write_atomic(&config_dir.join("models.yaml"), MODELS_TEMPLATE.as_bytes())
        .map_err(|e| io_err(&config_dir, e))?;

    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(|e| io_err(&data, e))?;
    progress("[2/4] current data (NYC flights 2013, CC0)");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&assets)
        .map_err(|e| io_err(&assets, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("current_") && n.ends_with(".csv"))
        })
        .collect();
    entries.sort();
    for src in &entries {
        if let Some(name) = src.file_name() {
            let dst = data.join(name);
            std::fs::copy(src, &dst).map_err(|e| io_err(&dst, e))?;
        }
    }
    // January is the benchmark period; the trailing windows of early February reach into it.
    let january = data.join("current_2013-01.csv");
    std::fs::copy(assets.join("benchmark.csv"), &january).map_err(|e| io_err(&january, e))?;
    let provenance = assets.join("PROVENANCE.md");
    if provenance.is_file() {
        let dst = data.join("PROVENANCE.md");
        std::fs::copy(&provenance, &dst).map_err(|e| io_err(&dst, e))?;
    }

    let no_env = |_: &str| None;
    let config = config::load_from(&config_path(dir), &no_env)?;
    progress(&format!(
        "[3/4] benchmarks (January 2013) for {} models in {}",
        config.models.len(),
        config.settings.benchmarks.root().display()
    ));
    write_benchmarks(&config, &assets.join("benchmark.csv"))?;
    write_extracts(&config, &assets.join("current_2013-12.csv"))?;
    write_feeds(&config, &data)?;

    progress("[4/4] results store");
    crate::wiring::Backends::open(&config).map_err(|e| io_err(&config.settings_path, e))?;
    if let Some(d) = config.settings.orchestrator.log_dir() {
        std::fs::create_dir_all(d).map_err(|e| io_err(d, e))?;
    }
    Ok(dir.to_path_buf())
}

/// Cuts each model's population out of the January file (by its `current.filter`) into its
/// benchmark path, and writes one `common/shared_data.csv` per value stream.
fn write_benchmarks(config: &Config, source: &Path) -> Result<(), DemoError> {
    let mut reader = csv::Reader::from_path(source).map_err(|e| io_err(source, e))?;
    let headers = reader.headers().map_err(|e| io_err(source, e))?.clone();
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| io_err(source, e))?;
    let benchmarks = crate::wiring::local_benchmark_store(config);
    let mut common: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for model in &config.models {
        let filters: Vec<(usize, &Vec<String>)> = model
            .current
            .filter
            .iter()
            .map(|(col, vals)| {
                headers
                    .iter()
                    .position(|h| h == col)
                    .map(|i| (i, &vals.0))
                    .ok_or_else(|| {
                        io_err(source, format!("no column {col:?} for model {}", model.id))
                    })
            })
            .collect::<Result<_, _>>()?;
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(&headers).map_err(|e| io_err(source, e))?;
        let mut n = 0usize;
        for row in &rows {
            if filters
                .iter()
                .all(|(i, vals)| row.get(*i).is_some_and(|v| vals.iter().any(|x| x == v)))
            {
                out.write_record(row).map_err(|e| io_err(source, e))?;
                n += 1;
            }
        }
        let bytes = out.into_inner().map_err(|e| io_err(source, e))?;
        benchmarks
            .write_benchmark(&model.value_stream, &model.id, &bytes)
            .map_err(|e| io_err(source, e))?;
        let filter_text: Vec<String> = model
            .current
            .filter
            .iter()
            .map(|(c, v)| format!("{c} in {}", v.0.join("|")))
            .collect();
        common
            .entry(model.value_stream.to_string())
            .or_default()
            .push(format!("{},{},{}", model.id, n, filter_text.join(" and ")));
    }
    for model in &config.models {
        let Some(lines) = common.remove(model.value_stream.as_str()) else {
            continue;
        };
        let dir = benchmarks.common_dir(&model.value_stream);
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let path = dir.join("shared_data.csv");
        let mut text = String::from("model_id,benchmark_rows,population\n");
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        write_atomic(&path, text.as_bytes()).map_err(|e| io_err(&path, e))?;
    }
    Ok(())
}

/// The model whose demo refresh extract arrives damaged (see `PROVENANCE.md`).
pub const BROKEN_EXTRACT_MODEL: &str = "regional_delay";

/// Writes each model's refresh extract (`data/extracts/<id>.csv`: the December population cut by
/// the model's filter, as an upstream job would drop it) and each value stream's shared-data
/// extract. The extract of [`BROKEN_EXTRACT_MODEL`] is damaged: every 20th row's score is the
/// text `n/a` and the last line is cut in the middle, so its refresh quarantines ~5 % of the
/// rows and is rejected.
fn write_extracts(config: &Config, source: &Path) -> Result<(), DemoError> {
    let mut reader = csv::Reader::from_path(source).map_err(|e| io_err(source, e))?;
    let headers = reader.headers().map_err(|e| io_err(source, e))?.clone();
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| io_err(source, e))?;
    let dir = config.workspace_root.join("data").join("extracts");
    let score = headers.iter().position(|h| h == "score");
    let mut shared: std::collections::BTreeMap<String, String> = Default::default();
    for model in &config.models {
        let filters: Vec<(usize, &Vec<String>)> = model
            .current
            .filter
            .iter()
            .filter_map(|(col, vals)| headers.iter().position(|h| h == col).map(|i| (i, &vals.0)))
            .collect();
        let broken = model.id.as_str() == BROKEN_EXTRACT_MODEL;
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(&headers).map_err(|e| io_err(source, e))?;
        let mut n = 0usize;
        for row in &rows {
            if !filters
                .iter()
                .all(|(i, vals)| row.get(*i).is_some_and(|v| vals.iter().any(|x| x == v)))
            {
                continue;
            }
            n += 1;
            if broken && n.is_multiple_of(20) {
                let mut damaged: Vec<&str> = row.iter().collect();
                if let Some(i) = score {
                    damaged[i] = "n/a";
                }
                out.write_record(&damaged).map_err(|e| io_err(source, e))?;
            } else {
                out.write_record(row).map_err(|e| io_err(source, e))?;
            }
        }
        let mut bytes = out.into_inner().map_err(|e| io_err(source, e))?;
        if broken {
            // The transfer stopped in the middle of the last line.
            let keep = bytes.len().saturating_sub(40);
            bytes.truncate(keep);
        }
        let path = dir.join(format!("{}.csv", model.id));
        write_atomic(&path, &bytes).map_err(|e| io_err(&path, e))?;
        shared
            .entry(model.value_stream.to_string())
            .or_insert_with(|| "model_id,benchmark_rows,population\n".to_string())
            .push_str(&format!("{},{},December 2013 extract\n", model.id, n));
    }
    for (vs, text) in shared {
        let path = dir.join(format!("{vs}_shared_data.csv"));
        write_atomic(&path, text.as_bytes()).map_err(|e| io_err(&path, e))?;
    }
    Ok(())
}

/// The model whose November feed arrives truncated: its 2013-11-30 run fails after its retries.
pub const TRUNCATED_FEED_MODEL: &str = "lowcost_delay";
/// The model whose November feed lacks one day (2013-11-28): a `window_coverage` warning.
pub const SHORT_DAY_FEED_MODEL: &str = "legacy_delay";
/// The day missing from [`SHORT_DAY_FEED_MODEL`]'s feed.
pub const SHORT_DAY: &str = "2013-11-28";
/// The model whose November feed holds a handful of unreadable rows (quarantined).
pub const QUARANTINE_FEED_MODEL: &str = "regional_delay";
/// The month whose feeds are damaged.
pub const DAMAGED_MONTH: &str = "2013-11";
/// Where the complete re-delivery of the truncated feed "arrives", relative to the workspace:
/// `late/<model>/current_2013-11.csv` (the README's on-call tour copies it over the feed).
pub fn late_feed_path(workspace: &Path) -> PathBuf {
    workspace
        .join("late")
        .join(TRUNCATED_FEED_MODEL)
        .join(format!("current_{DAMAGED_MONTH}.csv"))
}

/// Writes the per-model daily feeds: for each model whose `current.path` lies under
/// `data/feeds/`, each monthly file of `data/` cut by the model's filter and ordered by
/// `flight_date` (as an upstream job would deliver it), to the model's path with `{month}`
/// filled in. The November feeds are damaged as documented in `PROVENANCE.md` ("Damage made on
/// purpose: the on-call story"); the complete November feed of [`TRUNCATED_FEED_MODEL`] is
/// written to [`late_feed_path`].
fn write_feeds(config: &Config, data: &Path) -> Result<(), DemoError> {
    let feeds: Vec<&crate::config::ModelConfig> = config
        .models
        .iter()
        .filter(|m| m.current.path.contains("data/feeds/") && m.current.path.contains("{month}"))
        .collect();
    if feeds.is_empty() {
        return Ok(());
    }
    let mut months: Vec<PathBuf> = std::fs::read_dir(data)
        .map_err(|e| io_err(data, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("current_") && n.ends_with(".csv"))
        })
        .collect();
    months.sort();
    for source in &months {
        let Some(month) = source
            .file_stem()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("current_"))
        else {
            continue;
        };
        let mut reader = csv::Reader::from_path(source).map_err(|e| io_err(source, e))?;
        let headers = reader.headers().map_err(|e| io_err(source, e))?.clone();
        let mut rows: Vec<csv::StringRecord> = reader
            .records()
            .collect::<Result<_, _>>()
            .map_err(|e| io_err(source, e))?;
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| io_err(source, format!("no column {name:?}")))
        };
        let date_col = col("flight_date")?;
        let id_col = col("flight_id")?;
        let temp_col = col("temp")?;
        // Delivery order: by day, then by flight id.
        rows.sort_by(|a, b| {
            (
                a.get(date_col),
                a.get(id_col).and_then(|v| v.parse::<u64>().ok()),
            )
                .cmp(&(
                    b.get(date_col),
                    b.get(id_col).and_then(|v| v.parse::<u64>().ok()),
                ))
        });
        for model in &feeds {
            let filters: Vec<(usize, &Vec<String>)> = model
                .current
                .filter
                .iter()
                .map(|(c, vals)| col(c).map(|i| (i, &vals.0)))
                .collect::<Result<_, _>>()?;
            let kept = rows.iter().filter(|row| {
                filters
                    .iter()
                    .all(|(i, vals)| row.get(*i).is_some_and(|v| vals.iter().any(|x| x == v)))
            });
            let damaged = month == DAMAGED_MONTH;
            let id = model.id.as_str();
            // Flexible: one damaged line has a field too many.
            let mut out = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(Vec::new());
            out.write_record(&headers).map_err(|e| io_err(source, e))?;
            let mut late = csv::Writer::from_writer(Vec::new());
            late.write_record(&headers).map_err(|e| io_err(source, e))?;
            // Byte length of the feed up to the end of the last row before 2013-11-30.
            let mut before_last_day = 0usize;
            let mut unreadable = 0usize;
            for row in kept {
                let day = row.get(date_col).unwrap_or_default();
                if damaged && id == TRUNCATED_FEED_MODEL {
                    late.write_record(row).map_err(|e| io_err(source, e))?;
                }
                if damaged && id == SHORT_DAY_FEED_MODEL && day == SHORT_DAY {
                    continue;
                }
                if damaged && id == QUARANTINE_FEED_MODEL && day >= "2013-11-20" && unreadable < 6 {
                    unreadable += 1;
                    let mut bad: Vec<String> = row.iter().map(str::to_string).collect();
                    if unreadable == 6 {
                        // One line with a field too many (an unescaped comma upstream).
                        bad.insert(temp_col, "38".into());
                    } else {
                        // ASOS's own code for a missing observation, in a numeric column.
                        bad[temp_col] = "M".into();
                    }
                    out.write_record(&bad).map_err(|e| io_err(source, e))?;
                    continue;
                }
                out.write_record(row).map_err(|e| io_err(source, e))?;
                if day < "2013-11-30" {
                    out.flush().map_err(|e| io_err(source, e))?;
                    before_last_day = out.get_ref().len();
                }
            }
            let mut bytes = out.into_inner().map_err(|e| io_err(source, e))?;
            if damaged && id == TRUNCATED_FEED_MODEL {
                // The transfer stopped after the last row of 2013-11-29: the 30th is missing.
                bytes.truncate(before_last_day);
                let late_bytes = late.into_inner().map_err(|e| io_err(source, e))?;
                let path = late_feed_path(&config.workspace_root);
                write_atomic(&path, &late_bytes).map_err(|e| io_err(&path, e))?;
            }
            let path = PathBuf::from(model.current.path.replace("{month}", month));
            write_atomic(&path, &bytes).map_err(|e| io_err(&path, e))?;
        }
    }
    Ok(())
}

/// Creates the workspace if needed, backfills the whole demo year and prints the drift summary
/// and the models table to stdout.
///
/// # Errors
/// Those of [`init`] and of the backfill.
pub fn run(dir: &Path, progress: &(dyn Fn(&str) + Sync)) -> Result<(), DemoError> {
    if !is_initialized(dir) {
        init(dir, false, progress)?;
    }
    let ws = jobs::setup::Workspace::open(Some(&config_path(dir)))?;
    backfill_year(&ws, None, progress)?;
    let (from, to) = demo_range();
    let refs = ws.model_refs();
    let summary = jobs::report::period_summary(ws.ctx.store.as_ref(), &refs, from, to)
        .map_err(JobError::from)?;
    let rows = jobs::report::status_rows(ws.ctx.store.as_ref(), &refs).map_err(JobError::from)?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "PSI per model, {from} .. {to} (daily, against January 2013):"
    );
    let _ = write!(out, "{}", jobs::report::render_summary(&summary));
    let _ = writeln!(out, "\nLatest results:");
    let _ = write!(out, "{}", jobs::report::render_status(&rows));
    Ok(())
}

/// The console's first-start history end (see [`CONSOLE_HISTORY_TO`]).
pub fn console_history_to() -> NaiveDate {
    parse_const(CONSOLE_HISTORY_TO)
}

/// The demo calculation range.
pub fn demo_range() -> (NaiveDate, NaiveDate) {
    (parse_const(DEMO_FROM), parse_const(DEMO_TO))
}

fn parse_const(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

/// Backfills the missing dates of the demo year up to `to` (default: 2013-12-31) for every model
/// with the configured number of attempts but no wait between them (the demo history records
/// every attempt of a failed run without sleeping the retry delay).
///
/// # Errors
/// Planning errors; per-run failures are reported through `progress`.
pub fn backfill_year(
    ws: &jobs::setup::Workspace,
    to: Option<NaiveDate>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<jobs::backfill::BackfillSummary, DemoError> {
    let (from, last) = demo_range();
    let to = to.unwrap_or(last);
    let mut ctx = ws.ctx.clone();
    ctx.retry = jobs::RetryPolicy::new(ctx.retry.attempts, 0.0);
    let models: Vec<&jobs::ModelJob> = ws.jobs.iter().collect();
    let options = jobs::backfill::BackfillOptions {
        from,
        to,
        only_missing: true,
        concurrency: ws.concurrency,
        triggered_by: "demo".into(),
        run_id_prefix: Some("demo".into()),
        log_path: None,
        large: false,
    };
    let step = std::sync::atomic::AtomicUsize::new(0);
    let summary = jobs::backfill::backfill(&ctx, &models, &options, &|done, total| {
        let pct = done * 100 / total.max(1);
        if pct / 10 > step.load(std::sync::atomic::Ordering::Relaxed) || done == total {
            step.store(pct / 10, std::sync::atomic::Ordering::Relaxed);
            progress(&format!(
                "backfill {from}..{to}: {done}/{total} runs ({pct}%)"
            ));
        }
    })?;
    for (model, date, error) in &summary.failures {
        progress(&format!("FAILED {model} {date}: {error}"));
    }
    Ok(summary)
}
