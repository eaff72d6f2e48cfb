import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LabError } from '../errors.js';
import { loadScenario } from '../config/scenario.js';
import type { Scenario } from '../config/types.js';
import type { BoardConfig } from '../config/types.js';
import { capabilitiesOf, skippedLines } from './capabilities.js';
import { MAX_TRIALS, parseTrialId, planRun, reflashCount, trialId, type Plan, type Trial } from './plan.js';

/** An emulated board of rigs.json with this much PSRAM (its profile: N8R8, or N8 without PSRAM). */
const board = (id: string, psramBytes: number): BoardConfig => ({
  id, chip: 'esp32s3', transport: { tcp: { host: '127.0.0.1', port: 0 } }, identity: {}, tags: [], psramBytes, flashBytes: 8 << 20,
  emulated: { profile: psramBytes > 0 ? 'esp32s3-devkitc-1-n8r8' : 'esp32s3-devkitc-1-n8', flashFile: `/tmp/${id}.bin` },
});

const tinyModel = fileURLToPath(new URL('../config/testdata/models/tiny.tflite', import.meta.url));

/** A real scenario file (through the loader), with the fixture model under every model id. */
function scenario(fields: Record<string, unknown>, matrix: Record<string, unknown>, estimateArena?: (f: string) => number): Scenario {
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-plan-'));
  mkdirSync(path.join(dir, 'models'));
  copyFileSync(tinyModel, path.join(dir, 'models', 'm.tflite'));
  const models = ((matrix.model as string[] | undefined) ?? ['cnn']).map((id) => ({ id, path: 'models/m.tflite' }));
  writeFileSync(path.join(dir, 's.json'), JSON.stringify({
    name: 'plan-test', ...fields,
    matrix: { firmware: ['esp-nn'], arena: [{ size: 16384 }], ...matrix, model: models },
  }));
  return loadScenario(path.join(dir, 's.json'), estimateArena ? { estimateArena } : {});
}

const byRound = (queue: Trial[]) => {
  const rounds = new Map<number, Trial[]>();
  for (const t of queue) rounds.set(t.round, [...(rounds.get(t.round) ?? []), t]);
  return [...rounds.values()];
};

describe('planRun: expanding the matrix', () => {
  const s = scenario({ rounds: 2 }, {
    firmware: ['reference', 'esp-nn', 'esp-nn-1.2.6'],
    model: ['cnn-f32', 'cnn-int8'],
    arena: [{ size: 65536, placement: 'internal' }, { size: 65536, placement: 'psram' }],
    cpuMHz: [160, 240],
    exclude: [{ firmware: 'reference', cpuMHz: 160 }, { model: 'cnn-f32', arena: { placement: 'psram' } }],
  });
  const plan = planRun(s, ['sim-1', 'sim-2']);

  it('makes one variant per combination, minus the excluded ones, with readable ids', () => {
    // 3 firmware x 2 clocks x 2 models x 2 arenas = 24; reference@160 removes 4; cnn-f32 on psram removes 1 per (firmware, clock) left (5).
    expect(plan.variants.length).toBe(24 - 4 - 5);
    expect(plan.variants.map((v) => v.id).slice(0, 3)).toEqual([
      'reference/cnn-f32/65536-internal/240mhz',
      'reference/cnn-int8/65536-internal/240mhz',
      'reference/cnn-int8/65536-psram/240mhz',
    ]);
    expect(plan.variants.some((v) => v.id === 'esp-nn-1.2.6/cnn-int8/65536-psram/160mhz')).toBe(true);
    expect(plan.variants.some((v) => v.id.startsWith('reference/') && v.cpuMHz === 160)).toBe(false);
    expect(new Set(plan.variants.map((v) => v.id)).size).toBe(plan.variants.length);
  });

  it('lists the firmware builds the plan needs: one per firmware and clock', () => {
    expect(plan.builds).toEqual([
      { id: 'reference', variant: 'reference', cpuMHz: 240 },
      { id: 'esp-nn-160mhz', variant: 'esp-nn', cpuMHz: 160 },
      { id: 'esp-nn', variant: 'esp-nn', cpuMHz: 240 },
      { id: 'esp-nn-1.2.6-160mhz', variant: 'esp-nn-1.2.6', cpuMHz: 160 },
      { id: 'esp-nn-1.2.6', variant: 'esp-nn-1.2.6', cpuMHz: 240 },
    ]);
    const runtime = planRun(s, ['sim-1'], { cpuClock: 'runtime' });
    expect(runtime.builds.map((b) => b.id)).toEqual(['reference', 'esp-nn', 'esp-nn-1.2.6']);
  });

  it('makes variants x boards x rounds trials with unique, parseable ids', () => {
    expect(plan.trials.length).toBe(15 * 2 * 2);
    const ids = plan.trials.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    const t = plan.queues['sim-2'][3];
    expect(t.id).toBe(trialId(t.variant.id, 'sim-2', t.round));
    expect(parseTrialId(t.id)).toEqual({ variant: t.variant.id, board: 'sim-2', round: t.round });
    expect(parseTrialId('esp-nn-1.2.6/cnn/65536-psram/240mhz@sim-1#3')).toEqual({ variant: 'esp-nn-1.2.6/cnn/65536-psram/240mhz', board: 'sim-1', round: 3 });
    expect(parseTrialId('esp-nn/cnn@sim-1')).toBeUndefined();
    expect(parseTrialId('esp-nn/cnn@sim-1#0')).toBeUndefined();
  });

  it('interleaves the boards in plan.trials and numbers each queue', () => {
    expect(plan.trials.slice(0, 4).map((t) => [t.board, t.seq])).toEqual([['sim-1', 0], ['sim-2', 0], ['sim-1', 1], ['sim-2', 1]]);
  });
});

describe('planRun: ordering', () => {
  const s = scenario({ rounds: 6, seed: 7 }, {
    firmware: ['reference', 'esp-nn'],
    model: ['a', 'b', 'c'],
    arena: [{ size: 16384 }],
  });
  const plan = planRun(s, ['sim-1', 'sim-2', 'sim-3']);

  it('runs every variant exactly once per round on every board', () => {
    for (const board of plan.boards) {
      const rounds = byRound(plan.queues[board]);
      expect(rounds.length).toBe(6);
      for (const round of rounds) {
        expect(round.map((t) => t.variant.id).sort()).toEqual(plan.variants.map((v) => v.id).sort());
      }
    }
  });

  it('keeps a build\'s trials together within a round and snakes the build order across rounds', () => {
    for (const board of plan.boards) {
      const builds = byRound(plan.queues[board]).map((round) => [...new Set(round.map((t) => t.variant.build))]);
      for (const b of builds) expect(b.length).toBe(2); // contiguous: two builds, two blocks
      for (let r = 1; r < builds.length; r++) expect(builds[r][0]).toBe(builds[r - 1][1]);
    }
  });

  it('reflashes a board once per build switch inside a round, never at a round boundary', () => {
    // From nothing installed: 1 flash to start, then (2 builds - 1) per round = 1 + 6 = 7, where
    // running the builds in the same order every round would take 2 x 6 = 12.
    expect(reflashCount(plan)).toEqual({ 'sim-1': 7, 'sim-2': 7, 'sim-3': 7 });
  });

  it('gives every variant the same mean position within its round, so drift hits all equally', () => {
    for (const board of plan.boards) {
      const positions = new Map<string, number[]>();
      for (const round of byRound(plan.queues[board])) {
        round.forEach((t, i) => positions.set(t.variant.id, [...(positions.get(t.variant.id) ?? []), i]));
      }
      const means = [...positions.values()].map((p) => p.reduce((a, b) => a + b, 0) / p.length);
      // 6 rounds = 2 (snake) x 3 (Latin rotation of 3 variants per build): perfectly balanced.
      for (const m of means) expect(m).toBeCloseTo(2.5, 10);
    }
  });

  it('starts boards on different variants', () => {
    const firsts = plan.boards.map((b) => plan.queues[b][0].variant.id);
    expect(new Set(firsts).size).toBe(3);
  });

  it('is repeatable for a seed, and another seed shuffles differently', () => {
    const again = planRun(s, ['sim-1', 'sim-2', 'sim-3']);
    expect(again.trials.map((t) => t.id)).toEqual(plan.trials.map((t) => t.id));
    const reseeded = planRun({ ...s, seed: 8 }, ['sim-1', 'sim-2', 'sim-3']);
    const orderOf = (p: Plan) => p.queues['sim-1'].map((t) => t.variant.id).join(' ');
    const seeds = [9, 10, 11, 12].map((seed) => orderOf(planRun({ ...s, seed }, ['sim-1', 'sim-2', 'sim-3'])));
    expect(new Set([orderOf(plan), orderOf(reseeded), ...seeds]).size).toBeGreaterThan(1);
  });

  it('starts a board with the build it already runs', () => {
    const p = planRun(s, ['sim-1', 'sim-2'], { installed: { 'sim-1': 'esp-nn', 'sim-2': 'esp-nn' } });
    expect(p.queues['sim-1'][0].variant.build).toBe('esp-nn');
    expect(p.queues['sim-2'][0].variant.build).toBe('esp-nn');
    expect(reflashCount(p, { 'sim-1': 'esp-nn', 'sim-2': 'esp-nn' })).toEqual({ 'sim-1': 6, 'sim-2': 6 });
  });
});

describe('planRun: arenas and limits', () => {
  it('carries the arena bytes, including "auto" sizes per model', () => {
    const s = scenario({}, { model: ['a', 'b'], arena: [{ size: 'auto', placement: 'psram', marginBytes: 1024 }, { size: 20000 }] }, () => 10_000);
    const plan = planRun(s, ['sim-1']);
    expect(plan.variants.map((v) => [v.id, v.arena])).toEqual([
      ['esp-nn/a/auto-psram/240mhz', { size: 'auto', placement: 'psram', bytes: 11024 }],
      ['esp-nn/a/20000-internal/240mhz', { size: 20000, placement: 'internal', bytes: 20000 }],
      ['esp-nn/b/auto-psram/240mhz', { size: 'auto', placement: 'psram', bytes: 11024 }],
      ['esp-nn/b/20000-internal/240mhz', { size: 20000, placement: 'internal', bytes: 20000 }],
    ]);
  });

  it('leaves "auto" bytes unknown when the loader had no estimator', () => {
    const s = scenario({}, { arena: ['auto'] });
    expect(planRun(s, ['sim-1']).variants[0].arena).toEqual({ size: 'auto', placement: 'internal' });
  });

  it('leaves PSRAM-arena variants out on a board without PSRAM, one line each, and refuses a plan where nothing can run', () => {
    const s = scenario({ rounds: 2 }, { model: ['a'], arena: [{ size: 16384 }, { size: 65536, placement: 'psram' }] });
    const plan = planRun(s, ['emu-1', 'emu-3'], { capabilities: capabilitiesOf([board('emu-1', 8 << 20), board('emu-3', 0)]) });
    expect(plan.queues['emu-1']!.map((t) => t.variant.arena.placement).sort()).toEqual(['internal', 'internal', 'psram', 'psram']);
    expect(plan.queues['emu-3']!.map((t) => t.variant.arena.placement)).toEqual(['internal', 'internal']);
    expect(plan.trials).toHaveLength(6);
    expect(skippedLines(plan.skipped)).toEqual([
      'skipped esp-nn/a/65536-psram/240mhz on emu-3: the board has no PSRAM (emulated profile esp32s3-devkitc-1-n8), and the variant\'s arena is in PSRAM',
    ]);
    const psramOnly = scenario({}, { model: ['a'], arena: [{ size: 65536, placement: 'psram' }] });
    expect(() => planRun(psramOnly, ['emu-3'], { capabilities: capabilitiesOf([board('emu-3', 0)]) })).toThrow(/no selected board can run any variant \(the board has no PSRAM/);
  });

  it('refuses an empty board list and a plan too big to run', () => {
    const s = scenario({ rounds: 1000 }, { model: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], cpuMHz: [80, 160, 240], firmware: ['reference', 'esp-nn'] });
    expect(() => planRun(s, [])).toThrow(new LabError('config', `${s.label}: /boards: no board to run on (check the selector against rigs.json)`));
    const boards = Array.from({ length: 4 }, (_, i) => `sim-${i + 1}`);
    expect(() => planRun(s, boards)).toThrow(new LabError('config', `${s.label}: /rounds: 60 variants x 4 boards x 1000 rounds = 240000 trials, more than ${MAX_TRIALS} (fewer rounds or a smaller matrix)`));
  });
});
