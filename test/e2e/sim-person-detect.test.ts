/**
 * person_detect on simulated boards, through the whole path a harness uses (PTY, protocol, upload,
 * arena, inputs, invoke, outputs): TFLM's exact scores come back, the on-board cycle counts put the
 * ESP-NN and reference builds within 15 % of the published 54 ms / 2300 ms at 240 MHz, and the
 * arenas match TFLM (reference) and need more with ESP-NN's scratch buffers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inputRequests, modelUploadRequests, type MessageBody } from '../../harness/protocol/index.js';
import { readBmpInt8 } from '../../harness/tflite/testing/images.js';
import { SimBoard } from '../../harness/sim/board.js';
import { SimSerialClient } from '../../harness/sim/testing/serial-client.js';
import { hasShared, readSharedModel, sharedModelPath } from '../shared.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hil-sim-person-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(hasShared)('person_detect on a simulated ESP32-S3 (needs ../shared)', () => {
  for (const [variant, publishedMs, arena] of [['esp-nn', 54, 122_572], ['reference', 2300, 82_300]] as const) {
    it(`${variant}: TFLM's scores for person.bmp / no_person.bmp, latency within 15% of ${publishedMs} ms, arena_used ${arena}`, async () => {
      const board = await SimBoard.start({
        id: `pd-${variant}`, flashPath: path.join(dir, `${variant}.flash`), timeScale: variant === 'reference' ? 0.002 : 0.02,
        serial: { baud: 2_000_000 }, variant, seed: 11,
      });
      const c = await SimSerialClient.open(board.path, 2_000_000);
      try {
        await c.hello();
        const model = readSharedModel('tflite-micro/person_detect.tflite');
        let last: MessageBody | undefined;
        for (const req of modelUploadRequests(model, 'psram')) last = await c.final(req);
        expect(last).toMatchObject({ type: 'model_ready', size: model.length });
        expect(await c.final({ type: 'arena_config', size: 160 * 1024, placement: 'internal' })).toMatchObject({ type: 'arena_ready', used: arena });
        const classify = async (file: string): Promise<number[]> => {
          const pixels = readBmpInt8(sharedModelPath(`tflite-micro/${file}`)).pixels;
          for (const req of inputRequests(0, new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength))) await c.final(req);
          const replies = await c.request({ type: 'invoke', warmup: 1, measured: 5, profile: false }, 60_000);
          const cycles = replies.flatMap((m) => (m.body.type === 'invoke_cycles' ? m.body.cycles : []));
          expect(cycles).toHaveLength(5);
          const median = [...cycles].sort((a, b) => a - b)[2]! / 240_000;
          expect(Math.abs(median / publishedMs - 1)).toBeLessThan(0.15);
          const out = await c.final({ type: 'get_output', tensor: 0, offset: 0, length: 0xffffffff });
          if (out.type !== 'output_data') throw new Error(`expected OUTPUT_DATA, got ${out.type}`);
          return [...new Int8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength)];
        };
        expect(await classify('person.bmp')).toEqual([-113, 113]);
        expect(await classify('no_person.bmp')).toEqual([57, -57]);
      } finally {
        await c.close();
        await board.stop();
      }
    }, 120_000);
  }
});
