//! Numeric bins: edges from a [`Binning`] strategy and the counting kernel.
//!
//! Bins are right-closed (DESIGN.md section 6, as pandas `qcut` and numpy
//! `searchsorted(edges, x, side="left")`): with edges e_1 < … < e_m, value x goes to bin
//! `#{j : e_j < x}` (0..=m) and `NaN` to the missing bin m + 1.

use super::error::{EngineError, Side};
use super::quantile::{key, quantile_edges, unique_sorted};
use super::spec::{Binning, MAX_BINS};

/// Checks a strategy before any data is read.
///
/// # Errors
/// [`EngineError::InvalidBinning`] for 0 or more than [`MAX_BINS`] bins, and for fixed edges that
/// are empty, non-finite or not strictly increasing.
pub(crate) fn validate_binning(column: &str, binning: &Binning) -> Result<(), EngineError> {
    let bad = |reason: String| EngineError::InvalidBinning {
        column: column.to_string(),
        reason,
    };
    match binning {
        Binning::Quantile { bins } | Binning::EqualWidth { bins } => {
            if *bins == 0 || *bins > MAX_BINS {
                return Err(bad(format!("bins must be in 1..={MAX_BINS}, got {bins}")));
            }
        }
        Binning::Fixed { edges } => validate_edges(edges).map_err(bad)?,
    }
    Ok(())
}

/// Checks that edges are non-empty, finite and strictly increasing; the reason otherwise.
pub(crate) fn validate_edges(edges: &[f64]) -> Result<(), String> {
    if edges.is_empty() {
        return Err("fixed edges must hold at least one edge".to_string());
    }
    if edges.len() >= MAX_BINS {
        return Err(format!("at most {} edges are allowed", MAX_BINS - 1));
    }
    if let Some(e) = edges.iter().find(|e| !e.is_finite()) {
        return Err(format!("edges must be finite, found {e}"));
    }
    if let Some(w) = edges.windows(2).find(|w| w[0] >= w[1]) {
        return Err(format!(
            "edges must be strictly increasing, found {} then {}",
            w[0], w[1]
        ));
    }
    Ok(())
}

/// Non-missing benchmark values as order keys (see [`key`]), rejecting infinities.
fn finite_keys(column: &str, values: &[f64]) -> Result<Vec<i64>, EngineError> {
    let mut keys = Vec::with_capacity(values.len());
    let mut bad = None;
    for &x in values {
        if x.is_nan() {
            continue;
        }
        if x.is_infinite() {
            bad = Some(x);
        }
        keys.push(key(x));
    }
    if let Some(value) = bad {
        return Err(EngineError::NonFiniteBenchmark {
            column: column.to_string(),
            value,
        });
    }
    if keys.is_empty() {
        return Err(EngineError::AllMissingBenchmark {
            column: column.to_string(),
        });
    }
    Ok(keys)
}

/// Bin edges of a numeric benchmark column under `binning` (validated by [`validate_binning`]).
///
/// # Errors
/// [`EngineError::AllMissingBenchmark`] when no value is present (quantile and equal width),
/// [`EngineError::NonFiniteBenchmark`] on ±inf.
pub(crate) fn edges_for(
    column: &str,
    values: &[f64],
    binning: &Binning,
) -> Result<Vec<f64>, EngineError> {
    validate_binning(column, binning)?;
    match binning {
        Binning::Fixed { edges } => Ok(edges.clone()),
        Binning::Quantile { bins } => {
            let mut keys = finite_keys(column, values)?;
            Ok(quantile_edges(&mut keys, *bins))
        }
        Binning::EqualWidth { bins } => {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            let mut any = false;
            for &x in values {
                if x.is_nan() {
                    continue;
                }
                if x.is_infinite() {
                    return Err(EngineError::NonFiniteBenchmark {
                        column: column.to_string(),
                        value: x,
                    });
                }
                any = true;
                lo = lo.min(x);
                hi = hi.max(x);
            }
            if !any {
                return Err(EngineError::AllMissingBenchmark {
                    column: column.to_string(),
                });
            }
            // numpy.linspace(lo, hi, bins + 1): step = (hi - lo) / bins; lo + k * step.
            let step = (hi - lo) / *bins as f64;
            let raw: Vec<f64> = (1..*bins).map(|k| lo + k as f64 * step).collect();
            Ok(unique_sorted(raw))
        }
    }
}

/// Rows per bin of a numeric column: `counts.len() == edges.len() + 2` (last = missing).
/// `edges` strictly increasing. Adds to `counts`.
pub(crate) fn count_numeric(values: &[f64], edges: &[f64], counts: &mut [u64]) {
    debug_assert_eq!(counts.len(), edges.len() + 2);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { count_numeric_avx2(values, edges, counts) };
            return;
        }
    }
    count_numeric_generic(values, edges, counts);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn count_numeric_avx2(values: &[f64], edges: &[f64], counts: &mut [u64]) {
    count_numeric_generic(values, edges, counts);
}

/// Values per kernel block: indices are computed for a block (vectorised), then tallied.
const BLOCK: usize = 512;

#[inline(always)]
fn count_numeric_generic(values: &[f64], edges: &[f64], counts: &mut [u64]) {
    match edges.len() {
        0..=4 => count_padded::<4>(values, edges, counts),
        5..=8 => count_padded::<8>(values, edges, counts),
        9..=12 => count_padded::<12>(values, edges, counts),
        13..=16 => count_padded::<16>(values, edges, counts),
        17..=32 => count_padded::<32>(values, edges, counts),
        _ => count_search(values, edges, counts),
    }
}

/// Branch-free linear count over `N` edges padded with `NaN` (a `NaN` edge is never `< x`).
#[inline(always)]
fn count_padded<const N: usize>(values: &[f64], edges: &[f64], counts: &mut [u64]) {
    let mut padded = [f64::NAN; N];
    padded[..edges.len()].copy_from_slice(edges);
    let missing = (edges.len() + 1) as u32;
    let mut idx = [0u32; BLOCK];
    // Four tallies so consecutive rows in the same bin do not serialise on one counter.
    let mut tally = vec![[0u64; 4]; counts.len()];
    for chunk in values.chunks(BLOCK) {
        for (o, &x) in idx.iter_mut().zip(chunk) {
            let mut c = 0u32;
            for e in &padded {
                c += (*e < x) as u32;
            }
            *o = if x.is_nan() { missing } else { c };
        }
        let used = &idx[..chunk.len()];
        let mut quads = used.chunks_exact(4);
        for q in &mut quads {
            tally[q[0] as usize][0] += 1;
            tally[q[1] as usize][1] += 1;
            tally[q[2] as usize][2] += 1;
            tally[q[3] as usize][3] += 1;
        }
        for &i in quads.remainder() {
            tally[i as usize][0] += 1;
        }
    }
    for (c, t) in counts.iter_mut().zip(&tally) {
        *c += t.iter().sum::<u64>();
    }
}

/// Binary search for many edges (fixed edges or many quantile bins).
fn count_search(values: &[f64], edges: &[f64], counts: &mut [u64]) {
    let missing = edges.len() + 1;
    for &x in values {
        let i = if x.is_nan() {
            missing
        } else {
            edges.partition_point(|e| *e < x)
        };
        counts[i] += 1;
    }
}

/// Checks a current numeric column's length.
pub(crate) fn check_len(
    column: &str,
    side: Side,
    len: usize,
    rows: usize,
) -> Result<(), EngineError> {
    if len == rows {
        Ok(())
    } else {
        Err(EngineError::RaggedTable {
            column: column.to_string(),
            side,
            len,
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(values: &[f64], edges: &[f64]) -> Vec<u64> {
        let mut c = vec![0u64; edges.len() + 2];
        for &x in values {
            let i = if x.is_nan() {
                edges.len() + 1
            } else {
                edges.iter().filter(|e| **e < x).count()
            };
            c[i] += 1;
        }
        c
    }

    #[test]
    fn right_closed_bins_and_missing_last() {
        let edges = [1.0, 2.0];
        let mut c = vec![0; 4];
        count_numeric(
            &[0.5, 1.0, 1.5, 2.0, 2.5, f64::NAN, f64::INFINITY],
            &edges,
            &mut c,
        );
        assert_eq!(c, vec![2, 2, 2, 1]);
    }

    #[test]
    fn invalid_fixed_edges_are_rejected() {
        for edges in [
            vec![],
            vec![1.0, 1.0],
            vec![2.0, 1.0],
            vec![f64::NAN],
            vec![f64::INFINITY],
        ] {
            let b = Binning::Fixed { edges };
            assert!(matches!(
                validate_binning("x", &b),
                Err(EngineError::InvalidBinning { .. })
            ));
        }
        assert!(validate_binning("x", &Binning::Quantile { bins: 0 }).is_err());
        assert!(validate_binning("x", &Binning::EqualWidth { bins: 0 }).is_err());
    }

    #[test]
    fn equal_width_edges() {
        let e = edges_for(
            "x",
            &[0.0, 10.0, f64::NAN, 5.0],
            &Binning::EqualWidth { bins: 4 },
        )
        .expect("edges");
        assert_eq!(e, vec![2.5, 5.0, 7.5]);
        let e = edges_for("x", &[3.0, 3.0], &Binning::EqualWidth { bins: 4 }).expect("edges");
        assert_eq!(e, vec![3.0]);
    }

    #[test]
    fn all_missing_and_infinite_benchmarks_are_errors() {
        let q = Binning::Quantile { bins: 10 };
        assert!(matches!(
            edges_for("x", &[f64::NAN, f64::NAN], &q),
            Err(EngineError::AllMissingBenchmark { .. })
        ));
        assert!(matches!(
            edges_for("x", &[1.0, f64::NEG_INFINITY], &q),
            Err(EngineError::NonFiniteBenchmark { .. })
        ));
    }

    proptest! {
        #[test]
        fn kernel_equals_naive_count(
            values in prop::collection::vec(
                prop_oneof![(-50f64..50.0), Just(f64::NAN), (-5i32..5).prop_map(f64::from)], 0..2000),
            raw_edges in prop::collection::vec((-40i32..40).prop_map(f64::from), 0..70),
        ) {
            let edges = unique_sorted(raw_edges);
            let mut got = vec![0u64; edges.len() + 2];
            count_numeric(&values, &edges, &mut got);
            prop_assert_eq!(got, naive(&values, &edges));
        }
    }
}
