/**
 * Per-trial summary: min / median / mean / p90 / p99 / max / stddev / MAD / CV / n.
 *
 * One sort (Float64Array, O(n log n)) and linear passes: 1e6 samples summarise in well under a
 * second. Quantiles are Hyndman & Fan (1996) type 7 (R's default, numpy's 'linear') through
 * simple-statistics' quantileSorted; mean and standard deviation are simple-statistics' `mean`
 * (Kahan-compensated sum) and `sampleStandardDeviation` (n - 1 denominator).
 */
import { mean as ssMean, sampleStandardDeviation } from 'simple-statistics';
import { asNumbers, droppedWarnings, quantileOfSorted, sortFinite, type Samples } from './samples.js';

export interface TrialSummary {
  /** Number of finite samples summarised. */
  n: number;
  min: number;
  median: number;
  mean: number;
  p90: number;
  p99: number;
  max: number;
  /** Sample standard deviation (n - 1 denominator); NaN below 2 samples. */
  stddev: number;
  /**
   * Raw median absolute deviation, median(|x - median|), NOT scaled by 1.4826 (multiply by
   * 1.4826 for a consistent estimate of a normal sigma: Rousseeuw & Croux 1993).
   */
  mad: number;
  /** Coefficient of variation stddev / mean (a fraction, not a percentage); NaN when undefined. */
  cv: number;
  warnings: string[];
}

/**
 * Median of |x - m| over sorted data in O(n) without another sort: the deviations left of m
 * (read right-to-left) and right of m (left-to-right) are two ascending runs; merging them up to
 * the middle rank gives the median (type 7, so the mean of the two middle ones for even n).
 */
export function madOfSorted(sorted: Float64Array, median: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  // p = first index with sorted[p] >= median
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < median) lo = mid + 1;
    else hi = mid;
  }
  let i = lo - 1;
  let j = lo;
  const kLow = (n - 1) >>> 1; // 0-based rank of the lower middle deviation
  const kHigh = n >>> 1; // upper middle (== kLow for odd n)
  let lowValue = Number.NaN;
  for (let c = 0; c <= kHigh; c++) {
    const left = i >= 0 ? median - sorted[i] : Number.POSITIVE_INFINITY;
    const right = j < n ? sorted[j] - median : Number.POSITIVE_INFINITY;
    let d: number;
    if (left <= right) {
      d = left;
      i--;
    } else {
      d = right;
      j++;
    }
    if (c === kLow) lowValue = d;
    if (c === kHigh) return (lowValue + d) / 2;
  }
  return lowValue;
}

/** Summary of sorted finite samples (the caller already dropped non-finite values). */
export function summarizeSorted(sorted: Float64Array): TrialSummary {
  const n = sorted.length;
  const warnings: string[] = [];
  if (n === 0) {
    return {
      n: 0, min: NaN, median: NaN, mean: NaN, p90: NaN, p99: NaN, max: NaN, stddev: NaN, mad: NaN, cv: NaN,
      warnings: ['no samples: every statistic is NaN'],
    };
  }
  const data = asNumbers(sorted);
  const median = quantileOfSorted(sorted, 0.5);
  const mean = ssMean(data);
  const stddev = n >= 2 ? sampleStandardDeviation(data) : Number.NaN;
  if (n < 2) warnings.push('only 1 sample: standard deviation and coefficient of variation need at least 2');
  // p90/p99 of fewer than 10/100 samples interpolate between the two largest samples (type 7):
  // they say nothing the maximum does not, so the reader is told rather than misled.
  if (n < 10) warnings.push(`p90 and p99 of ${n} samples lie between the two largest samples: they need at least 10 and 100 samples`);
  else if (n < 100) warnings.push(`p99 of ${n} samples lies between the two largest samples: it needs at least 100 samples`);
  return {
    n,
    min: sorted[0],
    median,
    mean,
    p90: quantileOfSorted(sorted, 0.9),
    p99: quantileOfSorted(sorted, 0.99),
    max: sorted[n - 1],
    stddev,
    mad: madOfSorted(sorted, median),
    cv: n >= 2 && mean !== 0 ? stddev / mean : Number.NaN,
    warnings,
  };
}

/** Summary of one trial's samples; non-finite values are ignored with a warning. */
export function summarize(samples: Samples): TrialSummary {
  const { sorted, dropped } = sortFinite(samples);
  const summary = summarizeSorted(sorted);
  summary.warnings.unshift(...droppedWarnings(dropped));
  return summary;
}
