/**
 * Comparing two variants, or the same variant in two runs: the candidate against the baseline.
 *
 * What assumes least, as benchstat does (benchstat's `benchmath`: medians, Mann-Whitney U):
 * - the effect is the median ratio new/old with a bootstrap percentile interval (bootstrap.ts);
 * - significance is the two-sided Mann-Whitney U test (mann-whitney.ts);
 * - the Hodges-Lehmann shift (hodges-lehmann.ts) gives the same effect in absolute units.
 * `compareTrials` first checks the fingerprints (fingerprint.ts) and refuses to compare trials
 * that differ outside the declared variant axes.
 */
import { bootstrapRatioSorted, type BootstrapInterval, type BootstrapOptions } from './bootstrap.js';
import { checkComparable, type Fingerprint, type NotComparable } from './fingerprint.js';
import { hodgesLehmannSorted } from './hodges-lehmann.js';
import { mannWhitneySorted, type MannWhitneyMethod, type MannWhitneyResult } from './mann-whitney.js';
import { droppedWarnings, medianOfSorted, sortFinite, type Samples } from './samples.js';

export interface CompareOptions {
  /** Significance level for `significant` (default 0.05). */
  alpha?: number;
  /** Resamples, confidence and seed of the ratio interval. */
  bootstrap?: BootstrapOptions;
  /** Mann-Whitney p-value method (default 'auto'). */
  method?: 'auto' | MannWhitneyMethod;
  /** Leave out the Hodges-Lehmann shift (NaN) to save its ~20 ms on 20,000 vs 20,000. */
  skipShift?: boolean;
}

export interface GroupSummary {
  n: number;
  median: number;
}

export interface SampleComparison {
  comparable: true;
  baseline: GroupSummary;
  candidate: GroupSummary;
  /** Median ratio candidate / baseline (estimate) with its bootstrap interval (lower, upper). */
  ratio: BootstrapInterval;
  /** (ratio - 1) * 100: +3 means the candidate's median is 3% higher (slower, for latency). */
  changePct: number;
  /** The Mann-Whitney test (u is the baseline's U, as R's W). */
  test: MannWhitneyResult;
  /** Two-sided p-value of the test. */
  p: number;
  alpha: number;
  /** p < alpha. */
  significant: boolean;
  /** Hodges-Lehmann shift candidate - baseline, in the samples' unit. */
  shift: number;
  /** Fingerprint fields that differ (declared variant axes); empty without fingerprints. */
  differingAxes: string[];
  warnings: string[];
}

export type RefusedComparison = NotComparable & { warnings: string[] };
export type TrialComparison = SampleComparison | RefusedComparison;

export interface TrialData {
  samples: Samples;
  fingerprint: Fingerprint;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Compares groups already sorted ascending (finite values only). */
export function compareSorted(a: Float64Array, b: Float64Array, options: CompareOptions = {}): SampleComparison {
  const alpha = options.alpha ?? 0.05;
  const ratio = bootstrapRatioSorted(a, b, options.bootstrap);
  const test = mannWhitneySorted(a, b, { method: options.method ?? 'auto', alpha });
  const shift = options.skipShift ? Number.NaN : hodgesLehmannSorted(a, b);
  return {
    comparable: true,
    baseline: { n: a.length, median: medianOfSorted(a) },
    candidate: { n: b.length, median: medianOfSorted(b) },
    ratio,
    changePct: (ratio.estimate - 1) * 100,
    test,
    p: test.p,
    alpha,
    significant: test.p < alpha,
    shift,
    differingAxes: [],
    warnings: unique([...test.warnings, ...ratio.warnings]),
  };
}

/** Compares a candidate's samples with a baseline's (no fingerprint check). */
export function compareSamples(baseline: Samples, candidate: Samples, options: CompareOptions = {}): SampleComparison {
  const a = sortFinite(baseline);
  const b = sortFinite(candidate);
  const result = compareSorted(a.sorted, b.sorted, options);
  result.warnings.unshift(...droppedWarnings(a.dropped, 'baseline samples'), ...droppedWarnings(b.dropped, 'candidate samples'));
  return result;
}

/**
 * Compares two trials, refusing (comparable: false, with the reason) when their fingerprints
 * differ in a field that is not one of `variantAxes`.
 */
export function compareTrials(
  baseline: TrialData,
  candidate: TrialData,
  variantAxes: readonly string[],
  options: CompareOptions = {},
): TrialComparison {
  const check = checkComparable(baseline.fingerprint, candidate.fingerprint, variantAxes);
  if (!check.comparable) return { ...check, warnings: [check.reason] };
  const result = compareSamples(baseline.samples, candidate.samples, options);
  result.differingAxes = check.differingAxes;
  return result;
}
