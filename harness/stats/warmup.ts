/**
 * Warm-up detection: how many leading samples of a trial were still settling (caches filling, the
 * first Invoke() allocating, a clock ramping) and should not count as steady state.
 *
 * The second half of the trial is taken as the steady tail; the leading samples are compared with
 * it in two robust ways, and a sample counts as warm-up only if it is also materially different
 * (by more than `minEffect` of the tail's median, default 1%), so a statistically clear but
 * meaningless drift of 0.1% never asks anyone to change a scenario:
 * 1. single samples: the leading run of samples whose modified z-score against the tail
 *    (0.6745 |x - median| / MAD, Iglewicz & Hoaglin 1993, threshold 3.5; outliers.ts) exceeds
 *    3.5 - the classic "first inference is 2x slower" case;
 * 2. blocks: then consecutive blocks of `blockSize` samples (default max(5, n / 20)) each tested
 *    against the tail with the two-sided Mann-Whitney U test at `alpha` (default 0.01) - a slow
 *    trend whose single samples hide in the noise.
 * Scanning stops at the first sample / block that looks steady, and never goes past half the
 * trial. This is a robust cousin of truncation rules used for simulation output (MSER: White,
 * Simulation 69(6), 1997, which minimises the standard error of the mean of what is kept, but is
 * not robust to the outliers boards produce).
 */
import { madOfSorted } from './summary.js';
import { MAD_NORMAL_CONSTANT, MODIFIED_Z_THRESHOLD } from './outliers.js';
import { mannWhitneySorted } from './mann-whitney.js';
import { droppedWarnings, finiteInOrder, fmtPct, medianOfSorted, type Samples } from './samples.js';

export interface WarmupOptions {
  /** Smallest relative difference from the steady median that counts (default 0.01 = 1%). */
  minEffect?: number;
  /** Significance level of the block test (default 0.01). */
  alpha?: number;
  /** Samples per tested block (default max(5, round(n / 20))). */
  blockSize?: number;
}

export interface WarmupResult {
  /** How many leading samples look like warm-up (0 when none, or when undecidable). */
  warmupCount: number;
  /** Median of the steady tail (second half). */
  steadyMedian: number;
  /** Median of the warm-up samples (NaN when there are none). */
  warmupMedian: number;
  /** (warmupMedian / steadyMedian - 1) * 100. */
  changePct: number;
  blockSize: number;
  warnings: string[];
}

/** Fewer samples than this cannot tell a start from a tail. */
export const MIN_SAMPLES_FOR_WARMUP = 10;

function sortedCopy(values: Float64Array, from: number, to: number): Float64Array {
  return values.slice(from, to).sort();
}

export function detectWarmup(samples: Samples, options: WarmupOptions = {}): WarmupResult {
  const { values, dropped } = finiteInOrder(samples);
  const warnings = droppedWarnings(dropped);
  const n = values.length;
  const minEffect = options.minEffect ?? 0.01;
  const alpha = options.alpha ?? 0.01;
  const blockSize = Math.max(2, Math.floor(options.blockSize ?? Math.max(5, Math.round(n / 20))));
  const half = Math.floor(n / 2);
  const tail = sortedCopy(values, half, n);
  const steadyMedian = medianOfSorted(tail);
  const none: WarmupResult = { warmupCount: 0, steadyMedian, warmupMedian: NaN, changePct: NaN, blockSize, warnings };
  if (n < MIN_SAMPLES_FOR_WARMUP) {
    warnings.push(`need at least ${MIN_SAMPLES_FOR_WARMUP} samples to detect warm-up, got ${n}`);
    return none;
  }
  const material = minEffect * Math.abs(steadyMedian);
  const mad = madOfSorted(tail, steadyMedian);
  // |x - m| > 3.5 MAD / 0.6745 is |modified z| > 3.5; with MAD = 0 any material difference counts.
  const robustLimit = (MODIFIED_Z_THRESHOLD * mad) / MAD_NORMAL_CONSTANT;
  const far = (x: number): boolean => Math.abs(x - steadyMedian) > Math.max(robustLimit, material);

  let count = 0;
  while (count < half && far(values[count])) count++;

  while (count + blockSize <= half) {
    const block = sortedCopy(values, count, count + blockSize);
    const test = mannWhitneySorted(block, tail, { alpha });
    if (!(test.p < alpha) || !(Math.abs(medianOfSorted(block) - steadyMedian) > material)) break;
    count += blockSize;
  }

  if (count === 0) return none;
  const warmupMedian = medianOfSorted(sortedCopy(values, 0, count));
  const changePct = (warmupMedian / steadyMedian - 1) * 100;
  if (count + blockSize > half) {
    warnings.push(
      `samples still differ from the second half of the trial at its middle (first ${count} of ${n}, median ${fmtPct(changePct)}): the board drifts during the whole trial, or warm-up takes longer than half of it`,
    );
  } else {
    warnings.push(
      `the first ${count} of ${n} samples look like warm-up (median ${fmtPct(changePct)} vs the steady tail): raise the scenario's warm-up count or leave them out`,
    );
  }
  return { warmupCount: count, steadyMedian, warmupMedian, changePct, blockSize, warnings };
}
