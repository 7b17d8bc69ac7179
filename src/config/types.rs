//! Serde types of `driftdeck.toml` ([`Settings`]) and `models.yaml` ([`Registry`]).
//! Every struct rejects unknown keys. Paths are as written until [`load`](super::load) resolves
//! them against the workspace root.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::domain::{ModelId, Role, Thresholds, ValueStream};
use crate::engine::Kind;

/// `driftdeck.toml`: backends and their settings. Every section is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[workspace]`: where the workspace lives and what it is called.
    #[serde(default)]
    pub workspace: WorkspaceSettings,
    /// `[store]`: the results store.
    #[serde(default, deserialize_with = "tagged_section")]
    pub store: StoreSettings,
    /// `[orchestrator]`: who runs jobs.
    #[serde(default, deserialize_with = "tagged_section")]
    pub orchestrator: OrchestratorSettings,
    /// `[benchmarks]`: the benchmark tree (EFS layout).
    #[serde(default, deserialize_with = "tagged_section")]
    pub benchmarks: BenchmarkSettings,
    /// `[retry]`: attempts of a run.
    #[serde(default)]
    pub retry: RetrySettings,
    /// `[engine]`: PSI/CSI defaults.
    #[serde(default)]
    pub engine: EngineSettings,
    /// `[metrics]`: job metrics (runs, attempts, PSI/CSI gauges).
    #[serde(default, deserialize_with = "tagged_section")]
    pub metrics: MetricsSettings,
    /// `[notify]`: where notifications go.
    #[serde(default, deserialize_with = "tagged_section")]
    pub notify: NotifySettings,
    /// `[validation]`: benchmark refresh validation.
    #[serde(default)]
    pub validation: ValidationSettings,
    /// `[quality]`: data-quality checks of every daily run (models override in `quality:`).
    #[serde(default)]
    pub quality: crate::quality::QualitySettings,
    /// `[refresh]`: the benchmark refresh job (parallelism, history, quarantine bound).
    #[serde(default)]
    pub refresh: RefreshSettings,
    /// `[roles]`: console roles.
    #[serde(default)]
    pub roles: RolesSettings,
    /// `[console]`: look and keys.
    #[serde(default)]
    pub console: ConsoleSettings,
}

/// `[workspace]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSettings {
    /// Workspace root, relative to the directory of `driftdeck.toml`. Default: `..` when that
    /// directory is named `config`, else `.`. Absolute after loading.
    #[serde(default)]
    pub root: Option<PathBuf>,
    /// Display name (console title bar).
    #[serde(default = "default_name")]
    pub name: String,
    /// True for the bundled demo workspace (the console shows a DEMO badge).
    #[serde(default)]
    pub demo: bool,
    /// The model registry, relative to the directory of `driftdeck.toml`. Default `models.yaml`.
    #[serde(default = "default_models")]
    pub models: PathBuf,
}

fn default_name() -> String {
    "driftdeck".into()
}
fn default_models() -> PathBuf {
    "models.yaml".into()
}

impl Default for WorkspaceSettings {
    fn default() -> Self {
        Self {
            root: None,
            name: default_name(),
            demo: false,
            models: default_models(),
        }
    }
}

/// Reads a backend section (`[store]`, `[orchestrator]`, ...) tagged by `kind`, inserting the
/// embedded default kind when the key is absent (so files written before `kind` existed stay
/// valid). An unknown kind names the key and the kinds there are.
fn tagged_section<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned + Backend,
{
    use serde::de::Error as _;
    let mut table = toml::Table::deserialize(deserializer)?;
    let kind = table
        .entry("kind")
        .or_insert_with(|| toml::Value::String(T::DEFAULT_KIND.into()));
    match kind.as_str() {
        Some(k) if T::KINDS.contains(&k) => {}
        Some(k) => {
            return Err(D::Error::custom(format!(
                "unknown {}.kind {k:?}; expected one of: {}",
                T::SECTION,
                T::KINDS.join(", ")
            )));
        }
        None => {
            return Err(D::Error::custom(format!(
                "{}.kind must be a string, one of: {}",
                T::SECTION,
                T::KINDS.join(", ")
            )));
        }
    }
    T::deserialize(toml::Value::Table(table)).map_err(|e| D::Error::custom(e.message()))
}

/// A backend section of `driftdeck.toml`: its name, the kinds it knows and the default one.
pub trait Backend {
    /// Section name, e.g. `store`.
    const SECTION: &'static str;
    /// Every kind the configuration format knows (built into this binary or not).
    const KINDS: &'static [&'static str];
    /// The embedded kind used when `kind` is absent.
    const DEFAULT_KIND: &'static str;
    /// The `kind` of this value.
    fn kind(&self) -> &'static str;
    /// False for a kind that this binary does not build yet (a configuration error).
    fn is_built(&self) -> bool;
}

/// Keys of a backend kind that this binary does not build yet; kept only so the error can name
/// the kind instead of an unknown key.
pub type NotBuilt = toml::Table;

/// `[store]`: the results store, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StoreSettings {
    /// Embedded SQLite file (default).
    Sqlite(SqliteSettings),
    /// Snowflake (`crate::store::snowflake`): account, user, secret reference, database, schema.
    Snowflake(Box<crate::store::snowflake::SnowflakeSettings>),
}

impl Backend for StoreSettings {
    const SECTION: &'static str = "store";
    const KINDS: &'static [&'static str] = &["sqlite", "snowflake"];
    const DEFAULT_KIND: &'static str = "sqlite";
    fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Snowflake(_) => "snowflake",
        }
    }
    fn is_built(&self) -> bool {
        true
    }
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self::Sqlite(SqliteSettings::default())
    }
}

/// `[store] kind = "sqlite"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteSettings {
    /// SQLite file (relative to the workspace root). Default `driftdeck.sqlite`.
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
}

fn default_store_path() -> PathBuf {
    "driftdeck.sqlite".into()
}

impl Default for SqliteSettings {
    fn default() -> Self {
        Self {
            path: default_store_path(),
        }
    }
}

/// `[orchestrator]`: who runs jobs, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OrchestratorSettings {
    /// In-process runner of child processes (default).
    Local(LocalOrchestratorSettings),
    /// Kubernetes: CronJobs per model, Jobs for reruns, backfills and refreshes (issue 9).
    Kubernetes(super::KubernetesSettings),
}

impl Backend for OrchestratorSettings {
    const SECTION: &'static str = "orchestrator";
    const KINDS: &'static [&'static str] = &["local", "kubernetes"];
    const DEFAULT_KIND: &'static str = "local";
    fn kind(&self) -> &'static str {
        match self {
            Self::Local(_) => "local",
            Self::Kubernetes(_) => "kubernetes",
        }
    }
    fn is_built(&self) -> bool {
        true
    }
}

impl Default for OrchestratorSettings {
    fn default() -> Self {
        Self::Local(LocalOrchestratorSettings::default())
    }
}

impl OrchestratorSettings {
    /// Runs at once (≥ 1 after validation); the default 2 for a kind not built.
    pub fn concurrency(&self) -> usize {
        match self {
            Self::Local(l) => l.concurrency,
            Self::Kubernetes(k) => k.concurrency,
        }
    }

    /// Directory of job logs (absolute after loading); `None` for a kind without local logs.
    pub fn log_dir(&self) -> Option<&std::path::Path> {
        match self {
            Self::Local(l) => Some(&l.log_dir),
            Self::Kubernetes(_) => None,
        }
    }
}

/// `[orchestrator] kind = "local"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalOrchestratorSettings {
    /// Runs at once (≥ 1). Default 2.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Directory of job logs (relative to the workspace root). Default `logs`.
    #[serde(default = "default_log_dir")]
    pub log_dir: PathBuf,
}

fn default_concurrency() -> usize {
    2
}
fn default_log_dir() -> PathBuf {
    "logs".into()
}

impl Default for LocalOrchestratorSettings {
    fn default() -> Self {
        Self {
            concurrency: default_concurrency(),
            log_dir: default_log_dir(),
        }
    }
}

/// `[benchmarks]`: where benchmarks live, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum BenchmarkSettings {
    /// A directory tree in the EFS layout (default).
    Dir(DirBenchmarkSettings),
}

impl Backend for BenchmarkSettings {
    const SECTION: &'static str = "benchmarks";
    const KINDS: &'static [&'static str] = &["dir"];
    const DEFAULT_KIND: &'static str = "dir";
    fn kind(&self) -> &'static str {
        "dir"
    }
    fn is_built(&self) -> bool {
        true
    }
}

impl Default for BenchmarkSettings {
    fn default() -> Self {
        Self::Dir(DirBenchmarkSettings::default())
    }
}

impl BenchmarkSettings {
    /// The root of the benchmark tree.
    pub fn root(&self) -> &std::path::Path {
        match self {
            Self::Dir(d) => &d.root,
        }
    }
}

/// `[benchmarks] kind = "dir"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirBenchmarkSettings {
    /// Root of the EFS layout `<root>/<value_stream>/<model_id>/benchmark.csv` (relative to the
    /// workspace root; env `BENCHMARKING_PATH`). Default `benchmarks`.
    #[serde(default = "default_benchmarks_root")]
    pub root: PathBuf,
}

fn default_benchmarks_root() -> PathBuf {
    "benchmarks".into()
}

impl Default for DirBenchmarkSettings {
    fn default() -> Self {
        Self {
            root: default_benchmarks_root(),
        }
    }
}

/// `[metrics]`: where job metrics go, tagged by `kind`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum MetricsSettings {
    /// No metrics (default).
    #[default]
    None,
    /// DogStatsD over UDP (a Datadog agent).
    Dogstatsd(crate::metrics_dogstatsd::DogStatsdSettings),
}

impl Backend for MetricsSettings {
    const SECTION: &'static str = "metrics";
    const KINDS: &'static [&'static str] = &["none", "dogstatsd"];
    const DEFAULT_KIND: &'static str = "none";
    fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Dogstatsd(_) => "dogstatsd",
        }
    }
    fn is_built(&self) -> bool {
        true
    }
}

/// `[retry]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    /// Attempts per run (≥ 1). Seed: 3.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Seconds between attempts. Seed: 300.
    #[serde(default = "default_delay")]
    pub delay_seconds: u64,
}

fn default_attempts() -> u32 {
    3
}
fn default_delay() -> u64 {
    300
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            attempts: default_attempts(),
            delay_seconds: default_delay(),
        }
    }
}

/// `[engine]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    /// ε replacing a zero bin share (0 < ε < 1). Default 1e-4.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Default number of quantile bins B (≥ 2). Default 10.
    #[serde(default = "default_bins")]
    pub bins: usize,
}

fn default_eps() -> f64 {
    crate::engine::DEFAULT_EPS
}
fn default_bins() -> usize {
    crate::engine::DEFAULT_BINS
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            eps: default_eps(),
            bins: default_bins(),
        }
    }
}

/// `[notify]`: where notifications go, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NotifySettings {
    /// JSON lines in an outbox file in the workspace (default).
    Outbox(OutboxSettings),
    /// Slack incoming webhook (URL from the environment).
    Slack(crate::notify::SlackSettings),
    /// E-mail over SMTP (STARTTLS/TLS, auth; password from the environment).
    Email(crate::notify::EmailSettings),
}

impl Backend for NotifySettings {
    const SECTION: &'static str = "notify";
    const KINDS: &'static [&'static str] = &["outbox", "slack", "email"];
    const DEFAULT_KIND: &'static str = "outbox";
    fn kind(&self) -> &'static str {
        match self {
            Self::Outbox(_) => "outbox",
            Self::Slack(_) => "slack",
            Self::Email(_) => "email",
        }
    }
    fn is_built(&self) -> bool {
        true
    }
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self::Outbox(OutboxSettings::default())
    }
}

impl NotifySettings {
    /// Recipients of every failure notice, besides each model's own (empty for a kind not built).
    pub fn email_recipients(&self) -> &[String] {
        match self {
            Self::Outbox(o) => &o.email_recipients,
            Self::Email(e) => &e.email_recipients,
            Self::Slack(_) => &[],
        }
    }
}

/// `[notify] kind = "outbox"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    /// Directory of the outbox file `notifications.jsonl` (relative to the workspace root).
    /// Default `outbox`.
    #[serde(default = "default_outbox")]
    pub outbox: PathBuf,
    /// Recipients of every failure notice, besides each model's own.
    #[serde(default)]
    pub email_recipients: Vec<String>,
    /// Name of the environment variable holding the Slack webhook URL (the secret itself never
    /// sits in a file). Read by the Slack notifier when it is built; the outbox ignores it.
    #[serde(default)]
    pub slack_webhook_env: Option<String>,
}

fn default_outbox() -> PathBuf {
    "outbox".into()
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            outbox: default_outbox(),
            email_recipients: Vec::new(),
            slack_webhook_env: None,
        }
    }
}

/// `[validation]`: used by the benchmark refresh job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationSettings {
    /// Threshold a new benchmark is validated against by the refresh job (env
    /// `VALIDATION_THRESHOLD`; finite, ≥ 0). Default 0.25 (a PSI of the new benchmark against
    /// the previous one at or above this rejects it).
    #[serde(default = "default_validation_threshold")]
    pub threshold: f64,
    /// What a largest CSI (old vs new benchmark) at or above `threshold` does: `warn` (reported,
    /// the refresh goes on; the default, as input features move more than scores between
    /// months) or `fail`.
    #[serde(default)]
    pub csi_severity: Severity,
    /// Minimum rows of a new benchmark (after quarantine). Default 100.
    #[serde(default = "default_min_rows")]
    pub min_rows: u64,
    /// Largest share of missing values allowed in any required column (0..=1). Default 0.95
    /// (an all-missing column always fails).
    #[serde(default = "default_max_missing_share")]
    pub max_missing_share: f64,
    /// New rows / previous benchmark rows must lie in `[min_row_ratio, max_row_ratio]`.
    /// Defaults 0.5 and 3.0.
    #[serde(default = "default_min_row_ratio")]
    pub min_row_ratio: f64,
    /// See `min_row_ratio`.
    #[serde(default = "default_max_row_ratio")]
    pub max_row_ratio: f64,
    /// A numeric column's new minimum (maximum) may lie below (above) the previous benchmark's by
    /// at most this share of the previous range (max − min). Default 0.5.
    #[serde(default = "default_range_tolerance")]
    pub range_tolerance: f64,
    /// What a minimum/maximum beyond that tolerance does: `warn` (default; monthly extremes of
    /// real features move, e.g. weather) or `fail`.
    #[serde(default)]
    pub range_severity: Severity,
}

/// Severity of a validation finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reported; does not stop the refresh.
    #[default]
    Warn,
    /// Rejects the new benchmark.
    Fail,
}

fn default_min_rows() -> u64 {
    100
}
fn default_max_missing_share() -> f64 {
    0.95
}
fn default_min_row_ratio() -> f64 {
    0.5
}
fn default_max_row_ratio() -> f64 {
    3.0
}
fn default_range_tolerance() -> f64 {
    0.5
}

/// `[refresh]`: the benchmark refresh job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshSettings {
    /// Models refreshed at once (≥ 1). Default 2.
    #[serde(default = "default_refresh_concurrency")]
    pub concurrency: usize,
    /// Previous versions kept per model in `versions/` (0 = keep all). Default 12.
    #[serde(default = "default_keep_versions")]
    pub keep_versions: usize,
    /// Largest share of an extract's rows that may be quarantined (rows that cannot be read or
    /// break a row rule) before the refresh of the model fails (0..=1). Default 0.01.
    #[serde(default = "default_max_quarantined_share")]
    pub max_quarantined_share: f64,
}

fn default_refresh_concurrency() -> usize {
    2
}
fn default_keep_versions() -> usize {
    12
}
fn default_max_quarantined_share() -> f64 {
    0.01
}

impl Default for RefreshSettings {
    fn default() -> Self {
        Self {
            concurrency: default_refresh_concurrency(),
            keep_versions: default_keep_versions(),
            max_quarantined_share: default_max_quarantined_share(),
        }
    }
}

fn default_validation_threshold() -> f64 {
    0.25
}

impl Default for ValidationSettings {
    fn default() -> Self {
        Self {
            threshold: default_validation_threshold(),
            csi_severity: Severity::Warn,
            min_rows: default_min_rows(),
            max_missing_share: default_max_missing_share(),
            min_row_ratio: default_min_row_ratio(),
            max_row_ratio: default_max_row_ratio(),
            range_tolerance: default_range_tolerance(),
            range_severity: Severity::Warn,
        }
    }
}

/// `[roles]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesSettings {
    /// Role of users not listed. Default `operator`.
    #[serde(default = "default_role")]
    pub default: Role,
    /// Role per OS user name (the password database entry of the real uid, not `$USER`).
    #[serde(default)]
    pub users: BTreeMap<String, Role>,
}

fn default_role() -> Role {
    Role::Operator
}

impl Default for RolesSettings {
    fn default() -> Self {
        Self {
            default: default_role(),
            users: BTreeMap::new(),
        }
    }
}

/// `[console]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Theme name (`themes/<name>.toml`). Default `dark`.
    #[serde(default = "default_theme")]
    pub theme: String,
    /// Key overrides: action name → key (interpreted by the console).
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

fn default_theme() -> String {
    "dark".into()
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            theme: default_theme(),
            keys: BTreeMap::new(),
        }
    }
}

/// `models.yaml`: the model registry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Every model of the estate.
    #[serde(default)]
    pub models: Vec<ModelConfig>,
    /// Optional settings per value stream (recipients, refresh of its `common/` data).
    #[serde(default)]
    pub value_streams: Vec<ValueStreamConfig>,
}

/// Settings of one value stream (`value_streams:` in models.yaml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueStreamConfig {
    /// The value stream id (models name it in `value_stream`).
    pub id: ValueStream,
    /// Who hears about refreshes and failures of every model of the stream (added to the
    /// models' own recipients).
    #[serde(default)]
    pub recipients: Recipients,
    /// Where the stream's `common/shared_data.csv` is refreshed from.
    #[serde(default)]
    pub refresh: Option<CommonRefreshConfig>,
}

/// Refresh of a value stream's shared data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonRefreshConfig {
    /// Where the new data comes from.
    pub source: RefreshSourceConfig,
    /// Columns that must be present.
    #[serde(default)]
    pub required_columns: Vec<String>,
    /// Minimum rows. Default 1.
    #[serde(default)]
    pub min_rows: Option<u64>,
}

/// Where a new benchmark comes from: exactly one of `path` (a CSV/Parquet extract dropped by an
/// upstream job; relative to the workspace root) or `query` (run by the results store backend:
/// Snowflake).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshSourceConfig {
    /// Extract file (`.csv`, `.parquet`).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// SQL query returning the benchmark population.
    #[serde(default)]
    pub query: Option<String>,
}

/// Benchmark refresh of one model (`refresh:` in models.yaml); validation keys override
/// `[validation]` in driftdeck.toml. The score and characteristics are always required columns
/// with their kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRefreshConfig {
    /// Where the new benchmark comes from.
    pub source: RefreshSourceConfig,
    /// Further columns that must be present (any type), e.g. ids and dates.
    #[serde(default)]
    pub required_columns: Vec<String>,
    /// Key column: a repeated key is a row-level failure (quarantined).
    #[serde(default)]
    pub key: Option<String>,
    /// Allowed `[min, max]` per numeric column, inclusive; a value outside is a row-level failure.
    #[serde(default)]
    pub ranges: BTreeMap<String, [f64; 2]>,
    /// Overrides `[validation] min_rows`.
    #[serde(default)]
    pub min_rows: Option<u64>,
    /// Overrides `[validation] max_missing_share` for every column.
    #[serde(default)]
    pub max_missing_share: Option<f64>,
    /// Largest missing share per column (overrides the general one for that column).
    #[serde(default)]
    pub missing: BTreeMap<String, f64>,
    /// Overrides `[validation] threshold` (PSI old vs new).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Overrides `[validation] csi_severity`.
    #[serde(default)]
    pub csi_severity: Option<Severity>,
}

/// How numeric edges are chosen when no fixed edges are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinningMethod {
    /// Benchmark quantiles (default).
    #[default]
    Quantile,
    /// Equal width between the benchmark's min and max.
    EqualWidth,
}

/// Binning of the score column (`score_binning`); all fields optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinningConfig {
    /// Number of bins (≥ 2); default `[engine] bins`.
    #[serde(default)]
    pub bins: Option<usize>,
    /// Fixed interior edges, strictly increasing (excludes `bins`/`binning`).
    #[serde(default)]
    pub edges: Option<Vec<f64>>,
    /// `quantile` (default) or `equal_width`.
    #[serde(default)]
    pub binning: Option<BinningMethod>,
}

/// One characteristic (input feature) of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharacteristicConfig {
    /// Column name in the benchmark and current data.
    pub name: String,
    /// `numeric` or `categorical`.
    pub kind: Kind,
    /// Number of bins (numeric only, ≥ 2); default `[engine] bins`.
    #[serde(default)]
    pub bins: Option<usize>,
    /// Fixed interior edges (numeric only, strictly increasing).
    #[serde(default)]
    pub edges: Option<Vec<f64>>,
    /// `quantile` (default) or `equal_width` (numeric only).
    #[serde(default)]
    pub binning: Option<BinningMethod>,
}

/// Accepted values of one filter column: `origin: EWR` or `carrier: [AA, DL]` (numbers and
/// booleans are kept as their text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "OneOrMany", into = "Vec<String>")]
pub struct FilterValues(pub Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Scalar),
    Many(Vec<Scalar>),
}

impl From<OneOrMany> for FilterValues {
    fn from(v: OneOrMany) -> Self {
        match v {
            OneOrMany::One(s) => FilterValues(vec![s.text()]),
            OneOrMany::Many(v) => FilterValues(v.into_iter().map(Scalar::text).collect()),
        }
    }
}

impl From<FilterValues> for Vec<String> {
    fn from(v: FilterValues) -> Self {
        v.0
    }
}

/// Where a model's current population comes from: exactly one of a file pattern (`path`) or a
/// Snowflake query template (`query`, run through the `[store] kind = "snowflake"` client).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrentConfig {
    /// File pattern with `{date}` (YYYY-MM-DD), `{month}` (YYYY-MM), `{year}`; relative to the
    /// workspace root, absolute after loading. Empty when `query` is given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Snowflake query template returning the current rows of the window: `{date}` (the
    /// calculation date) and `{from}` (the window's first date, `window_days − 1` days
    /// earlier) become `DATE` literals. Needs `[store] kind = "snowflake"`; `filter` does not
    /// apply (the query selects), `date_column` names the result's date column for the coverage
    /// check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Column holding each row's date (ISO text or Parquet date); None = the whole file is the
    /// population of its date(s).
    #[serde(default)]
    pub date_column: Option<String>,
    /// Trailing window in days ending on the calculation date (1 = that date only). 1..=366.
    #[serde(default = "default_window")]
    pub window_days: u32,
    /// Row filters `column: value | [values]`, all must hold.
    #[serde(default)]
    pub filter: BTreeMap<String, FilterValues>,
}

fn default_window() -> u32 {
    1
}

/// Who hears about a model's failures and alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipients {
    /// E-mail addresses (env `EMAIL_RECIPIENTS` replaces them for every model).
    #[serde(default)]
    pub email: Vec<String>,
    /// Slack channel, e.g. `#airport-models`.
    #[serde(default)]
    pub slack: Option<String>,
}

/// One model of the registry: a scored population monitored daily.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Model id (validated: 1–63 of `[a-z0-9_-]`, a path segment and Kubernetes name part).
    pub id: ModelId,
    /// Value stream (same rule).
    pub value_stream: ValueStream,
    /// Owning team or person.
    pub owner: String,
    /// Optional human description.
    #[serde(default)]
    pub description: Option<String>,
    /// Cron schedule of the daily run (5 fields, Kubernetes CronJob syntax, or `@daily`...).
    pub schedule: String,
    /// Score column (the model output; its index is the PSI). Always numeric.
    pub score: String,
    /// Optional binning of the score (default: `[engine] bins` quantile bins).
    #[serde(default)]
    pub score_binning: Option<BinningConfig>,
    /// Characteristics (input features; each index is a CSI).
    #[serde(default)]
    pub characteristics: Vec<CharacteristicConfig>,
    /// Warn/alert thresholds (default warn 0.1, alert 0.25; env `THRESHOLD` sets alert).
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Benchmark file override (env `MODEL_<ID>_BENCHMARKING_PATH`); None = the EFS layout path
    /// `<benchmarks.root>/<value_stream>/<id>/benchmark.csv`. Absolute after loading.
    #[serde(default)]
    pub benchmark: Option<PathBuf>,
    /// Current population source.
    pub current: CurrentConfig,
    /// Notification recipients.
    #[serde(default)]
    pub recipients: Recipients,
    /// Data-quality overrides of `[quality]` for this model (e.g. `key_column`, `min_rows`).
    #[serde(default)]
    pub quality: crate::quality::QualityOverrides,
    /// Benchmark refresh (source and validation); None = the model is not refreshed.
    #[serde(default)]
    pub refresh: Option<ModelRefreshConfig>,
}
