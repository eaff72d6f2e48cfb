/**
 * `hil flash` end to end: the real CLI (`node bin/hil.js flash ...`) flashes simulated boards of a
 * rigs file with a 1-2 MB image set through the unmodified esptool-js - each board asked in-band
 * to restart into its ROM loader (RESET download; a PTY has no modem lines), both boards at once,
 * then each one's HELLO checked against the image's esp_app_desc_t.
 *
 * The boards run in this test process (what `hil sim` does), linked at the ports the rigs give, so
 * their flash outlives each CLI run and the test can look at them: the CLI reaches them with
 * --no-sim, like a fleet run elsewhere. The last test takes the fresh-clone path: the tracked
 * rigs.json, the simulated boards started inside the CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SimFleet } from '../../harness/sim/index.js';
import { startBenchFleet } from './fixtures/bench-fleet.js';
import { imageSetBytes, makeImageSet, type ImageSet } from '../../harness/flash/testing/make-image-set.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const hilBin = path.join(repo, 'bin', 'hil.js');
const MB = 1024 * 1024;

function hil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [hilBin, ...args], { cwd: repo, timeout: 120_000, maxBuffer: 8 * MB }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The summary table's row for a board, split into its columns. */
function row(stdout: string, board: string): string[] {
  const line = stdout.split('\n').find((l) => l.startsWith(`${board} `));
  if (!line) throw new Error(`no summary row for ${board} in:\n${stdout}`);
  return line.split(/ {2,}/);
}

let dir: string;
let rigsFile: string;
let set: ImageSet;
let fleet: SimFleet;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hil-e2e-flash-cli-'));
  set = makeImageSet({ seed: 61, dir: path.join(dir, 'build') });
  ({ rigsFile, fleet } = await startBenchFleet(dir, 0.05));
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  set?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('hil flash on two simulated boards of a rigs file', () => {
  it('flashes both boards in parallel; each then says HELLO with the image\'s app sha256', async () => {
    expect(imageSetBytes(set)).toBeGreaterThan(1 * MB);
    expect(imageSetBytes(set)).toBeLessThan(2 * MB);
    const r = await hil(['flash', 'bench', '--rigs', rigsFile, '--build', set.dir, '--no-sim']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain(`flashing ${set.flasherArgsPath} (tinyml_bench v1.0.61, app ${set.appElfSha256.slice(0, 12)}) onto bench-a, bench-b\n`);
    for (const b of ['bench-a', 'bench-b']) {
      // In-band: the firmware was asked to restart into the ROM loader before esptool-js connected.
      expect(out.indexOf(`${b}: restarting into the ROM loader (RESET download)\n`)).toBeGreaterThan(-1);
      expect(out.indexOf(`${b}: restarting into the ROM loader`)).toBeLessThan(out.indexOf(`${b}: connecting to the ROM loader`));
      expect(out).toMatch(new RegExp(`${b}: flashed in [\\d.]+ s at 2000000 baud \\(watchdog reset\\)\\n`));
      expect(out).toMatch(new RegExp(`${b}: {3}0x010000 app {14}\\d+ bytes \\(\\d+ compressed, \\d+ on the wire\\)`));
      const cols = row(out, b);
      expect(cols.slice(0, 3)).toEqual([b, 'flashed', '4 written']);
      expect(cols[3]).toMatch(/^\d+\.\d KB$/);
      expect(cols[5]).toBe(`ok (tinyml_bench v1.0.61, app ${set.appElfSha256.slice(0, 12)})`);
    }
    // In parallel: each board was still writing its app when the other one started writing.
    expect(out.indexOf('bench-b: app: writing')).toBeLessThan(out.indexOf('bench-a: model: writing'));
    expect(out.indexOf('bench-a: app: writing')).toBeLessThan(out.indexOf('bench-b: model: writing'));

    // Independently of the CLI's own check: what the boards say now, through `hil rigs --probe`.
    const probe = await hil(['rigs', '--probe', '--json', '--no-sim', '--rigs', rigsFile]);
    expect(probe.code).toBe(0);
    const rows = JSON.parse(probe.stdout) as { board: string; identity?: { appSha256: string; projectName: string; appVersion: string } }[];
    expect(rows.map((x) => [x.board, x.identity?.appSha256, x.identity?.projectName, x.identity?.appVersion])).toEqual([
      ['bench-a', set.appElfSha256, 'tinyml_bench', 'v1.0.61'],
      ['bench-b', set.appElfSha256, 'tinyml_bench', 'v1.0.61'],
    ]);
  }, 120_000);

  it('flashing again skips every region: nothing is programmed, and the HELLO still checks out', async () => {
    const programmed = fleet.boards.map((b) => b.board.rom.flash.stats.bytesProgrammed);
    const r = await hil(['flash', 'bench-a', 'bench-b', '--rigs', rigsFile, '--build', set.dir, '--no-sim']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/unchanged, skipped/g)).toHaveLength(8);
    for (const b of ['bench-a', 'bench-b']) {
      expect(row(r.stdout, b)).toEqual([b, 'unchanged', '4 skipped', expect.stringMatching(/KB$/), expect.stringMatching(/^[\d.]+$/), `ok (tinyml_bench v1.0.61, app ${set.appElfSha256.slice(0, 12)})`]);
    }
    expect(fleet.boards.map((b) => b.board.rom.flash.stats.bytesProgrammed)).toEqual(programmed);
  }, 120_000);

  it('an image corrupted on its way into one board is caught (flash MD5), naming the board and the file; the other board is fine; exit 2', async () => {
    // bench-b's flash has a sector in its app that no longer erases (it keeps zeros).
    const flash = fleet.board('bench-b').rom.flash;
    flash.program(0x20000, new Uint8Array(16));
    flash.markBadSector(0x20000);
    const r = await hil(['flash', 'bench', '--rigs', rigsFile, '--build', set.dir, '--no-sim']);
    expect(r.code).toBe(2);
    const app = path.join(set.dir, 'tinyml_bench.bin');
    expect(r.stderr).toBe(`hil: board bench-b: the flash MD5 after writing ${app} at 0x10000 does not match the file: the write was corrupted; flash again, and replace the cable or lower --baud if it repeats\n`);
    expect(row(r.stdout, 'bench-a')).toEqual(['bench-a', 'unchanged', '4 skipped', expect.stringMatching(/KB$/), expect.stringMatching(/^[\d.]+$/), `ok (tinyml_bench v1.0.61, app ${set.appElfSha256.slice(0, 12)})`]);
    expect(row(r.stdout, 'bench-b')).toEqual(['bench-b', 'FAILED', '2 skipped of 4', '-', expect.stringMatching(/^[\d.]+$/), 're-probed: not answering']);
    expect(r.stdout).toContain('bench-b: FAILED\n');
    // Re-probed, not left half-known: it does not answer (still in the flasher stub), and says why.
    expect(r.stdout).toMatch(/\nbench-b: re-probed: not answering - board bench-b did not answer RESET .* press its EN button or power-cycle it/);
    expect(r.stdout).toContain('1 of 2 boards failed: bench-b');
    expect(fleet.board('bench-b').state).toBe('download');
  }, 120_000);

  it('an unknown tag is one line with a "did you mean", exit 2, and no board is touched', async () => {
    const before = fleet.boards.map((b) => b.board.rom.flash.stats.bytesProgrammed);
    const r = await hil(['flash', 'bnch', '--rigs', rigsFile, '--build', set.dir, '--no-sim']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`hil: no board or tag "bnch" in ${rigsFile} (did you mean "bench"?)\n`);
    expect(fleet.boards.map((b) => b.board.rom.flash.stats.bytesProgrammed)).toEqual(before);
  }, 60_000);
});

describe('hil flash on a fresh clone: the tracked rigs.json, simulated boards started by the CLI', () => {
  it('flashes sim-1 and sim-2 (tag serial) and checks their HELLO', async () => {
    const small = makeImageSet({ seed: 62, appSize: 160 * 1024, modelSize: 32 * 1024, dir: path.join(dir, 'small') });
    const r = await hil(['flash', 'serial', '--build', small.dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('simulated fleet started in-process (every number these boards report is simulated');
    expect(r.stdout).toContain('onto sim-1, sim-2\n');
    for (const b of ['sim-1', 'sim-2']) {
      expect(row(r.stdout, b)).toEqual([b, 'flashed', '4 written', expect.stringMatching(/KB$/), expect.stringMatching(/^[\d.]+$/), `ok (tinyml_bench v1.0.62, app ${small.appElfSha256.slice(0, 12)})`]);
    }
  }, 120_000);
});
