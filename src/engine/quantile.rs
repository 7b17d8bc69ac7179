//! Benchmark quantiles exactly as `numpy.quantile(values, np.arange(1, B) / B)` (method "linear",
//! numpy 2.x `lib/_function_base_impl.py`: `_quantile`, `_get_indexes`, `_get_gamma`, `_lerp`),
//! found by selection instead of a full sort.
//!
//! numpy's arithmetic, reproduced bit for bit:
//! - q_k = k / B as `f64` (k = 1..B−1, `np.arange(1, B) / B`);
//! - virtual index v = (n − 1) · q_k (the "linear" method's `get_virtual_index`);
//! - previous index = ⌊v⌋, next = previous + 1; when v ≥ n − 1 both become the last element and
//!   numpy's previous index is −1, so γ = v − (−1);
//! - γ = v − previous (as `f64`);
//! - `_lerp(a, b, γ)`: d = b − a; a + d·γ, or b − d·(1 − γ) when γ ≥ 0.5.

/// Order-preserving map from a non-NaN `f64` to `i64` (the transform of `f64::total_cmp`);
/// it is its own inverse.
#[inline(always)]
pub(crate) fn key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// Inverse of [`key`].
#[inline(always)]
pub(crate) fn unkey(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// Interpolation plan of one quantile: the two order statistics it needs and γ.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Plan {
    prev: usize,
    next: usize,
    gamma: f64,
}

/// numpy's index arithmetic for quantile `k/bins` of `n` values (n ≥ 1).
fn plan(n: usize, k: usize, bins: usize) -> Plan {
    let q = k as f64 / bins as f64;
    let v = (n - 1) as f64 * q;
    if v >= (n - 1) as f64 {
        // numpy sets previous = next = -1 (the last element); gamma = v - (-1).
        Plan {
            prev: n - 1,
            next: n - 1,
            gamma: v - (-1.0),
        }
    } else {
        let floor = v.floor();
        Plan {
            prev: floor as usize,
            next: floor as usize + 1,
            gamma: v - floor,
        }
    }
}

/// numpy's `_lerp(a, b, t)` for scalars.
#[inline]
pub(crate) fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Places the order statistics at `positions` (sorted, distinct, each `< keys.len()`) at their
/// sorted places in `keys`, by recursive `select_nth_unstable` on narrowing sub-slices
/// (expected O(n · log m) for m positions).
fn select_positions(keys: &mut [i64], offset: usize, positions: &[usize]) {
    if positions.is_empty() || keys.is_empty() {
        return;
    }
    let mid = positions.len() / 2;
    let p = positions[mid] - offset;
    let (left, _, right) = keys.select_nth_unstable(p);
    select_positions(left, offset, &positions[..mid]);
    select_positions(right, offset + p + 1, &positions[mid + 1..]);
}

/// The raw (not deduplicated) numpy "linear" quantiles at k/`bins`, k = 1..bins−1, of the values
/// whose [`key`]s are in `keys` (n ≥ 1, no NaN). `keys` is reordered (partially partitioned).
///
/// Output length `bins − 1`; nondecreasing up to numpy's own rounding.
pub(crate) fn linear_quantiles(keys: &mut [i64], bins: usize) -> Vec<f64> {
    let n = keys.len();
    if n == 0 || bins < 2 {
        return Vec::new();
    }
    let plans: Vec<Plan> = (1..bins).map(|k| plan(n, k, bins)).collect();
    let mut positions: Vec<usize> = plans.iter().flat_map(|p| [p.prev, p.next]).collect();
    positions.sort_unstable();
    positions.dedup();
    select_positions(keys, 0, &positions);
    plans
        .iter()
        .map(|p| lerp(unkey(keys[p.prev]), unkey(keys[p.next]), p.gamma))
        .collect()
}

/// `np.unique` of quantile values: sorted, equal values (including −0.0 == 0.0) collapsed to the
/// first, so the result is strictly increasing.
pub(crate) fn unique_sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values.dedup_by(|later, earlier| later == earlier);
    values
}

/// Quantile bin edges of non-missing benchmark values: `np.unique(np.quantile(values,
/// np.arange(1, bins) / bins))` (DESIGN.md section 6). Empty when `bins < 2` or no values.
pub(crate) fn quantile_edges(keys: &mut [i64], bins: usize) -> Vec<f64> {
    unique_sorted(linear_quantiles(keys, bins))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Straightforward numpy "linear" quantile on a fully sorted copy, the definition in numpy's
    /// source, for cross-checking the selection path.
    fn sorted_reference(values: &[f64], bins: usize) -> Vec<f64> {
        let mut s = values.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let mut out = Vec::new();
        for k in 1..bins {
            let q = k as f64 / bins as f64;
            let v = (n - 1) as f64 * q;
            let (prev, next, prev_f) = if v >= (n - 1) as f64 {
                (n - 1, n - 1, -1.0)
            } else {
                (v.floor() as usize, v.floor() as usize + 1, v.floor())
            };
            out.push(lerp(s[prev], s[next], v - prev_f));
        }
        unique_sorted(out)
    }

    fn edges_of(values: &[f64], bins: usize) -> Vec<f64> {
        let mut keys: Vec<i64> = values.iter().map(|&x| key(x)).collect();
        quantile_edges(&mut keys, bins)
    }

    #[test]
    fn key_is_order_preserving_and_involutive() {
        let xs = [-1e300, -2.5, -0.0, 0.0, 1e-300, 3.0, 1e300];
        for w in xs.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{} vs {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(unkey(key(x)).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn matches_numpy_on_known_values() {
        // np.quantile([1,2,3,4,5,6,7,8,9,10], np.arange(1,4)/4) = [3.25, 5.5, 7.75]
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(edges_of(&v, 4), vec![3.25, 5.5, 7.75]);
        // np.quantile([0.1, 0.2, 0.7], np.arange(1,10)/10) then unique
        let got = edges_of(&[0.7, 0.1, 0.2], 10);
        assert_eq!(
            got,
            vec![
                0.12000000000000001,
                0.14,
                0.16,
                0.18000000000000002,
                0.2,
                0.3,
                0.3999999999999999,
                0.5,
                0.6
            ]
        );
    }

    #[test]
    fn constant_and_single_values_collapse() {
        assert_eq!(edges_of(&[4.0; 7], 10), vec![4.0]);
        assert_eq!(edges_of(&[4.0], 10), vec![4.0]);
        assert!(edges_of(&[4.0, 5.0], 1).is_empty());
    }

    proptest! {
        #[test]
        fn selection_equals_sort_based_numpy_formula(
            values in prop::collection::vec(
                prop_oneof![(-1e6f64..1e6), (0i32..5).prop_map(f64::from)], 1..400),
            bins in 1usize..25,
        ) {
            prop_assert_eq!(edges_of(&values, bins), sorted_reference(&values, bins));
        }

        #[test]
        fn edges_are_strictly_increasing(
            values in prop::collection::vec(-1e3f64..1e3, 1..300),
            bins in 1usize..40,
        ) {
            let e = edges_of(&values, bins);
            prop_assert!(e.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(e.len() < bins.max(2));
        }
    }
}
