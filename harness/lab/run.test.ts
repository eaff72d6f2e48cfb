import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../datasets/npy.js';
import { CANARY_MODEL_FILE } from './canary.js';
import { readJournal } from './journal.js';
import { runLab, type OpenFleet } from './run.js';
import { FakeBoard, type FakeBoardOptions } from './testing/fake-board.js';

function workspace(): { dir: string; scenario: string; rigs: string; reports: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-run-'));
  copyFileSync(CANARY_MODEL_FILE, path.join(dir, 'tiny.tflite'));
  writeFileSync(path.join(dir, 'images.npy'), encodeNpy(Uint8Array.from({ length: 4 * 64 }, (_, i) => (i * 31) & 0xff), [4, 8, 8, 1]));
  writeFileSync(path.join(dir, 'labels.npy'), encodeNpy(Int32Array.from([0, 1, 2, 0]), [4]));
  writeFileSync(path.join(dir, 'scenario.json'), JSON.stringify({
    name: 'run-test',
    matrix: { firmware: ['reference', 'esp-nn'], model: [{ id: 'tiny', path: 'tiny.tflite' }], arena: [{ size: 16384 }] },
    inputs: { accuracy: { inputs: 'images.npy', labels: 'labels.npy' } },
    warmup: 1, measure: { inferences: 10 }, rounds: 3,
    timeouts: { invokeS: 0.5, helloS: 0.5, connectS: 0.5 },
    canary: { inferences: 5 },
  }));
  const board = (id: string) => ({ id, chip: 'esp32s3', transport: { serial: { baud: 921600 } }, tags: ['sim'], simulated: { profile: 'esp32s3-devkitc-1-n16r8' } });
  writeFileSync(path.join(dir, 'rigs.json'), JSON.stringify({ boards: [board('b1'), board('b2')] }));
  return { dir, scenario: path.join(dir, 'scenario.json'), rigs: path.join(dir, 'rigs.json'), reports: path.join(dir, 'reports') };
}

function fakeFleet(options: Record<string, Partial<FakeBoardOptions>> = {}): OpenFleet {
  return async ({ selected }) => ({
    boards: new Map(selected.map((s, i) => [s.board.id, new FakeBoard({ id: s.board.id, seed: i + 1, msPerInference: 2, ...options[s.board.id] })])),
    close: async () => {},
  });
}

class Sink {
  text = '';
  write(s: string) { this.text += s; return true; }
}

describe('runLab', () => {
  it('leaves PSRAM-arena variants out on a board without PSRAM and says so, one line per skipped variant', async () => {
    const w = workspace();
    const spec = JSON.parse(readFileSync(w.scenario, 'utf8')) as { matrix: { arena: unknown[] }; rounds: number };
    spec.matrix.arena = [{ size: 16384 }, { size: 65536, placement: 'psram' }];
    spec.rounds = 1;
    writeFileSync(w.scenario, JSON.stringify(spec));
    const board = (id: string, profile: string) => ({ id, chip: 'esp32s3', transport: { serial: { baud: 921600 } }, tags: ['sim'], simulated: { profile } });
    writeFileSync(w.rigs, JSON.stringify({ boards: [board('b1', 'esp32s3-devkitc-1-n16r8'), board('b2', 'esp32s3-devkitc-1-n8')] }));
    const out = new Sink();
    const r = await runLab({ scenarioFile: w.scenario, rigsFile: w.rigs, reportsDir: w.reports, openFleet: fakeFleet(), stdout: out, handleSignals: false, runId: 'run-psram' });
    expect(r.exitCode).toBe(0);
    expect(out.text).toContain('skipped esp-nn/tiny/65536-psram/240mhz on b2: the board has no PSRAM (simulated profile esp32s3-devkitc-1-n8), and the variant\'s arena is in PSRAM\n');
    expect(out.text).toContain('skipped reference/tiny/65536-psram/240mhz on b2: ');
    const results = JSON.parse(readFileSync(path.join(r.runDir, 'results.json'), 'utf8')) as { trials: Array<{ board: string; variant: string }> };
    expect(results.trials.filter((t) => t.board === 'b2').every((t) => t.variant.includes('-internal/'))).toBe(true);
    expect(results.trials).toHaveLength(4 + 2);
  });

  it('runs a scenario to the end: journal, reports, summary and exit code 0', async () => {
    const w = workspace();
    const out = new Sink();
    const r = await runLab({ scenarioFile: w.scenario, rigsFile: w.rigs, reportsDir: w.reports, openFleet: fakeFleet(), stdout: out, handleSignals: false, runId: 'run-a' });
    expect(r.status).toBe('completed');
    expect(r.exitCode).toBe(0);
    for (const f of ['events.jsonl', 'results.json', 'report.html', 'junit.xml']) expect(existsSync(path.join(r.runDir, f))).toBe(true);
    const results = JSON.parse(readFileSync(path.join(r.runDir, 'results.json'), 'utf8')) as { trials: Array<{ status: string }>; run: { status: string } };
    expect(results.run.status).toBe('completed');
    expect(results.trials).toHaveLength(2 * 2 * 3);
    expect(results.trials.every((t) => t.status === 'passed')).toBe(true);
    expect(out.text).toMatch(/report: .*report\.html/);
    expect(out.text).toMatch(/exit 0/);
    // The journal on disk is the event stream the reports were built from.
    expect(readJournal(r.runDir).events.map((e) => e.seq)).toEqual(r.events.map((e) => e.seq));
    // A second run of the same board finds its canary history in the store.
    const again = await runLab({ scenarioFile: w.scenario, rigsFile: w.rigs, reportsDir: w.reports, openFleet: fakeFleet(), stdout: null, handleSignals: false, runId: 'run-b' });
    const canary = again.events.find((e) => e.type === 'board.canary' && e.board === 'b1');
    expect(canary).toMatchObject({ verdict: 'ok' });
    expect((canary as { historyMedianUs?: number }).historyMedianUs).toBeGreaterThan(0);
  });

  it('stops cleanly, writes a valid partial report, and --resume finishes exactly the rest', async () => {
    const w = workspace();
    const stop = new AbortController();
    // Ctrl-C in the middle of board b1's 14th INVOKE (the canary's is the first): some trials done, one abandoned.
    const fleet = fakeFleet({ b1: { onInvoke: (n) => { if (n === 14) stop.abort(); } } });
    const first = await runLab({ scenarioFile: w.scenario, rigsFile: w.rigs, reportsDir: w.reports, openFleet: fleet, stdout: null, handleSignals: false, stop: stop.signal, runId: 'run-c' });
    expect(first.status).toBe('interrupted');
    expect(first.exitCode).toBe(2);
    const partial = JSON.parse(readFileSync(path.join(first.runDir, 'results.json'), 'utf8')) as { run: { status: string; partial: boolean }; trials: Array<{ id: string; status: string }> };
    expect(partial.run).toMatchObject({ status: 'interrupted', partial: true });
    const passedBefore = partial.trials.filter((t) => t.status === 'passed').map((t) => t.id);
    expect(passedBefore.length).toBeGreaterThan(0);
    expect(passedBefore.length).toBeLessThan(12);

    const second = await runLab({ rigsFile: w.rigs, reportsDir: w.reports, resume: 'run-c', openFleet: fakeFleet(), stdout: null, handleSignals: false });
    expect(second.status).toBe('completed');
    expect(second.exitCode).toBe(0);
    const events = readJournal(second.runDir).events;
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const passed = events.filter((e) => e.type === 'trial.finished' && e.status === 'passed').map((e) => (e as { trial: string }).trial);
    expect(passed.slice().sort()).toEqual([...new Set(passed)].sort());
    expect(passed).toHaveLength(12);
    // Trials finished before the stop are not run again.
    const resumedAt = events.findIndex((e) => e.type === 'run.resumed');
    const startedAfter = events.slice(resumedAt).filter((e) => e.type === 'trial.started').map((e) => (e as { trial: string }).trial);
    expect(startedAfter.some((t) => passedBefore.includes(t))).toBe(false);
    // The canary is not repeated on resume.
    expect(events.filter((e) => e.type === 'board.canary')).toHaveLength(2);
    await expect(runLab({ rigsFile: w.rigs, reportsDir: w.reports, resume: 'run-c', openFleet: fakeFleet(), stdout: null, handleSignals: false }))
      .rejects.toThrow(/run run-c completed: there is nothing to resume/);
  });

  it('refuses to resume when the scenario changed since the run started', async () => {
    const w = workspace();
    const stop = new AbortController();
    stop.abort();
    await runLab({ scenarioFile: w.scenario, rigsFile: w.rigs, reportsDir: w.reports, openFleet: fakeFleet(), stdout: null, handleSignals: false, stop: stop.signal, runId: 'run-d' });
    writeFileSync(w.scenario, readFileSync(w.scenario, 'utf8').replace('"rounds":3', '"rounds":4'));
    await expect(runLab({ scenarioFile: w.scenario, rigsFile: w.rigs, reportsDir: w.reports, resume: 'run-d', openFleet: fakeFleet(), stdout: null, handleSignals: false }))
      .rejects.toThrow(/changed since run run-d started/);
  });

  it('a config error stops before anything is journaled', async () => {
    const w = workspace();
    writeFileSync(w.scenario, JSON.stringify({ name: 'x', matrix: { firmware: ['esp-nn'], model: [{ id: 'm', path: 'missing.tflite' }], arena: [{ size: 16384 }] } }));
    await expect(runLab({ scenarioFile: w.scenario, rigsFile: w.rigs, reportsDir: w.reports, openFleet: fakeFleet(), stdout: null, handleSignals: false }))
      .rejects.toThrow(/scenario\.json: \/matrix\/model\/0\/path: model file not found/);
    expect(existsSync(w.reports)).toBe(false);
  });
});
