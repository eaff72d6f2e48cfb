import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { flashBoard, FlashError } from './flasher.js';
import { makeImageSet, type ImageSet } from './testing/make-image-set.js';
import { SimRomBoard } from '../sim/rom/board.js';
import { LabError } from '../errors.js';

let dir: string;
let set: ImageSet;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'flasher-'));
  set = makeImageSet({ seed: 31, appSize: 64 * 1024, modelSize: 16 * 1024 });
});
afterAll(() => {
  set.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('flashBoard', () => {
  it('refuses an unusable baud rate before opening anything', async () => {
    await expect(flashBoard({ board: 'b', port: '/dev/null', build: set.dir, baud: 12.5 })).rejects.toThrow(/baud rate 12\.5 for board b is not a usable serial rate/);
  });

  it('names the board and the port when the port cannot be opened', async () => {
    const err = await flashBoard({ board: 'bench-7', port: '/dev/ttyNOPE9', build: set.dir, reset: 'none' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect(err).toBeInstanceOf(LabError);
    expect((err as FlashError).phase).toBe('connect');
    expect((err as Error).message).toMatch(/^board bench-7: cannot open \/dev\/ttyNOPE9 for board bench-7/);
  });

  it('fails with the app file named when the firmware never says hello after the reset', async () => {
    const board = SimRomBoard.start({ name: 'quiet', flashPath: path.join(dir, 'quiet.flash'), flashSize: 8 * 1024 * 1024, start: 'download' });
    try {
      const err = await flashBoard({
        board: 'quiet', port: board.path, build: set.dir, baud: 2_000_000, reset: 'none', flashSize: '8MB',
        waitForHello: () => new Promise(() => {}), helloTimeoutMs: 300,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FlashError);
      const fe = err as FlashError;
      expect(fe.phase).toBe('hello');
      expect(fe.file).toBe(path.join(set.dir, 'tinyml_bench.bin'));
      expect(fe.message).toMatch(/^board quiet: the firmware from .*tinyml_bench\.bin did not say hello after the reset \(no hello within 0\.3 s\)/);
      expect(fe.regions.every((r) => r.action === 'written')).toBe(true);
    } finally {
      await board.close();
    }
  });

  it('refuses a build whose flash size is larger than the board', async () => {
    const board = SimRomBoard.start({ name: 'small', flashPath: path.join(dir, 'small.flash'), flashSize: 4 * 1024 * 1024, start: 'download' });
    try {
      const err = await flashBoard({ board: 'small', port: board.path, build: set.dir, baud: 921600, reset: 'none' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FlashError);
      // The flash size comes from the board's flash ID (4 MB), the build says 8MB.
      expect((err as Error).message).toMatch(/^board small: .*flash_settings\.flash_size is 8MB but board small has 4MB of flash/);
      expect(board.flash.stats.bytesProgrammed).toBe(0);
    } finally {
      await board.close();
    }
  });
});
