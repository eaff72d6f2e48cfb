/**
 * The same comparison measured on several boards: per-board results, one pooled effect that keeps
 * board-to-board spread apart from the variant's effect, and the spread itself, reported
 * separately.
 *
 * Why stratify: boards of one model differ (silicon, flash, temperature; issue 4's canary exists
 * for this). Pooling every board's samples into one Mann-Whitney test would count "board B is
 * slower" as noise at best and, when boards ran different numbers of samples, as a variant effect
 * at worst. So every statistic here compares baseline and candidate WITHIN a board first:
 * - Pooled effect: the geometric mean of the per-board median ratios (each board one vote; the
 *   ratio is scale-free, so a board's own speed cancels), with a stratified bootstrap interval
 *   (each resample draws every board's two medians anew; Davison & Hinkley, Bootstrap Methods and
 *   their Application, 1997, section 3.2: resampling within strata).
 * - Pooled test: van Elteren's stratified rank-sum test (van Elteren, Bull. Int. Statist. Inst.
 *   37, 1960; Lehmann, Nonparametrics, 1975, section 3.3). Ranks are taken within each board, and
 *   board s contributes W_s / (N_s + 1), the weighting that is locally most powerful against a
 *   shift common to all boards: T = sum W_s / (N_s + 1), E T = sum n2_s / 2,
 *   Var T = sum n1_s n2_s / (12 (N_s + 1)^2) ((N_s + 1) - sum(t^3 - t) / (N_s (N_s - 1))),
 *   z = (T - E T) / sqrt(Var T), normal approximation (no continuity correction). Chosen over
 *   combining per-board p-values (Fisher's method) because it keeps the direction: two boards
 *   that move in opposite directions do not add up to a "significant" change.
 * - Board spread: for each variant, the slowest board's median over the fastest one's.
 */
import { percentileInterval, resolveBootstrapOptions, quantileResampler } from './bootstrap.js';
import { compareSorted, type CompareOptions, type TrialComparison } from './compare.js';
import { normalCdf, normalSf } from './distributions.js';
import { checkComparable, type Fingerprint } from './fingerprint.js';
import { rankSumSorted } from './mann-whitney.js';
import { holm } from './multiple-comparisons.js';
import { createRng } from './rng.js';
import { droppedWarnings, fmt, fmtPct, medianOfSorted, sortFinite, type Samples } from './samples.js';

export interface BoardPair {
  board: string;
  baseline: Samples;
  candidate: Samples;
  /** With both fingerprints and `variantAxes`, a pair that differs elsewhere is refused. */
  baselineFingerprint?: Fingerprint;
  candidateFingerprint?: Fingerprint;
}

export interface BoardsOptions extends CompareOptions {
  /** Fingerprint fields allowed to differ between a board's baseline and candidate trials. */
  variantAxes?: readonly string[];
  /** Warn when the slowest board's median is more than this ratio of the fastest's (default 1.10). */
  spreadWarnRatio?: number;
}

export interface BoardResult {
  board: string;
  comparison: TrialComparison;
  /** Holm-adjusted p-value over the boards (NaN for a refused pair). */
  pHolm: number;
}

export interface BoardSpread {
  slowestBoard: string;
  slowestMedian: number;
  fastestBoard: string;
  fastestMedian: number;
  /** slowestMedian / fastestMedian (1 = boards agree; NaN with fewer than 2 boards). */
  ratio: number;
}

export interface VanElterenResult {
  /** Standardised statistic; positive = the candidate ranks higher (slower) within boards. */
  z: number;
  /** Two-sided p-value. */
  p: number;
  /** Boards that contributed. */
  strata: number;
  warnings: string[];
}

export interface PooledEffect {
  /** Geometric mean of the per-board median ratios candidate / baseline. */
  ratio: number;
  lower: number;
  upper: number;
  confidence: number;
  changePct: number;
  test: VanElterenResult;
  p: number;
  significant: boolean;
  /** Boards that entered the pooled estimate. */
  boards: string[];
}

export interface BoardsComparison {
  boards: BoardResult[];
  pooled: PooledEffect;
  spread: { baseline: BoardSpread; candidate: BoardSpread };
  warnings: string[];
}

interface SortedStratum {
  a: Float64Array;
  b: Float64Array;
}

/** Van Elteren's test on groups already sorted per board. */
export function vanElterenSorted(strata: readonly SortedStratum[]): VanElterenResult {
  const warnings: string[] = [];
  let t = 0;
  let expected = 0;
  let variance = 0;
  let used = 0;
  for (const { a, b } of strata) {
    const n1 = a.length;
    const n2 = b.length;
    if (n1 === 0 || n2 === 0) continue;
    const N = n1 + n2;
    const { r1: rCandidate, tieTerm } = rankSumSorted(b, a);
    t += rCandidate / (N + 1);
    expected += n2 / 2;
    variance += ((n1 * n2) / (12 * (N + 1) * (N + 1))) * (N + 1 - (N > 1 ? tieTerm / (N * (N - 1)) : 0));
    used++;
  }
  if (used < strata.length) warnings.push(`${strata.length - used} boards had an empty group and were left out of the stratified test`);
  if (used === 0) return { z: NaN, p: NaN, strata: 0, warnings };
  if (!(variance > 0)) return { z: 0, p: 1, strata: used, warnings };
  const z = (t - expected) / Math.sqrt(variance);
  return { z, p: Math.min(1, 2 * Math.min(normalCdf(z), normalSf(z))), strata: used, warnings };
}

/** Van Elteren's stratified rank-sum test: one stratum per board. */
export function vanElteren(strata: ReadonlyArray<{ baseline: Samples; candidate: Samples }>): VanElterenResult {
  let dropped = 0;
  const sorted = strata.map((s) => {
    const a = sortFinite(s.baseline);
    const b = sortFinite(s.candidate);
    dropped += a.dropped + b.dropped;
    return { a: a.sorted, b: b.sorted };
  });
  const r = vanElterenSorted(sorted);
  r.warnings.unshift(...droppedWarnings(dropped));
  return r;
}

function spreadOf(medians: Array<{ board: string; median: number }>): BoardSpread {
  const valid = medians.filter((m) => Number.isFinite(m.median));
  if (valid.length === 0) return { slowestBoard: '', slowestMedian: NaN, fastestBoard: '', fastestMedian: NaN, ratio: NaN };
  let slow = valid[0];
  let fast = valid[0];
  for (const m of valid) {
    if (m.median > slow.median) slow = m;
    if (m.median < fast.median) fast = m;
  }
  return {
    slowestBoard: slow.board,
    slowestMedian: slow.median,
    fastestBoard: fast.board,
    fastestMedian: fast.median,
    ratio: valid.length >= 2 && fast.median > 0 ? slow.median / fast.median : NaN,
  };
}

export function compareAcrossBoards(pairs: readonly BoardPair[], options: BoardsOptions = {}): BoardsComparison {
  const alpha = options.alpha ?? 0.05;
  const warnings: string[] = [];
  const sorted = pairs.map((pair) => {
    const a = sortFinite(pair.baseline);
    const b = sortFinite(pair.candidate);
    return { pair, a: a.sorted, b: b.sorted, dropped: a.dropped + b.dropped };
  });

  const results: TrialComparison[] = sorted.map(({ pair, a, b, dropped }) => {
    if (pair.baselineFingerprint && pair.candidateFingerprint) {
      const check = checkComparable(pair.baselineFingerprint, pair.candidateFingerprint, options.variantAxes ?? []);
      if (!check.comparable) {
        warnings.push(`board ${pair.board}: ${check.reason}`);
        return { ...check, warnings: [check.reason] };
      }
      const c = compareSorted(a, b, options);
      c.differingAxes = check.differingAxes;
      c.warnings.unshift(...droppedWarnings(dropped));
      return c;
    }
    const c = compareSorted(a, b, options);
    c.warnings.unshift(...droppedWarnings(dropped));
    return c;
  });

  const adjusted = holm(results.map((r) => (r.comparable ? r.p : Number.NaN)), alpha);
  const boards: BoardResult[] = results.map((comparison, i) => ({
    board: pairs[i].board,
    comparison,
    pHolm: adjusted.adjusted[i],
  }));

  // Pooled effect over the comparable boards with a ratio.
  const pooledIdx = results
    .map((r, i) => (r.comparable && r.ratio.estimate > 0 ? i : -1))
    .filter((i) => i >= 0);
  const o = resolveBootstrapOptions(options.bootstrap, []);
  const test = vanElterenSorted(pooledIdx.map((i) => ({ a: sorted[i].a, b: sorted[i].b })));
  let ratio = Number.NaN;
  let lower = Number.NaN;
  let upper = Number.NaN;
  if (pooledIdx.length > 0) {
    let logSum = 0;
    for (const i of pooledIdx) {
      const r = results[i];
      if (r.comparable) logSum += Math.log(r.ratio.estimate);
    }
    ratio = Math.exp(logSum / pooledIdx.length);
    const enough = pooledIdx.every((i) => sorted[i].a.length >= 5 && sorted[i].b.length >= 5);
    if (enough) {
      const rng = createRng(o.seed);
      const draws = pooledIdx.map((i) => [quantileResampler(sorted[i].a, 0.5, rng), quantileResampler(sorted[i].b, 0.5, rng)]);
      const stats = new Float64Array(o.resamples);
      for (let r = 0; r < o.resamples; r++) {
        let s = 0;
        for (const [drawA, drawB] of draws) s += Math.log(drawB() / drawA());
        stats[r] = Math.exp(s / draws.length);
      }
      [lower, upper] = percentileInterval(stats, o.confidence, warnings);
    } else {
      warnings.push('need at least 5 samples per group on every board for an interval of the pooled ratio');
    }
  } else {
    warnings.push('no board has a comparable pair of trials: no pooled effect');
  }

  // Boards that clearly disagree about the direction: the pooled number hides a board effect.
  const slower = boards.filter((b) => b.comparison.comparable && b.comparison.ratio.lower > 1);
  const faster = boards.filter((b) => b.comparison.comparable && b.comparison.ratio.upper < 1);
  if (slower.length > 0 && faster.length > 0) {
    const say = (b: BoardResult): string => (b.comparison.comparable ? `${b.board} ${fmtPct(b.comparison.changePct)}` : b.board);
    warnings.push(
      `boards disagree about the direction (${[...slower, ...faster].map(say).join(', ')}): look at the boards before trusting the pooled change`,
    );
  }

  const spread = {
    baseline: spreadOf(sorted.map((s) => ({ board: s.pair.board, median: medianOfSorted(s.a) }))),
    candidate: spreadOf(sorted.map((s) => ({ board: s.pair.board, median: medianOfSorted(s.b) }))),
  };
  const limit = options.spreadWarnRatio ?? 1.1;
  for (const [variant, s] of [['baseline', spread.baseline], ['candidate', spread.candidate]] as const) {
    if (s.ratio > limit) {
      warnings.push(
        `board spread: ${s.slowestBoard} runs the ${variant} ${fmtPct((s.ratio - 1) * 100)} slower than ${s.fastestBoard} (median ${fmt(s.slowestMedian)} vs ${fmt(s.fastestMedian)}); the pooled change is computed within boards, but check that board's clock and temperature`,
      );
    }
  }

  return {
    boards,
    pooled: {
      ratio,
      lower,
      upper,
      confidence: o.confidence,
      changePct: (ratio - 1) * 100,
      test,
      p: test.p,
      significant: test.p < alpha,
      boards: pooledIdx.map((i) => pairs[i].board),
    },
    spread,
    warnings: [...warnings, ...test.warnings],
  };
}
