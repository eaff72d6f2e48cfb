/**
 * ONE conformance suite for the board protocol, run over every link (CONVENTIONS.md, MQTT.js: the
 * same suite re-run for every transport): a PTY serial link, a raw TCP serial port, MQTT through
 * the embedded aedes broker (3.1.1), a real ser2net in front of the board's PTY (RFC 2217 and raw), and MQTT 5 through a real mosquitto with passwords and an ACL (targets.ts), each
 * against a simulated ESP32-S3 driven through the lab's `BoardSession`. Outputs are compared with
 * the lab's host interpreter byte for byte. Mosquitto missing fails the suite with the command
 * that installs it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BoardErrorReply } from '../../harness/boards/errors.js';
import type { BoardSession } from '../../harness/boards/session.js';
import { failureKind } from '../../harness/lab/failures.js';
import { valuesOf } from '../../harness/lab/tensor-bytes.js';
import { createRng } from '../../harness/stats/rng.js';
import { GraphBuilder, options } from '../../harness/tflite/builder.js';
import { Interpreter } from '../../harness/tflite/interpreter.js';
import { readModel } from '../../harness/tflite/reader.js';
import { writeModel } from '../../harness/tflite/writer.js';
import { RESET_REASONS, sha256Hex, type BoardIdentity, type Frame } from '../../harness/protocol/index.js';
import { TARGETS, type ConformanceRig } from './targets.js';

const repo = new URL('../../', import.meta.url);
const tinyConv = new Uint8Array(readFileSync(new URL('harness/tflite/testdata/tiny_conv_int8.tflite', repo)));
const fashionCnn = new Uint8Array(readFileSync(new URL('models/demo/fashion_cnn_int8.tflite', repo)));
/** Two float32 inputs of 12000 bytes and one output of 12000: several SET_INPUT and OUTPUT_DATA frames each. */
const wideAdd = (() => {
  const g = new GraphBuilder({ name: 'wide_add_float' });
  const a = g.addTensor({ name: 'a', type: 'float32', shape: [1, 3000] });
  const b = g.addTensor({ name: 'b', type: 'float32', shape: [1, 3000] });
  const y = g.addTensor({ name: 'y', type: 'float32', shape: [1, 3000] });
  g.addOperator('ADD', [a, b], [y], options.elementwise());
  g.setInputs([a, b]).setOutputs([y]);
  return writeModel(g.build());
})();

const T = 10_000; // per-request inactivity limit

/** What the lab's host interpreter computes for `inputs` (raw tensor bytes), as output bytes. */
function hostOutputs(model: Uint8Array, inputs: Uint8Array[]): Uint8Array[] {
  const it = new Interpreter(readModel(model));
  inputs.forEach((bytes, i) => it.setInput(i, valuesOf(it.inputs[i].type, bytes)));
  it.invoke();
  return it.outputs.map((_, o) => {
    const out = it.output(o);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength).slice();
  });
}

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rng.next() * 256));
}

function floats(n: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return new Uint8Array(Float32Array.from({ length: n }, () => rng.next() * 200 - 100).buffer);
}

async function rejection(p: Promise<unknown>): Promise<Error & { code: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code: string };
  }
  throw new Error('expected a rejection');
}

describe.each(TARGETS)('board protocol conformance over $name', (target) => {
  let rig: ConformanceRig;
  let s: BoardSession;
  const lines: string[] = [];
  const reboots: BoardIdentity[] = [];

  beforeAll(async () => {
    rig = await target.start();
    s = rig.session();
    s.onLog((l) => lines.push(l));
    s.onReboot((id) => reboots.push(id));
    await s.connect(T);
  });

  afterAll(async () => {
    await s?.close();
    await rig?.stop();
  });

  beforeEach(async () => {
    if (s && s.state !== 'ready') await s.reset(T); // a failed test does not take the next one with it
  });

  it('connects: HELLO or INFO with the board identity, protocol v1 negotiated', () => {
    const id = s.identity!;
    expect(s.state).toBe('ready');
    expect(s.protocolVersion).toBe(1);
    expect(id).toMatchObject({ chip: 'esp32s3', simulated: true, variant: 'esp-nn', kernelBackend: 'esp-nn', protocolMin: 1, protocolMax: 1, maxPayload: 4096, cores: 2 });
    expect(id.rxWindow).toBeGreaterThanOrEqual(1);
    expect(id.appSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(id.mac).toMatch(/^7c:df:a1(:[0-9a-f]{2}){3}$/);
    expect(s.connection.kind).toBe(target.kind);
    // The journal knows serial and MQTT: a TCP serial port carries the board's UART, so it is serial there.
    expect(s.link).toBe(target.kind === 'mqtt' ? 'mqtt' : 'serial');
    if (target.kind === 'tcp') expect(s.address).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
    if (target.kind === 'rfc2217') expect(s.address).toMatch(/^rfc2217:\/\/127\.0\.0\.1:[1-9]\d*$/);
    if (target.kind !== 'mqtt' && !target.viaSer2net) {
      // The boot log came through the same byte stream as the frames, as lines. (Behind ser2net the
      // board booted when ser2net first opened its PTY, and the RFC 2217 link purges what the server
      // buffered before it came, so whether the banner is still there is a race: not asserted.)
      expect(lines.some((l) => l.startsWith('ESP-ROM:esp32s3'))).toBe(true);
      expect(lines.some((l) => l.includes('cpu_start'))).toBe(true);
    }
  });

  it('PING echoes its data byte for byte, small and at the largest payload', async () => {
    const small = await s.ping(T, randomBytes(16, 1));
    expect(small.roundTripMs).toBeGreaterThan(0);
    const big = await s.ping(T, randomBytes(4096, 2));
    expect(big.bytes).toBe(4096);
    const info = await s.getInfo(T);
    expect(info.uptimeMs).toBeGreaterThanOrEqual(s.identity!.uptimeMs - 1);
  });

  it('uploads a model in pipelined chunks and the board checks its SHA-256', async () => {
    const sha = sha256Hex(fashionCnn);
    const ready = await s.uploadModelDetailed(fashionCnn, sha, 'psram', T);
    expect(ready).toMatchObject({ size: fashionCnn.length, sha256: sha, source: 'upload', placement: 'psram' });
    const mem = await s.memory(T);
    expect(mem.modelSize).toBe(fashionCnn.length);
    expect(mem.modelPlacement).toBe('psram');
  });

  it('a wrong SHA-256 is refused with MODEL_SHA_MISMATCH, the trial is at fault and the session stays ready', async () => {
    const e = await rejection(s.uploadModel(tinyConv, sha256Hex(fashionCnn), 'internal', T));
    expect(e).toBeInstanceOf(BoardErrorReply);
    expect(e.code).toBe('board-error:MODEL_SHA_MISMATCH');
    expect(e.message).toMatch(/^board sim-1: MODEL_END failed: MODEL_SHA_MISMATCH: /);
    expect(s.state).toBe('ready');
  });

  it('configures the arena; one too small is ARENA_TOO_SMALL with the bytes needed', async () => {
    await s.uploadModel(fashionCnn, sha256Hex(fashionCnn), 'psram', T);
    const small = await rejection(s.configureArena(2048, 'internal', T));
    expect(small.code).toBe('board-error:ARENA_TOO_SMALL');
    expect(failureKind(small)).toBe('trial');
    const ready = await s.configureArena(64 * 1024, 'internal', T);
    expect((small as BoardErrorReply).arg).toBe(ready.used);
    expect(ready).toMatchObject({ size: 64 * 1024, placement: 'internal' });
    expect(ready.inputs).toEqual([expect.objectContaining({ dtype: 'int8', bytes: 784, shape: [1, 28, 28, 1], zeroPoint: -128 })]);
    expect(ready.outputs).toEqual([expect.objectContaining({ dtype: 'int8', bytes: 10, shape: [1, 10] })]);
  });

  it('sets the input, invokes with on-board cycle counts and a profile, and returns the outputs the host interpreter computes', async () => {
    await s.uploadModel(fashionCnn, sha256Hex(fashionCnn), 'psram', T);
    await s.configureArena(64 * 1024, 'psram', T);
    const input = randomBytes(784, 3);
    await s.setInput(0, input, T);
    const run = await s.invoke({ warmup: 2, measured: 20, profile: true, timeoutMs: T });
    expect(run.cycles).toHaveLength(20);
    expect(run.cycles.every((c) => Number.isInteger(c) && c > 0)).toBe(true);
    expect(run.cpuMhz).toBe(240);
    expect(run.wallUs).toBeGreaterThan(0);
    expect(run.profile!.map((p) => p.name)).toContain('CONV_2D');
    expect(await s.getOutput(0, T)).toEqual(hostOutputs(fashionCnn, [input])[0]);
  });

  it('moves tensors larger than a frame: several SET_INPUT chunks into two inputs, several OUTPUT_DATA frames back', async () => {
    await s.uploadModel(wideAdd, sha256Hex(wideAdd), 'internal', T);
    const ready = await s.configureArena(64 * 1024, 'internal', T);
    expect(ready.inputs.map((t) => t.bytes)).toEqual([12000, 12000]);
    const a = floats(3000, 4);
    const b = floats(3000, 5);
    await s.setInput(0, a, T);
    await s.setInput(1, b, T);
    await s.invoke({ warmup: 0, measured: 1, profile: false, timeoutMs: T });
    expect(await s.getOutput(0, T)).toEqual(hostOutputs(wideAdd, [a, b])[0]);
  });

  it('runs an accuracy batch and returns every output of every sample', async () => {
    await s.uploadModel(fashionCnn, sha256Hex(fashionCnn), 'psram', T);
    await s.configureArena(64 * 1024, 'psram', T);
    const samples = Array.from({ length: 12 }, (_, i) => randomBytes(784, 100 + i));
    const outputs = await s.runAccuracy({ data: Buffer.concat(samples), samples: 12, sampleBytes: 784, timeoutMs: T });
    expect(outputs.length).toBe(12 * 10);
    samples.forEach((sample, i) => {
      expect(outputs.subarray(i * 10, (i + 1) * 10)).toEqual(hostOutputs(fashionCnn, [sample])[0]);
    });
  });

  it('reports memory: arena, model and both heaps', async () => {
    await s.uploadModel(tinyConv, sha256Hex(tinyConv), 'internal', T);
    const arena = await s.configureArena(16 * 1024, 'internal', T);
    const mem = await s.memory(T);
    expect(mem).toMatchObject({ arenaSize: 16 * 1024, arenaUsed: arena.used, arenaPlacement: 'internal', modelSize: tinyConv.length, modelPlacement: 'internal' });
    for (const heap of [mem.internal, mem.psram]) {
      expect(heap.total).toBeGreaterThan(0);
      expect(heap.free).toBeLessThanOrEqual(heap.total);
      expect(heap.minFree).toBeLessThanOrEqual(heap.free);
      expect(heap.largestFree).toBeLessThanOrEqual(heap.free);
    }
    expect(mem.psram.total).toBe(8 * 1024 * 1024);
  });

  it('a request in the wrong board state is BAD_STATE, and the session stays ready', async () => {
    await s.reset(T); // nothing loaded
    const e = await rejection(s.invoke({ warmup: 0, measured: 1, profile: false, timeoutMs: T }));
    expect(e.code).toBe('board-error:BAD_STATE');
    expect(e.message).toMatch(/^board sim-1: INVOKE failed: BAD_STATE/);
    expect(s.state).toBe('ready');
  });

  it('a board reset in the middle of INVOKE rejects it at once with board-rebooted, and reset() brings it back', async () => {
    await s.uploadModel(tinyConv, sha256Hex(tinyConv), 'internal', T);
    await s.configureArena(16 * 1024, 'internal', T);
    const before = reboots.length;
    // Press EN as soon as the board shows progress, so the reset lands inside the request.
    const onFrame = (f: Frame) => {
      if (f.type === 0x93) {
        s.connection.off('frame', onFrame);
        rig.sim.reset();
      }
    };
    s.connection.on('frame', onFrame);
    const t0 = performance.now();
    const e = await rejection(s.invoke({ warmup: 0, measured: 2_000_000, profile: false, timeoutMs: 60_000 }));
    expect(e.code).toBe('board-rebooted');
    expect(e.message).toMatch(new RegExp(`^board sim-1 rebooted during INVOKE \\(reset reason: (${RESET_REASONS.join('|')})\\): its model, arena and inputs are gone$`));
    expect(performance.now() - t0).toBeLessThan(10_000); // at once, not after the 60 s inactivity limit
    expect(reboots.length).toBe(before + 1);
    expect(s.state).toBe('failed');
    await expect(s.memory(T)).rejects.toMatchObject({ code: 'board-state' });
    const back = await s.reset(T);
    expect(back.variant).toBe('esp-nn');
    expect(s.state).toBe('ready');
    expect((await s.memory(T)).modelSize).toBe(0); // the reboot took the model with it
  });

  it('a hung board times out, and reset() recovers it through the power switch', async () => {
    rig.sim.firmware!.suspend(); // the firmware stops answering, the link stays up
    const e = await rejection(s.memory(300));
    expect(e.code).toBe('timeout');
    expect(e.message).toMatch(/^board sim-1: no reply to MEMORY_REPORT for 300 ms on /);
    expect(s.state).toBe('failed');
    const back = await s.reset(T);
    expect(back.chip).toBe('esp32s3');
    expect((await s.ping(T)).bytes).toBe(16);
  });

  it('switches the simulated firmware variant and reports the new identity', async () => {
    const ref = await s.switchVariant('reference', T);
    expect(ref).toMatchObject({ variant: 'reference', kernelBackend: 'reference' });
    expect(s.identity!.variant).toBe('reference');
    const back = await s.switchVariant('esp-nn', T);
    expect(back.kernelBackend).toBe('esp-nn');
    expect(back.appSha256).not.toBe(ref.appSha256);
  });

  it('counts no stray or damaged frames on a clean link', () => {
    expect(s.stats().badFrames).toBe(0);
    expect(s.connection.stats().frameErrors).toBe(0);
  });

  it.runIf(target.viaSer2net)('ser2net going away mid-request fails the request at once as link-down, not as a damaged reply', async () => {
    await s.uploadModel(tinyConv, sha256Hex(tinyConv), 'internal', T);
    await s.configureArena(16 * 1024, 'internal', T);
    const onFrame = (f: Frame) => {
      if (f.type === 0x93) {
        s.connection.off('frame', onFrame);
        void rig.ser2net!.stop(); // the bench host's ser2net goes away: every connection drops
      }
    };
    s.connection.on('frame', onFrame);
    const t0 = performance.now();
    const e = await rejection(s.invoke({ warmup: 0, measured: 2_000_000, profile: false, timeoutMs: 60_000 }));
    expect(e.code).toBe('link-down');
    expect(e.message).toMatch(/^board sim-1: the (RFC 2217|TCP) connection to .* closed.* during INVOKE$/);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(s.state).toBe('failed');
    expect(s.connection.stats().disconnects).toBe(1);
    expect(s.stats().badFrames).toBe(0); // the frame the drop cut short is not counted as damage
  });
});
