//! Model rows: configured model metadata, one overview row per model, and the loaded detail.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{Band, RunStatus, Thresholds};
use crate::store::{ResultRecord, RunRecord};

/// Metadata of one configured model (from `models.yaml`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMeta {
    /// Model id.
    pub model_id: String,
    /// Value stream.
    pub value_stream: String,
    /// Warn / alert thresholds on PSI and CSI.
    pub thresholds: Thresholds,
    /// Owner (team or person), when configured.
    pub owner: Option<String>,
}

/// One line of the models table: what the store knows of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRow {
    /// Model id.
    pub model_id: String,
    /// Value stream.
    pub value_stream: String,
    /// Owner.
    pub owner: Option<String>,
    /// Thresholds of the model.
    pub thresholds: Thresholds,
    /// Latest calculation date with a result.
    pub last_date: Option<NaiveDate>,
    /// PSI of that date.
    pub psi: Option<f64>,
    /// Largest CSI of that date.
    pub csi: Option<f64>,
    /// Characteristic with the largest CSI.
    pub csi_name: Option<String>,
    /// Status of the newest run attempt.
    pub status: Option<RunStatus>,
    /// Calculation date of the newest run attempt.
    pub run_date: Option<NaiveDate>,
    /// Error of the newest attempt, when failed.
    pub error: Option<String>,
    /// Last [`TREND_POINTS`](super::TREND_POINTS) PSI values, oldest first.
    pub trend: Vec<f64>,
    /// Worst data-quality finding of the newest attempt, if any.
    pub quality: Option<crate::quality::Severity>,
}

impl ModelRow {
    /// Drift band of the latest PSI.
    pub fn band(&self) -> Option<Band> {
        self.psi.map(|p| self.thresholds.band(p))
    }

    /// True when the newest attempt failed or is retrying, has data-quality findings, or the
    /// latest PSI is in the alert band (the models table's "needs attention" filter, key `a`).
    pub fn needs_attention(&self) -> bool {
        matches!(self.status, Some(RunStatus::Failed | RunStatus::Retrying))
            || self.quality.is_some()
            || self.band() == Some(Band::Alert)
    }
}

/// What the overview query returns: everything the header and models table need.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overview {
    /// Latest result of every model.
    pub latest: Vec<ResultRecord>,
    /// Newest attempt of every model.
    pub latest_runs: Vec<RunRecord>,
    /// Recent PSI values per model, oldest first.
    pub trends: HashMap<String, Vec<f64>>,
    /// Characteristic with the largest CSI at the latest date, per model.
    pub worst: HashMap<String, String>,
    /// Worst data-quality finding of the newest attempt, per model (models without any absent).
    pub quality: HashMap<String, crate::quality::Severity>,
    /// When the query ran.
    pub loaded_at: Option<DateTime<Utc>>,
}

/// History and runs of the selected model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detail {
    /// Model id.
    pub model_id: String,
    /// Results by calculation date, ascending.
    pub history: Vec<ResultRecord>,
    /// Attempts, newest first.
    pub runs: Vec<RunRecord>,
    /// Data-quality findings of those attempts (by run id, attempt, then recorded order).
    pub findings: Vec<crate::store::FindingRecord>,
    /// Results of this model that reruns replaced (by date, then `valid_to`): the dates marked
    /// recomputed (`✎`) and what they were before.
    pub replaced: Vec<crate::store::ReplacedResult>,
}

impl Detail {
    /// The replaced versions of one calculation date, oldest first.
    pub fn replaced_on(
        &self,
        date: NaiveDate,
    ) -> impl Iterator<Item = &crate::store::ReplacedResult> + '_ {
        self.replaced
            .iter()
            .filter(move |h| h.calculation_date == date)
    }

    /// The version an attempt's result replaced (its run id is the `superseded_by_run`).
    pub fn replaced_by(&self, run: &RunRecord) -> Option<&crate::store::ReplacedResult> {
        self.replaced.iter().find(|h| {
            h.superseded_by_run.as_deref() == Some(run.run_id.as_str())
                && h.calculation_date == run.calculation_date
        })
    }

    /// The findings of one attempt.
    pub fn findings_of<'a>(
        &'a self,
        run: &'a RunRecord,
    ) -> impl Iterator<Item = &'a crate::quality::Finding> + 'a {
        self.findings
            .iter()
            .filter(move |f| f.run_id == run.run_id && f.attempt == run.attempt)
            .map(|f| &f.finding)
    }
}
