/**
 * Flashing through a real ser2net (Debian's, telnet(rfc2217) mode): the unmodified esptool-js from
 * npm drives a simulated ESP32-S3 in ROM download mode on a PTY that ser2net exports, as a lab
 * flashes a board on another host's USB hub - baud switches go through SET-BAUDRATE, DTR/RTS through
 * SET-CONTROL (which ser2net leaves unanswered for a PTY: no modem lines, so the board is put into
 * download mode in-band and reset by the RTC watchdog afterwards), then skip-by-MD5 the second time.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flashBoard } from '../../harness/flash/flasher.js';
import { makeImageSet, type ImageSet } from '../../harness/flash/testing/make-image-set.js';
import { startSer2net, type Ser2net } from '../../harness/links/testing/ser2net.js';
import { SimRomBoard } from '../../harness/sim/rom/board.js';
import { helloOf } from './fixtures/rom-hello.js';

const MB = 1024 * 1024;
let dir: string;
let set: ImageSet;
let board: SimRomBoard;
let ser2net: Ser2net;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hil-e2e-rfc2217-'));
  set = makeImageSet({ seed: 21, appSize: 300 * 1024, modelSize: 64 * 1024 });
  board = SimRomBoard.start({ name: 'bench-1', flashPath: path.join(dir, 'bench-1.flash'), flashSize: 8 * MB, start: 'download' });
  ser2net = await startSer2net([{ device: board.path, mode: 'rfc2217', baud: 115200 }]);
  url = `rfc2217://127.0.0.1:${ser2net.ports[0]}`;
}, 30_000);

afterAll(async () => {
  await ser2net?.stop();
  await board?.close();
  set?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hil flash through ser2net (RFC 2217)', () => {
  it('writes the image set at 921600 through SET-BAUDRATE, resets by watchdog (no modem lines behind a PTY), and the app says hello', async () => {
    const report = await flashBoard({ board: 'bench-1', port: url, build: set.dir, baud: 921600, reset: 'classic', waitForHello: helloOf(board) });
    expect(report.chip).toMatch(/^ESP32-S3/);
    // The switch to 921600 went to ser2net as SET-BAUDRATE; the port refuses a rate the server does not confirm.
    expect(report.baud).toBe(921600);
    expect(report.regions.map((r) => r.action)).toEqual(['written', 'written', 'written', 'written']);
    expect(report.reset).toBe('watchdog');
    expect(report.hello?.appElfSha256).toBe(set.appElfSha256);
    for (const f of set.files) {
      expect(createHash('md5').update(board.flash.read(f.offset, f.bytes.length)).digest('hex'), f.name)
        .toBe(createHash('md5').update(f.bytes).digest('hex'));
    }
  }, 120_000);

  it('the same build again is skipped region by region (MD5 through the server)', async () => {
    board.enterDownloadMode();
    const report = await flashBoard({ board: 'bench-1', port: url, build: set.dir, baud: 921600, reset: 'classic', waitForHello: helloOf(board) });
    expect(report.regions.map((r) => r.action)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(report.hello?.appElfSha256).toBe(set.appElfSha256);
  }, 120_000);
});
