//! CSV reader. Files without quotes go through the parallel chunked reader
//! ([`csv_chunked`](super::csv_chunked)); otherwise (the serial path) arrow-csv decodes the
//! requested columns as text (so errors can name the line and value), then
//! [`convert`](super::convert) parses numbers and builds categories, one column per rayon task.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::csv::ReaderBuilder;
use arrow::csv::reader::Format;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use rayon::prelude::*;

use super::convert::TextColumn;
use super::csv_chunked::{
    CHUNK_BYTES, Chunked, Lenient, RowError, RowProblem, read_chunked, read_chunked_lenient,
};
use super::{ColumnRequest, KindHint, Position, SourceError};
use super::{LenientTable, UnreadableRow};
use crate::engine::column::Table;

const BATCH_ROWS: usize = 64 * 1024;

fn csv_line(row: usize) -> Position {
    Position::Line(row + 2)
}

/// Resolves `requests` against the header: (file index, request) pairs in request order.
pub(crate) fn resolve_requests(
    path: &Path,
    header: &[String],
    requests: Option<&[ColumnRequest]>,
) -> Result<Vec<(usize, ColumnRequest)>, SourceError> {
    for (i, name) in header.iter().enumerate() {
        if header[..i].contains(name) {
            return Err(SourceError::DuplicateColumn {
                path: path.to_path_buf(),
                column: name.clone(),
            });
        }
    }
    match requests {
        None => Ok(header
            .iter()
            .enumerate()
            .map(|(i, n)| (i, ColumnRequest::new(n.clone(), KindHint::Infer)))
            .collect()),
        Some(reqs) => reqs
            .iter()
            .map(|r| {
                header
                    .iter()
                    .position(|n| *n == r.name)
                    .map(|i| (i, r.clone()))
                    .ok_or_else(|| SourceError::MissingColumn {
                        path: path.to_path_buf(),
                        column: r.name.clone(),
                        available: header.to_vec(),
                    })
            })
            .collect(),
    }
}

/// Extracts the first number after `word ` in an arrow message ("... for line 7, ...").
fn number_after(message: &str, word: &str) -> Option<usize> {
    let start = message.find(word)? + word.len();
    let digits: String = message[start..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Turns arrow-csv's structural errors into [`SourceError::Malformed`] with the line and the
/// column name where arrow gives them.
fn map_arrow_error(path: &Path, header: &[String], err: ArrowError) -> SourceError {
    let message = match &err {
        ArrowError::CsvError(m) | ArrowError::ParseError(m) => m.clone(),
        ArrowError::IoError(m, _) => m.clone(),
        other => other.to_string(),
    };
    let line = number_after(&message, "line");
    let friendly = if message.contains("incorrect number of fields") {
        let expected = number_after(&message, "expected");
        let got = message
            .rsplit("got")
            .next()
            .map(str::trim)
            .unwrap_or_default()
            .to_string();
        match expected {
            Some(e) => format!("expected {e} fields (as in the header), found {got}"),
            None => message.clone(),
        }
    } else if message.contains("invalid UTF-8") {
        let field = number_after(&message, "field");
        let col = field
            .and_then(|f| header.get(f.saturating_sub(1)))
            .map(|n| format!(" in column {n:?}"))
            .unwrap_or_default();
        format!("invalid UTF-8{col} (the file must be UTF-8 text)")
    } else if message.contains("part way through record") {
        "the last record is incomplete (an unterminated quote?)".to_string()
    } else {
        message.clone()
    };
    SourceError::Malformed {
        path: path.to_path_buf(),
        line,
        message: friendly,
    }
}

/// Quote state of the CSV grammar arrow-csv (csv-core) reads: `"` opens a quoted field only at the
/// start of a field, `""` inside quotes is a literal quote, and the quote closes at the next lone
/// `"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    /// At the start of a field.
    FieldStart,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field; the byte offset of its opening quote.
    Quoted(u64),
    /// Just after a `"` inside a quoted field (closing quote or the first half of `""`);
    /// the offset of the field's opening quote.
    AfterQuote(u64),
}

/// Follows the quote state of every byte arrow-csv reads, so that an unterminated quote can be
/// reported: csv-core ends such a field silently at end of input, which would swallow every
/// following line into one value whenever the field count happens to match the header.
struct QuoteTracker<R> {
    inner: R,
    state: Rc<Cell<QuoteState>>,
    offset: u64,
}

fn is_field_end(b: u8) -> bool {
    matches!(b, b',' | b'\n' | b'\r')
}

impl<R: Read> Read for QuoteTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        let mut state = self.state.get();
        let quoted = matches!(state, QuoteState::Quoted(_));
        if !quoted && !chunk.contains(&b'"') {
            // Fast path: no quote can open or close in this chunk.
            if let Some(&last) = chunk.last() {
                state = if is_field_end(last) {
                    QuoteState::FieldStart
                } else {
                    QuoteState::Unquoted
                };
            }
        } else {
            for (i, &b) in chunk.iter().enumerate() {
                state = match state {
                    QuoteState::FieldStart if b == b'"' => {
                        QuoteState::Quoted(self.offset + i as u64)
                    }
                    QuoteState::FieldStart | QuoteState::Unquoted => {
                        if is_field_end(b) {
                            QuoteState::FieldStart
                        } else {
                            QuoteState::Unquoted
                        }
                    }
                    QuoteState::Quoted(at) if b == b'"' => QuoteState::AfterQuote(at),
                    QuoteState::Quoted(at) => QuoteState::Quoted(at),
                    QuoteState::AfterQuote(at) if b == b'"' => QuoteState::Quoted(at),
                    QuoteState::AfterQuote(_) if is_field_end(b) => QuoteState::FieldStart,
                    QuoteState::AfterQuote(_) => QuoteState::Unquoted,
                };
            }
        }
        self.offset += n as u64;
        self.state.set(state);
        Ok(n)
    }
}

/// The 1-based line of byte `offset` (counted on the error path only).
fn line_of_offset(path: &Path, offset: u64) -> Option<usize> {
    let mut head = Vec::new();
    File::open(path)
        .ok()?
        .take(offset)
        .read_to_end(&mut head)
        .ok()?;
    Some(head.iter().filter(|&&b| b == b'\n').count() + 1)
}

pub(crate) fn read_header(path: &Path, file: &mut File) -> Result<Vec<String>, SourceError> {
    let (schema, _) = Format::default()
        .with_header(true)
        .infer_schema(&mut *file, Some(0))
        .map_err(|e| {
            let m = e.to_string();
            if m.contains("UTF-8") || m.contains("utf-8") || m.contains("utf8") {
                SourceError::Malformed {
                    path: path.to_path_buf(),
                    line: Some(1),
                    message: "invalid UTF-8 in the header (the file must be UTF-8 text)".into(),
                }
            } else {
                SourceError::Malformed {
                    path: path.to_path_buf(),
                    line: Some(1),
                    message: format!("cannot read the header: {m}"),
                }
            }
        })?;
    let mut names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    if let Some(first) = names.first_mut()
        && let Some(stripped) = first.strip_prefix('\u{feff}')
    {
        *first = stripped.to_string();
    }
    if names.is_empty() || (names.len() == 1 && names[0].trim().is_empty()) {
        return Err(SourceError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(names)
}

/// The byte offset just after the header line, or `None` when the header holds a quote (it may
/// span lines: the serial path reads such files).
fn unquoted_header_end(path: &Path, file: &mut File) -> Result<Option<u64>, SourceError> {
    let mut line = Vec::new();
    BufReader::new(Read::by_ref(file))
        .read_until(b'\n', &mut line)
        .map_err(|e| SourceError::io(path, &e))?;
    Ok((!line.contains(&b'"')).then_some(line.len() as u64))
}

/// Reads a CSV file with a header row. See [`read_table`](super::read_table).
///
/// Files without quotes are read in parallel byte ranges ([`read_chunked`]); a file with a
/// quote, a bare `\r`, a blank line or invalid UTF-8 is read serially by arrow-csv.
pub(crate) fn read_csv(
    path: &Path,
    requests: Option<&[ColumnRequest]>,
) -> Result<Table, SourceError> {
    let mut file = File::open(path).map_err(|e| SourceError::io(path, &e))?;
    let header = read_header(path, &mut file)?;
    let wanted = resolve_requests(path, &header, requests)?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| SourceError::io(path, &e))?;
    if let Some(data_start) = unquoted_header_end(path, &mut file)? {
        match read_chunked(path, header.len(), data_start, &wanted, CHUNK_BYTES)? {
            Chunked::Table(table) => return Ok(table),
            Chunked::Fallback(reason) => {
                tracing::debug!(file = %path.display(), ?reason, "CSV read serially");
            }
        }
    }
    read_csv_serial(path, requests)
}

/// Reads a CSV file like [`read_csv`], but rows whose value cannot be read (text or an infinite
/// value in a numeric column, a wrong field count) stay in the table with missing cells and are
/// listed as [`UnreadableRow`]s, with their bytes and the header line's bytes. Files the fast
/// path declines (quotes, bare `\r`, blank lines, invalid UTF-8) are read strictly: their first
/// bad row fails the read.
///
/// # Errors
/// Those of [`read_csv`] that are not about one row.
pub(crate) fn read_csv_lenient(
    path: &Path,
    requests: &[ColumnRequest],
) -> Result<LenientTable, SourceError> {
    use std::os::unix::fs::FileExt;
    let mut file = File::open(path).map_err(|e| SourceError::io(path, &e))?;
    let header = read_header(path, &mut file)?;
    let wanted = resolve_requests(path, &header, Some(requests))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| SourceError::io(path, &e))?;
    if let Some(data_start) = unquoted_header_end(path, &mut file)? {
        match read_chunked_lenient(path, header.len(), data_start, &wanted, CHUNK_BYTES)? {
            Lenient::Table(table, errors) => {
                let names: Vec<&str> = wanted.iter().map(|(_, r)| r.name.as_str()).collect();
                let strict_error = errors
                    .strict_error()
                    .map(|e| e.into_source_error(path, &names));
                let mut raw_header = vec![0u8; data_start as usize];
                file.read_exact_at(&mut raw_header, 0)
                    .map_err(|e| SourceError::io(path, &e))?;
                while matches!(raw_header.last(), Some(b'\n' | b'\r')) {
                    raw_header.pop();
                }
                return Ok(LenientTable {
                    table: Arc::new(table),
                    unreadable: unreadable_rows(errors.into_sorted(), &names),
                    header: raw_header,
                    strict_error,
                });
            }
            Lenient::Fallback(reason) => {
                tracing::debug!(file = %path.display(), ?reason, "CSV read serially");
            }
        }
    }
    Ok(LenientTable {
        table: Arc::new(read_csv_serial(path, Some(requests))?),
        unreadable: Vec::new(),
        header: Vec::new(),
        strict_error: None,
    })
}

/// One [`UnreadableRow`] per line of `errors` (sorted by line), the reasons of one line joined.
fn unreadable_rows(errors: Vec<RowError>, names: &[&str]) -> Vec<UnreadableRow> {
    let mut out: Vec<UnreadableRow> = Vec::new();
    for e in errors {
        let column = e.column.and_then(|c| names.get(c)).copied().unwrap_or("");
        let value = |v: &str| crate::sanitize::excerpt(v, crate::sanitize::EXCERPT_CHARS);
        let reason = match &e.problem {
            RowProblem::FieldCount { expected, found } => {
                format!("expected {expected} fields (as in the header), found {found}")
            }
            RowProblem::NotNumeric { value: v } => {
                format!("column {column:?}: not a number: {:?}", value(v))
            }
            RowProblem::NonFinite { value: v } => {
                format!("column {column:?}: infinite value {:?}", value(v))
            }
        };
        let ragged = matches!(e.problem, RowProblem::FieldCount { .. });
        match out.last_mut() {
            Some(last) if last.line == e.line => {
                last.reason.push_str("; ");
                last.reason.push_str(&reason);
                last.ragged |= ragged;
            }
            _ => out.push(UnreadableRow {
                line: e.line,
                // The fast path reads one record per physical line after the header.
                row: e.line.saturating_sub(2),
                reason,
                raw: e.raw,
                ragged,
            }),
        }
    }
    out
}

/// The serial path of [`read_csv`]: arrow-csv with the full CSV grammar (quotes, embedded
/// newlines, `\r` line ends), one thread for the parse, columns converted in parallel.
pub(crate) fn read_csv_serial(
    path: &Path,
    requests: Option<&[ColumnRequest]>,
) -> Result<Table, SourceError> {
    let mut file = File::open(path).map_err(|e| SourceError::io(path, &e))?;
    let header = read_header(path, &mut file)?;
    let wanted = resolve_requests(path, &header, requests)?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| SourceError::io(path, &e))?;

    let schema = Arc::new(Schema::new(
        header
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    // An empty projection still needs one column to count rows.
    let projection: Vec<usize> = if wanted.is_empty() {
        vec![0]
    } else {
        wanted.iter().map(|(i, _)| *i).collect()
    };
    let quotes = Rc::new(Cell::new(QuoteState::FieldStart));
    let tracked = QuoteTracker {
        inner: file,
        state: quotes.clone(),
        offset: 0,
    };
    let reader = ReaderBuilder::new(schema)
        .with_header(true)
        .with_projection(projection)
        .with_batch_size(BATCH_ROWS)
        .build(BufReader::with_capacity(1 << 20, tracked))
        .map_err(|e| map_arrow_error(path, &header, e))?;
    let mut batches: Vec<RecordBatch> = Vec::new();
    for batch in reader {
        batches.push(batch.map_err(|e| map_arrow_error(path, &header, e))?);
    }
    if let QuoteState::Quoted(at) = quotes.get() {
        return Err(SourceError::Malformed {
            path: path.to_path_buf(),
            line: line_of_offset(path, at),
            message: "unterminated quote: the quoted field opened here never closes".into(),
        });
    }
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();

    let columns = wanted
        .par_iter()
        .enumerate()
        .map(|(j, (_, req))| {
            let arrays = batches
                .iter()
                .map(|b| {
                    b.column(j)
                        .as_any()
                        .downcast_ref::<StringArray>()
                        .ok_or_else(|| SourceError::Malformed {
                            path: path.to_path_buf(),
                            line: None,
                            message: format!("column {:?} was not decoded as text", req.name),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            TextColumn {
                path,
                name: &req.name,
                batches: arrays,
                position: csv_line,
            }
            .convert(req.kind)
        })
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Table {
        names: wanted.into_iter().map(|(_, r)| r.name).collect(),
        columns,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_after_finds_digits() {
        assert_eq!(
            number_after(
                "incorrect number of fields for line 7, expected 3 got 2",
                "line"
            ),
            Some(7)
        );
        assert_eq!(number_after("no digits here", "line"), None);
    }

    fn final_state(bytes: &[u8], chunk: usize) -> QuoteState {
        let state = Rc::new(Cell::new(QuoteState::FieldStart));
        let mut t = QuoteTracker {
            inner: bytes,
            state: state.clone(),
            offset: 0,
        };
        let mut buf = vec![0u8; chunk];
        while t.read(&mut buf).expect("read") > 0 {}
        state.get()
    }

    #[test]
    fn quote_tracker_follows_csv_quoting_across_chunks() {
        for chunk in [1, 2, 3, 7, 64] {
            // Well-formed: quoted delimiter, doubled quotes, quoted newline, quote inside an
            // unquoted field (literal for csv-core).
            let ok = b"a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"multi\nline\",5'10\"\n";
            assert!(
                !matches!(final_state(ok, chunk), QuoteState::Quoted(_)),
                "chunk {chunk}"
            );
            // Unterminated: the quote opened at byte 8 never closes.
            let bad = b"a,b\n1,2\n\"open,3\n4,5\n";
            assert_eq!(
                final_state(bad, chunk),
                QuoteState::Quoted(8),
                "chunk {chunk}"
            );
        }
    }
}
