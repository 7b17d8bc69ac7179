//! Console bootstrap: find the configuration (or fall back to the demo workspace), create the demo
//! workspace on first use with visible progress, open the backends and run the console on a tokio
//! runtime. The console itself lives in [`crate::console`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use color_eyre::eyre::{Result, WrapErr, eyre};

use crate::cli::ConsoleArgs;
use crate::config::Backend;
use crate::config::{self, Config, ConfigError};
use crate::console::{self, ConsoleContext, OrchestratorAdapter, UnavailableStore};
use crate::domain::Role;
use crate::store::ResultsStore;
use crate::{demo, jobs, wiring};

/// Where the demo workspace lives when no configuration exists at all: the XDG data directory
/// (`~/.local/share/driftdeck/demo`), else `./demo-workspace`.
pub fn demo_home() -> PathBuf {
    directories::ProjectDirs::from("", "", "driftdeck")
        .map(|d| d.data_dir().join("demo"))
        .unwrap_or_else(demo::default_dir)
}

/// Loads the configuration for the console. Without any configuration file (and no `--config`),
/// the demo workspace in [`demo_home`] is used, created on first use.
fn load_config(explicit: Option<&Path>) -> Result<Config> {
    match config::load(explicit) {
        Ok(c) => Ok(c),
        Err(ConfigError::NotFound { .. }) if explicit.is_none() => {
            let dir = demo_home();
            eprintln!(
                "driftdeck: no configuration found; using the demo workspace in {}",
                dir.display()
            );
            if !demo::is_initialized(&dir) {
                demo::init(&dir, true, &|m| eprintln!("  {m}"))?;
            }
            Ok(config::load(Some(&demo::config_path(&dir)))?)
        }
        Err(e) => Err(e.into()),
    }
}

/// For a workspace marked `demo = true`: lays it out if missing and backfills the demo year if the
/// store holds no result yet, printing progress (this is the only slow start, about seconds).
fn prepare_demo(config: Config) -> Result<Config> {
    if !config.settings.workspace.demo {
        return Ok(config);
    }
    let root = &config.workspace_root;
    let store_ready = match &config.settings.store {
        crate::config::StoreSettings::Sqlite(s) => s.path.is_file(),
        _ => true,
    };
    let ready = store_ready && config.settings.benchmarks.root().is_dir();
    if !ready {
        eprintln!(
            "driftdeck: creating the demo workspace in {} ...",
            root.display()
        );
        demo::init(root, true, &|m| eprintln!("  {m}"))?;
    }
    let ws = jobs::setup::Workspace::from_config(config)?;
    if ws.ctx.store.latest_results()?.is_empty() {
        eprintln!(
            "driftdeck: computing daily PSI/CSI for the demo estate up to {} (December is left for you to backfill) ...",
            demo::CONSOLE_HISTORY_TO
        );
        demo::backfill_year(&ws, Some(demo::console_history_to()), &|m| {
            eprintln!("  {m}")
        })?;
    }
    Ok(ws.config)
}

/// Opens the console (`driftdeck` with no subcommand).
///
/// # Errors
/// An invalid `--role`, a configuration that does not load (file and key named), or a terminal
/// that cannot be initialised. A results store that cannot be opened is not an error: the console
/// starts and shows it where the data would be.
pub fn run_console(explicit: Option<&Path>, args: &ConsoleArgs) -> Result<ExitCode> {
    let requested_role = args
        .role
        .as_deref()
        .map(str::parse::<Role>)
        .transpose()
        .map_err(|e| eyre!(e))
        .wrap_err("--role")?;
    let config = prepare_demo(load_config(explicit)?)?;
    let store: Arc<dyn ResultsStore> = match wiring::results_store(&config) {
        Ok(s) => {
            // Attempts of killed jobs become `lost` when the console starts (issue 11 #1).
            jobs::lease::reap(s.as_ref());
            s
        }
        Err(e) => Arc::new(UnavailableStore {
            backend: config.settings.store.kind(),
            message: e.to_string(),
        }),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .wrap_err("cannot start the async runtime")?;
    runtime.block_on(async {
        let orchestrator =
            wiring::orchestrator(&config).wrap_err("cannot start the orchestrator")?;
        // `f` runs `refresh-benchmarks` jobs once a model names a refresh source.
        let refresh_configured = !crate::refresh::refreshable(&config).is_empty();
        let orchestrator = Arc::new(OrchestratorAdapter::new(orchestrator, refresh_configured));
        let mut ctx = ConsoleContext::from_config(
            &config,
            store,
            orchestrator,
            requested_role,
            args.read_only,
            args.theme.as_deref(),
        );
        // The refresh view (`B`) and rollback (`u`) read reports and versions of this workspace.
        ctx.refresh = Some(Arc::new(console::refreshes::WorkspaceRefreshes::new(
            config.clone(),
        )));
        let checked = config.clone();
        ctx.health_check = Some(Box::new(move || {
            wiring::health(&checked)
                .into_iter()
                .filter_map(|h| {
                    h.outcome
                        .err()
                        .map(|problem| format!("{}: {problem} — fix: {}", h.backend, h.fix))
                })
                .collect()
        }));
        console::run_console(ctx).await
    })?;
    Ok(ExitCode::SUCCESS)
}
