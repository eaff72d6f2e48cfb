/**
 * Big payloads over small frames (PROTOCOL.md section 4): the request sequences that upload a
 * model, an input tensor or an accuracy batch in chunks that fill a frame, and the functions that
 * put chunked replies (outputs, cycle counts, accuracy outputs) back together and check that
 * nothing is missing.
 */
import { createHash } from 'node:crypto';
import { ProtocolError } from './errors.js';
import { MAX_PAYLOAD } from './frame.js';
import type {
  AccuracyBegin, AccuracyInput, AccuracyRun, InvokeResult, Message, MessageBody, ModelBegin,
  ModelChunk, ModelEnd, ProfileEntry, SetInput,
} from './message-types.js';

/** Bytes in front of the data in each chunk message: offset u32 (+ tensor u8 for SET_INPUT). */
const CHUNK_PREFIX = { model_chunk: 4, accuracy_input: 4, set_input: 5 } as const;

/**
 * How many data bytes one chunk of `kind` carries when the board accepts payloads of
 * `maxPayload` bytes (HELLO `maxPayload`; at most 4096 in v1).
 */
export function chunkDataSize(kind: keyof typeof CHUNK_PREFIX, maxPayload = MAX_PAYLOAD): number {
  if (!Number.isInteger(maxPayload) || maxPayload <= CHUNK_PREFIX[kind]) {
    throw new RangeError(`maxPayload must be an integer above ${CHUNK_PREFIX[kind]}, got ${maxPayload}`);
  }
  return Math.min(maxPayload, MAX_PAYLOAD) - CHUNK_PREFIX[kind];
}

/** `data` cut into pieces of at most `size` bytes (views, no copies), with their offsets. */
export function splitChunks(data: Uint8Array, size: number): { offset: number; data: Uint8Array }[] {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const out: { offset: number; data: Uint8Array }[] = [];
  for (let offset = 0; offset < data.length; offset += size) {
    out.push({ offset, data: data.subarray(offset, Math.min(offset + size, data.length)) });
  }
  return out;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** MODEL_BEGIN, the MODEL_CHUNKs, MODEL_END: the whole upload of a `.tflite` file. */
export function modelUploadRequests(
  model: Uint8Array,
  destination: 'internal' | 'psram',
  maxPayload = MAX_PAYLOAD,
): [ModelBegin, ...ModelChunk[], ModelEnd] {
  const chunks = splitChunks(model, chunkDataSize('model_chunk', maxPayload));
  return [
    { type: 'model_begin', size: model.length, sha256: sha256Hex(model), destination },
    ...chunks.map((c): ModelChunk => ({ type: 'model_chunk', offset: c.offset, data: c.data })),
    { type: 'model_end' },
  ];
}

/** SET_INPUTs that write all of `data` into input tensor `tensor`. */
export function inputRequests(tensor: number, data: Uint8Array, maxPayload = MAX_PAYLOAD): SetInput[] {
  return splitChunks(data, chunkDataSize('set_input', maxPayload))
    .map((c): SetInput => ({ type: 'set_input', tensor, offset: c.offset, data: c.data }));
}

/**
 * ACCURACY_BEGIN, the ACCURACY_INPUTs and ACCURACY_RUN for a batch. Each sample is the
 * concatenation of the model's input tensors, all samples the same size.
 */
export function accuracyRequests(
  samples: Uint8Array[],
  maxPayload = MAX_PAYLOAD,
): [AccuracyBegin, ...AccuracyInput[], AccuracyRun] {
  if (samples.length === 0) throw new RangeError('an accuracy batch needs at least one sample');
  const sampleBytes = samples[0].length;
  const batch = new Uint8Array(samples.length * sampleBytes);
  samples.forEach((s, i) => {
    if (s.length !== sampleBytes) throw new RangeError(`sample ${i} has ${s.length} bytes, sample 0 has ${sampleBytes}`);
    batch.set(s, i * sampleBytes);
  });
  const chunks = splitChunks(batch, chunkDataSize('accuracy_input', maxPayload));
  return [
    { type: 'accuracy_begin', samples: samples.length, sampleBytes },
    ...chunks.map((c): AccuracyInput => ({ type: 'accuracy_input', offset: c.offset, data: c.data })),
    { type: 'accuracy_run' },
  ];
}

/**
 * Reassembles a byte stream sent as `{offset, total, data}` pieces (OUTPUT_DATA, ACCURACY_OUTPUT).
 * Pieces must arrive in order without gaps or overlaps and agree on `total`: the board sends them
 * that way, so anything else is a lost or corrupted reply.
 */
export class ChunkAssembler {
  private buf: Uint8Array | null = null;
  private start = 0;
  private received = 0;

  constructor(private readonly what: string) {}

  add(offset: number, total: number, data: Uint8Array): void {
    if (this.buf === null) {
      this.buf = new Uint8Array(total);
      this.received = offset; // a GET_OUTPUT may start anywhere in the tensor
      this.start = offset;
    }
    if (total !== this.buf.length) this.fail(`announces ${total} bytes in total, earlier pieces said ${this.buf.length}`);
    if (offset !== this.received) this.fail(`piece at offset ${offset}, expected ${this.received}`);
    if (offset + data.length > total) this.fail(`piece ${offset}..${offset + data.length} runs past the total of ${total}`);
    this.buf.set(data, offset);
    this.received += data.length;
  }

  /** The bytes from the first piece's offset to the last piece's end. */
  bytes(): Uint8Array {
    if (this.buf === null) return new Uint8Array(0);
    return this.buf.subarray(this.start, this.received);
  }

  /** True once the pieces reach `total`. */
  get complete(): boolean {
    return this.buf !== null && this.received === this.buf.length;
  }

  private fail(detail: string): never {
    throw new ProtocolError('bad-sequence', `${this.what}: ${detail}`);
  }
}

type Replies = readonly (Message | MessageBody)[];

function bodies(replies: Replies): MessageBody[] {
  return replies.map((r) => ('body' in r ? r.body : r));
}

function badSequence(detail: string): never {
  throw new ProtocolError('bad-sequence', detail);
}

/** Throws if the final reply is an ERROR, so assemblers only see successful sequences. */
function noError(list: MessageBody[], request: string): void {
  const err = list.find((b) => b.type === 'error');
  if (err && err.type === 'error') badSequence(`${request} failed on the board: error ${err.code}: ${err.message}`);
}

export interface InvokeOutcome {
  /** Cycles of each measured inference, in order. */
  cycles: number[];
  /** Per-op profile of the extra profiled inference (empty without PROFILE). */
  profile: ProfileEntry[];
  result: InvokeResult;
  /** Latency of each measured inference in microseconds (cycles / cpuMhz). */
  latencyUs: number[];
}

/**
 * The replies to one INVOKE put together: cycle chunks must be contiguous from 0, there must be
 * exactly `measured` of them and they must add up to `totalCycles`.
 */
export function assembleInvoke(replies: Replies): InvokeOutcome {
  const list = bodies(replies);
  noError(list, 'INVOKE');
  const cycles: number[] = [];
  const profile: ProfileEntry[] = [];
  let result: InvokeResult | null = null;
  for (const b of list) {
    if (b.type === 'invoke_cycles') {
      if (b.first !== cycles.length) badSequence(`INVOKE: cycles chunk starts at inference ${b.first}, expected ${cycles.length}`);
      cycles.push(...b.cycles);
    } else if (b.type === 'invoke_profile') {
      profile.push(...b.entries);
    } else if (b.type === 'invoke_result') {
      result = b;
    } else {
      badSequence(`INVOKE: unexpected ${b.type} reply`);
    }
  }
  if (result === null) return badSequence('INVOKE: no INVOKE_RESULT among the replies');
  if (cycles.length !== result.measured) badSequence(`INVOKE: ${cycles.length} cycle counts for ${result.measured} measured inferences`);
  const sum = cycles.reduce((a, c) => a + c, 0);
  if (sum !== result.totalCycles) badSequence(`INVOKE: cycle counts add up to ${sum}, the board says ${result.totalCycles}`);
  const mhz = result.cpuMhz;
  return { cycles, profile, result, latencyUs: cycles.map((c) => (mhz > 0 ? c / mhz : Number.NaN)) };
}

/** The bytes of a GET_OUTPUT's OUTPUT_DATA replies. */
export function assembleOutput(replies: Replies): { tensor: number; total: number; offset: number; data: Uint8Array } {
  const list = bodies(replies);
  noError(list, 'GET_OUTPUT');
  const asm = new ChunkAssembler('GET_OUTPUT');
  let tensor = -1;
  let total = 0;
  let offset = -1;
  for (const b of list) {
    if (b.type !== 'output_data') badSequence(`GET_OUTPUT: unexpected ${b.type} reply`);
    if (tensor >= 0 && b.tensor !== tensor) badSequence(`GET_OUTPUT: replies for tensors ${tensor} and ${b.tensor}`);
    if (offset < 0) offset = b.offset;
    tensor = b.tensor;
    total = b.total;
    asm.add(b.offset, b.total, b.data);
  }
  if (tensor < 0) badSequence('GET_OUTPUT: no OUTPUT_DATA among the replies');
  return { tensor, total, offset, data: asm.bytes().slice() };
}

export interface AccuracyOutcome {
  samples: number;
  /** Bytes of all output tensors of one sample. */
  outputBytes: number;
  /** `samples * outputBytes` bytes: sample i is at i * outputBytes. */
  outputs: Uint8Array;
  /** The outputs of sample `i` (a view). */
  sample(i: number): Uint8Array;
}

/** The replies to one ACCURACY_RUN: the whole output stream, checked against ACCURACY_RESULT. */
export function assembleAccuracy(replies: Replies): AccuracyOutcome {
  const list = bodies(replies);
  noError(list, 'ACCURACY_RUN');
  const asm = new ChunkAssembler('ACCURACY_RUN');
  let result: { samples: number; outputBytes: number } | null = null;
  for (const b of list) {
    if (b.type === 'accuracy_output') asm.add(b.offset, b.total, b.data);
    else if (b.type === 'accuracy_result') result = b;
    else badSequence(`ACCURACY_RUN: unexpected ${b.type} reply`);
  }
  if (result === null) return badSequence('ACCURACY_RUN: no ACCURACY_RESULT among the replies');
  const { samples, outputBytes } = result;
  const expected = samples * outputBytes;
  const outputs = expected === 0 ? new Uint8Array(0) : asm.bytes().slice();
  if (outputs.length !== expected || (expected > 0 && !asm.complete)) {
    badSequence(`ACCURACY_RUN: got ${outputs.length} output bytes, ${samples} samples x ${outputBytes} bytes = ${expected}`);
  }
  return {
    samples,
    outputBytes,
    outputs,
    sample(i: number): Uint8Array {
      if (!Number.isInteger(i) || i < 0 || i >= samples) throw new RangeError(`sample ${i} out of 0..${samples - 1}`);
      return outputs.subarray(i * outputBytes, (i + 1) * outputBytes);
    },
  };
}

