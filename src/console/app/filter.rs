//! Filtering, grouping and sorting of the models table.

use crate::domain::{Band, RunStatus};

use super::{App, ModelRow, SortKey};

impl App {
    /// Recomputes `visible` from filter, value-stream filter and sort; keeps `keep` selected.
    pub(super) fn recompute_visible(&mut self, keep: Option<&str>) {
        let (invert, needle) = match self.filter.strip_prefix('!') {
            Some(rest) => (true, rest.to_lowercase()),
            None => (false, self.filter.to_lowercase()),
        };
        let mut visible: Vec<usize> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                self.stream_filter
                    .as_ref()
                    .is_none_or(|vs| *vs == r.value_stream)
            })
            .filter(|(_, r)| !self.attention_only || r.needs_attention())
            .filter(|(_, r)| {
                if needle.is_empty() {
                    return true;
                }
                let hay = format!("{}/{}", r.value_stream, r.model_id).to_lowercase();
                hay.contains(&needle) != invert
            })
            .map(|(i, _)| i)
            .collect();
        let rows = &self.rows;
        let status_rank = |r: &ModelRow| match r.status {
            Some(RunStatus::Failed | RunStatus::Lost | RunStatus::Cancelled) => 0,
            Some(RunStatus::Retrying) => 1,
            Some(RunStatus::Running | RunStatus::Queued) => 2,
            _ => 3,
        };
        let band_rank = |r: &ModelRow| match r.band() {
            Some(Band::Alert) => 0,
            Some(Band::Warn) => 1,
            Some(Band::Ok) => 2,
            None => 3,
        };
        let psi_desc = |a: &ModelRow, b: &ModelRow| {
            b.psi
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.psi.unwrap_or(f64::NEG_INFINITY))
        };
        let name = |a: &ModelRow, b: &ModelRow| {
            (a.value_stream.as_str(), a.model_id.as_str())
                .cmp(&(b.value_stream.as_str(), b.model_id.as_str()))
        };
        let sort = self.sort;
        let group = self.group_by_stream;
        visible.sort_by(|&i, &j| {
            let (a, b) = (&rows[i], &rows[j]);
            let grouped = if group {
                a.value_stream.cmp(&b.value_stream)
            } else {
                std::cmp::Ordering::Equal
            };
            grouped.then_with(|| match sort {
                SortKey::Status => status_rank(a)
                    .cmp(&status_rank(b))
                    .then(band_rank(a).cmp(&band_rank(b)))
                    .then(psi_desc(a, b))
                    .then(name(a, b)),
                SortKey::Psi => psi_desc(a, b).then(name(a, b)),
                SortKey::Name => name(a, b),
            })
        });
        self.visible = visible;
        self.selected = keep
            .and_then(|id| {
                self.visible
                    .iter()
                    .position(|&i| self.rows[i].model_id == id)
            })
            .unwrap_or(0)
            .min(self.visible.len().saturating_sub(1));
    }
}
