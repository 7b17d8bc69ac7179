//! Data sources: read CSV and Parquet files (arrow-rs 57) into engine [`Table`]s, select rows by
//! calculation date and `column = value` filters, and load the current population of a model for a
//! calculation date ([`CurrentSource`], [`FilePatternSource`]).
//!
//! Conventions shared by every reader:
//! - missing = an empty CSV field, the text `NaN`/`nan` (any text that parses to NaN) or a Parquet
//!   null; numeric missing is `NaN`, categorical missing is [`MISSING_CODE`](crate::engine::column::MISSING_CODE);
//! - `inf`, `-inf`, `infinity` (and numbers that overflow `f64`) are rejected, never silently kept;
//! - every error names the file and, where it applies, the 1-based line (CSV, header = line 1) or
//!   row (Parquet), the column and the offending value.

mod cache;
mod convert;
mod csv;
mod csv_chunked;
mod current;
mod error;
mod parquet;
mod selection;
pub mod snowflake;

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::column::Table;

pub use cache::{CacheStats, FileCache};
pub use current::{
    CurrentSource, FilePatternSource, Population, QuarantinedRows, validate_pattern,
};
pub use error::{Position, SourceError};
pub use selection::{DateSelection, Selection, ValueFilter, concat_tables, project, select_rows};
pub use snowflake::{SnowflakeQuerySource, validate_template};

/// How a requested column should be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KindHint {
    /// Parse as `f64`; any non-missing text that is not a finite number is an error.
    Numeric,
    /// Keep as text categories (numbers are kept as their text).
    Categorical,
    /// Numeric if every non-missing value parses as a finite `f64`, else categorical
    /// (like pandas' `read_csv`). A column with no non-missing value is numeric.
    Infer,
}

/// One column to read: its name in the file and how to read it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ColumnRequest {
    /// Column name as in the CSV header / Parquet schema (exact, case-sensitive).
    pub name: String,
    /// How to read it.
    pub kind: KindHint,
}

impl From<crate::engine::Kind> for KindHint {
    fn from(kind: crate::engine::Kind) -> Self {
        match kind {
            crate::engine::Kind::Numeric => KindHint::Numeric,
            crate::engine::Kind::Categorical => KindHint::Categorical,
        }
    }
}

impl ColumnRequest {
    /// The requests that read exactly the columns of `specs`, each with its configured kind.
    pub fn for_specs(specs: &[crate::engine::ColumnSpec]) -> Vec<ColumnRequest> {
        specs
            .iter()
            .map(|s| ColumnRequest::new(s.name.clone(), s.kind.into()))
            .collect()
    }

    /// A request for `name` read as `kind`.
    pub fn new(name: impl Into<String>, kind: KindHint) -> Self {
        Self {
            name: name.into(),
            kind,
        }
    }
}

/// A row of a file that a lenient read could not read: kept aside (quarantined), never dropped
/// silently.
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableRow {
    /// 1-based line of the record (header = line 1).
    pub line: usize,
    /// 0-based index of the row in the table as read (the row is there with missing cells).
    pub row: usize,
    /// Why, naming the column and the value (escaped, bounded); several reasons joined by `; `.
    pub reason: String,
    /// The record's bytes as in the file, without its line end.
    pub raw: Vec<u8>,
    /// The row has a wrong field count (its cells, the date among them, cannot be trusted).
    pub ragged: bool,
}

/// A file read leniently ([`read_table_lenient`]).
#[derive(Debug, Clone)]
pub struct LenientTable {
    /// Every record of the file, unreadable ones included with missing cells.
    pub table: std::sync::Arc<Table>,
    /// The unreadable rows, by line.
    pub unreadable: Vec<UnreadableRow>,
    /// The header line's bytes as in the file (no line end); empty for Parquet.
    pub header: Vec<u8>,
    /// The error a strict read ([`read_table`]) of the same file reports, if any.
    pub strict_error: Option<SourceError>,
}

/// Reads `path` like [`read_table`] with `requests`, but a CSV row whose value cannot be read
/// (text or an infinite value in a numeric column, a wrong field count) does not fail the read:
/// it stays in the table with missing cells and is listed with its bytes and reason. Structural
/// faults (missing file or column, empty file, unterminated quote) still fail, and files with
/// quotes are read strictly. In a Parquet file an infinite value in a numeric column makes its
/// row unreadable (`line` = the 1-based row, `raw` = its requested values as CSV text).
///
/// # Errors
/// Those of [`read_table`] that are not about one CSV row.
pub fn read_table_lenient(
    path: &Path,
    requests: &[ColumnRequest],
) -> Result<LenientTable, SourceError> {
    match format_of(path)? {
        Format::Csv => {
            match std::fs::metadata(path) {
                Ok(m) if m.is_file() => {}
                Ok(_) => {
                    return Err(SourceError::Io {
                        path: path.to_path_buf(),
                        message: "not a regular file".into(),
                    });
                }
                Err(e) => return Err(SourceError::io(path, &e)),
            }
            let mut seen = HashSet::new();
            for r in requests {
                if !seen.insert(r.name.as_str()) {
                    return Err(SourceError::DuplicateRequest {
                        path: path.to_path_buf(),
                        column: r.name.clone(),
                    });
                }
            }
            csv::read_csv_lenient(path, requests)
        }
        Format::Parquet => {
            read_table(path, Some(&[]))?; // the checks of a strict read that are not per value
            let (table, mut cells) = parquet::read_parquet_with(path, Some(requests), true)?;
            // The strict read's error: the first bad row of the first column holding one.
            let strict_error = table.names.iter().find_map(|name| {
                cells
                    .iter()
                    .filter(|c| &c.1 == name)
                    .min_by_key(|c| c.0)
                    .map(|(row, column, value)| SourceError::NonFinite {
                        path: path.to_path_buf(),
                        at: Position::Row(row + 1),
                        column: column.clone(),
                        value: value.clone(),
                    })
            });
            cells.sort_by_key(|c| c.0);
            Ok(LenientTable {
                unreadable: parquet_unreadable(&table, cells),
                header: table.names.join(",").into_bytes(),
                table: std::sync::Arc::new(table),
                strict_error,
            })
        }
    }
}

/// One [`UnreadableRow`] per Parquet row with an infinite value (`cells` sorted by row): `line`
/// is the 1-based row, `raw` the row's requested values as CSV text (Parquet has no lines).
fn parquet_unreadable(table: &Table, cells: Vec<parquet::NonFiniteCell>) -> Vec<UnreadableRow> {
    use crate::engine::column::Column;
    let quote = |l: &str| {
        if l.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", l.replace('"', "\"\""))
        } else {
            l.to_string()
        }
    };
    cells
        .chunk_by(|a, b| a.0 == b.0)
        .map(|group| {
            let row = group[0].0;
            let reason = group
                .iter()
                .map(|(_, column, value)| {
                    format!(
                        "row {}, column {column:?}: infinite value {value:?}",
                        row + 1
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            let fields: Vec<String> = table
                .columns
                .iter()
                .zip(&table.names)
                .map(|(c, name)| {
                    if let Some(cell) = group.iter().find(|c| &c.1 == name) {
                        return cell.2.clone();
                    }
                    match c {
                        Column::Numeric(v) => match v.get(row) {
                            Some(x) if !x.is_nan() => x.to_string(),
                            _ => String::new(),
                        },
                        Column::Categorical(c) => c
                            .codes
                            .get(row)
                            .and_then(|&k| c.levels.get(k as usize))
                            .map(|l| quote(l))
                            .unwrap_or_default(),
                    }
                })
                .collect();
            UnreadableRow {
                line: row + 1,
                row,
                reason,
                raw: fields.join(",").into_bytes(),
                ragged: false,
            }
        })
        .collect()
}

/// File formats, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Parquet,
}

fn format_of(path: &Path) -> Result<Format, SourceError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("csv") => Ok(Format::Csv),
        Some("parquet") | Some("pq") => Ok(Format::Parquet),
        _ => Err(SourceError::UnsupportedFormat {
            path: path.to_path_buf(),
        }),
    }
}

/// Reads a CSV (`.csv`) or Parquet (`.parquet`, `.pq`) file into a [`Table`].
///
/// `requests`: the columns to read, in the order of the returned table, each with a [`KindHint`];
/// `None` reads every column in file order with [`KindHint::Infer`]. Parquet decodes only the
/// requested columns (projection); CSV materialises only the requested columns.
/// A header-only file gives a valid table with 0 rows (the engine decides whether that is an error).
///
/// # Errors
/// [`SourceError`] naming the file and, where it applies, line/row, column and value: missing file,
/// unknown extension, empty file (no header), duplicate header names, a requested column that is
/// absent (listing the available ones), a request naming the same column twice, ragged rows,
/// unterminated quotes, invalid UTF-8, non-numeric text or infinite values in a numeric column,
/// unsupported Parquet types.
pub fn read_table(path: &Path, requests: Option<&[ColumnRequest]>) -> Result<Table, SourceError> {
    if let Some(reqs) = requests {
        let mut seen = HashSet::new();
        for r in reqs {
            if !seen.insert(r.name.as_str()) {
                return Err(SourceError::DuplicateRequest {
                    path: path.to_path_buf(),
                    column: r.name.clone(),
                });
            }
        }
    }
    let format = format_of(path)?;
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(SourceError::Io {
                path: path.to_path_buf(),
                message: "not a regular file".into(),
            });
        }
        Err(e) => return Err(SourceError::io(path, &e)),
    }
    match format {
        Format::Csv => csv::read_csv(path, requests),
        Format::Parquet => parquet::read_parquet(path, requests),
    }
}

/// The column names of a CSV header or a Parquet schema, in file order, without reading data.
///
/// # Errors
/// Those of [`read_table`] about the file itself (missing, unknown extension, empty, unreadable
/// header or footer).
pub fn column_names(path: &Path) -> Result<Vec<String>, SourceError> {
    match format_of(path)? {
        Format::Csv => {
            let mut file = std::fs::File::open(path).map_err(|e| SourceError::io(path, &e))?;
            csv::read_header(path, &mut file)
        }
        Format::Parquet => parquet::column_names(path),
    }
}

/// Reads a file like [`read_table`], then keeps only the rows chosen by `selection`.
///
/// Columns the selection needs but `requests` does not name are read for the selection and
/// dropped from the result; with `requests = None` every column is returned.
///
/// # Errors
/// Those of [`read_table`] and of [`Selection::apply`].
pub fn read_table_selected(
    path: &Path,
    requests: Option<&[ColumnRequest]>,
    selection: &Selection,
) -> Result<Table, SourceError> {
    let Some(reqs) = requests else {
        let table = read_table(path, None)?;
        return selection.apply(&table, path);
    };
    let widened = selection.widen(reqs);
    let table = read_table(path, Some(&widened))?;
    let selected = selection.apply(&table, path)?;
    let names: Vec<&str> = reqs.iter().map(|r| r.name.as_str()).collect();
    project(&selected, &names, path)
}

/// SHA-256 of a file's bytes as 64 lowercase hex digits (the benchmark version / profile checksum).
///
/// # Errors
/// [`SourceError::NotFound`] or [`SourceError::Io`] naming the file.
pub fn checksum_file(path: &Path) -> Result<String, SourceError> {
    let mut file = std::fs::File::open(path).map_err(|e| SourceError::io(path, &e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| SourceError::io(path, &e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex_lower(&hasher.finalize()))
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_sha256_hex() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.csv");
        std::fs::write(&p, b"abc").expect("write");
        assert_eq!(
            checksum_file(&p).expect("checksum"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(matches!(
            checksum_file(&dir.path().join("missing.csv")),
            Err(SourceError::NotFound { .. })
        ));
    }

    #[test]
    fn unknown_extension_is_rejected() {
        let err = read_table(Path::new("x.xlsx"), None).expect_err("xlsx");
        assert!(err.to_string().contains("x.xlsx"), "{err}");
    }
}
