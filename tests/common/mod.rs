//! Test helpers shared by integration tests.
//!
//! `Csv` is a tiny private CSV loader for the demo data (no quotes in it; empty field = missing),
//! deliberately independent of `driftdeck::sources`, so the oracle cross-check does not trust the
//! reader it also covers (`tests/cli_psi.rs` checks the real reader against the same fixtures).
//! `strip_ansi` removes terminal colour codes from a process's output.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use driftdeck::engine::{CategoricalColumn, Column, Table};

/// Repository root (the crate's manifest directory).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A CSV file held as text cells.
#[derive(Debug, Clone)]
pub struct Csv {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Csv {
    /// Reads a quote-free CSV; panics (test helper) on I/O errors or ragged rows.
    pub fn read(path: &Path) -> Csv {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap_or_else(|| panic!("{} is empty", path.display()))
            .split(',')
            .map(str::to_string)
            .collect();
        let rows: Vec<Vec<String>> = lines
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(i, l)| {
                let r: Vec<String> = l.split(',').map(str::to_string).collect();
                assert_eq!(r.len(), header.len(), "{}:{} ragged", path.display(), i + 2);
                r
            })
            .collect();
        Csv { header, rows }
    }

    fn index(&self, column: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("no column {column}"))
    }

    /// Keeps the rows whose `column` equals `value` (as pandas `astype("string") == value`).
    pub fn filter(&self, column: &str, value: &str) -> Csv {
        let i = self.index(column);
        Csv {
            header: self.header.clone(),
            rows: self
                .rows
                .iter()
                .filter(|r| r[i] == value)
                .cloned()
                .collect(),
        }
    }

    /// Builds a table of `numeric` (empty = NaN) and `categorical` (empty = missing) columns.
    pub fn table(&self, numeric: &[&str], categorical: &[&str]) -> Table {
        let mut t = Table {
            rows: self.rows.len(),
            ..Table::default()
        };
        for name in numeric {
            let i = self.index(name);
            let values = self
                .rows
                .iter()
                .map(|r| {
                    if r[i].is_empty() {
                        f64::NAN
                    } else {
                        r[i].parse::<f64>()
                            .unwrap_or_else(|e| panic!("{name}: {:?}: {e}", r[i]))
                    }
                })
                .collect();
            t.names.push(name.to_string());
            t.columns.push(Column::Numeric(values));
        }
        for name in categorical {
            let i = self.index(name);
            let c = CategoricalColumn::from_values(
                self.rows
                    .iter()
                    .map(|r| (!r[i].is_empty()).then_some(r[i].as_str())),
            );
            t.names.push(name.to_string());
            t.columns.push(Column::Categorical(c));
        }
        t
    }
}

/// Demo data: categorical characteristics.
pub const CATEGORICAL: &[&str] = &["carrier", "origin", "dest", "day_of_week", "plane_engine"];
/// Demo data: columns that are neither score nor characteristic.
pub const EXCLUDED: &[&str] = &[
    "flight_id",
    "flight_date",
    "month",
    "delayed",
    "cancelled_or_diverted",
];

/// Demo data: numeric columns (score included), in file order.
pub fn numeric_columns(csv: &Csv) -> Vec<&str> {
    csv.header
        .iter()
        .map(String::as_str)
        .filter(|h| !CATEGORICAL.contains(h) && !EXCLUDED.contains(h))
        .collect()
}

/// `s` without ANSI CSI escape sequences (`ESC [ ... letter`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
