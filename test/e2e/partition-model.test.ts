/**
 * A scenario model kept in the board's flash (`"storage": "partition"`), end to end with the real
 * CLI: `hil model image --build` puts the model partition image into a firmware build, `hil flash`
 * writes the build to simulated boards through esptool-js, and `hil run` selects the model on each
 * board (MODEL_SELECT_PARTITION) instead of uploading it. A board whose partition holds another
 * model fails its trials with one line naming both models; the other board's results are whole.
 *
 * The build is the simulated `reference` firmware's own images (what SIM_SET_VARIANT installs), so
 * the flashed boards already run the variant the scenario asks for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SimFleet } from '../../harness/sim/index.js';
import { startBenchFleet } from './fixtures/bench-fleet.js';
import { simulatedImages } from '../../harness/sim/app/firmware-image.js';
import { parseVariant } from '../../harness/sim/app/variants.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const hilBin = path.join(repo, 'bin', 'hil.js');
const CNN = path.join(repo, 'models/demo/fashion_cnn_int8.tflite');
const MOBILENET = path.join(repo, 'models/demo/fashion_mobilenet_int8.tflite');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function hil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [hilBin, ...args], { cwd: repo, timeout: 150_000, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** An ESP-IDF-shaped build directory holding the simulated reference firmware for a 16 MB board. */
function referenceBuild(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const images = simulatedImages(parseVariant('reference')!, 16 * 1024 * 1024);
  writeFileSync(path.join(dir, 'bootloader.bin'), images.bootloader);
  writeFileSync(path.join(dir, 'partition-table.bin'), images.partitionTable);
  writeFileSync(path.join(dir, 'hil_bench.bin'), images.app);
  writeFileSync(path.join(dir, 'flasher_args.json'), JSON.stringify({
    write_flash_args: ['--flash_mode', 'dio', '--flash_size', '16MB', '--flash_freq', '80m'],
    flash_settings: { flash_mode: 'dio', flash_size: '16MB', flash_freq: '80m' },
    flash_files: { '0x0': 'bootloader.bin', '0x8000': 'partition-table.bin', '0x10000': 'hil_bench.bin' },
    bootloader: { offset: '0x0', file: 'bootloader.bin', encrypted: 'false' },
    'partition-table': { offset: '0x8000', file: 'partition-table.bin', encrypted: 'false' },
    app: { offset: '0x10000', file: 'hil_bench.bin', encrypted: 'false' },
    extra_esptool_args: { after: 'hard_reset', before: 'default_reset', stub: true, chip: 'esp32s3' },
  }, null, 4));
  return dir;
}

let dir: string;
let rigsFile: string;
let fleet: SimFleet;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hil-e2e-partition-'));
  ({ rigsFile, fleet } = await startBenchFleet(dir, 0.02));
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a scenario model in the board\'s flash model partition', () => {
  it('hil model image --build + hil flash + hil run: the board with the model runs it without an upload, the other fails naming both models', async () => {
    const buildA = referenceBuild(path.join(dir, 'build-cnn'));
    const buildB = referenceBuild(path.join(dir, 'build-mobilenet'));
    const image = await hil(['model', 'image', CNN, '--build', buildA]);
    expect(image.stderr).toBe('');
    expect(image.code).toBe(0);
    expect(image.stdout).toContain(`${path.join(buildA, 'model.bin')}: ${readFileSync(CNN).length + 64} bytes at 0x300000 (model partition, ${13 * 1024 * 1024} bytes), sha256 ${sha256(CNN)}\n`);
    expect((await hil(['model', 'image', MOBILENET, '--build', buildB])).code).toBe(0);

    for (const [board, build] of [['bench-a', buildA], ['bench-b', buildB]] as const) {
      const r = await hil(['flash', board, '--rigs', rigsFile, '--build', build, '--no-sim']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`${board}: {3}0x300000 model {12}\\d+ bytes`));
    }

    const scenario = path.join(dir, 'partition.json');
    writeFileSync(scenario, JSON.stringify({
      name: 'partition',
      matrix: {
        firmware: ['reference'],
        model: [{ id: 'cnn-int8', path: CNN, sha256: sha256(CNN), storage: 'partition' }],
        arena: [{ size: 81920, placement: 'internal' }],
      },
      boards: { tags: ['bench'] },
      inputs: {
        accuracy: {
          inputs: path.join(repo, 'models/demo/data/fashion_eval_images.npy'),
          labels: path.join(repo, 'models/demo/data/fashion_eval_labels.npy'),
          limit: 20,
        },
      },
      warmup: 1, measure: { inferences: 5 }, rounds: 1, seed: 7,
    }));
    const run = await hil(['run', scenario, '--rigs', rigsFile, '--no-sim', '--reports-dir', path.join(dir, 'reports'), '--json']);
    const results = JSON.parse(run.stdout) as { trials: Array<{ board: string; status: string; errors: Array<{ message: string }>; accuracy?: { top1: { total: number } }; bitExact?: { bitExact: boolean }; fingerprint?: { modelSha256: string; modelStorage?: string } }>; variants: Array<{ model: { storage?: string } }> };
    const a = results.trials.filter((t) => t.board === 'bench-a');
    const b = results.trials.filter((t) => t.board === 'bench-b');
    expect(a.map((t) => t.status)).toEqual(['passed']);
    // The model the board ran from its flash is the scenario's: outputs bit-exact with the host interpreter.
    expect(a[0].fingerprint!.modelSha256).toBe(sha256(CNN));
    // ... and the fingerprint and the variant say where it came from.
    expect(a[0].fingerprint!.modelStorage).toBe('partition');
    expect(results.variants.map((v) => v.model.storage)).toEqual(['partition']);
    expect(a[0].accuracy!.top1.total).toBe(20);
    expect(a[0].bitExact!.bitExact).toBe(true);
    expect(b.map((t) => t.status)).toEqual(['failed']);
    expect(b[0].errors.map((e) => e.message)).toEqual([
      `board bench-b: its model partition holds ${sha256(MOBILENET).slice(0, 16)}… (${readFileSync(MOBILENET).length} bytes), not fashion_cnn_int8.tflite (${sha256(CNN).slice(0, 16)}…, ${readFileSync(CNN).length} bytes) that model "cnn-int8" names: add it to a firmware build with hil model image ${CNN} --build <dir>, then hil flash bench-b --build <dir>`,
    ]);
    // The board's own log in the journal: the model was mapped from flash, never uploaded.
    const [runDir] = readdirSync(path.join(dir, 'reports')).filter((d) => d.includes('partition'));
    const logA = readFileSync(path.join(dir, 'reports', runDir, 'events.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { type: string; board?: string; line?: string })
      .filter((e) => e.type === 'board.log' && e.board === 'bench-a').map((e) => e.line!);
    expect(logA.some((l) => l.includes(`model of ${readFileSync(CNN).length} bytes mapped from partition "model" at 0x300000`))).toBe(true);
    expect(logA.filter((l) => l.includes(`uploaded to psram, sha256 ${sha256(CNN).slice(0, 16)}`))).toEqual([]);
    // The variant was measured on bench-a, so the run itself passes its gates (exit 0); bench-b's
    // failed trial is in the results and the report.
    expect(run.code).toBe(0);
  }, 240_000);
});
