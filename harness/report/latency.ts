/**
 * Latency summaries, histograms and box plots of sorted samples (microseconds), on top of
 * harness/stats. Sorted once by the caller; everything here is a linear pass or O(1) per quantile.
 */
import { medianIntervalOfSorted } from '../stats/adaptive.js';
import { quantileOfSorted } from '../stats/samples.js';
import { summarizeSorted } from '../stats/summary.js';
import type { BoxPlot, Histogram, LatencySummary } from './results-types.js';

/** Seed of every bootstrap interval in a report: the same run gives the same report. */
export const REPORT_SEED = 1;

/**
 * Summary of sorted finite samples. The interval of the median is the distribution-free
 * order-statistic interval (harness/stats/adaptive.ts; Conover 1999, section 3.2) rather than a
 * bootstrap: exact coverage for any continuous distribution, O(log n) on sorted data instead of
 * 2000 resamples per trial, board and variant, and the very interval the scheduler's adaptive
 * stopping rule watched, so "stopped at +-1 %" and the report's interval agree. Ratios between
 * groups (comparisons, gates) keep the seeded bootstrap.
 */
export function latencySummary(sorted: Float64Array): { summary: LatencySummary; warnings: string[] } {
  const s = summarizeSorted(sorted);
  const ci = medianIntervalOfSorted(sorted, 0.95);
  return {
    summary: {
      n: s.n, min: s.min, median: s.median, mean: s.mean, p90: s.p90, p99: s.p99, max: s.max,
      stddev: s.stddev, mad: s.mad, cv: s.cv,
      medianCI: { lower: ci.lower, upper: ci.upper, confidence: ci.confidence },
    },
    warnings: [...new Set([...s.warnings, ...ci.warnings])],
  };
}

/** Bins of a histogram: enough to show a shape, few enough that a million samples stay a few hundred numbers. */
export const HISTOGRAM_BINS = 40;

/**
 * Equal-width histogram over Tukey's far-out fences, [q1 - 3 IQR, q3 + 3 IQR] clipped to the
 * data (Tukey, Exploratory Data Analysis, 1977): the rare spikes of an interrupt inside Invoke()
 * are counted in `below` / `above` instead of squeezing the distribution's shape into two bars.
 */
export function histogramOf(sorted: Float64Array, bins = HISTOGRAM_BINS): Histogram | undefined {
  const n = sorted.length;
  if (n === 0) return undefined;
  const q1 = quantileOfSorted(sorted, 0.25);
  const q3 = quantileOfSorted(sorted, 0.75);
  let start = Math.max(sorted[0], q1 - 3 * (q3 - q1));
  let end = Math.min(sorted[n - 1], q3 + 3 * (q3 - q1));
  if (!(end > start)) {
    start = sorted[0];
    end = sorted[n - 1];
  }
  if (!(end > start)) return { start, binWidth: Math.max(Math.abs(start) * 1e-3, 1e-3), counts: [n], below: 0, above: 0 };
  const binWidth = (end - start) / bins;
  const counts = new Array<number>(bins).fill(0);
  let below = 0;
  let above = 0;
  for (let i = 0; i < n; i++) {
    const x = sorted[i];
    if (x < start) below++;
    else if (x > end) above++;
    else counts[Math.min(bins - 1, Math.floor((x - start) / binWidth))]++; // the upper edge belongs to the last bin
  }
  return { start, binWidth, counts, below, above };
}

/** Tukey (1977) box plot: quartiles, whiskers at the most extreme samples within 1.5 IQR of the box. */
export function boxPlotOf(sorted: Float64Array): BoxPlot | undefined {
  const n = sorted.length;
  if (n === 0) return undefined;
  const q1 = quantileOfSorted(sorted, 0.25);
  const q3 = quantileOfSorted(sorted, 0.75);
  const iqr = q3 - q1;
  const lowFence = q1 - 1.5 * iqr;
  const highFence = q3 + 1.5 * iqr;
  let lo = 0;
  while (lo < n - 1 && sorted[lo] < lowFence) lo++;
  let hi = n - 1;
  while (hi > 0 && sorted[hi] > highFence) hi--;
  return {
    min: sorted[0], q1, median: quantileOfSorted(sorted, 0.5), q3, max: sorted[n - 1],
    whiskerLow: sorted[lo], whiskerHigh: sorted[hi], outliers: lo + (n - 1 - hi),
  };
}

/** Sorted concatenation of sorted arrays (a k-way merge would do less work; a native sort of typed arrays is fast enough). */
export function mergeSorted(parts: readonly Float64Array[]): Float64Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return parts.length > 1 ? out.sort() : out;
}
