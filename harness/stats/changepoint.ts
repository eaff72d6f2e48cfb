/**
 * Change points in the nightly history of a metric (one value per run, e.g. the run's median
 * latency), so that a regression is reported at the run where it started, even when it arrived as
 * a slow drift that crosses no gate threshold for weeks.
 *
 * Method: binary segmentation (Scott & Knott, Biometrics 30, 1974; Vostrikova 1981) with a rank
 * statistic and permutation p-values, in the spirit of circular binary segmentation (Olshen et
 * al., Biostatistics 5(4), 2004) but on ranks:
 * - in a segment of n runs with mid-ranks r_i, the runs [i, j) against the others give the
 *   standardised Mann-Whitney statistic Z = (2 S - m (n + 1)) / sqrt(m (n - m) (n + 1) / 3), with
 *   S the rank sum of the m runs inside (Pettitt, Applied Statistics 28(2), 1979, uses the
 *   unstandardised 2 S - m (n + 1) for single splits; standardising lets a change in the last few
 *   nights, which the nightly job cares most about, compete with splits in the middle). Ties
 *   scale every Z of a segment alike, so they change neither the split nor the p-value;
 * - stage 1, one change: the split [0, t) | [t, n) with the largest |Z|, at least `minSegment`
 *   runs on each side; stage 2, only if stage 1 finds nothing, a bump (a regression and its fix,
 *   which a single split sees poorly): the inner segment [i, j) with the largest |Z|, each of the
 *   three parts at least `minSegment` long. Each stage is tested at alpha / 2 (Bonferroni);
 * - the p-value is the share of random permutations of the ranks whose largest |Z| is at least
 *   the observed one, (1 + #exceed) / (1 + permutations) (Phipson & Smyth, Stat. Appl. Genet.
 *   Mol. Biol. 9, 2010), from a seeded generator; permuting stops as soon as the p-value can no
 *   longer fall below the level (a Besag & Clifford, Biometrika 76, 1989, style shortcut that
 *   never changes a decision);
 * - ranks decide WHETHER there is a change, but they cannot see how far apart the levels are,
 *   so a run that is merely high-normal can pull the rank statistic's split a run or two away
 *   from the jump. The location of a significant split is therefore refined by least absolute
 *   deviations: the t (within the same segment and `minSegment` limits) that minimises
 *   sum |x - median(left)| + sum |x - median(right)| - the L1 cost of a change in median used by
 *   robust segmentation (e.g. PELT with an L1 cost: Killick et al., JASA 107, 2012). For a bump,
 *   each end is refined with the other held;
 * - each significant split is kept and the parts are searched again.
 * Ranks make one broken night (a board that throttled) unable to fake a change and make the
 * method blind to the metric's unit. MongoDB runs the same family of method (E-Divisive with a
 * permutation test) on its nightly performance history (Daly et al., "The Use of Change Point
 * Detection to Identify Software Performance Regressions in a Continuous Integration System",
 * ICPE 2020); ranks are cheaper (O(n) per permutation for single splits, O(n^2) for bumps) and
 * need no tuning.
 *
 * A slow drift becomes a staircase: binary segmentation splits the ramp and then its first part
 * again, so the earliest change point moves towards the start of the drift as evidence grows.
 *
 * Per-run confidence intervals, when given, set the floor of what is reported: a change smaller
 * than the runs' own typical half-width (median over runs, relative to the value) is real for
 * the series but below what one run can resolve, and is left out with a warning. So is a
 * change smaller than `minRelativeChange`.
 */
import { createRng, type Rng } from './rng.js';
import { fmt, fmtPct, medianOfSorted } from './samples.js';

export interface HistoryPoint {
  /** The run's value of the metric (e.g. its median latency). */
  value: number;
  /** Optional confidence interval of that value. */
  lower?: number;
  upper?: number;
  /** Optional run id, copied to the change point. */
  runId?: string;
}

export interface ChangePointOptions {
  /** Significance level of each split (default 0.01). */
  alpha?: number;
  /** Permutations per test (default 999). */
  permutations?: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /** Fewest runs on each side of a change (default 3). */
  minSegment?: number;
  /** Smallest relative change reported (default 0). */
  minRelativeChange?: number;
}

export interface ChangePoint {
  /** Index (in the input) of the first run at the new level. */
  index: number;
  runId?: string;
  /** Median of the runs from the previous change point (or the start) up to this one. */
  before: number;
  /** Median of the runs from this change point up to the next (or the end). */
  after: number;
  /** (after / before - 1) * 100. */
  changePct: number;
  direction: 'up' | 'down';
  /** Permutation p-value of the split when it was found (compare with alpha / 2, the per-stage level). */
  p: number;
}

export interface ChangePointResult {
  changePoints: ChangePoint[];
  alpha: number;
  permutations: number;
  seed: number;
  warnings: string[];
}

/** Mid-ranks (1-based) of values. */
export function midRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[i] - values[j]);
  const ranks = new Float64Array(n);
  let k = 0;
  while (k < n) {
    let e = k;
    while (e + 1 < n && values[order[e + 1]] === values[order[k]]) e++;
    const r = (k + e) / 2 + 1;
    for (let q = k; q <= e; q++) ranks[order[q]] = r;
    k = e + 1;
  }
  return ranks;
}

export interface SegmentSplit {
  /** The runs [i, j) of the segment differ from the others (i = 0 or j = n: a single change). */
  i: number;
  j: number;
  /** |Z| of that split (standardised rank-sum statistic). */
  z: number;
}

function prefixSums(ranks: ArrayLike<number>): Float64Array {
  const p = new Float64Array(ranks.length + 1);
  for (let k = 0; k < ranks.length; k++) p[k + 1] = p[k] + ranks[k];
  return p;
}

/** |Z| of the runs [i, j) against the rest, from prefix sums of the ranks. */
function zOf(prefix: Float64Array, n: number, i: number, j: number): number {
  const m = j - i;
  return Math.abs(2 * (prefix[j] - prefix[i]) - m * (n + 1)) / Math.sqrt((m * (n - m) * (n + 1)) / 3);
}

/** Best single split [0, t) | [t, n), at least `minSegment` on each side (t = -1 when none fits). */
export function bestSingleSplit(ranks: ArrayLike<number>, minSegment: number): SegmentSplit {
  const n = ranks.length;
  const prefix = prefixSums(ranks);
  let best: SegmentSplit = { i: 0, j: -1, z: -1 };
  for (let t = minSegment; t <= n - minSegment; t++) {
    const z = zOf(prefix, n, 0, t);
    if (z > best.z) best = { i: 0, j: t, z };
  }
  return best;
}

/** Best inner segment [i, j) with all three parts at least `minSegment` long (j = -1 when none fits). */
export function bestInnerSegment(ranks: ArrayLike<number>, minSegment: number): SegmentSplit {
  const n = ranks.length;
  const prefix = prefixSums(ranks);
  let best: SegmentSplit = { i: 0, j: -1, z: -1 };
  for (let i = minSegment; i <= n - 2 * minSegment; i++) {
    for (let j = i + minSegment; j <= n - minSegment; j++) {
      const z = zOf(prefix, n, i, j);
      if (z > best.z) best = { i, j, z };
    }
  }
  return best;
}

/**
 * Permutation p-value of a split statistic: (1 + #permutations with statistic >= z) / (1 +
 * permutations). Stops early once the p-value cannot fall below `level` (the returned value is
 * then a lower bound that is still >= level).
 */
export function permutationP(
  ranks: ArrayLike<number>,
  z: number,
  statistic: (ranks: Float64Array) => number,
  permutations: number,
  level: number,
  rng: Rng,
): number {
  const shuffled = Float64Array.from(ranks);
  const n = shuffled.length;
  let exceed = 0;
  // A permutation that ties the observed statistic must count despite rounding.
  const bar = z - 1e-9 * Math.max(1, z);
  for (let p = 0; p < permutations; p++) {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      const tmp = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = tmp;
    }
    if (statistic(shuffled) >= bar) {
      exceed++;
      if ((1 + exceed) / (1 + permutations) >= level) return (1 + exceed) / (1 + permutations);
    }
  }
  return (1 + exceed) / (1 + permutations);
}

/** Sum of |x - median| over values[from, to). */
function l1Cost(values: Float64Array, from: number, to: number): number {
  if (to - from <= 1) return 0;
  const part = values.slice(from, to).sort();
  const med = medianOfSorted(part);
  let cost = 0;
  for (let k = 0; k < part.length; k++) cost += Math.abs(part[k] - med);
  return cost;
}

/** The split t in [from + minSegment, to - minSegment] minimising the two-part L1 cost. */
export function refineSplit(values: Float64Array, from: number, to: number, minSegment: number, fallback: number): number {
  let best = fallback;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let t = from + minSegment; t <= to - minSegment; t++) {
    const cost = l1Cost(values, from, t) + l1Cost(values, t, to);
    // Strictly smaller, scanning from the left: ties keep the earliest split.
    if (bestCost === Number.POSITIVE_INFINITY || cost < bestCost - 1e-12 * bestCost) {
      bestCost = cost;
      best = t;
    }
  }
  return best;
}

function toPoint(p: number | HistoryPoint): HistoryPoint {
  return typeof p === 'number' ? { value: p } : p;
}

function medianOfRange(values: Float64Array, from: number, to: number): number {
  return medianOfSorted(values.slice(from, to).sort());
}

export function detectChangePoints(
  history: ReadonlyArray<number | HistoryPoint>,
  options: ChangePointOptions = {},
): ChangePointResult {
  const alpha = options.alpha ?? 0.01;
  const permutations = Math.max(1, Math.floor(options.permutations ?? 999));
  const seed = options.seed ?? 1;
  const minSegment = Math.max(1, Math.floor(options.minSegment ?? 3));
  const warnings: string[] = [];
  const result: ChangePointResult = { changePoints: [], alpha, permutations, seed, warnings };

  const points = history.map(toPoint);
  const kept: number[] = []; // input index of each finite value
  points.forEach((p, i) => {
    if (Number.isFinite(p.value)) kept.push(i);
  });
  if (kept.length < points.length) warnings.push(`${points.length - kept.length} runs had no finite value and were left out`);
  const values = Float64Array.from(kept, (i) => points[i].value);
  const n = values.length;
  if (n < 2 * minSegment) {
    if (n > 0) warnings.push(`need at least ${2 * minSegment} runs of history to look for change points, got ${n}`);
    return result;
  }
  if (1 / (1 + permutations) >= alpha / 2) {
    warnings.push(`${permutations} permutations cannot give a p-value below ${alpha / 2} (alpha / 2 per stage): use at least ${Math.ceil(2 / alpha)}`);
  }

  // Floor of reported changes: minRelativeChange, and the runs' own typical precision.
  const halfWidths: number[] = [];
  for (const i of kept) {
    const { value, lower, upper } = points[i];
    if (lower !== undefined && upper !== undefined && Number.isFinite(lower) && Number.isFinite(upper) && value !== 0) {
      halfWidths.push((upper - lower) / 2 / Math.abs(value));
    }
  }
  const runPrecision = halfWidths.length > 0 ? medianOfSorted(Float64Array.from(halfWidths).sort()) : 0;
  const floor = Math.max(options.minRelativeChange ?? 0, runPrecision);

  const rng = createRng(seed);
  const level = alpha / 2; // two stages per segment (Bonferroni)
  const found: Array<{ at: number; p: number }> = [];
  const stack: Array<[number, number]> = [[0, n]];
  while (stack.length > 0) {
    const [lo, hi] = stack.pop()!;
    if (hi - lo < 2 * minSegment) continue;
    const ranks = midRanks(values.subarray(lo, hi));
    const single = bestSingleSplit(ranks, minSegment);
    if (single.j > 0 && single.z > 0) {
      const p = permutationP(ranks, single.z, (r) => bestSingleSplit(r, minSegment).z, permutations, level, rng);
      if (p < level) {
        const at = refineSplit(values, lo, hi, minSegment, lo + single.j);
        found.push({ at, p });
        stack.push([at, hi], [lo, at]);
        continue;
      }
    }
    if (hi - lo < 3 * minSegment) continue;
    const inner = bestInnerSegment(ranks, minSegment);
    if (inner.j < 0 || !(inner.z > 0)) continue;
    const p = permutationP(ranks, inner.z, (r) => bestInnerSegment(r, minSegment).z, permutations, level, rng);
    if (p < level) {
      const start = refineSplit(values, lo, lo + inner.j, minSegment, lo + inner.i);
      const end = refineSplit(values, start, hi, minSegment, lo + inner.j);
      found.push({ at: start, p }, { at: end, p });
      stack.push([end, hi], [start, end], [lo, start]);
    }
  }
  found.sort((x, y) => x.at - y.at);

  // Levels between neighbouring change points; drop those below the floor and recompute, until stable.
  let current = found;
  const suppressed: string[] = [];
  for (;;) {
    const bounds = [0, ...current.map((c) => c.at), n];
    const levels = bounds.slice(0, -1).map((b, i) => medianOfRange(values, b, bounds[i + 1]));
    const small = current.findIndex((c, i) => {
      const before = levels[i];
      const after = levels[i + 1];
      return !(Math.abs(after - before) > floor * Math.abs(before));
    });
    if (small < 0) {
      result.changePoints = current.map((c, i) => {
        const before = levels[i];
        const after = levels[i + 1];
        const index = kept[c.at];
        const cp: ChangePoint = { index, before, after, changePct: (after / before - 1) * 100, direction: after > before ? 'up' : 'down', p: c.p };
        const runId = points[index].runId;
        if (runId !== undefined) cp.runId = runId;
        return cp;
      });
      break;
    }
    const c = current[small];
    suppressed.push(`${fmtPct((levels[small + 1] / levels[small] - 1) * 100)} at run ${kept[c.at]}`);
    current = current.filter((_, i) => i !== small);
  }
  if (suppressed.length > 0) {
    const why =
      runPrecision >= (options.minRelativeChange ?? 0) && runPrecision > 0
        ? `smaller than the runs' own confidence intervals (typically +-${fmt(runPrecision * 100, 3)}%)`
        : `smaller than the ${fmt(floor * 100, 3)}% floor`;
    warnings.push(`${suppressed.length} statistically significant change${suppressed.length > 1 ? 's' : ''} left out as ${why}: ${suppressed.join(', ')}`);
  }
  return result;
}
