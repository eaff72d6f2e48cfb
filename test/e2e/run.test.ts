/**
 * `hil run` end to end: the real CLI (a child process) runs a scenario on four simulated ESP32-S3
 * boards it starts itself - two on real PTYs (serialport), two on MQTT through the embedded aedes
 * broker - and what a user gets is checked: the exit code, the summary, results.json and the
 * journal hold every planned trial, measured on the board it was planned for, over the link the
 * rigs give it, with outputs bit-exact against the host reference.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabEvent } from '../../harness/lab/events.js';
import { exited, finishedTrials, fixture, hil, journalEvents, runDirOf, samplesByTrial, type Cli } from './fixtures/run-cli.js';

interface Results {
  run: { status: string; partial: boolean; simulated: boolean; plan: { trials: number; boards: string[] } };
  boards: Array<{ id: string; link?: string; address?: string; simulated: boolean; state: string; trials: { passed: number } }>;
  trials: Array<{ id: string; board: string; status: string; latency?: { n: number; median: number }; bitExact?: { bitExact: boolean }; fingerprint?: Record<string, unknown> }>;
  variants: Array<{ id: string; latency?: { median: number }; accuracy?: { top1: { total: number } } }>;
  exitCode: number;
}

describe('hil run on four simulated boards over PTYs and MQTT', () => {
  let reports: string;
  let cli: Cli;
  let code: number;
  let runDir: string;
  let results: Results;
  let events: LabEvent[];

  beforeAll(async () => {
    reports = mkdtempSync(path.join(tmpdir(), 'hil-e2e-run-'));
    cli = hil(['run', fixture('lab-small.json'), '--rigs', fixture('rigs-4.json'), '--reports-dir', reports, '--time-scale', '0.02', '--profile']);
    code = await exited(cli, 170_000);
    runDir = runDirOf(reports);
    results = JSON.parse(readFileSync(path.join(runDir, 'results.json'), 'utf8')) as Results;
    events = journalEvents(runDir);
  }, 180_000);

  afterAll(() => {
    if (code !== 0) console.log(cli.stdout(), cli.stderr());
  });

  it('exits 0 and prints the summary table and the path of the HTML report', () => {
    expect(code).toBe(0);
    expect(cli.stdout()).toMatch(/SIMULATED/);
    expect(cli.stdout()).toMatch(/VARIANT\s+N\s+MEDIAN/);
    expect(cli.stdout()).toMatch(/esp-nn\/cnn-int8\/65536-internal\/240mhz/);
    const report = /report: (\S+report\.html)/.exec(cli.stdout())?.[1];
    expect(report).toBeDefined();
    expect(existsSync(path.resolve(report!))).toBe(true);
  });

  it('results.json holds every planned trial, passed, with the measured samples', () => {
    expect(results.run).toMatchObject({ status: 'completed', partial: false, simulated: true });
    expect(results.run.plan.boards).toEqual(['sim-1', 'sim-2', 'sim-3', 'sim-4']);
    expect(results.trials).toHaveLength(4 * 4 * 2);
    expect(results.trials.filter((t) => t.status === 'passed')).toHaveLength(32);
    for (const t of results.trials) expect(t.latency?.n).toBe(20);
    const planned = (events.find((e) => e.type === 'run.started') as Extract<LabEvent, { type: 'run.started' }>).plan.trials.map((t) => t.id).sort();
    expect(results.trials.map((t) => t.id).sort()).toEqual(planned);
    expect(finishedTrials(events).map((e) => e.trial).sort()).toEqual(planned);
    // Samples in the journal are what results.json summarised.
    for (const [trial, cycles] of samplesByTrial(events)) expect(cycles).toHaveLength(20);
  });

  it('reached two boards over serial PTYs and two over MQTT, as the rigs say', () => {
    const byId = new Map(results.boards.map((b) => [b.id, b]));
    for (const id of ['sim-1', 'sim-2']) {
      expect(byId.get(id)).toMatchObject({ link: 'serial', simulated: true });
      expect(byId.get(id)!.address).toMatch(/^\/dev\/pts\/\d+$/);
    }
    for (const id of ['sim-3', 'sim-4']) expect(byId.get(id)).toMatchObject({ link: 'mqtt', address: `lab/${id}` });
    for (const b of results.boards) expect(b.trials.passed).toBe(8);
  });

  it('measured ESP-NN faster than reference on int8, and outputs bit-exact with the host reference', () => {
    const median = (id: string) => results.variants.find((v) => v.id === id)!.latency!.median;
    expect(median('reference/cnn-int8/65536-internal/240mhz') / median('esp-nn/cnn-int8/65536-internal/240mhz')).toBeGreaterThan(5);
    const acc = results.trials.filter((t) => t.bitExact);
    expect(acc.length).toBeGreaterThanOrEqual(16);
    expect(acc.every((t) => t.bitExact!.bitExact)).toBe(true);
    expect(results.variants.find((v) => v.id.includes('cnn-int8'))!.accuracy!.top1.total).toBe(20);
  });

  it('fingerprints every trial with what the board said about itself', () => {
    for (const t of results.trials) {
      expect(t.fingerprint).toMatchObject({ simulated: true, cpuMhz: 240, arenaPlacement: 'internal' });
      expect(t.fingerprint!.firmwareSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(t.fingerprint!.kernelBackend).toBe(t.id.startsWith('reference/') ? 'reference' : 'esp-nn');
    }
    // Every board ran the canary before its trials, and its boot log is in the journal.
    expect(new Set(events.filter((e) => e.type === 'board.canary').map((e) => (e as { board: string }).board)).size).toBe(4);
    expect(events.some((e) => e.type === 'board.log' && /ESP-ROM|boot:/.test(e.line))).toBe(true);
    expect(events.some((e) => e.type === 'trial.profile')).toBe(true);
  });
});
