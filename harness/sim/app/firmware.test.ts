import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ErrorCode, decodeFrame, decodeMessage, encodeFrame, encodeMessage, modelUploadRequests, inputRequests,
  accuracyRequests, sha256Hex, type Message, type MessageBody, type Request, type Hello,
} from '../../protocol/index.js';
import { SimFlash } from '../flash-memory.js';
import { parsePartitionTable, PARTITION_TABLE_OFFSET } from '../../flash/partition-table.js';
import { parseEspImage } from '../../flash/image.js';
import { modelImage } from '../../flash/model-image.js';
import { tinyConvInt8 } from '../../tflite/example-models.js';
import { writeModel } from '../../tflite/writer.js';
import { readModel } from '../../tflite/reader.js';
import { Interpreter } from '../../tflite/interpreter.js';
import { planArena } from '../../tflite/planner.js';
import { buildSingleOp } from '../../tflite/testing/single-op.js';
import { options } from '../../tflite/builder.js';
import { BoardClock } from './clock.js';
import { SimFirmware, type FrameSink, type FirmwareHost } from './firmware.js';
import { APP_OFFSET, installSimulatedFirmware, simulatedImages } from './firmware-image.js';
import { parseVariant } from './variants.js';
import { SessionRecorder } from './recorder.js';
import { arenaNeed } from './arena.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hil-sim-fw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MB = 1024 * 1024;
let n = 0;

interface Rig {
  fw: SimFirmware;
  host: FirmwareHost & { resets: string[]; variants: string[]; lines: string[] };
  send(body: Request, id?: number): Promise<Message[]>;
  raw(frameBytes: Uint8Array): Promise<Message[]>;
}

function rig(opts: { variant?: string; psram?: number; timeScale?: number; recorder?: SessionRecorder; mqtt?: boolean } = {}): Rig {
  const flash = SimFlash.open(path.join(dir, `b${n++}.flash`), 16 * MB);
  const variant = parseVariant(opts.variant ?? 'esp-nn')!;
  const images = installSimulatedFirmware(flash, variant);
  const partitions = parsePartitionTable(flash.read(PARTITION_TABLE_OFFSET, 0xc00), 'table');
  const image = parseEspImage(images.app, 'app');
  const host = {
    resets: [] as string[], variants: [] as string[], lines: [] as string[],
    reset(mode: string) { this.resets.push(mode); },
    setVariant(v: { name: string }) { this.variants.push(v.name); },
    afterInference: () => true,
    log(line: string) { this.lines.push(line); },
  };
  const fw = new SimFirmware({
    board: 'b', variant, seed: 1, clock: new BoardClock(opts.timeScale ?? 0.001), host, flash, partitions,
    links: { serial: true, mqtt: opts.mqtt ?? false }, recorder: opts.recorder,
    identity: {
      appElfSha256: image.app!.appElfSha256, appVersion: image.app!.version, projectName: image.app!.projectName,
      idfVersion: image.app!.idfVersion, tflmVersion: '1.3.5', resetReason: 1, mac: [0x7c, 0xdf, 0xa1, 1, 2, 3],
      chipRevision: 2, flashBytes: 16 * MB, psramBytes: opts.psram ?? 8 * MB, psramMode: 'octal', imageBytes: image.imageLength,
    },
  });
  let nextId = 1;
  const collect = (frameBytes: Uint8Array, id: number): Promise<Message[]> => new Promise((resolve) => {
    const out: Message[] = [];
    const sink: FrameSink = {
      link: 'serial',
      send(bytes) {
        const m = decodeMessage(decodeFrame(bytes));
        out.push(m);
        if (m.requestId === id && !m.more) resolve(out);
      },
    };
    fw.receive(decodeFrame(frameBytes), sink);
  });
  return {
    fw, host,
    send(body, id = nextId++) {
      return collect(encodeMessage({ requestId: id, simulated: false, more: false, body }), id);
    },
    raw(bytes) {
      return collect(bytes, decodeFrame(bytes).requestId);
    },
  };
}

const last = (ms: Message[]): MessageBody => ms[ms.length - 1]!.body;
const errorOf = (ms: Message[]) => {
  const b = last(ms);
  if (b.type !== 'error') throw new Error(`expected an error, got ${b.type}`);
  return b;
};

async function upload(r: Rig, model: Uint8Array, destination: 'internal' | 'psram' = 'psram'): Promise<MessageBody> {
  let reply: MessageBody | undefined;
  for (const req of modelUploadRequests(model, destination)) reply = last(await r.send(req));
  return reply!;
}

const tiny = writeModel(tinyConvInt8());

describe('SimFirmware', () => {
  let r: Rig;
  beforeEach(() => { r = rig(); });

  it('says hello with the flashed identity, the variant, and every simulated field', async () => {
    const frames: Uint8Array[] = [];
    r.fw.sendHello({ link: 'serial', send: (b) => frames.push(b) });
    const m = decodeMessage(decodeFrame(frames[0]!));
    expect(m.simulated).toBe(true);
    expect(m.requestId).toBe(0);
    const h = m.body as Hello;
    expect(h).toMatchObject({
      type: 'hello', variant: 'esp-nn', kernelBackend: 'esp-nn', espNnVersion: '1.1.2', tflmVersion: '1.3.5', cpuMhz: 240,
      chip: 'esp32s3', projectName: 'hil_bench', idfVersion: 'v5.3.3', flashSize: 16 * MB, psramSize: 8 * MB,
      simulated: true, resetReason: 1, rxWindow: 4, maxPayload: 4096, mac: '7c:df:a1:01:02:03',
    });
    expect(h.appSha256).toBe(simulatedImages(parseVariant('esp-nn')!, 16 * MB).appElfSha256);
    expect(h.appSha256).not.toBe(simulatedImages(parseVariant('reference')!, 16 * MB).appElfSha256);
  });

  it('runs an uploaded model end to end: real outputs, arena_used from the planner, cycles, profile', async () => {
    const ready = await upload(r, tiny);
    expect(ready).toMatchObject({ type: 'model_ready', size: tiny.length, sha256: sha256Hex(tiny), source: 'upload', placement: 'psram' });
    const arena = last(await r.send({ type: 'arena_config', size: 16384, placement: 'internal' }));
    // ESP-NN build: the planner's TFLM figure plus ESP-NN's conv / depthwise scratch buffers.
    expect(arena).toMatchObject({ type: 'arena_ready', size: 16384, placement: 'internal', used: arenaNeed(tinyConvInt8(), 'esp-nn').bytes });
    expect((arena as { used: number }).used).toBeGreaterThan(planArena(tinyConvInt8()).totalBytes);
    if (arena.type !== 'arena_ready') throw new Error();
    expect(arena.inputs[0]).toMatchObject({ dtype: 'int8', bytes: 64, shape: [1, 8, 8, 1] });

    const input = Int8Array.from({ length: 64 }, (_, i) => (i * 7) % 200 - 100);
    for (const req of inputRequests(0, new Uint8Array(input.buffer))) expect(last(await r.send(req)).type).toBe('chunk_ack');
    const replies = await r.send({ type: 'invoke', warmup: 2, measured: 5, profile: true });
    const cycles = replies.flatMap((m) => (m.body.type === 'invoke_cycles' ? m.body.cycles : []));
    const profile = replies.flatMap((m) => (m.body.type === 'invoke_profile' ? m.body.entries : []));
    const result = last(replies);
    expect(replies.slice(0, -1).every((m) => m.more && m.simulated)).toBe(true);
    expect(cycles).toHaveLength(5);
    expect(new Set(cycles).size).toBeGreaterThan(1); // noise
    expect(result).toMatchObject({ type: 'invoke_result', warmup: 2, measured: 5, cpuMhz: 240, totalCycles: cycles.reduce((a, b) => a + b, 0) });
    expect(profile.map((e) => e.name)).toEqual(['CONV_2D', 'DEPTHWISE_CONV_2D', 'AVERAGE_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX']);
    expect(profile.map((e) => e.opIndex)).toEqual([0, 1, 2, 3, 4, 5]);

    const out = last(await r.send({ type: 'get_output', tensor: 0, offset: 0, length: 0xffffffff }));
    const ref = new Interpreter(tinyConvInt8());
    ref.setInput(0, input);
    ref.invoke();
    const expected = ref.output(0);
    expect(out).toMatchObject({ type: 'output_data', tensor: 0, offset: 0, total: 3 });
    if (out.type !== 'output_data') throw new Error();
    expect([...new Int8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength)]).toEqual([...expected]);
    expect(r.fw.stats.inferences).toBe(8);
    expect(r.fw.stats.hostInferences).toBe(1); // identical inputs: computed once
  });

  it('answers ARENA_TOO_SMALL with the bytes needed, and an ESP-NN build needs its scratch on top', async () => {
    const big = writeModel(buildSingleOp('CONV_2D', options.conv2d({ padding: 'SAME' }), [
      { type: 'int8', shape: [1, 16, 16, 8], quantization: { scale: 0.05, zeroPoint: 0 } },
      { type: 'int8', shape: [16, 3, 3, 8], data: Array.from({ length: 16 * 72 }, (_, i) => (i % 9) - 4), constant: true, quantization: { scale: Array(16).fill(0.01), zeroPoint: Array(16).fill(0), quantizedDimension: 0 } },
      { type: 'int32', shape: [16], data: Array(16).fill(0), constant: true, quantization: { scale: Array(16).fill(0.0005), zeroPoint: Array(16).fill(0) } },
    ], [{ type: 'int8', shape: [1, 16, 16, 16], quantization: { scale: 0.1, zeroPoint: 0 } }]));
    await upload(r, big);
    const e = errorOf(await r.send({ type: 'arena_config', size: 1024, placement: 'internal' }));
    expect(e.code).toBe(ErrorCode.ARENA_TOO_SMALL);
    const plan = planArena(readModel(big));
    expect(e.arg).toBeGreaterThan(plan.totalBytes); // esp-nn: scratch for the padded input and filter
    expect(r.host.lines.some((l) => l.includes('Failed to allocate tail memory'))).toBe(true);
    const ok = last(await r.send({ type: 'arena_config', size: e.arg, placement: 'internal' }));
    expect(ok).toMatchObject({ type: 'arena_ready', used: e.arg });

    const ref = rig({ variant: 'reference' });
    await upload(ref, big);
    const refErr = errorOf(await ref.send({ type: 'arena_config', size: 1024, placement: 'internal' }));
    expect(refErr.arg).toBe(plan.totalBytes);
  });

  it('follows the board states and the PROTOCOL.md error codes with their args', async () => {
    let e = errorOf(await r.send({ type: 'invoke', warmup: 0, measured: 1, profile: false }));
    expect(e.code).toBe(ErrorCode.BAD_STATE);
    expect(e.message).toMatch(/INVOKE is not allowed while the board is idle \(send MODEL_BEGIN/);
    expect(last(await r.send({ type: 'model_begin', size: tiny.length, sha256: sha256Hex(tiny), destination: 'psram' }))).toEqual({ type: 'chunk_ack', nextOffset: 0 });
    e = errorOf(await r.send({ type: 'model_chunk', offset: 100, data: tiny.subarray(100, 200) }));
    expect([e.code, e.arg]).toEqual([ErrorCode.BAD_OFFSET, 0]);
    await r.send({ type: 'model_chunk', offset: 0, data: tiny.subarray(0, 1000) });
    e = errorOf(await r.send({ type: 'model_end' }));
    expect([e.code, e.arg]).toEqual([ErrorCode.BAD_STATE, 1000]);
    e = errorOf(await r.send({ type: 'model_chunk', offset: 1000, data: new Uint8Array(tiny.length) }));
    expect(e.code).toBe(ErrorCode.BAD_ARGUMENT);

    // A wrong digest: MODEL_SHA_MISMATCH naming the computed one, back to idle.
    const wrong = modelUploadRequests(tiny, 'psram');
    (wrong[0] as { sha256: string }).sha256 = '00'.repeat(32);
    let reply: MessageBody | undefined;
    for (const req of wrong) reply = last(await r.send(req));
    expect(reply).toMatchObject({ type: 'error', code: ErrorCode.MODEL_SHA_MISMATCH });
    expect((reply as { message: string }).message).toContain(sha256Hex(tiny));
    expect(errorOf(await r.send({ type: 'arena_config', size: 4096, placement: 'internal' })).code).toBe(ErrorCode.BAD_STATE);

    // Not a .tflite file.
    expect(await upload(r, new Uint8Array(64).fill(7))).toMatchObject({ type: 'error', code: ErrorCode.MODEL_INVALID });
    // Bad placements.
    expect(errorOf(await r.send({ type: 'model_begin', size: 10, sha256: '00'.repeat(32), destination: 'flash' })).code).toBe(ErrorCode.BAD_ARGUMENT);
    expect(errorOf(await r.send({ type: 'model_begin', size: 0, sha256: '00'.repeat(32), destination: 'psram' })).code).toBe(ErrorCode.BAD_ARGUMENT);

    // Tensor bounds.
    await upload(r, tiny);
    await r.send({ type: 'arena_config', size: 16384, placement: 'psram' });
    e = errorOf(await r.send({ type: 'set_input', tensor: 1, offset: 0, data: new Uint8Array(4) }));
    expect([e.code, e.arg]).toEqual([ErrorCode.BAD_TENSOR, 1]);
    e = errorOf(await r.send({ type: 'set_input', tensor: 0, offset: 60, data: new Uint8Array(8) }));
    expect(e.code).toBe(ErrorCode.BAD_TENSOR);
    e = errorOf(await r.send({ type: 'get_output', tensor: 0, offset: 2, length: 5 }));
    expect(e.code).toBe(ErrorCode.BAD_TENSOR);
  });

  it('answers damaged and unknown requests: BAD_FRAME, UNKNOWN_COMMAND, UNSUPPORTED_VERSION, and negotiates', async () => {
    // A frame of an unknown type 0x42.
    let e = errorOf(await r.raw(encodeFrame({ version: 1, type: 0x42, flags: 0, requestId: 9, payload: new Uint8Array() })));
    expect([e.code, e.arg]).toEqual([ErrorCode.UNKNOWN_COMMAND, 0x42]);
    // A reply type sent to the board.
    e = errorOf(await r.send({ type: 'ok' } as unknown as Request));
    expect([e.code, e.arg]).toEqual([ErrorCode.UNKNOWN_COMMAND, 0x84]);
    // MODEL_BEGIN with a short payload.
    e = errorOf(await r.raw(encodeFrame({ version: 1, type: 0x10, flags: 0, requestId: 10, payload: new Uint8Array(3) })));
    expect(e.code).toBe(ErrorCode.BAD_FRAME);
    expect(e.message).toBe('the payload of a MODEL_BEGIN request does not match its layout');
    // Protocol version 7 in the header.
    const v7 = await r.raw(encodeFrame({ version: 7, type: 0x01, flags: 0, requestId: 11, payload: new Uint8Array() }));
    expect(last(v7)).toMatchObject({ type: 'error', code: ErrorCode.UNSUPPORTED_VERSION, arg: 1 });
    // A CRC failure reported by the link's decoder, with a trustworthy header.
    const replies: Message[] = [];
    await new Promise<void>((resolve) => r.fw.frameError('crc', { link: 'serial', send: (b) => { replies.push(decodeMessage(decodeFrame(b))); resolve(); } }, { type: 0x11, requestId: 12, length: 4000 }));
    expect(replies[0]).toMatchObject({ requestId: 12, body: { type: 'error', code: ErrorCode.BAD_FRAME } });
    expect(r.fw.stats.badFrames).toBe(1);
    expect(last(await r.send({ type: 'negotiate', versions: [3, 2] }))).toMatchObject({ type: 'error', code: ErrorCode.UNSUPPORTED_VERSION, arg: 1 });
    expect(last(await r.send({ type: 'negotiate', versions: [1, 2] }))).toEqual({ type: 'negotiated', version: 1 });
    expect(last(await r.send({ type: 'ping', data: new Uint8Array([1, 2]) }))).toEqual({ type: 'pong', data: new Uint8Array([1, 2]) });
  });

  it('reports memory like a real S3: ~330 KB internal free, a smaller largest block, buffers charged to their heap, a low-water mark', async () => {
    const m0 = last(await r.send({ type: 'memory_report' }));
    if (m0.type !== 'memory') throw new Error();
    expect(m0.internal.free).toBeGreaterThan(300_000);
    expect(m0.internal.free).toBeLessThan(360_000);
    expect(m0.internal.largestFree).toBeLessThan(m0.internal.free);
    expect(m0.internal.largestFree).toBeGreaterThan(200_000);
    expect(m0.psram.total).toBe(8 * MB);
    expect(m0.imageSize).toBeGreaterThan(1_000_000);
    await upload(r, tiny, 'psram');
    await r.send({ type: 'arena_config', size: 100_000, placement: 'internal' });
    const m1 = last(await r.send({ type: 'memory_report' }));
    if (m1.type !== 'memory') throw new Error();
    expect(m0.internal.free - m1.internal.free).toBeGreaterThanOrEqual(100_000);
    expect(m0.psram.free - m1.psram.free).toBeGreaterThanOrEqual(tiny.length);
    expect(m1).toMatchObject({ arenaSize: 100_000, arenaPlacement: 'internal', arenaUsed: arenaNeed(tinyConvInt8(), 'esp-nn').bytes, modelSize: tiny.length, modelPlacement: 'psram' });
    await r.send({ type: 'arena_config', size: 50_000, placement: 'psram' });
    const m2 = last(await r.send({ type: 'memory_report' }));
    if (m2.type !== 'memory') throw new Error();
    expect(m2.internal.free).toBe(m0.internal.free); // the internal arena was freed
    expect(m2.internal.minFree).toBe(m1.internal.free); // but the watermark remembers it
    // An arena larger than the largest internal block: OUT_OF_MEMORY with the largest free block.
    const e = errorOf(await r.send({ type: 'arena_config', size: 300_000, placement: 'internal' }));
    expect([e.code, e.arg]).toEqual([ErrorCode.OUT_OF_MEMORY, m0.internal.largestFree]);
    // A board without PSRAM: the model has to go to internal RAM, and a big one does not fit.
    const noPsram = rig({ psram: 0 });
    expect(errorOf(await noPsram.send({ type: 'model_begin', size: 1000, sha256: '00'.repeat(32), destination: 'psram' })).code).toBe(ErrorCode.MODEL_TOO_LARGE);
    const tooBig = errorOf(await noPsram.send({ type: 'model_begin', size: 400_000, sha256: '00'.repeat(32), destination: 'internal' }));
    expect(tooBig.code).toBe(ErrorCode.MODEL_TOO_LARGE);
    expect(tooBig.arg).toBeGreaterThan(100_000);
    expect(tooBig.arg).toBeLessThan(400_000);
    // Wi-Fi and esp-mqtt take internal RAM on a board that talks MQTT.
    const mqtt = last(await rig({ mqtt: true }).send({ type: 'memory_report' }));
    if (mqtt.type !== 'memory') throw new Error();
    expect(mqtt.internal.free).toBeLessThan(m0.internal.free - 50_000);
  });

  it('runs an accuracy batch and streams every output', async () => {
    await upload(r, tiny);
    await r.send({ type: 'arena_config', size: 16384, placement: 'internal' });
    const samples = Array.from({ length: 20 }, (_, s) => Uint8Array.from({ length: 64 }, (_, i) => (i * s * 13) & 0xff));
    let replies: Message[] = [];
    for (const req of accuracyRequests(samples)) replies = await r.send(req);
    const outputs = replies.filter((m) => m.body.type === 'accuracy_output').map((m) => (m.body as { data: Uint8Array }).data);
    expect(last(replies)).toEqual({ type: 'accuracy_result', samples: 20, outputBytes: 3 });
    const all = Buffer.concat(outputs);
    expect(all.length).toBe(60);
    const ref = new Interpreter(tinyConvInt8());
    for (let s = 0; s < 20; s++) {
      ref.setInput(0, new Int8Array(samples[s]!.buffer));
      ref.invoke();
      expect([...new Int8Array(all.buffer, all.byteOffset + s * 3, 3)]).toEqual([...ref.output(0)]);
    }
    expect(errorOf(await r.send({ type: 'accuracy_begin', samples: 2, sampleBytes: 63 })).code).toBe(ErrorCode.BAD_ARGUMENT);
  });

  it('stays busy for the simulated duration and sends progress at least once per board second', async () => {
    // A reference-kernel 1x1 conv 48x48x64 -> 64: ~9.4 M MACs, ~2.9 s per inference at 240 MHz.
    const heavy = writeModel(buildSingleOp('CONV_2D', options.conv2d(), [
      { type: 'int8', shape: [1, 48, 48, 64], quantization: { scale: 0.05, zeroPoint: 0 } },
      { type: 'int8', shape: [64, 1, 1, 64], data: Array.from({ length: 4096 }, (_, i) => (i % 5) - 2), constant: true, quantization: { scale: Array(64).fill(0.01), zeroPoint: Array(64).fill(0), quantizedDimension: 0 } },
      { type: 'int32', shape: [64], data: Array(64).fill(0), constant: true, quantization: { scale: Array(64).fill(0.0005), zeroPoint: Array(64).fill(0) } },
    ], [{ type: 'int8', shape: [1, 48, 48, 64], quantization: { scale: 0.1, zeroPoint: 0 } }]));
    const slow = rig({ variant: 'reference', timeScale: 0.02 });
    await upload(slow, heavy);
    await slow.send({ type: 'arena_config', size: 400_000, placement: 'psram' });
    const t0 = performance.now();
    const replies = await slow.send({ type: 'invoke', warmup: 0, measured: 3, profile: false });
    const wall = performance.now() - t0;
    const result = last(replies);
    if (result.type !== 'invoke_result') throw new Error();
    const boardMs = result.wallUs / 1000;
    expect(boardMs).toBeGreaterThan(6000);
    expect(wall).toBeGreaterThanOrEqual(boardMs * 0.02 * 0.95); // busy for the scaled duration
    expect(replies.filter((m) => m.body.type === 'invoke_cycles').length).toBe(3); // one frame per >1 s inference
    expect(result.totalCycles / 240 / 1000).toBeCloseTo(boardMs, -2);
  });

  it('records a replayable session: requests and their replies in order', async () => {
    const rec = new SessionRecorder('b', 'esp-nn');
    const rr = rig({ recorder: rec });
    await rr.send({ type: 'ping', data: new Uint8Array([5]) });
    await upload(rr, tiny);
    await rr.send({ type: 'invoke', warmup: 0, measured: 1, profile: false }); // BAD_STATE
    const json = rec.toJSON();
    expect(json.format).toBe('hil-session');
    expect(json.requests).toHaveLength(2 + modelUploadRequests(tiny, 'psram').length);
    expect(json.replies.every((rs) => rs.length >= 1)).toBe(true);
    const firstReq = decodeMessage(decodeFrame(Uint8Array.from(Buffer.from(json.requests[0]!, 'hex'))));
    const firstReply = decodeMessage(decodeFrame(Uint8Array.from(Buffer.from(json.replies[0]![0]!, 'hex'))));
    expect(firstReq.body).toEqual({ type: 'ping', data: new Uint8Array([5]) });
    expect(firstReply.body).toEqual({ type: 'pong', data: new Uint8Array([5]) });
    const lastReply = decodeMessage(decodeFrame(Buffer.from(json.replies.at(-1)!.at(-1)!, 'hex')));
    expect(lastReply.body).toMatchObject({ type: 'error', code: ErrorCode.BAD_STATE });
  });

  it('hands RESET and SIM_SET_VARIANT to the board after answering OK; refuses unknown variants', async () => {
    expect(last(await r.send({ type: 'sim_set_variant', variant: 'esp-nn-9000' }))).toMatchObject({ type: 'error', code: ErrorCode.BAD_ARGUMENT });
    expect(last(await r.send({ type: 'sim_set_variant', variant: 'reference-160mhz' }))).toEqual({ type: 'ok' });
    expect(r.host.variants).toEqual(['reference-160mhz']);
    expect(r.fw.isStopped).toBe(true);
    const r2 = rig();
    expect(last(await r2.send({ type: 'reset', mode: 'download' }))).toEqual({ type: 'ok' });
    expect(r2.host.resets).toEqual(['download']);
  });

  it('answers GET_INFO with the identity and uptime, and LOG_LEVEL silences the board log per tag', async () => {
    expect(last(await r.send({ type: 'get_info' }))).toMatchObject({ type: 'info', variant: 'esp-nn', simulated: true });
    await r.send({ type: 'model_end' }); // BAD_STATE: logged as a warning by tag "hil"
    const warnings = r.host.lines.length;
    expect(r.host.lines.at(-1)).toMatch(/^W \(\d+\) hil: request \d+: BAD_STATE: MODEL_END is not allowed/);
    expect(last(await r.send({ type: 'log_level', level: 'error', tag: 'hil' }))).toEqual({ type: 'ok' });
    await r.send({ type: 'model_end' });
    expect(r.host.lines.length).toBe(warnings);
    expect(last(await r.send({ type: 'log_level', level: 'verbose', tag: '' }))).toEqual({ type: 'ok' }); // every tag
    await r.send({ type: 'model_end' });
    expect(r.host.lines.length).toBe(warnings + 1);
  });

  it('selects a model from the flash partition after checking its header and digest', async () => {
    const e = errorOf(await r.send({ type: 'model_select_partition' }));
    expect(e.code).toBe(ErrorCode.MODEL_PARTITION_EMPTY);
    // Write a model image into the board's model partition (what the flasher does).
    const flash = (r.fw as unknown as { flash: SimFlash }).flash;
    flash.eraseRange(0x300000, 0x10000);
    flash.program(0x300000, modelImage(tiny, 'tiny_conv_int8')); // what hil model image writes
    expect(last(await r.send({ type: 'model_select_partition' }))).toEqual({ type: 'model_ready', size: tiny.length, sha256: sha256Hex(tiny), source: 'partition', placement: 'flash' });
    expect(last(await r.send({ type: 'arena_config', size: 16384, placement: 'internal' }))).toMatchObject({ type: 'arena_ready' });
    flash.program(0x300040, new Uint8Array(16)); // damage it
    expect(errorOf(await r.send({ type: 'model_select_partition' })).code).toBe(ErrorCode.MODEL_INVALID);
    expect(APP_OFFSET).toBe(0x10000);
  });
});
