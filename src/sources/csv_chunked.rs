//! Parallel chunked CSV reader: the fast path of [`read_csv`](super::csv::read_csv).
//!
//! The data part of the file (after the header line) is cut into byte ranges of about
//! [`CHUNK_BYTES`]; rayon threads each read one range with positioned reads (`read_at`, so memory
//! stays bounded by the chunks in flight plus the parsed columns), split it into lines and fields
//! and parse the requested columns straight into `f64` / categorical codes. A record belongs to the
//! range in which it starts; a worker finishes its last record past the range end.
//!
//! Cutting at a newline is only unambiguous when no field is quoted (a quoted field may hold a
//! newline), so a range holding a `"`, a `\r` that does not end a line, a blank line or text that is
//! not UTF-8 makes the whole file fall back to the serial arrow-csv path ([`Chunked::Fallback`]),
//! which handles the full grammar and names every error exactly. With no quote in the file, every
//! record is one physical line, so line numbers are the chunk's first line plus the local record
//! index (prefix sums over the chunks' record counts).
//!
//! Problems of one row are [`RowError`]s (line, column, [`RowProblem`], the line's bytes): a strict
//! read ([`read_chunked`]) turns the first one in file order into the [`SourceError`]; a lenient
//! read ([`read_chunked_lenient`]) returns the table with every row in place (unreadable cells
//! missing) and all the row errors, so the daily run can quarantine those rows.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use rayon::prelude::*;

use super::convert::{Codes, Parsed, is_missing_text, parse_number};
use super::{ColumnRequest, KindHint, Position, SourceError};
use crate::engine::column::{CategoricalColumn, Column, MISSING_CODE, Table};

/// Target size of one byte range (a trade-off between load balance and per-chunk overhead).
pub(crate) const CHUNK_BYTES: u64 = 4 << 20;

/// Why the fast path declined a file; the serial path then reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FallbackReason {
    /// A `"` somewhere: a quoted field may hold a newline or a comma.
    Quote,
    /// A `\r` not followed by `\n` (csv-core reads it as a line end).
    BareCarriageReturn,
    /// An empty line inside the data.
    BlankLine,
    /// Bytes that are not UTF-8 in a field that is read.
    InvalidUtf8,
}

/// Result of the fast path.
#[derive(Debug)]
pub(crate) enum Chunked {
    /// The table, identical to what the serial path builds.
    Table(Table),
    /// The file needs the serial path.
    Fallback(FallbackReason),
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RowProblem {
    /// The row has `found` fields where the header has `expected`.
    FieldCount {
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// Text that is not a number in a numeric column.
    NotNumeric {
        /// The field as written.
        value: String,
    },
    /// `inf` or a number beyond `f64` in a numeric column.
    NonFinite {
        /// The field as written.
        value: String,
    },
}

/// One row that cannot be read: its 1-based line (header = line 1), the requested column
/// (index into the requests, `None` for the whole row) and the problem.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowError {
    /// 1-based line of the record.
    pub line: usize,
    /// Index into the requested columns, or `None` when the row as a whole is wrong.
    pub column: Option<usize>,
    /// What is wrong.
    pub problem: RowProblem,
    /// The record's bytes as in the file, without its line end.
    pub raw: Vec<u8>,
}

impl RowError {
    /// The fatal error of the whole read (no quarantine): names file, line, column and value.
    pub(crate) fn into_source_error(self, path: &Path, names: &[&str]) -> SourceError {
        let column = self
            .column
            .and_then(|c| names.get(c))
            .map(|n| n.to_string())
            .unwrap_or_default();
        match self.problem {
            RowProblem::FieldCount { expected, found } => SourceError::Malformed {
                path: path.to_path_buf(),
                line: Some(self.line),
                message: format!("expected {expected} fields (as in the header), found {found}"),
            },
            RowProblem::NotNumeric { value } => SourceError::NotNumeric {
                path: path.to_path_buf(),
                at: Position::Line(self.line),
                column,
                value,
            },
            RowProblem::NonFinite { value } => SourceError::NonFinite {
                path: path.to_path_buf(),
                at: Position::Line(self.line),
                column,
                value,
            },
        }
    }
}

/// How one column is being read inside a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Numeric { infer: bool },
    Categorical,
}

/// One column of one chunk.
enum Part {
    Numeric {
        values: Vec<f64>,
        /// Infer columns: the infinite values (local row, text, line bytes); errors only if the
        /// column stays numeric.
        infinites: Vec<(usize, String, Vec<u8>)>,
    },
    Categorical {
        levels: Vec<String>,
        codes: Vec<u32>,
    },
}

/// One parsed chunk: record count, one part per requested column and the first row errors.
struct ChunkOut {
    rows: usize,
    parts: Vec<Part>,
    /// Ragged rows (local index, problem, line bytes).
    ragged: Vec<(usize, RowProblem, Vec<u8>)>,
    /// Value errors (local row, column, problem, line bytes).
    value_errors: Vec<(usize, usize, RowProblem, Vec<u8>)>,
}

/// Why a parse stopped early.
enum Stop {
    /// The file needs the serial path.
    Fallback(FallbackReason),
    /// An I/O error.
    Failed(SourceError),
}

/// Reads the data of `path` (header already read: `header_fields` fields, data from byte
/// `data_start`) for the `wanted` (file index, request) pairs.
///
/// # Errors
/// The first row error in file order (ragged rows before value errors, as the serial path) as a
/// [`SourceError`]; I/O errors naming the file.
pub(crate) fn read_chunked(
    path: &Path,
    header_fields: usize,
    data_start: u64,
    wanted: &[(usize, ColumnRequest)],
    chunk_bytes: u64,
) -> Result<Chunked, SourceError> {
    let names: Vec<&str> = wanted.iter().map(|(_, r)| r.name.as_str()).collect();
    match read_chunked_lenient(path, header_fields, data_start, wanted, chunk_bytes)? {
        Lenient::Fallback(r) => Ok(Chunked::Fallback(r)),
        Lenient::Table(table, errors) => match errors.strict_error() {
            Some(e) => Err(e.into_source_error(path, &names)),
            None => Ok(Chunked::Table(table)),
        },
    }
}

/// Every row error of a lenient read, by kind (the strict read reports the first of the first
/// non-empty kind, in this order).
#[derive(Debug, Default)]
pub(crate) struct RowErrors {
    /// Rows with a wrong field count, in file order.
    pub ragged: Vec<RowError>,
    /// Text or infinite values in numeric columns, in file order.
    pub values: Vec<RowError>,
    /// Infinite values in inferred columns that stayed numeric, by column then file order.
    pub infinites: Vec<RowError>,
}

impl RowErrors {
    /// The error a strict read reports.
    pub(crate) fn strict_error(&self) -> Option<RowError> {
        [&self.ragged, &self.values, &self.infinites]
            .into_iter()
            .find_map(|list| list.first().cloned())
    }

    /// All errors, sorted by line (a line may appear more than once: one error per cell).
    pub(crate) fn into_sorted(self) -> Vec<RowError> {
        let mut all: Vec<RowError> = self
            .ragged
            .into_iter()
            .chain(self.values)
            .chain(self.infinites)
            .collect();
        all.sort_by_key(|e| e.line);
        all
    }
}

/// Result of the lenient fast path.
#[derive(Debug)]
pub(crate) enum Lenient {
    /// The table with every record in place (cells that cannot be read are missing) and the row
    /// errors.
    Table(Table, RowErrors),
    /// The file needs the serial path.
    Fallback(FallbackReason),
}

/// Like [`read_chunked`], but rows that cannot be read do not fail the read: they stay in the
/// table with missing cells and are listed in [`RowErrors`].
///
/// # Errors
/// I/O errors naming the file.
pub(crate) fn read_chunked_lenient(
    path: &Path,
    header_fields: usize,
    data_start: u64,
    wanted: &[(usize, ColumnRequest)],
    chunk_bytes: u64,
) -> Result<Lenient, SourceError> {
    let file = File::open(path).map_err(|e| SourceError::io(path, &e))?;
    let len = file
        .metadata()
        .map_err(|e| SourceError::io(path, &e))?
        .len();
    let data_len = len.saturating_sub(data_start);
    let chunks = data_len.div_ceil(chunk_bytes.max(1)).max(1);
    let bounds: Vec<(u64, u64)> = (0..chunks)
        .map(|i| {
            (
                data_start + i * chunk_bytes,
                (data_start + (i + 1) * chunk_bytes).min(len),
            )
        })
        .collect();
    // slot[f] = index of the request reading file field f.
    let mut slot = vec![usize::MAX; header_fields];
    for (j, (f, _)) in wanted.iter().enumerate() {
        if let Some(s) = slot.get_mut(*f) {
            *s = j;
        }
    }
    let mut modes: Vec<Mode> = wanted
        .iter()
        .map(|(_, r)| match r.kind {
            KindHint::Numeric => Mode::Numeric { infer: false },
            KindHint::Infer => Mode::Numeric { infer: true },
            KindHint::Categorical => Mode::Categorical,
        })
        .collect();

    let parse_all = |modes: &[Mode], which: &[usize]| -> Result<Vec<ChunkOut>, Stop> {
        which
            .par_iter()
            .map(|&i| {
                let (start, end) = bounds[i];
                let (buf, records) =
                    read_range(&file, path, start, end, data_start, len).map_err(Stop::Failed)?;
                parse_chunk(&buf[records], header_fields, &slot, modes).map_err(Stop::Fallback)
            })
            .collect()
    };
    let all: Vec<usize> = (0..bounds.len()).collect();
    let mut outs = match parse_all(&modes, &all) {
        Ok(o) => o,
        Err(Stop::Fallback(r)) => return Ok(Lenient::Fallback(r)),
        Err(Stop::Failed(e)) => return Err(e),
    };
    // Infer columns that some chunk found text in are categorical everywhere: re-read the chunks
    // that parsed them as numbers.
    let turned: Vec<usize> = (0..modes.len())
        .filter(|&j| {
            modes[j] == Mode::Numeric { infer: true }
                && outs
                    .iter()
                    .any(|o| matches!(o.parts[j], Part::Categorical { .. }))
        })
        .collect();
    if !turned.is_empty() {
        for &j in &turned {
            modes[j] = Mode::Categorical;
        }
        let redo: Vec<usize> = (0..outs.len())
            .filter(|&i| {
                turned
                    .iter()
                    .any(|&j| matches!(outs[i].parts[j], Part::Numeric { .. }))
            })
            .collect();
        let again = match parse_all(&modes, &redo) {
            Ok(o) => o,
            Err(Stop::Fallback(r)) => return Ok(Lenient::Fallback(r)),
            Err(Stop::Failed(e)) => return Err(e),
        };
        for (i, o) in redo.into_iter().zip(again) {
            outs[i] = o;
        }
    }

    // Line of each chunk's first record (header = line 1).
    let mut first_line = Vec::with_capacity(outs.len());
    let mut line = 2;
    for o in &outs {
        first_line.push(line);
        line += o.rows;
    }
    let names: Vec<&str> = wanted.iter().map(|(_, r)| r.name.as_str()).collect();
    let mut errors = row_errors(&mut outs, &first_line);
    let rows: usize = outs.iter().map(|o| o.rows).sum();
    // Columns by chunk, moved out of the chunks so each part is freed as soon as it is merged
    // (peak memory = the table plus the parts of the columns being merged).
    let mut by_column: Vec<Vec<Part>> = (0..wanted.len())
        .map(|_| Vec::with_capacity(outs.len()))
        .collect();
    for o in outs {
        for (j, part) in o.parts.into_iter().enumerate() {
            by_column[j].push(part);
        }
    }
    let merged: Vec<(Column, Vec<RowError>)> = by_column
        .into_par_iter()
        .enumerate()
        .map(|(j, parts)| merge_column(parts, j, rows, &first_line))
        .collect();
    let mut columns = Vec::with_capacity(merged.len());
    for (column, infinites) in merged {
        errors.infinites.extend(infinites);
        columns.push(column);
    }
    Ok(Lenient::Table(
        Table {
            names: names.iter().map(|n| n.to_string()).collect(),
            columns,
            rows,
        },
        errors,
    ))
}

/// The row errors of every chunk in file order, moved out of the chunks.
fn row_errors(outs: &mut [ChunkOut], first_line: &[usize]) -> RowErrors {
    let mut errors = RowErrors::default();
    for (o, &l) in outs.iter_mut().zip(first_line) {
        for (row, problem, raw) in o.ragged.drain(..) {
            errors.ragged.push(RowError {
                line: l + row,
                column: None,
                problem,
                raw,
            });
        }
        for (row, col, problem, raw) in o.value_errors.drain(..) {
            errors.values.push(RowError {
                line: l + row,
                column: Some(col),
                problem,
                raw,
            });
        }
    }
    errors
}

/// Concatenates the parts of column `j` (one per chunk, in file order); categorical levels in
/// order of first appearance. A single part is moved, not copied. Also returns the infinite
/// values of an inferred column that stayed numeric, as row errors in file order.
fn merge_column(
    mut parts: Vec<Part>,
    j: usize,
    rows: usize,
    first_line: &[usize],
) -> (Column, Vec<RowError>) {
    let mut errors = Vec::new();
    for (part, &l) in parts.iter_mut().zip(first_line) {
        if let Part::Numeric { infinites, .. } = part {
            for (row, text, raw) in infinites.drain(..) {
                errors.push(RowError {
                    line: l + row,
                    column: Some(j),
                    problem: RowProblem::NonFinite { value: text },
                    raw,
                });
            }
        }
    }
    (merge_parts(parts, rows), errors)
}

/// The concatenation of [`merge_column`].
fn merge_parts(parts: Vec<Part>, rows: usize) -> Column {
    match parts.first() {
        None | Some(Part::Numeric { .. }) => {
            let mut values: Vec<f64> = Vec::new();
            for part in parts {
                if let Part::Numeric { values: v, .. } = part {
                    if values.is_empty() && v.len() == rows {
                        values = v;
                    } else {
                        values.reserve_exact(rows - values.len());
                        values.extend_from_slice(&v);
                    }
                }
            }
            Column::Numeric(values)
        }
        Some(Part::Categorical { .. }) => {
            let mut index: HashMap<String, u32> = HashMap::new();
            let mut out = CategoricalColumn {
                levels: Vec::new(),
                codes: Vec::with_capacity(rows),
            };
            for part in parts {
                if let Part::Categorical { levels, codes } = part {
                    let remap: Vec<u32> = levels
                        .into_iter()
                        .map(|l| match index.get(&l) {
                            Some(&c) => c,
                            None => {
                                let c = out.levels.len() as u32;
                                out.levels.push(l.clone());
                                index.insert(l, c);
                                c
                            }
                        })
                        .collect();
                    out.codes.extend(codes.iter().map(|&c| {
                        if c == MISSING_CODE {
                            MISSING_CODE
                        } else {
                            remap[c as usize]
                        }
                    }));
                }
            }
            Column::Categorical(out)
        }
    }
}

/// Reads the records that start in `[start, end)`: from the byte before `start` (to see whether a
/// record starts exactly at `start`) up to the end of the record that crosses `end`. Returns the
/// bytes read and the range of them that holds those records (not moved to the front: a 4 MB
/// `memmove` per chunk).
fn read_range(
    file: &File,
    path: &Path,
    start: u64,
    end: u64,
    data_start: u64,
    len: u64,
) -> Result<(Vec<u8>, std::ops::Range<usize>), SourceError> {
    let from = if start > data_start { start - 1 } else { start };
    let mut buf = Vec::new();
    let mut want = (end - from) as usize + (64 << 10);
    loop {
        let upto = (from + want as u64).min(len);
        let have = buf.len();
        buf.resize((upto - from) as usize, 0);
        file.read_exact_at(&mut buf[have..], from + have as u64)
            .map_err(|e| SourceError::io(path, &e))?;
        // Done when the file ends or a newline follows the range end.
        let tail_from = ((end - from) as usize).saturating_sub(1);
        if upto == len || memchr::memchr(b'\n', &buf[tail_from.min(buf.len())..]).is_some() {
            break;
        }
        want *= 2;
    }
    // Skip to the first record that starts at or after `start`.
    let skip = if start > data_start {
        match memchr::memchr(b'\n', &buf) {
            Some(i) => i + 1,
            None => buf.len(),
        }
    } else {
        0
    };
    // Keep records that start before `end`: cut after the newline that ends the last one.
    let limit = (end - from) as usize;
    let stop = if skip >= limit {
        skip
    } else {
        match memchr::memchr(b'\n', &buf[limit.saturating_sub(1).max(skip)..]) {
            Some(i) => limit.saturating_sub(1).max(skip) + i + 1,
            None => buf.len(),
        }
    };
    Ok((buf, skip.min(stop)..stop))
}

/// A finite number parsed straight from a field's bytes, or `None` when the field needs
/// [`parse_number`] (missing spellings, surrounding whitespace, text, infinities, bytes that are not
/// UTF-8). Only fields that start like a number are tried, and only a finite result is taken, so
/// the answer is the one `parse_number` gives (checked against it in the tests below); this skips
/// the UTF-8 check and the trim per field and parses faster than `str::parse::<f64>`.
fn fast_number(field: &[u8]) -> Option<f64> {
    if !matches!(field.first(), Some(b'0'..=b'9' | b'-' | b'+' | b'.')) {
        return None;
    }
    match lexical_core::parse::<f64>(field) {
        Ok(v) if v.is_finite() => Some(v),
        _ => None,
    }
}

/// Parses whole records of one chunk.
fn parse_chunk(
    bytes: &[u8],
    header_fields: usize,
    slot: &[usize],
    modes: &[Mode],
) -> Result<ChunkOut, FallbackReason> {
    if memchr::memchr(b'"', bytes).is_some() {
        return Err(FallbackReason::Quote);
    }
    for i in memchr::memchr_iter(b'\r', bytes) {
        if bytes.get(i + 1) != Some(&b'\n') {
            return Err(FallbackReason::BareCarriageReturn);
        }
    }
    let mut modes = modes.to_vec();
    'restart: loop {
        let estimate = bytes.len() / (header_fields * 4).max(1) + 1;
        let mut parts: Vec<Part> = modes
            .iter()
            .map(|m| match m {
                Mode::Numeric { .. } => Part::Numeric {
                    values: Vec::with_capacity(estimate),
                    infinites: Vec::new(),
                },
                Mode::Categorical => Part::Categorical {
                    levels: Vec::new(),
                    codes: Vec::with_capacity(estimate),
                },
            })
            .collect();
        let mut dicts: Vec<Codes> = (0..modes.len()).map(|_| Codes::default()).collect();
        // Byte offsets of the commas of the current line (one search per line, reused).
        let mut commas: Vec<usize> = Vec::with_capacity(header_fields);
        let mut ragged = Vec::new();
        let mut value_errors = Vec::new();
        let mut row = 0usize;
        let mut pos = 0usize;
        while pos < bytes.len() {
            let nl = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
            let mut line = &bytes[pos..nl];
            pos = nl + 1;
            if let Some(stripped) = line.strip_suffix(b"\r") {
                line = stripped;
            }
            if line.is_empty() {
                return Err(FallbackReason::BlankLine);
            }
            commas.clear();
            commas.extend(memchr::memchr_iter(b',', line));
            let found = commas.len() + 1;
            if found != header_fields {
                ragged.push((
                    row,
                    RowProblem::FieldCount {
                        expected: header_fields,
                        found,
                    },
                    line.to_vec(),
                ));
                // Keep the columns aligned: a ragged row still takes one value per column.
                for p in parts.iter_mut() {
                    match p {
                        Part::Numeric { values, .. } => values.push(f64::NAN),
                        Part::Categorical { codes, .. } => codes.push(MISSING_CODE),
                    }
                }
                row += 1;
                continue;
            }
            for (f, &j) in slot.iter().enumerate() {
                if j == usize::MAX {
                    continue;
                }
                // `found == header_fields`, so field f lies between comma f - 1 and comma f.
                let from = f
                    .checked_sub(1)
                    .and_then(|k| commas.get(k))
                    .map_or(0, |&c| c + 1);
                let to = commas.get(f).copied().unwrap_or(line.len());
                let field = &line[from..to];
                match (&mut parts[j], modes[j]) {
                    (Part::Numeric { values, infinites }, Mode::Numeric { infer }) => {
                        if let Some(v) = fast_number(field) {
                            values.push(v);
                            continue;
                        }
                        let Ok(text) = std::str::from_utf8(field) else {
                            return Err(FallbackReason::InvalidUtf8);
                        };
                        match parse_number(text) {
                            Parsed::Value(v) => values.push(v),
                            Parsed::Missing => values.push(f64::NAN),
                            Parsed::Infinite => {
                                if infer {
                                    infinites.push((row, text.to_string(), line.to_vec()));
                                } else {
                                    value_errors.push((
                                        row,
                                        j,
                                        RowProblem::NonFinite {
                                            value: text.to_string(),
                                        },
                                        line.to_vec(),
                                    ));
                                }
                                values.push(f64::NAN);
                            }
                            Parsed::NotNumber => {
                                if infer {
                                    modes[j] = Mode::Categorical;
                                    continue 'restart;
                                }
                                value_errors.push((
                                    row,
                                    j,
                                    RowProblem::NotNumeric {
                                        value: text.to_string(),
                                    },
                                    line.to_vec(),
                                ));
                                values.push(f64::NAN);
                            }
                        }
                    }
                    (Part::Categorical { levels, codes }, _) => {
                        let code = match dicts[j].get(field) {
                            Some(c) => c,
                            None => {
                                // A new spelling: checked once, then found by its bytes.
                                let Ok(text) = std::str::from_utf8(field) else {
                                    return Err(FallbackReason::InvalidUtf8);
                                };
                                let c = if is_missing_text(text) {
                                    MISSING_CODE
                                } else {
                                    levels.push(text.to_string());
                                    (levels.len() - 1) as u32
                                };
                                dicts[j].insert(field, c);
                                c
                            }
                        };
                        codes.push(code);
                    }
                    (Part::Numeric { values, .. }, Mode::Categorical) => values.push(f64::NAN),
                }
            }
            row += 1;
        }
        return Ok(ChunkOut {
            rows: row,
            parts,
            ragged,
            value_errors,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::csv::{read_csv_serial, read_header, resolve_requests};

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("t.csv");
        std::fs::write(&p, text).expect("write");
        (dir, p)
    }

    /// The chunked read of `path` with ranges of `chunk` bytes.
    fn chunked(
        path: &Path,
        requests: Option<&[ColumnRequest]>,
        chunk: u64,
    ) -> Result<Chunked, SourceError> {
        let mut f = File::open(path).expect("open");
        let header = read_header(path, &mut f).expect("header");
        let wanted = resolve_requests(path, &header, requests).expect("resolve");
        let text = std::fs::read(path).expect("read");
        let start = text
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| i + 1);
        read_chunked(path, header.len(), start as u64, &wanted, chunk)
    }

    fn table(c: Result<Chunked, SourceError>) -> Table {
        match c.expect("no error") {
            Chunked::Table(t) => t,
            Chunked::Fallback(r) => panic!("fell back: {r:?}"),
        }
    }

    fn same(a: &Table, b: &Table) {
        assert_eq!(a.names, b.names);
        assert_eq!(a.rows, b.rows);
        for (x, y) in a.columns.iter().zip(&b.columns) {
            match (x, y) {
                (Column::Numeric(x), Column::Numeric(y)) => {
                    assert_eq!(x.len(), y.len());
                    for (u, v) in x.iter().zip(y) {
                        assert!(
                            u.to_bits() == v.to_bits() || (u.is_nan() && v.is_nan()),
                            "{u} vs {v}"
                        );
                    }
                }
                (Column::Categorical(x), Column::Categorical(y)) => {
                    assert_eq!(x.levels, y.levels);
                    assert_eq!(x.codes, y.codes);
                }
                _ => panic!("kinds differ"),
            }
        }
    }

    /// 300 rows: a numeric column with missing spellings, a categorical one, a column that looks
    /// numeric until row 290 (Infer → categorical found by a late chunk only), an unread column,
    /// CRLF line ends and no final newline.
    fn sample() -> String {
        let mut s = String::from("x,c,late,skip\r\n");
        for i in 0..300 {
            let x = match i % 7 {
                0 => String::new(),
                1 => "NaN".into(),
                _ => format!("{}.{}", i, i % 10),
            };
            let late = if i == 290 {
                "text".to_string()
            } else {
                format!("{}", i % 4)
            };
            s.push_str(&format!(
                "{x},{},{late},{}\r\n",
                ["b", "a", "", "c"][i % 4],
                i
            ));
        }
        s.pop();
        s.pop();
        s
    }

    #[test]
    fn every_chunk_size_gives_the_serial_table() {
        let (_d, p) = write(&sample());
        let reqs = [
            ColumnRequest::new("x", KindHint::Infer),
            ColumnRequest::new("c", KindHint::Infer),
            ColumnRequest::new("late", KindHint::Infer),
        ];
        let serial = read_csv_serial(&p, Some(&reqs)).expect("serial");
        assert!(matches!(serial.columns[2], Column::Categorical(_)));
        for chunk in [1, 2, 5, 13, 64, 1000, 1 << 20] {
            same(&table(chunked(&p, Some(&reqs), chunk)), &serial);
        }
        let all = read_csv_serial(&p, None).expect("serial");
        same(&table(chunked(&p, None, 17)), &all);
        let none = table(chunked(&p, Some(&[]), 9));
        assert_eq!(none.rows, 300);
    }

    #[test]
    fn row_errors_name_the_same_line_as_the_serial_path() {
        let mut s = String::from("x,c\n");
        for i in 0..100 {
            s.push_str(&format!("{i},a\n"));
        }
        let cases = [
            (s.clone() + "oops,b\n1,c\n", KindHint::Numeric),
            (s.clone() + "1,b\ninf,c\n", KindHint::Numeric),
            (s.clone() + "1,b\n-inf,c\n", KindHint::Infer),
            (s.clone() + "1,b\n1,b,extra\n2,c\n", KindHint::Numeric),
            (s.clone() + "1\n", KindHint::Infer),
        ];
        for (text, kind) in cases {
            let (_d, p) = write(&text);
            let reqs = [
                ColumnRequest::new("x", kind),
                ColumnRequest::new("c", KindHint::Categorical),
            ];
            let serial = read_csv_serial(&p, Some(&reqs)).expect_err("serial fails");
            for chunk in [3, 50, 1 << 20] {
                let fast = chunked(&p, Some(&reqs), chunk).expect_err("chunked fails");
                assert_eq!(fast.to_string(), serial.to_string(), "chunk {chunk}");
            }
        }
    }

    /// `fast_number` answers only when `parse_number` gives the same finite value.
    fn agrees(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        if let Some(v) = fast_number(text.as_bytes()) {
            match parse_number(text) {
                Parsed::Value(w) => {
                    proptest::prop_assert_eq!(v.to_bits(), w.to_bits(), "{:?}", text)
                }
                other => {
                    proptest::prop_assert!(false, "{text:?}: fast {v}, parse_number {other:?}")
                }
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn fast_number_agrees_with_parse_number_on_number_like_text(
            text in "[0-9.eE+\\- _xinfaINFA]{1,14}"
        ) {
            agrees(&text)?;
        }

        #[test]
        fn fast_number_agrees_with_parse_number_on_written_floats(x in proptest::num::f64::ANY) {
            for text in [format!("{x}"), format!("{x:e}"), format!("{x:.17}"), format!("{x:E}")] {
                agrees(&text)?;
            }
        }
    }

    #[test]
    fn fast_number_reads_the_usual_spellings_and_declines_the_rest() {
        for (text, want) in [
            ("0.10580373134051313", Some(0.105_803_731_340_513_13)),
            ("-0.83328394466982303", Some(-0.833_283_944_669_823)),
            ("1e-400", Some(0.0)),
            (".5", Some(0.5)),
            ("+2", Some(2.0)),
        ] {
            assert_eq!(fast_number(text.as_bytes()), want, "{text}");
        }
        for text in [
            "", " 1", "1 ", "NaN", "nan", "-nan", "inf", "-inf", "1e400", "1,5", "L02", "1e", "-",
            ".",
        ] {
            assert_eq!(fast_number(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn categorical_levels_beyond_the_linear_list_keep_first_appearance_order() {
        let mut s = String::from("c,x\n");
        for i in 0..200 {
            s.push_str(&format!("k{},{i}\n", (i * 7) % 40));
        }
        s.push_str(",1\nNaN,2\nk3,3\n");
        let (_d, p) = write(&s);
        let reqs = [ColumnRequest::new("c", KindHint::Categorical)];
        let serial = read_csv_serial(&p, Some(&reqs)).expect("serial");
        for chunk in [7, 300, 1 << 20] {
            same(&table(chunked(&p, Some(&reqs), chunk)), &serial);
        }
    }

    #[test]
    fn quotes_blank_lines_and_bare_cr_fall_back() {
        for (text, reason) in [
            ("a,b\n1,\"x\ny\"\n", FallbackReason::Quote),
            ("a,b\n1,2\n\n3,4\n", FallbackReason::BlankLine),
            ("a,b\n1,2\r3,4\n", FallbackReason::BareCarriageReturn),
        ] {
            let (_d, p) = write(text);
            match chunked(&p, None, 1 << 20).expect("no error") {
                Chunked::Fallback(r) => assert_eq!(r, reason, "{text:?}"),
                Chunked::Table(_) => panic!("read {text:?} in chunks"),
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("t.csv");
        std::fs::write(&p, b"a,b\n1,\xff\n").expect("write");
        assert!(matches!(
            chunked(&p, None, 1 << 20),
            Ok(Chunked::Fallback(FallbackReason::InvalidUtf8))
        ));
    }
}
