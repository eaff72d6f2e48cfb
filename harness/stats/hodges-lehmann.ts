/**
 * Hodges-Lehmann shift: the median of all n1 n2 differences candidate_j - baseline_i (Hodges &
 * Lehmann, Ann. Math. Statist. 34, 1963; the "difference in location" R's `wilcox.test(...,
 * conf.int = TRUE)` prints). It is the shift estimate that goes with the Mann-Whitney test.
 *
 * n1 n2 is 4e8 for 20,000 vs 20,000, so the differences are never listed. With both groups
 * sorted, one O(n1 + n2) two-pointer pass tells how many differences are <= t and which actual
 * differences lie just below and just above t. A bisection on the value keeps the k-th smallest
 * difference in [first, last] (both actual differences) and stops when they meet:
 * O((n1 + n2) log(range / resolution)), ~20 ms for 20,000 vs 20,000. (The
 * same idea as selection in X + Y by counting: Johnson & Mizoguchi, SIAM J. Comput. 7, 1978.)
 * Differences are compared as computed (b - a in floating point), which is monotone in both
 * arguments, so the counts and the result agree with the sorted list of differences exactly.
 */
import { droppedWarnings, sortFinite, type Samples } from './samples.js';

interface Probe {
  /** #{(i, j): b[j] - a[i] <= t} */
  count: number;
  /** Largest difference <= t (-Infinity if none). */
  below: number;
  /** Smallest difference > t (Infinity if none). */
  above: number;
}

/** One pass over sorted a and b: how many differences are <= t, and the differences either side of t. */
function probe(a: Float64Array, b: Float64Array, t: number): Probe {
  // For fixed j, b[j] - a[i] <= t holds for a suffix i >= p_j, and p_j never decreases with j;
  // the largest difference <= t in row j is at p_j, the smallest one > t at p_j - 1.
  let p = 0;
  let count = 0;
  let below = Number.NEGATIVE_INFINITY;
  let above = Number.POSITIVE_INFINITY;
  for (let j = 0; j < b.length; j++) {
    const bj = b[j];
    while (p < a.length && bj - a[p] > t) p++;
    count += a.length - p;
    if (p < a.length) {
      const d = bj - a[p];
      if (d > below) below = d;
    }
    if (p > 0) {
      const d = bj - a[p - 1];
      if (d < above) above = d;
    }
  }
  return { count, below, above };
}

/** The k-th smallest (1-based) of the differences b[j] - a[i]. */
export function kthDifference(a: Float64Array, b: Float64Array, k: number): number {
  // Invariant: the answer lies in [first, last], both actual differences; count(< first) < k.
  let first = probe(a, b, Number.NEGATIVE_INFINITY).above;
  let last = probe(a, b, Number.POSITIVE_INFINITY).below;
  while (first < last) {
    let mid = first + (last - first) / 2;
    if (!Number.isFinite(mid)) mid = first / 2 + last / 2;
    // Adjacent doubles: the midpoint may round up to `last`, which would never shrink the range.
    if (!(mid < last)) mid = first;
    const at = probe(a, b, mid);
    if (at.count >= k) last = at.below;
    else first = at.above;
  }
  return last;
}

export interface ShiftEstimate {
  /** Median of candidate - baseline over all pairs; NaN when a group is empty. */
  shift: number;
  warnings: string[];
}

/** Hodges-Lehmann shift of candidate relative to baseline, from sorted finite groups. */
export function hodgesLehmannSorted(a: Float64Array, b: Float64Array): number {
  const m = a.length * b.length;
  if (m === 0) return Number.NaN;
  const kLow = Math.floor((m + 1) / 2);
  const low = kthDifference(a, b, kLow);
  return m % 2 === 1 ? low : (low + kthDifference(a, b, kLow + 1)) / 2;
}

export function hodgesLehmann(baseline: Samples, candidate: Samples): ShiftEstimate {
  const a = sortFinite(baseline);
  const b = sortFinite(candidate);
  const warnings = [...droppedWarnings(a.dropped, 'baseline samples'), ...droppedWarnings(b.dropped, 'candidate samples')];
  if (a.sorted.length === 0 || b.sorted.length === 0) warnings.push('need samples in both groups for a shift estimate');
  return { shift: hodgesLehmannSorted(a.sorted, b.sorted), warnings };
}
