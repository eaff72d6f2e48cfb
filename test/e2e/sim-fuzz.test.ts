/**
 * Fuzzing a simulated board over a real PTY and serialport (the direct-input fuzz is in
 * harness/sim/fuzz.test.ts): random bytes and random, corrupted frames at the line rate. The board
 * must not crash or hang, must count every bad frame, and must still answer a PING afterwards.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeFrame, encodeMessage, MessageType } from '../../harness/protocol/index.js';
import { createRng } from '../../harness/stats/rng.js';
import { SimBoard } from '../../harness/sim/board.js';
import { SimSerialClient } from '../../harness/sim/testing/serial-client.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hil-sim-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fuzzing a simulated board over a PTY', () => {
  it('takes random bytes and damaged frames without crashing or hanging, counts them, and answers a PING', async () => {
    const board = await SimBoard.start({ id: 'fuzz', flashPath: path.join(dir, 'fuzz.flash'), timeScale: 0.01, serial: { baud: 921600 } });
    const client = await SimSerialClient.open(board.path, 921600);
    try {
      await client.hello();
      const rng = createRng(31337);
      // 1. Noise with sync pairs and whole frames with a broken CRC, 64 KiB.
      let damagedWithHeader = 0;
      for (let block = 0; block < 16; block++) {
        const noise = Uint8Array.from({ length: 3000 }, () => rng.nextInt(256));
        for (let k = 0; k < 20; k++) {
          const at = rng.nextInt(2998);
          noise[at] = 0xf5;
          noise[at + 1] = 0xa5;
        }
        const frame = encodeMessage({ requestId: 1000 + block, simulated: false, more: false, body: { type: 'ping', data: new Uint8Array(900).fill(block) } });
        frame[500] ^= 0x40; // payload damage: header still valid
        damagedWithHeader++;
        client.writeRaw(Uint8Array.from([...noise, ...frame]));
        await new Promise((r) => setTimeout(r, 60)); // 3.9 KB at 921600 baud takes ~42 ms
      }
      await client.until(() => board.firmware!.stats.badFrames >= damagedWithHeader, 10_000, 'the damaged frames to be counted');
      const pong = await client.final({ type: 'ping', data: new Uint8Array([1, 2, 3]) });
      expect(pong).toEqual({ type: 'pong', data: new Uint8Array([1, 2, 3]) });
      const answered = client.messages.filter((m) => m.requestId >= 1000 && m.requestId < 1016 && m.body.type === 'error');
      expect(answered.length).toBeGreaterThan(0); // the ones the noise did not swallow were answered BAD_FRAME

      // 2. Random frames of every request type (except RESET / SIM_SET_VARIANT), 4 in flight at most.
      const types = Object.values(MessageType).filter((t) => t < 0x80 && t !== MessageType.RESET && t !== MessageType.SIM_SET_VARIANT);
      for (let i = 0; i < 200; i++) {
        const id = 2000 + i;
        const payload = Uint8Array.from({ length: rng.nextInt(64) }, () => rng.nextInt(256));
        client.writeRaw(encodeFrame({ version: 1, type: types[rng.nextInt(types.length)]!, flags: 0, requestId: id, payload }));
        if (i % 4 === 3) await client.until(() => client.messages.some((m) => m.requestId === id && !m.more), 10_000, `the reply to frame ${id}`);
      }
      expect(await client.final({ type: 'ping', data: new Uint8Array([9]) })).toEqual({ type: 'pong', data: new Uint8Array([9]) });
      expect(board.state).toBe('app');
      expect(board.serial.stats.headerErrors).toBeGreaterThan(100);
      expect(board.firmware!.stats.badPayloads).toBeGreaterThan(10);
    } finally {
      await client.close();
      await board.stop();
    }
  });
});
