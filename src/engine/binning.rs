//! Numeric bins: edges from a [`Binning`] strategy and the counting kernel.
//!
//! Bins are right-closed (README, Design §6, as pandas `qcut` and numpy
//! `searchsorted(edges, x, side="left")`): with edges e_1 < … < e_m, value x goes to bin
//! `#{j : e_j < x}` (0..=m) and `NaN` to the missing bin m + 1.

use super::error::{EngineError, Side};
use super::quantile::{quantile_edges_counts, unique_sorted};
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

/// Number of non-missing benchmark values, rejecting infinities and all-missing columns.
fn present_finite(column: &str, values: &[f64]) -> Result<usize, EngineError> {
    let (mut nan, mut inf) = (0usize, 0usize);
    for &x in values {
        nan += x.is_nan() as usize;
        inf += x.is_infinite() as usize;
    }
    if inf > 0 {
        let value = values
            .iter()
            .copied()
            .find(|x| x.is_infinite())
            .unwrap_or(f64::INFINITY);
        return Err(EngineError::NonFiniteBenchmark {
            column: column.to_string(),
            value,
        });
    }
    if nan == values.len() {
        return Err(EngineError::AllMissingBenchmark {
            column: column.to_string(),
        });
    }
    Ok(values.len() - nan)
}

/// Bin edges of a numeric benchmark column under `binning` (validated by [`validate_binning`]),
/// and, when quantile selection already produced them, the column's rows per bin under those
/// edges (as [`count_numeric`]); `None` = count with [`count_numeric`].
///
/// # Errors
/// [`EngineError::AllMissingBenchmark`] when no value is present (quantile and equal width),
/// [`EngineError::NonFiniteBenchmark`] on ±inf.
pub(crate) fn edges_for(
    column: &str,
    values: &[f64],
    binning: &Binning,
) -> Result<(Vec<f64>, Option<Vec<u64>>), EngineError> {
    validate_binning(column, binning)?;
    let out = edges_for_unchecked(column, values, binning)?;
    // Finite but extreme values (±1.797e308) can overflow interpolation or the equal-width step;
    // say so here instead of failing later as an inconsistent profile (issue 11 #15).
    if let Some(e) = out.0.iter().find(|e| !e.is_finite()) {
        return Err(EngineError::InvalidBinning {
            column: column.to_string(),
            reason: format!(
                "the benchmark's values are too extreme for finite bin edges (an edge came out \
                 as {e}); keep values within about ±1e307"
            ),
        });
    }
    Ok(out)
}

fn edges_for_unchecked(
    column: &str,
    values: &[f64],
    binning: &Binning,
) -> Result<(Vec<f64>, Option<Vec<u64>>), EngineError> {
    match binning {
        Binning::Fixed { edges } => Ok((edges.clone(), None)),
        Binning::Quantile { bins } => {
            let present = present_finite(column, values)?;
            Ok(quantile_edges_counts(values, present, *bins))
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
            Ok((unique_sorted(raw), None))
        }
    }
}

/// Rows per bin of a numeric column: `counts.len() == edges.len() + 2` (last = missing).
/// `edges` strictly increasing. Adds to `counts`.
///
/// Up to [`LINEAR_EDGES`] edges: per block of values, count `#{x > e_j}` for every edge with a
/// branch-free, vectorised comparison loop (no per-row scatter), then bin j = above(e_j) −
/// above(e_{j+1}); `NaN` compares false everywhere and is counted apart. More edges: binary
/// search per value. Compiled for AVX-512 and AVX2 too, chosen at run time.
pub(crate) fn count_numeric(values: &[f64], edges: &[f64], counts: &mut [u64]) {
    debug_assert_eq!(counts.len(), edges.len() + 2);
    if edges.len() > LINEAR_EDGES {
        return count_search(values, edges, counts);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { count_linear_avx512(values, edges, counts) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { count_linear_avx2(values, edges, counts) };
            return;
        }
    }
    count_linear(values, edges, counts);
}

/// Most edges handled by the linear comparison kernel.
const LINEAR_EDGES: usize = 48;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn count_linear_avx512(values: &[f64], edges: &[f64], counts: &mut [u64]) {
    count_linear(values, edges, counts);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn count_linear_avx2(values: &[f64], edges: &[f64], counts: &mut [u64]) {
    count_linear(values, edges, counts);
}

/// Values per block (fits in L1 while every edge is compared against it).
const BLOCK: usize = 2048;

#[inline(always)]
fn count_linear(values: &[f64], edges: &[f64], counts: &mut [u64]) {
    let m = edges.len();
    let mut above = [0u64; LINEAR_EDGES];
    let mut nan = 0u64;
    for block in values.chunks(BLOCK) {
        for (a, &e) in above.iter_mut().zip(edges) {
            let mut c = 0u64;
            for &x in block {
                c += (e < x) as u64;
            }
            *a += c;
        }
        let mut k = 0u64;
        for &x in block {
            k += x.is_nan() as u64;
        }
        nan += k;
    }
    let present = values.len() as u64 - nan;
    if m == 0 {
        counts[0] += present;
    } else {
        counts[0] += present - above[0];
        for j in 1..m {
            counts[j] += above[j - 1] - above[j];
        }
        counts[m] += above[m - 1];
    }
    counts[m + 1] += nan;
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

    /// Issue 11 #15: finite extreme values are named as too extreme when edges are built, not
    /// blamed later on an "inconsistent profile".
    #[test]
    fn extreme_finite_values_fail_clearly_when_edges_are_built() {
        let values = [f64::MAX, f64::MIN, 0.0, 1.0, 2.0];
        for binning in [
            Binning::EqualWidth { bins: 10 },
            Binning::Quantile { bins: 10 },
        ] {
            match edges_for("x", &values, &binning) {
                Ok((edges, _)) => assert!(
                    edges.iter().all(|e| e.is_finite()),
                    "{binning:?}: {edges:?}"
                ),
                Err(e) => assert!(e.to_string().contains("too extreme"), "{e}"),
            }
        }
    }

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
        .expect("edges")
        .0;
        assert_eq!(e, vec![2.5, 5.0, 7.5]);
        let e = edges_for("x", &[3.0, 3.0], &Binning::EqualWidth { bins: 4 })
            .expect("edges")
            .0;
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
