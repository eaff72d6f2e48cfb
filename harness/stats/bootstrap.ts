/**
 * Bootstrap confidence intervals, seeded: percentile intervals (Efron & Tibshirani, An
 * Introduction to the Bootstrap, 1993, ch. 13) from a fixed number of resamples (default 2000;
 * they recommend >= 1000 for percentile intervals, ch. 19).
 *
 * Any statistic: `bootstrapCI` resamples with replacement and calls the statistic, O(R n) plus
 * the statistic's own cost.
 *
 * Quantiles (median, p90 ...) and their ratios take a fast exact path. A type-7 quantile of a
 * resample only depends on two of its order statistics, and the k-th smallest of n indices drawn
 * uniformly from the sorted data is floor(n U(k)) with U(k) the k-th order statistic of n uniforms,
 * U(k) ~ Beta(k, n - k + 1) (the exact bootstrap distribution of a sample quantile: Maritz &
 * Jarrett, JASA 73, 1978; Hall & Martin, Biometrika 75, 1988). Drawing U(k) and U(k+1) directly
 * (variates.ts) gives a resample's quantile in O(1) with exactly the distribution that resampling
 * would give, so 2000 resamples cost microseconds whatever n is, and a report can bootstrap the
 * median ratio of 20,000 vs 20,000 samples for every pair it shows.
 */
import { createRng, type Rng } from './rng.js';
import {
  droppedWarnings,
  finiteInOrder,
  quantileOfSorted,
  resolveConfidence,
  sortFinite,
  type Samples,
} from './samples.js';
import { uniformOrderPair } from './variates.js';

export interface BootstrapOptions {
  /** Number of resamples (default 2000). */
  resamples?: number;
  /** Confidence level in (0, 1) (default 0.95). */
  confidence?: number;
  /** PRNG seed (default 1): the same seed gives the same interval. */
  seed?: number;
}

export interface BootstrapInterval {
  /** The statistic of the original samples. */
  estimate: number;
  /** Lower end of the percentile interval; NaN when no interval could be made. */
  lower: number;
  upper: number;
  confidence: number;
  resamples: number;
  seed: number;
  warnings: string[];
}

/** Fewer samples than this give no interval: a bootstrap of 4 values says nothing about the population. */
export const MIN_SAMPLES_FOR_INTERVAL = 5;
export const DEFAULT_RESAMPLES = 2000;

export interface ResolvedBootstrapOptions {
  resamples: number;
  confidence: number;
  seed: number;
}

export function resolveBootstrapOptions(options: BootstrapOptions | undefined, warnings: string[]): ResolvedBootstrapOptions {
  const confidence = resolveConfidence(options?.confidence, warnings);
  let resamples = options?.resamples ?? DEFAULT_RESAMPLES;
  if (!Number.isInteger(resamples) || resamples < 1) {
    warnings.push(`resamples ${resamples} is not a positive integer: used ${DEFAULT_RESAMPLES}`);
    resamples = DEFAULT_RESAMPLES;
  } else if (resamples < 1000) {
    warnings.push(`only ${resamples} bootstrap resamples: the interval ends are themselves noisy (use at least 1000)`);
  }
  return { resamples, confidence, seed: options?.seed ?? 1 };
}

/** Percentile interval from the resampled statistics (sorted here; NaN statistics are dropped). */
export function percentileInterval(stats: Float64Array, confidence: number, warnings: string[]): [number, number] {
  const { sorted, dropped } = sortFinite(stats);
  if (dropped > 0) warnings.push(`${dropped} of ${stats.length} resamples gave no finite statistic and were left out`);
  const alpha = 1 - confidence;
  return [quantileOfSorted(sorted, alpha / 2), quantileOfSorted(sorted, 1 - alpha / 2)];
}

function noInterval(estimate: number, o: ResolvedBootstrapOptions, warnings: string[]): BootstrapInterval {
  return { estimate, lower: NaN, upper: NaN, confidence: o.confidence, resamples: o.resamples, seed: o.seed, warnings };
}

function tooFew(n: number, warnings: string[], label = ''): boolean {
  if (n >= MIN_SAMPLES_FOR_INTERVAL) return false;
  warnings.push(`need at least ${MIN_SAMPLES_FOR_INTERVAL} samples for a confidence interval${label}, got ${n}`);
  return true;
}

/**
 * Percentile bootstrap interval of any statistic. The statistic gets a resample (a reused
 * Float64Array: do not keep it) of the finite samples in their original order.
 */
export function bootstrapCI(
  samples: Samples,
  statistic: (resample: Float64Array) => number,
  options?: BootstrapOptions,
): BootstrapInterval {
  const warnings: string[] = [];
  const o = resolveBootstrapOptions(options, warnings);
  const { values: data, dropped } = finiteInOrder(samples);
  warnings.unshift(...droppedWarnings(dropped));
  const n = data.length;
  const estimate = n > 0 ? statistic(Float64Array.from(data)) : Number.NaN;
  if (tooFew(n, warnings)) return noInterval(estimate, o, warnings);
  const rng = createRng(o.seed);
  const resample = new Float64Array(n);
  const stats = new Float64Array(o.resamples);
  for (let r = 0; r < o.resamples; r++) {
    for (let i = 0; i < n; i++) resample[i] = data[rng.nextInt(n)];
    stats[r] = statistic(resample);
  }
  const [lower, upper] = percentileInterval(stats, o.confidence, warnings);
  return { estimate, lower, upper, confidence: o.confidence, resamples: o.resamples, seed: o.seed, warnings };
}

/**
 * Draws the type-7 p-quantile of a bootstrap resample of `sorted` in O(1) (see the file comment).
 * Type 7 reads the 0-based order statistics k = floor((n-1)p) and k+1 with weight frac.
 */
export function quantileResampler(sorted: Float64Array, p: number, rng: Rng): () => number {
  const n = sorted.length;
  const h = (n - 1) * p;
  const k = Math.floor(h);
  const frac = h - k;
  const at = (u: number): number => sorted[Math.min(n - 1, Math.floor(u * n))];
  if (frac === 0 || k + 1 >= n) {
    return () => at(uniformOrderPair(rng, n, k + 1)[0]);
  }
  return () => {
    const [u1, u2] = uniformOrderPair(rng, n, k + 1);
    const a = at(u1);
    return a + frac * (at(u2) - a);
  };
}

/** Bootstrap interval of the p-quantile (fast exact path). */
export function bootstrapQuantileCI(samples: Samples, p: number, options?: BootstrapOptions): BootstrapInterval {
  const warnings: string[] = [];
  const o = resolveBootstrapOptions(options, warnings);
  const { sorted, dropped } = sortFinite(samples);
  warnings.unshift(...droppedWarnings(dropped));
  const estimate = quantileOfSorted(sorted, p);
  if (tooFew(sorted.length, warnings)) return noInterval(estimate, o, warnings);
  const draw = quantileResampler(sorted, p, createRng(o.seed));
  const stats = new Float64Array(o.resamples);
  for (let r = 0; r < o.resamples; r++) stats[r] = draw();
  const [lower, upper] = percentileInterval(stats, o.confidence, warnings);
  return { estimate, lower, upper, confidence: o.confidence, resamples: o.resamples, seed: o.seed, warnings };
}

/** Bootstrap interval of the median (fast exact path). */
export function bootstrapMedianCI(samples: Samples, options?: BootstrapOptions): BootstrapInterval {
  return bootstrapQuantileCI(samples, 0.5, options);
}

export interface RatioOptions extends BootstrapOptions {
  /** Which quantile to compare (default 0.5: the median). */
  quantile?: number;
}

/**
 * Bootstrap interval of quantile(candidate) / quantile(baseline) (default: the median ratio
 * new/old), resampling the two groups independently (Efron & Tibshirani 1993, section 8.3: the
 * two-sample bootstrap). 1.03 means the candidate's median is 3% higher.
 */
export function bootstrapRatioCI(baseline: Samples, candidate: Samples, options?: RatioOptions): BootstrapInterval {
  const a = sortFinite(baseline);
  const b = sortFinite(candidate);
  const r = bootstrapRatioSorted(a.sorted, b.sorted, options);
  r.warnings.unshift(...droppedWarnings(a.dropped, 'baseline samples'), ...droppedWarnings(b.dropped, 'candidate samples'));
  return r;
}

/** `bootstrapRatioCI` on groups already sorted ascending (finite values only). */
export function bootstrapRatioSorted(a: Float64Array, b: Float64Array, options?: RatioOptions): BootstrapInterval {
  const warnings: string[] = [];
  const o = resolveBootstrapOptions(options, warnings);
  const p = options?.quantile ?? 0.5;
  const qa = quantileOfSorted(a, p);
  const qb = quantileOfSorted(b, p);
  if (!(qa > 0)) {
    if (a.length > 0) warnings.push(`the baseline ${p === 0.5 ? 'median' : `p${p * 100}`} is ${qa}: a ratio needs a positive baseline`);
    else warnings.push('no baseline samples: no ratio');
    return noInterval(Number.NaN, o, warnings);
  }
  const estimate = qb / qa;
  const few = tooFew(a.length, warnings, ' (baseline)');
  if (tooFew(b.length, warnings, ' (candidate)') || few) return noInterval(estimate, o, warnings);
  const rng = createRng(o.seed);
  const drawA = quantileResampler(a, p, rng);
  const drawB = quantileResampler(b, p, rng);
  const stats = new Float64Array(o.resamples);
  for (let r = 0; r < o.resamples; r++) {
    const den = drawA();
    stats[r] = den > 0 ? drawB() / den : Number.NaN;
  }
  const [lower, upper] = percentileInterval(stats, o.confidence, warnings);
  return { estimate, lower, upper, confidence: o.confidence, resamples: o.resamples, seed: o.seed, warnings };
}
