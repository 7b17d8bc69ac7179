//! Semantic validation of a parsed configuration: every problem is collected with its key path.

use std::collections::HashSet;
use std::path::Path;

use croner::parser::{CronParser, Seconds, Year};

use super::types::{Backend, BinningMethod, ModelConfig, NotifySettings, Registry, Settings};
use super::{ConfigError, Problem};
use crate::engine::{Kind, MAX_BINS};
use crate::sources::{validate_pattern, validate_template};

struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }
}

/// Checks a cron schedule as a Kubernetes CronJob accepts it: 5 fields (minute hour day month
/// weekday) or a nickname such as `@daily`.
///
/// # Errors
/// The parser's message.
pub fn check_cron(schedule: &str) -> Result<(), String> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(schedule)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn check_bins(p: &mut Problems, key: &str, bins: Option<usize>) {
    if let Some(b) = bins
        && !(2..=MAX_BINS).contains(&b)
    {
        p.add(
            key,
            format!("bins must be between 2 and {MAX_BINS}, got {b}"),
        );
    }
}

fn check_edges(p: &mut Problems, key: &str, edges: Option<&[f64]>) {
    let Some(e) = edges else { return };
    if e.is_empty() {
        p.add(key, "edges must hold at least one value");
    } else if e.iter().any(|x| !x.is_finite()) {
        p.add(key, "edges must be finite numbers");
    } else if e.windows(2).any(|w| w[0] >= w[1]) {
        p.add(key, format!("edges must be strictly increasing, got {e:?}"));
    }
}

fn check_binning(
    p: &mut Problems,
    key: &str,
    bins: Option<usize>,
    edges: Option<&[f64]>,
    method: Option<BinningMethod>,
) {
    check_bins(p, &format!("{key}.bins"), bins);
    check_edges(p, &format!("{key}.edges"), edges);
    if edges.is_some() && (bins.is_some() || method.is_some()) {
        p.add(key, "give either fixed edges or bins/binning, not both");
    }
}

fn check_email(p: &mut Problems, key: &str, emails: &[String]) {
    for (i, e) in emails.iter().enumerate() {
        let ok = e.split_once('@').is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && !e.contains(char::is_whitespace)
        });
        if !ok {
            p.add(
                format!("{key}[{i}]"),
                format!("{e:?} is not an e-mail address"),
            );
        }
    }
}

/// A backend kind the configuration format knows but this binary does not build yet.
fn check_built<B: Backend>(p: &mut Problems, b: &B) {
    if !b.is_built() {
        p.add(
            format!("{}.kind", B::SECTION),
            format!(
                "{:?} is not built into this driftdeck binary yet; use {:?} (the embedded default)",
                b.kind(),
                B::DEFAULT_KIND
            ),
        );
    }
}

fn check_settings(p: &mut Problems, s: &Settings) {
    let eps = s.engine.eps;
    if !(eps.is_finite() && eps > 0.0 && eps < 1.0) {
        p.add("engine.eps", format!("must be in (0, 1), got {eps}"));
    }
    check_bins(p, "engine.bins", Some(s.engine.bins));
    use crate::jobs::{backfill::MAX_CONCURRENCY, retry::MAX_ATTEMPTS, retry::MAX_DELAY_SECONDS};
    if !(1..=MAX_ATTEMPTS).contains(&s.retry.attempts) {
        p.add(
            "retry.attempts",
            format!(
                "must be between 1 and {MAX_ATTEMPTS}, got {}",
                s.retry.attempts
            ),
        );
    }
    if s.retry.delay_seconds > MAX_DELAY_SECONDS {
        p.add(
            "retry.delay_seconds",
            format!(
                "must be at most {MAX_DELAY_SECONDS} (one day), got {}",
                s.retry.delay_seconds
            ),
        );
    }
    if !(1..=MAX_CONCURRENCY).contains(&s.orchestrator.concurrency()) {
        p.add(
            "orchestrator.concurrency",
            format!(
                "must be between 1 and {MAX_CONCURRENCY}, got {}",
                s.orchestrator.concurrency()
            ),
        );
    }
    check_built(p, &s.store);
    if let crate::config::StoreSettings::Snowflake(sf) = &s.store
        && let Err(e) = sf.validate()
    {
        p.add("store", e.to_string());
    }
    check_built(p, &s.orchestrator);
    if let super::types::OrchestratorSettings::Kubernetes(k) = &s.orchestrator
        && let Err(e) = k.validate()
    {
        p.add("orchestrator", e);
    }
    check_built(p, &s.benchmarks);
    check_built(p, &s.notify);
    check_built(p, &s.metrics);
    if let Err(e) = s.quality.validate() {
        p.add("quality", e);
    }
    let v = s.validation.threshold;
    if !(v.is_finite() && v >= 0.0) {
        p.add(
            "validation.threshold",
            format!("must be a finite number ≥ 0, got {v}"),
        );
    }
    check_share(
        p,
        "validation.max_missing_share",
        s.validation.max_missing_share,
    );
    check_share(
        p,
        "refresh.max_quarantined_share",
        s.refresh.max_quarantined_share,
    );
    let (lo, hi) = (s.validation.min_row_ratio, s.validation.max_row_ratio);
    if !(lo.is_finite() && hi.is_finite() && lo >= 0.0 && lo <= hi) {
        p.add(
            "validation.min_row_ratio",
            format!("min_row_ratio/max_row_ratio must be finite with 0 ≤ min ≤ max, got {lo}/{hi}"),
        );
    }
    let t = s.validation.range_tolerance;
    if !(t.is_finite() && t >= 0.0) {
        p.add(
            "validation.range_tolerance",
            format!("must be a finite number ≥ 0, got {t}"),
        );
    }
    if s.refresh.concurrency == 0 || s.refresh.concurrency > 64 {
        p.add(
            "refresh.concurrency",
            format!("must be between 1 and 64, got {}", s.refresh.concurrency),
        );
    }
    if s.workspace.name.trim().is_empty() {
        p.add("workspace.name", "must not be empty");
    }
    if s.console.theme.trim().is_empty() {
        p.add("console.theme", "must not be empty");
    }
    check_email(p, "notify.email_recipients", s.notify.email_recipients());
    if let NotifySettings::Outbox(o) = &s.notify
        && let Some(var) = &o.slack_webhook_env
        && (var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        p.add(
            "notify.slack_webhook_env",
            format!(
                "{} is not an environment variable name (the webhook itself belongs in the environment)",
                crate::sanitize::quote_value(var)
            ),
        );
    }
}

fn check_model(p: &mut Problems, i: usize, m: &ModelConfig) {
    let k = format!("models[{i}]");
    if m.id.as_str() == crate::benchmarks::COMMON_DIR {
        p.add(
            format!("{k}.id"),
            "\"common\" is reserved (the value stream's shared data directory)",
        );
    }
    if m.owner.trim().is_empty() {
        p.add(format!("{k}.owner"), "must not be empty");
    }
    if let Err(e) = check_cron(&m.schedule) {
        p.add(
            format!("{k}.schedule"),
            format!(
                "{:?} is not a valid cron schedule (5 fields: minute hour day month weekday): {e}",
                m.schedule
            ),
        );
    }
    if m.score.trim().is_empty() {
        p.add(format!("{k}.score"), "must name the score column");
    }
    if let Some(b) = &m.score_binning {
        check_binning(
            p,
            &format!("{k}.score_binning"),
            b.bins,
            b.edges.as_deref(),
            b.binning,
        );
    }
    let t = m.thresholds;
    if !(t.warn.is_finite() && t.alert.is_finite() && t.warn >= 0.0) {
        p.add(
            format!("{k}.thresholds"),
            "warn and alert must be finite numbers ≥ 0",
        );
    } else if t.warn > t.alert {
        p.add(
            format!("{k}.thresholds"),
            format!("warn ({}) must not be above alert ({})", t.warn, t.alert),
        );
    }
    let mut names: HashSet<&str> = HashSet::new();
    for (j, c) in m.characteristics.iter().enumerate() {
        let ck = format!("{k}.characteristics[{j}]");
        if c.name.trim().is_empty() {
            p.add(format!("{ck}.name"), "must not be empty");
        }
        if c.name == m.score {
            p.add(
                format!("{ck}.name"),
                format!(
                    "{:?} is the score column; the score is monitored by PSI already",
                    c.name
                ),
            );
        }
        if !names.insert(&c.name) {
            p.add(
                format!("{ck}.name"),
                format!("duplicate characteristic {:?}", c.name),
            );
        }
        match c.kind {
            Kind::Numeric => {
                check_binning(p, &ck, c.bins, c.edges.as_deref(), c.binning);
            }
            Kind::Categorical => {
                if c.bins.is_some() || c.edges.is_some() || c.binning.is_some() {
                    p.add(
                        &ck,
                        "bins, edges and binning apply to numeric characteristics only",
                    );
                }
            }
        }
    }
    let cur = &m.current;
    if let Some(q) = &cur.query {
        if !cur.path.trim().is_empty() {
            p.add(
                format!("{k}.current"),
                "give exactly one of `path` (a file pattern) or `query` (a Snowflake query)",
            );
        }
        if let Err(e) = validate_template(q) {
            p.add(format!("{k}.current.query"), e);
        }
        if !cur.filter.is_empty() {
            p.add(
                format!("{k}.current.filter"),
                "does not apply to a query source: select the rows in the query",
            );
        }
    } else if cur.path.trim().is_empty() {
        p.add(
            format!("{k}.current.path"),
            "must not be empty (or give a Snowflake `query`)",
        );
    } else if let Err(e) = validate_pattern(&cur.path) {
        p.add(format!("{k}.current.path"), e);
    }
    if !(1..=366).contains(&cur.window_days) {
        p.add(
            format!("{k}.current.window_days"),
            format!("must be between 1 and 366, got {}", cur.window_days),
        );
    }
    for (col, vals) in &cur.filter {
        if vals.0.is_empty() {
            p.add(
                format!("{k}.current.filter.{col}"),
                "needs at least one value",
            );
        }
    }
    check_email(p, &format!("{k}.recipients.email"), &m.recipients.email);
}

fn check_share(p: &mut Problems, key: &str, v: f64) {
    if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
        p.add(key, format!("must be a share between 0 and 1, got {v}"));
    }
}

fn check_source(p: &mut Problems, key: &str, s: &super::types::RefreshSourceConfig, store: &str) {
    match (&s.path, &s.query) {
        (Some(_), None) => {}
        (None, Some(q)) => {
            if let Err(e) = validate_template(q) {
                p.add(format!("{key}.query"), e);
            }
            if store != "snowflake" {
                p.add(
                    format!("{key}.query"),
                    format!(
                        "a query source runs on the Snowflake results store, but [store] kind is \
                         {store:?} (set [store] kind = \"snowflake\" or give an extract `path`)"
                    ),
                );
            }
        }
        _ => p.add(
            key,
            "give exactly one of `path` (an extract file) or `query`",
        ),
    }
}

fn check_refresh(p: &mut Problems, key: &str, r: &super::types::ModelRefreshConfig, store: &str) {
    check_source(p, &format!("{key}.source"), &r.source, store);
    for (col, [lo, hi]) in &r.ranges {
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            p.add(
                format!("{key}.ranges.{col}"),
                format!("must be [min, max] with finite min ≤ max, got [{lo}, {hi}]"),
            );
        }
    }
    if let Some(v) = r.max_missing_share {
        check_share(p, &format!("{key}.max_missing_share"), v);
    }
    for (col, v) in &r.missing {
        check_share(p, &format!("{key}.missing.{col}"), *v);
    }
    if let Some(t) = r.threshold
        && !(t.is_finite() && t >= 0.0)
    {
        p.add(
            format!("{key}.threshold"),
            format!("must be a finite number ≥ 0, got {t}"),
        );
    }
}

/// Validates settings and registry; returns the first file with problems and all its problems.
pub(super) fn validate(
    settings_path: &Path,
    settings: &Settings,
    models_path: &Path,
    registry: &Registry,
) -> Result<(), ConfigError> {
    let mut p = Problems(Vec::new());
    check_settings(&mut p, settings);
    if !p.0.is_empty() {
        return Err(ConfigError::Invalid {
            path: settings_path.to_path_buf(),
            problems: p.0,
        });
    }
    let mut seen: HashSet<&str> = HashSet::new();
    for (i, m) in registry.models.iter().enumerate() {
        if !seen.insert(m.id.as_str()) {
            p.add(
                format!("models[{i}].id"),
                format!("duplicate model id {:?}", m.id.as_str()),
            );
        }
        check_model(&mut p, i, m);
        if m.current.query.is_some() && settings.store.kind() != "snowflake" {
            p.add(
                format!("models[{i}].current.query"),
                format!(
                    "a query source runs on the Snowflake results store, but [store] kind is {:?} \
                     (set [store] kind = \"snowflake\" or give a file `path`)",
                    settings.store.kind()
                ),
            );
        }
        if let Err(e) = settings.quality.with(&m.quality).validate() {
            p.add(format!("models[{i}].quality"), e);
        }
        if let Some(r) = &m.refresh {
            check_refresh(
                &mut p,
                &format!("models[{i}].refresh"),
                r,
                settings.store.kind(),
            );
        }
    }
    for (i, v) in registry.value_streams.iter().enumerate() {
        if let Some(r) = &v.refresh {
            check_source(
                &mut p,
                &format!("value_streams[{i}].refresh.source"),
                &r.source,
                settings.store.kind(),
            );
        }
        check_email(
            &mut p,
            &format!("value_streams[{i}].recipients.email"),
            &v.recipients.email,
        );
    }
    if p.0.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            path: models_path.to_path_buf(),
            problems: p.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_accepts_kubernetes_syntax_only() {
        for ok in ["0 6 * * *", "*/15 * * * 1-5", "@daily", "30 2 1 * *"] {
            assert!(check_cron(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "0 6 * *",
            "0 0 6 * * *",
            "61 * * * *",
            "every day",
            "0 25 * * *",
        ] {
            assert!(check_cron(bad).is_err(), "{bad:?}");
        }
    }
}
