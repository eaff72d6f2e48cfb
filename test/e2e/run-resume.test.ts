/**
 * A run that dies (SIGKILL of the harness) or is stopped (SIGINT) loses nothing: the real CLI is
 * killed in the middle of a run on the simulated fleet, then `hil run --resume <run-id>` carries
 * on; every trial finished before the kill keeps exactly the samples it had, no trial is measured
 * twice, and the resumed run ends complete. Ctrl-C stops cleanly with a valid partial report.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LabEvent } from '../../harness/lab/events.js';
import { exited, finishedTrials, fixture, hil, journalEvents, samplesByTrial, waitForJournal } from './fixtures/run-cli.js';

const RUN = ['--rigs', fixture('rigs-4.json'), '--time-scale', '0.05'];

describe('hil run: kill, resume, Ctrl-C', () => {
  it('SIGKILL mid-run, then --resume: nothing measured before the kill is lost or duplicated', async () => {
    const reports = mkdtempSync(path.join(tmpdir(), 'hil-e2e-kill-'));
    const first = hil(['run', fixture('lab-small.json'), '--reports-dir', reports, ...RUN]);
    const runDir = await waitForJournal(reports, (ev) => finishedTrials(ev).length >= 6, 120_000, first);
    first.child.kill('SIGKILL');
    expect(await exited(first, 10_000)).toBe(128 + 9);

    const before = journalEvents(runDir);
    const doneBefore = samplesByTrial(before);
    expect(doneBefore.size).toBeGreaterThanOrEqual(6);
    expect(doneBefore.size).toBeLessThan(32);
    expect(before.some((e) => e.type === 'run.finished')).toBe(false);

    const runId = path.basename(runDir);
    const second = hil(['run', '--resume', runId, '--reports-dir', reports, ...RUN]);
    const code = await exited(second, 170_000);
    expect(code, second.stdout() + second.stderr()).toBe(0);
    expect(second.stdout()).toMatch(/resumed: \d+ trials already finished/);

    const after = journalEvents(runDir);
    // The journal before the kill is the head of the journal after it (bar a torn last line), and seq carries on.
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => i + 1));
    const doneAfter = samplesByTrial(after);
    expect([...doneAfter.keys()].sort()).toHaveLength(32);
    for (const [trial, cycles] of doneBefore) expect(doneAfter.get(trial)).toEqual(cycles);
    // Finished trials were not started again after the resume; each trial has exactly one passing attempt.
    const resumedAt = after.findIndex((e) => e.type === 'run.resumed');
    const restarted = after.slice(resumedAt).filter((e) => e.type === 'trial.started' && doneBefore.has(e.trial));
    expect(restarted).toEqual([]);
    const passes = finishedTrials(after).filter((e) => e.status === 'passed').map((e) => e.trial);
    expect(new Set(passes).size).toBe(passes.length);

    const results = JSON.parse(readFileSync(path.join(runDir, 'results.json'), 'utf8')) as { run: { status: string; resumes: number; partial: boolean }; trials: Array<{ id: string; status: string; latency?: { n: number } }> };
    expect(results.run).toMatchObject({ status: 'completed', resumes: 1, partial: false });
    expect(results.trials.every((t) => t.status === 'passed' && t.latency?.n === 20)).toBe(true);
  }, 320_000);

  it('SIGINT stops cleanly: run.finished interrupted, a valid partial report, exit code 2, and --resume finishes it', async () => {
    const reports = mkdtempSync(path.join(tmpdir(), 'hil-e2e-int-'));
    const first = hil(['run', fixture('lab-small.json'), '--reports-dir', reports, ...RUN]);
    const runDir = await waitForJournal(reports, (ev) => finishedTrials(ev).length >= 4, 120_000, first);
    const t0 = Date.now();
    first.child.kill('SIGINT');
    const code = await exited(first, 30_000);
    expect(code).toBe(2);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(first.stderr()).toMatch(/SIGINT: stopping/);

    const events = journalEvents(runDir);
    const last = events.at(-1) as LabEvent;
    expect(last).toMatchObject({ type: 'run.finished', status: 'interrupted' });
    const results = JSON.parse(readFileSync(path.join(runDir, 'results.json'), 'utf8')) as { run: { status: string; partial: boolean }; exitCode: number; trials: Array<{ status: string }> };
    expect(results.run).toMatchObject({ status: 'interrupted', partial: true });
    expect(results.exitCode).toBe(2);
    expect(results.trials.filter((t) => t.status === 'passed').length).toBe(samplesByTrial(events).size);
    expect(existsSync(path.join(runDir, 'report.html'))).toBe(true);
    expect(first.stdout()).toMatch(/resume it with hil run --resume/);

    // Resumed with --json: no progress display, results.json on stdout.
    const second = hil(['run', '--resume', path.basename(runDir), '--reports-dir', reports, '--json', ...RUN]);
    expect(await exited(second, 170_000), second.stdout() + second.stderr()).toBe(0);
    const printed = JSON.parse(second.stdout()) as { run: { id: string; status: string; resumes: number }; exitCode: number };
    expect(printed.run).toMatchObject({ id: path.basename(runDir), status: 'completed', resumes: 1 });
    expect(printed.exitCode).toBe(0);
  }, 320_000);
});
