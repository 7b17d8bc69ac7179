//! The PSI/CSI sum (README, Design §6; Siddiqi, *Credit Risk Scorecards*, 2006):
//! E_i = expected count / all benchmark rows, A_i = actual count / all current rows (missing
//! included); a share of exactly 0 becomes ε (no renormalisation, as feature-engine's
//! DropHighPSIFeatures and evidently do); PSI = Σ (A_i − E_i) · ln(A_i / E_i).
//!
//! The sum is numpy's pairwise summation (`np.sum`), so results match the reference to the bit
//! up to the platform `ln`.

use crate::domain::BinStat;

/// Share of `count` among `total` rows, ε when the count is 0 (`np.where(counts == 0, eps, p)`).
#[inline]
pub fn share(count: u64, total: u64, eps: f64) -> f64 {
    if count == 0 {
        eps
    } else {
        count as f64 / total as f64
    }
}

/// One bin's term (A − E) · ln(A / E); ≥ 0 for positive shares.
#[inline]
pub fn contribution(expected_share: f64, actual_share: f64) -> f64 {
    (actual_share - expected_share) * (actual_share / expected_share).ln()
}

/// numpy's pairwise summation of `f64` (`pairwise_sum` in `loops_utils.h.src`, block 128,
/// 8 accumulators), starting from the identity 0 as `np.sum` does.
pub fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// Per-bin table and index of one column.
///
/// `labels`, `expected` and `actual` are parallel; `rows_benchmark`/`rows_current` are the totals
/// of all rows (missing included, = the sums of the counts). Returns (index, bins).
pub fn bin_table(
    labels: &[String],
    expected: &[u64],
    actual: &[u64],
    rows_benchmark: u64,
    rows_current: u64,
    eps: f64,
) -> (f64, Vec<BinStat>) {
    let bins: Vec<BinStat> = labels
        .iter()
        .zip(expected.iter().zip(actual))
        .map(|(label, (&e, &a))| {
            let es = share(e, rows_benchmark, eps);
            let as_ = share(a, rows_current, eps);
            BinStat {
                label: label.clone(),
                expected_count: e,
                actual_count: a,
                expected_share: es,
                actual_share: as_,
                contribution: contribution(es, as_),
            }
        })
        .collect();
    let terms: Vec<f64> = bins.iter().map(|b| b.contribution).collect();
    (pairwise_sum(&terms), bins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_numpy_grouping() {
        // np.sum(np.full(10, 0.1)) == 1.0 (pairwise: 8 accumulators, then 2 more) whereas a
        // sequential sum gives 0.9999999999999999.
        let a = [0.1f64; 10];
        assert_eq!(pairwise_sum(&a), 1.0);
        let mut seq = 0.0;
        for x in a {
            seq += x;
        }
        assert_ne!(seq, 1.0);
        assert_eq!(pairwise_sum(&[]), 0.0);
        let big: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        assert_eq!(pairwise_sum(&big), 499_500.0);
    }

    #[test]
    fn zero_share_becomes_eps_without_renormalisation() {
        assert_eq!(share(0, 10, 1e-4), 1e-4);
        assert_eq!(share(5, 10, 1e-4), 0.5);
        let labels = vec!["a".to_string(), "b".to_string()];
        let (psi, bins) = bin_table(&labels, &[10, 0], &[5, 5], 10, 10, 1e-4);
        assert_eq!(bins[1].expected_share, 1e-4);
        let want = (0.5f64 - 1.0) * (0.5f64).ln() + (0.5 - 1e-4) * (0.5f64 / 1e-4).ln();
        assert_eq!(psi, want);
    }
}
