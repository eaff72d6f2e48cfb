/**
 * `buildRunResults`: a run's event stream (live or replayed from reports/<run-id>/events.jsonl)
 * becomes RunResults, the one model every reporter reads and the store records.
 *
 * Per trial: status, attempts and errors, a latency summary of the measured samples of its last
 * attempt (harness/stats: summary, bootstrap CI of the median, MAD outliers, warm-up detection),
 * fingerprint, memory, accuracy, bit-exactness, per-op profile. Per variant: the same pooled over
 * boards and rounds, with each board kept apart (per-board summaries and the spread), a histogram
 * and a box plot - but never pooled over boards of different provenance (board, emulated,
 * simulated: harness/lab/provenance.ts): such a variant is 'mixed' and read board by board. Then
 * the comparisons (comparisons.ts) Holm-corrected together, the gates against a baseline run
 * (gates.ts), the trend from the history store with change points, and the exit code: 0 all gates
 * pass, 1 a regression gate failed, 2 a lab or config error - including a run that failed, did not
 * complete, or in which some variant has no passed trial.
 *
 * Speed: every sample is copied into a Float64Array once and sorted per trial, per board and per
 * variant (native typed-array sorts); bootstrap intervals use harness/stats' O(1)-per-resample
 * quantile path. 1,000,000 samples in 50 trials take well under a second here (bench/report.ts).
 */
import type { Gate as ScenarioGate } from '../config/types.js';
import { ExitCode, LabError } from '../errors.js';
import type { LabEvent, MemoryReport } from '../lab/events.js';
import {
  describeProvenances, groupProvenance, leastTrusted, provenanceSet, recordedProvenances, type GroupProvenance, type Provenance,
} from '../lab/provenance.js';
import { confusionMatrix, wilsonInterval } from '../stats/accuracy.js';
import { detectChangePoints, type HistoryPoint } from '../stats/changepoint.js';
import type { Fingerprint } from '../stats/fingerprint.js';
import { summarizeMemory } from '../stats/memory.js';
import { holm } from '../stats/multiple-comparisons.js';
import { detectOutliers } from '../stats/outliers.js';
import { fmtPct, medianOfSorted } from '../stats/samples.js';
import { detectWarmup } from '../stats/warmup.js';
import { collectRun, concatBatches, decisiveAttempt, type AttemptRecord, type CollectedRun, type TrialRecord } from './collect.js';
import { axisComparisons, runComparisons, type VariantSamples } from './comparisons.js';
import { evaluateRunGates, type GateRun } from './gates.js';
import { boxPlotOf, histogramOf, latencySummary, mergeSorted } from './latency.js';
import {
  RESULTS_VERSION, type BoardResults, type Comparison, type MemoryResults, type OpShare, type ExitCause, type ProportionResult,
  type RunResults, type RunSamples, type TrialResults, type TrialStatus, type Trend, type TrendPoint, type VariantResults,
} from './results-types.js';

/** One earlier run's value of a metric for one variant, as the history store returns it. */
export interface MetricHistoryPoint {
  runId: string;
  startedAt: string;
  variant: string;
  value: number;
  lower?: number;
  upper?: number;
  /** The variant's provenance in that run; a trend only joins points of the variant's own. */
  provenance?: GroupProvenance;
}

export interface MetricHistory {
  /** e.g. 'latency.median' (see metricValue). */
  metric: string;
  /** Earlier runs, oldest first. */
  points: MetricHistoryPoint[];
}

export interface BuildOptions {
  /** The scenario's gates (Scenario.gates). */
  gates?: readonly ScenarioGate[];
  /** The baseline run, built by buildRunResults from its journal (its in-memory samples are used). */
  baseline?: RunResults;
  /** Why there is no baseline (shown where gates were skipped). */
  noBaselineReason?: string;
  /** The baseline exists but cannot be used (its journal is gone): gates that need it are errors. */
  baselineError?: string;
  /** Earlier runs of the scenario from the history store, for the trend and its change points. */
  history?: MetricHistory;
  /** Significance level of the comparison tables (after Holm); default 0.05. Gates carry their own. */
  alpha?: number;
}

/** The value a history metric takes for a variant: the number the store records and the trend plots. */
export function metricValue(v: VariantResults, metric: string): { value: number; lower?: number; upper?: number; unit: string } | undefined {
  switch (metric) {
    case 'latency.median':
      return v.latency ? { value: v.latency.median, lower: v.latency.medianCI.lower, upper: v.latency.medianCI.upper, unit: 'us' } : undefined;
    case 'latency.mean': return v.latency ? { value: v.latency.mean, unit: 'us' } : undefined;
    case 'latency.p90': return v.latency ? { value: v.latency.p90, unit: 'us' } : undefined;
    case 'latency.p99': return v.latency ? { value: v.latency.p99, unit: 'us' } : undefined;
    case 'accuracy.top1':
      return v.accuracy ? { value: v.accuracy.top1.estimate, lower: v.accuracy.top1.lower, upper: v.accuracy.top1.upper, unit: 'fraction' } : undefined;
    case 'arena.used': return v.memory ? { value: v.memory.arenaUsedBytes, unit: 'B' } : undefined;
    case 'image.size': return v.memory?.imageBytes !== undefined ? { value: v.memory.imageBytes, unit: 'B' } : undefined;
    default: return undefined;
  }
}

export const HISTORY_METRICS = ['latency.median', 'latency.mean', 'latency.p90', 'latency.p99', 'accuracy.top1', 'arena.used', 'image.size'] as const;

const iso = (ts: number): string => new Date(ts).toISOString();

function proportion(correct: number, total: number): ProportionResult {
  const w = wilsonInterval(correct, total);
  return { correct, total, estimate: w.estimate, lower: w.lower, upper: w.upper, confidence: w.confidence };
}

function memoryResults(m: MemoryReport): MemoryResults {
  const s = summarizeMemory({
    arena: { usedBytes: m.arenaUsedBytes, configuredBytes: m.arenaBytes, placement: m.arenaPlacement },
    heap: { internal: m.internal, ...(m.psram ? { psram: m.psram } : {}) },
    ...(m.imageBytes !== undefined ? { image: { appBytes: m.imageBytes } } : {}),
  });
  return {
    arenaBytes: m.arenaBytes,
    arenaUsedBytes: m.arenaUsedBytes,
    headroomBytes: s.arena.headroomBytes,
    usedPct: s.arena.usedPct,
    placement: m.arenaPlacement,
    internal: { ...m.internal, fragmentation: s.heap.internal?.fragmentation ?? NaN },
    ...(m.psram ? { psram: { ...m.psram, fragmentation: s.heap.psram?.fragmentation ?? NaN } } : {}),
    ...(m.imageBytes !== undefined ? { imageBytes: m.imageBytes } : {}),
    ...(m.build ? { build: m.build } : {}),
    warnings: s.warnings,
  };
}

interface TrialWork {
  record: TrialRecord;
  result: TrialResults;
  sorted?: Float64Array;
  attempt?: AttemptRecord;
  /** The provenance came from the trial's own events (not from what is known of its board or run). */
  measured: boolean;
}

/** Where a trial without events of its own would have got its numbers (`fallback`: its board's class). */
function trialResults(record: TrialRecord, fallback: Provenance): TrialWork {
  const attempt = decisiveAttempt(record);
  const status: TrialStatus = !attempt ? 'not-run' : attempt.finished ? attempt.finished.status : 'incomplete';
  const errors = record.attempts.flatMap((a) => (a.finished?.error ? [{ ...a.finished.error, attempt: a.attempt }] : []));
  const warnings: string[] = [];
  const result: TrialResults = {
    id: record.id, variant: record.variant, board: record.board, round: record.round, status,
    attempts: new Set(record.attempts.map((a) => a.attempt)).size, errors,
    warmup: { discarded: 0, detected: 0, detectedChangePct: NaN },
    outliers: { count: 0, low: 0, high: 0 },
    simulated: attempt?.simulated ?? false,
    provenance: attempt?.provenance ?? fallback,
    warnings,
  };
  const measured = attempt?.provenance !== undefined;
  if (!attempt) return { record, result, measured };
  if (attempt.finished) {
    result.durationMs = attempt.finished.durationMs;
    result.invokeMs = attempt.finished.invokeMs;
  }
  if (attempt.fingerprint) result.fingerprint = attempt.fingerprint;
  if (attempt.profile) result.profile = attempt.profile;
  if (attempt.memory) result.memory = memoryResults(attempt.memory);
  if (attempt.accuracy) {
    const a = attempt.accuracy;
    let top1 = 0;
    let top5 = 0;
    const n = Math.min(a.labels.length, a.predictions.length);
    for (let i = 0; i < n; i++) {
      if (a.predictions[i] === a.labels[i]) top1++;
      if ((a.topK[i] ?? [a.predictions[i]]).slice(0, 5).includes(a.labels[i])) top5++;
    }
    if (a.labels.length !== a.predictions.length) warnings.push(`accuracy: ${a.labels.length} labels but ${a.predictions.length} predictions: compared the first ${n}`);
    result.accuracy = { top1: proportion(top1, n), top5: proportion(top5, n), outputDigest: a.outputDigest };
    result.bitExact = {
      bitExact: a.bitExact.differingTensors === 0, tensors: a.bitExact.tensors, differingTensors: a.bitExact.differingTensors,
      differingElements: a.bitExact.differingElements, maxDifference: a.bitExact.maxDifference,
      ...(a.bitExact.maxStepDifference !== undefined ? { maxStepDifference: a.bitExact.maxStepDifference } : {}),
      ...(a.bitExact.maxRelativeDifference !== undefined ? { maxRelativeDifference: a.bitExact.maxRelativeDifference } : {}),
      ...(a.bitExact.toleratedElements !== undefined ? { toleratedElements: a.bitExact.toleratedElements } : {}),
    };
  }
  result.warmup.discarded = attempt.warmup.reduce((s, b) => s + b.length, 0);
  if (status !== 'passed') return { record, result, attempt, measured };
  const inOrder = concatBatches(attempt.measure);
  const sorted = Float64Array.from(inOrder).sort();
  let dropped = 0;
  while (sorted.length - dropped > 0 && !Number.isFinite(sorted[sorted.length - 1 - dropped])) dropped++;
  const finite = dropped > 0 ? sorted.subarray(0, sorted.length - dropped) : sorted;
  if (dropped > 0) warnings.push(`${dropped} samples were not finite numbers and were ignored`);
  if (finite.length === 0) {
    warnings.push('the trial passed without a single measured sample');
    return { record, result, attempt, sorted: finite, measured };
  }
  const { summary, warnings: w } = latencySummary(finite);
  result.latency = summary;
  warnings.push(...w);
  const outliers = detectOutliers(inOrder);
  result.outliers = { count: outliers.count, low: outliers.low, high: outliers.high };
  warnings.push(...outliers.warnings);
  const warm = detectWarmup(inOrder);
  result.warmup.detected = warm.warmupCount;
  result.warmup.detectedChangePct = warm.changePct;
  if (warm.warmupCount > 0) {
    warnings.push(`the first ${warm.warmupCount} measured samples still look like warm-up (${fmtPct(warm.changePct)} against the steady median): raise the scenario's warmup above ${result.warmup.discarded}`);
  }
  warnings.push(...warm.warnings.filter((x) => !x.startsWith('need at least')));
  return { record, result, attempt, sorted: finite, measured };
}

function profileOf(works: readonly TrialWork[]): VariantResults['profile'] {
  const withProfile = works.filter((w) => w.result.status === 'passed' && w.result.profile && w.result.profile.ops.length > 0);
  if (withProfile.length === 0) return undefined;
  const cpuMHz = withProfile[0].result.profile!.cpuMHz;
  const order: string[] = [];
  const perOp = new Map<string, { cycles: number[]; count: number }>();
  for (const w of withProfile) {
    const sums = new Map<string, { cycles: number; count: number }>();
    for (const e of w.result.profile!.ops) {
      const s = sums.get(e.op) ?? { cycles: 0, count: 0 };
      s.cycles += e.cycles;
      s.count++;
      sums.set(e.op, s);
    }
    for (const [op, s] of sums) {
      if (!perOp.has(op)) { perOp.set(op, { cycles: [], count: s.count }); order.push(op); }
      perOp.get(op)!.cycles.push(s.cycles);
    }
  }
  const medians = order.map((op) => medianOfSorted(Float64Array.from(perOp.get(op)!.cycles).sort()));
  const total = medians.reduce((a, b) => a + b, 0);
  const ops: OpShare[] = order.map((op, k) => ({
    op, cycles: medians[k], us: medians[k] / cpuMHz, sharePct: total > 0 ? (medians[k] / total) * 100 : NaN, count: perOp.get(op)!.count,
  }));
  return { cpuMHz, ops };
}

/**
 * A variant's class is that of the boards that measured it ('mixed' for several); one nothing
 * measured takes its boards' known class.
 */
function variantProvenance(works: readonly TrialWork[]): GroupProvenance {
  const measured = works.filter((w) => w.measured);
  return groupProvenance((measured.length > 0 ? measured : works).map((w) => w.result.provenance)) ?? 'board';
}

/** "emulated: emu-1; simulated: sim-1, sim-2": the boards of each class, so the reader knows which per-board numbers go together. */
function boardsByProvenance(trials: readonly TrialResults[]): string {
  const byClass = new Map<Provenance, Set<string>>();
  for (const t of trials) byClass.set(t.provenance, (byClass.get(t.provenance) ?? new Set<string>()).add(t.board));
  return provenanceSet(byClass.keys()).map((p) => `${p}: ${[...byClass.get(p)!].join(', ')}`).join('; ');
}

function mixedProvenanceWarning(trials: readonly TrialResults[]): string {
  return `boards of different provenance measured this variant (${boardsByProvenance(trials)}): their latencies are not pooled - read them board by board (emulated and simulated timings are not ESP32-S3 silicon's)`;
}

/** Builds the results of one run. Throws a LabError only when the events are not a run at all. */
export function buildRunResults(events: readonly LabEvent[], options: BuildOptions = {}): RunResults {
  const collected: CollectedRun = collectRun(events);
  const started = collected.started;
  if (!started) {
    throw new LabError('journal', events.length === 0
      ? 'the run journal is empty: no run.started event (the run never began; run it again)'
      : 'the run journal has no run.started event: it is not the journal of a run (point hil report at reports/<run-id>/events.jsonl)');
  }
  const alpha = options.alpha ?? 0.05;
  const plan = started.plan;
  const warnings = [...collected.warnings];

  // A board the run never heard from takes the least trusted class the run planned (as a variant
  // of a run with simulated boards is marked simulated): it has no numbers to mislabel anyway.
  const plannedClasses = recordedProvenances(started);
  const runFallback = plannedClasses.reduce<Provenance | undefined>(leastTrusted, undefined) ?? 'board';
  const boardFallback = (board: string): Provenance => collected.boards.get(board)?.provenance ?? runFallback;

  // Trials: every planned one, then any the plan did not know.
  const works: TrialWork[] = [];
  const seen = new Set<string>();
  for (const t of plan.trials) {
    const rec = collected.trials.get(t.id) ?? { id: t.id, trial: t, variant: t.variant.id, board: t.board, round: t.round, attempts: [] };
    works.push(trialResults(rec, boardFallback(rec.board)));
    seen.add(t.id);
  }
  for (const [id, rec] of collected.trials) if (!seen.has(id)) works.push(trialResults(rec, boardFallback(rec.board)));

  // Variants: pooled over boards and rounds, boards kept apart.
  const samples = new Map<string, Map<string, Float64Array>>();
  const fingerprints = new Map<string, Map<string, Fingerprint>>();
  const variantSamples: VariantSamples[] = [];
  const variants: VariantResults[] = [];
  /** Passed trials of the variants left unpooled because their boards' provenance is mixed. */
  const unpooled: TrialResults[] = [];
  let unpooledVariants = 0;
  const variantDefs = [...plan.variants];
  for (const w of works) {
    if (!variantDefs.some((v) => v.id === w.result.variant)) {
      const def = w.record.trial?.variant;
      if (def) variantDefs.push(def);
    }
  }
  for (const def of variantDefs) {
    const mine = works.filter((w) => w.result.variant === def.id);
    const passed = mine.filter((w) => w.result.status === 'passed' && w.sorted && w.sorted.length > 0);
    const count = (s: TrialStatus): number => mine.filter((w) => w.result.status === s).length;
    const vw: string[] = [];
    const boardOrder = [...plan.boards, ...new Set(works.map((w) => w.result.board))];
    const boards = [...new Set(passed.map((w) => w.result.board))].sort((a, b) => boardOrder.indexOf(a) - boardOrder.indexOf(b));
    const byBoard = new Map<string, Float64Array>();
    const fpByBoard = new Map<string, Fingerprint>();
    const boardResults: VariantResults['boards'] = [];
    for (const b of boards) {
      const parts = passed.filter((w) => w.result.board === b);
      const sorted = mergeSorted(parts.map((w) => w.sorted!));
      byBoard.set(b, sorted);
      const fps = parts.map((w) => w.result.fingerprint).filter((f): f is Fingerprint => f !== undefined);
      if (fps.length > 0) {
        fpByBoard.set(b, fps[0]);
        const differing = fps.slice(1).filter((f) => JSON.stringify(f) !== JSON.stringify(fps[0]));
        if (differing.length > 0) vw.push(`${b}: the fingerprint changed between rounds of this variant (compare the trials' fingerprints): its rounds may not be comparable`);
      }
      boardResults.push({ board: b, trials: parts.length, latency: latencySummary(sorted).summary, box: boxPlotOf(sorted)! });
    }
    samples.set(def.id, byBoard);
    fingerprints.set(def.id, fpByBoard);
    // Boards of different provenance are never pooled: QEMU's or the cost model's cycle counts
    // are not the silicon's. Each board's own summary stays; the variant has no pooled latency.
    const mixed = groupProvenance(passed.map((w) => w.result.provenance)) === 'mixed';
    if (mixed) {
      vw.push(mixedProvenanceWarning(passed.map((w) => w.result)));
      unpooled.push(...passed.map((w) => w.result));
      unpooledVariants++;
    }
    const pooled = mixed ? new Float64Array(0) : mergeSorted([...byBoard.values()]);
    const v: VariantResults = {
      id: def.id,
      build: def.build,
      firmware: {
        variant: def.firmware.variant,
        ...(def.firmware.kernelBackend ? { kernelBackend: def.firmware.kernelBackend } : {}),
        ...(def.firmware.espNn ? { espNn: def.firmware.espNn } : {}),
      },
      model: {
        id: def.model.id, path: def.model.path,
        ...(def.model.sha256 ? { sha256: def.model.sha256 } : {}),
        ...(def.model.storage === 'partition' ? { storage: 'partition' as const } : {}),
      },
      arena: { size: def.arena.size, placement: def.arena.placement, ...(def.arena.bytes !== undefined ? { bytes: def.arena.bytes } : {}) },
      cpuMHz: def.cpuMHz,
      trials: {
        planned: plan.trials.filter((t) => t.variant.id === def.id).length,
        passed: passed.length, failed: count('failed'), error: count('error'), incomplete: count('incomplete'), notRun: count('not-run'),
      },
      boards: boardResults,
      simulated: mine.some((w) => w.result.simulated) || started.simulated,
      provenance: variantProvenance(mine),
      warnings: vw,
    };
    if (pooled.length > 0) {
      const s = latencySummary(pooled);
      v.latency = s.summary;
      vw.push(...s.warnings.filter((x) => !x.startsWith('p99 of') && !x.startsWith('p90 and p99')));
      v.histogram = histogramOf(pooled);
      v.box = boxPlotOf(pooled);
    }
    if (boardResults.length >= 2 && !mixed) {
      const sortedBoards = [...boardResults].sort((a, b) => a.latency.median - b.latency.median);
      const fast = sortedBoards[0];
      const slow = sortedBoards[sortedBoards.length - 1];
      v.boardSpread = { ratio: slow.latency.median / fast.latency.median, slowestBoard: slow.board, slowestMedian: slow.latency.median, fastestBoard: fast.board, fastestMedian: fast.latency.median };
      if (v.boardSpread.ratio > 1.1) vw.push(`board spread: ${slow.board} runs this variant ${fmtPct((v.boardSpread.ratio - 1) * 100)} slower than ${fast.board}: check that board's clock and temperature`);
    }
    // Accuracy and outputs: deterministic, so the first passed trial's numbers (pooling repeated
    // passes over the same inputs would only narrow the interval falsely).
    const acc = mine.filter((w) => w.result.status === 'passed' && w.attempt?.accuracy);
    if (acc.length > 0) {
      const a = acc[0].attempt!.accuracy!;
      const cm = confusionMatrix(a.labels, a.predictions, a.classes);
      const digests = new Set(acc.map((w) => w.attempt!.accuracy!.outputDigest));
      v.accuracy = { top1: acc[0].result.accuracy!.top1, top5: acc[0].result.accuracy!.top5, classes: cm.classCount, confusion: cm.matrix, consistent: digests.size === 1 };
      if (digests.size > 1) vw.push(`outputs differ between trials (${digests.size} different output digests over ${acc.length} trials): the same model on the same inputs should give the same outputs`);
      const worst = acc.map((w) => w.result.bitExact!).reduce((x, y) =>
        (y.differingTensors > x.differingTensors || (y.differingTensors === x.differingTensors && (y.maxRelativeDifference ?? 0) > (x.maxRelativeDifference ?? 0)) ? y : x));
      v.bitExact = { trials: acc.length, trialsNotExact: acc.filter((w) => !w.result.bitExact!.bitExact).length, worst };
    }
    const mem = mine.filter((w) => w.result.status === 'passed' && w.result.memory);
    if (mem.length > 0) {
      v.memory = mem.map((w) => w.result.memory!).reduce((x, y) => (y.arenaUsedBytes > x.arenaUsedBytes ? y : x));
      vw.push(...v.memory.warnings);
    }
    const profile = profileOf(mine);
    if (profile) v.profile = profile;
    if (v.trials.passed === 0 && v.trials.planned > 0) {
      const firstError = mine.flatMap((w) => w.result.errors)[0];
      vw.push(`no trial passed${firstError ? ` (first error: ${firstError.message})` : ''}`);
    }
    variants.push(v);
    variantSamples.push({
      id: v.id, firmware: def.firmware.variant, model: def.model.id, arenaSize: def.arena.size, arenaPlacement: def.arena.placement,
      cpuMHz: def.cpuMHz, median: v.latency?.median ?? NaN,
      boards: new Map([...byBoard].map(([b, sorted]) => [b, { sorted, ...(fpByBoard.has(b) ? { fingerprint: fpByBoard.get(b)! } : {}) }])),
      ...(acc.length > 0 ? { predictions: acc[0].attempt!.accuracy!.predictions } : {}),
    });
  }

  // Boards.
  const boards: BoardResults[] = [];
  const boardIds = [...new Set([...plan.boards, ...collected.boards.keys()])];
  for (const id of boardIds) {
    const b = collected.boards.get(id);
    const mine = works.filter((w) => w.result.board === id);
    const count = (s: TrialStatus): number => mine.filter((w) => w.result.status === s).length;
    const logs = b?.logs ?? [];
    const r: BoardResults = {
      id,
      firmware: b ? [...b.firmware].map(([appElfSha256, variant]) => ({ variant, appElfSha256 })) : [],
      simulated: (b?.simulated ?? false) || (b?.hello?.simulated ?? false),
      provenance: b?.provenance ?? mine.filter((w) => w.measured).map((w) => w.result.provenance).reduce<Provenance | undefined>(leastTrusted, undefined) ?? runFallback,
      state: b?.state ?? 'unknown',
      flashes: { count: b?.flashes ?? 0, failed: b?.flashFailures ?? 0, seconds: b?.flashSeconds ?? 0, errors: b?.flashErrors ?? [] },
      trials: { passed: count('passed'), failed: count('failed'), error: count('error'), incomplete: count('incomplete'), notRun: count('not-run') },
      logs: { total: b?.logTotal ?? 0, lines: logs, omitted: (b?.logTotal ?? 0) - logs.length },
    };
    if (b?.link) r.link = b.link;
    if (b?.address !== undefined) r.address = b.address;
    if (b?.hello) r.hello = b.hello;
    if (b?.quarantined !== undefined) r.quarantined = { reason: b.quarantined };
    if (b?.canary) {
      const c = b.canary;
      r.canary = {
        model: c.model, n: c.latencyUs.length, medianUs: c.medianUs, verdict: c.verdict,
        ...(c.historyMedianUs !== undefined ? { historyMedianUs: c.historyMedianUs } : {}),
        ...(c.driftPct !== undefined ? { driftPct: c.driftPct } : {}),
      };
    }
    boards.push(r);
  }

  // Run.
  const finished = collected.finished;
  const status = finished?.status ?? 'incomplete';
  const trialResultsList = works.map((w) => w.result);
  const unfinished = trialResultsList.filter((t) => t.status === 'not-run' || t.status === 'incomplete');
  const quarantinedBoards = boards.filter((b) => b.quarantined).map((b) => b.id);
  const notRunOnQuarantined = unfinished.filter((t) => t.status === 'not-run' && quarantinedBoards.includes(t.board)).length;
  const partial = status !== 'completed' || unfinished.length > notRunOnQuarantined;
  const endTs = Number.isFinite(collected.lastTs) ? collected.lastTs : started.ts;
  const run: RunResults['run'] = {
    id: started.runId,
    scenario: started.scenario,
    rigs: started.rigs,
    ...(started.gitCommit !== undefined ? { gitCommit: started.gitCommit } : {}),
    host: started.host,
    simulated: started.simulated || trialResultsList.some((t) => t.simulated),
    provenances: provenanceSet([...plannedClasses, ...works.filter((w) => w.measured).map((w) => w.result.provenance), ...boards.map((b) => b.provenance)]),
    status,
    partial,
    ...(finished?.error ? { error: finished.error } : {}),
    startedAt: iso(started.ts),
    ...(finished ? { endedAt: iso(finished.ts), durationMs: finished.ts - started.ts } : { durationMs: endTs - started.ts }),
    resumes: collected.resumes.length,
    plan: { rounds: plan.rounds, seed: plan.seed, boards: plan.boards, variants: plan.variants.length, trials: plan.trials.length, builds: plan.builds.map((b) => b.id) },
  };
  if (unpooledVariants > 0) {
    // The console shows no per-variant warnings: say once why those rows have no latency.
    warnings.push(`${unpooledVariants} variant${unpooledVariants > 1 ? 's were' : ' was'} measured on boards of different provenance (${boardsByProvenance(unpooled)}): no pooled latency - read them board by board`);
  }
  if (status === 'incomplete') warnings.push(`the journal ends without run.finished: the run did not finish (resume it with hil run --resume ${started.runId})`);
  if (status === 'interrupted') warnings.push(`the run was interrupted: ${unfinished.length} of ${plan.trials.length} trials did not finish (resume it with hil run --resume ${started.runId})`);
  for (const id of quarantinedBoards) warnings.push(`board ${id} was quarantined: ${boards.find((b) => b.id === id)!.quarantined!.reason}`);
  for (const b of boards) if (b.canary && b.canary.verdict !== 'ok') warnings.push(`board ${b.id}: its canary drifted ${b.canary.driftPct !== undefined ? fmtPct(b.canary.driftPct) : ''} from its history (${b.canary.verdict})`);

  // Comparisons, then Holm over every p-value of the report.
  const comparisons = axisComparisons(variantSamples, { alpha });
  let baselineResults: RunResults['baseline'];
  let baseComparisons: Comparison[] = [];
  const base = options.baseline;
  if (base) {
    if (base.run.id === run.id) throw new Error('buildRunResults: a run cannot be its own baseline');
    const baseSamples: VariantSamples[] = base.variants.map((v) => ({
      id: v.id, firmware: v.firmware.variant, model: v.model.id, arenaSize: v.arena.size, arenaPlacement: v.arena.placement, cpuMHz: v.cpuMHz,
      median: v.latency?.median ?? NaN,
      boards: new Map([...(base.samples?.get(v.id) ?? new Map<string, Float64Array>())].map(([b, sorted]) => {
        const fp = base.trials.find((t) => t.variant === v.id && t.board === b && t.status === 'passed' && t.fingerprint)?.fingerprint;
        return [b, { sorted, ...(fp ? { fingerprint: fp } : {}) }];
      })),
    }));
    baseComparisons = runComparisons(baseSamples, variantSamples, base.run.id, { alpha });
    const planned = new Set(plan.variants.map((v) => v.id));
    const baseIds = new Set(base.variants.map((v) => v.id));
    baselineResults = {
      runId: base.run.id,
      startedAt: base.run.startedAt,
      ...(base.run.gitCommit !== undefined ? { gitCommit: base.run.gitCommit } : {}),
      simulated: base.run.simulated,
      provenances: base.run.provenances,
      comparisons: baseComparisons,
      missingVariants: base.variants.map((v) => v.id).filter((id) => !planned.has(id)),
      newVariants: variants.map((v) => v.id).filter((id) => !baseIds.has(id)),
    };
    const baseClasses = describeProvenances(base.run.provenances);
    const runClasses = describeProvenances(run.provenances);
    if (baseClasses !== runClasses) {
      warnings.push(`the baseline run ${base.run.id} has provenance ${baseClasses} and this run ${runClasses}: their latencies do not compare (trials of different provenance are never compared)`);
    }
  }
  const family = [...comparisons, ...baseComparisons];
  const adjusted = holm(family.map((c) => (c.comparable ? c.p : NaN)), alpha);
  family.forEach((c, i) => {
    c.pHolm = adjusted.adjusted[i];
    c.significant = c.comparable && adjusted.adjusted[i] <= alpha;
  });

  // Gates.
  const planned = new Set(plan.variants.map((v) => v.id));
  const candidateView: GateRun = { runId: run.id, variants, samples, fingerprints, planned };
  let baseView: GateRun | undefined;
  if (base) {
    const fps = new Map<string, Map<string, Fingerprint>>();
    for (const t of base.trials) {
      if (t.status !== 'passed' || !t.fingerprint) continue;
      const m = fps.get(t.variant) ?? new Map<string, Fingerprint>();
      if (!m.has(t.board)) m.set(t.board, t.fingerprint);
      fps.set(t.variant, m);
    }
    baseView = { runId: base.run.id, variants: base.variants, samples: base.samples, fingerprints: fps, planned: new Set(base.variants.map((v) => v.id)) };
  }
  const noBaselineReason = options.noBaselineReason ?? 'no baseline run to compare with (set one with hil baseline set <run-id>)';
  const gates = evaluateRunGates(options.gates ?? [], candidateView, baseView, options.baselineError ?? noBaselineReason, options.baselineError !== undefined);

  // Trend: the history store's earlier runs plus this one, per variant, with change points.
  let trend: Trend | undefined;
  if (options.history) {
    const metric = options.history.metric;
    const unit = variants.map((v) => metricValue(v, metric)?.unit).find((u) => u !== undefined) ?? '';
    const series = variants.map((v) => {
      const points: TrendPoint[] = options.history!.points
        .filter((p) => p.variant === v.id && p.runId !== run.id && (p.provenance === undefined || p.provenance === v.provenance))
        .map((p) => ({ runId: p.runId, startedAt: p.startedAt, value: p.value, ...(p.lower !== undefined ? { lower: p.lower } : {}), ...(p.upper !== undefined ? { upper: p.upper } : {}), current: false }));
      const now = metricValue(v, metric);
      if (now && Number.isFinite(now.value)) {
        points.push({ runId: run.id, startedAt: run.startedAt, value: now.value, ...(now.lower !== undefined && Number.isFinite(now.lower) ? { lower: now.lower } : {}), ...(now.upper !== undefined && Number.isFinite(now.upper) ? { upper: now.upper } : {}), current: true });
      }
      const history: HistoryPoint[] = points.map((p) => ({ value: p.value, runId: p.runId, ...(p.lower !== undefined ? { lower: p.lower } : {}), ...(p.upper !== undefined ? { upper: p.upper } : {}) }));
      const cp = detectChangePoints(history, { seed: 1 });
      return { variant: v.id, points, changePoints: cp.changePoints, warnings: cp.warnings };
    });
    trend = { metric, unit, series };
  }

  // Exit code.
  const anyPassed = trialResultsList.some((t) => t.status === 'passed');
  const deadVariants = variants.filter((v) => v.trials.planned > 0 && v.trials.passed === 0);
  let exitCode: number;
  let exitReason: string;
  let exitCause: ExitCause;
  if (status === 'failed') {
    exitCause = 'run-failed';
    exitCode = ExitCode.LabError;
    exitReason = `the run failed${finished?.error ? `: ${finished.error.message}` : ''}`;
  } else if (!anyPassed) {
    exitCause = 'nothing-measured';
    exitCode = ExitCode.LabError;
    exitReason = `no trial passed (${trialResultsList.length} planned): nothing was measured`;
  } else if (status !== 'completed') {
    exitCause = 'run-unfinished';
    exitCode = ExitCode.LabError;
    exitReason = `the run did not complete (${status}): ${unfinished.length} of ${plan.trials.length} trials unfinished; resume it with hil run --resume ${run.id}`;
  } else if (gates.errors > 0) {
    exitCause = 'gate-error';
    exitCode = ExitCode.LabError;
    const first = gates.results.find((g) => g.status === 'error')!;
    exitReason = `${gates.errors} gate${gates.errors > 1 ? 's' : ''} could not be evaluated (first: ${first.variant}: ${first.explanation})`;
  } else if (deadVariants.length > 0) {
    exitCause = 'variant-failed';
    exitCode = ExitCode.LabError;
    exitReason = `variant ${deadVariants[0].id} has no passed trial${deadVariants.length > 1 ? ` (and ${deadVariants.length - 1} more)` : ''}: ${deadVariants[0].warnings.at(-1) ?? ''}`;
  } else if (gates.failed > 0) {
    exitCause = 'regression';
    exitCode = ExitCode.Regression;
    const first = gates.results.find((g) => g.status === 'fail')!;
    exitReason = `${gates.failed} regression gate${gates.failed > 1 ? 's' : ''} failed (first: ${first.variant}: ${first.explanation})`;
  } else {
    exitCause = 'pass';
    exitCode = ExitCode.Pass;
    exitReason = gates.passed > 0
      ? `all ${gates.passed} gates pass${gates.skipped > 0 ? ` (${gates.skipped} skipped)` : ''}`
      : gates.skipped > 0 ? `no gate was evaluated (${gates.note ?? `${gates.skipped} skipped`})` : 'the run completed; the scenario has no gates';
  }

  const results = {
    resultsVersion: RESULTS_VERSION,
    run,
    boards,
    variants,
    trials: trialResultsList,
    comparisons,
    ...(baselineResults ? { baseline: baselineResults } : {}),
    gates,
    ...(trend ? { trend } : {}),
    exitCode,
    exitReason,
    exitCause,
    warnings,
  } as Omit<RunResults, 'samples'>;
  Object.defineProperty(results, 'samples', { value: samples as RunSamples, enumerable: false });
  return results as RunResults;
}
