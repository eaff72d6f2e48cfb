/**
 * Flashing end to end: the real esptool-js (npm, unmodified) drives a simulated ESP32-S3 in ROM
 * download mode on a real PTY, through the Web-Serial adapter, at a high baud on a throttled wire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ESPLoader, Transport } from 'esptool-js';
import { SimRomBoard } from '../../harness/sim/rom/board.js';
import { flashBoard, FlashError } from '../../harness/flash/flasher.js';
import { makeImageSet, imageSetBytes, type ImageSet } from '../../harness/flash/testing/make-image-set.js';
import { NodeWebSerialPort } from '../../harness/flash/webserial-port.js';
import { appPartitions, parsePartitionTable, PARTITION_TABLE_OFFSET } from '../../harness/flash/partition-table.js';
import { parseEspImage } from '../../harness/flash/image.js';
import { LabError } from '../../harness/errors.js';
import { helloOf } from './fixtures/rom-hello.js';

const MB = 1024 * 1024;
const BAUD = 2_000_000;
let dir: string;
let set: ImageSet;
const boards: SimRomBoard[] = [];

function board(name: string, start: 'download' | 'app' = 'download'): SimRomBoard {
  const b = SimRomBoard.start({ name, flashPath: path.join(dir, `${name}.flash`), flashSize: 8 * MB, start });
  boards.push(b);
  return b;
}

/** A separate esptool-js session that reads each region's flash MD5 back from the board. */
async function readBackMd5s(b: SimRomBoard, regions: Array<{ offset: number; length: number }>): Promise<string[]> {
  const port = new NodeWebSerialPort(b.path);
  const transport = new Transport(port as unknown as ConstructorParameters<typeof Transport>[0], false);
  transport.trace = () => {};
  const loader = new ESPLoader({ transport, baudrate: BAUD, terminal: { clean() {}, writeLine() {}, write() {} } });
  try {
    await loader.main('no_reset');
    const out: string[] = [];
    for (const r of regions) out.push(await loader.flashMd5sum(r.offset, r.length));
    return out;
  } finally {
    await transport.disconnect();
  }
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hil-e2e-flash-'));
  set = makeImageSet({ seed: 11 });
});

afterAll(async () => {
  for (const b of boards) await b.close();
  set.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('flashing a simulated ESP32-S3 over a PTY with esptool-js', () => {
  const b1 = () => boards[0]!;

  it('writes a 1-2 MB image set; flash MD5s and the booted app identity match the build', async () => {
    expect(imageSetBytes(set)).toBeGreaterThan(1 * MB);
    expect(imageSetBytes(set)).toBeLessThan(2 * MB);
    const b = board('b1');
    const progress: string[] = [];
    const report = await flashBoard({
      board: 'b1', port: b.path, build: set.dir, baud: BAUD, reset: 'none',
      waitForHello: helloOf(b),
      onProgress: (p) => progress.push(p.phase),
    });
    expect(report.chip).toBe('ESP32-S3 (QFN56) (revision v0.2)');
    expect(report.flashSize).toBe('8MB');
    expect(report.regions.map((r) => [r.name, r.action])).toEqual([
      ['bootloader', 'written'], ['partition-table', 'written'], ['app', 'written'], ['model', 'written'],
    ]);
    for (const r of report.regions) {
      expect(r.compressedBytes).toBeGreaterThan(0);
      expect(r.wireBytes).toBeGreaterThanOrEqual(r.compressedBytes);
    }
    expect(report.reset).toBe('watchdog'); // no modem lines on a PTY
    expect(report.hello?.appElfSha256).toBe(set.appElfSha256);
    expect(progress).toEqual(expect.arrayContaining(['connect', 'compare', 'write', 'reset', 'hello', 'done']));
    expect(b.mode).toBe('app');

    // The identity in the simulated flash, read the way the simulated app will: partition table -> app -> esp_app_desc_t.
    const table = parsePartitionTable(b.flash.read(PARTITION_TABLE_OFFSET, 0xc00), 'flash of b1');
    const app = appPartitions(table)[0]!;
    const image = parseEspImage(b.flash.read(app.offset, app.size), 'app partition of b1');
    expect(image.app?.appElfSha256).toBe(set.appElfSha256);
    expect(image.app?.projectName).toBe('tinyml_bench');

    // And the flash MD5 of every region, read back through esptool-js in a new session.
    b.enterDownloadMode();
    const md5s = await readBackMd5s(b, set.files.map((f) => ({ offset: f.offset, length: f.bytes.length })));
    expect(md5s).toEqual(set.files.map((f) => createHash('md5').update(f.bytes).digest('hex')));
  });

  it('flashing the same build again transfers no image data: every region is skipped by MD5', async () => {
    const b = b1();
    // The read-back left the esptool stub running at 2 Mbaud; a power cycle brings the app back, and
    // the firmware's RESET mode=download puts the board into the ROM loader in-band.
    b.reset();
    expect(b.mode).toBe('app');
    b.enterDownloadMode();
    expect(b.mode).toBe('download');
    b.wire.resetStats();
    const report = await flashBoard({ board: 'b1', port: b.path, build: set.dir, baud: BAUD, reset: 'none', waitForHello: helloOf(b) });
    expect(report.regions.map((r) => r.action)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(report.hello?.appElfSha256).toBe(set.appElfSha256);
    // The loader saw no FLASH_DATA at all; what crossed the wire was the stub upload and commands.
    expect(b.wire.stats.bytesToBoard).toBeLessThan(20_000);
    expect(b.flash.stats.bytesProgrammed).toBe(imageSetBytes(set)); // only the first flashing programmed
  });

  it('catches a corrupted app image before touching the board, naming the file', async () => {
    const b = board('b2');
    for (const corrupt of ['app-checksum', 'app-desc-magic'] as const) {
      const bad = makeImageSet({ seed: 12, corrupt, appSize: 200 * 1024 });
      try {
        const err = await flashBoard({ board: 'b2', port: b.path, build: bad.dir, baud: BAUD, reset: 'none' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LabError);
        expect((err as Error).message).toContain(path.join(bad.dir, 'tinyml_bench.bin'));
        expect((err as Error).message).toMatch(corrupt === 'app-checksum' ? /is corrupted: image checksum/ : /has no esp_app_desc_t/);
      } finally {
        bad.cleanup();
      }
    }
    expect(b.flash.stats.bytesProgrammed).toBe(0);
    expect(b.loader?.stats.commands).toBe(0);
  });

  it('catches an identity mismatch: the hello comes from a board running another app', async () => {
    // A miswired rig: the port of board b3, the hello link of board b1 (running the first build).
    if (b1().mode !== 'app') b1().reset();
    expect(b1().app?.description.appElfSha256).toBe(set.appElfSha256);
    const other = makeImageSet({ seed: 13, appSize: 150 * 1024, modelSize: 16 * 1024, projectName: 'other_app' });
    try {
      const b3 = board('b3');
      const err = await flashBoard({ board: 'b3', port: b3.path, build: other.dir, baud: BAUD, reset: 'none', waitForHello: helloOf(b1()) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FlashError);
      const fe = err as FlashError;
      expect(fe.board).toBe('b3');
      expect(fe.phase).toBe('hello');
      expect(fe.file).toBe(path.join(other.dir, 'other_app.bin'));
      expect(fe.message).toMatch(new RegExp(`^board b3: after flashing, the board runs app ${set.appElfSha256.slice(0, 16)}… \\(tinyml_bench v1\\.0\\.11\\) but .*other_app\\.bin is ${other.appElfSha256.slice(0, 16)}…`));
      expect(fe.regions.map((r) => r.action)).toEqual(['written', 'written', 'written', 'written']);
      const b3boot = b3.mode === 'app' ? b3.lastBoot! : await b3.nextBoot();
      expect(b3boot.app?.description.appElfSha256).toBe(other.appElfSha256); // b3 itself did boot it
    } finally {
      other.cleanup();
    }
  });

  it('catches a flash MD5 mismatch after writing (a sector that no longer erases), naming the board and the file', async () => {
    const b = board('b6');
    b.flash.program(0x20000, new Uint8Array(16)); // zeros in the app's second 64 KB...
    b.flash.markBadSector(0x20000); // ...that the erase before writing cannot clear
    const err = await flashBoard({ board: 'b6', port: b.path, build: set.dir, baud: BAUD, reset: 'none' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    const fe = err as FlashError;
    expect(fe.phase).toBe('write');
    expect(fe.file).toBe(path.join(set.dir, 'tinyml_bench.bin'));
    expect(fe.message).toMatch(/^board b6: the flash MD5 after writing .*tinyml_bench\.bin at 0x10000 does not match the file: the write was corrupted/);
  });

  it('reports a board that is not in download mode as such', async () => {
    const b = board('b4', 'app'); // blank flash: halted in the bootloader, ROM loader not running
    const err = await flashBoard({ board: 'b4', port: b.path, build: set.dir, baud: BAUD, reset: 'none' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect((err as FlashError).phase).toBe('connect');
    expect((err as Error).message).toMatch(/^board b4: no answer from the ESP32-S3 ROM loader on \/dev\/pts\/\d+ \(.*\): the board is not in download mode - put it there in-band first/);
  });

  it('reports a disconnect in the middle of writing the app, naming the board and the file', async () => {
    const b = board('b5');
    const err = await flashBoard({
      board: 'b5', port: b.path, build: set.dir, baud: BAUD, reset: 'none',
      onProgress: (p) => {
        if (p.phase === 'write' && p.region === 'app' && (p.sent ?? 0) > 0 && b.wire.connected) b.wire.disconnect();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    const fe = err as FlashError;
    expect(fe.phase).toBe('write');
    expect(fe.message).toMatch(/^board b5: lost contact while writing .*tinyml_bench\.bin at 0x10000 \(.*\): the flash is now partly written; flash the board again$/);
    expect(fe.regions.map((r) => r.name)).toEqual(['bootloader', 'partition-table']);
    expect(readFileSync(set.flasherArgsPath, 'utf8')).toContain('tinyml_bench.bin'); // the build is untouched
  });
});

describe('hil flash (the real CLI) against a simulated board', () => {
  const hil = fileURLToPath(new URL('../../bin/hil.js', import.meta.url));
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [hil, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      });
    });

  it('flashes with plain progress lines when stdout is not a TTY, then skips everything the second time', async () => {
    const small = makeImageSet({ seed: 21, appSize: 200 * 1024, modelSize: 32 * 1024 });
    try {
      const b = board('cli0');
      const first = await run(['flash', 'cli0', '--port', b.path, '--build', small.dir, '--reset', 'none', '--baud', '2000000']);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('cli0: connecting to the ROM loader\n');
      expect(first.stdout).toMatch(/cli0: app: writing 100%\n/);
      expect(first.stdout).toMatch(/cli0: flashed in [\d.]+ s at 2000000 baud \(watchdog reset\)\n/);
      expect(first.stdout).toMatch(/cli0: {3}0x010000 app {14}\d+ bytes \(\d+ compressed, \d+ on the wire\)/);
      const booted = b.mode === 'app' ? b.lastBoot! : await b.nextBoot();
      expect(booted.app?.description.appElfSha256).toBe(small.appElfSha256);

      b.enterDownloadMode();
      const second = await run(['flash', 'cli0', '--port', b.path, '--build', small.dir, '--reset', 'none', '--baud', '2000000']);
      expect(second.code).toBe(0);
      expect(second.stdout.match(/unchanged, skipped/g)).toHaveLength(4);
    } finally {
      small.cleanup();
    }
  });

  it('ends a user error in one sentence on stderr with exit code 2', async () => {
    const missing = path.join(dir, 'no-build');
    const r = await run(['flash', 'x', '--port', '/dev/null', '--build', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`hil: ${path.join(missing, 'flasher_args.json')} does not exist: point --build at an ESP-IDF build directory (run \`idf.py build\` for this variant first)\n`);
  });
});
