/**
 * The scenario's regression gates (harness/config: `gates`), evaluated per variant against the
 * same variant of the baseline run with harness/stats' `evaluateGates` (its one-line explanations
 * and its pass / fail / error rules), plus the one gate that needs no baseline:
 * `outputs.mismatches` (board outputs against the host reference, counted per trial).
 *
 * What is not an error: a variant the baseline does not have (new in the matrix) and a run without
 * a baseline (the first nightly) are 'skipped', with the reason. What is: a variant planned in both
 * that has no measurement now, fingerprints that refuse the comparison, a metric nobody measured.
 * Latency gates compare the boards both runs measured, so a quarantined board cannot pass for a
 * regression through board spread.
 */
import type { Gate as ScenarioGate } from '../config/types.js';
import { checkComparable, type Fingerprint } from '../stats/fingerprint.js';
import { evaluateGates, type Gate as StatsGate, type GateResult, type MetricObservation } from '../stats/gates.js';
import { RUN_AXIS_FIELDS } from './comparisons.js';
import { REPORT_SEED } from './latency.js';
import type { GateVerdict, GatesSummary, RunSamples, VariantResults } from './results-types.js';

/** What a gate reads of one run. */
export interface GateRun {
  runId: string;
  variants: readonly VariantResults[];
  samples: RunSamples | undefined;
  /** First fingerprint per variant and board. */
  fingerprints: ReadonlyMap<string, ReadonlyMap<string, Fingerprint>>;
  /** Variant ids the run's plan holds. */
  planned: ReadonlySet<string>;
}

function toStatsGate(g: ScenarioGate): StatsGate | undefined {
  switch (g.metric) {
    case 'latency.median': case 'latency.mean': case 'latency.p90': case 'latency.p99':
      return 'maxIncreasePct' in g ? { metric: g.metric, maxIncreasePct: g.maxIncreasePct, ...('alpha' in g && g.alpha !== undefined ? { alpha: g.alpha } : {}) } : undefined;
    case 'accuracy.top1': case 'accuracy.top5':
      return 'maxDropPoints' in g ? { metric: g.metric, maxDropPoints: g.maxDropPoints } : undefined;
    case 'arena.used': case 'image.size':
      return 'maxIncreasePct' in g ? { metric: g.metric, maxIncreasePct: g.maxIncreasePct } : undefined;
    default:
      return undefined;
  }
}

/** Observations of one variant; latency only from `boards`. */
function metricsOf(v: VariantResults, samples: RunSamples | undefined, boards: readonly string[]): Record<string, MetricObservation> {
  const m: Record<string, MetricObservation> = {};
  const byBoard = samples?.get(v.id);
  if (byBoard) {
    const parts = boards.map((b) => byBoard.get(b)).filter((x): x is Float64Array => x !== undefined && x.length > 0);
    if (parts.length > 0) {
      let n = 0;
      for (const p of parts) n += p.length;
      const all = new Float64Array(n);
      let i = 0;
      for (const p of parts) { all.set(p, i); i += p.length; }
      m.latency = { samples: all, unit: 'us' };
    }
  }
  if (v.accuracy) {
    m['accuracy.top1'] = { correct: v.accuracy.top1.correct, total: v.accuracy.top1.total };
    m['accuracy.top5'] = { correct: v.accuracy.top5.correct, total: v.accuracy.top5.total };
  }
  if (v.memory) {
    m['arena.used'] = { value: v.memory.arenaUsedBytes, unit: 'B' };
    if (v.memory.imageBytes !== undefined) m['image.size'] = { value: v.memory.imageBytes, unit: 'B' };
  }
  return m;
}

function verdict(gate: ScenarioGate, variant: string, status: GateVerdict['status'], explanation: string, warnings: string[] = []): GateVerdict {
  return { gate, metric: gate.metric, variant, status, explanation, warnings };
}

function fromResult(gate: ScenarioGate, variant: string, r: GateResult): GateVerdict {
  const v = verdict(gate, variant, r.status, r.explanation, r.warnings);
  if (Number.isFinite(r.baseline)) v.baseline = r.baseline;
  if (Number.isFinite(r.candidate)) v.candidate = r.candidate;
  if (r.changePct !== undefined) v.changePct = r.changePct;
  if (r.changePoints !== undefined) v.changePoints = r.changePoints;
  if (r.p !== undefined) v.p = r.p;
  if (r.interval) v.interval = r.interval;
  return v;
}

type BitExactSize = NonNullable<VariantResults['bitExact']>['worst'];

/** ", up to N quantized steps" / ", up to X% relative": the size of a difference, in the unit of its outputs. */
export function differenceSize(worst: BitExactSize): string {
  if (worst.differingTensors === 0) return '';
  // Journals before the split carry only maxDifference (steps for integer outputs).
  const steps = worst.maxStepDifference ?? (worst.maxRelativeDifference === undefined ? worst.maxDifference : 0);
  const parts: string[] = [];
  if (steps > 0) parts.push(`${steps} quantized step${steps === 1 ? '' : 's'}`);
  if ((worst.maxRelativeDifference ?? 0) > 0) parts.push(`${Number(((worst.maxRelativeDifference ?? 0) * 100).toPrecision(3))}% relative`);
  return parts.length > 0 ? `, up to ${parts.join(' and ')}` : '';
}

/** Float outputs that matched only within the float tolerance say so (they are not identical). */
function toleratedNote(v: VariantResults): string {
  const worst = v.bitExact?.worst;
  if (!worst?.toleratedElements) return '';
  return ` (float outputs within tolerance, not identical: up to ${Number(((worst.maxRelativeDifference ?? 0) * 100).toPrecision(3))}% relative)`;
}

/** `outputs.mismatches`: the worst trial's count of output tensors that differ from the host reference. */
function mismatchGate(gate: ScenarioGate & { metric: 'outputs.mismatches'; max: number }, v: VariantResults): GateVerdict {
  const worst = v.bitExact?.worst;
  if (!worst) return verdict(gate, v.id, 'error', `${gate.metric}: no accuracy pass compared this variant's outputs with the host reference (give the scenario inputs.accuracy)`);
  const fail = worst.differingTensors > gate.max;
  const explanation = `${gate.metric} ${worst.differingTensors} of ${worst.tensors} output tensors differ from the host reference in the worst trial (${v.bitExact!.trialsNotExact} of ${v.bitExact!.trials} trials not bit-exact${differenceSize(worst)}), limit ${gate.max}: ${fail ? 'FAIL' : 'pass'}${toleratedNote(v)}`;
  const out = verdict(gate, v.id, fail ? 'fail' : 'pass', explanation);
  out.candidate = worst.differingTensors;
  return out;
}

/**
 * Every gate for every variant in its scope. Without a baseline, gates that need one are skipped
 * with `noBaselineReason`, or are errors when `baselineBroken` (a baseline is set but unusable).
 */
export function evaluateRunGates(
  gates: readonly ScenarioGate[],
  candidate: GateRun,
  baseline: GateRun | undefined,
  noBaselineReason: string,
  baselineBroken = false,
): GatesSummary {
  const results: GateVerdict[] = [];
  const byId = new Map(candidate.variants.map((v) => [v.id, v]));
  const baseById = new Map((baseline?.variants ?? []).map((v) => [v.id, v]));
  let skippedForBaseline = false;
  for (const gate of gates) {
    const scope = gate.variants ?? candidate.variants.map((v) => v.id);
    for (const id of scope) {
      const v = byId.get(id);
      if (!v) {
        results.push(verdict(gate, id, candidate.planned.has(id) ? 'error' : 'skipped', candidate.planned.has(id)
          ? `${gate.metric}: variant ${id} has no results in this run`
          : `${gate.metric}: variant ${id} is not in this run's matrix`));
        continue;
      }
      if (gate.metric === 'outputs.mismatches') {
        results.push(mismatchGate(gate, v));
        continue;
      }
      if (v.trials.passed === 0) {
        results.push(verdict(gate, id, 'error', `${gate.metric}: no trial of ${id} passed in this run, so nothing can be compared`));
        continue;
      }
      if (!baseline) {
        skippedForBaseline = !baselineBroken;
        results.push(verdict(gate, id, baselineBroken ? 'error' : 'skipped', `${gate.metric}: ${noBaselineReason}`));
        continue;
      }
      const b = baseById.get(id);
      if (!b || b.trials.passed === 0) {
        results.push(verdict(gate, id, 'skipped', `${gate.metric}: the baseline run ${baseline.runId} has no ${b ? 'passed trial' : 'results'} for this variant (new in the matrix?)`));
        continue;
      }
      const statsGate = toStatsGate(gate);
      if (!statsGate) {
        results.push(verdict(gate, id, 'error', `${gate.metric}: the gate's limit field does not fit its metric (fix the scenario's gates)`));
        continue;
      }
      const candBoards = [...(candidate.samples?.get(id)?.keys() ?? [])];
      const baseBoards = new Set(baseline.samples?.get(id)?.keys() ?? []);
      const warnings: string[] = [];
      // Boards whose fingerprints refuse the comparison (e.g. one left at 160 MHz) are left out
      // with a warning; when every board refuses, the gate is an error with the reason.
      let fingerprints: { baseline: Fingerprint; candidate: Fingerprint; variantAxes: readonly string[] } | undefined;
      const common: string[] = [];
      for (const board of candBoards.filter((x) => baseBoards.has(x))) {
        const fb = baseline.fingerprints.get(id)?.get(board);
        const fc = candidate.fingerprints.get(id)?.get(board);
        if (fb && fc) {
          const check = checkComparable(fb, fc, RUN_AXIS_FIELDS);
          if (!check.comparable) {
            warnings.push(`left ${board} out: ${check.reason}`);
            fingerprints ??= { baseline: fb, candidate: fc, variantAxes: RUN_AXIS_FIELDS };
            continue;
          }
        }
        common.push(board);
      }
      const refusedAll = fingerprints !== undefined && common.length === 0;
      let boards = common;
      if (common.length === 0 && !refusedAll) {
        boards = candBoards;
        if (gate.metric.startsWith('latency.') && candBoards.length > 0 && baseBoards.size > 0) {
          warnings.push(`no board measured ${id} in both runs: compared all boards, so board-to-board spread is part of the change`);
        }
      } else if (!refusedAll && (common.length < candBoards.length || common.length < baseBoards.size)) {
        warnings.push(`compared the ${common.length} boards that measured ${id} comparably in both runs (${common.join(', ')})`);
      }
      const baseMetrics = metricsOf(b, baseline.samples, common.length > 0 ? common : [...baseBoards]);
      const candMetrics = metricsOf(v, candidate.samples, boards);
      if (gate.metric.startsWith('latency.') && !baseline.samples) {
        results.push(verdict(gate, id, 'error', `${gate.metric}: the baseline run ${baseline.runId}'s samples are not available (rebuild it from its journal, reports/${baseline.runId}/events.jsonl)`));
        continue;
      }
      if (!refusedAll) fingerprints = undefined;
      const outcome = evaluateGates([statsGate], baseMetrics, candMetrics, { bootstrap: { seed: REPORT_SEED }, ...(fingerprints ? { fingerprints } : {}) });
      const r = fromResult(gate, id, outcome.results[0]);
      r.warnings = [...new Set([...warnings, ...r.warnings])];
      results.push(r);
    }
  }
  const count = (s: GateVerdict['status']): number => results.filter((r) => r.status === s).length;
  return {
    ...(baseline ? { baselineRun: baseline.runId } : {}),
    ...(skippedForBaseline ? { note: noBaselineReason } : {}),
    results,
    passed: count('pass'),
    failed: count('fail'),
    errors: count('error'),
    skipped: count('skipped'),
  };
}
