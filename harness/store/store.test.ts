import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRunResults } from '../report/results.js';
import type { RunResults } from '../report/results-types.js';
import { syntheticRun } from '../report/testing/synthetic-run.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION, schemaVersion } from './migrations.js';
import { HistoryStore } from './store.js';
import { writeRunRows } from './write.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hil-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ESPNN_INT8 = 'esp-nn/cnn-int8/65536-internal/240mhz';

function night(i: number, o: Parameters<typeof syntheticRun>[0] = {}): RunResults {
  return buildRunResults(syntheticRun({ runId: `night-${i}`, seed: i + 1, hostile: false, samples: 30, rounds: 1, startTs: Date.UTC(2025, 0, 1 + i, 2), ...o }).events);
}

const tables = (db: Database.Database): string[] =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);

/**
 * A history as a lab before provenance (schema version 2) left it: today's rows without the
 * provenance columns that migration 3 adds.
 */
function version2File(file: string, runs: readonly RunResults[]): void {
  const db = new Database(file);
  migrate(db, file);
  db.transaction(() => { for (const r of runs) writeRunRows(db, r, `reports/${r.run.id}/events.jsonl`, '2025-01-01T03:00:00.000Z'); })();
  db.exec('DROP INDEX canaries_by_provenance');
  for (const table of ['runs', 'boards', 'variants', 'canaries']) db.exec(`ALTER TABLE ${table} DROP COLUMN provenance`);
  db.prepare('UPDATE schema_version SET version = 2').run();
  db.close();
}

const count = (store: HistoryStore, table: string, runId: string): number =>
  (store.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE run_id = ?`).get(runId) as { n: number }).n;

describe('history store migrations', () => {
  it('creates the latest schema in an empty file', () => {
    const store = HistoryStore.open(path.join(dir, 'h.sqlite'));
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(tables(store.db)).toEqual(['artifacts', 'baselines', 'boards', 'canaries', 'runs', 'schema_version', 'trials', 'variants']);
    store.close();
  });

  it('upgrades a file at version 1 (no baselines yet)', () => {
    const file = path.join(dir, 'v1.sqlite');
    const db = new Database(file);
    expect(migrate(db, file, 1)).toEqual({ from: 0, to: 1 });
    expect(tables(db)).not.toContain('baselines');
    db.close();
    const store = HistoryStore.open(file);
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(tables(store.db)).toContain('baselines');
    store.close();
  });

  it('upgrades a file at version N-1 and keeps its runs, each row as board or simulated as its simulated flag said', () => {
    expect(MIGRATIONS.at(-1)!.description).toMatch(/^provenance/);
    const file = path.join(dir, 'old.sqlite');
    version2File(file, [night(0), night(1, { simulated: false })]);
    const old = new Database(file);
    expect(schemaVersion(old)).toBe(SCHEMA_VERSION - 1);
    expect((old.prepare('SELECT * FROM runs LIMIT 1').get() as Record<string, unknown>).provenance).toBeUndefined();
    old.close();

    const store = HistoryStore.open(file);
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(store.getRun('night-0')).toMatchObject({ status: 'completed', trialsPlanned: 32, journalPath: 'reports/night-0/events.jsonl', simulated: true, provenances: ['simulated'] });
    expect(store.getRun('night-1')).toMatchObject({ simulated: false, provenances: ['board'] });
    const classes = (table: string, runId: string): string[] =>
      (store.db.prepare(`SELECT DISTINCT provenance FROM ${table} WHERE run_id = ?`).all(runId) as Array<{ provenance: string }>).map((r) => r.provenance);
    for (const table of ['boards', 'variants', 'canaries']) {
      expect(classes(table, 'night-0')).toEqual(['simulated']);
      expect(classes(table, 'night-1')).toEqual(['board']);
    }
    expect(store.canaryHistory('sim-1', { provenance: 'board' }).map((c) => c.runId)).toEqual(['night-1']);
    expect(store.setBaseline('night-0').runId).toBe('night-0');
    expect(store.baseline('synthetic')!.runId).toBe('night-0');
    store.close();
  });

  it('refuses a file from a newer lab, in one sentence', () => {
    const file = path.join(dir, 'new.sqlite');
    HistoryStore.open(file).close();
    const db = new Database(file);
    db.prepare('UPDATE schema_version SET version = 99').run();
    db.close();
    expect(() => HistoryStore.open(file)).toThrow(/new\.sqlite: the history has schema version 99, newer than this lab's 3 \(update the lab, or give hil another --store file\)$/);
  });

  it('refuses a file that is not a history', () => {
    const file = path.join(dir, 'notes.sqlite');
    writeFileSync(file, 'these are my notes, not a database\n'.repeat(100));
    expect(() => HistoryStore.open(file)).toThrow(/notes\.sqlite: .*move the file away and the lab starts a new history$/);
  });

  it('a failing migration step leaves the file at its old version', () => {
    const file = path.join(dir, 'half.sqlite');
    const db = new Database(file);
    migrate(db, file, 1);
    db.exec('CREATE TABLE baselines (x INTEGER)'); // what version 2 is about to create
    expect(() => migrate(db, file)).toThrow(/already exists/);
    expect(schemaVersion(db)).toBe(1);
    db.close();
  });
});

describe('history store runs', () => {
  it('records a run whole and replaces it when recorded again', () => {
    const store = HistoryStore.open(path.join(dir, 'h.sqlite'));
    const r = night(0);
    store.recordRun(r, { journalPath: 'reports/night-0/events.jsonl' });
    store.recordRun(r, { journalPath: 'reports/night-0/events.jsonl' });
    expect(store.listRuns().map((x) => x.id)).toEqual(['night-0']);
    expect(count(store, 'trials', 'night-0')).toBe(32);
    expect(count(store, 'variants', 'night-0')).toBe(8);
    expect(count(store, 'boards', 'night-0')).toBe(4);
    expect(count(store, 'canaries', 'night-0')).toBe(4);
    const hashes = store.db.prepare("SELECT kind, name FROM artifacts WHERE run_id = 'night-0' ORDER BY kind, name").all();
    expect(hashes).toEqual([
      { kind: 'firmware', name: 'esp-nn' }, { kind: 'firmware', name: 'reference' },
      { kind: 'model', name: 'cnn-float' }, { kind: 'model', name: 'cnn-int8' },
    ]);
    const t = store.trials('night-0').find((x) => x.variant === ESPNN_INT8 && x.board === 'sim-1')!;
    expect(t).toMatchObject({ status: 'passed', n: 30 });
    expect(t.median).toBeCloseTo(r.trials.find((x) => x.id === t.trialId)!.latency!.median, 6);
    store.close();
  });

  it('a write that fails half-way leaves nothing of it, and the earlier recording intact', () => {
    const store = HistoryStore.open(path.join(dir, 'h.sqlite'));
    store.recordRun(night(0));
    const broken = night(0);
    // Two trials with the same id: the second INSERT violates the primary key after the run,
    // its boards, variants and the first trial rows were written.
    broken.trials.push({ ...broken.trials[0] });
    expect(() => store.recordRun(broken)).toThrow(/UNIQUE constraint failed: trials.run_id, trials.trial_id/);
    expect(count(store, 'trials', 'night-0')).toBe(32);
    const fresh = night(1);
    fresh.trials.push({ ...fresh.trials[0] });
    expect(() => store.recordRun(fresh)).toThrow();
    expect(store.getRun('night-1')).toBeUndefined();
    expect(count(store, 'variants', 'night-1')).toBe(0);
    store.close();
  });

  it('a host that dies mid-write (SIGKILL before COMMIT) leaves no half-written run visible', () => {
    const file = path.join(dir, 'h.sqlite');
    const store = HistoryStore.open(file);
    store.recordRun(night(0));
    store.close();
    const writer = fileURLToPath(new URL('./testing/crash-writer.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', writer, file, 'crashed'], { encoding: 'utf8', timeout: 60_000 });
    expect(child.stdout).toBe('written, not committed\n');
    expect(child.signal).toBe('SIGKILL');
    const after = HistoryStore.open(file);
    expect(after.getRun('crashed')).toBeUndefined();
    for (const t of ['trials', 'variants', 'boards', 'canaries', 'artifacts']) expect(count(after, t, 'crashed')).toBe(0);
    expect(after.listRuns().map((x) => x.id)).toEqual(['night-0']);
    after.close();
  });
});

describe('history store queries', () => {
  function filled(): HistoryStore {
    const store = HistoryStore.open(path.join(dir, 'h.sqlite'), { now: () => new Date('2025-02-01T00:00:00Z') });
    for (let i = 0; i < 6; i++) store.recordRun(night(i, { speedFactor: i >= 4 ? 1.05 : 1 }));
    store.recordRun(night(6, { interruptAfterTrials: 5 }));
    store.recordRun(night(7, { simulated: false }));
    return store;
  }

  it('returns the last N completed runs of a metric per variant, oldest first', () => {
    const store = filled();
    const all = store.metricHistory('synthetic', { variant: ESPNN_INT8, simulated: true });
    expect(all.map((p) => p.runId)).toEqual(['night-0', 'night-1', 'night-2', 'night-3', 'night-4', 'night-5']);
    expect(all[4].value / all[3].value).toBeGreaterThan(1.04);
    expect(all[0].lower).toBeLessThan(all[0].value);
    expect(store.metricHistory('synthetic', { variant: ESPNN_INT8, limit: 2, simulated: true }).map((p) => p.runId)).toEqual(['night-4', 'night-5']);
    expect(store.metricHistory('synthetic', { variant: ESPNN_INT8, before: '2025-01-03T00:00:00.000Z' }).map((p) => p.runId)).toEqual(['night-0', 'night-1']);
    expect(store.metricHistory('synthetic', { variant: ESPNN_INT8, excludeRun: 'night-7' }).map((p) => p.runId)).not.toContain('night-7');
    expect(store.metricHistory('synthetic', { variant: ESPNN_INT8, simulated: false }).map((p) => p.runId)).toEqual(['night-7']);
    expect(store.metricHistory('synthetic', { metric: 'accuracy.top1', limit: 1 })).toHaveLength(8);
    expect(store.metricHistory('synthetic', { metric: 'arena.used', variant: ESPNN_INT8, limit: 1 })[0].value).toBe(50260);
    expect(() => store.metricHistory('synthetic', { metric: 'latency.p50' })).toThrow('unknown metric latency.p50 (one of latency.median, latency.mean, latency.p90, latency.p99, accuracy.top1, arena.used, image.size)');
    store.close();
  });

  it("keeps each board's canary history (the scheduler compares new canaries with it)", () => {
    const store = filled();
    const h = store.canaryHistory('sim-2', { limit: 3 });
    expect(h.map((c) => c.runId)).toEqual(['night-5', 'night-6', 'night-7']);
    expect(h[0]).toMatchObject({ board: 'sim-2', model: 'canary-int8', n: 30, verdict: 'ok', simulated: true });
    expect(h[0].medianUs).toBeGreaterThan(3800);
    expect(store.canaryHistory('sim-9')).toEqual([]);
    expect(store.canaryHistory('sim-2', { simulated: false }).map((c) => c.runId)).toEqual(['night-7']);
    expect(store.canaryMedians('sim-2', 'canary-int8', 'simulated', 2)).toEqual(store.canaryHistory('sim-2', { simulated: true, limit: 2 }).map((c) => c.medianUs));
    expect(store.canaryMedians('sim-2', 'other-key', 'simulated')).toEqual([]);
    store.close();
  });

  it('keeps provenance apart: a board id once simulated and now emulated gets a canary history and a trend of its own', () => {
    const store = filled();
    store.recordRun(night(8, { provenance: 'emulated' }));
    store.recordRun(night(9, { provenance: 'emulated' }));
    expect(store.getRun('night-8')).toMatchObject({ simulated: false, provenances: ['emulated'] });
    // The simulated filter still sees the emulated runs as not simulated, as before.
    expect(store.canaryHistory('sim-2', { simulated: false }).map((c) => c.runId)).toEqual(['night-7', 'night-8', 'night-9']);
    expect(store.canaryHistory('sim-2', { provenance: 'emulated' }).map((c) => c.runId)).toEqual(['night-8', 'night-9']);
    expect(store.canaryHistory('sim-2', { provenance: 'board' }).map((c) => c.runId)).toEqual(['night-7']);
    expect(store.canaryHistory('sim-2', { provenance: 'emulated' })[0]).toMatchObject({ provenance: 'emulated', simulated: false });
    // What the scheduler's canary check reads: only medians of the board's own class.
    const emulated = store.canaryHistory('sim-2', { provenance: 'emulated' }).map((c) => c.medianUs);
    expect(store.canaryMedians('sim-2', 'canary-int8', 'emulated')).toEqual(emulated);
    expect(store.canaryMedians('sim-2', 'canary-int8', 'simulated')).toHaveLength(7);
    expect(store.canaryMedians('sim-3', 'canary-int8', 'emulated', 1)).toHaveLength(1);

    const trend = store.metricHistory('synthetic', { variant: ESPNN_INT8, provenance: 'emulated' });
    expect(trend.map((p) => [p.runId, p.provenance])).toEqual([['night-8', 'emulated'], ['night-9', 'emulated']]);
    expect(store.metricHistory('synthetic', { variant: ESPNN_INT8, provenance: 'board' }).map((p) => p.runId)).toEqual(['night-7']);
    // The limit counts runs of the class only.
    expect(store.metricHistory('synthetic', { variant: ESPNN_INT8, provenance: 'simulated', limit: 2 }).map((p) => p.runId)).toEqual(['night-4', 'night-5']);
    store.close();
  });

  it('sets baselines only to complete runs, and the latest one wins', () => {
    const store = filled();
    expect(() => store.setBaseline('night-6')).toThrow('run night-6 did not complete (interrupted): a baseline must be a complete run (resume it with hil run --resume night-6, or pick another run)');
    expect(() => store.setBaseline('nope')).toThrow(/^run nope is not in the history .*h\.sqlite \(record it first: hil report nope\)$/);
    expect(store.baseline('synthetic')).toBeUndefined();
    store.setBaseline('night-1', { note: 'first good night' });
    store.setBaseline('night-3');
    expect(store.baseline('synthetic')).toMatchObject({ scenario: 'synthetic', runId: 'night-3', setAt: '2025-02-01T00:00:00.000Z' });
    // Re-recording the baseline run (hil report) keeps it the baseline.
    store.recordRun(night(3));
    expect(store.baseline('synthetic')!.run!.id).toBe('night-3');
    expect(store.baselines().map((b) => b.runId)).toEqual(['night-3']);
    store.close();
  });
});
