/**
 * The stopping rule of adaptive sampling (issue 4, step 3/7): keep measuring a trial until the
 * confidence interval of its median is within X% of the median, between a minimum and a maximum
 * sample count, so quiet variants finish fast and noisy ones get the samples they need.
 *
 * The interval is the distribution-free order-statistic interval of the median, not a bootstrap:
 * the rule runs after every batch of samples, and this interval needs one sort and a binomial
 * tail instead of thousands of resamples, is exact in coverage for any continuous distribution,
 * and assumes no shape. Its ends are order statistics x(r) and x(n - r + 1) with r the largest
 * rank such that P(B <= r - 1) <= alpha / 2, B ~ Binomial(n, 1/2), because the number of samples
 * below the true median is B (Conover, Practical Nonparametric Statistics, 3rd ed., 1999,
 * section 3.2; Hollander & Wolfe, Nonparametric Statistical Methods, 1973). Its coverage is
 * 1 - 2 P(B <= r - 1) >= the confidence asked for (exact binomial up to n = 1000, normal
 * approximation with continuity correction above: distributions.ts).
 */
import { binomialHalfCdf } from './distributions.js';
import { droppedWarnings, fmt, medianOfSorted, resolveConfidence, sortFinite, type Samples } from './samples.js';

export interface MedianInterval {
  n: number;
  median: number;
  /** x(lowerRank), NaN when n is too small for the confidence asked. */
  lower: number;
  upper: number;
  /** 1-based ranks of the interval ends (0 when there is no interval). */
  lowerRank: number;
  upperRank: number;
  /** Actual coverage 1 - 2 P(B <= r - 1), at least `confidence`. */
  coverage: number;
  confidence: number;
  warnings: string[];
}

/** Smallest n whose order-statistic interval of the median reaches the confidence: 2^-n <= alpha / 2. */
export function minSamplesForMedianInterval(confidence: number): number {
  return Math.max(1, Math.ceil(Math.log2(2 / (1 - confidence))));
}

/** Order-statistic interval of the median from sorted finite samples. */
export function medianIntervalOfSorted(sorted: Float64Array, confidence?: number): MedianInterval {
  const warnings: string[] = [];
  const level = resolveConfidence(confidence, warnings);
  const n = sorted.length;
  const median = medianOfSorted(sorted);
  const halfAlpha = (1 - level) / 2;
  if (n === 0 || binomialHalfCdf(0, n) > halfAlpha) {
    warnings.push(`need at least ${minSamplesForMedianInterval(level)} samples for a ${fmt(level * 100)}% interval of the median, got ${n}`);
    return { n, median, lower: NaN, upper: NaN, lowerRank: 0, upperRank: 0, coverage: NaN, confidence: level, warnings };
  }
  // Largest r in [1, ceil(n/2)] with P(B <= r - 1) <= alpha / 2 (the predicate is monotone in r).
  let lo = 1;
  let hi = Math.ceil(n / 2);
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (binomialHalfCdf(mid - 1, n) <= halfAlpha) lo = mid;
    else hi = mid - 1;
  }
  const r = lo;
  const s = n - r + 1;
  return {
    n,
    median,
    lower: sorted[r - 1],
    upper: sorted[s - 1],
    lowerRank: r,
    upperRank: s,
    coverage: 1 - 2 * binomialHalfCdf(r - 1, n),
    confidence: level,
    warnings,
  };
}

/** Distribution-free interval of the median (non-finite samples ignored with a warning). */
export function medianInterval(samples: Samples, confidence?: number): MedianInterval {
  const { sorted, dropped } = sortFinite(samples);
  const r = medianIntervalOfSorted(sorted, confidence);
  r.warnings.unshift(...droppedWarnings(dropped));
  return r;
}

export interface StoppingRule {
  /** Stop once the interval's farther end is within this percent of the median (e.g. 1 = +-1%). */
  withinPct: number;
  /** Never stop before this many samples (default 10). */
  minSamples?: number;
  /** Always stop at this many samples. */
  maxSamples: number;
  /** Confidence of the interval (default 0.95). */
  confidence?: number;
}

export type StoppingReason = 'precise' | 'max-samples' | 'min-samples' | 'need-more';

export interface StoppingDecision {
  stop: boolean;
  reason: StoppingReason;
  n: number;
  median: number;
  lower: number;
  upper: number;
  /** max(median - lower, upper - median) / |median| * 100; NaN without an interval. */
  halfWidthPct: number;
  /**
   * Rough total sample count at which the interval would reach the target, n (halfWidth /
   * target)^2 (interval widths shrink as 1 / sqrt(n)), capped at maxSamples; absent when stopping.
   */
  estimatedSamplesNeeded?: number;
  warnings: string[];
}

export function shouldStopSampling(samples: Samples, rule: StoppingRule): StoppingDecision {
  const ci = medianInterval(samples, rule.confidence);
  const warnings = ci.warnings;
  const minSamples = rule.minSamples ?? 10;
  const n = ci.n;
  const halfWidth = Math.max(ci.median - ci.lower, ci.upper - ci.median);
  const halfWidthPct = ci.median !== 0 ? (halfWidth / Math.abs(ci.median)) * 100 : Number.NaN;
  const base = { n, median: ci.median, lower: ci.lower, upper: ci.upper, halfWidthPct, warnings };
  const precise = halfWidthPct <= rule.withinPct;
  if (n >= rule.maxSamples) {
    if (!precise) {
      const known = Number.isFinite(halfWidthPct) ? `+-${fmt(halfWidthPct, 3)}%` : 'no interval';
      warnings.push(`stopped at the ${rule.maxSamples}-sample limit with the median known to ${known}, not +-${rule.withinPct}%`);
    }
    return { stop: true, reason: 'max-samples', ...base };
  }
  // n < minSamples must not warn: asking for more samples is the rule working, not a problem.
  if (n < minSamples) return { stop: false, reason: 'min-samples', ...base, warnings: ci.warnings.filter((w) => !w.startsWith('need at least')) };
  if (precise) return { stop: true, reason: 'precise', ...base };
  const estimate = Number.isFinite(halfWidthPct) && halfWidthPct > 0
    ? Math.min(rule.maxSamples, Math.ceil(n * (halfWidthPct / rule.withinPct) ** 2))
    : rule.maxSamples;
  return { stop: false, reason: 'need-more', ...base, warnings: ci.warnings.filter((w) => !w.startsWith('need at least')), estimatedSamplesNeeded: Math.max(n + 1, estimate) };
}
