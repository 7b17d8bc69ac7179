//! Vocabulary shared by every layer: identifiers, calculation dates, thresholds and statuses.
//!
//! Names follow the field's terms (README, Design §1): value stream, model, calculation date,
//! run, attempt, PSI (on the score), CSI (per characteristic).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Why an identifier or a date was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// An identifier (model id or value stream) that is not safe as a path segment and a
    /// Kubernetes name part.
    #[error(
        "invalid {what} {value:?}: use 1-63 characters of lowercase letters, digits, '-' or '_', \
         starting and ending with a letter or digit (it becomes a directory name and part of a \
         Kubernetes name)"
    )]
    InvalidId {
        /// `"model id"` or `"value stream"`.
        what: &'static str,
        /// The rejected text (shown with `{:?}` so hostile characters stay visible).
        value: String,
    },
    /// A calculation date that is not an ISO `YYYY-MM-DD` date.
    #[error("invalid calculation date {0:?}: expected YYYY-MM-DD, e.g. 2013-02-01")]
    InvalidDate(String),
    /// A calculation date outside [`MIN_YEAR`]..=[`MAX_YEAR`].
    #[error("calculation date {0} is outside the supported years {MIN_YEAR}..={MAX_YEAR}")]
    DateOutOfRange(NaiveDate),
    /// A date range whose end is before its start.
    #[error("invalid date range: {from} is after {to}")]
    InvalidRange {
        /// Start of the range.
        from: NaiveDate,
        /// End of the range.
        to: NaiveDate,
    },
}

/// Checks the identifier rule shared by model ids and value streams.
///
/// Rule: 1–63 chars of `[a-z0-9_-]`, first and last alphanumeric. Such an id is a safe path segment
/// (no `/`, `.`, spaces or quotes) and becomes a DNS-1123 label once `_` is replaced by `-`
/// (see [`ModelId::k8s_slug`]).
pub fn validate_id(what: &'static str, value: &str) -> Result<(), DomainError> {
    let bytes = value.as_bytes();
    let ok_char = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_';
    let ok_end = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let valid = !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(ok_char)
        && bytes.first().is_some_and(ok_end)
        && bytes.last().is_some_and(ok_end);
    if valid {
        Ok(())
    } else {
        Err(DomainError::InvalidId {
            what,
            value: value.to_string(),
        })
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value` with [`validate_id`].
            pub fn new(value: impl Into<String>) -> Result<Self, DomainError> {
                let value = value.into();
                validate_id($what, &value)?;
                Ok(Self(value))
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// The id as a DNS-1123 label part (`_` → `-`), for Kubernetes object names.
            pub fn k8s_slug(&self) -> String {
                self.0.replace('_', "-")
            }
        }
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A model identifier (`model_id`), unique across the estate; validated by [`validate_id`].
    ModelId,
    "model id"
);
id_type!(
    /// A value stream: the business line that owns a group of models; validated by [`validate_id`].
    ValueStream,
    "value stream"
);

/// Earliest year of a calculation date (chrono accepts years from -262143; no model data is older).
pub const MIN_YEAR: i32 = 1900;
/// Latest year of a calculation date.
pub const MAX_YEAR: i32 = 2200;

/// Parses an ISO calculation date (`YYYY-MM-DD`) in the years [`MIN_YEAR`]..=[`MAX_YEAR`].
///
/// # Errors
/// [`DomainError::InvalidDate`] for anything else (including `2013-02-30`, `+10000-01-01`),
/// [`DomainError::DateOutOfRange`] for a valid date outside the supported years.
pub fn parse_date(text: &str) -> Result<NaiveDate, DomainError> {
    let t = text.trim();
    // Exactly YYYY-MM-DD: chrono also takes signed and 5-digit years (`-9999-01-01`).
    let shaped = t.len() == 10 && t.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    let date = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .filter(|_| shaped)
        .ok_or_else(|| DomainError::InvalidDate(crate::sanitize::excerpt(text, 40)))?;
    if !(MIN_YEAR..=MAX_YEAR).contains(&chrono::Datelike::year(&date)) {
        return Err(DomainError::DateOutOfRange(date));
    }
    Ok(date)
}

/// Every date from `from` to `to`, both included.
///
/// # Errors
/// [`DomainError::InvalidRange`] when `from > to`.
pub fn date_range(from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>, DomainError> {
    if from > to {
        return Err(DomainError::InvalidRange { from, to });
    }
    Ok(from.iter_days().take_while(|d| *d <= to).collect())
}

/// Warn and alert thresholds on PSI/CSI (dimensionless).
///
/// Default: warn 0.1, alert 0.25 (Siddiqi, *Credit Risk Scorecards*, 2006; common industry practice).
/// The seed ConfigMap's `THRESHOLD` maps to `alert`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// PSI at or above this is [`Band::Warn`].
    #[serde(default = "Thresholds::default_warn")]
    pub warn: f64,
    /// PSI at or above this is [`Band::Alert`].
    #[serde(default = "Thresholds::default_alert")]
    pub alert: f64,
}

impl Thresholds {
    fn default_warn() -> f64 {
        0.1
    }
    fn default_alert() -> f64 {
        0.25
    }
    /// The band of a PSI or CSI value: ok < warn ≤ warn band < alert ≤ alert band.
    pub fn band(&self, value: f64) -> Band {
        if value >= self.alert {
            Band::Alert
        } else if value >= self.warn {
            Band::Warn
        } else {
            Band::Ok
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            warn: Self::default_warn(),
            alert: Self::default_alert(),
        }
    }
}

/// Drift band of a PSI/CSI value against [`Thresholds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// Below warn: stable.
    Ok,
    /// Between warn and alert: some shift, investigate.
    Warn,
    /// At or above alert: significant shift.
    Alert,
}

impl Band {
    /// Lowercase name: `ok`, `warn`, `alert`.
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Ok => "ok",
            Band::Warn => "warn",
            Band::Alert => "alert",
        }
    }
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunAction {
    /// The daily calculation for one model and one date.
    Run,
    /// One date of a backfill.
    Backfill,
    /// A benchmark refresh.
    Refresh,
}

impl RunAction {
    /// Lowercase name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RunAction::Run => "run",
            RunAction::Backfill => "backfill",
            RunAction::Refresh => "refresh",
        }
    }
}

impl fmt::Display for RunAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "run" => Ok(RunAction::Run),
            "backfill" => Ok(RunAction::Backfill),
            "refresh" => Ok(RunAction::Refresh),
            other => Err(format!("unknown run action {other:?}")),
        }
    }
}

/// Status of one attempt of a run (one row of `PCI_CSI_RUNS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Accepted by an orchestrator, not started.
    Queued,
    /// In progress.
    Running,
    /// This attempt failed and another will follow.
    Retrying,
    /// Finished and stored.
    Succeeded,
    /// The final attempt failed.
    Failed,
    /// The job stopped renewing the attempt's lease (killed by SIGKILL, out of memory, a node
    /// or pod lost): set by the reaper, with the reason in `error`.
    Lost,
    /// The job was asked to stop (SIGTERM, SIGINT, SIGHUP) and recorded the attempt as such.
    Cancelled,
}

impl RunStatus {
    /// Lowercase name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Retrying => "retrying",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Lost => "lost",
            RunStatus::Cancelled => "cancelled",
        }
    }
    /// True for `Succeeded`, `Failed`, `Lost` and `Cancelled`: nothing will change the row.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Lost | RunStatus::Cancelled
        )
    }
    /// True for a run that ended without a result: `Failed`, `Lost`, `Cancelled` (what
    /// `run --failed` and the console's `R` rerun).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            RunStatus::Failed | RunStatus::Lost | RunStatus::Cancelled
        )
    }
}

impl FromStr for RunStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queued" => Ok(RunStatus::Queued),
            "running" => Ok(RunStatus::Running),
            "retrying" => Ok(RunStatus::Retrying),
            "succeeded" => Ok(RunStatus::Succeeded),
            "failed" => Ok(RunStatus::Failed),
            "lost" => Ok(RunStatus::Lost),
            "cancelled" => Ok(RunStatus::Cancelled),
            other => Err(format!("unknown run status {other:?}")),
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One bin of a PSI/CSI table: what the engine computes and the store keeps as JSON.
///
/// Shares are fractions of all rows of the population (missing included); a zero share is
/// replaced by ε before the log (README, Design §6), and the share stored is the one used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinStat {
    /// Human label: `(-inf, 3.5]`, `(3.5, 7]`, `(7, +inf)`, a category, `unseen` or `missing`.
    pub label: String,
    /// Benchmark (expected) rows in the bin.
    pub expected_count: u64,
    /// Current (actual) rows in the bin.
    pub actual_count: u64,
    /// Benchmark share E_i (ε if the count is 0).
    pub expected_share: f64,
    /// Current share A_i (ε if the count is 0).
    pub actual_share: f64,
    /// This bin's term of the sum: (A_i − E_i) · ln(A_i / E_i), ≥ 0.
    pub contribution: f64,
}

/// What a console user may do (README, Design §7): viewers read, operators run, admins refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, runs nothing.
    Viewer,
    /// May rerun and backfill.
    Operator,
    /// May also refresh benchmarks.
    Admin,
}

impl Role {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?}: expected viewer, operator or admin"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Role of a column in a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnRole {
    /// The model output; its index is the PSI.
    Score,
    /// An input feature; its index is a CSI.
    Characteristic,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_hostile_names() {
        for bad in [
            "",
            "../x",
            "../../etc",
            "a b",
            "a'b",
            "a\"b",
            "A",
            "-a",
            "a-",
            "_a",
            "a/b",
            "a.b",
        ] {
            assert!(ModelId::new(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = "a".repeat(64);
        assert!(ModelId::new(long).is_err());
        let ok = ModelId::new("jfk_delay-2").expect("valid id");
        assert_eq!(ok.k8s_slug(), "jfk-delay-2");
    }

    #[test]
    fn bands_follow_thresholds() {
        let t = Thresholds::default();
        assert_eq!(t.band(0.0999), Band::Ok);
        assert_eq!(t.band(0.1), Band::Warn);
        assert_eq!(t.band(0.2499), Band::Warn);
        assert_eq!(t.band(0.25), Band::Alert);
    }

    #[test]
    fn dates_parse_and_ranges_check_order() {
        assert!(parse_date("2013-02-30").is_err());
        assert!(parse_date("13/02/2013").is_err());
        // Issue 11 #9: signed, 5-digit and far-off years are refused.
        for bad in [
            "-9999-01-01",
            "+10000-01-01",
            "0000-01-01",
            "1899-12-31",
            "2201-01-01",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert!(parse_date("1900-01-01").is_ok() && parse_date("2200-12-31").is_ok());
        let a = parse_date("2013-02-27").expect("date");
        let b = parse_date("2013-03-02").expect("date");
        assert_eq!(date_range(a, b).expect("range").len(), 4);
        assert!(date_range(b, a).is_err());
    }
}
