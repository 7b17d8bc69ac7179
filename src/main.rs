//! The `driftdeck` binary: CLI dispatch only.

use std::process::ExitCode;

use clap::Parser;
use color_eyre::eyre::{Result, WrapErr};

use driftdeck::cli::{Cli, Command, DemoCommand, RunArgs};
use driftdeck::{demo, domain, jobs};

fn main() -> ExitCode {
    // Plain error reports when stderr is not a terminal (job logs, CronJob logs) or NO_COLOR is set.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let theme = if colour {
        color_eyre::config::Theme::dark()
    } else {
        color_eyre::config::Theme::new()
    };
    // Panics are bugs: color-eyre's panic hook prints them with a backtrace (RUST_BACKTRACE=1).
    // Errors returned to `main` are reported by `report_error` as a message chain, so the eyre
    // hook is eyre's default handler: creating a `Report` then never symbolises a backtrace
    // (color-eyre's handler resolves one at creation whenever RUST_BACKTRACE is set).
    match color_eyre::config::HookBuilder::default()
        .theme(theme)
        .try_into_hooks()
    {
        Ok((panic_hook, _)) => panic_hook.install(),
        Err(e) => eprintln!("driftdeck: cannot install error reporting: {e}"),
    }
    let _ = color_eyre::eyre::set_hook(Box::new(color_eyre::eyre::DefaultHandler::default_with));
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(report) => {
            eprint!("{}", render_error(&report, backtrace_wanted()));
            ExitCode::FAILURE
        }
    }
}

/// A usage problem found by `main` itself (a missing flag); an input error like the typed ones.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(&'static str);

/// True when an error in the chain is one of the typed errors the library returns for input and
/// environment problems (a bad file, config key, date, model id, an unreachable store...): these
/// are reported as a message, like a tool's, never with a backtrace or a source location.
fn is_user_error(report: &color_eyre::Report) -> bool {
    report.chain().any(|e| {
        e.is::<UsageError>()
            || e.is::<driftdeck::sources::SourceError>()
            || e.is::<driftdeck::config::ConfigError>()
            || e.is::<driftdeck::engine::EngineError>()
            || e.is::<driftdeck::jobs::JobError>()
            || e.is::<driftdeck::store::StoreError>()
            || e.is::<driftdeck::domain::DomainError>()
            || e.is::<driftdeck::benchmarks::BenchmarkError>()
            || e.is::<driftdeck::orchestrator::OrchestratorError>()
            || e.is::<driftdeck::schedule::ScheduleError>()
            || e.is::<driftdeck::demo::DemoError>()
            || e.is::<driftdeck::wiring::WiringError>()
            || e.is::<driftdeck::jobs::notify::NotifyError>()
            || e.is::<std::io::Error>()
    })
}

/// Whether the user asked for backtraces (`RUST_LIB_BACKTRACE` wins over `RUST_BACKTRACE`).
fn backtrace_wanted() -> bool {
    let on = |v: std::ffi::OsString| v != "0";
    std::env::var_os("RUST_LIB_BACKTRACE")
        .map(on)
        .or_else(|| std::env::var_os("RUST_BACKTRACE").map(on))
        .unwrap_or(false)
}

/// The text printed for an error returned to `main`: `Error: ` and the message chain, one cause
/// per numbered line. Only an error that is none of the typed input errors ([`is_user_error`]),
/// i.e. probably a bug, adds eyre's location and backtrace, and only when backtraces are wanted.
fn render_error(report: &color_eyre::Report, backtrace: bool) -> String {
    use std::fmt::Write;
    let mut out = String::from("Error: ");
    let chain: Vec<String> = report.chain().map(|e| e.to_string()).collect();
    if let [only] = chain.as_slice() {
        let _ = writeln!(out, "{only}");
    } else {
        out.push('\n');
        for (i, msg) in chain.iter().enumerate() {
            let _ = writeln!(out, "  {i:>2}: {msg}");
        }
    }
    if backtrace && !is_user_error(report) {
        let _ = writeln!(
            out,
            "\n(not an input error: details for a bug report)\n{report:?}"
        );
    }
    out
}

fn init_job_logging(format: &str, default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("DRIFTDECK_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        );
    let result = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("driftdeck: logging not initialised: {e}");
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    let config = cli.config.as_deref();
    let Some(command) = cli.command else {
        return driftdeck::app::run_console(config, &cli.console);
    };
    // Jobs log one structured line per attempt; the demo command only reports problems.
    let level = if matches!(command, Command::Demo(_)) {
        "warn"
    } else {
        "info"
    };
    init_job_logging(&cli.log_format, level);
    match command {
        Command::Run(args) => cmd_run(config, &args),
        Command::Backfill(args) => {
            let ws = jobs::setup::Workspace::open(config)?
                .with_retry_overrides(args.job.attempts, args.job.retry_delay);
            let from = domain::parse_date(&args.from).wrap_err("--from")?;
            let to = domain::parse_date(&args.to).wrap_err("--to")?;
            let models = ws.select(
                args.model.as_deref(),
                args.value_stream.as_deref(),
                args.all,
            )?;
            let options = jobs::backfill::BackfillOptions {
                from,
                to,
                only_missing: args.only_missing,
                concurrency: args.concurrency.unwrap_or(ws.concurrency),
                triggered_by: args.job.triggered_by.clone(),
                run_id_prefix: args.job.run_id.clone(),
                log_path: std::env::var(driftdeck::orchestrator::local::JOB_LOG_ENV).ok(),
            };
            let summary = jobs::backfill::backfill(&ws.ctx, &models, &options, &|done, total| {
                if done == total || done % 200 == 0 {
                    tracing::info!(
                        event = "backfill_progress",
                        done,
                        total,
                        "backfill progress"
                    );
                }
            })?;
            println!(
                "backfill {from}..{to}: {} runs, {} succeeded, {} failed, {} skipped (already stored)",
                summary.started,
                summary.outcomes.len(),
                summary.failures.len(),
                summary.skipped
            );
            for (model, date, error) in &summary.failures {
                println!("  FAILED {model} {date}: {error}");
            }
            Ok(if summary.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Psi(args) => {
            let options = jobs::adhoc::AdhocOptions {
                columns: args.columns,
                categorical: args.categorical,
                numeric: args.numeric,
                exclude: args.exclude,
                bins: args.bins,
                eps: args.eps,
            };
            let report = jobs::adhoc::compare_files(&args.benchmark, &args.current, &options)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report.to_json())?);
            } else {
                for (name, c) in &report.columns {
                    println!(
                        "{name:32} {:11} psi={:.10} bins={}",
                        c.kind,
                        c.psi,
                        c.bins.len()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(args) => {
            let ws = jobs::setup::Workspace::open(config)?;
            let rows = jobs::report::status_rows(ws.ctx.store.as_ref(), &ws.model_refs())?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print!("{}", jobs::report::render_status(&rows));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => match args.command {
            DemoCommand::Init { dir, force } => {
                let dir = dir.unwrap_or_else(demo::default_dir);
                let created = demo::init(&dir, force, &|msg| eprintln!("{msg}"))?;
                println!("demo workspace ready: {}", created.display());
                println!(
                    "next: driftdeck --config {} backfill --all --from 2013-02-01 --to 2013-12-31",
                    demo::config_path(&dir).display()
                );
                Ok(ExitCode::SUCCESS)
            }
            DemoCommand::Run { dir } => {
                let dir = dir.unwrap_or_else(demo::default_dir);
                demo::run(&dir, &|msg| eprintln!("{msg}"))?;
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Schedule(args) => {
            let cfg = driftdeck::config::load(config)?;
            let entries = driftdeck::schedule::entries(&cfg)?;
            if let Some(n) = args.list {
                for (at, models) in driftdeck::schedule::upcoming(&entries, chrono::Utc::now(), n) {
                    let names: Vec<&str> = models.iter().map(|m| m.as_str()).collect();
                    println!("{} {}", at.format("%Y-%m-%d %H:%M UTC"), names.join(" "));
                }
                return Ok(ExitCode::SUCCESS);
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let runner = driftdeck::wiring::orchestrator(&cfg)?;
                let shutdown = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                driftdeck::schedule::serve(entries, runner, shutdown).await?;
                Ok::<_, color_eyre::Report>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor => {
            let cfg = driftdeck::config::load(config)?;
            println!("config         {}", cfg.settings_path.display());
            let checks = driftdeck::wiring::health(&cfg);
            for h in &checks {
                println!("{}", h.line());
            }
            let failed = checks.iter().filter(|h| !h.is_ok()).count();
            if failed == 0 {
                println!("all {} backends healthy", checks.len());
                Ok(ExitCode::SUCCESS)
            } else {
                println!("{failed} of {} backends failing", checks.len());
                Ok(ExitCode::FAILURE)
            }
        }
        Command::RefreshBenchmarks(_) => {
            // The refresh job is built by the benchmark-refresh issue; the subcommand exists so
            // that the job contract (JobSpec::cli_args) parses today.
            eprintln!(
                "driftdeck refresh-benchmarks: the benchmark refresh job is not built in this \
                 binary yet; no benchmark was changed"
            );
            Ok(ExitCode::from(2))
        }
        Command::Info => {
            let ws = jobs::setup::Workspace::open(config)?;
            print!("{}", ws.describe());
            // The console's own log is a console detail: jobs do not know it.
            let diagnostics = driftdeck::console::diagnostics_file()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(no state directory)".into());
            println!("console log    {diagnostics}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `driftdeck run`: one model, every model, or every model whose latest attempt failed.
fn cmd_run(config: Option<&std::path::Path>, args: &RunArgs) -> Result<ExitCode> {
    let ws = jobs::setup::Workspace::open(config)?
        .with_retry_overrides(args.job.attempts, args.job.retry_delay);
    let date = match &args.date {
        Some(d) => domain::parse_date(d)?,
        None => chrono::Utc::now().date_naive() - chrono::Days::new(1),
    };
    let runs: Vec<(&jobs::ModelJob, chrono::NaiveDate)> = if args.failed {
        let mut out = Vec::new();
        for r in ws.ctx.store.latest_runs()? {
            if r.status == domain::RunStatus::Failed
                && let Ok(job) = ws.job(&r.model_id)
            {
                out.push((job, r.calculation_date));
            }
        }
        if out.is_empty() {
            println!("no model's latest run failed; nothing to rerun");
        }
        out
    } else if args.all {
        ws.jobs.iter().map(|j| (j, date)).collect()
    } else {
        let id = args
            .model
            .as_deref()
            .ok_or(UsageError("--model, --all or --failed"))?;
        vec![(ws.job(id)?, date)]
    };
    let several = runs.len() > 1;
    let mut failed = 0;
    for (job, date) in runs {
        let request = jobs::run::RunRequest {
            date,
            action: domain::RunAction::Run,
            triggered_by: args.job.triggered_by.clone(),
            run_id: args.job.run_id.clone().map(|id| {
                if several {
                    format!("{id}-{}-{date}", job.model_id)
                } else {
                    id
                }
            }),
            log_path: std::env::var(driftdeck::orchestrator::local::JOB_LOG_ENV).ok(),
        };
        match jobs::run::run_model(&ws.ctx, job, &request) {
            Ok(o) => println!(
                "{} {} psi={:.6} csi={:.6} band={} worst={} attempts={}",
                job.model_id,
                date,
                o.result.psi_score,
                o.result.csi_score,
                o.band,
                o.worst
                    .as_ref()
                    .map(|(n, v)| format!("{n}:{v:.4}"))
                    .unwrap_or_else(|| "-".into()),
                o.attempts
            ),
            Err(e) => {
                failed += 1;
                eprintln!("{} {} FAILED: {e}", job.model_id, date);
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_errors_are_messages_and_other_errors_keep_details_when_asked() {
        let input = color_eyre::Report::new(driftdeck::sources::SourceError::NotFound {
            path: "b.csv".into(),
        })
        .wrap_err("reading the benchmark");
        let text = render_error(&input, true);
        assert_eq!(
            text,
            "Error: \n   0: reading the benchmark\n   1: b.csv: file not found\n"
        );
        let bug = color_eyre::eyre::eyre!("invariant broken");
        assert_eq!(render_error(&bug, false), "Error: invariant broken\n");
        let detailed = render_error(&bug, true);
        assert!(detailed.contains("not an input error"), "{detailed}");
        assert!(detailed.contains("Location"), "{detailed}");
    }
}
