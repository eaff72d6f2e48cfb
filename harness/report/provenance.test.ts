/**
 * Emulated boards (Espressif QEMU running the lab firmware) through the reports: what a user sees
 * of a run whose numbers came from an emulator, and that its numbers are never pooled or compared
 * with a board's or a simulated board's.
 */
import { describe, expect, it } from 'vitest';
import type { LabEvent } from '../lab/events.js';
import { consoleSummary, ConsoleReporter, type ConsoleOutput } from './console.js';
import { EMULATED_BANNER, SIMULATED_BANNER } from './format.js';
import { reportHtml } from './html.js';
import { junitXml } from './junit.js';
import { markdownSummary } from './markdown.js';
import { buildRunResults, type MetricHistoryPoint } from './results.js';
import { resultsDocument } from './json.js';
import { syntheticRun, type SyntheticRunOptions } from './testing/synthetic-run.js';

const ESPNN_INT8 = 'esp-nn/cnn-int8/65536-internal/240mhz';
const small: SyntheticRunOptions = { hostile: false, rounds: 2, samples: 40 };

const emulatedRun = syntheticRun({ ...small, runId: 'emu-night', provenance: 'emulated', boardPrefix: 'emu', boards: 2 });
const emulated = buildRunResults(emulatedRun.events, { gates: emulatedRun.scenario.gates });

class Capture implements ConsoleOutput {
  text = '';
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

/** A journal written before provenance existed: the same events without the field. */
function withoutProvenance(events: readonly LabEvent[]): LabEvent[] {
  return events.map((e) => {
    const copy = structuredClone(e) as unknown as Record<string, unknown>;
    delete copy.provenance;
    delete copy.provenances;
    if (copy.type === 'trial.memory') delete (copy.memory as Record<string, unknown>).provenance;
    if (copy.type === 'trial.fingerprint') delete (copy.fingerprint as Record<string, unknown>).provenance;
    return copy as unknown as LabEvent;
  });
}

describe('an emulated run', () => {
  it('starts its console output with the EMULATED banner, live and in the summary, and no SIMULATED one', () => {
    const out = new Capture();
    const c = new ConsoleReporter({ stream: out, tty: false });
    for (const e of emulatedRun.events) c.onEvent(e);
    const lines = out.text.split('\n');
    expect(lines[0]).toBe('EMULATED: these numbers come from emulated boards (Espressif QEMU running the lab firmware): outputs are the firmware\'s real arithmetic, timings count the firmware\'s instructions (QEMU -icount: 4 ns each), not ESP32-S3 silicon cycles');
    expect(lines[1]).toMatch(/^run emu-night: scenario synthetic, 8 variants x 2 boards/);
    const summary = consoleSummary(emulated).split('\n');
    expect(summary[0]).toBe(EMULATED_BANNER);
    expect(summary[1]).toMatch(/^run emu-night \(scenario synthetic\) completed: 32\/32 trials passed/);
    expect(out.text + summary.join('\n')).not.toContain('SIMULATED');
  });

  it('marks results.json: provenance "emulated" on every trial, variant, board and the run, simulated false', () => {
    const doc = JSON.parse(JSON.stringify(resultsDocument(emulated))) as {
      run: { provenances: string[]; simulated: boolean };
      trials: Array<{ provenance: string; simulated: boolean; fingerprint: { provenance: string } }>;
      variants: Array<{ provenance: string; latency?: unknown }>;
      boards: Array<{ provenance: string }>;
    };
    expect(doc.run).toMatchObject({ provenances: ['emulated'], simulated: false });
    expect(doc.trials).toHaveLength(32);
    expect(doc.trials.every((t) => t.provenance === 'emulated' && !t.simulated && t.fingerprint.provenance === 'emulated')).toBe(true);
    expect(doc.variants.every((v) => v.provenance === 'emulated' && v.latency !== undefined)).toBe(true);
    expect(doc.boards.map((b) => b.provenance)).toEqual(['emulated', 'emulated']);
  });

  it('says so in Markdown, JUnit and HTML', () => {
    const md = markdownSummary(emulated);
    expect(md).toContain(`> **${EMULATED_BANNER}**`);
    expect(md).not.toContain('SIMULATED');
    const xml = junitXml(emulated);
    expect(xml).toContain('<property name="provenance" value="emulated"/>');
    expect(xml).toContain('<property name="simulated" value="false"/>');
    expect(xml).toContain('<testsuites name="hil synthetic emu-night (EMULATED)"');
    expect(xml).toMatch(/<system-out>EMULATED median /);
    expect(xml).not.toContain('SIMULATED');
    const page = reportHtml(emulated);
    expect(page).toContain('<div class="banner emulated" role="alert" id="emulated-banner">EMULATED: these numbers come from emulated boards');
    expect(page).not.toContain('id="simulated-banner"');
  });
});

describe('a run of emulated and simulated boards', () => {
  const run = syntheticRun({ ...small, runId: 'both', boards: 2, boardProvenance: { 'sim-2': 'emulated' } });
  const r = buildRunResults(run.events);

  it('shows both banners and names each variant\'s class', () => {
    expect(r.run.provenances).toEqual(['emulated', 'simulated']);
    const text = consoleSummary(r).split('\n');
    expect(text.slice(0, 2)).toEqual([EMULATED_BANNER, SIMULATED_BANNER]);
    expect(text.find((l) => l.startsWith(ESPNN_INT8))).toMatch(/^esp-nn\/cnn-int8\/65536-internal\/240mhz \(mixed\)\s+0\s+-/);
    const page = reportHtml(r);
    expect(page).toContain('id="emulated-banner"');
    expect(page).toContain('id="simulated-banner"');
    const xml = junitXml(r);
    expect(xml).toContain('<testsuites name="hil synthetic both (EMULATED) (SIMULATED)"');
    expect(xml).toContain('<property name="provenance" value="emulated,simulated"/>');
  });

  it('never pools a variant over boards of different provenance: it is mixed, read board by board', () => {
    const v = r.variants.find((x) => x.id === ESPNN_INT8)!;
    expect(v.provenance).toBe('mixed');
    expect(v.latency).toBeUndefined();
    expect(v.histogram).toBeUndefined();
    expect(v.boardSpread).toBeUndefined();
    expect(v.boards.map((b) => [b.board, b.latency.n])).toEqual([['sim-1', 80], ['sim-2', 80]]);
    expect(v.warnings).toContain('boards of different provenance measured this variant (emulated: sim-2; simulated: sim-1): their latencies are not pooled - read them board by board (emulated and simulated timings are not ESP32-S3 silicon\'s)');
    expect(r.warnings).toContain('8 variants were measured on boards of different provenance (emulated: sim-2; simulated: sim-1): no pooled latency - read them board by board');
    expect(consoleSummary(r)).toContain('\nwarnings:\n  8 variants were measured on boards of different provenance');
    expect(r.trials.filter((t) => t.board === 'sim-2').every((t) => t.provenance === 'emulated')).toBe(true);
    expect(r.trials.filter((t) => t.board === 'sim-1').every((t) => t.provenance === 'simulated')).toBe(true);
    // Within a board the variants still compare (same class on both sides).
    expect(r.comparisons.every((c) => c.comparable && c.boards.length === 2)).toBe(true);
  });
});

describe('a baseline of another provenance', () => {
  // Same board ids, same matrix: only where the numbers came from differs.
  const boardBaseline = buildRunResults(syntheticRun({ ...small, runId: 'board-base', seed: 3, simulated: false }).events);
  const simBaseline = buildRunResults(syntheticRun({ ...small, runId: 'sim-base', seed: 3 }).events);
  const candidate = syntheticRun({ ...small, runId: 'emu-cand', seed: 4, provenance: 'emulated' });

  it.each([
    ['board', boardBaseline, 'board'],
    ['simulated', simBaseline, 'simulated'],
  ] as const)('a %s baseline: a warning naming both classes, and no trial compared with one of the other class', (_name, base, cls) => {
    const r = buildRunResults(candidate.events, { baseline: base, gates: candidate.scenario.gates });
    expect(r.warnings).toContain(`the baseline run ${base.run.id} has provenance ${cls} and this run emulated: their latencies do not compare (trials of different provenance are never compared)`);
    expect(r.baseline!.provenances).toEqual([cls]);
    expect(r.baseline!.comparisons).toHaveLength(8);
    for (const c of r.baseline!.comparisons) {
      expect(c.comparable).toBe(false);
      expect(c.refusedReason).toContain(`the fingerprints differ in provenance (baseline "${cls}", candidate "emulated")`);
    }
    const latencyGates = r.gates.results.filter((g) => g.metric === 'latency.median');
    expect(latencyGates.every((g) => g.status === 'error' && /provenance/.test(g.explanation))).toBe(true);
    const row = consoleSummary(r).split('\n').find((l) => l.startsWith(`${ESPNN_INT8} `));
    expect(row).toMatch(/ refused /);
  });

  it('a baseline of the same class still compares', () => {
    const emuBase = buildRunResults(syntheticRun({ ...small, runId: 'emu-base', seed: 3, provenance: 'emulated' }).events);
    const r = buildRunResults(candidate.events, { baseline: emuBase });
    expect(r.warnings.filter((w) => w.includes('provenance'))).toEqual([]);
    expect(r.baseline!.comparisons.every((c) => c.comparable)).toBe(true);
  });
});

describe('journals written before provenance', () => {
  it('read as board or simulated from their simulated flags', () => {
    const old = buildRunResults(withoutProvenance(syntheticRun({ ...small, runId: 'old-sim' }).events));
    expect(old.run.provenances).toEqual(['simulated']);
    expect(old.trials.every((t) => t.provenance === 'simulated' && t.fingerprint?.provenance === 'simulated')).toBe(true);
    expect(old.boards.every((b) => b.provenance === 'simulated')).toBe(true);
    const oldBoard = buildRunResults(withoutProvenance(syntheticRun({ ...small, runId: 'old-board', simulated: false }).events));
    expect(oldBoard.run.provenances).toEqual(['board']);
    expect(oldBoard.variants.every((v) => v.provenance === 'board')).toBe(true);
  });

  it('an old board baseline still compares with a new board run, and never with an emulated one', () => {
    const oldBoard = buildRunResults(withoutProvenance(syntheticRun({ ...small, runId: 'old-board', seed: 3, simulated: false }).events));
    const now = syntheticRun({ ...small, runId: 'new-board', seed: 4, simulated: false });
    const r = buildRunResults(now.events, { baseline: oldBoard });
    expect(r.baseline!.comparisons.every((c) => c.comparable)).toBe(true);
    expect(r.warnings.filter((w) => w.includes('provenance'))).toEqual([]);
    const emu = buildRunResults(syntheticRun({ ...small, runId: 'emu', seed: 4, provenance: 'emulated' }).events, { baseline: oldBoard });
    expect(emu.baseline!.comparisons.some((c) => c.comparable)).toBe(false);
  });
});

describe('the trend', () => {
  it('joins only earlier points of the variant\'s own provenance', () => {
    const points: MetricHistoryPoint[] = [
      { runId: 'n1', startedAt: '2025-01-01T02:00:00.000Z', variant: ESPNN_INT8, value: 3900, provenance: 'simulated' },
      { runId: 'n2', startedAt: '2025-01-02T02:00:00.000Z', variant: ESPNN_INT8, value: 9100, provenance: 'emulated' },
      { runId: 'n3', startedAt: '2025-01-03T02:00:00.000Z', variant: ESPNN_INT8, value: 3905 },
    ];
    const r = buildRunResults(emulatedRun.events, { history: { metric: 'latency.median', points } });
    const series = r.trend!.series.find((s) => s.variant === ESPNN_INT8)!;
    expect(series.points.map((p) => p.runId)).toEqual(['n2', 'n3', 'emu-night']);
  });
});
