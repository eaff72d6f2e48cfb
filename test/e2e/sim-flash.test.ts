/**
 * The full simulated board behind the flasher: a SimBoard in download mode is flashed with the real
 * esptool-js, reboots, and its firmware's HELLO on the console reports the flashed esp_app_desc_t;
 * the protocol's RESET download brings it back to the ROM loader, and SIM_SET_VARIANT writes the
 * simulated firmware over the flashed one again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, type Hello } from '../../harness/protocol/index.js';
import { flashBoard } from '../../harness/flash/flasher.js';
import { makeImageSet } from '../../harness/flash/testing/make-image-set.js';
import { SimBoard } from '../../harness/sim/board.js';
import { SimSerialClient } from '../../harness/sim/testing/serial-client.js';
import { simulatedImages } from '../../harness/sim/app/firmware-image.js';
import { parseVariant } from '../../harness/sim/app/variants.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hil-sim-flash-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SimBoard + flasher (esptool-js)', () => {
  it('boots the flashed image and reports its identity; RESET download and SIM_SET_VARIANT work around it', async () => {
    const set = makeImageSet({ seed: 21, flashSize: '8MB', dir: path.join(dir, 'build') });
    const board = await SimBoard.start({
      id: 'flashme', flashPath: path.join(dir, 'flashme.flash'), profile: 'esp32s3-devkitc-1-n8r8', timeScale: 0.01,
      serial: { baud: 115200 }, start: 'download',
    });
    try {
      expect(board.state).toBe('download');
      const ready = board.nextReady(60_000);
      const report = await flashBoard({
        board: 'flashme', port: board.path, build: set.dir, baud: 921600, reset: 'none',
        waitForHello: async () => ({ appElfSha256: (await ready).appElfSha256 }),
      });
      expect(report.hello?.appElfSha256).toBe(set.appElfSha256);

      // The firmware's own HELLO on the console names the flashed build (a real board would print its own log too).
      const client = await SimSerialClient.open(board.path, 115200);
      try {
        const info = await client.final({ type: 'get_info' });
        expect(info).toMatchObject({ type: 'info', appSha256: set.appElfSha256, projectName: set.projectName, appVersion: set.version, simulated: true });
        // The flashed image's model partition holds no HILMODEL image.
        expect(await client.final({ type: 'model_select_partition' })).toMatchObject({ type: 'error', code: ErrorCode.MODEL_PARTITION_EMPTY });

        // RESET download: the ROM loader again (what the flasher uses where DTR/RTS cannot reach).
        expect(await client.final({ type: 'reset', mode: 'download' })).toEqual({ type: 'ok' });
        await client.until(() => client.lines.includes('waiting for download'), 5000, 'the ROM loader');
        expect(board.state).toBe('download');
        const from = client.messages.length;
        board.reset(); // EN: back to the flashed app
        expect(((await client.hello(from)).body as Hello).appSha256).toBe(set.appElfSha256);

        // SIM_SET_VARIANT writes the simulated firmware of that variant over it, as a flash would.
        const from2 = client.messages.length;
        expect(await client.final({ type: 'sim_set_variant', variant: 'reference' })).toEqual({ type: 'ok' });
        const hello = (await client.hello(from2)).body as Hello;
        expect(hello).toMatchObject({ variant: 'reference', projectName: 'hil_bench' });
        expect(hello.appSha256).toBe(simulatedImages(parseVariant('reference')!, 8 * 1024 * 1024).appElfSha256);
      } finally {
        await client.close();
      }
    } finally {
      await board.stop();
      set.cleanup();
    }
  });
});
