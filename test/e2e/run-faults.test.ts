/**
 * Board faults (issue 3's fault injection, from rigs.json) against the real CLI: a board whose
 * serial line corrupts bytes, one that hangs once and one that browns out once are reset, probed
 * again and their trials retried; a
 * board that keeps browning out is quarantined, the run finishes on the others, and the fault is
 * in the journal, in results.json and in the HTML report.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LabEvent } from '../../harness/lab/events.js';
import { exited, fixture, hil, journalEvents, runDirOf, type Cli } from './fixtures/run-cli.js';

interface Results {
  run: { status: string; partial: boolean };
  boards: Array<{ id: string; state: string; quarantined?: { reason: string }; trials: { passed: number; error: number; notRun: number } }>;
  trials: Array<{ id: string; board: string; status: string; attempts: number; errors: Array<{ code: string; message: string }> }>;
  warnings: string[];
  exitCode: number;
}

describe('hil run with faulty simulated boards', () => {
  let cli: Cli;
  let code: number;
  let runDir: string;
  let results: Results;
  let events: LabEvent[];
  let html: string;

  beforeAll(async () => {
    const reports = mkdtempSync(path.join(tmpdir(), 'hil-e2e-faults-'));
    cli = hil(['run', fixture('lab-small.json'), '--rigs', fixture('rigs-faults.json'), '--reports-dir', reports, '--time-scale', '0.02']);
    code = await exited(cli, 200_000);
    runDir = runDirOf(reports);
    results = JSON.parse(readFileSync(path.join(runDir, 'results.json'), 'utf8')) as Results;
    events = journalEvents(runDir);
    html = readFileSync(path.join(runDir, 'report.html'), 'utf8');
  }, 210_000);

  it('finishes the run on the healthy boards with the faulty one quarantined', () => {
    expect(code, cli.stdout() + cli.stderr()).toBe(0);
    expect(results.run.status).toBe('completed');
    const b = new Map(results.boards.map((x) => [x.id, x]));
    expect(b.get('sim-4')!.state).toBe('quarantined');
    expect(b.get('sim-4')!.quarantined!.reason).toMatch(/failed 3 times in a row/);
    expect(b.get('sim-4')!.trials.notRun).toBeGreaterThan(0);
    for (const id of ['sim-1', 'sim-2', 'sim-3']) {
      expect(b.get(id)!.state).not.toBe('quarantined');
      expect(b.get(id)!.trials.passed).toBe(8);
    }
    expect(cli.stdout()).toMatch(/sim-4: QUARANTINED/);
  });

  it('retried the trials a hang, a brown-out and corrupted bytes interrupted, after a reset', () => {
    const retried = results.trials.filter((t) => t.status === 'passed' && t.attempts > 1);
    expect(new Set(retried.map((t) => t.board))).toEqual(new Set(['sim-1', 'sim-2', 'sim-3']));
    // sim-1's serial line flips bits: a damaged request frame is refused by the board (CRC), the trial retried.
    expect(retried.find((t) => t.board === 'sim-1')!.errors[0].message).toMatch(/BAD_FRAME|damaged/);
    const sim2 = retried.find((t) => t.board === 'sim-2')!;
    expect(sim2.errors[0].message).toMatch(/no reply to .* for \d+ s|took longer than/);
    const sim3 = retried.find((t) => t.board === 'sim-3')!;
    expect(sim3.errors[0].message).toMatch(/reboot/i);
    // The board went failed -> ready again and said a fresh hello.
    for (const id of ['sim-2', 'sim-3']) {
      expect(events.some((e) => e.type === 'board.state' && e.board === id && e.to === 'failed')).toBe(true);
      expect(events.filter((e) => e.type === 'board.hello' && e.board === id).length).toBeGreaterThanOrEqual(2);
    }
  });

  it('keeps the fault in the journal and the reports: the brown-out banner, the errors, the quarantine', () => {
    expect(events.some((e) => e.type === 'board.log' && e.board === 'sim-4' && /[Bb]rownout/.test(e.line))).toBe(true);
    const q = events.find((e) => e.type === 'board.quarantined');
    expect(q).toMatchObject({ board: 'sim-4' });
    expect(results.warnings.some((w) => /board sim-4 was quarantined/.test(w))).toBe(true);
    expect(html).toContain('sim-4');
    expect(html).toMatch(/quarantined/i);
    expect(html).toContain(results.boards.find((x) => x.id === 'sim-4')!.quarantined!.reason.slice(0, 40).replace(/&/g, '&amp;').replace(/</g, '&lt;'));
  });
});
