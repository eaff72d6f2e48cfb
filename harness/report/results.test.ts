import { describe, expect, it } from 'vitest';
import { isLabError } from '../errors.js';
import type { LabEvent } from '../lab/events.js';
import { buildRunResults } from './results.js';
import { syntheticRun } from './testing/synthetic-run.js';

const ESPNN_INT8 = 'esp-nn/cnn-int8/65536-internal/240mhz';
const REF_INT8 = 'reference/cnn-int8/65536-internal/240mhz';

/** One shared baseline run (seed 5) and a default candidate run. */
const baseRun = syntheticRun({ runId: 'base', seed: 5, hostile: false });
const baseline = buildRunResults(baseRun.events);

describe('buildRunResults on a complete run', () => {
  const run = syntheticRun({ hostile: false });
  const r = buildRunResults(run.events, { gates: run.scenario.gates });

  it('has every planned trial, passed, with its samples summarised', () => {
    expect(r.trials).toHaveLength(96);
    expect(r.trials.every((t) => t.status === 'passed' && t.latency?.n === 100 && t.attempts === 1)).toBe(true);
    expect(r.run).toMatchObject({ id: 'synthetic-1', status: 'completed', partial: false, simulated: true, resumes: 0 });
    expect(r.trials[0].warmup.discarded).toBe(10);
  });

  it('pools each variant over boards and rounds and keeps the boards apart', () => {
    const v = r.variants.find((x) => x.id === ESPNN_INT8)!;
    expect(v.latency!.n).toBe(1200);
    expect(v.boards.map((b) => [b.board, b.trials, b.latency.n])).toEqual([
      ['sim-1', 3, 300], ['sim-2', 3, 300], ['sim-3', 3, 300], ['sim-4', 3, 300],
    ]);
    expect(v.latency!.medianCI.lower).toBeLessThan(v.latency!.median);
    expect(v.latency!.medianCI.upper).toBeGreaterThan(v.latency!.median);
    expect(v.boardSpread!.ratio).toBeGreaterThan(1);
    expect(v.histogram!.counts.reduce((a, b) => a + b, 0) + v.histogram!.below + v.histogram!.above).toBe(1200);
    expect(v.box!.q1).toBeLessThan(v.box!.median);
    expect(v.accuracy!.top1).toMatchObject({ total: 200 });
    expect(v.memory).toMatchObject({ arenaBytes: 65536, arenaUsedBytes: 50260, placement: 'internal' });
    expect(v.profile!.ops.map((o) => o.op)).toEqual(['CONV_2D', 'DEPTHWISE_CONV_2D', 'AVERAGE_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX']);
    expect(v.profile!.ops.find((o) => o.op === 'CONV_2D')!.count).toBe(2);
  });

  it('compares variants along each axis, within boards, with Holm over the report', () => {
    expect(r.comparisons.map((c) => c.axis)).toEqual([
      'firmware', 'firmware', 'firmware', 'firmware', 'model', 'model', 'model', 'model',
      'arena-placement', 'arena-placement', 'arena-placement', 'arena-placement',
    ]);
    const fw = r.comparisons.find((c) => c.axis === 'firmware' && c.baseline === REF_INT8)!;
    expect(fw).toMatchObject({ candidate: ESPNN_INT8, label: 'esp-nn vs reference', context: 'cnn-int8, 65536-internal, 240 MHz', comparable: true, significant: true });
    // FACTS.md: ESP-NN speeds int8 up ~5x; the synthetic model is 21 ms -> 3.9 ms.
    expect(fw.changePct).toBeGreaterThan(-82);
    expect(fw.changePct).toBeLessThan(-80);
    expect(fw.boards).toHaveLength(4);
    expect(fw.pHolm).toBeGreaterThanOrEqual(fw.p);
    const model = r.comparisons.find((c) => c.axis === 'model')!;
    expect(model.agreement!.total).toBe(200);
    // Holm-adjusted p-values are never below the raw ones.
    for (const c of r.comparisons) expect(c.pHolm).toBeGreaterThanOrEqual(c.p);
  });

  it('skips gates without a baseline and says why; outputs.mismatches needs none', () => {
    expect(r.gates.skipped).toBe(24);
    expect(r.gates.passed).toBe(8);
    expect(r.gates.note).toBe('no baseline run to compare with (set one with hil baseline set <run-id>)');
    expect(r.exitCode).toBe(0);
    expect(r.exitCause).toBe('pass');
    expect(r.exitReason).toBe('all 8 gates pass (24 skipped)');
  });

  it('keeps the samples in memory but out of JSON', () => {
    expect(r.samples.get(ESPNN_INT8)!.get('sim-1')!.length).toBe(300);
    expect(Object.keys(r)).not.toContain('samples');
    expect(JSON.stringify(r)).not.toContain('"samples"');
  });
});

describe('buildRunResults against a baseline', () => {
  it('passes every gate when nothing changed', () => {
    const run = syntheticRun({ runId: 'same', seed: 6, hostile: false });
    const r = buildRunResults(run.events, { gates: run.scenario.gates, baseline });
    expect(r.gates).toMatchObject({ passed: 32, failed: 0, errors: 0, skipped: 0, baselineRun: 'base' });
    expect(r.exitCode).toBe(0);
    expect(r.baseline!.comparisons).toHaveLength(8);
  });

  it('fails the latency gate of the variant that got 5% slower: exit 1 with the explanation', () => {
    const run = syntheticRun({ runId: 'slow', seed: 6, hostile: false, regression: { variant: (v) => v.id === ESPNN_INT8, pct: 5 } });
    const r = buildRunResults(run.events, { gates: run.scenario.gates, baseline });
    expect(r.gates.failed).toBe(1);
    const failed = r.gates.results.find((g) => g.status === 'fail')!;
    expect(failed.variant).toBe(ESPNN_INT8);
    expect(failed.explanation).toMatch(/^latency\.median \+[45]\.\d\d% \(\d+ us -> \d+ us, 95% CI \+[45]\.\d\d% to \+[45]\.\d\d%; p < 0\.0001, alpha 0\.01\), limit \+3%: FAIL, beyond the limit and significant$/);
    expect(r.exitCode).toBe(1);
    expect(r.exitCause).toBe('regression');
    expect(r.exitReason).toContain(`1 regression gate failed (first: ${ESPNN_INT8}: latency.median +5.`);
    const c = r.baseline!.comparisons.find((x) => x.candidate === ESPNN_INT8)!;
    expect(c.significant).toBe(true);
    expect(c.changePct).toBeGreaterThan(4.5);
  });

  it('fails outputs.mismatches when board outputs differ from the host reference', () => {
    const run = syntheticRun({ runId: 'inexact', seed: 6, hostile: false, notBitExact: (v) => v.id === ESPNN_INT8 });
    const r = buildRunResults(run.events, { gates: run.scenario.gates, baseline });
    const g = r.gates.results.find((x) => x.metric === 'outputs.mismatches' && x.variant === ESPNN_INT8)!;
    expect(g.status).toBe('fail');
    expect(g.explanation).toBe('outputs.mismatches 3 of 200 output tensors differ from the host reference in the worst trial (12 of 12 trials not bit-exact, up to 1 quantized step), limit 0: FAIL');
    expect(r.exitCode).toBe(1);
  });

  it('makes gates errors (exit 2) when the baseline is set but unusable', () => {
    const run = syntheticRun({ runId: 'orphan', seed: 6, hostile: false });
    const r = buildRunResults(run.events, { gates: run.scenario.gates, baselineError: "the baseline run base's journal reports/base/events.jsonl is missing (restore it)" });
    expect(r.gates.errors).toBe(24);
    expect(r.exitCode).toBe(2);
    expect(r.exitCause).toBe('gate-error');
  });

  it('leaves a board whose fingerprint refuses the comparison out of the gate, with the reason', () => {
    const run = syntheticRun({ runId: 'slowclock', seed: 6, hostile: false, fingerprintOverride: { board: 'sim-2', field: 'cpuMhz', value: 160 } });
    const r = buildRunResults(run.events, { gates: run.scenario.gates, baseline });
    const g = r.gates.results.find((x) => x.metric === 'latency.median' && x.variant === ESPNN_INT8)!;
    expect(g.status).toBe('pass');
    expect(g.warnings[0]).toBe('left sim-2 out: not comparable: the fingerprints differ in cpuMhz (baseline 240, candidate 160), but the declared variant axes are firmwareSha256, sdkconfigSha256, kernelBackend, espNnVersion, idfVersion, tflmVersion, modelSha256; measure both with the same cpuMhz or declare it as a variant axis');
    const c = r.baseline!.comparisons.find((x) => x.candidate === ESPNN_INT8)!;
    expect(c.boards.find((b) => b.board === 'sim-2')).toMatchObject({ comparable: false });
  });
});

describe('buildRunResults on the edge cases', () => {
  it('a trial that errored once: its second attempt decides, the first attempt\'s samples are left out', () => {
    const id = `${ESPNN_INT8}@sim-3#2`;
    const run = syntheticRun({ hostile: false, retryTrial: id });
    const r = buildRunResults(run.events);
    const t = r.trials.find((x) => x.id === id)!;
    expect(t).toMatchObject({ status: 'passed', attempts: 2 });
    expect(t.errors).toEqual([{ code: 'board-timeout', message: 'sim-3: no answer to invoke within 10 s (the board may have reset; it is probed again)', attempt: 1 }]);
    expect(t.latency!.n).toBe(100);
    expect(r.variants.find((v) => v.id === ESPNN_INT8)!.latency!.n).toBe(1200);
  });

  it('a trial that failed: counted, its error kept, the variant still measured by its other trials', () => {
    const id = `${REF_INT8}@sim-1#1`;
    const r = buildRunResults(syntheticRun({ hostile: false, failTrial: id }).events);
    const t = r.trials.find((x) => x.id === id)!;
    expect(t.status).toBe('failed');
    expect(t.errors[0].code).toBe('arena');
    expect(t.latency).toBeUndefined();
    expect(r.variants.find((v) => v.id === REF_INT8)!.trials).toMatchObject({ planned: 12, passed: 11, failed: 1 });
    expect(r.exitCode).toBe(0);
  });

  it('a variant without any passed trial is a config error (exit 2)', () => {
    const run = syntheticRun({ hostile: false, boards: 1, rounds: 1, firmware: ['reference'], models: ['cnn-int8'], arenas: [{ size: 65536, placement: 'internal' }, { size: 65536, placement: 'psram' }], failTrial: 'reference/cnn-int8/65536-psram/240mhz@sim-1#1' });
    const r = buildRunResults(run.events);
    expect(r.exitCode).toBe(2);
    expect(r.exitCause).toBe('variant-failed');
    expect(r.exitReason).toContain('variant reference/cnn-int8/65536-psram/240mhz has no passed trial');
    expect(r.exitReason).toContain('raise the arena size');
  });

  it('no trial passed at all: exit 2', () => {
    const run = syntheticRun({ hostile: false, boards: 1, rounds: 1, firmware: ['reference'], models: ['cnn-int8'], arenas: [{ size: 65536, placement: 'internal' }], failTrial: 'reference/cnn-int8/65536-internal/240mhz@sim-1#1' });
    const r = buildRunResults(run.events);
    expect(r.exitCode).toBe(2);
    expect(r.exitCause).toBe('nothing-measured');
  });

  it('a quarantined board: its remaining trials are not run, the run finishes on the others', () => {
    const r = buildRunResults(syntheticRun({ hostile: false, quarantine: { board: 'sim-2', afterTrials: 20 } }).events);
    const b = r.boards.find((x) => x.id === 'sim-2')!;
    expect(b.state).toBe('quarantined');
    expect(b.quarantined!.reason).toMatch(/^3 trial failures in a row/);
    expect(b.trials).toEqual({ passed: 20, failed: 0, error: 1, incomplete: 0, notRun: 3 });
    expect(r.trials.find((t) => t.board === 'sim-2' && t.status === 'error')!.attempts).toBe(3);
    expect(r.run.status).toBe('completed');
    expect(r.run.partial).toBe(false);
    expect(r.warnings).toContain(`board sim-2 was quarantined: ${b.quarantined!.reason}`);
    expect(r.exitCode).toBe(0);
  });

  it('an interrupted run: a valid partial report, exit 2 with the resume hint', () => {
    const r = buildRunResults(syntheticRun({ hostile: false, interruptAfterTrials: 30 }).events);
    expect(r.run.status).toBe('interrupted');
    expect(r.run.partial).toBe(true);
    expect(r.trials.filter((t) => t.status === 'passed')).toHaveLength(30);
    expect(r.trials.filter((t) => t.status === 'incomplete').length).toBeGreaterThan(0);
    expect(r.exitCode).toBe(2);
    expect(r.exitCause).toBe('run-unfinished');
    expect(r.exitReason).toMatch(/^the run did not complete \(interrupted\): 66 of 96 trials unfinished; resume it with hil run --resume synthetic-1$/);
  });

  it('a journal without run.finished (the host died): status incomplete', () => {
    const r = buildRunResults(syntheticRun({ hostile: false, crashAfterTrials: 10 }).events);
    expect(r.run.status).toBe('incomplete');
    expect(r.warnings[0]).toBe('the journal ends without run.finished: the run did not finish (resume it with hil run --resume synthetic-1)');
    expect(r.exitCode).toBe(2);
  });

  it('a resumed run: trials restarted after the crash count once', () => {
    const run = syntheticRun({ hostile: false, resumeAfterTrials: 20 });
    const r = buildRunResults(run.events);
    expect(r.run.resumes).toBe(1);
    expect(r.run.status).toBe('completed');
    expect(r.trials.every((t) => t.status === 'passed' && t.latency!.n === 100)).toBe(true);
    // Some trial was started twice (before and after the crash) with the same attempt number.
    const starts = new Map<string, number>();
    for (const e of run.events) if (e.type === 'trial.started') starts.set(e.trial, (starts.get(e.trial) ?? 0) + 1);
    expect([...starts.values()].some((n) => n === 2)).toBe(true);
  });

  it('fingerprints that differ outside the compared axis refuse the comparison, with the reason', () => {
    const run = syntheticRun({ hostile: false, boards: 1, fingerprintOverride: { board: 'sim-1', field: 'cpuMhz', value: 160, variant: (v) => v.id === ESPNN_INT8 } });
    const r = buildRunResults(run.events);
    const c = r.comparisons.find((x) => x.candidate === ESPNN_INT8 && x.axis === 'firmware')!;
    expect(c.comparable).toBe(false);
    expect(c.refusedReason).toBe('sim-1: not comparable: the fingerprints differ in cpuMhz (baseline 240, candidate 160), but the declared variant axes are firmwareSha256, sdkconfigSha256, kernelBackend, espNnVersion, idfVersion, tflmVersion; measure both with the same cpuMhz or declare it as a variant axis');
    expect(Number.isNaN(c.pHolm)).toBe(true);
    expect(c.significant).toBe(false);
  });

  it('a run that failed at the start: exit 2 with its error', () => {
    const r = buildRunResults(syntheticRun({ failRun: true }).events);
    expect(r.run.status).toBe('failed');
    expect(r.trials.every((t) => t.status === 'not-run')).toBe(true);
    expect(r.exitCode).toBe(2);
    expect(r.exitReason).toMatch(/^the run failed: rigs\.json: \/boards\/0: no board answered/);
  });

  it('refuses a stream that is not a run, in one sentence', () => {
    expect(() => buildRunResults([])).toThrow('the run journal is empty: no run.started event (the run never began; run it again)');
    const log = { type: 'board.log', board: 'x', line: 'hi', seq: 1, ts: 1 } as LabEvent;
    try {
      buildRunResults([log]);
      expect.unreachable();
    } catch (e) {
      expect(isLabError(e)).toBe(true);
    }
  });

  it('marks where the history changed: a 2% step eight runs ago is a change point', () => {
    const run = syntheticRun({ hostile: false, runId: 'now', speedFactor: 1.02 });
    const points = Array.from({ length: 20 }, (_, i) => ({
      runId: `n${i}`, startedAt: new Date(Date.UTC(2024, 11, 1 + i)).toISOString(), variant: ESPNN_INT8,
      value: 3890 * (i >= 13 ? 1.02 : 1) * (1 + 0.0004 * Math.sin(i * 7)),
    }));
    const r = buildRunResults(run.events, { history: { metric: 'latency.median', points } });
    const s = r.trend!.series.find((x) => x.variant === ESPNN_INT8)!;
    expect(s.points).toHaveLength(21);
    expect(s.points.at(-1)).toMatchObject({ runId: 'now', current: true });
    expect(s.changePoints.map((c) => c.runId)).toEqual(['n13']);
    expect(r.trend!.series.find((x) => x.variant === REF_INT8)!.points).toHaveLength(1);
  });
});
