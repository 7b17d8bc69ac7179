//! Configuration: `driftdeck.toml` ([`Settings`]) + `models.yaml` ([`Registry`]) + env overrides in
//! the seed ConfigMap style, loaded into one validated [`Config`] whose paths are all absolute.
//!
//! Discovery of `driftdeck.toml`: `--config PATH`, env `DRIFTDECK_CONFIG`, the XDG config dir
//! (`$XDG_CONFIG_HOME/driftdeck/driftdeck.toml`), then `./config/driftdeck.toml`.
//! `models.yaml` is `[workspace] models` (default `models.yaml` beside `driftdeck.toml`).
//! Relative paths resolve against the workspace root = `[workspace] root` relative to the
//! directory of `driftdeck.toml` (default `..` when that directory is named `config`, else `.`).
//!
//! Env overrides (applied after parsing, before validation): `THRESHOLD` → every model's alert
//! threshold; `BENCHMARKING_PATH` → `[benchmarks] root` (a directory) or, as in the seed's ConfigMap,
//! one model's benchmark file `<root>/<value_stream>/<model_id>/benchmark.csv`;
//! `MODEL_<ID>_BENCHMARKING_PATH` (id uppercased, `-` → `_`, no doubled `MODEL_` for ids starting
//! with `model_`) → that model's benchmark file; `EMAIL_RECIPIENTS` (comma list) → every
//! model's e-mail recipients; `VALIDATION_THRESHOLD` → `[validation] threshold`.

mod kubernetes;
mod load;
mod types;
mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use kubernetes::KubernetesSettings;
pub use load::{
    Discovery, EnvFn, find_settings, load, load_from, load_with, model_env_var, model_env_vars,
};
pub use types::{
    Backend, BenchmarkSettings, BinningConfig, BinningMethod, CharacteristicConfig,
    ConsoleSettings, CurrentConfig, DirBenchmarkSettings, EngineSettings, FilterValues,
    LocalOrchestratorSettings, MetricsSettings, ModelConfig, NotBuilt, NotifySettings,
    OrchestratorSettings, OutboxSettings, Recipients, Registry, RetrySettings, RolesSettings,
    Settings, SqliteSettings, StoreSettings, ValidationSettings, WorkspaceSettings,
};
pub use types::{
    CommonRefreshConfig, ModelRefreshConfig, RefreshSettings, RefreshSourceConfig, Severity,
    ValueStreamConfig,
};

use crate::domain::ColumnRole;
use crate::domain::ValueStream;
use crate::engine::{Binning, ColumnSpec, EngineOptions, Kind};
use crate::sources::{
    ColumnRequest, FileCache, FilePatternSource, KindHint, SourceError, ValueFilter,
};

/// One problem found by validation: the key path (e.g. `models[2].thresholds`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Key path inside the file, e.g. `models[0].characteristics[3].edges` or `engine.eps`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// Why the configuration could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// No `driftdeck.toml` found (or an explicit / `DRIFTDECK_CONFIG` path does not exist).
    #[error("no driftdeck.toml found; looked at: {}", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound {
        /// Every place looked at, in order.
        searched: Vec<PathBuf>,
    },
    /// A file could not be read.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// TOML/YAML syntax or schema error (unknown key, wrong type, invalid id...).
    #[error("{}{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), key.as_ref().map(|k| format!(" (key {k})")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line, when the parser gives it.
        line: Option<usize>,
        /// Key path, when known.
        key: Option<String>,
        /// The parser's message.
        message: String,
    },
    /// Semantic validation failed; every problem is listed.
    #[error("{}: invalid configuration:{}", path.display(), problems.iter().map(|p| format!("\n  - {}: {}", p.key, p.message)).collect::<String>())]
    Invalid {
        /// The file the problems are in.
        path: PathBuf,
        /// Each problem with its key path.
        problems: Vec<Problem>,
    },
    /// An environment override has a value that cannot be used.
    #[error("environment variable {var}={value:?}: {message}")]
    Env {
        /// Variable name.
        var: String,
        /// Its value.
        value: String,
        /// What is wrong.
        message: String,
    },
    /// A model id that is not in the registry.
    #[error("unknown model {id:?}; known models: {}", known.join(", "))]
    UnknownModel {
        /// The id asked for.
        id: String,
        /// Every model id of the registry.
        known: Vec<String>,
    },
}

/// The loaded, validated configuration. Every path in it is absolute.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `driftdeck.toml` (paths resolved, env overrides applied).
    pub settings: Settings,
    /// The models of `models.yaml` in file order (paths resolved, env overrides applied).
    pub models: Vec<ModelConfig>,
    /// The `driftdeck.toml` that was loaded.
    pub settings_path: PathBuf,
    /// The `models.yaml` that was loaded.
    pub models_path: PathBuf,
    /// The workspace root (same as `settings.workspace.root`).
    pub workspace_root: PathBuf,
    /// `value_streams:` of models.yaml (recipients, refresh of `common/` data).
    pub value_stream_settings: Vec<ValueStreamConfig>,
}

impl Config {
    /// The model `id`.
    ///
    /// # Errors
    /// [`ConfigError::UnknownModel`] listing the known ids.
    pub fn model(&self, id: &str) -> Result<&ModelConfig, ConfigError> {
        self.models
            .iter()
            .find(|m| m.id.as_str() == id)
            .ok_or_else(|| ConfigError::UnknownModel {
                id: id.to_string(),
                known: self.models.iter().map(|m| m.id.to_string()).collect(),
            })
    }

    /// Models of one value stream, in file order (empty if none).
    pub fn models_in(&self, value_stream: &str) -> Vec<&ModelConfig> {
        self.models
            .iter()
            .filter(|m| m.value_stream.as_str() == value_stream)
            .collect()
    }

    /// Distinct value streams in order of first appearance.
    pub fn value_streams(&self) -> Vec<&ValueStream> {
        let mut out: Vec<&ValueStream> = Vec::new();
        for m in &self.models {
            if !out.contains(&&m.value_stream) {
                out.push(&m.value_stream);
            }
        }
        out
    }

    /// Engine options from `[engine]`.
    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            eps: self.settings.engine.eps,
        }
    }

    /// The engine column specs of `model`: the score first (role score, numeric), then each
    /// characteristic in file order. Bins default to `[engine] bins` quantile bins.
    pub fn column_specs(&self, model: &ModelConfig) -> Vec<ColumnSpec> {
        let default_bins = self.settings.engine.bins;
        let score = model.score_binning.clone().unwrap_or_default();
        let mut specs = vec![ColumnSpec {
            name: model.score.clone(),
            role: ColumnRole::Score,
            kind: Kind::Numeric,
            binning: binning_of(
                score.bins,
                score.edges.as_deref(),
                score.binning,
                default_bins,
            ),
        }];
        for c in &model.characteristics {
            specs.push(ColumnSpec {
                name: c.name.clone(),
                role: ColumnRole::Characteristic,
                kind: c.kind,
                binning: binning_of(c.bins, c.edges.as_deref(), c.binning, default_bins),
            });
        }
        specs
    }

    /// The current population source of `model`, sharing `cache` with other models.
    ///
    /// # Errors
    /// [`SourceError::Pattern`] (cannot happen for a validated config).
    pub fn current_source(
        &self,
        model: &ModelConfig,
        cache: Arc<FileCache>,
    ) -> Result<FilePatternSource, SourceError> {
        let filters = model
            .current
            .filter
            .iter()
            .map(|(col, vals)| ValueFilter::new(col.clone(), vals.0.clone()))
            .collect();
        FilePatternSource::new(
            model.current.path.clone(),
            model.current.date_column.clone(),
            model.current.window_days,
            filters,
            cache,
        )
    }

    /// Directory holding `driftdeck.toml`.
    pub fn config_dir(&self) -> &Path {
        self.settings_path.parent().unwrap_or(Path::new("/"))
    }
}

impl ModelConfig {
    /// The columns to read for this model (benchmark and current): the score as numeric, then
    /// each characteristic with its kind.
    pub fn column_requests(&self) -> Vec<ColumnRequest> {
        let mut out = vec![ColumnRequest::new(self.score.clone(), KindHint::Numeric)];
        out.extend(
            self.characteristics
                .iter()
                .map(|c| ColumnRequest::new(c.name.clone(), c.kind.into())),
        );
        out
    }
}

fn binning_of(
    bins: Option<usize>,
    edges: Option<&[f64]>,
    method: Option<BinningMethod>,
    default_bins: usize,
) -> Binning {
    if let Some(e) = edges {
        return Binning::Fixed { edges: e.to_vec() };
    }
    let bins = bins.unwrap_or(default_bins);
    match method.unwrap_or_default() {
        BinningMethod::Quantile => Binning::Quantile { bins },
        BinningMethod::EqualWidth => Binning::EqualWidth { bins },
    }
}
