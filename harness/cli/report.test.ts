import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRun, toJournal } from '../report/testing/synthetic-run.js';
import { HistoryStore } from '../store/store.js';
import { hil } from './testing/hil.js';

const tinyModel = fileURLToPath(new URL('../config/testdata/models/tiny.tflite', import.meta.url));
const ESPNN_INT8 = 'esp-nn/cnn-int8/65536-internal/240mhz';

let dir: string;
let reports: string;
let scenarioFile: string;

function writeRun(id: string, options: Parameters<typeof syntheticRun>[0]): string {
  const run = syntheticRun({ runId: id, hostile: false, samples: 40, rounds: 2, models: ['cnn-int8'], ...options });
  mkdirSync(path.join(reports, id), { recursive: true });
  const file = path.join(reports, id, 'events.jsonl');
  writeFileSync(file, toJournal(run.events));
  return file;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hil-cli-report-'));
  reports = path.join(dir, 'reports');
  scenarioFile = path.join(dir, 'synthetic.json');
  writeFileSync(scenarioFile, JSON.stringify({
    name: 'synthetic',
    matrix: { firmware: ['reference', 'esp-nn'], model: [{ id: 'cnn-int8', path: tinyModel }], arena: [{ size: 65536 }, { size: 65536, placement: 'psram' }] },
    gates: [{ metric: 'latency.median', maxIncreasePct: 3, alpha: 0.01 }, { metric: 'arena.used', maxIncreasePct: 5 }],
  }));
  writeRun('night-1', { seed: 1, startTs: Date.UTC(2025, 0, 1, 2) });
  writeRun('night-2', { seed: 2, startTs: Date.UTC(2025, 0, 2, 2), regression: { variant: (v) => v.id === ESPNN_INT8, pct: 5 } });
  writeRun('night-3', { seed: 3, startTs: Date.UTC(2025, 0, 3, 2), interruptAfterTrials: 4 });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('hil report / baseline / compare / history', () => {
  it('hil report rebuilds every report from the journal and records the run', async () => {
    const r = await hil('report', 'night-1', '--reports-dir', reports, '--scenario', scenarioFile);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const f of ['results.json', 'junit.xml', 'summary.md', 'report.html']) expect(existsSync(path.join(reports, 'night-1', f)), f).toBe(true);
    expect(r.out).toContain('gates: 0 passed, 0 failed, 0 errors, 8 skipped');
    expect(r.out).not.toContain('warnings:');
    expect(r.out).toContain('  note: no baseline is set for scenario synthetic (set one with hil baseline set <run-id>)');
    expect(r.out).toMatch(/exit 0: no gate was evaluated \(no baseline is set/);
    const store = HistoryStore.open(path.join(reports, 'history.sqlite'));
    expect(store.getRun('night-1')).toMatchObject({ status: 'completed', trialsPassed: 32 });
    store.close();
  });

  it('hil baseline set / show', async () => {
    const set = await hil('baseline', 'set', 'night-1', '--reports-dir', reports, '--note', 'first night');
    expect(set.code).toBe(0);
    expect(set.out).toBe('baseline of scenario synthetic is now run night-1 (started 2025-01-01T02:00:00.000Z, commit 0123456789ab)\n');
    const show = await hil('baseline', 'show', '--reports-dir', reports);
    expect(show.out.split('\n')[0]).toMatch(/^SCENARIO +RUN +STARTED +COMMIT +SET +NOTE$/);
    expect(show.out.split('\n')[1]).toMatch(/^synthetic +night-1 +2025-01-01T02:00:00\.000Z +0123456789ab +\S+ +first night$/);
    const none = await hil('baseline', 'show', 'other', '--reports-dir', reports);
    expect(none.out).toBe('scenario other has no baseline (set one with hil baseline set <run-id>)\n');
  });

  it('a 5% slower variant against the baseline fails its gate: exit 1, and junit.xml says why', async () => {
    const r = await hil('report', 'night-2', '--reports-dir', reports, '--scenario', scenarioFile);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`  FAIL ${ESPNN_INT8}: latency\\.median \\+[45]\\.\\d\\d% .*limit \\+3%: FAIL, beyond the limit and significant`));
    const junit = readFileSync(path.join(reports, 'night-2', 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<failure message="latency\.median \+[45]\.\d\d% /);
  });

  it('an interrupted run still gets its reports, with exit 2', async () => {
    const r = await hil('report', 'night-3', '--reports-dir', reports, '--scenario', scenarioFile);
    expect(r.code).toBe(2);
    expect(r.out).toContain('exit 2: the run did not complete (interrupted)');
    expect(existsSync(path.join(reports, 'night-3', 'report.html'))).toBe(true);
  });

  it('hil compare prints the benchstat-like table, writes the comparison files, exit code by the gates', async () => {
    const r = await hil('compare', 'night-1', 'night-2', '--reports-dir', reports, '--scenario', scenarioFile);
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines).toContain('night-2 against night-1 (median latency; "~": no significant change after Holm)');
    expect(lines.find((l) => l.startsWith('VARIANT '))).toMatch(/^VARIANT +night-1 +night-2 +DELTA +95% CI +P \(HOLM\)$/);
    expect(lines.find((l) => l.startsWith(`${ESPNN_INT8} `))).toMatch(/^esp-nn\/cnn-int8\/65536-internal\/240mhz +3\.\d{3} ms +4\.\d{3} ms +\+[45]\.\d\d% +\+[45]\.\d\d% to \+[45]\.\d\d% +p<0\.0001$/);
    for (const ext of ['md', 'html', 'json']) expect(existsSync(path.join(reports, `compare-night-1-night-2.${ext}`))).toBe(true);
    expect(readFileSync(path.join(reports, 'compare-night-1-night-2.md'), 'utf8')).toContain('### Latency against `night-1` (median)');
  });

  it('hil history prints each variant\'s trend', async () => {
    const r = await hil('history', 'synthetic', '--reports-dir', reports, '--variant', ESPNN_INT8);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('latency.median of scenario synthetic, last 2 completed runs');
    expect(lines).toContain(ESPNN_INT8);
    expect(lines.filter((l) => /^ {2}night-[12] +2025-01-0[12]T02:00:00\.000Z +3\.\d{3} ms|^ {2}night-2 .* 4\.\d{3} ms/.test(l))).toHaveLength(2);
    expect(r.out).toContain('  no change point (need at least 6 runs of history to look for change points, got 2)');
  });

  it('user errors end in one line and exit 2', async () => {
    const missing = await hil('report', 'nope', '--reports-dir', reports);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^hil: no run "nope": .*reports\/nope\/events\.jsonl does not exist \(give a run id under .*, a run directory, or the path of an events\.jsonl\)\n$/);
    const base = await hil('baseline', 'set', 'night-9', '--reports-dir', reports);
    expect(base.err).toMatch(/^hil: run night-9 is not in the history .*history\.sqlite \(record it first: hil report night-9\)\n$/);
    const partial = await hil('baseline', 'set', 'night-3', '--reports-dir', reports);
    expect(partial.err).toBe('hil: run night-3 did not complete (interrupted): a baseline must be a complete run (resume it with hil run --resume night-3, or pick another run)\n');
    const metric = await hil('history', 'synthetic', '--reports-dir', reports, '--metric', 'speed');
    expect(metric.err).toBe('hil: --metric speed: not a history metric (one of latency.median, latency.mean, latency.p90, latency.p99, accuracy.top1, arena.used, image.size)\n');
  });

  it('a damaged journal is named with its line; a last line cut by a crash is only a warning', async () => {
    const damaged = writeRun('night-4', { seed: 4 });
    const lines = readFileSync(damaged, 'utf8').split('\n');
    lines.splice(2, 0, '{"type": "board.log", "board": ');
    writeFileSync(damaged, lines.join('\n'));
    const r = await hil('report', 'night-4', '--reports-dir', reports, '--no-history');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^hil: .*night-4\/events\.jsonl:3: not a JSON event \(.*\); the journal is damaged: rebuild from a copy, or delete the line\n$/);

    const torn = writeRun('night-5', { seed: 5, crashAfterTrials: 6 });
    appendFileSync(torn, '{"type":"trial.samples","trial":"x","att');
    const t = await hil('report', 'night-5', '--reports-dir', reports, '--no-history');
    expect(t.code).toBe(2);
    expect(t.out).toMatch(/night-5\/events\.jsonl:\d+: the last line is cut short \(the run stopped while writing it\) and was left out/);
    expect(t.out).toContain('exit 2: the run did not complete (incomplete)');
  });
});
