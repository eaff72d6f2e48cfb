/**
 * The session the replay test is made of: what a lab's host sends a board in one realistic visit,
 * plus the mistakes and damage a board must answer the same way whoever implements it. Every step
 * is the exact bytes the host writes on the serial line (most are encoded requests; a few are
 * damaged on purpose) with a note saying what it checks.
 *
 * The models are the firmware host tests' own (firmware/test/host-app/models.ts): made of
 * FULLY_CONNECTED and RESHAPE, the operators the C++ host interpreter runs, so both the simulated
 * board (the lab's interpreter) and the firmware's handler on the host (host_runner.cpp) compute
 * real outputs for them.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  FrameFlag, HEADER_SIZE, MessageType, accuracyRequests, crc16, encodeFrame, encodeMessage, inputRequests,
  modelUploadRequests, type Request,
} from '../../../harness/protocol/index.js';
import { writeHostTestModels } from '../host-app/models.js';

export interface SessionStep {
  /** What the step checks, for people reading the fixture or a failure. */
  note: string;
  /** The bytes the host writes. */
  bytes: Uint8Array;
}

/** A model of firmware/test/host-app/models.ts with its test input and TFLM's expected output. */
export interface ReplayModel {
  name: string;
  model: Uint8Array;
  input: Uint8Array;
  expectedOutput: Uint8Array;
}

/** The host-test models the session uses (written by models.ts into a temporary directory). */
export function replayModels(): Record<'mlp' | 'wide' | 'float', ReplayModel> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hil-replay-models-'));
  try {
    writeHostTestModels(dir);
    const load = (name: string): ReplayModel => ({
      name,
      model: new Uint8Array(readFileSync(path.join(dir, `${name}.tflite`))),
      input: new Uint8Array(readFileSync(path.join(dir, `${name}.in.bin`))),
      expectedOutput: new Uint8Array(readFileSync(path.join(dir, `${name}.out.bin`))),
    });
    return { mlp: load('mlp_int8'), wide: load('fc_wide'), float: load('fc_float') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** xorshift32: the accuracy batch is the same bytes on every recording. */
function samples(count: number, bytes: number, seed: number, first?: Uint8Array): Uint8Array[] {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s & 0xff;
  };
  return Array.from({ length: count }, (_, i) => (i === 0 && first ? first : Uint8Array.from({ length: bytes }, next)));
}

/** A frame header (and nothing else) announcing `length` payload bytes: more than MAX_PAYLOAD is oversize. */
function headerOnly(type: number, requestId: number, length: number): Uint8Array {
  const h = new Uint8Array(HEADER_SIZE);
  h.set([0xf5, 0xa5, 1, type, 0, 0, requestId & 0xff, requestId >> 8, length & 0xff, length >> 8]);
  const crc = crc16(h, 0, 10);
  h[10] = crc & 0xff;
  h[11] = crc >> 8;
  return h;
}

/** The session, step by step. Request ids count up from 1 like the lab's BoardSession. */
export function sessionPlan(models = replayModels()): SessionStep[] {
  const steps: SessionStep[] = [];
  let id = 0;
  const nextId = (): number => ++id;
  const send = (note: string, body: Request): void => {
    steps.push({ note, bytes: encodeMessage({ requestId: nextId(), simulated: false, more: false, body }) });
  };
  const raw = (note: string, bytes: Uint8Array): void => {
    steps.push({ note, bytes });
  };
  const { mlp, wide, float } = models;

  // --- first contact -----------------------------------------------------------------------------
  send('NEGOTIATE version 1: NEGOTIATED 1', { type: 'negotiate', versions: [1] });
  send('PING: PONG with the same bytes', { type: 'ping', data: new TextEncoder().encode('replay the simulated board') });
  send('GET_INFO: INFO (identity fields are the build\'s, normalised)', { type: 'get_info' });
  send('NEGOTIATE versions 2 and 3 only: UNSUPPORTED_VERSION, arg 1', { type: 'negotiate', versions: [2, 3] });
  send('NEGOTIATE with an empty list: UNSUPPORTED_VERSION, arg 1', { type: 'negotiate', versions: [] });
  send('PING with the largest payload (4096 bytes)', { type: 'ping', data: Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff) });
  send('MEMORY_REPORT with no model and no arena', { type: 'memory_report' });

  // --- requests in the wrong state ---------------------------------------------------------------
  send('INVOKE while idle: BAD_STATE', { type: 'invoke', warmup: 0, measured: 1, profile: false });
  send('MODEL_CHUNK while idle: BAD_STATE', { type: 'model_chunk', offset: 0, data: new Uint8Array(4) });
  send('MODEL_END while idle: BAD_STATE', { type: 'model_end' });
  send('ARENA_CONFIG while idle: BAD_STATE', { type: 'arena_config', size: 4096, placement: 'internal' });
  send('ACCURACY_RUN while idle: BAD_STATE', { type: 'accuracy_run' });

  // --- uploads the board refuses at once ---------------------------------------------------------
  send('MODEL_BEGIN of size 0: BAD_ARGUMENT', { type: 'model_begin', size: 0, sha256: '00'.repeat(32), destination: 'psram' });
  send('MODEL_BEGIN into flash: BAD_ARGUMENT', { type: 'model_begin', size: 1024, sha256: '00'.repeat(32), destination: 'flash' });
  send('MODEL_BEGIN of 64 MB into PSRAM: MODEL_TOO_LARGE, arg = the largest size that fits (a heap figure)',
    { type: 'model_begin', size: 64 * 1024 * 1024, sha256: '00'.repeat(32), destination: 'psram' });
  send('MODEL_CHUNK after the refused MODEL_BEGIN: BAD_STATE idle', { type: 'model_chunk', offset: 0, data: new Uint8Array(4) });

  // --- an upload whose bytes do not hash to the announced SHA-256 --------------------------------
  {
    const [begin, ...rest] = modelUploadRequests(mlp.model, 'psram', 260);
    const wrong = begin.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    send('MODEL_BEGIN with a wrong SHA-256: CHUNK_ACK 0 (checked at MODEL_END)', { ...begin, sha256: wrong });
    for (const r of rest) send(r.type === 'model_end' ? 'MODEL_END: MODEL_SHA_MISMATCH' : `MODEL_CHUNK at ${r.offset}`, r);
    send('SET_INPUT after the failed upload (model dropped): BAD_STATE idle', { type: 'set_input', tensor: 0, offset: 0, data: mlp.input });
  }

  // --- the real upload of mlp_int8 in 256-byte chunks, with mistakes on the way ------------------
  {
    const [begin, ...rest] = modelUploadRequests(mlp.model, 'psram', 260);
    const chunks = rest.filter((r) => r.type === 'model_chunk');
    const end = rest[rest.length - 1]!;
    send('MODEL_BEGIN mlp_int8 into PSRAM', begin);
    send(`MODEL_CHUNK at ${chunks[0]!.offset}`, chunks[0]!);
    send('an empty MODEL_CHUNK: CHUNK_ACK at the same offset', { type: 'model_chunk', offset: chunks[1]!.offset, data: new Uint8Array(0) });
    send('MODEL_CHUNK skipping a chunk: BAD_OFFSET, arg = the offset expected', chunks[2]!);
    send('MODEL_END before the last byte: BAD_STATE, arg = bytes received', { type: 'model_end' });
    send('SET_INPUT while receiving the model: BAD_STATE', { type: 'set_input', tensor: 0, offset: 0, data: mlp.input });
    for (const c of chunks.slice(1)) send(`MODEL_CHUNK at ${c.offset}`, c);
    send('MODEL_CHUNK past the end: BAD_ARGUMENT', { type: 'model_chunk', offset: mlp.model.length, data: new Uint8Array(8) });
    send('MODEL_END: MODEL_READY (size, sha256, upload, psram)', end);
  }
  send('SET_INPUT with a model but no arena: BAD_STATE', { type: 'set_input', tensor: 0, offset: 0, data: mlp.input });
  send('ARENA_CONFIG of 32 bytes: ARENA_TOO_SMALL', { type: 'arena_config', size: 32, placement: 'internal' });
  send('ARENA_CONFIG in flash: BAD_ARGUMENT', { type: 'arena_config', size: 8192, placement: 'flash' });
  send('ARENA_CONFIG of size 0: BAD_ARGUMENT', { type: 'arena_config', size: 0, placement: 'internal' });
  send('ARENA_CONFIG of 16 MB in internal RAM: OUT_OF_MEMORY, arg = the largest free block (a heap figure)',
    { type: 'arena_config', size: 16 * 1024 * 1024, placement: 'internal' });
  send('ARENA_CONFIG of 8192 bytes in internal RAM: ARENA_READY with the tensors', { type: 'arena_config', size: 8192, placement: 'internal' });
  send('MEMORY_REPORT with model and arena', { type: 'memory_report' });

  // --- inputs, inference, outputs ----------------------------------------------------------------
  send('SET_INPUT of input 1 (the model has one): BAD_TENSOR, arg 1', { type: 'set_input', tensor: 1, offset: 0, data: mlp.input });
  send('SET_INPUT past the end of input 0: BAD_TENSOR, arg 0', { type: 'set_input', tensor: 0, offset: 4, data: mlp.input });
  send('an empty SET_INPUT at the end of input 0: CHUNK_ACK 8', { type: 'set_input', tensor: 0, offset: 8, data: new Uint8Array(0) });
  for (const r of inputRequests(0, mlp.input)) send('SET_INPUT the test input', r);
  send('INVOKE 2 warm-up + 10 measured + PROFILE', { type: 'invoke', warmup: 2, measured: 10, profile: true });
  send('GET_OUTPUT all of output 0: TFLM\'s expected bytes', { type: 'get_output', tensor: 0, offset: 0, length: 0xffffffff });
  send('GET_OUTPUT bytes 1..3 of output 0', { type: 'get_output', tensor: 0, offset: 1, length: 2 });
  send('GET_OUTPUT past the end: BAD_TENSOR, arg 0', { type: 'get_output', tensor: 0, offset: 2, length: 5 });
  send('GET_OUTPUT of output 3: BAD_TENSOR, arg 3', { type: 'get_output', tensor: 3, offset: 0, length: 1 });
  send('GET_OUTPUT from the end to the end: one empty OUTPUT_DATA', { type: 'get_output', tensor: 0, offset: 3, length: 0xffffffff });
  send('INVOKE 0 warm-up + 0 measured, no profile: an INVOKE_RESULT alone', { type: 'invoke', warmup: 0, measured: 0, profile: false });
  send('INVOKE 0 + 0 + PROFILE: the profiled inference only', { type: 'invoke', warmup: 0, measured: 0, profile: true });

  // --- accuracy pass -----------------------------------------------------------------------------
  send('ACCURACY_INPUT before ACCURACY_BEGIN: BAD_STATE', { type: 'accuracy_input', offset: 0, data: mlp.input });
  send('ACCURACY_BEGIN with the wrong sample size: BAD_ARGUMENT', { type: 'accuracy_begin', samples: 4, sampleBytes: 7 });
  send('ACCURACY_BEGIN with 0 samples: BAD_ARGUMENT', { type: 'accuracy_begin', samples: 0, sampleBytes: 8 });
  send('ACCURACY_BEGIN of 32 MB: OUT_OF_MEMORY, arg = the largest batch that fits (a heap figure)',
    { type: 'accuracy_begin', samples: 4 * 1024 * 1024, sampleBytes: 8 });
  {
    const [begin, ...rest] = accuracyRequests(samples(16, mlp.input.length, 7, mlp.input), 68);
    const inputs = rest.filter((r) => r.type === 'accuracy_input');
    send('ACCURACY_BEGIN 16 samples of 8 bytes', begin);
    send('ACCURACY_INPUT at offset 0', inputs[0]!);
    send('ACCURACY_RUN before the batch is complete: BAD_STATE, arg = bytes received', { type: 'accuracy_run' });
    send('ACCURACY_INPUT at a wrong offset: BAD_OFFSET', { ...inputs[1]!, offset: 3 });
    for (const r of inputs.slice(1)) send(`ACCURACY_INPUT at ${r.offset}`, r);
    send('ACCURACY_INPUT past the end of the batch: BAD_ARGUMENT', { type: 'accuracy_input', offset: 128, data: new Uint8Array(1) });
    send('ACCURACY_RUN: the 16 samples\' outputs, then ACCURACY_RESULT', { type: 'accuracy_run' });
    send('ACCURACY_RUN again: the batch stays on the board', { type: 'accuracy_run' });
  }

  // --- damaged and unknown frames ----------------------------------------------------------------
  {
    const ping = encodeMessage({ requestId: nextId(), simulated: false, more: false, body: { type: 'ping', data: new TextEncoder().encode('damaged on the way') } });
    ping[HEADER_SIZE + 3] ^= 0x20; // a flipped payload bit: the header (and its request id) still checks out
    raw('a PING whose payload was damaged: BAD_FRAME with its request id', ping);
  }
  {
    const h = headerOnly(MessageType.MODEL_CHUNK, nextId(), 5000);
    raw('a header announcing 5000 payload bytes: BAD_FRAME (oversize) with its request id', h);
  }
  {
    const bad = encodeMessage({ requestId: nextId(), simulated: false, more: false, body: { type: 'ping', data: new Uint8Array([1, 2, 3]) } });
    bad[7] ^= 0x01; // request id damaged: the header CRC fails, nothing can be answered
    raw('a frame with a damaged header: no reply (its request id cannot be trusted)', bad);
  }
  raw('an unknown message type 0x3f: UNKNOWN_COMMAND, arg 0x3f',
    encodeFrame({ version: 1, type: 0x3f, flags: 0, requestId: nextId(), payload: new Uint8Array([9, 9]) }));
  raw('a reply type (PONG) sent as a request: UNKNOWN_COMMAND, arg 0x81',
    encodeFrame({ version: 1, type: MessageType.PONG, flags: 0, requestId: nextId(), payload: new Uint8Array([1]) }));
  raw('GET_INFO with a payload byte too many: BAD_FRAME (payload does not match its layout)',
    encodeFrame({ version: 1, type: MessageType.GET_INFO, flags: 0, requestId: nextId(), payload: new Uint8Array([0]) }));
  raw('ARENA_CONFIG with placement 7: BAD_FRAME (enumeration out of range)',
    encodeFrame({ version: 1, type: MessageType.ARENA_CONFIG, flags: 0, requestId: nextId(), payload: new Uint8Array([0, 16, 0, 0, 7]) }));
  raw('a PING in protocol version 2: UNSUPPORTED_VERSION, arg 1',
    encodeFrame({ version: 2, type: MessageType.PING, flags: 0, requestId: nextId(), payload: new Uint8Array([2]) }));
  raw('a PING with the MORE flag set by the host: answered like any PING',
    encodeFrame({ version: 1, type: MessageType.PING, flags: FrameFlag.MORE, requestId: nextId(), payload: new Uint8Array([7]) }));
  send('PING after the damage: the board still answers', { type: 'ping', data: new Uint8Array([0xf5, 0xa5, 0x00]) });

  // --- log levels --------------------------------------------------------------------------------
  send('LOG_LEVEL debug for tag "hil": OK', { type: 'log_level', level: 'debug', tag: 'hil' });
  send('LOG_LEVEL warn for all tags: OK', { type: 'log_level', level: 'warn', tag: '' });

  // --- a second model: 10 KB in full-size chunks, a 5000-byte output over two frames -------------
  {
    const upload = modelUploadRequests(wide.model, 'internal');
    for (const r of upload) send(`fc_wide upload: ${r.type}${r.type === 'model_chunk' ? ` at ${r.offset}` : ''}`, r);
    send('ACCURACY_RUN after a new model: BAD_STATE (the batch went with the old model)', { type: 'accuracy_run' });
    send('ARENA_CONFIG of 16384 bytes in PSRAM', { type: 'arena_config', size: 16384, placement: 'psram' });
    send('ACCURACY_RUN without ACCURACY_BEGIN for this model: BAD_STATE', { type: 'accuracy_run' });
    for (const r of inputRequests(0, wide.input)) send('SET_INPUT fc_wide', r);
    send('INVOKE 1 + 3, no profile', { type: 'invoke', warmup: 1, measured: 3, profile: false });
    send('GET_OUTPUT all 5000 bytes: two OUTPUT_DATA frames (4087 + 913)', { type: 'get_output', tensor: 0, offset: 0, length: 0xffffffff });
    send('GET_OUTPUT from offset 4000 to the end', { type: 'get_output', tensor: 0, offset: 4000, length: 0xffffffff });
    const [begin, ...rest] = accuracyRequests(samples(3, wide.input.length, 11, wide.input));
    send('ACCURACY_BEGIN 3 samples of 2 bytes', begin);
    for (const r of rest) send(r.type === 'accuracy_run' ? 'ACCURACY_RUN: 15000 output bytes over ACCURACY_OUTPUT frames' : `ACCURACY_INPUT at ${r.offset}`, r);
    send('ARENA_CONFIG again (frees the previous arena first): ARENA_READY', { type: 'arena_config', size: 12288, placement: 'internal' });
  }

  // --- a float model ----------------------------------------------------------------------------
  {
    for (const r of modelUploadRequests(float.model, 'internal')) send(`fc_float upload: ${r.type}`, r);
    send('ARENA_CONFIG 4096 internal for fc_float: float32 tensors, scale 0', { type: 'arena_config', size: 4096, placement: 'internal' });
    for (const r of inputRequests(0, float.input)) send('SET_INPUT fc_float', r);
    send('INVOKE 1 + 2 + PROFILE on fc_float', { type: 'invoke', warmup: 1, measured: 2, profile: true });
    send('INVOKE 0 + 1500: cycle counts over several INVOKE_CYCLES frames (1023 per frame, and one per second)',
      { type: 'invoke', warmup: 0, measured: 1500, profile: false });
    send('GET_OUTPUT fc_float: float32 bytes equal to TFLM\'s float reference', { type: 'get_output', tensor: 0, offset: 0, length: 0xffffffff });
    send('MEMORY_REPORT at the end', { type: 'memory_report' });
  }

  // --- leaving ----------------------------------------------------------------------------------
  send('SIM_SET_VARIANT reference: OK on a simulated board, UNSUPPORTED on real firmware (documented difference)',
    { type: 'sim_set_variant', variant: 'reference' });
  send('RESET app: OK, then the board restarts', { type: 'reset', mode: 'app' });
  return steps;
}
