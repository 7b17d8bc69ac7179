//! Tail of a job log: the last N lines of a file, then every appended line, in a bounded ring
//! buffer with a counter of lines dropped from its front (the console's log pane, README, Design §7).
//!
//! [`LogTail`] is synchronous and non-blocking beyond one read. [`follow_file`] wraps it into
//! the [`LogStream`] the local runner's [`crate::orchestrator::Orchestrator::logs`] returns: the
//! one log tailer of the project (the console reads logs only through the orchestrator).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;

use super::{LogOptions, LogStream, OrchestratorError};

/// How often a followed log file is checked for appended lines.
pub const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// Lines kept between two reads of a followed file; more appended at once are counted as
/// skipped (a notice line says how many).
const FOLLOW_CAPACITY: usize = 10_000;

/// Default number of last lines when [`LogOptions::tail`] is `None`.
pub const DEFAULT_TAIL: usize = 5_000;

/// Longest line kept, in bytes; longer lines are cut there and marked with `…`.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Bytes read per step when looking backwards for the last lines.
const BACK_CHUNK: u64 = 64 * 1024;

/// The last lines of a log file, following appends.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    /// Byte offset up to which the file has been consumed.
    pos: u64,
    /// Bytes after the last newline (an unfinished line).
    partial: Vec<u8>,
    lines: VecDeque<String>,
    capacity: usize,
    dropped: u64,
    /// Lines pushed since the last [`LogTail::take_new`].
    fresh: usize,
}

impl LogTail {
    /// Opens `path`, keeps its last `last_n` complete lines (at most `capacity`, which is at
    /// least 1) and positions at its end. A file that does not exist yet is treated as empty
    /// (a queued job has not written its log).
    ///
    /// # Errors
    /// I/O errors other than "not found", with the path in the message.
    pub fn open(path: impl AsRef<Path>, last_n: usize, capacity: usize) -> std::io::Result<Self> {
        let mut tail = Self {
            path: path.as_ref().to_path_buf(),
            pos: 0,
            partial: Vec::new(),
            lines: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
            fresh: 0,
        };
        let mut file = match File::open(&tail.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(tail),
            Err(e) => return Err(tail.annotate(e)),
        };
        let len = file.metadata().map_err(|e| tail.annotate(e))?.len();
        let start = last_lines_start(&mut file, len, last_n.min(tail.capacity))
            .map_err(|e| tail.annotate(e))?;
        tail.pos = start;
        tail.poll()?;
        tail.fresh = tail.lines.len();
        Ok(tail)
    }

    fn annotate(&self, e: std::io::Error) -> std::io::Error {
        std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display()))
    }

    /// Reads what was appended since the last call and returns how many complete lines were
    /// added. A file that shrank (truncated or replaced) is read again from its start.
    ///
    /// # Errors
    /// I/O errors other than "not found", with the path in the message.
    pub fn poll(&mut self) -> std::io::Result<usize> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(self.annotate(e)),
        };
        let len = file.metadata().map_err(|e| self.annotate(e))?.len();
        if len < self.pos {
            self.pos = 0;
            self.partial.clear();
        }
        if len == self.pos {
            return Ok(0);
        }
        file.seek(SeekFrom::Start(self.pos))
            .map_err(|e| self.annotate(e))?;
        let mut buf = Vec::new();
        file.take(len - self.pos)
            .read_to_end(&mut buf)
            .map_err(|e| self.annotate(e))?;
        self.pos += buf.len() as u64;
        let mut added = 0;
        let mut rest: &[u8] = &buf;
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            let (line, tail) = rest.split_at(nl);
            self.append_partial(line);
            let line = std::mem::take(&mut self.partial);
            self.push_line(&line);
            added += 1;
            rest = &tail[1..];
        }
        self.append_partial(rest);
        Ok(added)
    }

    fn append_partial(&mut self, bytes: &[u8]) {
        let room = (MAX_LINE_BYTES + 1).saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn push_line(&mut self, raw: &[u8]) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let mut text = if raw.len() > MAX_LINE_BYTES {
            let mut t = String::from_utf8_lossy(&raw[..MAX_LINE_BYTES]).into_owned();
            t.push('…');
            t
        } else {
            String::from_utf8_lossy(raw).into_owned()
        };
        text.shrink_to_fit();
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(text);
        self.fresh = (self.fresh + 1).min(self.capacity);
    }

    /// The kept lines, oldest first (at most `capacity`).
    pub fn lines(&self) -> &VecDeque<String> {
        &self.lines
    }

    /// Lines pushed out of the front of the buffer since opening.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The unfinished last line (no newline yet), if any.
    pub fn partial_line(&self) -> Option<String> {
        (!self.partial.is_empty()).then(|| String::from_utf8_lossy(&self.partial).into_owned())
    }

    /// Lines added since the previous call (still in the buffer), oldest first; for forwarding
    /// only what is new to the UI loop.
    pub fn take_new(&mut self) -> Vec<String> {
        let n = self.fresh.min(self.lines.len());
        self.fresh = 0;
        self.lines
            .iter()
            .skip(self.lines.len() - n)
            .cloned()
            .collect()
    }

    /// The followed file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lines of the log file at `path` as a stream: its last `options.tail` lines (default
/// [`DEFAULT_TAIL`]), then, with `options.follow`, every appended line until the stream is
/// dropped. Local files carry no per-line timestamps: `options.since` is not applied here.
///
/// Reads happen on tokio's blocking pool every [`FOLLOW_POLL`]; a bounded channel of 64 batches
/// holds lines the reader has not taken yet. Must be called inside a tokio runtime (else the
/// stream yields one [`OrchestratorError::NoRuntime`]).
///
/// Errors are items, not the end: a missing file yields one [`OrchestratorError::Io`] and the
/// stream keeps waiting for it (a queued job has not written its log yet); the same error is
/// not repeated until it changes.
pub fn follow_file(path: PathBuf, options: LogOptions) -> LogStream {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return futures::stream::once(async { Err(OrchestratorError::NoRuntime) }).boxed();
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Result<String, OrchestratorError>>>(64);
    let last_n = options.tail.unwrap_or(DEFAULT_TAIL);
    runtime.spawn(async move {
        let mut tail: Option<LogTail> = None;
        let mut reported: Option<String> = None;
        let mut skipped_seen = 0u64;
        loop {
            let path_c = path.clone();
            let step = tokio::task::spawn_blocking(move || {
                let mut items = Vec::new();
                let mut t = match tail {
                    Some(t) => t,
                    None => match std::fs::metadata(&path_c) {
                        Err(e) => {
                            return (None, vec![Err(io_error(&path_c, &e))]);
                        }
                        Ok(_) => match LogTail::open(&path_c, last_n, FOLLOW_CAPACITY) {
                            Ok(t) => t,
                            Err(e) => return (None, vec![Err(io_error(&path_c, &e))]),
                        },
                    },
                };
                if let Err(e) = t.poll() {
                    items.push(Err(io_error(&path_c, &e)));
                }
                items.extend(t.take_new().into_iter().map(Ok));
                (Some(t), items)
            })
            .await;
            let Ok((next, mut items)) = step else {
                return;
            };
            tail = next;
            if let Some(t) = &tail
                && t.dropped() > skipped_seen
            {
                let n = t.dropped() - skipped_seen;
                skipped_seen = t.dropped();
                items.insert(0, Ok(format!("── skipped {n} older log lines ──")));
            }
            // Report an error once until it changes.
            items.retain(|item| match item {
                Err(e) => {
                    let text = e.to_string();
                    let fresh = reported.as_deref() != Some(text.as_str());
                    reported = Some(text);
                    fresh
                }
                Ok(_) => {
                    reported = None;
                    true
                }
            });
            if !items.is_empty() && tx.send(items).await.is_err() {
                return;
            }
            if !options.follow {
                return;
            }
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(FOLLOW_POLL).await;
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|batch| (futures::stream::iter(batch), rx))
    })
    .flatten()
    .boxed()
}

fn io_error(path: &Path, e: &std::io::Error) -> OrchestratorError {
    OrchestratorError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Byte offset where the last `n` complete lines of the file begin (a trailing unfinished line
/// is included after them). Reads backwards in chunks, so a large log costs only its tail.
fn last_lines_start(file: &mut File, len: u64, n: usize) -> std::io::Result<u64> {
    if n == 0 {
        return Ok(len);
    }
    // Walk back over newlines: the first one found ends the last complete line; the n-th one
    // after it ends the line before the n lines wanted (or the file start is reached).
    let mut end = len;
    let mut newlines = 0usize;
    let mut skip_last = true;
    let mut buf = vec![0u8; BACK_CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(BACK_CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        for (i, b) in chunk.iter().enumerate().rev() {
            if *b != b'\n' {
                continue;
            }
            if skip_last {
                // The last newline ends the last complete line; it does not start one.
                skip_last = false;
                continue;
            }
            newlines += 1;
            if newlines == n {
                return Ok(start + i as u64 + 1);
            }
        }
        end = start;
    }
    Ok(0)
}
