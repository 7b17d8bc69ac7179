//! Snowflake query templates as data sources: the current population of a calculation date
//! ([`SnowflakeQuerySource`] implements [`CurrentSource`]) and benchmark extracts for the
//! refresh job ([`SnowflakeQuerySource::fetch_csv`], [`SnowflakeQuerySource::fetch_rows`]).
//!
//! Placeholders in the template: `{date}` (the calculation date), `{from}` (the first date of the
//! window, `window_days − 1` days earlier; equal to `{date}` for a one-day window). Each is
//! replaced by a `DATE` literal rendered by [`sql::date`],
//! never by raw text, e.g.
//! `SELECT score, temp FROM SCORED WHERE flight_date BETWEEN {from} AND {date}`.
//! Columns are matched by name, exactly first, then ignoring ASCII case (Snowflake upper-cases
//! unquoted names). Values go through the same conversion as CSV text (missing = NULL, `NaN`;
//! `inf` refused), so a Snowflake source and a file source of the same data agree.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::StringArray;
use chrono::{Days, NaiveDate};

use super::convert::TextColumn;
use super::{ColumnRequest, CurrentSource, Position, SourceError};
use crate::engine::column::Table;
use crate::store::snowflake::decode::{self, Rows, Value};
use crate::store::snowflake::{SnowflakeClient, sql};

/// Largest result a source query may return (rows).
pub const MAX_SOURCE_ROWS: usize = 20_000_000;

/// A Snowflake query template with `{date}` / `{from}` placeholders.
#[derive(Debug, Clone)]
pub struct SnowflakeQuerySource {
    client: Arc<SnowflakeClient>,
    template: String,
    window_days: u32,
    date_column: Option<String>,
}

fn row_position(row: usize) -> Position {
    Position::Row(row + 1)
}

/// Checks a query template: non-empty, and braces hold only `{date}` or `{from}`.
///
/// # Errors
/// A message naming the unknown placeholder or the empty template.
pub fn validate_template(template: &str) -> Result<(), String> {
    if template.trim().is_empty() {
        return Err("the query template is empty".into());
    }
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        let close = after.find('}').unwrap_or(after.len() - 1);
        let token = &after[..=close];
        if token != "{date}" && token != "{from}" {
            return Err(format!(
                "unknown placeholder {token}; use {{date}} (the calculation date) or {{from}} \
                 (the window's first date)"
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

impl SnowflakeQuerySource {
    /// A source running `template` on `client`.
    ///
    /// # Errors
    /// [`SourceError::Pattern`] for an unknown `{placeholder}` or `window_days` outside 1..=366.
    pub fn new(
        client: Arc<SnowflakeClient>,
        template: &str,
        window_days: u32,
    ) -> Result<Self, SourceError> {
        let pattern_err = |message: String| SourceError::Pattern {
            pattern: template.chars().take(200).collect(),
            message,
        };
        if !(1..=366).contains(&window_days) {
            return Err(pattern_err(format!(
                "window_days {window_days} outside 1..=366"
            )));
        }
        validate_template(template).map_err(pattern_err)?;
        Ok(Self {
            client,
            template: template.to_owned(),
            window_days,
            date_column: None,
        })
    }

    /// Names the result column holding each row's date: the data-quality coverage check then
    /// names a day of the window without rows ([`CurrentSource::window`]). The query itself
    /// selects the window's rows (with `{from}` and `{date}`).
    pub fn with_date_column(mut self, column: Option<String>) -> Self {
        self.date_column = column;
        self
    }

    /// The statement for calculation `date`, placeholders rendered as `DATE` literals.
    pub fn render(&self, date: NaiveDate) -> String {
        let from = date
            .checked_sub_days(Days::new(u64::from(self.window_days - 1)))
            .unwrap_or(date);
        self.template
            .replace("{date}", &sql::date(date))
            .replace("{from}", &sql::date(from))
    }

    /// Where errors point: `snowflake:<template>` (shortened).
    fn origin(&self) -> PathBuf {
        let short: String = self.template.chars().take(80).collect();
        PathBuf::from(format!("snowflake:{short}"))
    }

    /// Runs the query for `date` and decodes every row.
    ///
    /// # Errors
    /// [`SourceError::Io`] naming the query with Snowflake's error.
    pub fn fetch_rows(&self, date: NaiveDate) -> Result<Rows, SourceError> {
        let q = self.render(date);
        let io = |e: crate::store::snowflake::SnowflakeError| SourceError::Io {
            path: self.origin(),
            message: e.to_string(),
        };
        let result = self.client.execute("SELECT source", &q).map_err(io)?;
        decode::rows("SELECT source", result, MAX_SOURCE_ROWS).map_err(io)
    }

    /// Runs the query for `date` and writes the rows as a CSV file (header = the result's column
    /// names; NULL = empty field; dates `YYYY-MM-DD`; timestamps RFC 3339), for the benchmark
    /// refresh job, which validates and installs the file. Returns the number of rows.
    ///
    /// # Errors
    /// Query failures as [`Self::fetch_rows`]; [`SourceError::Io`] when the file cannot be written.
    pub fn fetch_csv(&self, date: NaiveDate, path: &Path) -> Result<usize, SourceError> {
        let rows = self.fetch_rows(date)?;
        let io = |e: &dyn std::fmt::Display| SourceError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut w = csv::Writer::from_path(path).map_err(|e| io(&e))?;
        w.write_record(&rows.columns).map_err(|e| io(&e))?;
        for row in &rows.rows {
            w.write_record(row.iter().map(|v| text_of(v).unwrap_or_default()))
                .map_err(|e| io(&e))?;
        }
        w.flush().map_err(|e| io(&e))?;
        Ok(rows.rows.len())
    }
}

/// The text form of a value, as a CSV file would hold it (`None` = missing): NaN is missing,
/// dates `YYYY-MM-DD`, timestamps RFC 3339.
pub fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(if f.is_nan() {
            String::new()
        } else {
            f.to_string()
        }),
        Value::Bool(b) => Some(b.to_string()),
        Value::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
        Value::Timestamp(t) => Some(t.to_rfc3339()),
    }
}

impl CurrentSource for SnowflakeQuerySource {
    fn load(&self, date: NaiveDate, columns: &[ColumnRequest]) -> Result<Table, SourceError> {
        let rows = self.fetch_rows(date)?;
        let origin = self.origin();
        let mut out = Vec::with_capacity(columns.len());
        for req in columns {
            let idx = rows
                .columns
                .iter()
                .position(|c| *c == req.name)
                .or_else(|| {
                    rows.columns
                        .iter()
                        .position(|c| c.eq_ignore_ascii_case(&req.name))
                })
                .ok_or_else(|| SourceError::MissingColumn {
                    path: origin.clone(),
                    column: req.name.clone(),
                    available: rows.columns.clone(),
                })?;
            let texts: StringArray = rows
                .rows
                .iter()
                .map(|r| r.get(idx).and_then(text_of))
                .collect();
            let column = TextColumn {
                path: &origin,
                name: &req.name,
                batches: vec![&texts],
                position: row_position,
            }
            .convert(req.kind)?;
            out.push(column);
        }
        Ok(Table {
            names: columns.iter().map(|c| c.name.clone()).collect(),
            columns: out,
            rows: rows.rows.len(),
        })
    }

    fn window(&self, date: NaiveDate) -> Option<(String, Vec<NaiveDate>)> {
        let column = self.date_column.clone()?;
        let days = (0..self.window_days)
            .rev()
            .filter_map(|back| date.checked_sub_days(Days::new(u64::from(back))))
            .collect();
        Some((column, days))
    }

    fn describe(&self) -> String {
        let short: String = self.template.chars().take(120).collect();
        format!(
            "snowflake query {short} · window {} day(s)",
            self.window_days
        )
    }
}
