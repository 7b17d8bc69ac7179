//! Kubernetes names (DNS-1123) and the labels of driftdeck objects (DESIGN section 8).
//!
//! Model ids allow `_` (`ewr_delay`), which Kubernetes names do not: names are slugged
//! (lowercase, every other character → `-`), and whenever slugging lost information or the name
//! had to be shortened, a deterministic suffix (5 hex digits of SHA-256 of the original text) keeps
//! distinct inputs distinct. Label *values* may hold `_`, so labels carry the exact model id.

use sha2::{Digest, Sha256};

/// Label on every object driftdeck renders or creates: `app.kubernetes.io/name=driftdeck`.
pub const LABEL_APP: &str = "app.kubernetes.io/name";
/// Value of [`LABEL_APP`].
pub const APP: &str = "driftdeck";
/// Label with the model id (exact, e.g. `ewr_delay`).
pub const LABEL_MODEL: &str = "driftdeck.io/model";
/// Label with the value stream.
pub const LABEL_VALUE_STREAM: &str = "driftdeck.io/value-stream";
/// Label with what the Job does: `schedule` (made by the CronJob controller), `rerun`,
/// `backfill`, `refresh`.
pub const LABEL_ACTION: &str = "driftdeck.io/action";
/// Label with the calculation date (`YYYY-MM-DD`) of a rerun or backfill Job.
pub const LABEL_DATE: &str = "driftdeck.io/calculation-date";
/// Label on Jobs with who asked (`schedule` or a user name, slugged to a label value).
pub const LABEL_TRIGGERED_BY: &str = "driftdeck.io/triggered-by";
/// Annotation that `kubectl create job --from=cronjob/…` puts on the Job.
pub const ANNOTATION_INSTANTIATE: &str = "cronjob.kubernetes.io/instantiate";

/// Longest DNS-1123 label (names of Jobs, namespaces, label-like names).
pub const MAX_LABEL: usize = 63;
/// Longest CronJob name: the controller appends `-<11 digits>` to name its Jobs, which must stay
/// a 63-character label.
pub const MAX_CRONJOB: usize = 52;

/// True for a DNS-1123 label: 1–63 of `[a-z0-9-]`, starting and ending with a letter or digit.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_LABEL
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// True for a DNS-1123 subdomain (ConfigMap, Secret, PVC names): ≤ 253 characters, dot-separated
/// DNS-1123 labels.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// True for a label value: ≤ 63 of `[A-Za-z0-9_.-]`, empty or starting and ending alphanumeric.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= MAX_LABEL
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric())
}

/// 5 lowercase hex digits of SHA-256 of `key`: the deterministic suffix.
pub fn suffix(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest
        .iter()
        .take(3)
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..5]
        .to_string()
}

/// Lowercases, maps every character outside `[a-z0-9]` to `-`, collapses runs of `-` and trims
/// them at both ends. May return an empty string (input without a letter or digit).
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// A DNS-1123 name of at most `max` characters (≥ 7) for `parts` joined by `-`.
///
/// When the slug equals the joined text and fits, it is used as is; otherwise the slug is cut to
/// leave room for `-` + [`suffix`] of the *original* joined text, so two inputs that slug alike
/// (`a_b`, `a-b`) get different names, and the same input always gets the same name.
pub fn dns_name(parts: &[&str], max: usize) -> String {
    let joined = parts.join("-");
    let s = slug(&joined);
    if s == joined && !s.is_empty() && s.len() <= max {
        return s;
    }
    let keep = max.saturating_sub(6).max(1);
    let mut head: String = s.chars().take(keep).collect();
    while head.ends_with('-') {
        head.pop();
    }
    if head.is_empty() {
        head.push('x');
    }
    format!("{head}-{}", suffix(&joined))
}

/// A label value for free text such as a user name: kept when valid, else slugged and cut to 63.
pub fn label_value(s: &str) -> String {
    if is_label_value(s) {
        return s.to_string();
    }
    let mut v: String = slug(s).chars().take(MAX_LABEL).collect();
    while v.ends_with('-') {
        v.pop();
    }
    v
}

/// Name of a model's CronJob: `<model>-cronjob` (the seed's `model-x-cronjob`), ≤ 52 characters.
pub fn cronjob_name(model: &str) -> String {
    dns_name(&[model, "cronjob"], MAX_CRONJOB)
}

/// Name of a model's ConfigMap with the seed keys: `<model>-config`.
pub fn configmap_name(model: &str) -> String {
    dns_name(&[model, "config"], MAX_LABEL)
}

/// Name of the benchmark refresh CronJob.
pub const REFRESH_CRONJOB: &str = "driftdeck-refresh-benchmarks";
/// Name of the ConfigMap with `driftdeck.toml` and `models.yaml`, mounted at `/etc/driftdeck`.
pub const SHARED_CONFIGMAP: &str = "driftdeck-config";
/// ServiceAccount (and Role, RoleBinding) of the console.
pub const CONSOLE_ACCOUNT: &str = "driftdeck-console";
/// ServiceAccount (and Role, RoleBinding) of the jobs.
pub const JOBS_ACCOUNT: &str = "driftdeck-jobs";

/// Name of a Job created by the console: `<model>-<action>-<yyyymmdd>-<suffix>`, ≤ 63
/// characters, the suffix derived from model, action, date and `nth` (how many Jobs of this
/// model/action/date existed before), so recreating the same request yields the same name (and
/// the API server's 409 catches a duplicate) while a later rerun of the date gets a new one.
pub fn job_name(model: &str, action: &str, date: Option<&str>, nth: usize) -> String {
    let compact = date.map(|d| d.replace('-', "")).unwrap_or_default();
    let key = format!("{model}\u{0}{action}\u{0}{}\u{0}{nth}", date.unwrap_or(""));
    let mut base = slug(&format!("{model}-{action}-{compact}"));
    let keep = MAX_LABEL - 6;
    if base.len() > keep {
        base.truncate(keep);
        while base.ends_with('-') {
            base.pop();
        }
    }
    format!("{base}-{}", suffix(&key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seed_names() {
        assert_eq!(cronjob_name("model-x"), "model-x-cronjob");
        assert_eq!(configmap_name("model-x"), "model-x-config");
        let a = cronjob_name("ewr_delay");
        assert!(a.starts_with("ewr-delay-cronjob-"), "{a}");
        assert_ne!(a, cronjob_name("ewr-delay"));
        assert_eq!(a, cronjob_name("ewr_delay"));
    }

    #[test]
    fn job_names_are_deterministic_and_distinct() {
        let a = job_name("ewr_delay", "rerun", Some("2013-02-01"), 0);
        assert!(a.starts_with("ewr-delay-rerun-20130201-"), "{a}");
        assert_eq!(a, job_name("ewr_delay", "rerun", Some("2013-02-01"), 0));
        assert_ne!(a, job_name("ewr_delay", "rerun", Some("2013-02-01"), 1));
        assert_ne!(a, job_name("ewr-delay", "rerun", Some("2013-02-01"), 0));
        assert!(is_dns1123_label(&a));
    }

    #[test]
    fn label_values() {
        assert_eq!(label_value("ewr_delay"), "ewr_delay");
        assert_eq!(label_value("Ana María"), "ana-mar-a");
        assert!(is_label_value(&label_value(&"x".repeat(200))));
    }

    proptest! {
        #[test]
        fn any_input_gives_valid_names(s in "\\PC{0,120}", nth in 0usize..5) {
            prop_assert!(is_dns1123_label(&job_name(&s, "backfill", Some("2013-02-01"), nth)));
            let c = cronjob_name(&s);
            prop_assert!(is_dns1123_label(&c) && c.len() <= MAX_CRONJOB, "{}", c);
            prop_assert!(is_dns1123_label(&configmap_name(&s)));
            prop_assert!(is_label_value(&label_value(&s)));
        }
    }
}
