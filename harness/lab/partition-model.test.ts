/**
 * A scenario model with `"storage": "partition"` against simulated boards whose flash `model`
 * partition holds a model image (what `hil model image` + `hil flash` leave there, written here
 * straight into the boards' flash files): the board session's MODEL_SELECT_PARTITION over a PTY,
 * and whole runs through runLab - the board holding the scenario's file runs it from flash,
 * bit-exact with the host interpreter and with the same file uploaded; the board holding another
 * model fails those trials once each with one line naming both, and keeps running the rest.
 * (test/e2e/partition-model.test.ts does the same through the CLI with hil flash and esptool-js.)
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoardSession, createLabBoard, simulatedBoardOptions } from '../boards/index.js';
import type { BoardConfig } from '../config/types.js';
import { encodeNpy } from '../datasets/npy.js';
import { SimBoard } from '../sim/board.js';
import { startSimFleet } from '../sim/index.js';
import { writeModelPartition } from '../sim/testing/model-partition.js';
import { CANARY_MODEL_FILE } from './canary.js';
import { runLab, type OpenFleet } from './run.js';

const TINY = CANARY_MODEL_FILE;
const CNN = fileURLToPath(new URL('../../models/demo/fashion_cnn_int8.tflite', import.meta.url));
const bytesOf = (file: string) => new Uint8Array(readFileSync(file));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hil-partition-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function boardConfig(id: string): BoardConfig {
  return {
    id, chip: 'esp32s3', identity: {}, tags: ['sim'],
    transport: { serial: { baud: 921600, flashBaud: 921600, reset: 'classic' } },
    simulated: { profile: 'esp32s3-devkitc-1-n16r8', seed: 1, faults: [] },
  };
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected the promise to reject');
}

describe('BoardSession.selectPartitionModel on a simulated board', () => {
  it('answers with the size and SHA-256 of the model in flash, which the board then runs; an empty partition is MODEL_PARTITION_EMPTY', async () => {
    const tiny = bytesOf(TINY);
    const flashed = path.join(dir, 'ps-1.flash');
    writeModelPartition(flashed, tiny, { source: TINY });
    const boards = await Promise.all([
      SimBoard.start({ id: 'ps-1', flashPath: flashed, timeScale: 0.02, serial: { baud: 921600 } }),
      SimBoard.start({ id: 'ps-2', flashPath: path.join(dir, 'ps-2.flash'), timeScale: 0.02, serial: { baud: 921600 } }),
    ]);
    const [s1, s2] = boards.map((b, i) => createBoardSession(boardConfig(`ps-${i + 1}`), { transport: 'serial', serialPath: b.path }));
    try {
      await Promise.all([s1.connect(10_000), s2.connect(10_000)]);
      expect(await s1.selectPartitionModel(5000)).toEqual({ type: 'model_ready', size: tiny.length, sha256: sha256(tiny), source: 'partition', placement: 'flash' });
      const arena = await s1.configureArena(16384, 'internal', 5000);
      expect(arena.inputs).toHaveLength(1);
      expect(s1.state).toBe('ready');

      const e = await rejection(s2.selectPartitionModel(5000));
      expect(e.code).toBe('board-error:MODEL_PARTITION_EMPTY');
      expect(e.message).toMatch(/^board ps-2: MODEL_SELECT_PARTITION failed: MODEL_PARTITION_EMPTY/);
      expect(s2.state).toBe('ready');
    } finally {
      await Promise.allSettled([s1.close(), s2.close()]);
      await Promise.all(boards.map((b) => b.stop()));
    }
  }, 30_000);
});

describe('runLab with a "storage": "partition" model on simulated boards', () => {
  it('runs it from the flash of the board that holds it, as the same file uploaded; fails the board holding another model once per trial, naming both', async () => {
    const w = path.join(dir, 'run');
    const flashDir = path.join(w, 'flash');
    mkdirSync(flashDir, { recursive: true });
    copyFileSync(TINY, path.join(w, 'tiny.tflite'));
    writeFileSync(path.join(w, 'images.npy'), encodeNpy(Uint8Array.from({ length: 6 * 64 }, (_, i) => (i * 97 + 13) & 0xff), [6, 8, 8, 1]));
    writeFileSync(path.join(w, 'labels.npy'), encodeNpy(Int32Array.from([0, 1, 2, 0, 1, 2]), [6]));
    writeFileSync(path.join(w, 'scenario.json'), JSON.stringify({
      name: 'partition-sim',
      matrix: {
        firmware: ['esp-nn'],
        model: [{ id: 'tiny', path: 'tiny.tflite' }, { id: 'tiny-flash', path: 'tiny.tflite', storage: 'partition' }],
        arena: [{ size: 16384, placement: 'internal' }],
      },
      inputs: { accuracy: { inputs: 'images.npy', labels: 'labels.npy' } },
      warmup: 1, measure: { inferences: 10 }, rounds: 2, seed: 3,
      canary: { inferences: 5 },
    }));
    const rig = (id: string, seed: number) => ({ id, chip: 'esp32s3', transport: { serial: { baud: 921600 } }, tags: ['sim'], simulated: { profile: 'esp32s3-devkitc-1-n16r8', seed } });
    writeFileSync(path.join(w, 'rigs.json'), JSON.stringify({ boards: [rig('sim-1', 1), rig('sim-2', 2)] }));
    // sim-1's partition holds the scenario's file; sim-2's holds the demo CNN.
    writeModelPartition(path.join(flashDir, 'sim-1.flash'), bytesOf(TINY), { source: TINY });
    writeModelPartition(path.join(flashDir, 'sim-2.flash'), bytesOf(CNN), { source: CNN });

    const openFleet: OpenFleet = async ({ rigs, selected, timeScale }) => {
      const fleet = await startSimFleet({ rigs, boards: selected.map((s) => s.board.id), flashDir, ...(timeScale !== undefined ? { timeScale } : {}) });
      const boards = new Map(selected.map((s) => [s.board.id, createLabBoard(s.board, { transport: s.transport, ...simulatedBoardOptions(fleet, s.board.id) })]));
      return {
        boards,
        async close() {
          await Promise.allSettled([...boards.values()].map((b) => b.close()));
          await fleet.stop();
        },
      };
    };
    const out = { text: '', write(s: string) { this.text += s; return true; } };
    const r = await runLab({
      scenarioFile: path.join(w, 'scenario.json'), rigsFile: path.join(w, 'rigs.json'), reportsDir: path.join(w, 'reports'),
      openFleet, timeScale: 0.02, store: false, stdout: out, handleSignals: false, runId: 'partition-sim',
    });
    expect(r.status).toBe('completed');

    type Trial = {
      board: string; variant: string; status: string; attempts: number; errors: Array<{ code: string; message: string }>;
      fingerprint?: Record<string, unknown>; bitExact?: { bitExact: boolean }; accuracy?: { outputDigest: string };
    };
    const results = JSON.parse(readFileSync(path.join(r.runDir, 'results.json'), 'utf8')) as {
      trials: Trial[]; variants: Array<{ id: string; model: { id: string; storage?: string } }>; boards: unknown;
    };
    const flashVariant = results.variants.find((v) => v.model.id === 'tiny-flash')!;
    const uploadVariant = results.variants.find((v) => v.model.id === 'tiny')!;
    expect(flashVariant.model.storage).toBe('partition');
    expect(uploadVariant.model).not.toHaveProperty('storage');
    const trials = (board: string, variant: string) => results.trials.filter((t) => t.board === board && t.variant === variant);

    // sim-1 holds the file: every trial passes, from flash or uploaded; the accuracy pass (one per
    // variant and board) is bit-exact with the host interpreter, and the outputs from flash are the
    // uploaded model's.
    const digests: string[] = [];
    for (const v of [flashVariant.id, uploadVariant.id]) {
      const ts = trials('sim-1', v);
      expect(ts.map((t) => t.status)).toEqual(['passed', 'passed']);
      for (const t of ts) {
        expect(t.fingerprint!.modelSha256).toBe(sha256(bytesOf(TINY)));
        expect(t.fingerprint!.modelStorage).toBe(v === flashVariant.id ? 'partition' : undefined);
      }
      const checked = ts.filter((t) => t.bitExact);
      expect(checked).toHaveLength(1);
      expect(checked[0].bitExact!.bitExact).toBe(true);
      digests.push(checked[0].accuracy!.outputDigest);
    }
    expect(digests[0]).toBe(digests[1]);
    // The board's log: the model was mapped from its partition.
    const log = r.events.filter((e) => e.type === 'board.log' && e.board === 'sim-1').map((e) => (e as { line: string }).line);
    expect(log.some((l) => l.includes(`model of ${bytesOf(TINY).length} bytes mapped from partition "model"`))).toBe(true);

    // sim-2 holds another model: each partition trial fails once with the one line; its uploads still run.
    const failed = trials('sim-2', flashVariant.id);
    expect(failed.map((t) => [t.status, t.attempts])).toEqual([['failed', 1], ['failed', 1]]);
    const cnn = bytesOf(CNN);
    const tiny = bytesOf(TINY);
    const line = `board sim-2: its model partition holds ${sha256(cnn).slice(0, 16)}… (${cnn.length} bytes), not tiny.tflite (${sha256(tiny).slice(0, 16)}…, ${tiny.length} bytes) that model "tiny-flash" names: add it to a firmware build with hil model image ${path.join(w, 'tiny.tflite')} --build <dir>, then hil flash sim-2 --build <dir>`;
    for (const t of failed) expect(t.errors.map((e) => e.message)).toEqual([line]);
    expect(trials('sim-2', uploadVariant.id).map((t) => t.status)).toEqual(['passed', 'passed']);
    expect(r.events.filter((e) => e.type === 'board.quarantined')).toEqual([]);
    // The console and the reports carry the line like any failed trial's.
    expect(out.text).toContain(`sim-2 failed ${flashVariant.id}@sim-2#1: ${line}`);
    expect(readFileSync(path.join(r.runDir, 'junit.xml'), 'utf8')).toContain(`board sim-2: its model partition holds ${sha256(cnn).slice(0, 16)}`);
  }, 60_000);
});
