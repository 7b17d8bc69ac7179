//! Row selection (calculation-date range and `column = value(s)` filters) and table plumbing
//! (keep rows, keep columns, stack tables) shared by every source.

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{ColumnRequest, KindHint, Position, SourceError};
use crate::engine::column::{CategoricalColumn, Column, MISSING_CODE, Table};

/// Keep rows whose `column` holds a date in `[from, to]` (both included).
///
/// The column holds ISO dates `YYYY-MM-DD` (text, optionally followed by `T`/space and a time) or
/// Parquet `Date32`/`Date64`/timestamps. Rows with a missing date are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateSelection {
    /// Name of the date column (e.g. `flight_date`).
    pub column: String,
    /// First calculation date kept.
    pub from: NaiveDate,
    /// Last calculation date kept.
    pub to: NaiveDate,
}

/// Keep rows whose `column` equals one of `values` (text equality on categorical columns,
/// numeric equality on numeric ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueFilter {
    /// Column name.
    pub column: String,
    /// Accepted values (any of them).
    pub values: Vec<String>,
}

impl ValueFilter {
    /// A filter `column ∈ values`.
    pub fn new(
        column: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            column: column.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// A row selection: an optional date range and any number of value filters, all of which must
/// hold (AND). The default selects every row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Date range on a date column.
    pub date: Option<DateSelection>,
    /// Value filters, combined with AND.
    pub filters: Vec<ValueFilter>,
}

impl Selection {
    /// True when the selection keeps every row.
    pub fn is_empty(&self) -> bool {
        self.date.is_none() && self.filters.is_empty()
    }

    /// Names of the columns the selection reads.
    pub fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some(d) = &self.date {
            out.push(&d.column);
        }
        for f in &self.filters {
            if !out.contains(&f.column.as_str()) {
                out.push(&f.column);
            }
        }
        out
    }

    /// `requests` plus the selection's columns not already requested (read as categorical).
    pub fn widen(&self, requests: &[ColumnRequest]) -> Vec<ColumnRequest> {
        let mut out = requests.to_vec();
        for c in self.columns() {
            if !out.iter().any(|r| r.name == c) {
                out.push(ColumnRequest::new(c, KindHint::Categorical));
            }
        }
        out
    }

    /// One flag per row of `table`: true when the row is kept.
    ///
    /// # Errors
    /// [`SourceError::MissingColumn`] if a selection column is absent, [`SourceError::BadDate`] for a
    /// date value that is not ISO, [`SourceError::BadFilter`] for a non-number filter value on a
    /// numeric column. `path` names the file in errors.
    pub fn mask(&self, table: &Table, path: &Path) -> Result<Vec<bool>, SourceError> {
        let mut keep = vec![true; table.rows];
        if let Some(d) = &self.date {
            let col = column_of(table, &d.column, path)?;
            date_mask(col, d, path, &mut keep)?;
        }
        for f in &self.filters {
            let col = column_of(table, &f.column, path)?;
            value_mask(col, f, path, &mut keep)?;
        }
        Ok(keep)
    }

    /// The rows of `table` the selection keeps (every column, levels compacted).
    ///
    /// # Errors
    /// Those of [`Selection::mask`].
    pub fn apply(&self, table: &Table, path: &Path) -> Result<Table, SourceError> {
        if self.is_empty() {
            return Ok(table.clone());
        }
        let keep = self.mask(table, path)?;
        let rows: Vec<usize> = keep
            .iter()
            .enumerate()
            .filter_map(|(i, k)| k.then_some(i))
            .collect();
        Ok(select_rows(table, &rows))
    }
}

fn column_of<'t>(table: &'t Table, name: &str, path: &Path) -> Result<&'t Column, SourceError> {
    table
        .column(name)
        .ok_or_else(|| SourceError::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
            available: table.names.clone(),
        })
}

/// Position of a 0-based row of a freshly read file: a CSV line or a Parquet row.
fn position_in(path: &Path, row: usize) -> Position {
    let is_csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        Position::Line(row + 2)
    } else {
        Position::Row(row + 1)
    }
}

/// Parses `YYYY-MM-DD`, optionally followed by `T` or a space and a time.
pub(crate) fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    let head = t.get(..10)?;
    if t.len() > 10 && !matches!(t.as_bytes()[10], b'T' | b' ') {
        return None;
    }
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

fn date_mask(
    col: &Column,
    d: &DateSelection,
    path: &Path,
    keep: &mut [bool],
) -> Result<(), SourceError> {
    match col {
        Column::Categorical(c) => {
            let mut in_range = Vec::with_capacity(c.levels.len());
            for (code, level) in c.levels.iter().enumerate() {
                match parse_iso_date(level) {
                    Some(date) => in_range.push(date >= d.from && date <= d.to),
                    None => {
                        let row = c.codes.iter().position(|&x| x == code as u32).unwrap_or(0);
                        return Err(SourceError::BadDate {
                            path: path.to_path_buf(),
                            at: position_in(path, row),
                            column: d.column.clone(),
                            value: level.clone(),
                        });
                    }
                }
            }
            for (k, &code) in keep.iter_mut().zip(&c.codes) {
                *k = *k && code != MISSING_CODE && in_range[code as usize];
            }
            Ok(())
        }
        Column::Numeric(v) => match v.iter().position(|x| !x.is_nan()) {
            // An all-missing column read as numeric: no row has a date.
            None => {
                keep.iter_mut().for_each(|k| *k = false);
                Ok(())
            }
            Some(row) => Err(SourceError::BadDate {
                path: path.to_path_buf(),
                at: position_in(path, row),
                column: d.column.clone(),
                value: v[row].to_string(),
            }),
        },
    }
}

fn value_mask(
    col: &Column,
    f: &ValueFilter,
    path: &Path,
    keep: &mut [bool],
) -> Result<(), SourceError> {
    match col {
        Column::Categorical(c) => {
            let accepted: Vec<bool> = c
                .levels
                .iter()
                .map(|l| f.values.iter().any(|v| v == l))
                .collect();
            for (k, &code) in keep.iter_mut().zip(&c.codes) {
                *k = *k && code != MISSING_CODE && accepted[code as usize];
            }
            Ok(())
        }
        Column::Numeric(v) => {
            let targets = f
                .values
                .iter()
                .map(|s| match s.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(x),
                    _ => Err(SourceError::BadFilter {
                        path: path.to_path_buf(),
                        column: f.column.clone(),
                        message: format!("{s:?} is not a number but the column is numeric"),
                    }),
                })
                .collect::<Result<Vec<f64>, _>>()?;
            for (k, x) in keep.iter_mut().zip(v) {
                *k = *k && targets.contains(x);
            }
            Ok(())
        }
    }
}

fn gather_categorical(c: &CategoricalColumn, rows: &[usize]) -> CategoricalColumn {
    let mut remap = vec![MISSING_CODE; c.levels.len()];
    let mut out = CategoricalColumn {
        levels: Vec::new(),
        codes: Vec::with_capacity(rows.len()),
    };
    for &r in rows {
        let code = c.codes[r];
        let new = if code == MISSING_CODE {
            MISSING_CODE
        } else {
            let slot = &mut remap[code as usize];
            if *slot == MISSING_CODE {
                *slot = out.levels.len() as u32;
                out.levels.push(c.levels[code as usize].clone());
            }
            *slot
        };
        out.codes.push(new);
    }
    out
}

/// The given rows of `table` (0-based, in the given order). Categorical levels are compacted to
/// the values still present, in order of first appearance.
///
/// Panics only if a row index is out of range (an invariant of the caller).
pub fn select_rows(table: &Table, rows: &[usize]) -> Table {
    let columns = table
        .columns
        .iter()
        .map(|col| match col {
            Column::Numeric(v) => Column::Numeric(rows.iter().map(|&r| v[r]).collect()),
            Column::Categorical(c) => Column::Categorical(gather_categorical(c, rows)),
        })
        .collect();
    Table {
        names: table.names.clone(),
        columns,
        rows: rows.len(),
    }
}

/// The columns `names` of `table`, in that order.
///
/// # Errors
/// [`SourceError::MissingColumn`] naming `path` if one is absent.
pub fn project(table: &Table, names: &[&str], path: &Path) -> Result<Table, SourceError> {
    let mut out = Table {
        names: Vec::with_capacity(names.len()),
        columns: Vec::with_capacity(names.len()),
        rows: table.rows,
    };
    for &n in names {
        out.columns.push(column_of(table, n, path)?.clone());
        out.names.push(n.to_string());
    }
    Ok(out)
}

/// Stacks tables with the same columns (names, order and kinds), merging categorical levels in
/// order of first appearance. Each part comes with the file it was read from, for errors.
/// No parts gives an empty table with no columns.
///
/// # Errors
/// [`SourceError::Mismatch`] naming the first part whose columns differ from the first part's.
pub fn concat_tables(parts: &[(&Path, &Table)]) -> Result<Table, SourceError> {
    let Some((_, first)) = parts.first() else {
        return Ok(Table::default());
    };
    if parts.len() == 1 {
        return Ok((*first).clone());
    }
    for (path, t) in &parts[1..] {
        if t.names != first.names {
            return Err(SourceError::Mismatch {
                path: path.to_path_buf(),
                message: format!(
                    "columns [{}] differ from [{}]",
                    t.names.join(", "),
                    first.names.join(", ")
                ),
            });
        }
    }
    let rows: usize = parts.iter().map(|(_, t)| t.rows).sum();
    let mut columns = Vec::with_capacity(first.columns.len());
    for (j, name) in first.names.iter().enumerate() {
        match &first.columns[j] {
            Column::Numeric(_) => {
                let mut out = Vec::with_capacity(rows);
                for (path, t) in parts {
                    match &t.columns[j] {
                        Column::Numeric(v) => out.extend_from_slice(v),
                        Column::Categorical(_) => return Err(kind_mismatch(path, name)),
                    }
                }
                columns.push(Column::Numeric(out));
            }
            Column::Categorical(_) => {
                let mut index: HashMap<String, u32> = HashMap::new();
                let mut out = CategoricalColumn {
                    levels: Vec::new(),
                    codes: Vec::with_capacity(rows),
                };
                for (path, t) in parts {
                    let Column::Categorical(c) = &t.columns[j] else {
                        return Err(kind_mismatch(path, name));
                    };
                    let remap: Vec<u32> = c
                        .levels
                        .iter()
                        .map(|l| {
                            *index.entry(l.clone()).or_insert_with(|| {
                                out.levels.push(l.clone());
                                (out.levels.len() - 1) as u32
                            })
                        })
                        .collect();
                    out.codes.extend(c.codes.iter().map(|&code| {
                        if code == MISSING_CODE {
                            MISSING_CODE
                        } else {
                            remap[code as usize]
                        }
                    }));
                }
                columns.push(Column::Categorical(out));
            }
        }
    }
    Ok(Table {
        names: first.names.clone(),
        columns,
        rows,
    })
}

fn kind_mismatch(path: &Path, column: &str) -> SourceError {
    SourceError::Mismatch {
        path: path.to_path_buf(),
        message: format!("column {column:?} is numeric in one file and categorical in another"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(values: &[Option<&str>]) -> Column {
        Column::Categorical(CategoricalColumn::from_values(values.iter().copied()))
    }

    fn table() -> Table {
        Table {
            names: vec!["d".into(), "o".into(), "x".into()],
            columns: vec![
                cat(&[
                    Some("2013-02-01"),
                    Some("2013-02-02"),
                    None,
                    Some("2013-02-03"),
                ]),
                cat(&[Some("EWR"), Some("JFK"), Some("EWR"), Some("EWR")]),
                Column::Numeric(vec![1.0, 2.0, 3.0, 4.0]),
            ],
            rows: 4,
        }
    }

    fn date(s: &str) -> NaiveDate {
        crate::domain::parse_date(s).expect("date")
    }

    #[test]
    fn selects_by_date_and_value_and_compacts_levels() {
        let sel = Selection {
            date: Some(DateSelection {
                column: "d".into(),
                from: date("2013-02-02"),
                to: date("2013-02-03"),
            }),
            filters: vec![ValueFilter::new("o", ["EWR"])],
        };
        let out = sel.apply(&table(), Path::new("t.csv")).expect("apply");
        assert_eq!(out.rows, 1);
        assert_eq!(out.columns[2], Column::Numeric(vec![4.0]));
        let Column::Categorical(d) = &out.columns[0] else {
            panic!("categorical")
        };
        assert_eq!(d.levels, vec!["2013-02-03"]);
        assert_eq!(d.codes, vec![0]);
    }

    #[test]
    fn numeric_filter_and_bad_filter() {
        let t = table();
        let sel = Selection {
            date: None,
            filters: vec![ValueFilter::new("x", ["2", "4.0"])],
        };
        assert_eq!(sel.apply(&t, Path::new("t.csv")).expect("apply").rows, 2);
        let bad = Selection {
            date: None,
            filters: vec![ValueFilter::new("x", ["two"])],
        };
        let err = bad.apply(&t, Path::new("t.csv")).expect_err("bad filter");
        assert!(err.to_string().contains("\"x\""), "{err}");
    }

    #[test]
    fn bad_date_names_line_and_value() {
        let t = Table {
            names: vec!["d".into()],
            columns: vec![cat(&[Some("2013-02-01"), Some("02/03/2013")])],
            rows: 2,
        };
        let sel = Selection {
            date: Some(DateSelection {
                column: "d".into(),
                from: date("2013-02-01"),
                to: date("2013-02-01"),
            }),
            filters: vec![],
        };
        let msg = sel
            .apply(&t, Path::new("f.csv"))
            .expect_err("bad date")
            .to_string();
        assert!(
            msg.contains("line 3") && msg.contains("02/03/2013"),
            "{msg}"
        );
    }

    #[test]
    fn concat_merges_levels() {
        let a = table();
        let b = select_rows(&table(), &[1]);
        let out = concat_tables(&[(Path::new("a"), &a), (Path::new("b"), &b)]).expect("concat");
        assert_eq!(out.rows, 5);
        let Column::Categorical(o) = &out.columns[1] else {
            panic!("categorical")
        };
        assert_eq!(o.levels, vec!["EWR", "JFK"]);
        assert_eq!(o.codes[4], 1);
        let c = project(&a, &["x"], Path::new("a")).expect("project");
        let err =
            concat_tables(&[(Path::new("a"), &a), (Path::new("c"), &c)]).expect_err("mismatch");
        assert!(err.to_string().starts_with("c:"), "{err}");
    }

    #[test]
    fn iso_dates_with_time_parse() {
        assert_eq!(
            parse_iso_date("2013-02-01T05:00:00"),
            Some(date("2013-02-01"))
        );
        assert_eq!(parse_iso_date("2013-02-01 05:00"), Some(date("2013-02-01")));
        assert_eq!(parse_iso_date("2013-02-01x"), None);
        assert_eq!(parse_iso_date("2013-2-1"), None);
    }
}
