//! Opening a workspace for jobs: configuration → the backends of [`crate::wiring`] (results store,
//! benchmark store, notifier, metrics) and one [`ModelJob`] per registered model.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use super::report::ModelRef;
use super::{JobContext, JobError, ModelJob, RetryPolicy};
use crate::config::{self, Config};
use crate::sources::{CurrentSource, FileCache, SnowflakeQuerySource};
use crate::wiring::Backends;

/// A loaded workspace: its configuration, shared job services and the models' jobs.
pub struct Workspace {
    /// The resolved configuration.
    pub config: Config,
    /// Store, benchmarks, notifier, retry policy, engine options.
    pub ctx: JobContext,
    /// One job per model, in registry order.
    pub jobs: Vec<ModelJob>,
    /// Default concurrency of backfills (`[orchestrator] concurrency`).
    pub concurrency: usize,
}

impl Workspace {
    /// Finds and loads the configuration (see [`config::load`]) and opens the backends.
    ///
    /// # Errors
    /// Configuration errors (file and key named) or a results store that cannot be opened.
    pub fn open(explicit: Option<&Path>) -> Result<Self, JobError> {
        Self::from_config(config::load(explicit)?)
    }

    /// Opens the backends of an already loaded configuration.
    ///
    /// # Errors
    /// A results store that cannot be opened (path named).
    pub fn from_config(config: Config) -> Result<Self, JobError> {
        let backends = Backends::open(&config)?;
        // Attempts of killed jobs become `lost` at the start of every command (issue 11 #1).
        super::lease::reap(backends.store.as_ref());
        let cache = Arc::new(FileCache::default());
        let mut jobs = Vec::with_capacity(config.models.len());
        for model in &config.models {
            let current: Arc<dyn CurrentSource> = match &model.current.query {
                Some(query) => {
                    // Validation refuses a query without the Snowflake store; say so again
                    // rather than panic should that ever change.
                    let client = backends.snowflake.clone().ok_or_else(|| {
                        JobError::Other(format!(
                            "model {}: a current `query` needs [store] kind = \"snowflake\"",
                            model.id
                        ))
                    })?;
                    Arc::new(
                        SnowflakeQuerySource::new(client, query, model.current.window_days)?
                            .with_date_column(model.current.date_column.clone()),
                    )
                }
                None => Arc::new(config.current_source(model, cache.clone())?),
            };
            let mut email = model.recipients.email.clone();
            // The value stream's recipients (models.yaml `value_streams:`) hear about every model
            // of the stream too.
            let stream = config
                .value_stream_settings
                .iter()
                .find(|v| v.id == model.value_stream);
            let stream_email = stream.map(|v| v.recipients.email.as_slice()).unwrap_or(&[]);
            for r in config
                .settings
                .notify
                .email_recipients()
                .iter()
                .chain(stream_email)
            {
                if !email.contains(r) {
                    email.push(r.clone());
                }
            }
            jobs.push(ModelJob {
                model_id: model.id.clone(),
                value_stream: model.value_stream.clone(),
                specs: config.column_specs(model),
                thresholds: model.thresholds,
                current,
                email_recipients: email,
                slack: model
                    .recipients
                    .slack
                    .clone()
                    .or_else(|| stream.and_then(|v| v.recipients.slack.clone())),
                quality: config.settings.quality.with(&model.quality),
                quarantine_root: config.workspace_root.join("quarantine"),
            });
        }
        let ctx = JobContext {
            store: backends.store,
            benchmarks: backends.benchmarks,
            notifier: backends.notifier,
            metrics: backends.metrics,
            retry: RetryPolicy::new(
                config.settings.retry.attempts,
                config.settings.retry.delay_seconds as f64,
            ),
            engine: config.engine_options(),
            snowflake: backends.snowflake,
        };
        let concurrency = config.settings.orchestrator.concurrency().max(1);
        Ok(Self {
            config,
            ctx,
            jobs,
            concurrency,
        })
    }

    /// Replaces the retry policy's attempts and/or delay (CLI flags; tests use a tiny delay).
    pub fn with_retry_overrides(
        mut self,
        attempts: Option<u32>,
        delay_seconds: Option<f64>,
    ) -> Self {
        let attempts = attempts.unwrap_or(self.ctx.retry.attempts);
        let delay = delay_seconds.unwrap_or(self.ctx.retry.delay.as_secs_f64());
        self.ctx.retry = RetryPolicy::new(attempts, delay);
        self
    }

    /// The job of one model.
    ///
    /// # Errors
    /// [`JobError::Config`] with the unknown id and the known ones.
    pub fn job(&self, id: &str) -> Result<&ModelJob, JobError> {
        let model = self.config.model(id)?;
        self.jobs
            .iter()
            .find(|j| j.model_id == model.id)
            .ok_or_else(|| JobError::Other(format!("model {id} has no job")))
    }

    /// Records a manual CLI `run`/`backfill` in the audit table before it starts: the OS user
    /// (see [`crate::identity::os_user`]) and that user's configured role, with the claimed
    /// `--triggered-by` kept beside it, never instead of it (issue 11 #7). The CLI does not
    /// enforce roles (anyone who can run it can write the store); the audit makes runs traceable.
    ///
    /// # Errors
    /// [`JobError::Store`] when the entry cannot be written: the run then does not start.
    pub fn audit_cli(
        &self,
        action: &str,
        target: &str,
        triggered_by: &str,
    ) -> Result<(), JobError> {
        let user = crate::identity::os_user();
        let roles = &self.config.settings.roles;
        let role = roles.users.get(&user).copied().unwrap_or(roles.default);
        let entry = crate::store::AuditRecord {
            at: chrono::Utc::now(),
            user,
            role: role.as_str().to_string(),
            action: format!("cli-{action}"),
            target: crate::sanitize::excerpt(target, 200),
            outcome: format!(
                "started (--triggered-by {})",
                crate::sanitize::excerpt(triggered_by, 80)
            ),
        };
        super::run::with_busy_retry("writing the audit entry", || {
            self.ctx.store.append_audit(&entry)
        })?;
        Ok(())
    }

    /// Every model's job (`--all`).
    ///
    /// # Errors
    /// [`JobError::Other`] naming the registry file when it holds no model (an empty or
    /// comment-only `models.yaml` must not make `--all` a silent success).
    pub fn all_jobs(&self) -> Result<Vec<&ModelJob>, JobError> {
        if self.jobs.is_empty() {
            return Err(JobError::Other(format!(
                "{}: no model is configured, so --all has nothing to run; add models to the \
                 registry (see config/models.yaml of the demo workspace)",
                self.config.models_path.display()
            )));
        }
        Ok(self.jobs.iter().collect())
    }

    /// The jobs of one model, one value stream, or all.
    ///
    /// # Errors
    /// Unknown model, a value stream with no model, or no selector at all.
    pub fn select(
        &self,
        model: Option<&str>,
        value_stream: Option<&str>,
        all: bool,
    ) -> Result<Vec<&ModelJob>, JobError> {
        match (model, value_stream, all) {
            (Some(id), _, _) => Ok(vec![self.job(id)?]),
            (None, Some(vs), _) => {
                let jobs: Vec<&ModelJob> = self
                    .jobs
                    .iter()
                    .filter(|j| j.value_stream.as_str() == vs)
                    .collect();
                if jobs.is_empty() {
                    let known: Vec<String> = self
                        .config
                        .value_streams()
                        .iter()
                        .map(|v| v.to_string())
                        .collect();
                    Err(JobError::Other(format!(
                        "unknown value stream {vs:?}; known: {}",
                        known.join(", ")
                    )))
                } else {
                    Ok(jobs)
                }
            }
            (None, None, true) => self.all_jobs(),
            (None, None, false) => Err(JobError::Other(
                "say which models: --model M, --value-stream V or --all".into(),
            )),
        }
    }

    /// The models as reports need them, in registry order.
    pub fn model_refs(&self) -> Vec<ModelRef> {
        self.jobs
            .iter()
            .map(|j| ModelRef {
                value_stream: j.value_stream.to_string(),
                model_id: j.model_id.to_string(),
                thresholds: j.thresholds,
            })
            .collect()
    }

    /// Resolved paths and backends, for `driftdeck info`.
    pub fn describe(&self) -> String {
        let s = &self.config.settings;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "workspace      {} (root {})",
            s.workspace.name,
            self.config.workspace_root.display()
        );
        let _ = writeln!(
            out,
            "config         {}",
            self.config.settings_path.display()
        );
        let _ = writeln!(
            out,
            "models         {} ({} models)",
            self.config.models_path.display(),
            self.jobs.len()
        );
        let _ = writeln!(
            out,
            "results store  {}",
            crate::wiring::describe_store(&self.config)
        );
        let _ = writeln!(out, "benchmarks     {}", self.ctx.benchmarks.describe());
        let _ = writeln!(
            out,
            "orchestrator   {}",
            crate::wiring::describe_orchestrator(&self.config)
        );
        let _ = writeln!(
            out,
            "retry          {} attempts, {:?} apart",
            self.ctx.retry.attempts, self.ctx.retry.delay
        );
        let _ = writeln!(out, "notifications  {}", self.ctx.notifier.describe());
        let _ = writeln!(out, "metrics        {}", self.ctx.metrics.describe());
        out
    }
}
