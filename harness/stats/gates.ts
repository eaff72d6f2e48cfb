/**
 * Regression gates of a scenario, evaluated on a candidate run against a baseline run:
 * pass / fail with a one-line explanation each, and the CI exit code.
 *
 * - `{ metric: 'latency.median', maxIncreasePct: 3, alpha: 0.01 }` on samples fails only when the
 *   increase is BOTH larger than the limit AND significant (two-sided Mann-Whitney p < alpha,
 *   default 0.01): a nightly job must not cry wolf over noise, nor wave through a clear +5%.
 *   The increase is the ratio of the named statistic (median, mean, p90, p99, min, max) of the
 *   candidate's samples over the baseline's, with a bootstrap interval for quantiles.
 * - `{ metric: 'accuracy.top1', maxDropPoints: 0.5 }` on correct/total counts fails when the
 *   accuracy drops by more than 0.5 percentage points. The input set is fixed and the model
 *   deterministic, so this is a plain comparison (the Wilson intervals are reported, not tested).
 * - `{ metric: 'arena.used', maxIncreasePct: 5 }` on a single value fails when it grows by more
 *   than 5%; one number has no noise to test.
 * - `maxDecreasePct` is the mirror of maxIncreasePct, for metrics where lower is worse.
 * A gate that cannot be evaluated (metric missing, wrong kind of observation, a malformed gate,
 * trials that are not comparable) is an 'error', which is a lab or config problem (exit code 2),
 * never a silent pass.
 */
import { ExitCode } from '../errors.js';
import { wilsonInterval } from './accuracy.js';
import { bootstrapRatioSorted, type BootstrapOptions } from './bootstrap.js';
import { checkComparable, type Fingerprint } from './fingerprint.js';
import { mannWhitneySorted } from './mann-whitney.js';
import { fmt, fmtPct, quantileOfSorted, sortFinite, type Samples } from './samples.js';

export type Gate =
  | { metric: string; maxIncreasePct: number; alpha?: number }
  | { metric: string; maxDecreasePct: number; alpha?: number }
  | { metric: string; maxDropPoints: number };

export type MetricObservation =
  | { samples: Samples; unit?: string }
  | { correct: number; total: number }
  | { value: number; unit?: string };

/** Observations of one run by metric name, e.g. { latency: { samples }, 'accuracy.top1': { correct, total } }. */
export type MetricSet = Readonly<Record<string, MetricObservation>>;

export type GateStatus = 'pass' | 'fail' | 'error';

export interface GateResult {
  gate: Gate;
  metric: string;
  status: GateStatus;
  /** One line for the console, JUnit and Markdown. */
  explanation: string;
  /** The compared values (statistic of the samples, proportion, or value); NaN when unavailable. */
  baseline: number;
  candidate: number;
  /** (candidate / baseline - 1) * 100, for percent gates. */
  changePct?: number;
  /** (candidate - baseline) * 100 for proportions, candidate - baseline otherwise, for point gates. */
  changePoints?: number;
  /** Mann-Whitney two-sided p-value, for gates on samples. */
  p?: number;
  /** Interval of the change in percent (bootstrap, quantile statistics) or of the two proportions. */
  interval?: { lower: number; upper: number; confidence: number };
  warnings: string[];
}

export interface GatesOutcome {
  results: GateResult[];
  passed: number;
  failed: number;
  errors: number;
  /** 0 all gates pass, 1 a regression gate failed, 2 a gate could not be evaluated (errors.ts). */
  exitCode: number;
}

export interface GateOptions {
  /** Bootstrap settings of the ratio interval (resamples, confidence, seed). */
  bootstrap?: BootstrapOptions;
  /** When given, gates are evaluated only if the runs' fingerprints are comparable. */
  fingerprints?: { baseline: Fingerprint; candidate: Fingerprint; variantAxes: readonly string[] };
}

/**
 * Exactly-at-the-limit changes pass: (0.905 - 0.910) * 100 is -0.5000000000000004 in floating
 * point, which must not fail a 0.5-point gate.
 */
const EPS = 1e-9;

const STATISTICS: Readonly<Record<string, number | 'mean'>> = { median: 0.5, p50: 0.5, p90: 0.9, p99: 0.99, min: 0, max: 1, mean: 'mean' };

interface Located {
  baseline: MetricObservation;
  candidate: MetricObservation;
  /** For samples: which statistic ('median' when the metric names the samples directly). */
  statistic: string;
}

function locate(metric: string, baseline: MetricSet, candidate: MetricSet): Located | string {
  const direct = (set: MetricSet): MetricObservation | undefined => (Object.hasOwn(set, metric) ? set[metric] : undefined);
  const dot = metric.lastIndexOf('.');
  const base = dot > 0 ? metric.slice(0, dot) : '';
  const stat = dot > 0 ? metric.slice(dot + 1) : '';
  const viaStatistic = (set: MetricSet): MetricObservation | undefined =>
    base && stat in STATISTICS && Object.hasOwn(set, base) && 'samples' in set[base] ? set[base] : undefined;
  const b = direct(baseline) ?? viaStatistic(baseline);
  const c = direct(candidate) ?? viaStatistic(candidate);
  if (!b || !c) {
    const where = !b && !c ? 'either run' : !b ? 'the baseline run' : 'the candidate run';
    return `metric ${metric} was not measured in ${where}`;
  }
  const statistic = stat in STATISTICS ? stat : 'median';
  return { baseline: b, candidate: c, statistic };
}

function statOf(sorted: Float64Array, statistic: string): number {
  const q = STATISTICS[statistic] ?? 0.5;
  if (q === 'mean') {
    let s = 0;
    for (let i = 0; i < sorted.length; i++) s += sorted[i];
    return sorted.length > 0 ? s / sorted.length : Number.NaN;
  }
  return quantileOfSorted(sorted, q);
}

function withUnit(x: number, unit: string | undefined): string {
  return unit ? `${fmt(x)} ${unit}` : fmt(x);
}

function fmtP(p: number): string {
  return p < 0.0001 ? 'p < 0.0001' : `p = ${fmt(p, 2)}`;
}

function errorResult(gate: Gate, explanation: string, warnings: string[] = []): GateResult {
  return { gate, metric: gate.metric, status: 'error', explanation: `${gate.metric}: ${explanation}`, baseline: NaN, candidate: NaN, warnings };
}

function percentGate(gate: Gate, limitPct: number, direction: 1 | -1, alpha: number, loc: Located, options: GateOptions): GateResult {
  const { baseline: bo, candidate: co } = loc;
  const limitText = `limit ${direction > 0 ? '+' : '-'}${fmt(limitPct)}%`;
  if ('samples' in bo && 'samples' in co) {
    const a = sortFinite(bo.samples);
    const b = sortFinite(co.samples);
    const warnings: string[] = [];
    const baseValue = statOf(a.sorted, loc.statistic);
    const candValue = statOf(b.sorted, loc.statistic);
    if (a.sorted.length === 0 || b.sorted.length === 0) return errorResult(gate, `no samples in the ${a.sorted.length === 0 ? 'baseline' : 'candidate'} run`);
    if (!(baseValue > 0)) return errorResult(gate, `the baseline ${loc.statistic} is ${fmt(baseValue)}: a percent change needs a positive baseline`);
    const changePct = (candValue / baseValue - 1) * 100;
    const test = mannWhitneySorted(a.sorted, b.sorted, { alpha });
    warnings.push(...test.warnings);
    let interval: GateResult['interval'];
    let ciText = '';
    const q = STATISTICS[loc.statistic];
    if (typeof q === 'number') {
      const ci = bootstrapRatioSorted(a.sorted, b.sorted, { ...options.bootstrap, quantile: q });
      warnings.push(...ci.warnings);
      if (Number.isFinite(ci.lower)) {
        interval = { lower: (ci.lower - 1) * 100, upper: (ci.upper - 1) * 100, confidence: ci.confidence };
        ciText = `, ${fmt(ci.confidence * 100)}% CI ${fmtPct(interval.lower)} to ${fmtPct(interval.upper)}`;
      }
    }
    const beyond = direction * changePct > limitPct + EPS;
    const significant = test.p < alpha;
    const status: GateStatus = beyond && significant ? 'fail' : 'pass';
    const why = beyond
      ? significant
        ? 'beyond the limit and significant'
        : 'beyond the limit but not significant'
      : 'within the limit';
    const unit = 'unit' in bo ? bo.unit : undefined;
    const explanation =
      `${gate.metric} ${fmtPct(changePct)} (${withUnit(baseValue, unit)} -> ${withUnit(candValue, unit)}${ciText}; ` +
      `${fmtP(test.p)}, alpha ${alpha}), ${limitText}: ${status === 'fail' ? 'FAIL' : 'pass'}, ${why}`;
    return { gate, metric: gate.metric, status, explanation, baseline: baseValue, candidate: candValue, changePct, p: test.p, ...(interval ? { interval } : {}), warnings: [...new Set(warnings)] };
  }
  const valueOf = (o: MetricObservation): number => ('value' in o ? o.value : 'correct' in o ? o.correct / o.total : NaN);
  if ('samples' in bo || 'samples' in co) return errorResult(gate, 'one run has samples and the other a single value: measure both the same way');
  const baseValue = valueOf(bo);
  const candValue = valueOf(co);
  if (!Number.isFinite(baseValue) || !Number.isFinite(candValue)) return errorResult(gate, `values ${baseValue} and ${candValue} are not numbers`);
  if (!(baseValue > 0)) return errorResult(gate, `the baseline is ${fmt(baseValue)}: a percent change needs a positive baseline`);
  const changePct = (candValue / baseValue - 1) * 100;
  const status: GateStatus = direction * changePct > limitPct + EPS ? 'fail' : 'pass';
  const unit = 'unit' in bo ? bo.unit : undefined;
  const explanation = `${gate.metric} ${fmtPct(changePct)} (${withUnit(baseValue, unit)} -> ${withUnit(candValue, unit)}), ${limitText}: ${status === 'fail' ? 'FAIL' : 'pass'}`;
  return { gate, metric: gate.metric, status, explanation, baseline: baseValue, candidate: candValue, changePct, warnings: [] };
}

function dropGate(gate: Gate, limitPoints: number, loc: Located): GateResult {
  const { baseline: bo, candidate: co } = loc;
  const limitText = `limit -${fmt(limitPoints)} points`;
  if ('correct' in bo && 'correct' in co) {
    const wb = wilsonInterval(bo.correct, bo.total);
    const wc = wilsonInterval(co.correct, co.total);
    const warnings = [...new Set([...wb.warnings, ...wc.warnings])];
    if (!Number.isFinite(wb.estimate) || !Number.isFinite(wc.estimate)) return errorResult(gate, `cannot compare ${bo.correct}/${bo.total} with ${co.correct}/${co.total}`, warnings);
    const changePoints = (wc.estimate - wb.estimate) * 100;
    const status: GateStatus = -changePoints > limitPoints + EPS ? 'fail' : 'pass';
    const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
    const explanation =
      `${gate.metric} ${pct(wb.estimate)} -> ${pct(wc.estimate)} (${changePoints >= 0 ? '+' : ''}${changePoints.toFixed(2)} points; ` +
      `${bo.correct}/${bo.total} -> ${co.correct}/${co.total}), ${limitText}: ${status === 'fail' ? 'FAIL' : 'pass'}`;
    return {
      gate,
      metric: gate.metric,
      status,
      explanation,
      baseline: wb.estimate,
      candidate: wc.estimate,
      changePoints,
      interval: { lower: wc.lower * 100, upper: wc.upper * 100, confidence: wc.confidence },
      warnings,
    };
  }
  if ('value' in bo && 'value' in co) {
    const changePoints = co.value - bo.value;
    const status: GateStatus = -changePoints > limitPoints + EPS ? 'fail' : 'pass';
    const explanation = `${gate.metric} ${withUnit(bo.value, bo.unit)} -> ${withUnit(co.value, co.unit)} (${changePoints >= 0 ? '+' : ''}${fmt(changePoints)} points), ${limitText}: ${status === 'fail' ? 'FAIL' : 'pass'}`;
    return { gate, metric: gate.metric, status, explanation, baseline: bo.value, candidate: co.value, changePoints, warnings: [] };
  }
  return errorResult(gate, 'a points gate needs correct/total counts or single values in both runs');
}

export function evaluateGate(gate: Gate, baseline: MetricSet, candidate: MetricSet, options: GateOptions = {}): GateResult {
  const loc = locate(gate.metric, baseline, candidate);
  if (typeof loc === 'string') return errorResult(gate, loc);
  const alpha = 'alpha' in gate && gate.alpha !== undefined ? gate.alpha : 0.01;
  if (!(alpha > 0 && alpha < 1)) return errorResult(gate, `alpha ${alpha} must be between 0 and 1 (e.g. 0.01)`);
  if ('maxIncreasePct' in gate || 'maxDecreasePct' in gate) {
    const increase = 'maxIncreasePct' in gate;
    const limit = increase ? gate.maxIncreasePct : gate.maxDecreasePct;
    if (!(limit >= 0)) return errorResult(gate, `the limit ${limit} must be a percentage >= 0`);
    return percentGate(gate, limit, increase ? 1 : -1, alpha, loc, options);
  }
  if ('maxDropPoints' in gate) {
    if (!(gate.maxDropPoints >= 0)) return errorResult(gate, `the limit ${gate.maxDropPoints} must be a number of points >= 0`);
    return dropGate(gate, gate.maxDropPoints, loc);
  }
  return errorResult(gate, 'a gate needs maxIncreasePct, maxDecreasePct or maxDropPoints');
}

export function exitCodeFor(results: readonly GateResult[]): number {
  if (results.some((r) => r.status === 'error')) return ExitCode.LabError;
  if (results.some((r) => r.status === 'fail')) return ExitCode.Regression;
  return ExitCode.Pass;
}

export function evaluateGates(gates: readonly Gate[], baseline: MetricSet, candidate: MetricSet, options: GateOptions = {}): GatesOutcome {
  let results: GateResult[];
  const fp = options.fingerprints;
  const check = fp ? checkComparable(fp.baseline, fp.candidate, fp.variantAxes) : undefined;
  if (check && !check.comparable) {
    results = gates.map((g) => errorResult(g, check.reason));
  } else {
    results = gates.map((g) => evaluateGate(g, baseline, candidate, options));
  }
  return {
    results,
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').length,
    errors: results.filter((r) => r.status === 'error').length,
    exitCode: exitCodeFor(results),
  };
}
