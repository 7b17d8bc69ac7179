//! The `driftdeck` binary: CLI dispatch only.

use std::process::ExitCode;

use clap::Parser;
use color_eyre::eyre::{Result, WrapErr};

use driftdeck::cli::{
    BenchmarksArgs, Cli, Command, DemoCommand, RefreshBenchmarksArgs, RenderArgs, RenderTarget,
    RollbackArgs, RunArgs,
};
use driftdeck::{demo, domain, jobs};

fn main() -> ExitCode {
    tune_allocator();
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
            // Data quoted in errors (file headers, cells) never drives the terminal (issue 11 #10).
            eprint!(
                "{}",
                driftdeck::sanitize::escape_terminal_text(&render_error(
                    &report,
                    backtrace_wanted()
                ))
            );
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
            || e.is::<driftdeck::orchestrator::kubernetes::manifests::RenderError>()
            || e.is::<driftdeck::orchestrator::kubernetes::KubeError>()
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

/// `driftdeck migrate [--from sqlite:PATH]`.
fn cmd_migrate(config: Option<&std::path::Path>, from: Option<&str>) -> Result<ExitCode> {
    use driftdeck::config::StoreSettings;
    use driftdeck::store::snowflake::{self, SnowflakeStore};
    let cfg = driftdeck::config::load(config)?;
    match &cfg.settings.store {
        StoreSettings::Sqlite(s) => {
            if from.is_some() {
                return Err(driftdeck::store::StoreError::Invalid(format!(
                    "--from copies into a Snowflake store; [store] kind is \"sqlite\" in {}",
                    cfg.settings_path.display()
                ))
                .into());
            }
            let store = driftdeck::store::sqlite::SqliteStore::open(&s.path)?;
            println!(
                "sqlite {}: schema {}",
                s.path.display(),
                store.schema_version()?
            );
        }
        StoreSettings::Snowflake(s) => {
            let store = SnowflakeStore::open(s, &cfg.workspace_root)?;
            let (before, after) = store.migrate()?;
            println!(
                "snowflake {}/{}.{}: schema {before} -> {after}",
                s.account, s.database, s.schema
            );
            if let Some(from) = from {
                let path = from.strip_prefix("sqlite:").ok_or_else(|| {
                    driftdeck::store::StoreError::Invalid(format!(
                        "--from {from:?}: expected sqlite:PATH"
                    ))
                })?;
                let options = driftdeck::store::sqlite::SqliteOptions {
                    read_only: true,
                    ..Default::default()
                };
                let source = driftdeck::store::sqlite::SqliteStore::open_with(
                    std::path::Path::new(path),
                    &options,
                )
                .wrap_err_with(|| format!("--from {from}"))?;
                let copied = snowflake::copy_history(&source, &store)?;
                println!(
                    "copied {} result(s) and {} attempt(s) from {path}; {} statement(s) sent",
                    copied.results,
                    copied.attempts,
                    store.client().stats().statements()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `driftdeck backfill --kubernetes`: one Job per planned date and model, created by the
/// Kubernetes backend (bounded in flight, no duplicate for a date with an unfinished Job); exits
/// 1 when a Job could not be created.
fn backfill_on_kubernetes(
    ws: &jobs::setup::Workspace,
    models: &[&jobs::ModelJob],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    args: &driftdeck::cli::BackfillArgs,
) -> Result<ExitCode> {
    use driftdeck::config::OrchestratorSettings;
    use driftdeck::orchestrator::kubernetes::KubeBackend;
    let OrchestratorSettings::Kubernetes(settings) = &ws.config.settings.orchestrator else {
        return Err(color_eyre::eyre::eyre!(
            "backfill --kubernetes needs [orchestrator] kind = \"kubernetes\" in {}",
            ws.config.settings_path.display()
        ));
    };
    let mut settings = settings.clone();
    if let Some(c) = args.concurrency {
        settings.concurrency = c;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .wrap_err("tokio runtime")?;
    let never = std::sync::atomic::AtomicBool::new(false);
    let (mut created, mut skipped, mut failed) = (0usize, 0usize, 0usize);
    runtime.block_on(async {
        let backend = KubeBackend::connect(settings).await?;
        println!(
            "backfill {from}..{to} on kubernetes {}/{}: at most {} Jobs in flight",
            backend.context(),
            backend.namespace(),
            backend.settings().concurrency
        );
        for m in models {
            let dates = driftdeck::wiring::backfill_dates(
                ws.ctx.store.as_ref(),
                &m.model_id,
                from,
                to,
                args.only_missing,
            );
            let mut progress = |line: String| {
                println!(
                    "  {} {}",
                    m.model_id,
                    driftdeck::sanitize::escape_controls(&line)
                )
            };
            let report = backend
                .backfill_with(
                    m.model_id.as_str(),
                    &dates,
                    &args.job.triggered_by,
                    &never,
                    &mut progress,
                )
                .await;
            match report {
                Ok(r) => {
                    created += r.created.len();
                    skipped += r.skipped.len();
                    failed += r.failed.len();
                }
                Err(e) => {
                    println!(
                        "  {} FAILED: {}",
                        m.model_id,
                        driftdeck::sanitize::escape_controls(&e.to_string())
                    );
                    failed += dates.len();
                }
            }
        }
        Ok::<(), driftdeck::orchestrator::kubernetes::KubeError>(())
    })?;
    println!(
        "backfill {from}..{to} on kubernetes: {created} Job(s) created, {skipped} skipped (a Job for the date exists), {failed} not created"
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
    if matches!(command, Command::Run(_) | Command::Backfill(_)) {
        // Before any worker thread: SIGTERM/SIGINT/SIGHUP record attempts as cancelled.
        jobs::lease::install_termination_handler();
    }
    match command {
        Command::Run(args) => cmd_run(config, &args),
        Command::Render(args) => cmd_render(config, args),
        Command::Backfill(args) => {
            let ws = jobs::setup::Workspace::open(config)?
                .with_retry_overrides(args.job.attempts, args.job.retry_delay);
            let from = domain::parse_date(&args.from).wrap_err("--from")?;
            let to = domain::parse_date(&args.to).wrap_err("--to")?;
            jobs::backfill::check_range(from, to, args.large)?;
            let models = ws.select(
                args.model.as_deref(),
                args.value_stream.as_deref(),
                args.all,
            )?;
            let selection = args
                .model
                .clone()
                .or_else(|| {
                    args.value_stream
                        .as_ref()
                        .map(|v| format!("value stream {v}"))
                })
                .unwrap_or_else(|| "--all".into());
            ws.audit_cli(
                "backfill",
                &format!("{selection} {from}..{to}"),
                &args.job.triggered_by,
            )?;
            if args.kubernetes {
                return backfill_on_kubernetes(&ws, &models, from, to, &args);
            }
            let options = jobs::backfill::BackfillOptions {
                from,
                to,
                only_missing: args.only_missing,
                concurrency: args.concurrency.unwrap_or(ws.concurrency),
                triggered_by: args.job.triggered_by.clone(),
                run_id_prefix: args.job.run_id.clone(),
                log_path: std::env::var(driftdeck::orchestrator::local::JOB_LOG_ENV).ok(),
                large: args.large,
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
                println!(
                    "  FAILED {model} {date}: {}",
                    driftdeck::sanitize::escape_controls(&error.to_string())
                );
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
            let cfg = driftdeck::config::load(config)?;
            if let driftdeck::config::StoreSettings::Sqlite(sqlite) = &cfg.settings.store {
                refuse_empty_store(&sqlite.path)?;
            }
            let ws = jobs::setup::Workspace::from_config(cfg)?;
            let rows = jobs::report::status_rows(ws.ctx.store.as_ref(), &ws.model_refs())?;
            // Read after the rows: a read sends the Snowflake store's queue first.
            let pending = ws.ctx.store.pending()?;
            if args.json {
                // `pending`: writes queued locally, not yet in the store (Snowflake's queue).
                let doc = serde_json::json!({
                    "store": ws.ctx.store.backend(),
                    "pending": pending,
                    "models": rows,
                });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                print!("{}", jobs::report::render_status(&rows));
                if pending > 0 {
                    println!(
                        "pending: {pending} write(s) queued locally for {}; `driftdeck sync` sends them",
                        ws.ctx.store.backend()
                    );
                }
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
        Command::Migrate(args) => cmd_migrate(config, args.from.as_deref()),
        Command::Sync => {
            let cfg = driftdeck::config::load(config)?;
            let driftdeck::config::StoreSettings::Snowflake(s) = &cfg.settings.store else {
                println!(
                    "nothing to sync: the {} store writes directly",
                    driftdeck::config::Backend::kind(&cfg.settings.store)
                );
                return Ok(ExitCode::SUCCESS);
            };
            let store = driftdeck::store::snowflake::SnowflakeStore::open(s, &cfg.workspace_root)?;
            let report = store.sync()?;
            println!(
                "sync: {} item(s) sent to Snowflake, {} pending",
                report.sent, report.remaining
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::RefreshBenchmarks(args) => cmd_refresh(config, &args),
        Command::RollbackBenchmark(args) => cmd_rollback(config, &args),
        Command::Benchmarks(args) => cmd_benchmarks(config, &args),
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

/// `status` reads: an existing 0-byte store file (truncated, or lost data) is reported, not
/// silently turned into a new empty store by the migration (issue 11 #15).
fn refuse_empty_store(path: &std::path::Path) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
        return Err(color_eyre::eyre::eyre!(
            "results store {} is an empty file (0 bytes), not a driftdeck store; `status` does \
             not write. Restore it from a backup, or delete it and run any job to create a new one",
            path.display()
        ));
    }
    Ok(())
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
            if r.status.is_failure()
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
        ws.all_jobs()?.into_iter().map(|j| (j, date)).collect()
    } else {
        let id = args
            .model
            .as_deref()
            .ok_or(UsageError("--model, --all or --failed"))?;
        vec![(ws.job(id)?, date)]
    };
    if !runs.is_empty() {
        let selection = match (&args.model, args.all) {
            (Some(m), _) => m.clone(),
            (None, true) => "--all".into(),
            (None, false) => "--failed".into(),
        };
        let target = if args.failed {
            selection
        } else {
            format!("{selection} {date}")
        };
        ws.audit_cli("run", &target, &args.job.triggered_by)?;
    }
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
                eprintln!(
                    "{} {} FAILED: {}",
                    job.model_id,
                    date,
                    driftdeck::sanitize::escape_controls(&e.to_string())
                );
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `driftdeck render k8s`: manifests from the loaded models.yaml.
fn cmd_render(config: Option<&std::path::Path>, args: RenderArgs) -> Result<ExitCode> {
    use driftdeck::orchestrator::kubernetes::{KubernetesSettings, manifests};
    let RenderTarget::K8s {
        out,
        namespace,
        image,
    } = args.target;
    let cfg = driftdeck::config::load(config)?;
    let mut settings = match &cfg.settings.orchestrator {
        driftdeck::config::OrchestratorSettings::Kubernetes(k) => k.clone(),
        _ => KubernetesSettings::default(),
    };
    if let Some(ns) = namespace {
        settings.namespace = ns;
    }
    if let Some(image) = image {
        settings.image = image;
    }
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).wrap_err_with(|| format!("reading {}", p.display()))
    };
    let files = manifests::ConfigFiles {
        driftdeck_toml: read(&cfg.settings_path)?,
        models_yaml: read(&cfg.models_path)?,
    };
    let objects = manifests::render(&cfg.models, &settings, &files)?;
    match out {
        Some(dir) => {
            let written = manifests::write_dir(&objects, &dir)?;
            println!("wrote {} manifests to {}", written.len(), dir.display());
        }
        None => print!("{}", manifests::to_yaml_stream(&objects)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// `driftdeck refresh-benchmarks`: exit 0 when nothing failed, 1 otherwise.
fn cmd_refresh(config: Option<&std::path::Path>, args: &RefreshBenchmarksArgs) -> Result<ExitCode> {
    let ws = jobs::setup::Workspace::open(config)?;
    let models = ws.select(
        args.model.as_deref(),
        args.value_stream.as_deref(),
        args.all,
    )?;
    let streams: Vec<domain::ValueStream> = match (&args.value_stream, args.all) {
        (Some(vs), _) => vec![domain::ValueStream::new(vs.as_str())?],
        (None, true) => ws.config.value_streams().into_iter().cloned().collect(),
        _ => Vec::new(),
    };
    let options = driftdeck::refresh::RefreshOptions {
        dry_run: args.dry_run,
        triggered_by: args.job.triggered_by.clone(),
        role: "job".into(),
        concurrency: args
            .concurrency
            .unwrap_or(ws.config.settings.refresh.concurrency)
            .max(1),
    };
    let report = driftdeck::refresh::refresh(&ws.config, &ws.ctx, &models, &streams, &options);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(if report.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `driftdeck rollback-benchmark`.
fn cmd_rollback(config: Option<&std::path::Path>, args: &RollbackArgs) -> Result<ExitCode> {
    let ws = jobs::setup::Workspace::open(config)?;
    let job = ws.job(&args.model)?;
    let options = driftdeck::refresh::RefreshOptions {
        dry_run: false,
        triggered_by: args.triggered_by.clone(),
        role: "job".into(),
        concurrency: 1,
    };
    let report =
        driftdeck::refresh::rollback(&ws.config, &ws.ctx, job, args.to.as_deref(), &options)?;
    print!("{}", report.render());
    Ok(ExitCode::SUCCESS)
}

/// `driftdeck benchmarks --model M`.
fn cmd_benchmarks(config: Option<&std::path::Path>, args: &BenchmarksArgs) -> Result<ExitCode> {
    let ws = jobs::setup::Workspace::open(config)?;
    let job = ws.job(&args.model)?;
    let versions = ws
        .ctx
        .benchmarks
        .versions(&job.value_stream, Some(&job.model_id))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&versions)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<26} {:<16} {:>9} {:>11}  MODIFIED (UTC)",
        "VERSION", "CHECKSUM", "ROWS", "BYTES"
    );
    for v in &versions {
        println!(
            "{:<26} {:<16} {:>9} {:>11}  {}",
            v.id,
            v.checksum,
            v.rows.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
            v.bytes,
            v.modified
                .map(|m| m.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| "-".into())
        );
    }
    if versions.is_empty() {
        println!("(no benchmark for {})", job.model_id);
    }
    Ok(ExitCode::SUCCESS)
}

/// glibc's malloc hands every buffer above its (adaptive) mmap threshold straight back to the
/// OS and page-faults a fresh one on the next allocation; a 1M-row column is 8 MB, so reading
/// two populations spent about a quarter of `driftdeck psi` in page faults and zeroing
/// (measured with perf, benches/compare_peers.sh). Keep buffers up to 32 MB (glibc's maximum)
/// in the heap and freed memory up to 512 MB for reuse.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
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
