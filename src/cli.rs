//! Command-line interface (clap). `main.rs` only dispatches on these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// driftdeck: PSI/CSI model monitoring. With no subcommand, opens the console.
#[derive(Debug, Parser)]
#[command(name = "driftdeck", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Configuration file (driftdeck.toml). Default: $DRIFTDECK_CONFIG, the XDG config dir,
    /// then ./config/driftdeck.toml.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log format of jobs on stderr: `text` (key=value) or `json` (one object per line).
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// Console options (used when no subcommand is given).
    #[command(flatten)]
    pub console: ConsoleArgs,

    /// What to do; none opens the console.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options of the console.
#[derive(Debug, Args, Clone, Default)]
pub struct ConsoleArgs {
    /// Theme name (a file in themes/ or built in: dark, light, high-contrast).
    #[arg(long)]
    pub theme: Option<String>,
    /// Act with this role (cannot exceed the role configured for you): viewer, operator, admin.
    #[arg(long)]
    pub role: Option<String>,
    /// Disable every action that writes or runs.
    #[arg(long)]
    pub read_only: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute PSI/CSI for one model (or all) on one calculation date and store the result.
    ///
    /// Retries per `[retry]` (seed: 3 attempts, 300 s apart); every attempt is recorded in
    /// PCI_CSI_RUNS; exits non-zero when the final attempt fails (CronJob-friendly).
    Run(RunArgs),
    /// Run a range of calculation dates for one model, a value stream or all models.
    Backfill(BackfillArgs),
    /// Ad-hoc PSI/CSI between any two files (CSV or Parquet): no config, no store.
    Psi(PsiArgs),
    /// Print the models table (latest result and run of each model).
    Status(StatusArgs),
    /// The bundled demo workspace (real CC0 NYC flights 2013 data).
    Demo(DemoArgs),
    /// Run the models' cron schedules with the local runner, in the foreground (for teams
    /// without Kubernetes). Ctrl-C stops scheduling; started runs finish.
    Schedule(ScheduleArgs),
    /// Refresh the benchmarks of a model, a value stream (and its `common/` data) or everything
    /// from their configured sources (the monthly CronJob): validate, quarantine bad rows,
    /// replace atomically keeping the previous version, notify. Exit 1 when a model failed.
    RefreshBenchmarks(RefreshBenchmarksArgs),
    /// Print resolved configuration paths and backends.
    Info,
    /// Write deployment manifests: `render k8s [--out DIR]`.
    Render(RenderArgs),
    /// Install a kept benchmark version of a model again (the replaced one is kept too).
    RollbackBenchmark(RollbackArgs),
    /// List a model's benchmark versions (current first, then the kept ones, newest first).
    Benchmarks(BenchmarksArgs),
    /// Check every configured backend (results store and its schema, benchmark root, job log
    /// directory, notifier, metrics): one line each with a fix; exits non-zero on a failure.
    Doctor,
    /// Create or upgrade the results store's schema (idempotent); with `--from sqlite:PATH`,
    /// also copy an embedded workspace's results and runs into it (idempotent: MERGE on keys).
    Migrate(MigrateArgs),
    /// Send the results and attempts queued locally (Snowflake unreachable when they were
    /// written) to the results store; prints what was sent and what remains.
    Sync,
}

/// `driftdeck render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// What to render.
    #[command(subcommand)]
    pub target: RenderTarget,
}

/// `driftdeck render ...`.
#[derive(Debug, Subcommand)]
pub enum RenderTarget {
    /// Kubernetes objects for every model of models.yaml (ConfigMaps, CronJobs, the refresh
    /// CronJob, ServiceAccounts with Roles, the EFS claim): one YAML file per object in `--out`,
    /// or one YAML stream on stdout.
    K8s {
        /// Directory to write `NN-kind-name.yaml` files into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Namespace (default: `[orchestrator] namespace`, else `model-monitoring`).
        #[arg(long)]
        namespace: Option<String>,
        /// Job image (default: `[orchestrator] image`).
        #[arg(long)]
        image: Option<String>,
    },
}

/// `driftdeck refresh-benchmarks`: exactly one of `--model`, `--value-stream`, `--all`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("selection").required(true).args(["model", "value_stream", "all"])))]
pub struct RefreshBenchmarksArgs {
    /// Model id.
    #[arg(long)]
    pub model: Option<String>,
    /// Every model of this value stream, and the stream's `common/` data.
    #[arg(long)]
    pub value_stream: Option<String>,
    /// Every model and every value stream's `common/` data.
    #[arg(long)]
    pub all: bool,
    /// Validate only; replace nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Models refreshed at once. Default: `[refresh] concurrency`.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Who started it, run id.
    #[command(flatten)]
    pub job: JobArgs,
}

/// `driftdeck rollback-benchmark`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Model id.
    #[arg(long)]
    pub model: String,
    /// Version id (from `driftdeck benchmarks`) or checksum prefix; default the newest kept.
    #[arg(long)]
    pub to: Option<String>,
    /// Who started it.
    #[arg(long, default_value = "schedule")]
    pub triggered_by: String,
}

/// `driftdeck benchmarks`.
#[derive(Debug, Args)]
pub struct BenchmarksArgs {
    /// Model id.
    #[arg(long)]
    pub model: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `driftdeck run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Model id.
    #[arg(long, conflicts_with_all = ["all", "failed"], required_unless_present_any = ["all", "failed"])]
    pub model: Option<String>,
    /// Every model in the registry.
    #[arg(long, conflicts_with = "failed")]
    pub all: bool,
    /// Rerun every model whose latest attempt failed, on that attempt's calculation date
    /// (the console's `R`).
    #[arg(long)]
    pub failed: bool,
    /// Calculation date (YYYY-MM-DD). Default: yesterday (UTC).
    #[arg(long, conflicts_with = "failed")]
    pub date: Option<String>,
    /// Who started it, retry overrides, run id.
    #[command(flatten)]
    pub job: JobArgs,
}

/// Options shared by `run` and `backfill`.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// Who started the run (`schedule` for CronJobs, a user name for the console).
    #[arg(long, default_value = "schedule")]
    pub triggered_by: String,
    /// Run id to record (the console's local runner passes its job id); with several runs, the
    /// model id and date are appended.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Override the configured delay between attempts, in seconds (0..=86400).
    #[arg(long, value_parser = parse_retry_delay)]
    pub retry_delay: Option<f64>,
    /// Override the configured number of attempts (1..=20).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=crate::jobs::retry::MAX_ATTEMPTS as i64))]
    pub attempts: Option<u32>,
}

/// `driftdeck backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Model id.
    #[arg(long, conflicts_with_all = ["all", "value_stream"])]
    pub model: Option<String>,
    /// Every model of this value stream.
    #[arg(long, conflicts_with = "all")]
    pub value_stream: Option<String>,
    /// Every model.
    #[arg(long)]
    pub all: bool,
    /// First calculation date (YYYY-MM-DD).
    #[arg(long)]
    pub from: String,
    /// Last calculation date (YYYY-MM-DD), included.
    #[arg(long)]
    pub to: String,
    /// Run only dates without a result or whose newest attempt failed (the console's "only
    /// missing or failed").
    #[arg(long)]
    pub only_missing: bool,
    /// Runs at once (1..=64). Default: `[orchestrator] concurrency`.
    #[arg(long, value_parser = parse_concurrency)]
    pub concurrency: Option<usize>,
    /// Allow a range longer than 3,660 days (a deliberate large backfill).
    #[arg(long)]
    pub large: bool,
    /// Do not compute here: create one Kubernetes Job per date from each model's CronJob, at
    /// most `[orchestrator] concurrency` (or `--concurrency`) unfinished at once and none for a
    /// date that already has an unfinished Job (needs `[orchestrator] kind = "kubernetes"`).
    #[arg(long)]
    pub kubernetes: bool,
    /// Who started it, retry overrides, run id prefix.
    #[command(flatten)]
    pub job: JobArgs,
}

/// `driftdeck psi`.
#[derive(Debug, Args)]
pub struct PsiArgs {
    /// Benchmark (expected) population: .csv or .parquet.
    pub benchmark: PathBuf,
    /// Current (actual) population: .csv or .parquet.
    pub current: PathBuf,
    /// Only these columns (repeatable or comma-separated). Default: every column of the benchmark.
    #[arg(long = "column", value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Treat these columns as categorical.
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Treat these columns as numeric.
    #[arg(long, value_delimiter = ',')]
    pub numeric: Vec<String>,
    /// Skip these columns.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Quantile bins for numeric columns.
    #[arg(long, default_value_t = 10)]
    pub bins: usize,
    /// Share used in place of an empty bin's 0.
    #[arg(long, default_value_t = 1e-4)]
    pub eps: f64,
    /// Print JSON with the per-bin tables.
    #[arg(long)]
    pub json: bool,
}

/// `driftdeck schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Print the next N scheduled firings (UTC) and exit (N ≤ 10000).
    #[arg(long, value_name = "N", value_parser = parse_list_len)]
    pub list: Option<usize>,
}

/// `driftdeck migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Copy the history of an embedded store, e.g. `sqlite:demo-workspace/driftdeck.sqlite`.
    #[arg(long, value_name = "sqlite:PATH")]
    pub from: Option<String>,
}

/// `driftdeck status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `driftdeck demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// What to do with the demo workspace.
    #[command(subcommand)]
    pub command: DemoCommand,
}

/// `driftdeck demo ...`.
#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Create the demo workspace: config, benchmark tree (EFS layout), current data, SQLite store.
    Init {
        /// Directory to create. Default: ./demo-workspace.
        dir: Option<PathBuf>,
        /// Replace an existing workspace.
        #[arg(long)]
        force: bool,
    },
    /// Create the workspace if needed, backfill 2013-02-01..2013-12-31 and print a summary.
    Run {
        /// Directory. Default: ./demo-workspace.
        dir: Option<PathBuf>,
    },
}

/// Most firings `schedule --list` prints.
pub const MAX_LIST: usize = 10_000;

/// `--retry-delay`: a finite number of seconds in 0..=[`MAX_DELAY_SECONDS`](crate::jobs::retry::MAX_DELAY_SECONDS).
fn parse_retry_delay(s: &str) -> Result<f64, String> {
    let max = crate::jobs::retry::MAX_DELAY_SECONDS;
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("not a number of seconds (0..={max})"))?;
    if v.is_finite() && (0.0..=max as f64).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be between 0 and {max} seconds (one day)"))
    }
}

fn parse_bounded(s: &str, max: usize, what: &str) -> Result<usize, String> {
    let v: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("not a whole number (1..={max} {what})"))?;
    if (1..=max).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be between 1 and {max} {what}"))
    }
}

/// `--concurrency`: 1..=[`MAX_CONCURRENCY`](crate::jobs::backfill::MAX_CONCURRENCY).
fn parse_concurrency(s: &str) -> Result<usize, String> {
    parse_bounded(s, crate::jobs::backfill::MAX_CONCURRENCY, "runs at once")
}

/// `schedule --list`: 1..=[`MAX_LIST`].
fn parse_list_len(s: &str) -> Result<usize, String> {
    parse_bounded(s, MAX_LIST, "firings")
}
