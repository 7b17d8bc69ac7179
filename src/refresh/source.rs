//! Where a new benchmark comes from: the [`BenchmarkSource`] trait, the file source (a CSV or
//! Parquet extract dropped by an upstream job) and the record readers the staging pass consumes.
//!
//! A source yields records one at a time ([`ExtractReader`]), so a refresh streams an extract of
//! any size with bounded memory: records that pass the row rules go to the staged benchmark file,
//! the others to the quarantine. A Snowflake query source (served by the Snowflake results store)
//! implements the same trait; this binary has only the file source.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::RefreshError;

/// A place a model's new benchmark population can be read from.
pub trait BenchmarkSource: Send + Sync {
    /// One line for logs and reports, e.g. `file /data/extracts/jfk.csv`.
    fn describe(&self) -> String;

    /// Opens the extract for one pass over its records.
    ///
    /// # Errors
    /// [`RefreshError::Source`] naming the file or query (missing file, unknown format, an
    /// unreadable header).
    fn open(&self) -> Result<Box<dyn ExtractReader>, RefreshError>;
}

/// One pass over an extract's records.
pub trait ExtractReader {
    /// Column names, in record order.
    fn header(&self) -> &[String];

    /// Reads the next record into `record`, returning its position (CSV: 1-based line, the
    /// header being line 1; Parquet: 1-based row), or `None` at the end. A record whose field
    /// count differs from the header's is returned as is (the row rules quarantine it).
    ///
    /// # Errors
    /// [`RefreshError::Source`] for a fault that stops reading (unterminated quote at the end of
    /// a truncated file, an I/O error, a corrupt Parquet page), naming the file and position.
    fn next_record(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>, RefreshError>;
}

/// A CSV (`.csv`) or Parquet (`.parquet`, `.pq`) extract on a file system.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSource {
    path: PathBuf,
}

impl FileSource {
    /// The extract at `path` (absolute, or relative to the process's directory).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The extract's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn src_err(path: &Path, message: impl Into<String>) -> RefreshError {
    RefreshError::Source {
        what: path.display().to_string(),
        message: message.into(),
    }
}

impl BenchmarkSource for FileSource {
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn open(&self) -> Result<Box<dyn ExtractReader>, RefreshError> {
        let ext = self
            .path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let meta = std::fs::metadata(&self.path).map_err(|e| src_err(&self.path, e.to_string()))?;
        if !meta.is_file() {
            return Err(src_err(&self.path, "not a regular file"));
        }
        match ext.as_deref() {
            Some("csv") => Ok(Box::new(CsvExtract::open(&self.path)?)),
            Some("parquet") | Some("pq") => Ok(Box::new(ParquetExtract::open(&self.path)?)),
            _ => Err(src_err(
                &self.path,
                "unsupported extract format (use .csv, .parquet or .pq)",
            )),
        }
    }
}

/// A benchmark source that this binary cannot serve (a Snowflake query without the Snowflake
/// store): opening it fails with a clear message.
#[derive(Debug, Clone, PartialEq)]
pub struct UnavailableSource {
    /// What was configured.
    pub what: String,
    /// Why it cannot be used.
    pub reason: String,
}

impl BenchmarkSource for UnavailableSource {
    fn describe(&self) -> String {
        self.what.clone()
    }
    fn open(&self) -> Result<Box<dyn ExtractReader>, RefreshError> {
        Err(RefreshError::Source {
            what: self.what.clone(),
            message: self.reason.clone(),
        })
    }
}

struct CsvExtract {
    path: PathBuf,
    reader: csv::Reader<std::io::BufReader<File>>,
    header: Vec<String>,
}

impl CsvExtract {
    fn open(path: &Path) -> Result<Self, RefreshError> {
        let file = File::open(path).map_err(|e| src_err(path, e.to_string()))?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
        let header = reader
            .byte_headers()
            .map_err(|e| src_err(path, format!("unreadable header: {e}")))?
            .clone();
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(src_err(path, "empty file (no header line)"));
        }
        let header = header
            .iter()
            .map(|h| {
                std::str::from_utf8(h)
                    .map(|s| s.trim_start_matches('\u{feff}').to_string())
                    .map_err(|_| src_err(path, "line 1: the header is not valid UTF-8"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            header,
        })
    }
}

impl ExtractReader for CsvExtract {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_record(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>, RefreshError> {
        match self.reader.read_byte_record(record) {
            Ok(true) => Ok(Some(record.position().map(|p| p.line()).unwrap_or(0))),
            Ok(false) => Ok(None),
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| format!("line {}: ", p.line()))
                    .unwrap_or_default();
                Err(src_err(&self.path, format!("{line}{e}")))
            }
        }
    }
}

struct ParquetExtract {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    header: Vec<String>,
    /// The current batch rendered as text columns, and the next row in it.
    batch: Vec<Vec<Option<String>>>,
    next: usize,
    rows_before: u64,
}

impl ParquetExtract {
    fn open(path: &Path) -> Result<Self, RefreshError> {
        let file = File::open(path).map_err(|e| src_err(path, e.to_string()))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| src_err(path, format!("not a readable Parquet file: {e}")))?;
        let header = builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let reader = builder
            .with_batch_size(8192)
            .build()
            .map_err(|e| src_err(path, e.to_string()))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            header,
            batch: Vec::new(),
            next: 0,
            rows_before: 0,
        })
    }

    fn load_batch(&mut self) -> Result<bool, RefreshError> {
        let Some(batch) = self.reader.next() else {
            return Ok(false);
        };
        let batch = batch.map_err(|e| {
            src_err(
                &self.path,
                format!("after row {}: {e}", self.rows_before + self.next as u64),
            )
        })?;
        self.rows_before += self.batch.first().map_or(0, |c| c.len() as u64);
        let options = FormatOptions::default().with_null("");
        let mut columns = Vec::with_capacity(batch.num_columns());
        for col in batch.columns() {
            let fmt = ArrayFormatter::try_new(col.as_ref(), &options)
                .map_err(|e| src_err(&self.path, format!("unsupported column type: {e}")))?;
            let mut values = Vec::with_capacity(col.len());
            for i in 0..col.len() {
                values.push(if col.is_null(i) {
                    None
                } else {
                    Some(fmt.value(i).to_string())
                });
            }
            columns.push(values);
        }
        self.batch = columns;
        self.next = 0;
        Ok(true)
    }
}

use arrow::array::Array as _;

impl ExtractReader for ParquetExtract {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_record(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>, RefreshError> {
        while self.batch.first().is_none_or(|c| self.next >= c.len()) {
            if !self.load_batch()? {
                return Ok(None);
            }
            if self.batch.is_empty() {
                return Ok(None);
            }
        }
        record.clear();
        for col in &self.batch {
            record.push_field(col[self.next].as_deref().unwrap_or("").as_bytes());
        }
        self.next += 1;
        Ok(Some(self.rows_before + self.next as u64))
    }
}

/// Most rows a benchmark query may return ([`crate::sources::snowflake::MAX_SOURCE_ROWS`]).
pub const MAX_QUERY_ROWS: usize = crate::sources::snowflake::MAX_SOURCE_ROWS;

/// Most bytes of Arrow data a benchmark query's result may hold in memory (2 GiB).
pub const MAX_QUERY_BYTES: usize = 2 << 30;

/// A Snowflake query returning the new benchmark population, run on the Snowflake results
/// store's client (models.yaml `refresh: source: query:`).
///
/// `{date}` (and `{from}`, the same day) become the refresh day's `DATE` literal (UTC), e.g.
/// `SELECT * FROM SCORED WHERE flight_date BETWEEN DATEADD(month, -1, {date}) AND {date}`.
/// Result column names that match a model column ignoring ASCII case take the model's spelling
/// (Snowflake upper-cases unquoted names). The snowflake-api crate materialises the result's
/// Arrow chunks (bounded by [`MAX_QUERY_ROWS`] and [`MAX_QUERY_BYTES`]); rows are then decoded
/// one batch at a time and handed to the staging pass record by record, like a file extract,
/// so the row rules and the quarantine apply unchanged.
pub struct QuerySource {
    client: std::sync::Arc<crate::store::snowflake::SnowflakeClient>,
    query: crate::sources::SnowflakeQuerySource,
    template: String,
    date: chrono::NaiveDate,
    expected: Vec<String>,
}

impl QuerySource {
    /// A source running `template` for the refresh day `date` on `client`; `expected` are the
    /// model's column names (score, characteristics, required columns, key).
    ///
    /// # Errors
    /// [`RefreshError::Source`] for a template with an unknown placeholder.
    pub fn new(
        client: std::sync::Arc<crate::store::snowflake::SnowflakeClient>,
        template: &str,
        date: chrono::NaiveDate,
        expected: Vec<String>,
    ) -> Result<Self, RefreshError> {
        let query =
            crate::sources::SnowflakeQuerySource::new(std::sync::Arc::clone(&client), template, 1)
                .map_err(|e| RefreshError::Source {
                    what: describe_query(template),
                    message: e.to_string(),
                })?;
        Ok(Self {
            client,
            query,
            template: template.to_owned(),
            date,
            expected,
        })
    }
}

fn describe_query(template: &str) -> String {
    let one_line: String = template
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(100)
        .collect();
    format!("snowflake query {one_line:?}")
}

impl BenchmarkSource for QuerySource {
    fn describe(&self) -> String {
        describe_query(&self.template)
    }

    fn open(&self) -> Result<Box<dyn ExtractReader>, RefreshError> {
        use crate::store::snowflake::decode;
        use snowflake_api::QueryResult;
        const KIND: &str = "SELECT benchmark";
        let what = self.describe();
        let err = |message: String| RefreshError::Source {
            what: what.clone(),
            message,
        };
        let result = self
            .client
            .execute(KIND, &self.query.render(self.date))
            .map_err(|e| err(e.to_string()))?;
        let (header, batches, json) = match result {
            QueryResult::Empty => return Err(err("the statement returned no result set".into())),
            QueryResult::Arrow(batches) => {
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                let bytes: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
                if rows > MAX_QUERY_ROWS {
                    return Err(err(format!(
                        "{rows} rows returned, more than {MAX_QUERY_ROWS}"
                    )));
                }
                if bytes > MAX_QUERY_BYTES {
                    return Err(err(format!(
                        "result of {} MiB, more than {} MiB",
                        bytes >> 20,
                        MAX_QUERY_BYTES >> 20
                    )));
                }
                let header = batches
                    .first()
                    .map(|b| {
                        b.schema()
                            .fields()
                            .iter()
                            .map(|f| f.name().clone())
                            .collect()
                    })
                    .unwrap_or_default();
                (header, batches.into(), None)
            }
            json @ QueryResult::Json(_) => {
                let rows =
                    decode::rows(KIND, json, MAX_QUERY_ROWS).map_err(|e| err(e.to_string()))?;
                (
                    rows.columns,
                    std::collections::VecDeque::new(),
                    Some(rows.rows),
                )
            }
        };
        if header.is_empty() {
            return Err(err(
                "the query returned no columns (no rows: the result has no schema)".into(),
            ));
        }
        let header = header
            .into_iter()
            .map(|h| {
                if self.expected.contains(&h) {
                    return h;
                }
                let mut alike = self.expected.iter().filter(|e| e.eq_ignore_ascii_case(&h));
                match (alike.next(), alike.next()) {
                    (Some(e), None) => e.clone(),
                    _ => h,
                }
            })
            .collect();
        let mut reader = QueryExtract {
            what,
            header,
            batches,
            columns: Vec::new(),
            next: 0,
            position: 0,
        };
        if let Some(rows) = json {
            // Column-major, as a decoded Arrow batch.
            let width = reader.header.len();
            let mut columns = vec![Vec::with_capacity(rows.len()); width];
            for row in rows {
                for (i, v) in row.into_iter().enumerate().take(width) {
                    columns[i].push(v);
                }
            }
            reader.columns = columns;
        }
        Ok(Box::new(reader))
    }
}

/// One pass over a query result: the Arrow batches not yet decoded, and the current batch's
/// decoded columns.
struct QueryExtract {
    what: String,
    header: Vec<String>,
    batches: std::collections::VecDeque<arrow::record_batch::RecordBatch>,
    columns: Vec<Vec<crate::store::snowflake::decode::Value>>,
    next: usize,
    position: u64,
}

impl ExtractReader for QueryExtract {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_record(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>, RefreshError> {
        while self.columns.first().is_none_or(|c| self.next >= c.len()) {
            let Some(batch) = self.batches.pop_front() else {
                return Ok(None);
            };
            let (_, columns) =
                crate::store::snowflake::decode::batch_columns("SELECT benchmark", &batch)
                    .map_err(|e| RefreshError::Source {
                        what: self.what.clone(),
                        message: format!("after row {}: {e}", self.position),
                    })?;
            if columns.is_empty() {
                return Ok(None);
            }
            self.columns = columns;
            self.next = 0;
        }
        record.clear();
        for col in &self.columns {
            let text = crate::sources::snowflake::text_of(&col[self.next]).unwrap_or_default();
            record.push_field(text.as_bytes());
        }
        self.next += 1;
        self.position += 1;
        Ok(Some(self.position))
    }
}
