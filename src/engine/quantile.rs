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
/// A run of consecutive positions (numpy's prev/next pairs) costs one selection: each further
/// position of the run is the minimum of what lies right of the previous one.
fn select_positions(keys: &mut [i64], offset: usize, positions: &[usize]) {
    if positions.is_empty() || keys.is_empty() {
        return;
    }
    let mut start = positions.len() / 2;
    while start > 0 && positions[start - 1] + 1 == positions[start] {
        start -= 1;
    }
    let mut end = start + 1;
    while end < positions.len() && positions[end - 1] + 1 == positions[end] {
        end += 1;
    }
    let p = positions[start] - offset;
    let (left, _, mut right) = keys.select_nth_unstable(p);
    select_positions(left, offset, &positions[..start]);
    let mut next = offset + p + 1;
    for _ in start + 1..end {
        let Some(&min) = right.iter().min() else {
            return;
        };
        if let Some(i) = right.iter().position(|&k| k == min) {
            right.swap(0, i);
        }
        right = &mut right[1..];
        next += 1;
    }
    select_positions(right, next, &positions[end..]);
}

/// numpy's interpolation plans for k/`bins`, k = 1..bins−1, over `n` ≥ 1 values, and the
/// sorted distinct order-statistic positions they need.
fn plans_and_positions(n: usize, bins: usize) -> (Vec<Plan>, Vec<usize>) {
    let plans: Vec<Plan> = (1..bins).map(|k| plan(n, k, bins)).collect();
    let mut positions: Vec<usize> = plans.iter().flat_map(|p| [p.prev, p.next]).collect();
    positions.sort_unstable();
    positions.dedup();
    (plans, positions)
}

/// Applies the plans to the order statistics (`values[i]` is the statistic at `positions[i]`).
fn interpolate(plans: &[Plan], positions: &[usize], values: &[f64]) -> Vec<f64> {
    let at = |i: usize| values[positions.partition_point(|&p| p < i)];
    plans
        .iter()
        .map(|p| lerp(at(p.prev), at(p.next), p.gamma))
        .collect()
}

/// Quantile bin edges of a numeric benchmark column: `np.unique(np.quantile(values[~isnan],
/// np.arange(1, bins) / bins))` (README, Design §6). `values` may hold `NaN` (skipped) but no
/// infinity; `present` = number of non-`NaN` values (≥ 1). Empty when `bins < 2`.
#[cfg(test)]
pub(crate) fn quantile_edges(values: &[f64], present: usize, bins: usize) -> Vec<f64> {
    quantile_edges_counts(values, present, bins).0
}

/// [`quantile_edges`], plus the rows per bin of `values` under those edges (as
/// [`super::binning::count_numeric`]: `edges.len() + 2` bins, missing last) when the bracketing
/// pass could derive them from its interval counts and gathered values (every edge inside one
/// interval); `None` means the caller counts with a full pass.
pub(crate) fn quantile_edges_counts(
    values: &[f64],
    present: usize,
    bins: usize,
) -> (Vec<f64>, Option<Vec<u64>>) {
    quantile_edges_with(values, present, bins, sample_size(present))
}

/// Sample size of the bracketing pass for `n` values; 0 = select on a full copy instead.
fn sample_size(n: usize) -> usize {
    if n >= 32_768 { (n / 32).min(32_768) } else { 0 }
}

fn quantile_edges_with(
    values: &[f64],
    present: usize,
    bins: usize,
    sample: usize,
) -> (Vec<f64>, Option<Vec<u64>>) {
    if present == 0 || bins < 2 {
        return (Vec::new(), None);
    }
    let (plans, positions) = plans_and_positions(present, bins);
    let bracket = (sample > 0 && positions.len() <= 64)
        .then(|| bracketed(values, present, &positions, sample))
        .flatten();
    let stats = match &bracket {
        Some(b) => b.stats.clone(),
        None => {
            let mut keys: Vec<i64> = values
                .iter()
                .filter(|x| !x.is_nan())
                .map(|&x| key(x))
                .collect();
            select_positions(&mut keys, 0, &positions);
            positions.iter().map(|&p| unkey(keys[p])).collect()
        }
    };
    let edges = unique_sorted(interpolate(&plans, &positions, &stats));
    let counts = bracket.and_then(|b| b.counts(&edges, values.len(), present));
    (edges, counts)
}

/// `np.unique` of quantile values: sorted, equal values (including −0.0 == 0.0) collapsed to the
/// first, so the result is strictly increasing.
pub(crate) fn unique_sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values.dedup_by(|later, earlier| later == earlier);
    values
}

thread_local! {
    /// Per-thread gather buffer of [`bracketed`] (grows to the largest column seen).
    static SCRATCH: std::cell::RefCell<Vec<i64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Values per block of the bracketing pass.
const BLOCK: usize = 1024;

/// Floyd–Rivest style selection of the order statistics at `positions` among the `present`
/// non-`NaN` values: a sorted pseudo-random sample of about `sample` values gives, for each
/// wanted rank, a narrow value interval [lo, hi] that holds it with high probability; one
/// vectorised pass counts the values below/inside each interval and gathers those inside; the
/// exact statistics are then selected among the few gathered. An interval holding one value
/// (lo = hi ≠ 0, so every value inside has the same bits) is not gathered: its ranks are that
/// value. `None` when a rank falls outside the intervals (the caller then selects on a full
/// copy), so the result is always exact.
fn bracketed(
    values: &[f64],
    present: usize,
    positions: &[usize],
    sample: usize,
) -> Option<Bracket> {
    let len = values.len();
    let stride = (len / sample).max(1);
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut s: Vec<i64> = Vec::with_capacity(sample);
    for i in 0..len / stride {
        h ^= h << 13;
        h ^= h >> 7;
        h ^= h << 17;
        let start = i * stride + (h % stride as u64) as usize;
        // First non-missing value from a pseudo-random offset in this stride.
        if let Some(x) = values[start..].iter().take(stride).find(|x| !x.is_nan()) {
            s.push(key(*x));
        }
    }
    if s.len() < 64 {
        return None;
    }
    s.sort_unstable();
    let m = s.len();
    let mut intervals: Vec<(f64, f64)> = positions
        .iter()
        .map(|&p| {
            let q = p as f64 / present as f64;
            // Half-width in sample ranks: 4 standard deviations of the sample rank of the
            // q-quantile, 4 · √(m · q · (1 − q)) (≤ 2√m), plus 2.
            let d = (4.0 * (m as f64 * q * (1.0 - q)).sqrt()) as usize + 2;
            let c = (q * m as f64) as usize;
            let lo = c.checked_sub(d).map_or(f64::NEG_INFINITY, |i| unkey(s[i]));
            let hi = s.get(c + 1 + d).map_or(f64::INFINITY, |&k| unkey(k));
            (lo, hi)
        })
        .collect();
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(intervals.len());
    for (lo, hi) in intervals {
        match merged.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    // One-value intervals (±0 excluded: −0.0 and 0.0 are inside [0, 0] but differ in bits).
    let tied: Vec<bool> = merged
        .iter()
        .map(|&(lo, hi)| lo == hi && lo != 0.0)
        .collect();
    // gather[slot] = 1 for slots inside a gathered interval (slot ≤ 2 · 64 < 256).
    let mut gather = [0usize; 256];
    for (b, t) in tied.iter().enumerate() {
        gather[2 * b + 1] = usize::from(!t);
    }
    let los: Vec<f64> = merged.iter().map(|i| i.0).collect();
    let his: Vec<f64> = merged.iter().map(|i| i.1).collect();
    // slot(x) = #{lo_b <= x} + #{hi_b < x}: 2b + 1 inside interval b, even between; NaN → 0.
    // Per interval: values >= lo (`ge_lo`) and values > hi (`gt_hi`), NaN never counted.
    let mut ge_lo = vec![0u64; merged.len()];
    let mut gt_hi = vec![0u64; merged.len()];
    // Gathered values; a per-thread scratch buffer, so columns do not map and fault fresh pages.
    let gathered_keys: Vec<i64> = SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < len + 1 {
            buf.resize(len + 1, 0);
        }
        let buf: &mut [i64] = &mut buf[..len + 1];
        let mut filled = 0usize;
        let mut slots = [0u32; BLOCK];
        for block in values.chunks(BLOCK) {
            slots_of(block, &los, &his, &mut slots, &mut ge_lo, &mut gt_hi);
            for (x, s) in block.iter().zip(&slots) {
                buf[filled] = key(*x);
                filled += gather[(s & 255) as usize];
            }
        }
        buf[..filled].to_vec()
    });
    // Ranks below interval b, gathered values before it, ranks inside it.
    let mut below = Vec::with_capacity(merged.len());
    let mut before = Vec::with_capacity(merged.len());
    let mut inside = Vec::with_capacity(merged.len());
    let mut gathered = 0usize;
    for b in 0..merged.len() {
        let ge = usize::try_from(ge_lo[b]).ok()?;
        let gt = usize::try_from(gt_hi[b]).ok()?;
        below.push(present.checked_sub(ge)?);
        before.push(gathered);
        inside.push(ge.checked_sub(gt)?);
        if !tied[b] {
            gathered += ge - gt;
        }
    }
    if gathered != gathered_keys.len() {
        return None;
    }
    // Per position: Ok(index into ranks) to select, or Err(value) of a one-value interval.
    let mut ranks = Vec::with_capacity(positions.len());
    let mut sources: Vec<Result<usize, f64>> = Vec::with_capacity(positions.len());
    for &p in positions {
        let b = below.partition_point(|&lo| lo <= p).checked_sub(1)?;
        if p >= below[b] + inside[b] {
            return None;
        }
        if tied[b] {
            sources.push(Err(los[b]));
        } else {
            sources.push(Ok(ranks.len()));
            ranks.push(p - below[b] + before[b]);
        }
    }
    let mut keys = gathered_keys;
    select_positions(&mut keys, 0, &ranks);
    let stats = sources
        .iter()
        .map(|s| match *s {
            Ok(i) => unkey(keys[ranks[i]]),
            Err(v) => v,
        })
        .collect();
    Some(Bracket {
        stats,
        los,
        his,
        below,
        inside,
        before,
        tied,
        keys,
    })
}

/// What [`bracketed`] learnt about the values: the order statistics and, per merged interval
/// b (sorted, disjoint), its bounds, #{x < lo_b}, #{lo_b ≤ x ≤ hi_b}, the gathered values of
/// earlier intervals, whether it holds one value (not gathered), and the gathered values' keys.
struct Bracket {
    stats: Vec<f64>,
    los: Vec<f64>,
    his: Vec<f64>,
    below: Vec<usize>,
    inside: Vec<usize>,
    before: Vec<usize>,
    tied: Vec<bool>,
    keys: Vec<i64>,
}

impl Bracket {
    /// Rows per bin under `edges` (strictly increasing), as `count_numeric` counts them, of the
    /// `len` values `present` of which are not `NaN`: #{x ≤ e} = #{x < lo_b} + #{gathered x ≤ e}
    /// − (gathered before b) for e in [lo_b, hi_b] (all of b when it holds one value). `None`
    /// when an edge lies outside every interval.
    fn counts(&self, edges: &[f64], len: usize, present: usize) -> Option<Vec<u64>> {
        let m = edges.len();
        let mut counts = vec![0u64; m + 2];
        let mut prev = 0usize;
        for (j, &e) in edges.iter().enumerate() {
            let b = self.los.partition_point(|&lo| lo <= e).checked_sub(1)?;
            if e > self.his[b] || e.is_nan() {
                return None;
            }
            let at_most = if self.tied[b] {
                self.below[b] + self.inside[b]
            } else {
                // IEEE x ≤ e equals key order once e = −0.0 is taken as 0.0 (x is never NaN).
                let ek = key(if e == 0.0 { 0.0 } else { e });
                let n = self.keys.iter().filter(|&&k| k <= ek).count();
                self.below[b] + n.checked_sub(self.before[b])?
            };
            counts[j] = u64::try_from(at_most.checked_sub(prev)?).ok()?;
            prev = at_most;
        }
        counts[m] = u64::try_from(present.checked_sub(prev)?).ok()?;
        counts[m + 1] = u64::try_from(len.checked_sub(present)?).ok()?;
        Some(counts)
    }
}

fn slots_of(
    block: &[f64],
    los: &[f64],
    his: &[f64],
    out: &mut [u32; BLOCK],
    ge_lo: &mut [u64],
    gt_hi: &mut [u64],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { slots_avx512(block, los, his, out, ge_lo, gt_hi) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { slots_avx2(block, los, his, out, ge_lo, gt_hi) };
            return;
        }
    }
    slots_generic(block, los, his, out, ge_lo, gt_hi);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn slots_avx512(
    block: &[f64],
    los: &[f64],
    his: &[f64],
    out: &mut [u32; BLOCK],
    ge_lo: &mut [u64],
    gt_hi: &mut [u64],
) {
    slots_generic(block, los, his, out, ge_lo, gt_hi);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn slots_avx2(
    block: &[f64],
    los: &[f64],
    his: &[f64],
    out: &mut [u32; BLOCK],
    ge_lo: &mut [u64],
    gt_hi: &mut [u64],
) {
    slots_generic(block, los, his, out, ge_lo, gt_hi);
}

/// Branch-free slot computation over a block (vectorised across values): `out[i]` = slot of
/// value i, and the per-bound totals are added to `ge_lo` / `gt_hi`.
#[inline(always)]
fn slots_generic(
    block: &[f64],
    los: &[f64],
    his: &[f64],
    out: &mut [u32; BLOCK],
    ge_lo: &mut [u64],
    gt_hi: &mut [u64],
) {
    let out = &mut out[..block.len()];
    out.fill(0);
    for (&lo, total) in los.iter().zip(ge_lo) {
        let mut c = 0u32;
        for (o, &x) in out.iter_mut().zip(block) {
            let m = (lo <= x) as u32;
            *o += m;
            c += m;
        }
        *total += u64::from(c);
    }
    for (&hi, total) in his.iter().zip(gt_hi) {
        let mut c = 0u32;
        for (o, &x) in out.iter_mut().zip(block) {
            let m = (hi < x) as u32;
            *o += m;
            c += m;
        }
        *total += u64::from(c);
    }
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
        let present = values.iter().filter(|x| !x.is_nan()).count();
        quantile_edges(values, present, bins)
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

    #[test]
    fn bracketed_path_is_taken_and_exact_on_large_input() {
        let values: Vec<f64> = (0..200_000u64)
            .map(|i| {
                if i % 17 == 0 {
                    f64::NAN
                } else {
                    ((i * 2_654_435_761) % 1_000_003) as f64 / 7.0
                }
            })
            .collect();
        let present = values.iter().filter(|x| !x.is_nan()).count();
        let (_, positions) = plans_and_positions(present, 10);
        let got = bracketed(&values, present, &positions, 4096)
            .expect("brackets hold")
            .stats;
        let mut s: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        s.sort_by(f64::total_cmp);
        let want: Vec<f64> = positions.iter().map(|&p| s[p]).collect();
        assert_eq!(got, want);
        assert_eq!(edges_of(&values, 10), sorted_reference(&s, 10));
    }

    #[test]
    fn bracketed_counts_equal_a_full_count_with_ties_and_signed_zeros() {
        let cases: [fn(u64) -> f64; 3] = [
            |i| ((i * 2_654_435_761) % 6) as f64,
            |i| ((i * 2_654_435_761) % 1_000_003) as f64 / 7.0,
            |i| match (i * 2_654_435_761) % 5 {
                0 => -0.0,
                1 => 0.0,
                k => k as f64 - 3.0,
            },
        ];
        for f in cases {
            let values: Vec<f64> = (0..300_000u64)
                .map(|i| if i % 13 == 0 { f64::NAN } else { f(i) })
                .collect();
            let present = values.iter().filter(|x| !x.is_nan()).count();
            let (edges, counts) = quantile_edges_counts(&values, present, 10);
            let counts = counts.expect("counts from the bracketing pass");
            let mut full = vec![0u64; edges.len() + 2];
            crate::engine::binning::count_numeric(&values, &edges, &mut full);
            assert_eq!(counts, full);
            let mut s: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
            s.sort_by(f64::total_cmp);
            let want = sorted_reference(&s, 10);
            assert_eq!(edges.len(), want.len());
            for (a, b) in edges.iter().zip(&want) {
                assert_eq!(a.to_bits(), b.to_bits());
            }
        }
    }

    proptest! {
        #[test]
        fn sampled_selection_equals_sort(
            values in prop::collection::vec(
                prop_oneof![4 => -1e6f64..1e6, 4 => (0i32..3).prop_map(f64::from),
                    1 => Just(-0.0), 1 => Just(f64::NAN)], 1024..3000),
            bins in 2usize..25,
            sorted in any::<bool>(),
        ) {
            let mut values = values;
            if sorted {
                values.sort_by(f64::total_cmp);
            }
            let present: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
            prop_assume!(!present.is_empty());
            let (got, counts) = quantile_edges_with(&values, present.len(), bins, 64);
            let want = sorted_reference(&present, bins);
            if let Some(counts) = counts {
                let mut full = vec![0u64; got.len() + 2];
                crate::engine::binning::count_numeric(&values, &got, &mut full);
                prop_assert_eq!(counts, full);
            }
            prop_assert_eq!(got, want);
        }

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
