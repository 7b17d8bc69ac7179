//! Categorical bins: one per benchmark level (sorted by Unicode code point, as Python's `sorted`
//! on `str`), then `unseen` (current levels absent from the benchmark), then `missing`
//! (README, Design §6).
//!
//! Counting is a histogram of dictionary codes followed by a small level → bin lookup, so the
//! per-row work is one increment.

use super::column::{CategoricalColumn, MISSING_CODE};
use super::error::{EngineError, Side};

/// Label of the bin of current levels absent from the benchmark.
pub const UNSEEN_LABEL: &str = "unseen";
/// Label of the bin of missing values (numeric `NaN`, empty text).
pub const MISSING_LABEL: &str = "missing";

/// Rows per code: `out[c]` for `c < levels`, `out[levels]` = missing.
///
/// # Errors
/// [`EngineError::InvalidCode`] for a code that is neither a level nor [`MISSING_CODE`].
pub(crate) fn code_counts(
    name: &str,
    side: Side,
    col: &CategoricalColumn,
) -> Result<Vec<u64>, EngineError> {
    let n = col.levels.len();
    let mut tally = vec![[0u64; 4]; n + 2];
    let slot = |c: u32| -> usize {
        if c == MISSING_CODE {
            n
        } else {
            (c as usize).min(n + 1)
        }
    };
    let mut quads = col.codes.chunks_exact(4);
    for q in &mut quads {
        tally[slot(q[0])][0] += 1;
        tally[slot(q[1])][1] += 1;
        tally[slot(q[2])][2] += 1;
        tally[slot(q[3])][3] += 1;
    }
    for &c in quads.remainder() {
        tally[slot(c)][0] += 1;
    }
    let mut out: Vec<u64> = tally.iter().map(|t| t.iter().sum()).collect();
    let bad = out.pop().unwrap_or(0);
    if bad > 0 {
        let code = col
            .codes
            .iter()
            .copied()
            .find(|&c| c != MISSING_CODE && c as usize >= n)
            .unwrap_or(0);
        return Err(EngineError::InvalidCode {
            column: name.to_string(),
            side,
            code,
            levels: n,
        });
    }
    Ok(out)
}

/// Benchmark levels and their counts: the distinct level texts present in the benchmark, sorted
/// by byte order of UTF-8 (= code point order), and `expected_counts` of length `levels + 2`
/// (unseen = 0, missing last).
pub(crate) fn benchmark_bins(
    name: &str,
    col: &CategoricalColumn,
) -> Result<(Vec<String>, Vec<u64>), EngineError> {
    let counts = code_counts(name, Side::Benchmark, col)?;
    let n = col.levels.len();
    let mut present: Vec<(&str, u64)> = col
        .levels
        .iter()
        .zip(&counts[..n])
        .filter(|(_, c)| **c > 0)
        .map(|(l, c)| (l.as_str(), *c))
        .collect();
    present.sort_unstable_by(|a, b| a.0.cmp(b.0));
    // Merge duplicate texts (a level listed twice by a source) into one bin.
    let mut levels: Vec<String> = Vec::with_capacity(present.len());
    let mut expected: Vec<u64> = Vec::with_capacity(present.len() + 2);
    for (text, c) in present {
        if levels.last().is_some_and(|l| l == text) {
            if let Some(last) = expected.last_mut() {
                *last += c;
            }
        } else {
            levels.push(text.to_string());
            expected.push(c);
        }
    }
    expected.push(0);
    expected.push(counts[n]);
    Ok((levels, expected))
}

/// Current rows per bin of a frozen profile's `levels` (sorted): length `levels + 2`.
pub(crate) fn current_bins(
    name: &str,
    levels: &[String],
    col: &CategoricalColumn,
) -> Result<Vec<u64>, EngineError> {
    let counts = code_counts(name, Side::Current, col)?;
    let k = levels.len();
    let mut out = vec![0u64; k + 2];
    for (text, &c) in col.levels.iter().zip(&counts) {
        if c == 0 {
            continue;
        }
        let bin = levels
            .binary_search_by(|l| l.as_str().cmp(text.as_str()))
            .unwrap_or(k);
        out[bin] += c;
    }
    out[k + 1] += counts[col.levels.len()];
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(values: &[Option<&str>]) -> CategoricalColumn {
        CategoricalColumn::from_values(values.iter().copied())
    }

    #[test]
    fn levels_sorted_by_code_point_with_unseen_and_missing() {
        let b = col(&[Some("b"), Some("B"), Some("é"), None, Some("b"), Some("a")]);
        let (levels, expected) = benchmark_bins("c", &b).expect("bins");
        assert_eq!(levels, vec!["B", "a", "b", "é"]);
        assert_eq!(expected, vec![1, 1, 2, 1, 0, 1]);
        let c = col(&[Some("z"), Some("a"), None, None, Some("z")]);
        assert_eq!(
            current_bins("c", &levels, &c).expect("bins"),
            vec![0, 1, 0, 0, 2, 2]
        );
    }

    #[test]
    fn unused_and_duplicate_levels() {
        let b = CategoricalColumn {
            levels: vec!["x".into(), "y".into(), "x".into()],
            codes: vec![0, 2, 2],
        };
        let (levels, expected) = benchmark_bins("c", &b).expect("bins");
        assert_eq!(levels, vec!["x"]);
        assert_eq!(expected, vec![3, 0, 0]);
    }

    #[test]
    fn out_of_range_code_is_an_error() {
        let b = CategoricalColumn {
            levels: vec!["x".into()],
            codes: vec![0, 7],
        };
        assert!(matches!(
            benchmark_bins("c", &b),
            Err(EngineError::InvalidCode { code: 7, .. })
        ));
    }
}
