import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ChunkAssembler, accuracyRequests, assembleAccuracy, assembleInvoke, assembleOutput, chunkDataSize,
  inputRequests, modelUploadRequests, splitChunks,
} from './chunking.js';
import { MAX_PAYLOAD } from './frame.js';
import { type Message, type MessageBody, decodeMessageBytes, encodeMessage } from './messages.js';

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);
const wrap = (body: MessageBody, more = false): Message => ({ requestId: 5, simulated: false, more, body });

describe('chunked uploads', () => {
  it('fills every MODEL_CHUNK frame to exactly 4096 payload bytes and reassembles the model', () => {
    const model = bytes(300_568);
    const reqs = modelUploadRequests(model, 'psram');
    const [begin, ...rest] = reqs;
    const end = rest.pop();
    expect(begin).toEqual({ type: 'model_begin', size: model.length, sha256: createHash('sha256').update(model).digest('hex'), destination: 'psram' });
    expect(end).toEqual({ type: 'model_end' });
    expect(rest.length).toBe(Math.ceil(model.length / 4092));
    const rebuilt = new Uint8Array(model.length);
    for (const c of rest) {
      if (c.type !== 'model_chunk') throw new Error(c.type);
      const frame = encodeMessage(wrap(c));
      if (c.offset + 4092 <= model.length) expect(frame.length).toBe(16 + MAX_PAYLOAD);
      const back = decodeMessageBytes(frame).body;
      if (back.type !== 'model_chunk') throw new Error(back.type);
      rebuilt.set(back.data, back.offset);
    }
    expect(rebuilt).toEqual(model);
    // Wire efficiency of the upload: payload bytes / all frame bytes (PROTOCOL.md: 99.5 %).
    const wire = reqs.reduce((n, r) => n + encodeMessage(wrap(r)).length, 0);
    expect(model.length / wire).toBeGreaterThan(0.994);
  });

  it('respects a smaller maxPayload announced in HELLO', () => {
    expect(chunkDataSize('model_chunk', 1024)).toBe(1020);
    expect(chunkDataSize('set_input')).toBe(4091);
    expect(chunkDataSize('accuracy_input', 8192)).toBe(4092); // never above the v1 frame limit
    expect(() => chunkDataSize('set_input', 5)).toThrow(RangeError);
    const reqs = inputRequests(2, bytes(9216), 1024);
    expect(reqs.map((r) => r.data.length)).toEqual([...Array(9).fill(1019), 9216 - 9 * 1019]);
    expect(reqs.every((r) => r.tensor === 2)).toBe(true);
  });

  it('splits exactly at chunk boundaries and handles empty data', () => {
    expect(splitChunks(bytes(8), 4).map((c) => c.offset)).toEqual([0, 4]);
    expect(splitChunks(new Uint8Array(0), 4)).toEqual([]);
    expect(() => splitChunks(bytes(4), 0)).toThrow(RangeError);
  });

  it('builds an accuracy batch from equal-size samples', () => {
    const samples = [bytes(5000, 1), bytes(5000, 2), bytes(5000, 3)];
    const reqs = accuracyRequests(samples);
    expect(reqs[0]).toEqual({ type: 'accuracy_begin', samples: 3, sampleBytes: 5000 });
    expect(reqs.at(-1)).toEqual({ type: 'accuracy_run' });
    const inputs = reqs.slice(1, -1);
    expect(inputs.reduce((n, r) => n + (r.type === 'accuracy_input' ? r.data.length : 0), 0)).toBe(15000);
    expect(() => accuracyRequests([bytes(3), bytes(4)])).toThrow('sample 1 has 4 bytes, sample 0 has 3');
  });
});

describe('chunked replies', () => {
  it('assembles INVOKE replies and checks count and sum against INVOKE_RESULT', () => {
    const replies = [
      wrap({ type: 'invoke_cycles', first: 0, cycles: [100, 200] }, true),
      wrap({ type: 'invoke_cycles', first: 2, cycles: [300] }, true),
      wrap({ type: 'invoke_profile', entries: [{ opIndex: 0, cycles: 90, name: 'CONV_2D' }] }, true),
      wrap({ type: 'invoke_result', warmup: 1, measured: 3, cpuMhz: 240, totalCycles: 600, wallUs: 3 }),
    ];
    const out = assembleInvoke(replies);
    expect(out.cycles).toEqual([100, 200, 300]);
    expect(out.latencyUs).toEqual([100 / 240, 200 / 240, 300 / 240]);
    expect(out.profile).toEqual([{ opIndex: 0, cycles: 90, name: 'CONV_2D' }]);

    const gap = [replies[0], wrap({ type: 'invoke_cycles', first: 3, cycles: [300] }, true), replies[3]];
    expect(() => assembleInvoke(gap)).toThrow('INVOKE: cycles chunk starts at inference 3, expected 2');
    const wrongSum = [replies[0], replies[1], wrap({ type: 'invoke_result', warmup: 1, measured: 3, cpuMhz: 240, totalCycles: 601, wallUs: 3 })];
    expect(() => assembleInvoke(wrongSum)).toThrow('cycle counts add up to 600, the board says 601');
    expect(() => assembleInvoke(replies.slice(0, 3))).toThrow('no INVOKE_RESULT');
    expect(() => assembleInvoke([wrap({ type: 'error', code: 15, arg: 2, message: 'Invoke() failed' })])).toThrow('INVOKE failed on the board: error 15: Invoke() failed');
  });

  it('assembles OUTPUT_DATA pieces of a tensor, starting at any offset', () => {
    const data = bytes(9000);
    const replies = [
      { type: 'output_data', tensor: 1, offset: 100, total: 9000, data: data.subarray(100, 4187) },
      { type: 'output_data', tensor: 1, offset: 4187, total: 9000, data: data.subarray(4187, 9000) },
    ] satisfies MessageBody[];
    expect(assembleOutput(replies)).toEqual({ tensor: 1, total: 9000, offset: 100, data: data.subarray(100) });
    expect(() => assembleOutput([replies[1], replies[0]])).toThrow('piece at offset 100, expected 9000');
  });

  it('assembles an accuracy output stream and slices it per sample', () => {
    const stream = bytes(400);
    const out = assembleAccuracy([
      { type: 'accuracy_output', offset: 0, total: 400, data: stream.subarray(0, 250) },
      { type: 'accuracy_output', offset: 250, total: 400, data: stream.subarray(250) },
      { type: 'accuracy_result', samples: 200, outputBytes: 2 },
    ]);
    expect(out.sample(199)).toEqual(stream.subarray(398, 400));
    expect(() => out.sample(200)).toThrow(RangeError);
    expect(() => assembleAccuracy([
      { type: 'accuracy_output', offset: 0, total: 400, data: stream.subarray(0, 250) },
      { type: 'accuracy_result', samples: 200, outputBytes: 2 },
    ])).toThrow('got 250 output bytes, 200 samples x 2 bytes = 400');
  });

  it('ChunkAssembler rejects overlaps, overruns and a changing total', () => {
    const a = new ChunkAssembler('test');
    a.add(0, 10, bytes(4));
    expect(() => a.add(2, 10, bytes(4))).toThrow('test: piece at offset 2, expected 4');
    expect(() => a.add(4, 11, bytes(4))).toThrow('announces 11 bytes in total');
    expect(() => a.add(4, 10, bytes(7))).toThrow('runs past the total of 10');
    a.add(4, 10, bytes(6));
    expect(a.complete).toBe(true);
  });
});
