//! A bounded log buffer: keeps the newest `capacity` lines and counts the ones dropped
//! (README, Design §7, item 5).

use std::collections::VecDeque;

/// Default number of lines kept per log view.
pub const DEFAULT_LOG_CAPACITY: usize = 5_000;

/// Ring buffer of log lines with a dropped-lines counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBuffer {
    lines: VecDeque<String>,
    capacity: usize,
    dropped: u64,
}

impl LogBuffer {
    /// An empty buffer keeping at most `capacity` lines (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            lines: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
        }
    }

    /// Appends one line, dropping the oldest when full.
    pub fn push(&mut self, line: impl Into<String>) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line.into());
    }

    /// Removes every line and resets the counter.
    pub fn clear(&mut self) {
        self.lines.clear();
        self.dropped = 0;
    }

    /// Lines kept, oldest first.
    pub fn lines(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator {
        self.lines.iter().map(String::as_str)
    }

    /// Line `i` (0 = oldest kept).
    pub fn get(&self, i: usize) -> Option<&str> {
        self.lines.get(i).map(String::as_str)
    }

    /// Number of lines kept.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when no line is kept.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Lines dropped since the last clear.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Indices of lines containing `needle` (case-insensitive); empty needle matches nothing.
    pub fn matches(&self, needle: &str) -> Vec<usize> {
        if needle.is_empty() {
            return Vec::new();
        }
        let needle = needle.to_lowercase();
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.to_lowercase().contains(&needle))
            .map(|(i, _)| i)
            .collect()
    }

    /// The whole buffer as text, one line per line.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_newest_and_counts_dropped() {
        let mut b = LogBuffer::new(3);
        for i in 0..5 {
            b.push(format!("line {i}"));
        }
        assert_eq!(b.len(), 3);
        assert_eq!(b.dropped(), 2);
        assert_eq!(b.get(0), Some("line 2"));
        assert_eq!(b.matches("LINE 4"), vec![2]);
        assert!(b.matches("").is_empty());
        b.clear();
        assert_eq!((b.len(), b.dropped()), (0, 0));
    }
}
