//! The operations console (`driftdeck` with no subcommand): model status, drift trends,
//! drill-down to characteristics and bins, run attempts, job logs, and one-key actions.
//!
//! Architecture (README, Design §7): the [`runtime`] owns one channel of [`app::Msg`]; background
//! tasks send messages; [`app::update`] is pure and returns [`app::Effect`]s; [`view::view`]
//! draws from state only, and only when the state changed. Anything that writes or runs is an
//! [`action::Action`] that passes a confirm dialog and then the [`action::Dispatcher`], which
//! enforces roles and `--read-only` and writes the audit log.
//!
//! Entry point: [`run_console`] with a [`ConsoleContext`].

pub mod action;
pub mod adapter;
pub mod app;
#[cfg(any(test, feature = "testkit"))]
pub mod fixture;
pub mod keys;
pub mod logbuf;
pub mod refreshes;
pub mod runtime;
pub mod theme;
pub mod view;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::Role;
use crate::store::ResultsStore;

pub use crate::orchestrator::NoOrchestrator;
pub use adapter::OrchestratorAdapter;
pub use app::{App, Effect, ModelMeta, Msg, Session, update};
pub use keys::KeyMap;
pub use theme::Theme;
pub use view::view;

/// Everything the console needs from the rest of the program. Built by `main.rs`.
pub struct ConsoleContext {
    /// Results store (use [`UnavailableStore`] when opening failed: the console then shows the
    /// error instead of refusing to start).
    pub store: Arc<dyn ResultsStore>,
    /// Orchestrator that runs jobs (over [`NoOrchestrator`] when none is configured).
    pub orchestrator: Arc<OrchestratorAdapter>,
    /// Configured models.
    pub models: Vec<ModelMeta>,
    /// Workspace name for the header.
    pub workspace: String,
    /// Workspace root: relative log paths of runs resolve against it.
    pub workspace_root: PathBuf,
    /// OS user name of the real uid (audit, `triggered_by`, role lookup).
    pub user: String,
    /// Role in force (already capped by the configured role).
    pub role: Role,
    /// `--read-only`.
    pub read_only: bool,
    /// Theme (see [`Theme::load_or_default`]).
    pub theme: Theme,
    /// Key registry with overrides applied (see [`KeyMap::with_overrides`]).
    pub keys: KeyMap,
    /// Directory where `s` in the log pane saves logs.
    pub save_dir: PathBuf,
    /// Period of the background refresh.
    pub refresh_every: Duration,
    /// Warnings to show at start (bad theme, bad key override, config fallbacks).
    pub warnings: Vec<String>,
    /// The backends' health check, run once on a blocking thread at start (it does I/O); it
    /// returns one line per failing backend, shown in the header. `None` = no check.
    pub health_check: Option<HealthCheck>,
    /// Refresh reports and rollbacks (the refresh view, `u`); `None` = not available.
    pub refresh: Option<Arc<dyn refreshes::RefreshBackend>>,
}

/// See [`ConsoleContext::health_check`].
pub type HealthCheck = Box<dyn FnOnce() -> Vec<String> + Send>;

/// The OS user name of the real uid (see [`crate::identity::os_user`]; environment variables
/// are ignored, issue 11 #7).
pub fn os_user() -> String {
    crate::identity::os_user()
}

impl ConsoleContext {
    /// A context with defaults: operator role, dark theme, default keys, 5 s refresh.
    pub fn new(
        store: Arc<dyn ResultsStore>,
        orchestrator: Arc<OrchestratorAdapter>,
        models: Vec<ModelMeta>,
    ) -> Self {
        let user = os_user();
        Self {
            store,
            orchestrator,
            models,
            workspace: "workspace".into(),
            workspace_root: PathBuf::from("."),
            user,
            role: Role::Operator,
            read_only: false,
            theme: Theme::default(),
            keys: KeyMap::default(),
            save_dir: PathBuf::from("."),
            refresh_every: Duration::from_secs(5),
            warnings: Vec::new(),
            health_check: None,
            refresh: None,
        }
    }

    /// The initial [`App`] state for this context.
    pub fn into_app(self) -> App {
        let session = Session {
            workspace: self.workspace,
            orchestrator: self.orchestrator.label(),
            store: self.store.backend().to_string(),
            user: self.user,
            role: self.role,
            read_only: self.read_only,
            refresh_configured: self.orchestrator.refresh_configured(),
            save_dir: self.save_dir,
        };
        let mut app = App::new(session, self.models, self.theme, self.keys);
        if !self.warnings.is_empty() {
            for w in &self.warnings {
                tracing::warn!("{w}");
            }
            app.status = Some(app::StatusLine {
                level: app::Level::Warn,
                text: self.warnings.join("; "),
            });
        }
        app
    }
}

/// The role in force: the `--role` flag may lower the configured role, never raise it.
/// Returns the warning to show when a higher role was asked for.
pub fn effective_role(configured: Role, requested: Option<Role>) -> (Role, Option<String>) {
    match requested {
        Some(r) if r > configured => (
            configured,
            Some(format!(
                "--role {r} exceeds your configured role {configured}; using {configured}"
            )),
        ),
        Some(r) => (r, None),
        None => (configured, None),
    }
}

impl ConsoleContext {
    /// A context from the loaded configuration: workspace name and root, models with their
    /// thresholds and owners, the user's role from `[roles]` (capped `--role`), the theme
    /// (`theme_override` = `--theme`, else `[console] theme`; files in `<config dir>/themes/`
    /// override built-ins; `NO_COLOR` respected), key overrides from `[console] keys`, logs
    /// saved under `<log_dir>/saved`. Problems become start-up warnings, never errors.
    pub fn from_config(
        config: &crate::config::Config,
        store: Arc<dyn ResultsStore>,
        orchestrator: Arc<OrchestratorAdapter>,
        requested_role: Option<Role>,
        read_only: bool,
        theme_override: Option<&str>,
    ) -> Self {
        let models = config
            .models
            .iter()
            .map(|m| ModelMeta {
                model_id: m.id.to_string(),
                value_stream: m.value_stream.to_string(),
                thresholds: m.thresholds,
                owner: Some(m.owner.clone()),
            })
            .collect();
        let mut ctx = ConsoleContext::new(store, orchestrator, models);
        let s = &config.settings;
        let configured = s
            .roles
            .users
            .get(&ctx.user)
            .copied()
            .unwrap_or(s.roles.default);
        let (role, warning) = effective_role(configured, requested_role);
        ctx.warnings.extend(warning);
        ctx.role = role;
        ctx.read_only = read_only;
        ctx.workspace = s.workspace.name.clone();
        ctx.workspace_root = config.workspace_root.clone();
        ctx.save_dir = s
            .orchestrator
            .log_dir()
            .map(|d| d.join("saved"))
            .unwrap_or_else(|| config.workspace_root.join("saved"));
        let theme_name = theme_override.unwrap_or(&s.console.theme);
        let (theme, warning) = Theme::load_or_default(
            theme_name,
            Some(&config.config_dir().join("themes")),
            Theme::no_color_from_env(),
        );
        ctx.theme = theme;
        ctx.warnings.extend(warning);
        let (keys, warnings) = KeyMap::default().with_overrides(&s.console.keys);
        ctx.keys = keys;
        ctx.warnings.extend(warnings);
        ctx
    }
}

/// A results store that could not be opened: every call fails with the opening error, so the
/// console starts anyway and shows what is wrong where the user looks.
#[derive(Debug, Clone)]
pub struct UnavailableStore {
    /// Backend name for the header.
    pub backend: &'static str,
    /// The error text (e.g. the `StoreError` of `SqliteStore::open`).
    pub message: String,
}

impl UnavailableStore {
    fn err(&self) -> crate::store::StoreError {
        crate::store::StoreError::Backend(self.message.clone())
    }
}

impl ResultsStore for UnavailableStore {
    fn backend(&self) -> &'static str {
        self.backend
    }
    fn record_findings(
        &self,
        _: &str,
        _: u32,
        _: &[crate::quality::Finding],
    ) -> Result<(), crate::store::StoreError> {
        Err(self.err())
    }
    fn findings(
        &self,
        _: &[String],
    ) -> Result<Vec<crate::store::FindingRecord>, crate::store::StoreError> {
        Err(self.err())
    }
    fn save_result(
        &self,
        _: &crate::store::ResultRecord,
        _: &[crate::store::CharacteristicRecord],
    ) -> Result<(), crate::store::StoreError> {
        Err(self.err())
    }
    fn record_attempt(&self, _: &crate::store::RunRecord) -> Result<(), crate::store::StoreError> {
        Err(self.err())
    }
    fn latest_results(&self) -> Result<Vec<crate::store::ResultRecord>, crate::store::StoreError> {
        Err(self.err())
    }
    fn history(
        &self,
        _: &str,
        _: Option<chrono::NaiveDate>,
        _: Option<chrono::NaiveDate>,
    ) -> Result<Vec<crate::store::ResultRecord>, crate::store::StoreError> {
        Err(self.err())
    }
    fn overview(&self) -> Result<Vec<crate::store::ModelOverview>, crate::store::StoreError> {
        Err(self.err())
    }
    fn trends(
        &self,
        _: Option<&[String]>,
        _: Option<chrono::NaiveDate>,
        _: Option<chrono::NaiveDate>,
    ) -> Result<Vec<crate::store::ResultRecord>, crate::store::StoreError> {
        Err(self.err())
    }
    fn date_status(
        &self,
        _: &[String],
        _: chrono::NaiveDate,
        _: chrono::NaiveDate,
    ) -> Result<Vec<crate::store::DateStatus>, crate::store::StoreError> {
        Err(self.err())
    }
    fn characteristics(
        &self,
        _: &str,
        _: chrono::NaiveDate,
    ) -> Result<Vec<crate::store::CharacteristicRecord>, crate::store::StoreError> {
        Err(self.err())
    }
    fn runs(
        &self,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<crate::store::RunRecord>, crate::store::StoreError> {
        Err(self.err())
    }
    fn latest_runs(&self) -> Result<Vec<crate::store::RunRecord>, crate::store::StoreError> {
        Err(self.err())
    }
    fn append_audit(&self, _: &crate::store::AuditRecord) -> Result<(), crate::store::StoreError> {
        Err(self.err())
    }
    fn audit(&self, _: usize) -> Result<Vec<crate::store::AuditRecord>, crate::store::StoreError> {
        Err(self.err())
    }
}

/// The tracing layer that feeds the diagnostics pane. `main.rs` adds it to its subscriber when
/// it installs one (otherwise [`run_console`] installs a subscriber with only this layer).
pub fn diagnostics_layer() -> tui_logger::TuiTracingSubscriberLayer {
    tui_logger::TuiTracingSubscriberLayer
}

/// The console's diagnostics log: `$XDG_STATE_HOME/driftdeck/console.log` (or the platform's
/// equivalent); the directory is created. `None` when no such directory can be determined.
pub fn diagnostics_file() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "driftdeck")?;
    let dir = dirs
        .state_dir()
        .unwrap_or_else(|| dirs.data_local_dir())
        .to_path_buf();
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("console.log"))
}

fn install_diagnostics() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // Already initialised (a second console in the same process) is fine.
    let _ = tui_logger::init_logger(tui_logger::LevelFilter::Info);
    // Diagnostics also go to a file in the XDG state dir (never to the terminal's stdout).
    let file_layer = diagnostics_file().and_then(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(|f| {
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(f))
            })
    });
    let _ = tracing_subscriber::registry()
        .with(diagnostics_layer())
        .with(file_layer)
        .try_init();
}

/// Installs color-eyre's panic and error hooks unless an eyre hook is already installed.
///
/// Not `color_eyre::install()`: when `main` already installed the hooks, that returns the
/// "already installed" error as an eyre `Report`, and creating a `Report` captures and
/// symbolises a backtrace whenever `RUST_BACKTRACE` is set: the DWARF caches of the binary
/// stayed resident (about 100 MB of the console's 120 MB RSS, measured with heaptrack; see
/// `benches/console_memory.sh`). `EyreHook::install` reports the same condition as a plain
/// `InstallError`, without a backtrace.
fn install_error_hooks() {
    if let Ok((panic_hook, eyre_hook)) = color_eyre::config::HookBuilder::default().try_into_hooks()
        && eyre_hook.install().is_ok()
    {
        panic_hook.install();
    }
}

/// Opens the console on the current terminal and runs it until the user quits.
///
/// Installs color-eyre's hooks (ignored if `main` already did) and then ratatui's panic hook,
/// so a panic restores the terminal before the report prints; errors returned from the loop
/// restore it too.
///
/// # Errors
/// Terminal setup or drawing errors (after the terminal is restored).
pub async fn run_console(ctx: ConsoleContext) -> color_eyre::Result<()> {
    install_error_hooks();
    install_diagnostics();
    let mut terminal = ratatui::try_init()?;
    let result = runtime::run_loop(&mut terminal, ctx).await;
    ratatui::restore();
    result
}

#[cfg(test)]
mod tests;
