import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Scenario } from '../config/types.js';
import { HistoryStore } from '../store/store.js';
import { ConsoleReporter } from './console.js';
import { fileReporters, finishRun } from './finish.js';
import { ReporterMux } from './reporter.js';
import { syntheticRun, toJournal, type SyntheticRunOptions } from './testing/synthetic-run.js';

const ESPNN_INT8 = 'esp-nn/cnn-int8/65536-internal/240mhz';
const SMALL: SyntheticRunOptions = { hostile: false, samples: 40, rounds: 2, models: ['cnn-int8'], accuracyInputs: 50 };

let reports: string;
beforeEach(() => {
  reports = path.join(mkdtempSync(path.join(tmpdir(), 'hil-finish-')), 'reports');
});
afterEach(() => {
  rmSync(path.dirname(reports), { recursive: true, force: true });
});

/** A night journalled under reports/<id>/ as the scheduler would leave it. */
function night(id: string, day: number, o: SyntheticRunOptions = {}): { runDir: string; run: ReturnType<typeof syntheticRun> } {
  const run = syntheticRun({ ...SMALL, runId: id, seed: day, startTs: Date.UTC(2025, 0, day, 2), ...o });
  const runDir = path.join(reports, id);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(path.join(runDir, 'events.jsonl'), toJournal(run.events));
  return { runDir, run };
}

function scenarioOf(run: ReturnType<typeof syntheticRun>, baseline = 'last-baseline'): Pick<Scenario, 'name' | 'gates' | 'baseline'> {
  return { name: run.scenario.name, gates: run.scenario.gates, baseline };
}

describe('finishRun', () => {
  it('writes the four reports, records the run, and skips gates until a baseline is set', async () => {
    const { runDir, run } = night('n1', 1);
    const r = await finishRun(runDir, run.events, { scenario: scenarioOf(run) });
    expect(r.files.map((f) => path.basename(f))).toEqual(['results.json', 'junit.xml', 'summary.md', 'report.html']);
    for (const f of r.files) expect(existsSync(f)).toBe(true);
    expect(r.exitCode).toBe(0);
    expect(r.results.gates.note).toBe('no baseline is set for scenario synthetic (set one with hil baseline set <run-id>)');
    const store = HistoryStore.open(path.join(reports, 'history.sqlite'));
    expect(store.getRun('n1')).toMatchObject({ status: 'completed', journalPath: path.join(runDir, 'events.jsonl') });
    store.close();
  });

  it('compares with the baseline set in the store, shows the trend, and exits 1 on a regression', async () => {
    for (const day of [1, 2, 3]) {
      const { runDir, run } = night(`n${day}`, day);
      await finishRun(runDir, run.events, { scenario: scenarioOf(run) });
    }
    const store = HistoryStore.open(path.join(reports, 'history.sqlite'));
    store.setBaseline('n2');
    const { runDir, run } = night('n4', 4, { regression: { variant: (v) => v.id === ESPNN_INT8, pct: 5 } });
    const r = await finishRun(runDir, run.events, { scenario: scenarioOf(run), store });
    store.close();
    expect(r.results.baseline!.runId).toBe('n2');
    expect(r.results.gates.failed).toBe(1);
    expect(r.exitCode).toBe(1);
    const trend = r.results.trend!.series.find((s) => s.variant === ESPNN_INT8)!;
    expect(trend.points.map((p) => [p.runId, p.current])).toEqual([['n1', false], ['n2', false], ['n3', false], ['n4', true]]);
  });

  it('an emulated night trends only against earlier emulated nights, and warns against a simulated baseline', async () => {
    for (const day of [1, 2]) {
      const { runDir, run } = night(`sim${day}`, day);
      await finishRun(runDir, run.events, { scenario: scenarioOf(run) });
    }
    const first = night('emu3', 3, { provenance: 'emulated' });
    await finishRun(first.runDir, first.run.events, { scenario: scenarioOf(first.run) });
    const store = HistoryStore.open(path.join(reports, 'history.sqlite'));
    store.setBaseline('sim2');
    const { runDir, run } = night('emu4', 4, { provenance: 'emulated' });
    const r = await finishRun(runDir, run.events, { scenario: scenarioOf(run), store });
    expect(r.results.trend!.series.find((s) => s.variant === ESPNN_INT8)!.points.map((p) => p.runId)).toEqual(['emu3', 'emu4']);
    expect(r.results.warnings).toContain('the baseline run sim2 has provenance simulated and this run emulated: their latencies do not compare (trials of different provenance are never compared)');
    expect(store.getRun('emu4')).toMatchObject({ provenances: ['emulated'], simulated: false });
    expect(store.canaryHistory('sim-1', { provenance: 'emulated' }).map((c) => c.runId)).toEqual(['emu3', 'emu4']);
    store.close();
  });

  it('follows the scenario\'s baseline policy: none, a run id, itself, a run whose journal is gone', async () => {
    const first = night('n1', 1);
    await finishRun(first.runDir, first.run.events, { scenario: scenarioOf(first.run) });
    const { runDir, run } = night('n2', 2);

    const none = await finishRun(runDir, run.events, { scenario: scenarioOf(run, 'none') });
    expect(none.results.gates.note).toBe('the scenario sets "baseline": "none"');
    expect(none.exitCode).toBe(0);

    const byId = await finishRun(runDir, run.events, { scenario: scenarioOf(run, 'n1') });
    expect(byId.results.gates.baselineRun).toBe('n1');
    expect(byId.results.gates.passed).toBeGreaterThan(0);

    const self = await finishRun(runDir, run.events, { scenario: scenarioOf(run, 'n2') });
    expect(self.results.gates.note).toBe('this run is the baseline of scenario synthetic');

    rmSync(first.runDir, { recursive: true });
    const gone = await finishRun(runDir, run.events, { scenario: scenarioOf(run, 'n1') });
    expect(gone.exitCode).toBe(2);
    expect(gone.results.gates.errors).toBeGreaterThan(0);
    expect(gone.results.gates.results.find((g) => g.status === 'error')!.explanation).toBe(`latency.median: the baseline run n1's journal ${path.join(first.runDir, 'events.jsonl')} is missing (restore it, or set another baseline with hil baseline set <run-id>)`);
  });

  it('a report that cannot be written makes the exit code 2; the other reports are still written', async () => {
    const { runDir, run } = night('n1', 1);
    const failures: string[] = [];
    const mux = new ReporterMux([...fileReporters(), { name: 'broken', onEnd: () => { throw new Error('no space left on device'); } }], { onFailure: (f) => failures.push(`${f.reporter}: ${f.message}`) });
    for (const e of run.events) mux.onEvent(e);
    const r = await finishRun(runDir, run.events, { scenario: scenarioOf(run), mux, store: false });
    expect(r.results.exitCode).toBe(0);
    expect(r.exitCode).toBe(2);
    expect(r.files).toHaveLength(4);
    expect(failures).toEqual(['broken: no space left on device']);
    expect(existsSync(path.join(reports, 'history.sqlite'))).toBe(false);
  });

  it('prints the console summary last, naming the HTML report', async () => {
    const { runDir, run } = night('n1', 1);
    let text = '';
    const console = new ConsoleReporter({ stream: { write: (s: string) => { text += s; return true; } }, progress: false });
    await finishRun(runDir, run.events, { scenario: scenarioOf(run), console, store: false });
    expect(text).toContain(`report: ${path.join(runDir, 'report.html')}`);
    expect(text.trimEnd().split('\n').at(-1)).toBe('exit 0: all 4 gates pass (12 skipped)');
  });
});
