/**
 * flashThroughSession against a whole simulated board (ROM loader + the lab firmware on a PTY):
 * the board session asks the firmware to restart into the ROM loader, esptool-js flashes it, and the
 * same session hears the new firmware's HELLO.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BoardConfig } from '../config/types.js';
import { createBoardSession } from '../boards/index.js';
import { SimBoard } from '../sim/board.js';
import { FlashError, type FlashProgress } from './flasher.js';
import { flashThroughSession } from './through-session.js';
import { makeImageSet, type ImageSet } from './testing/make-image-set.js';

let dir: string;
let set: ImageSet;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'through-session-'));
  set = makeImageSet({ seed: 41, appSize: 96 * 1024, modelSize: 16 * 1024, flashSize: '8MB' });
});
afterAll(() => {
  set.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function config(id: string): BoardConfig {
  return {
    id, chip: 'esp32s3', identity: {}, tags: [],
    transport: { serial: { baud: 921600, flashBaud: 2_000_000, reset: 'classic' } },
  };
}

async function simBoard(id: string, start: 'app' | 'download' = 'app'): Promise<SimBoard> {
  return SimBoard.start({
    id, flashPath: path.join(dir, `${id}.flash`), profile: 'esp32s3-devkitc-1-n8r8', timeScale: 0.02,
    serial: { baud: 921600 }, start,
  });
}

describe('flashThroughSession', () => {
  it('RESET download in-band, flash, then the HELLO through the same session names the new image', async () => {
    const board = await simBoard('ts-1');
    const session = createBoardSession(config('ts-1'), { transport: 'serial', serialPath: board.path });
    try {
      const before = await session.connect(10_000);
      expect(before.appSha256).not.toBe(set.appElfSha256); // the factory-programmed simulated firmware
      const phases: FlashProgress['phase'][] = [];
      const report = await flashThroughSession({
        board: session, answering: true, port: board.path, build: set.dir, baud: 2_000_000, reset: 'classic',
        onProgress: (p) => { if (phases[phases.length - 1] !== p.phase) phases.push(p.phase); },
      });
      expect(report.downloadMode).toBe('in-band');
      expect(report.identity.appSha256).toBe(set.appElfSha256);
      expect(report.identity.projectName).toBe('tinyml_bench');
      expect(report.regions.map((r) => r.action)).toEqual(['written', 'written', 'written', 'written']);
      expect(phases[0]).toBe('download-mode');
      expect(phases).toEqual(expect.arrayContaining(['connect', 'write', 'reset', 'hello', 'done']));
      expect(session.state).toBe('ready');
      expect(session.identity?.appSha256).toBe(set.appElfSha256);

      // Again: every region already matches; the board still goes through the ROM loader and back.
      const again = await flashThroughSession({ board: session, answering: true, port: board.path, build: set.dir, baud: 2_000_000, reset: 'classic' });
      expect(again.regions.map((r) => r.action)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
      expect(again.identity.appSha256).toBe(set.appElfSha256);
    } finally {
      await session.close();
      await board.stop();
    }
  }, 60_000);

  it('a board already in the ROM loader (not answering) is flashed after its link is released', async () => {
    const board = await simBoard('ts-2', 'download');
    const session = createBoardSession(config('ts-2'), { transport: 'serial', serialPath: board.path });
    try {
      await expect(session.connect(500)).rejects.toThrow(/sent no HELLO/);
      const report = await flashThroughSession({ board: session, answering: false, port: board.path, build: set.dir, baud: 2_000_000, reset: 'classic' });
      expect(report.downloadMode).toBe('esptool-reset');
      expect(report.identity.appSha256).toBe(set.appElfSha256);
    } finally {
      await session.close();
      await board.stop();
    }
  }, 60_000);

  it('a board that answers neither our protocol nor the ROM loader fails naming the board (not in download mode)', async () => {
    const board = await simBoard('ts-3');
    const session = createBoardSession(config('ts-3'), { transport: 'serial', serialPath: board.path });
    try {
      await session.connect(10_000);
      // Told it does not answer, nobody asks it to restart: on a PTY no reset line reaches it.
      const err = await flashThroughSession({ board: session, answering: false, port: board.path, build: set.dir, baud: 2_000_000, reset: 'classic' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FlashError);
      expect((err as FlashError).phase).toBe('connect');
      expect((err as Error).message).toMatch(/^board ts-3: no answer from the ESP32-S3 ROM loader on \/dev\/pts\/\d+ .*not in download mode - put it there in-band first/);
      // The firmware was never touched: the session takes it back as it was.
      expect((await session.connect(10_000)).appSha256).not.toBe(set.appElfSha256);
    } finally {
      await session.close();
      await board.stop();
    }
  }, 60_000);
});
