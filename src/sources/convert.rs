//! Text values → engine columns: the one place that decides what is missing, what is a number and
//! what a column's kind is, shared by the CSV and Parquet readers.

use std::collections::HashMap;
use std::path::Path;

use arrow::array::{Array, StringArray};

use super::{KindHint, Position, SourceError};
use crate::engine::column::{CategoricalColumn, Column, MISSING_CODE};

/// One text value classified as a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Parsed {
    /// Empty, whitespace or a NaN spelling (`NaN`, `nan`).
    Missing,
    /// A finite number.
    Value(f64),
    /// `inf`, `-inf`, `infinity` or a number beyond `f64`.
    Infinite,
    /// Not a number at all.
    NotNumber,
}

/// Classifies one text (trimmed) as a number, following [`Parsed`].
pub(crate) fn parse_number(text: &str) -> Parsed {
    let t = text.trim();
    if t.is_empty() {
        return Parsed::Missing;
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_nan() => Parsed::Missing,
        Ok(v) if v.is_infinite() => Parsed::Infinite,
        Ok(v) => Parsed::Value(v),
        Err(_) => Parsed::NotNumber,
    }
}

/// True when a text is a missing value (empty, whitespace, `NaN`, `nan`).
pub(crate) fn is_missing_text(text: &str) -> bool {
    parse_number(text) == Parsed::Missing
}

/// A text column split over batches (one [`StringArray`] per record batch), with the position
/// of its first row in the file.
pub(crate) struct TextColumn<'a> {
    pub path: &'a Path,
    pub name: &'a str,
    pub batches: Vec<&'a StringArray>,
    /// Maps a 0-based data-row index to its position in the file.
    pub position: fn(usize) -> Position,
}

impl TextColumn<'_> {
    fn values(&self) -> impl Iterator<Item = Option<&str>> {
        self.batches.iter().flat_map(|a| {
            (0..a.len()).map(move |i| if a.is_null(i) { None } else { Some(a.value(i)) })
        })
    }

    fn len(&self) -> usize {
        self.batches.iter().map(|a| a.len()).sum()
    }

    /// Converts the column according to `kind`.
    pub fn convert(&self, kind: KindHint) -> Result<Column, SourceError> {
        match kind {
            KindHint::Numeric => self
                .numeric(false)
                .map(|c| c.unwrap_or_else(|| Column::Numeric(Vec::new()))),
            KindHint::Categorical => Ok(Column::Categorical(self.categorical())),
            KindHint::Infer => match self.numeric(true)? {
                Some(col) => Ok(col),
                None => Ok(Column::Categorical(self.categorical())),
            },
        }
    }

    /// Numeric conversion. With `infer`, returns `Ok(None)` as soon as a non-number is seen
    /// (the column is categorical); infinite values are an error only if the column is numeric.
    fn numeric(&self, infer: bool) -> Result<Option<Column>, SourceError> {
        let mut out = Vec::with_capacity(self.len());
        let mut first_infinite: Option<(usize, String)> = None;
        for (row, v) in self.values().enumerate() {
            let parsed = v.map_or(Parsed::Missing, parse_number);
            match parsed {
                Parsed::Missing => out.push(f64::NAN),
                Parsed::Value(x) => out.push(x),
                Parsed::Infinite => {
                    if !infer {
                        return Err(self.non_finite(row, v.unwrap_or_default()));
                    }
                    if first_infinite.is_none() {
                        first_infinite = Some((row, v.unwrap_or_default().to_string()));
                    }
                    out.push(f64::NAN);
                }
                Parsed::NotNumber => {
                    if infer {
                        return Ok(None);
                    }
                    return Err(SourceError::NotNumeric {
                        path: self.path.to_path_buf(),
                        at: (self.position)(row),
                        column: self.name.to_string(),
                        value: v.unwrap_or_default().to_string(),
                    });
                }
            }
        }
        if let Some((row, text)) = first_infinite {
            return Err(self.non_finite(row, &text));
        }
        Ok(Some(Column::Numeric(out)))
    }

    fn non_finite(&self, row: usize, text: &str) -> SourceError {
        SourceError::NonFinite {
            path: self.path.to_path_buf(),
            at: (self.position)(row),
            column: self.name.to_string(),
            value: text.to_string(),
        }
    }

    fn categorical(&self) -> CategoricalColumn {
        categorical_from(self.values(), self.len())
    }
}

/// Builds a categorical column from optional texts, treating missing spellings as missing.
pub(crate) fn categorical_from<'a>(
    values: impl Iterator<Item = Option<&'a str>>,
    capacity: usize,
) -> CategoricalColumn {
    // Missing spellings are remembered too, so each distinct text is classified once.
    let mut index = Codes::default();
    let mut out = CategoricalColumn {
        levels: Vec::new(),
        codes: Vec::with_capacity(capacity),
    };
    for v in values {
        let code = match v {
            None => MISSING_CODE,
            Some(text) => match index.get(text.as_bytes()) {
                Some(c) => c,
                None => {
                    let c = if is_missing_text(text) {
                        MISSING_CODE
                    } else {
                        out.levels.push(text.to_string());
                        (out.levels.len() - 1) as u32
                    };
                    index.insert(text.as_bytes(), c);
                    c
                }
            },
        };
        out.codes.push(code);
    }
    out
}

/// Levels seen so far in one categorical column (of a chunk or a file), by the value's bytes (missing spellings
/// map to [`MISSING_CODE`]): a linear scan while there are at most [`FEW_LEVELS`] (a SipHash per
/// field costs more than comparing a few short slices), a hash map beyond.
#[derive(Default)]
pub(crate) struct Codes<'a> {
    few: Vec<(&'a [u8], u32)>,
    many: HashMap<&'a [u8], u32>,
}

/// Levels kept in [`Codes`]'s linear list before it switches to a hash map.
pub(crate) const FEW_LEVELS: usize = 16;

impl<'a> Codes<'a> {
    /// The code of `key`, if seen.
    pub(crate) fn get(&self, key: &[u8]) -> Option<u32> {
        if self.many.is_empty() {
            self.few.iter().find(|(k, _)| *k == key).map(|&(_, c)| c)
        } else {
            self.many.get(key).copied()
        }
    }

    /// Records the code of a new `key`.
    pub(crate) fn insert(&mut self, key: &'a [u8], code: u32) {
        if self.many.is_empty() && self.few.len() < FEW_LEVELS {
            self.few.push((key, code));
        } else {
            self.many.extend(self.few.drain(..));
            self.many.insert(key, code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_classification() {
        assert_eq!(parse_number(""), Parsed::Missing);
        assert_eq!(parse_number("  "), Parsed::Missing);
        assert_eq!(parse_number("NaN"), Parsed::Missing);
        assert_eq!(parse_number("nan"), Parsed::Missing);
        assert_eq!(parse_number(" 1.5 "), Parsed::Value(1.5));
        assert_eq!(parse_number("1e308"), Parsed::Value(1e308));
        assert_eq!(parse_number("1e400"), Parsed::Infinite);
        for inf in ["inf", "-inf", "infinity", "-Infinity", "+inf"] {
            assert_eq!(parse_number(inf), Parsed::Infinite, "{inf}");
        }
        for bad in ["abc", "1,5", "0x10", "1.2.3"] {
            assert_eq!(parse_number(bad), Parsed::NotNumber, "{bad}");
        }
    }

    #[test]
    fn categorical_levels_in_first_appearance_order() {
        let c = categorical_from(
            [Some("b"), None, Some("a"), Some("b"), Some("nan"), Some("")].into_iter(),
            6,
        );
        assert_eq!(c.levels, vec!["b", "a"]);
        assert_eq!(
            c.codes,
            vec![0, MISSING_CODE, 1, 0, MISSING_CODE, MISSING_CODE]
        );
    }
}
