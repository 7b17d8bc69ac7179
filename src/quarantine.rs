//! Quarantine files: rows that could not be used, kept aside with their line and reason instead of
//! being dropped (issue 10). One writer for the daily run
//! (`<workspace>/quarantine/<model>/<date>/<run_id>.csv`) and the benchmark refresh
//! (`<workspace>/quarantine/<model>/refresh-<ts>.csv`).
//!
//! Layout: the source's header line, then `,line,reason`; each quarantined row is its original
//! line's bytes unchanged (for a daily run; the refresh writes the record as the `csv` crate
//! writes it), then `,<line>,<reason>` with the reason quoted as CSV requires. A reader splitting
//! off the last two fields gets the input line back byte for byte.
//!
//! Files are written to a temporary file in the same directory and renamed into place when
//! complete, so a reader never sees half a file; path components taken from model ids, dates or
//! run ids are escaped ([`safe_component`]).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a quarantine file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("quarantine file {}: {message}", path.display())]
pub struct QuarantineError {
    /// The file (or its directory).
    pub path: PathBuf,
    /// The operating system's message.
    pub message: String,
}

fn err(path: &Path, e: impl std::fmt::Display) -> QuarantineError {
    QuarantineError {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Longest path component [`safe_component`] returns (bytes).
const MAX_COMPONENT: usize = 120;

/// `text` as one safe file-name component: ASCII letters, digits, `-`, `_` and `.` are kept,
/// every other byte becomes `%XX`; a leading `.` is escaped too (no `.`, `..` or hidden files),
/// an empty text is `%`; the result is cut to 120 bytes.
pub fn safe_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, b) in text.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
        if out.len() >= MAX_COMPONENT {
            break;
        }
    }
    if out.is_empty() {
        out.push('%');
    }
    out
}

/// The quarantine file of a daily run: `<root>/<model>/<date>/<run_id>.csv`, every component
/// escaped with [`safe_component`]. `root` is `<workspace>/quarantine`.
pub fn daily_path(root: &Path, model: &str, date: chrono::NaiveDate, run_id: &str) -> PathBuf {
    root.join(safe_component(model))
        .join(date.format("%Y-%m-%d").to_string())
        .join(format!("{}.csv", safe_component(run_id)))
}

/// `field` as one CSV field: quoted (with `"` doubled) when it holds a comma, a quote or a line
/// end, else unchanged.
fn csv_field(field: &[u8]) -> Vec<u8> {
    if !field
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        return field.to_vec();
    }
    let mut out = Vec::with_capacity(field.len() + 2);
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

/// `record` as one CSV line (quoted where needed), without the line end.
fn record_bytes(record: &csv::ByteRecord, target: &Path) -> Result<Vec<u8>, QuarantineError> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_byte_record(record).map_err(|e| err(target, e))?;
    let mut raw = w.into_inner().map_err(|e| err(target, e))?;
    if raw.last() == Some(&b'\n') {
        raw.pop();
    }
    Ok(raw)
}

/// A quarantine file being written: rows go to a temporary file beside the target, which
/// [`QuarantineWriter::finish`] renames into place. Dropped unfinished, the temporary file is
/// removed and nothing appears.
pub struct QuarantineWriter {
    target: PathBuf,
    out: std::io::BufWriter<tempfile::NamedTempFile>,
    rows: u64,
}

impl QuarantineWriter {
    /// Starts `target` (its directories are created) with `header`, the source's header line
    /// without its line end, followed by `,line,reason`.
    ///
    /// # Errors
    /// [`QuarantineError`] naming the directory or file.
    pub fn create(target: &Path, header: &[u8]) -> Result<Self, QuarantineError> {
        let dir = target
            .parent()
            .ok_or_else(|| err(target, "has no parent directory"))?;
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".quarantine-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| err(dir, e))?;
        let mut w = Self {
            target: target.to_path_buf(),
            out: std::io::BufWriter::with_capacity(1 << 16, tmp),
            rows: 0,
        };
        w.write_line(header, b"line", b"reason")?;
        Ok(w)
    }

    fn write_line(
        &mut self,
        raw: &[u8],
        line: &[u8],
        reason: &[u8],
    ) -> Result<(), QuarantineError> {
        let target = self.target.clone();
        let w = &mut self.out;
        w.write_all(raw)
            .and_then(|()| w.write_all(b","))
            .and_then(|()| w.write_all(line))
            .and_then(|()| w.write_all(b","))
            .and_then(|()| w.write_all(&csv_field(reason)))
            .and_then(|()| w.write_all(b"\n"))
            .map_err(|e| err(&target, e))
    }

    /// Adds a row: `raw` is the input line's bytes without its line end, `line` its 1-based line
    /// in the source (header = 1), `reason` one line of text.
    ///
    /// # Errors
    /// [`QuarantineError`] naming the file.
    pub fn push_raw(&mut self, raw: &[u8], line: u64, reason: &str) -> Result<(), QuarantineError> {
        self.rows += 1;
        self.write_line(raw, line.to_string().as_bytes(), reason.as_bytes())
    }

    /// Adds a parsed record, written as the `csv` crate writes it (the refresh's extracts).
    ///
    /// # Errors
    /// [`QuarantineError`] naming the file.
    pub fn push_record(
        &mut self,
        record: &csv::ByteRecord,
        line: u64,
        reason: &str,
    ) -> Result<(), QuarantineError> {
        let raw = record_bytes(record, &self.target)?;
        self.push_raw(&raw, line, reason)
    }

    /// [`QuarantineWriter::create`] with a parsed header record (written as the `csv` crate
    /// writes it).
    ///
    /// # Errors
    /// [`QuarantineError`] naming the directory or file.
    pub fn create_for_record(
        target: &Path,
        header: &csv::ByteRecord,
    ) -> Result<Self, QuarantineError> {
        let raw = record_bytes(header, target)?;
        Self::create(target, &raw)
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes, syncs and renames the file into place; returns its path.
    ///
    /// # Errors
    /// [`QuarantineError`] naming the file.
    pub fn finish(self) -> Result<PathBuf, QuarantineError> {
        let target = self.target;
        let tmp = self.out.into_inner().map_err(|e| err(&target, e))?;
        tmp.as_file().sync_all().map_err(|e| err(&target, e))?;
        tmp.persist(&target).map_err(|e| err(&target, e.error))?;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_one_component() {
        for (text, want) in [
            ("jfk_delay", "jfk_delay"),
            ("..", "%2E."),
            ("a/b", "a%2Fb"),
            ("", "%"),
            ("x\ny", "x%0Ay"),
        ] {
            assert_eq!(safe_component(text), want);
        }
        assert!(safe_component(&"é".repeat(200)).len() <= MAX_COMPONENT + 3);
        let p = daily_path(
            Path::new("/q"),
            "../etc",
            chrono::NaiveDate::from_ymd_opt(2013, 5, 1).expect("date"),
            "r/1",
        );
        assert_eq!(p, Path::new("/q/%2E.%2Fetc/2013-05-01/r%2F1.csv"));
    }

    #[test]
    fn rows_keep_their_bytes_and_the_file_appears_only_when_finished() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("m").join("x.csv");
        let mut w = QuarantineWriter::create(&target, b"a,b").expect("create");
        w.push_raw(b"1,oops", 3, "column \"b\": not a number, \"oops\"")
            .expect("push");
        w.push_record(&csv::ByteRecord::from(vec!["x,y", "2"]), 4, "r")
            .expect("record");
        assert!(!target.exists(), "no file before finish");
        assert_eq!(w.rows(), 2);
        w.finish().expect("finish");
        let text = std::fs::read_to_string(&target).expect("read");
        assert_eq!(
            text,
            "a,b,line,reason\n1,oops,3,\"column \"\"b\"\": not a number, \"\"oops\"\"\"\n\"x,y\",2,4,r\n"
        );
        assert_eq!(
            std::fs::read_dir(target.parent().expect("dir"))
                .expect("ls")
                .count(),
            1
        );
        // Dropped unfinished: nothing stays behind.
        let other = dir.path().join("m").join("y.csv");
        drop(QuarantineWriter::create(&other, b"a").expect("create"));
        assert_eq!(
            std::fs::read_dir(target.parent().expect("dir"))
                .expect("ls")
                .count(),
            1
        );
    }
}
