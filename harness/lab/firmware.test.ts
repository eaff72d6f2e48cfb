import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BoardConfig } from '../config/types.js';
import { makeImageSet } from '../flash/testing/make-image-set.js';
import { ensureFirmware, type FirmwareEnv } from './firmware.js';
import { BoardSlot } from './slot.js';
import { FakeBoard } from './testing/fake-board.js';

describe('ensureFirmware on a simulated board', () => {
  // firmware/build/esp-nn holds a real ESP-IDF build (as after `hil firmware build`), whose app
  // SHA-256 is not the simulated image's.
  const firmwareDir = mkdtempSync(path.join(tmpdir(), 'hil-fw-'));
  const buildDir = path.join(firmwareDir, 'build', 'esp-nn');
  mkdirSync(buildDir, { recursive: true });
  makeImageSet({ dir: buildDir, appSize: 40_000, modelSize: 4096 });
  afterAll(() => rmSync(firmwareDir, { recursive: true, force: true }));

  const env: FirmwareEnv = {
    firmwareDir,
    timeouts: { flashMs: 1000, helloMs: 1000, connectMs: 1000 },
    emit: () => undefined,
    step: (_name, _ms, work) => work(),
  };
  const config: BoardConfig = {
    id: 'sim-1', chip: 'esp32s3', transport: { serial: { baud: 921600, flashBaud: 921600, reset: 'classic' } }, identity: {}, tags: [],
    simulated: { profile: 'esp32s3-devkitc-1-n16r8', seed: 1, faults: [] },
  };

  it('keeps the variant it runs although a real build of that variant exists (no switch, no reboot), and takes no build identity from it', async () => {
    const board = new FakeBoard({ id: 'sim-1', variant: 'esp-nn' });
    await board.connect();
    const slot = new BoardSlot(board, config, () => undefined);
    const info = await ensureFirmware(slot, { id: 'esp-nn', variant: 'esp-nn', cpuMHz: 240 }, env);
    expect(board.calls.switches).toBe(0);
    expect(info).toBeUndefined(); // the simulated image is not firmware/build/esp-nn's
    // Another variant is still a switch.
    await ensureFirmware(slot, { id: 'reference', variant: 'reference', cpuMHz: 240 }, env);
    expect(board.calls.switches).toBe(1);
    expect(board.identity?.variant).toBe('reference');
  });
});
