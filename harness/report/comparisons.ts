/**
 * Comparisons a report shows: the variants of one run against each other along each matrix axis
 * (reference vs esp-nn for the same model and arena, float vs int8 for the same firmware, internal
 * vs PSRAM arena, arena size, CPU clock), and each variant against the same variant of a baseline
 * run. Each is computed within boards and pooled (harness/stats/boards.ts: van Elteren's
 * stratified test, geometric mean of per-board median ratios), so board-to-board spread never
 * passes for a variant effect; fingerprints that differ outside the compared axis refuse the
 * comparison with their reason. p-values are Holm-corrected over the whole report by the caller.
 */
import { wilsonInterval } from '../stats/accuracy.js';
import { compareAcrossBoards, type BoardPair } from '../stats/boards.js';
import type { Fingerprint } from '../stats/fingerprint.js';
import { REPORT_SEED } from './latency.js';
import type { Comparison, ComparisonAxis } from './results-types.js';

/** What a comparison needs of a variant: its matrix coordinates and, per board, its sorted samples. */
export interface VariantSamples {
  id: string;
  firmware: string;
  model: string;
  arenaSize: number | 'auto';
  arenaPlacement: string;
  cpuMHz: number;
  median: number;
  boards: ReadonlyMap<string, { sorted: Float64Array; fingerprint?: Fingerprint }>;
  /** Top-1 predictions of the accuracy pass (first passed trial), for the model axis. */
  predictions?: number[];
}

interface AxisRule {
  axis: Exclude<ComparisonAxis, 'run'>;
  key: (v: VariantSamples) => string;
  /** Fingerprint fields this axis is allowed to change (issue 4's fingerprint, harness/stats/fingerprint.ts). */
  fields: readonly string[];
}

/** A firmware variant is a different image: its hashes, kernel backend and component versions may differ. */
const FIRMWARE_FIELDS = ['firmwareSha256', 'sdkconfigSha256', 'kernelBackend', 'espNnVersion', 'idfVersion', 'tflmVersion'] as const;

export const AXIS_RULES: readonly AxisRule[] = [
  { axis: 'firmware', key: (v) => v.firmware, fields: FIRMWARE_FIELDS },
  // Two model entries may name one file, uploaded and in the flash partition: where it lives is the model's.
  { axis: 'model', key: (v) => v.model, fields: ['modelSha256', 'modelStorage'] },
  { axis: 'arena-placement', key: (v) => v.arenaPlacement, fields: ['arenaPlacement'] },
  { axis: 'arena-size', key: (v) => String(v.arenaSize), fields: ['arenaBytes'] },
  // The clock is set in sdkconfig (FACTS.md: IDF defaults to 160 MHz, benchmarks set 240): a new image.
  { axis: 'cpu', key: (v) => String(v.cpuMHz), fields: ['cpuMhz', 'firmwareSha256', 'sdkconfigSha256'] },
];

/**
 * Between two runs of the same variant, the code under test may change (new firmware build, new
 * component versions, a retrained model); the clock, memory settings, chip and simulation may not.
 */
export const RUN_AXIS_FIELDS: readonly string[] = [...FIRMWARE_FIELDS, 'modelSha256'];

export interface CompareOptions {
  alpha: number;
}

function contextOf(v: VariantSamples, except: Exclude<ComparisonAxis, 'run'>): string {
  const parts: string[] = [];
  if (except !== 'firmware') parts.push(v.firmware);
  if (except !== 'model') parts.push(v.model);
  if (except !== 'arena-placement' && except !== 'arena-size') parts.push(`${v.arenaSize}-${v.arenaPlacement}`);
  else if (except === 'arena-placement') parts.push(`${v.arenaSize} B arena`);
  else parts.push(`${v.arenaPlacement} arena`);
  if (except !== 'cpu') parts.push(`${v.cpuMHz} MHz`);
  return parts.join(', ');
}

/** Compares a candidate's samples with a baseline's, board by board and pooled. */
export function compareVariantSamples(
  base: VariantSamples,
  cand: VariantSamples,
  axis: ComparisonAxis,
  fields: readonly string[],
  label: string,
  context: string,
  options: CompareOptions,
): Comparison {
  const boards = [...base.boards.keys()].filter((b) => cand.boards.has(b) && base.boards.get(b)!.sorted.length > 0 && cand.boards.get(b)!.sorted.length > 0);
  const out: Comparison = {
    axis, label, context, baseline: base.id, candidate: cand.id, comparable: false,
    baselineMedian: base.median, candidateMedian: cand.median,
    ratio: NaN, lower: NaN, upper: NaN, confidence: 0.95, changePct: NaN, p: NaN, pHolm: NaN, significant: false,
    alpha: options.alpha, boards: [], warnings: [],
  };
  if (boards.length === 0) {
    out.refusedReason = 'no board measured both: nothing to compare within a board (check that both ran on the same boards)';
    return out;
  }
  const pairs: BoardPair[] = boards.map((b) => {
    const x = base.boards.get(b)!;
    const y = cand.boards.get(b)!;
    const pair: BoardPair = { board: b, baseline: x.sorted, candidate: y.sorted };
    if (x.fingerprint && y.fingerprint) {
      pair.baselineFingerprint = x.fingerprint;
      pair.candidateFingerprint = y.fingerprint;
    }
    return pair;
  });
  const r = compareAcrossBoards(pairs, { alpha: options.alpha, variantAxes: fields, skipShift: true, bootstrap: { seed: REPORT_SEED } });
  out.boards = r.boards.map((b) => (b.comparison.comparable
    ? {
      board: b.board, comparable: true, changePct: b.comparison.changePct,
      lowerPct: (b.comparison.ratio.lower - 1) * 100, upperPct: (b.comparison.ratio.upper - 1) * 100, p: b.comparison.p, pHolm: b.pHolm,
    }
    : { board: b.board, comparable: false, reason: b.comparison.reason, changePct: NaN, lowerPct: NaN, upperPct: NaN, p: NaN, pHolm: NaN }));
  const refused = out.boards.filter((b) => !b.comparable);
  if (refused.length === out.boards.length) {
    out.refusedReason = `${refused[0].board}: ${refused[0].reason}`;
    return out;
  }
  out.comparable = true;
  out.ratio = r.pooled.ratio;
  out.lower = r.pooled.lower;
  out.upper = r.pooled.upper;
  out.confidence = r.pooled.confidence;
  out.changePct = r.pooled.changePct;
  out.p = r.pooled.p;
  out.warnings = [...new Set(r.warnings)];
  return out;
}

/** Every pair of variants that differ in exactly one matrix axis, the earlier-declared one as baseline. */
export function axisComparisons(variants: readonly VariantSamples[], options: CompareOptions): Comparison[] {
  const out: Comparison[] = [];
  for (let i = 0; i < variants.length; i++) {
    for (let j = i + 1; j < variants.length; j++) {
      const a = variants[i];
      const b = variants[j];
      const differing = AXIS_RULES.filter((rule) => rule.key(a) !== rule.key(b));
      if (differing.length !== 1) continue;
      const rule = differing[0];
      const label = `${rule.key(b)} vs ${rule.key(a)}`;
      const c = compareVariantSamples(a, b, rule.axis, rule.fields, label, contextOf(a, rule.axis), options);
      if (rule.axis === 'model' && a.predictions && b.predictions && a.predictions.length === b.predictions.length && a.predictions.length > 0) {
        let agreeing = 0;
        for (let k = 0; k < a.predictions.length; k++) if (a.predictions[k] === b.predictions[k]) agreeing++;
        const w = wilsonInterval(agreeing, a.predictions.length);
        c.agreement = { agreeing, total: a.predictions.length, estimate: w.estimate, lower: w.lower, upper: w.upper };
      }
      out.push(c);
    }
  }
  // Group the table by axis, in the order of AXIS_RULES.
  const rank = new Map(AXIS_RULES.map((r, k) => [r.axis, k]));
  return out.sort((x, y) => (rank.get(x.axis as Exclude<ComparisonAxis, 'run'>) ?? 9) - (rank.get(y.axis as Exclude<ComparisonAxis, 'run'>) ?? 9));
}

/** Each variant of this run against the same variant id of the baseline run. */
export function runComparisons(
  baseline: readonly VariantSamples[],
  candidate: readonly VariantSamples[],
  baselineRun: string,
  options: CompareOptions,
): Comparison[] {
  const byId = new Map(baseline.map((v) => [v.id, v]));
  const out: Comparison[] = [];
  for (const cand of candidate) {
    const base = byId.get(cand.id);
    if (!base) continue;
    const c = compareVariantSamples(base, cand, 'run', RUN_AXIS_FIELDS, `this run vs ${baselineRun}`, cand.id, options);
    c.baselineRun = baselineRun;
    out.push(c);
  }
  return out;
}
