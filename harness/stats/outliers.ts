/**
 * Outliers by the MAD-based modified z-score of Iglewicz & Hoaglin ("How to Detect and Handle
 * Outliers", ASQC Basic References in Quality Control vol. 16, 1993; also NIST/SEMATECH
 * e-Handbook of Statistical Methods, section 1.3.5.17):
 *
 *   M_i = 0.6745 (x_i - median) / MAD,   outlier when |M_i| > 3.5
 *
 * 0.6745 is the 0.75 quantile of the standard normal, so 0.6745 / MAD estimates 1 / sigma for
 * normal data (equivalently MAD * 1.4826 estimates sigma). hyperfine's `outlier_detection.rs`
 * uses the same score with a much looser threshold (10 sigma, `1.4826 * 10.0`) and replaces a
 * zero MAD by f64::EPSILON, which makes every differing sample an outlier.
 *
 * Warnings are quiet when they cannot mean anything (hyperfine #528: a handful of outliers in
 * thousands of runs; #580: "outliers" 0.1 ms away when the spread is ~0). A warning is raised
 * only when outliers are more than `warnFraction` of the samples AND at least one lies more than
 * `minRelativeDeviation` from the median; a zero MAD is reported only when some sample differs
 * from the median by more than that same relative amount.
 */
import { madOfSorted } from './summary.js';
import { droppedWarnings, fmt, medianOfSorted, sortFinite, type Samples } from './samples.js';

/** Iglewicz & Hoaglin's recommended cut-off for |M_i|. */
export const MODIFIED_Z_THRESHOLD = 3.5;
/** Phi^-1(0.75): the constant that makes the MAD a normal-consistent scale. */
export const MAD_NORMAL_CONSTANT = 0.6745;

export interface OutlierOptions {
  /** |modified z| above which a sample is an outlier (default 3.5). */
  threshold?: number;
  /** Warn only when outliers are more than this fraction of the samples (default 0.05). */
  warnFraction?: number;
  /** Warn only about deviations larger than this fraction of the median (default 0.01 = 1%). */
  minRelativeDeviation?: number;
}

export interface OutlierResult {
  /** Number of outliers (0 when detection was skipped). */
  count: number;
  /** Outliers below / above the median (fast spikes are suspicious: a timer bug; slow ones: interference). */
  low: number;
  high: number;
  /** Positions of the outliers in the input, ascending. */
  indices: number[];
  threshold: number;
  median: number;
  /** Raw MAD (not scaled). */
  mad: number;
  /** True when the MAD was zero, so no modified z-score exists. */
  skipped: boolean;
  warnings: string[];
}

export function detectOutliers(samples: Samples, options: OutlierOptions = {}): OutlierResult {
  const threshold = options.threshold ?? MODIFIED_Z_THRESHOLD;
  const warnFraction = options.warnFraction ?? 0.05;
  const minRel = options.minRelativeDeviation ?? 0.01;
  const { sorted, dropped } = sortFinite(samples);
  const warnings = droppedWarnings(dropped);
  const n = sorted.length;
  const median = medianOfSorted(sorted);
  const mad = madOfSorted(sorted, median);
  const result: OutlierResult = { count: 0, low: 0, high: 0, indices: [], threshold, median, mad, skipped: false, warnings };
  if (n === 0) return result;
  const material = minRel * Math.abs(median);

  if (mad === 0) {
    result.skipped = true;
    const farthest = Math.max(median - sorted[0], sorted[n - 1] - median);
    if (farthest > material) {
      const differing = countDiffering(sorted, median);
      warnings.push(
        `MAD is zero (more than half the samples equal ${fmt(median)}): outlier detection skipped, although ${differing} of ${n} samples differ, by up to ${fmt(farthest)}`,
      );
    }
    return result;
  }

  const scale = MAD_NORMAL_CONSTANT / mad;
  let maxDeviation = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) continue;
    const m = scale * (x - median);
    if (Math.abs(m) > threshold) {
      result.indices.push(i);
      if (m < 0) result.low++;
      else result.high++;
      maxDeviation = Math.max(maxDeviation, Math.abs(x - median));
    }
  }
  result.count = result.indices.length;
  if (result.count > warnFraction * n && maxDeviation > material) {
    const pct = median !== 0 ? ` (${fmt((100 * maxDeviation) / Math.abs(median), 3)}% of the median)` : '';
    warnings.push(
      `${result.count} of ${n} samples (${fmt((100 * result.count) / n, 3)}%) are outliers (|modified z-score| > ${threshold}), up to ${fmt(maxDeviation)} from the median${pct}: something disturbed the board during the trial`,
    );
  }
  return result;
}

function countDiffering(sorted: Float64Array, value: number): number {
  let c = 0;
  for (let i = 0; i < sorted.length; i++) if (sorted[i] !== value) c++;
  return c;
}
