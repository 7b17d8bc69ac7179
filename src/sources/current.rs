//! Current populations for a calculation date: the [`CurrentSource`] trait (file patterns now,
//! a Snowflake query later) and [`FilePatternSource`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, Days, NaiveDate};

use super::{
    ColumnRequest, DateSelection, FileCache, Selection, SourceError, UnreadableRow, ValueFilter,
    concat_tables, project, select_rows,
};
use crate::engine::column::Table;

/// The rows of one file that a run could not read (see [`Population`]).
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantinedRows {
    /// The file.
    pub path: PathBuf,
    /// Its header line's bytes (no line end).
    pub header: Vec<u8>,
    /// The rows, by line.
    pub rows: Vec<UnreadableRow>,
}

/// A current population with the rows that belong to it but could not be read.
#[derive(Debug, Clone)]
pub struct Population {
    /// The readable rows: exactly the requested columns, in order.
    pub table: Table,
    /// Per file, the unreadable rows of the population (their date in the window and the
    /// filters matching, or a wrong field count, so that it cannot be told).
    pub quarantined: Vec<QuarantinedRows>,
}

impl Population {
    /// Number of quarantined rows.
    pub fn quarantined_rows(&self) -> usize {
        self.quarantined.iter().map(|q| q.rows.len()).sum()
    }
}

/// Where a model's current (actual) population comes from.
///
/// Implementations: [`FilePatternSource`]; a Snowflake query source (query template with the
/// calculation date bound) can implement the same trait later.
pub trait CurrentSource: Send + Sync {
    /// The current population for calculation `date`: exactly `columns`, in that order.
    /// Zero rows is a valid answer (the engine reports an empty current population).
    ///
    /// # Errors
    /// [`SourceError`] naming the file (or query) and, where it applies, line, column and value.
    fn load(&self, date: NaiveDate, columns: &[ColumnRequest]) -> Result<Table, SourceError>;

    /// One line for logs and the console, e.g.
    /// `files /data/current_{month}.csv · date column flight_date · window 1 day · origin = EWR`.
    fn describe(&self) -> String;

    /// Like [`CurrentSource::load`], but rows whose value cannot be read are set aside in
    /// [`Population::quarantined`] instead of failing the load. The default quarantines nothing.
    ///
    /// # Errors
    /// Those of [`CurrentSource::load`] that are not about one row.
    fn load_population(
        &self,
        date: NaiveDate,
        columns: &[ColumnRequest],
    ) -> Result<Population, SourceError> {
        Ok(Population {
            table: self.load(date, columns)?,
            quarantined: Vec::new(),
        })
    }

    /// The date column and the days of the trailing window ending on `date` (oldest first), when
    /// the source selects rows by a date column; `None` otherwise. The data-quality coverage
    /// check reads the date column and names a day without rows.
    fn window(&self, date: NaiveDate) -> Option<(String, Vec<NaiveDate>)> {
        let _ = date;
        None
    }
}

const PLACEHOLDERS: [&str; 3] = ["{date}", "{month}", "{year}"];

/// Checks a path pattern: braces may only hold `{date}`, `{month}` or `{year}`.
///
/// # Errors
/// A message naming the unknown placeholder or the unbalanced brace.
pub fn validate_pattern(pattern: &str) -> Result<(), String> {
    let mut rest = pattern;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(format!("unbalanced '}}' in {pattern:?}"));
        }
        let after = &rest[open..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("unbalanced '{{' in {pattern:?}"))?;
        let token = &after[..=close];
        if !PLACEHOLDERS.contains(&token) {
            return Err(format!(
                "unknown placeholder {token} in {pattern:?}; use {{date}} (YYYY-MM-DD), {{month}} (YYYY-MM) or {{year}} (YYYY)"
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Current data from files named by a date pattern, e.g. `/data/current_{month}.csv`.
///
/// Placeholders: `{date}` = `YYYY-MM-DD`, `{month}` = `YYYY-MM`, `{year}` = `YYYY`, of each date of
/// the window. The window is the calculation date and the `window_days − 1` days before it
/// (1 = the calculation date only); it may span several files (e.g. two monthly files).
/// With a `date_column`, only rows whose date falls in the part of the window a file stands for
/// are kept; without one, every row of each file is used. `filters` (AND) then select rows,
/// e.g. `origin = EWR`. Parsed files come from a shared [`FileCache`].
#[derive(Debug, Clone)]
pub struct FilePatternSource {
    pattern: String,
    date_column: Option<String>,
    window_days: u32,
    filters: Vec<ValueFilter>,
    cache: Arc<FileCache>,
}

impl FilePatternSource {
    /// A source over `pattern` (an absolute path after config resolution).
    ///
    /// # Errors
    /// [`SourceError::Pattern`] for an unknown placeholder, `window_days` outside 1..=366, or an
    /// empty filter value list.
    pub fn new(
        pattern: impl Into<String>,
        date_column: Option<String>,
        window_days: u32,
        filters: Vec<ValueFilter>,
        cache: Arc<FileCache>,
    ) -> Result<Self, SourceError> {
        let pattern = pattern.into();
        let err = |message: String| SourceError::Pattern {
            pattern: pattern.clone(),
            message,
        };
        validate_pattern(&pattern).map_err(err)?;
        if !(1..=366).contains(&window_days) {
            return Err(err(format!(
                "window_days must be between 1 and 366, got {window_days}"
            )));
        }
        if let Some(f) = filters.iter().find(|f| f.values.is_empty()) {
            return Err(err(format!("filter on {:?} has no values", f.column)));
        }
        Ok(Self {
            pattern,
            date_column,
            window_days,
            filters,
            cache,
        })
    }

    /// The file standing for `date`: the pattern with its placeholders filled.
    pub fn path_for(&self, date: NaiveDate) -> PathBuf {
        PathBuf::from(
            self.pattern
                .replace("{date}", &date.format("%Y-%m-%d").to_string())
                .replace("{month}", &date.format("%Y-%m").to_string())
                .replace("{year}", &format!("{:04}", date.year())),
        )
    }

    /// The files of the window ending on `date`, each with the first and last date it stands for,
    /// oldest first.
    pub fn files_for(&self, date: NaiveDate) -> Vec<(PathBuf, NaiveDate, NaiveDate)> {
        let start = date
            .checked_sub_days(Days::new(u64::from(self.window_days - 1)))
            .unwrap_or(NaiveDate::MIN);
        let mut out: Vec<(PathBuf, NaiveDate, NaiveDate)> = Vec::new();
        for d in start.iter_days().take_while(|d| *d <= date) {
            let p = self.path_for(d);
            match out.iter_mut().find(|(q, _, _)| *q == p) {
                Some(entry) => entry.2 = d,
                None => out.push((p, d, d)),
            }
        }
        out
    }

    fn load_file(
        &self,
        path: &Path,
        from: NaiveDate,
        to: NaiveDate,
        columns: &[ColumnRequest],
    ) -> Result<Table, SourceError> {
        let selection = Selection {
            date: self.date_column.as_ref().map(|c| DateSelection {
                column: c.clone(),
                from,
                to,
            }),
            filters: self.filters.clone(),
        };
        let widened = selection.widen(columns);
        let table = self.cache.get_or_read(path, &widened)?;
        let selected = selection.apply(&table, path)?;
        let names: Vec<&str> = columns.iter().map(|r| r.name.as_str()).collect();
        project(&selected, &names, path)
    }

    /// [`FilePatternSource::load_file`] on a lenient read: the selected readable rows and the
    /// unreadable rows the selection would keep (ragged rows always: their date is unknown).
    fn load_file_lenient(
        &self,
        path: &Path,
        from: NaiveDate,
        to: NaiveDate,
        columns: &[ColumnRequest],
    ) -> Result<(Table, QuarantinedRows), SourceError> {
        let selection = Selection {
            date: self.date_column.as_ref().map(|c| DateSelection {
                column: c.clone(),
                from,
                to,
            }),
            filters: self.filters.clone(),
        };
        let widened = selection.widen(columns);
        let read = self.cache.get_or_read_lenient(path, &widened)?;
        let names: Vec<&str> = columns.iter().map(|r| r.name.as_str()).collect();
        let quarantined = QuarantinedRows {
            path: path.to_path_buf(),
            header: read.header.clone(),
            rows: Vec::new(),
        };
        if read.unreadable.is_empty() {
            let selected = selection.apply(&read.table, path)?;
            return Ok((project(&selected, &names, path)?, quarantined));
        }
        let mut keep = if selection.is_empty() {
            vec![true; read.table.rows]
        } else {
            selection.mask(&read.table, path)?
        };
        let mut quarantined = quarantined;
        for u in &read.unreadable {
            let Some(k) = keep.get_mut(u.row) else {
                continue;
            };
            if *k || u.ragged {
                quarantined.rows.push(u.clone());
            }
            *k = false;
        }
        let rows: Vec<usize> = keep
            .iter()
            .enumerate()
            .filter_map(|(i, k)| k.then_some(i))
            .collect();
        let selected = select_rows(&read.table, &rows);
        Ok((project(&selected, &names, path)?, quarantined))
    }
}

impl CurrentSource for FilePatternSource {
    fn load(&self, date: NaiveDate, columns: &[ColumnRequest]) -> Result<Table, SourceError> {
        let files = self.files_for(date);
        let mut parts = Vec::with_capacity(files.len());
        for (path, from, to) in &files {
            parts.push((path.as_path(), self.load_file(path, *from, *to, columns)?));
        }
        let refs: Vec<(&Path, &Table)> = parts.iter().map(|(p, t)| (*p, t)).collect();
        concat_tables(&refs)
    }

    fn load_population(
        &self,
        date: NaiveDate,
        columns: &[ColumnRequest],
    ) -> Result<Population, SourceError> {
        let files = self.files_for(date);
        let mut parts = Vec::with_capacity(files.len());
        let mut quarantined = Vec::new();
        for (path, from, to) in &files {
            let (table, q) = self.load_file_lenient(path, *from, *to, columns)?;
            if !q.rows.is_empty() {
                quarantined.push(q);
            }
            parts.push((path.as_path(), table));
        }
        let refs: Vec<(&Path, &Table)> = parts.iter().map(|(p, t)| (*p, t)).collect();
        Ok(Population {
            table: concat_tables(&refs)?,
            quarantined,
        })
    }

    fn window(&self, date: NaiveDate) -> Option<(String, Vec<NaiveDate>)> {
        let column = self.date_column.clone()?;
        let start = date
            .checked_sub_days(Days::new(u64::from(self.window_days - 1)))
            .unwrap_or(NaiveDate::MIN);
        Some((
            column,
            start.iter_days().take_while(|d| *d <= date).collect(),
        ))
    }

    fn describe(&self) -> String {
        let mut s = format!("files {}", self.pattern);
        if let Some(c) = &self.date_column {
            s.push_str(&format!(" · date column {c}"));
        }
        let unit = if self.window_days == 1 { "day" } else { "days" };
        s.push_str(&format!(" · window {} {unit}", self.window_days));
        for f in &self.filters {
            s.push_str(&format!(" · {} = {}", f.column, f.values.join("|")));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::column::Column;
    use crate::sources::KindHint;

    fn d(s: &str) -> NaiveDate {
        crate::domain::parse_date(s).expect("date")
    }

    #[test]
    fn patterns_are_checked() {
        assert!(validate_pattern("data/current_{month}.csv").is_ok());
        assert!(validate_pattern("data/{year}/{date}.parquet").is_ok());
        assert!(validate_pattern("data/{day}.csv").is_err());
        assert!(validate_pattern("data/{date.csv").is_err());
        assert!(validate_pattern("data/date}.csv").is_err());
    }

    #[test]
    fn window_spans_two_monthly_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("cur_2013-01.csv"),
            "flight_date,origin,score\n2013-01-30,EWR,0.1\n2013-01-31,JFK,0.2\n2013-01-31,EWR,0.3\n2013-01-20,EWR,0.9\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("cur_2013-02.csv"),
            "flight_date,origin,score\n2013-02-01,EWR,0.4\n2013-02-02,EWR,0.5\n",
        )
        .expect("write");
        let pattern = dir.path().join("cur_{month}.csv");
        let cache = Arc::new(FileCache::default());
        let src = FilePatternSource::new(
            pattern.to_string_lossy(),
            Some("flight_date".into()),
            3,
            vec![ValueFilter::new("origin", ["EWR"])],
            cache.clone(),
        )
        .expect("source");
        let cols = [ColumnRequest::new("score", KindHint::Numeric)];
        let t = src.load(d("2013-02-01"), &cols).expect("load");
        assert_eq!(t.names, vec!["score"]);
        assert_eq!(t.columns[0], Column::Numeric(vec![0.1, 0.3, 0.4]));
        // Another date of the same files reads nothing new.
        let t = src.load(d("2013-02-02"), &cols).expect("load");
        assert_eq!(t.columns[0], Column::Numeric(vec![0.3, 0.4, 0.5]));
        assert_eq!(cache.stats().reads, 2);
        assert!(
            src.describe().contains("origin = EWR"),
            "{}",
            src.describe()
        );
        // A day whose file does not exist names the file.
        let err = src.load(d("2013-03-01"), &cols).expect_err("missing");
        assert!(err.to_string().contains("cur_2013-03.csv"), "{err}");
    }

    #[test]
    fn rejects_bad_options() {
        let cache = Arc::new(FileCache::default());
        assert!(FilePatternSource::new("x_{date}.csv", None, 0, vec![], cache.clone()).is_err());
        assert!(FilePatternSource::new("x_{day}.csv", None, 1, vec![], cache.clone()).is_err());
        let empty = vec![ValueFilter {
            column: "o".into(),
            values: vec![],
        }];
        assert!(FilePatternSource::new("x.csv", None, 1, empty, cache).is_err());
    }
}
