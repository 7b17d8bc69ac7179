//! Data messages: the overview and detail loads, selection changes and the status line.

use std::collections::BTreeMap;

use crate::domain::Thresholds;

use super::{App, Effect, Level, LogSource, ModelRow, Overview, StatusLine, TREND_POINTS};

impl App {
    pub(super) fn set_status(&mut self, level: Level, text: impl Into<String>) {
        self.status = Some(StatusLine {
            level,
            text: text.into(),
        });
    }

    pub(super) fn request_overview(&mut self) -> Option<Effect> {
        if self.overview_loading {
            self.overview_pending = true;
            None
        } else {
            self.overview_loading = true;
            Some(Effect::LoadOverview)
        }
    }

    /// Rebuilds `rows` from an overview and the configured models.
    pub(super) fn apply_overview(&mut self, ov: Overview) {
        // Keep the selection across refreshes, but start at the top on the first load.
        let keep = self
            .last_refresh
            .and_then(|_| self.selected_row().map(|r| r.model_id.clone()));
        let mut rows: BTreeMap<String, ModelRow> = self
            .meta
            .values()
            .map(|m| {
                (
                    m.model_id.clone(),
                    ModelRow {
                        model_id: m.model_id.clone(),
                        value_stream: m.value_stream.clone(),
                        owner: m.owner.clone(),
                        thresholds: m.thresholds,
                        last_date: None,
                        psi: None,
                        csi: None,
                        csi_name: None,
                        status: None,
                        run_date: None,
                        error: None,
                        trend: Vec::new(),
                        quality: None,
                    },
                )
            })
            .collect();
        let blank = |model_id: &str, value_stream: &str| ModelRow {
            model_id: model_id.to_string(),
            value_stream: value_stream.to_string(),
            owner: None,
            thresholds: Thresholds::default(),
            last_date: None,
            psi: None,
            csi: None,
            csi_name: None,
            status: None,
            run_date: None,
            error: None,
            trend: Vec::new(),
            quality: None,
        };
        for r in ov.latest {
            let row = rows
                .entry(r.model_id.clone())
                .or_insert_with(|| blank(&r.model_id, &r.value_stream));
            row.last_date = Some(r.calculation_date);
            row.psi = Some(r.psi_score);
            row.csi = Some(r.csi_score);
        }
        for run in ov.latest_runs {
            let row = rows
                .entry(run.model_id.clone())
                .or_insert_with(|| blank(&run.model_id, &run.value_stream));
            row.status = Some(run.status);
            row.run_date = Some(run.calculation_date);
            row.error = run.error;
        }
        for (model, trend) in ov.trends {
            if let Some(row) = rows.get_mut(&model) {
                let skip = trend.len().saturating_sub(TREND_POINTS);
                row.trend = trend[skip..].to_vec();
            }
        }
        for (model, name) in ov.worst {
            if let Some(row) = rows.get_mut(&model) {
                row.csi_name = Some(name);
            }
        }
        for (model, severity) in ov.quality {
            if let Some(row) = rows.get_mut(&model) {
                row.quality = Some(severity);
            }
        }
        self.rows = rows.into_values().collect();
        if ov.loaded_at.is_some() {
            self.last_refresh = ov.loaded_at;
        }
        self.recompute_visible(keep.as_deref());
    }

    /// Effects after the selected model may have changed: load its detail if needed.
    pub(super) fn selection_changed(&mut self) -> Vec<Effect> {
        let Some(row) = self.selected_row() else {
            self.detail = None;
            return Vec::new();
        };
        let id = row.model_id.clone();
        if self.detail.as_ref().is_some_and(|d| d.model_id == id)
            || self.detail_loading.as_deref() == Some(id.as_str())
        {
            return Vec::new();
        }
        self.detail = None;
        self.detail_error = None;
        // Another model: the log of a console job of the previous model no longer applies.
        if matches!(self.log.source, Some(LogSource::Job(_))) {
            self.log.buffer.clear();
            self.log.source = None;
            self.log.error = None;
        }
        self.cursor = None;
        self.characteristics_error = None;
        self.char_selected = 0;
        self.run_selected = 0;
        self.detail_loading = Some(id.clone());
        vec![Effect::LoadDetail(id)]
    }

    pub(super) fn load_characteristics(&mut self) -> Vec<Effect> {
        self.characteristics_error = None;
        match (self.selected_row(), self.cursor_date()) {
            (Some(row), Some(date)) => {
                let model_id = row.model_id.clone();
                if self
                    .characteristics
                    .as_ref()
                    .is_some_and(|(m, d, _)| *m == model_id && *d == date)
                {
                    return Vec::new();
                }
                vec![Effect::LoadCharacteristics { model_id, date }]
            }
            _ => Vec::new(),
        }
    }
}
