/**
 * `hil flash` over a raw TCP serial port: the real esptool-js (npm, unmodified) flashes a simulated
 * ESP32-S3 in ROM download mode that the simulated fleet serves on "tcp": "127.0.0.1:0" - as it
 * would flash an emulated board (QEMU `-serial tcp:`) or one behind ser2net. No modem lines: the
 * board is in download mode already (`reset: 'none'`) and comes back through the RTC watchdog.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ESPLoader, Transport } from 'esptool-js';
import type { Rigs } from '../config/types.js';
import { tcpUrl } from '../links/tcp-connect.js';
import { startSimFleet, type SimFleet } from '../sim/fleet.js';
import type { SimBoard } from '../sim/board.js';
import { flashBoard, FlashError, type BoardHello } from './flasher.js';
import { imageSetBytes, makeImageSet, type ImageSet } from './testing/make-image-set.js';
import { NodeWebSerialTcpPort } from './webserial-tcp.js';

const BAUD = 921600;
let dir: string;
let set: ImageSet;
let fleet: SimFleet;
let sim: SimBoard;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hil-flash-tcp-'));
  set = makeImageSet({ seed: 41, appSize: 96 * 1024, modelSize: 16 * 1024, flashSize: '8MB', dir: path.join(dir, 'build') });
  const rigs: Rigs = {
    file: path.join(dir, 'rigs.json'), label: 'rigs.json', warnings: [], mqtt: { url: 'embedded', embeddedPort: 0 },
    boards: [{
      id: 'tcp-1', chip: 'esp32s3', transport: { tcp: { host: '127.0.0.1', port: 0 } }, identity: {}, tags: [],
      simulated: { profile: 'esp32s3-devkitc-1-n8r8', seed: 5, faults: [] },
    }],
  };
  fleet = await startSimFleet({ rigs, timeScale: 0.01, download: true, flashDir: path.join(dir, 'flash') });
  sim = fleet.board('tcp-1');
  url = tcpUrl(fleet.boards[0]!.tcpAddress!);
});

afterAll(async () => {
  await fleet?.stop();
  set?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Into the ROM loader the way the lab does it without modem lines - the firmware's RESET
 * mode=download: the RTC force-download bit and a software reset (the flasher clears the bit before
 * its watchdog reset) - once the board's last output has crossed the line. The HELLO event fires
 * while the flashed app's boot log (~3 KB) is still on its way at 115200 baud; a chip reset does not
 * take back what the simulated line already carries, and esptool-js, reading that stale text
 * ("boot:0x8", not download mode) instead of SLIP replies, fails every SYNC at once.
 */
async function intoDownloadMode(): Promise<void> {
  await sim.rom.wire.flush();
  sim.rom.enterDownloadMode();
}

/** The HELLO the flashed firmware sends when it has booted (what the board-session layer provides). */
function nextHello(): () => Promise<BoardHello> {
  const ready = sim.nextReady(60_000);
  return async () => ({ appElfSha256: (await ready).appElfSha256 });
}

/** A separate esptool-js session over the same TCP port that reads each region's flash MD5 back. */
async function readBackMd5s(regions: Array<{ offset: number; length: number }>): Promise<string[]> {
  const port = new NodeWebSerialTcpPort(fleet.boards[0]!.tcpAddress!, { board: 'tcp-1' });
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

describe('flashing a simulated ESP32-S3 over a raw TCP serial port with esptool-js', () => {
  it('writes the image set at 921600 baud (CHANGE_BAUDRATE, no host side), verified by MD5; the flashed app boots', async () => {
    expect(sim.state).toBe('download');
    const rates: number[] = [];
    sim.rom.on('baud', (baud) => rates.push(baud));
    const report = await flashBoard({ board: 'tcp-1', port: url, build: set.dir, baud: BAUD, reset: 'none', waitForHello: nextHello() });
    expect(report.port).toBe(url);
    expect(report.baud).toBe(BAUD);
    expect(report.regions.map((r) => [r.name, r.action])).toEqual([
      ['bootloader', 'written'], ['partition-table', 'written'], ['app', 'written'], ['model', 'written'],
    ]);
    expect(report.reset).toBe('watchdog'); // no modem lines on a raw TCP port
    // The stub switched its UART to 921600 and the line followed it, ungarbled: the app went out
    // faster than 115200 baud (11,520 bytes/s) could carry it.
    expect(rates).toEqual([BAUD]);
    expect(sim.rom.wire.stats.baudMismatchBytes).toBe(0);
    const app = report.regions.find((r) => r.name === 'app')!;
    expect(app.wireBytes / app.seconds).toBeGreaterThan(3 * 11_520);
    expect(report.hello?.appElfSha256).toBe(set.appElfSha256);
    expect(sim.state).toBe('app');

    // The flash MD5 of every region, read back through esptool-js in a new session over TCP.
    await intoDownloadMode();
    const md5s = await readBackMd5s(set.files.map((f) => ({ offset: f.offset, length: f.bytes.length })));
    expect(md5s).toEqual(set.files.map((f) => createHash('md5').update(f.bytes).digest('hex')));
  });

  it('flashing the same build again transfers no image data: every region is skipped by MD5', async () => {
    // The read-back left the esptool stub running at 921600: the ROM loader again.
    await intoDownloadMode();
    expect(sim.state).toBe('download');
    sim.rom.wire.resetStats();
    const programmed = sim.rom.flash.stats.bytesProgrammed;
    const report = await flashBoard({ board: 'tcp-1', port: url, build: set.dir, baud: BAUD, reset: 'none', waitForHello: nextHello() });
    expect(report.regions.map((r) => r.action)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(report.hello?.appElfSha256).toBe(set.appElfSha256);
    // What crossed the wire was the stub upload and commands, no image data; nothing was programmed.
    expect(sim.rom.wire.stats.bytesToBoard).toBeLessThan(20_000);
    expect(imageSetBytes(set)).toBeGreaterThan(100_000);
    expect(sim.rom.flash.stats.bytesProgrammed).toBe(programmed);
  });

  it('names the board, the address and the fix when nothing listens there', async () => {
    const err = await flashBoard({ board: 'tcp-9', port: 'tcp://127.0.0.1:1', build: set.dir, reset: 'none' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect((err as FlashError).phase).toBe('connect');
    expect((err as Error).message).toBe('board tcp-9: cannot connect to tcp://127.0.0.1:1 for board tcp-9 (connection refused: nothing listens there): start the emulator or ser2net so it listens on 127.0.0.1:1, or fix transport.tcp in rigs.json');
  });
});
