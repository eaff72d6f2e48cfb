import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '../errors.js';
import type { NewLabEvent } from './events.js';
import { JOURNAL_FILE, JournalWriter, isRunId, journalProgress, newRunId, readJournal } from './journal.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'hil-journal-'));

const started = (trial: string, attempt = 1): NewLabEvent => ({ type: 'trial.started', trial, board: 'sim-1', attempt });
const finished = (trial: string, attempt: number, status: 'passed' | 'failed' | 'error', willRetry = false): NewLabEvent => ({
  type: 'trial.finished', trial, board: 'sim-1', attempt, status, durationMs: 10, invokeMs: 5, willRetry,
});
const samples = (trial: string, cycles: number[]): NewLabEvent => ({
  type: 'trial.samples', trial, attempt: 1, phase: 'measure', cycles, cpuMHz: 240, latencyUs: cycles.map((c) => c / 240), simulated: true, provenance: 'simulated',
});

describe('run ids', () => {
  it('read as UTC start time, scenario and a random suffix, and sort by time', () => {
    const a = newRunId('demo', new Date(Date.UTC(2026, 10, 28, 15, 30, 0)), () => '3f9a');
    expect(a).toBe('20261128-153000-demo-3f9a');
    expect(isRunId(a)).toBe(true);
    const b = newRunId('demo', new Date(Date.UTC(2026, 10, 28, 15, 30, 1)), () => '0000');
    expect([b, a].sort()).toEqual([a, b]);
    expect(newRunId('Weird Name/..', new Date(0), () => 'abcd')).toBe('19700101-000000-weird-name-abcd');
    expect(isRunId('../etc')).toBe(false);
  });
});

describe('JournalWriter', () => {
  it('appends one JSON line per event, stamping seq and ts', () => {
    const dir = tmp();
    let t = 1000;
    const w = JournalWriter.create(dir, { now: () => t++ });
    const e1 = w.append(started('v@sim-1#1'));
    const e2 = w.append(samples('v@sim-1#1', [2400, 2640]));
    w.close();
    expect(e1).toMatchObject({ seq: 1, ts: 1000, type: 'trial.started' });
    expect(e2).toMatchObject({ seq: 2, ts: 1001 });
    const lines = readFileSync(path.join(dir, JOURNAL_FILE), 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[1])).toEqual(e2);
  });

  it('never overwrites an existing journal', () => {
    const dir = tmp();
    JournalWriter.create(dir).close();
    expect(() => JournalWriter.create(dir)).toThrow(/already exists.*--resume/);
  });

  it('resumes after a torn last line: cuts it off and carries on the sequence', () => {
    const dir = tmp();
    const w = JournalWriter.create(dir);
    w.append(started('v@sim-1#1'));
    w.append(finished('v@sim-1#1', 1, 'passed'));
    w.append(started('v@sim-1#2'));
    w.close();
    // A kill in the middle of a write leaves half a line.
    appendFileSync(path.join(dir, JOURNAL_FILE), '{"type":"trial.samples","trial":"v@sim-1#2","cyc');
    const before = readJournal(dir);
    expect(before.events).toHaveLength(3);
    expect(before.warnings[0]).toMatch(/cut short/);

    const { writer, journal } = JournalWriter.resume(dir);
    expect(journal.events).toHaveLength(3);
    expect(writer.lastSeq).toBe(3);
    const next = writer.append(started('v@sim-1#2', 2));
    writer.close();
    expect(next.seq).toBe(4);
    const after = readJournal(dir);
    expect(after.warnings).toEqual([]);
    expect(after.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('refuses to resume a run that has no journal, naming the path', () => {
    const dir = tmp();
    expect(() => JournalWriter.resume(path.join(dir, 'nope'))).toThrow(LabError);
    expect(() => JournalWriter.resume(path.join(dir, 'nope'))).toThrow(/no run journal at .*nope/);
  });

  it('a damaged line in the middle is an error naming the file and line', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, JOURNAL_FILE), '{"type":"run.resumed","seq":1,"ts":1,"runId":"x","finishedTrials":[]}\nnot json\n{"type":"x"}\n');
    expect(() => readJournal(dir)).toThrow(/events\.jsonl:2: not a JSON event/);
  });
});

describe('journalProgress', () => {
  it('counts a trial as finished only when its last word is willRetry=false', () => {
    const dir = tmp();
    const w = JournalWriter.create(dir);
    w.append(started('a@sim-1#1'));
    w.append(finished('a@sim-1#1', 1, 'error', true));
    w.append(started('a@sim-1#1', 2));
    w.append({ type: 'trial.accuracy', trial: 'a@sim-1#1', attempt: 2, classes: 2, labels: [0], predictions: [0], topK: [[0, 1]], outputDigest: 'x', bitExact: { tensors: 1, differingTensors: 0, differingElements: 0, maxDifference: 0 }, simulated: true, provenance: 'simulated' });
    w.append(finished('a@sim-1#1', 2, 'passed'));
    w.append(started('b@sim-1#1'));
    w.append(finished('b@sim-1#1', 1, 'failed'));
    w.append(started('c@sim-1#1'));
    w.append({ type: 'trial.accuracy', trial: 'c@sim-1#1', attempt: 1, classes: 2, labels: [0], predictions: [0], topK: [[0, 1]], outputDigest: 'x', bitExact: { tensors: 1, differingTensors: 0, differingElements: 0, maxDifference: 0 }, simulated: true, provenance: 'simulated' });
    w.append({ type: 'board.quarantined', board: 'sim-2', reason: 'kept failing' });
    w.close();
    const p = journalProgress(readJournal(dir).events);
    expect([...p.finished].sort()).toEqual(['a@sim-1#1', 'b@sim-1#1']);
    expect(p.attempts.get('a@sim-1#1')).toBe(2);
    expect(p.boardFailures.get('a@sim-1#1')).toBe(1);
    expect(p.boardFailures.get('b@sim-1#1')).toBeUndefined();
    // c's accuracy pass belongs to an attempt that never finished: it must run again.
    expect([...p.accuracyDone]).toEqual(['a@sim-1']);
    expect(p.quarantined.get('sim-2')).toBe('kept failing');
  });
});
