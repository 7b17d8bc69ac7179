//! Finding, parsing, overriding (env) and resolving the configuration files.

use std::path::{Component, Path, PathBuf};

use super::types::{
    BenchmarkSettings, NotifySettings, OrchestratorSettings, Registry, Settings, StoreSettings,
};
use super::validate::validate;
use super::{Config, ConfigError};
use crate::domain::ModelId;

/// Reads one environment variable (`None` = unset). Tests pass a map lookup instead of the
/// process environment.
pub type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Inputs of configuration discovery, injectable for tests.
pub struct Discovery<'a> {
    /// `--config PATH`, if given.
    pub explicit: Option<&'a Path>,
    /// Environment lookup (`DRIFTDECK_CONFIG` and the overrides).
    pub env: EnvFn<'a>,
    /// The XDG config dir (`$XDG_CONFIG_HOME` or `~/.config`); None to skip it.
    pub config_dir: Option<PathBuf>,
    /// Directory `./config/driftdeck.toml` is looked for in.
    pub cwd: PathBuf,
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Loads the configuration from the real environment: discovery as in [`find_settings`], env
/// overrides from the process environment.
///
/// # Errors
/// Any [`ConfigError`].
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let cwd = std::env::current_dir().map_err(|e| ConfigError::Io {
        path: PathBuf::from("."),
        message: e.to_string(),
    })?;
    let config_dir = directories::BaseDirs::new().map(|b| b.config_dir().to_path_buf());
    load_with(&Discovery {
        explicit,
        env: &process_env,
        config_dir,
        cwd,
    })
}

/// Loads the configuration found by [`find_settings`] with `d.env` for overrides.
///
/// # Errors
/// Any [`ConfigError`].
pub fn load_with(d: &Discovery<'_>) -> Result<Config, ConfigError> {
    let path = find_settings(d)?;
    load_from(&path, d.env)
}

/// Where `driftdeck.toml` is: `explicit`, then `DRIFTDECK_CONFIG`, then
/// `<config_dir>/driftdeck/driftdeck.toml`, then `<cwd>/config/driftdeck.toml`. An explicit or
/// `DRIFTDECK_CONFIG` path that does not exist is an error (no fallback).
///
/// # Errors
/// [`ConfigError::NotFound`] listing the places looked at.
pub fn find_settings(d: &Discovery<'_>) -> Result<PathBuf, ConfigError> {
    let absolute = |p: PathBuf| if p.is_absolute() { p } else { d.cwd.join(p) };
    if let Some(p) = d.explicit {
        let p = absolute(p.to_path_buf());
        return if p.is_file() {
            Ok(p)
        } else {
            Err(ConfigError::NotFound { searched: vec![p] })
        };
    }
    if let Some(p) = (d.env)("DRIFTDECK_CONFIG").filter(|s| !s.is_empty()) {
        let p = absolute(PathBuf::from(p));
        return if p.is_file() {
            Ok(p)
        } else {
            Err(ConfigError::NotFound { searched: vec![p] })
        };
    }
    let mut searched = Vec::new();
    if let Some(dir) = &d.config_dir {
        searched.push(dir.join("driftdeck").join("driftdeck.toml"));
    }
    searched.push(d.cwd.join("config").join("driftdeck.toml"));
    match searched.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(ConfigError::NotFound { searched }),
    }
}

/// The environment variable overriding a model's benchmark file:
/// `MODEL_<ID>_BENCHMARKING_PATH` with the id uppercased and `-` → `_`; for an id that already
/// starts with `model_` the prefix is not doubled (`model_x` → `MODEL_X_BENCHMARKING_PATH`).
pub fn model_env_var(id: &ModelId) -> String {
    let upper = id.as_str().to_ascii_uppercase().replace('-', "_");
    if upper.starts_with("MODEL_") {
        format!("{upper}_BENCHMARKING_PATH")
    } else {
        format!("MODEL_{upper}_BENCHMARKING_PATH")
    }
}

/// Every variable read for a model's benchmark file, first found wins: [`model_env_var`], then
/// for `model_*` ids also the doubled form `MODEL_MODEL_X_BENCHMARKING_PATH` of earlier releases.
pub fn model_env_vars(id: &ModelId) -> Vec<String> {
    let first = model_env_var(id);
    let doubled = format!(
        "MODEL_{}_BENCHMARKING_PATH",
        id.as_str().to_ascii_uppercase().replace('-', "_")
    );
    if doubled == first {
        vec![first]
    } else {
        vec![first, doubled]
    }
}

/// Applies `BENCHMARKING_PATH`. A directory (or a path without a file extension that does not
/// exist yet) is the benchmark root. A file, as in the seed's per-model ConfigMap
/// (`/mnt/efs/<value_stream>/<model_id>/benchmark.csv`), is the benchmark of the model whose id
/// and value stream are its parent directories; the root becomes the directory above them, so the
/// other models keep the EFS layout.
///
/// # Errors
/// [`ConfigError::Env`] for a file whose parent directories name no registered model.
fn benchmarking_path(
    path: &Path,
    value: &str,
    settings: &mut Settings,
    registry: &mut Registry,
) -> Result<(), ConfigError> {
    let is_file = path.is_file() || (!path.exists() && path.extension().is_some());
    let BenchmarkSettings::Dir(dir) = &mut settings.benchmarks;
    if !is_file {
        dir.root = path.to_path_buf();
        return Ok(());
    }
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
    };
    let model_dir = path.parent();
    let vs_dir = model_dir.and_then(Path::parent);
    let (model, vs) = (name(model_dir), name(vs_dir));
    let found = registry.models.iter_mut().find(|m| {
        Some(m.id.as_str()) == model.as_deref() && Some(m.value_stream.as_str()) == vs.as_deref()
    });
    let Some(m) = found else {
        return Err(ConfigError::Env {
            var: "BENCHMARKING_PATH".into(),
            value: value.to_string(),
            message: "a benchmark file must sit in <root>/<value_stream>/<model_id>/ of a registered model (or give the benchmark root directory)".into(),
        });
    };
    m.benchmark = Some(path.to_path_buf());
    if let Some(root) = vs_dir.and_then(Path::parent) {
        dir.root = root.to_path_buf();
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Lexically normalises `.` and `..` (the path need not exist yet).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The key path of the TOML key on `line`: the nearest `[table]` header above plus the key.
fn toml_key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?.trim();
    let key = here
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string());
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| l.trim_matches(['[', ']']).trim().to_string());
    match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(_), None) if here.starts_with('[') => Some(here.trim_matches(['[', ']']).to_string()),
        (Some(t), None) => Some(t),
        (None, None) if here.starts_with('[') => Some(here.trim_matches(['[', ']']).to_string()),
        (None, None) => None,
    }
}

fn parse_settings(path: &Path, text: &str) -> Result<Settings, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        let message = e.message().trim().to_string();
        let mut key = line.and_then(|l| toml_key_at(text, l));
        // Inside a backend section (read through its `kind`) the span is the whole table: name
        // the unknown field itself.
        if let Some(k) = &key
            && !k.contains('.')
            && let Some(field) = message
                .strip_prefix("unknown field `")
                .and_then(|r| r.split('`').next())
        {
            key = Some(format!("{k}.{field}"));
        }
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            key,
            message,
        }
    })
}

fn parse_registry(path: &Path, text: &str) -> Result<Registry, ConfigError> {
    serde_yaml_ng::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        let full = e.to_string();
        // serde_yaml_ng prefixes the key path ("models[0].id: ...") and suffixes the location.
        let (key, rest) = match full.split_once(": ") {
            Some((k, r)) if !k.contains(' ') => (Some(k.to_string()), r.to_string()),
            _ => (None, full.clone()),
        };
        let message = match rest.rfind(" at line ") {
            Some(i) => rest[..i].to_string(),
            None => rest,
        };
        // Id conversion errors surface at the model, not at its field: name the field.
        let key = key.map(|k| {
            if message.starts_with("invalid model id") && k.ends_with(']') {
                format!("{k}.id")
            } else if message.starts_with("invalid value stream") && k.ends_with(']') {
                format!("{k}.value_stream")
            } else {
                k
            }
        });
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            key,
            message,
        }
    })
}

fn env_f64(env: EnvFn<'_>, var: &str) -> Result<Option<f64>, ConfigError> {
    match env(var).filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
            _ => Err(ConfigError::Env {
                var: var.to_string(),
                message: "expected a finite number ≥ 0".into(),
                value: v,
            }),
        },
    }
}

/// Loads `driftdeck.toml` at `settings_path` (no discovery) and its `models.yaml`, applies the
/// env overrides read through `env`, resolves paths and validates.
///
/// # Errors
/// [`ConfigError::Io`], [`ConfigError::Parse`] (file, line, key), [`ConfigError::Env`],
/// [`ConfigError::Invalid`] (every problem with its key path).
pub fn load_from(settings_path: &Path, env: EnvFn<'_>) -> Result<Config, ConfigError> {
    let settings_path = if settings_path.is_absolute() {
        normalize(settings_path)
    } else {
        let cwd = std::env::current_dir().map_err(|e| ConfigError::Io {
            path: settings_path.to_path_buf(),
            message: e.to_string(),
        })?;
        normalize(&cwd.join(settings_path))
    };
    let config_dir = settings_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let mut settings = parse_settings(&settings_path, &read(&settings_path)?)?;

    let models_path = normalize(&config_dir.join(&settings.workspace.models));
    let mut registry = parse_registry(&models_path, &read(&models_path)?)?;

    // Workspace root.
    let default_root = if config_dir.file_name().is_some_and(|n| n == "config") {
        PathBuf::from("..")
    } else {
        PathBuf::from(".")
    };
    let root_rel = settings.workspace.root.clone().unwrap_or(default_root);
    let workspace_root = normalize(&config_dir.join(root_rel));
    let resolve = |p: &Path| normalize(&workspace_root.join(p));

    // Env overrides (seed ConfigMap keys).
    // The seed ConfigMap knows one threshold: it sets alert and wins over a configured warn above
    // it (the warn band is then empty) rather than breaking every job of the estate.
    if let Some(t) = env_f64(env, "THRESHOLD")? {
        for m in &mut registry.models {
            m.thresholds.alert = t;
            m.thresholds.warn = m.thresholds.warn.min(t);
        }
    }
    if let Some(t) = env_f64(env, "VALIDATION_THRESHOLD")? {
        settings.validation.threshold = t;
    }
    if let Some(value) = env("BENCHMARKING_PATH").filter(|s| !s.trim().is_empty()) {
        let path = PathBuf::from(value.trim());
        let path = if path.is_absolute() {
            path
        } else {
            workspace_root.join(path)
        };
        benchmarking_path(&path, &value, &mut settings, &mut registry)?;
    }
    if let Some(list) = env("EMAIL_RECIPIENTS") {
        let emails: Vec<String> = list
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        for m in &mut registry.models {
            m.recipients.email = emails.clone();
        }
    }
    for m in &mut registry.models {
        let found = model_env_vars(&m.id)
            .iter()
            .find_map(|var| env(var).filter(|s| !s.trim().is_empty()));
        if let Some(p) = found {
            m.benchmark = Some(PathBuf::from(p.trim()));
        }
    }

    // `DRIFTDECK_PENDING_PATH`: where the Snowflake store's pending queue lives; `render k8s`
    // sets it in every job pod to a file on the EFS volume (never the pod's disk).
    if let (StoreSettings::Snowflake(s), Some(p)) = (
        &mut settings.store,
        env("DRIFTDECK_PENDING_PATH").filter(|p| !p.trim().is_empty()),
    ) {
        s.pending_path = PathBuf::from(p.trim());
    }

    // Paths → absolute.
    settings.workspace.root = Some(workspace_root.clone());
    settings.workspace.models = models_path.clone();
    match &mut settings.store {
        StoreSettings::Sqlite(s) => s.path = resolve(&s.path),
        StoreSettings::Snowflake(s) => {
            s.pending_path = resolve(&s.pending_path);
            s.ca_file = s.ca_file.as_deref().map(resolve);
            s.password_file = s.password_file.as_deref().map(resolve);
            s.private_key_file = s.private_key_file.as_deref().map(resolve);
        }
    }
    if let OrchestratorSettings::Local(l) = &mut settings.orchestrator {
        l.log_dir = resolve(&l.log_dir);
    }
    let BenchmarkSettings::Dir(b) = &mut settings.benchmarks;
    b.root = resolve(&b.root);
    if let NotifySettings::Outbox(o) = &mut settings.notify {
        o.outbox = resolve(&o.outbox);
    }
    for m in &mut registry.models {
        m.benchmark = m.benchmark.as_deref().map(resolve);
        if !m.current.path.trim().is_empty() {
            m.current.path = resolve(Path::new(&m.current.path))
                .to_string_lossy()
                .into_owned();
        }
    }

    validate(&settings_path, &settings, &models_path, &registry)?;
    Ok(Config {
        settings,
        models: registry.models,
        value_stream_settings: registry.value_streams,
        settings_path,
        models_path,
        workspace_root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(
            normalize(Path::new("/a/config/../ws/./x")),
            PathBuf::from("/a/ws/x")
        );
    }

    #[test]
    fn toml_key_paths() {
        let text = "[store]\nkind = \"sqlite\"\n\n[engine]\nepz = 1\n";
        assert_eq!(toml_key_at(text, 5).as_deref(), Some("engine.epz"));
        assert_eq!(toml_key_at(text, 2).as_deref(), Some("store.kind"));
    }

    #[test]
    fn model_env_var_names() {
        let id = ModelId::new("jfk-delay_2").expect("id");
        assert_eq!(model_env_var(&id), "MODEL_JFK_DELAY_2_BENCHMARKING_PATH");
    }
}
