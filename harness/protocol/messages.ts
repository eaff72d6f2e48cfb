/**
 * Message payloads of the board protocol v1 (PROTOCOL.md section 4): one encoder and one decoder
 * per message, field by field in wire order. Checked against firmware/protocol/golden/messages.json,
 * the same file the C++ codec is tested with.
 */
import { ProtocolError } from './errors.js';
import { type Frame, FrameFlag, PROTOCOL_VERSION, decodeFrame, encodeFrame } from './frame.js';
import {
  type BoardIdentity, type HeapStats, type Message, type MessageBody, type TensorInfo,
  BODY_TYPE_CODES, LOG_LEVELS, MAX_RANK, MAX_TENSORS, MODEL_SOURCES, MessageType, PLACEMENTS,
  RESET_MODES, TENSOR_TYPES,
} from './message-types.js';
import { PayloadReader, PayloadWriter } from './wire.js';

export * from './message-types.js';

/** Protocol versions this codec speaks. */
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

const TYPE_NAMES = new Map<number, MessageBody['type']>(
  (Object.entries(BODY_TYPE_CODES) as [MessageBody['type'], number][]).map(([name, code]) => [code, name]),
);

/** The frame carrying `msg` (header version `version`). Throws a `ProtocolError` naming a bad field. */
export function messageToFrame(msg: Message, version = PROTOCOL_VERSION): Frame {
  if (typeof msg.simulated !== 'boolean' || typeof msg.more !== 'boolean') {
    throw new ProtocolError('field-range', `${msg.body?.type}: simulated and more must be booleans`);
  }
  return {
    version,
    type: typeCode(msg.body),
    flags: (msg.simulated ? FrameFlag.SIMULATED : 0) | (msg.more ? FrameFlag.MORE : 0),
    requestId: msg.requestId,
    payload: encodeBody(msg.body),
  };
}

/** The complete frame bytes of `msg`, ready for a serial port or an MQTT publish. */
export function encodeMessage(msg: Message, version = PROTOCOL_VERSION): Uint8Array {
  return encodeFrame(messageToFrame(msg, version));
}

/**
 * The message in a frame from `FrameDecoder` (or from `decodeFrame`). Throws a `ProtocolError`:
 * `unsupported-version`, `unknown-type` or `bad-payload` - what a board answers with
 * UNSUPPORTED_VERSION, UNKNOWN_COMMAND and BAD_FRAME.
 */
export function decodeMessage(frame: Frame): Message {
  if (!SUPPORTED_VERSIONS.includes(frame.version)) {
    throw new ProtocolError('unsupported-version', `frame of protocol version ${frame.version}; this codec speaks ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  return {
    requestId: frame.requestId,
    simulated: (frame.flags & FrameFlag.SIMULATED) !== 0,
    more: (frame.flags & FrameFlag.MORE) !== 0,
    body: decodeBody(frame.type, frame.payload),
  };
}

/** `decodeMessage(decodeFrame(bytes))`: one MQTT message. */
export function decodeMessageBytes(bytes: Uint8Array): Message {
  return decodeMessage(decodeFrame(bytes));
}

function typeCode(body: MessageBody): number {
  const code = body && BODY_TYPE_CODES[body.type];
  if (code === undefined) throw new ProtocolError('field-range', `unknown message body type ${String(body?.type)}`);
  return code;
}

/** The payload bytes of a message body. */
export function encodeBody(body: MessageBody): Uint8Array {
  const w = new PayloadWriter(body.type);
  switch (body.type) {
    case 'get_info': case 'memory_report': case 'model_end': case 'model_select_partition':
    case 'accuracy_run': case 'ok':
      break;
    case 'ping': case 'pong':
      w.raw('data', body.data);
      break;
    case 'negotiate':
      if (!Array.isArray(body.versions)) throw new ProtocolError('field-range', 'negotiate: versions must be an array');
      w.u8('versions.length', body.versions.length);
      for (const v of body.versions) w.u8('versions[]', v);
      break;
    case 'reset':
      w.enumeration('mode', body.mode, RESET_MODES);
      break;
    case 'log_level':
      w.enumeration('level', body.level, LOG_LEVELS).str('tag', body.tag);
      break;
    case 'model_begin':
      w.u32('size', body.size).sha256('sha256', body.sha256).enumeration('destination', body.destination, PLACEMENTS);
      break;
    case 'model_chunk': case 'accuracy_input':
      w.u32('offset', body.offset).raw('data', body.data);
      break;
    case 'arena_config':
      w.u32('size', body.size).enumeration('placement', body.placement, PLACEMENTS);
      break;
    case 'set_input':
      w.u8('tensor', body.tensor).u32('offset', body.offset).raw('data', body.data);
      break;
    case 'invoke':
      w.u32('warmup', body.warmup).u32('measured', body.measured).u8('flags', body.profile ? 1 : 0);
      break;
    case 'get_output':
      w.u8('tensor', body.tensor).u32('offset', body.offset).u32('length', body.length);
      break;
    case 'accuracy_begin':
      w.u32('samples', body.samples).u32('sampleBytes', body.sampleBytes);
      break;
    case 'sim_set_variant':
      w.str('variant', body.variant);
      break;
    case 'hello': case 'info':
      writeIdentity(w, body);
      break;
    case 'negotiated':
      w.u8('version', body.version);
      break;
    case 'error':
      w.u16('code', body.code).u32('arg', body.arg).str('message', body.message, true);
      break;
    case 'memory':
      w.u32('arenaSize', body.arenaSize).u32('arenaUsed', body.arenaUsed)
        .enumeration('arenaPlacement', body.arenaPlacement, PLACEMENTS)
        .u32('modelSize', body.modelSize).enumeration('modelPlacement', body.modelPlacement, PLACEMENTS)
        .u32('imageSize', body.imageSize);
      writeHeap(w, 'internal', body.internal);
      writeHeap(w, 'psram', body.psram);
      break;
    case 'chunk_ack':
      w.u32('nextOffset', body.nextOffset);
      break;
    case 'model_ready':
      w.u32('size', body.size).sha256('sha256', body.sha256).enumeration('source', body.source, MODEL_SOURCES)
        .enumeration('placement', body.placement, PLACEMENTS);
      break;
    case 'arena_ready':
      w.u32('size', body.size).enumeration('placement', body.placement, PLACEMENTS).u32('used', body.used);
      writeTensors(w, 'inputs', body.inputs);
      writeTensors(w, 'outputs', body.outputs);
      break;
    case 'invoke_cycles':
      w.u32('first', body.first);
      for (const c of body.cycles) w.u32('cycles[]', c);
      break;
    case 'invoke_profile':
      w.u16('entries.length', body.entries.length);
      for (const e of body.entries) w.u16('opIndex', e.opIndex).u32('cycles', e.cycles).str('name', e.name);
      break;
    case 'invoke_result':
      w.u32('warmup', body.warmup).u32('measured', body.measured).u16('cpuMhz', body.cpuMhz)
        .u64('totalCycles', body.totalCycles).u64('wallUs', body.wallUs);
      break;
    case 'output_data':
      w.u8('tensor', body.tensor).u32('offset', body.offset).u32('total', body.total).raw('data', body.data);
      break;
    case 'accuracy_output':
      w.u32('offset', body.offset).u32('total', body.total).raw('data', body.data);
      break;
    case 'accuracy_result':
      w.u32('samples', body.samples).u32('outputBytes', body.outputBytes);
      break;
    default:
      typeCode(body satisfies never);
  }
  return w.finish();
}

/** The body of a payload of message type `type`. Throws `unknown-type` or `bad-payload`. */
export function decodeBody(type: number, payload: Uint8Array): MessageBody {
  const name = TYPE_NAMES.get(type);
  if (name === undefined) {
    throw new ProtocolError('unknown-type', `unknown message type 0x${type.toString(16).padStart(2, '0')}`);
  }
  const r = new PayloadReader(payload, name);
  let body: MessageBody;
  switch (name) {
    case 'get_info': case 'memory_report': case 'model_end': case 'model_select_partition':
    case 'accuracy_run': case 'ok':
      body = { type: name };
      break;
    case 'ping': case 'pong':
      body = { type: name, data: r.rest() };
      break;
    case 'negotiate': {
      const n = r.u8('count');
      const versions: number[] = [];
      for (let i = 0; i < n; i++) versions.push(r.u8('versions'));
      body = { type: name, versions };
      break;
    }
    case 'reset':
      body = { type: name, mode: r.enumeration('mode', RESET_MODES) };
      break;
    case 'log_level':
      body = { type: name, level: r.enumeration('level', LOG_LEVELS), tag: r.str('tag') };
      break;
    case 'model_begin':
      body = { type: name, size: r.u32('size'), sha256: r.sha256('sha256'), destination: r.enumeration('destination', PLACEMENTS) };
      break;
    case 'model_chunk': case 'accuracy_input':
      body = { type: name, offset: r.u32('offset'), data: r.rest() };
      break;
    case 'arena_config':
      body = { type: name, size: r.u32('size'), placement: r.enumeration('placement', PLACEMENTS) };
      break;
    case 'set_input':
      body = { type: name, tensor: r.u8('tensor'), offset: r.u32('offset'), data: r.rest() };
      break;
    case 'invoke': {
      const warmup = r.u32('warmup');
      const measured = r.u32('measured');
      const flags = r.u8('flags');
      if (flags & ~1) r.bad(`flags 0x${flags.toString(16)} has reserved bits set`);
      body = { type: name, warmup, measured, profile: (flags & 1) !== 0 };
      break;
    }
    case 'get_output':
      body = { type: name, tensor: r.u8('tensor'), offset: r.u32('offset'), length: r.u32('length') };
      break;
    case 'accuracy_begin':
      body = { type: name, samples: r.u32('samples'), sampleBytes: r.u32('sampleBytes') };
      break;
    case 'sim_set_variant':
      body = { type: name, variant: r.str('variant') };
      break;
    case 'hello': case 'info':
      // Later versions may append identity fields: ignore what follows (PROTOCOL.md section 3).
      return { type: name, ...readIdentity(r) };
    case 'negotiated':
      body = { type: name, version: r.u8('version') };
      break;
    case 'error':
      body = { type: name, code: r.u16('code'), arg: r.u32('arg'), message: r.str('message') };
      break;
    case 'memory':
      body = {
        type: name,
        arenaSize: r.u32('arenaSize'),
        arenaUsed: r.u32('arenaUsed'),
        arenaPlacement: r.enumeration('arenaPlacement', PLACEMENTS),
        modelSize: r.u32('modelSize'),
        modelPlacement: r.enumeration('modelPlacement', PLACEMENTS),
        imageSize: r.u32('imageSize'),
        internal: readHeap(r, 'internal'),
        psram: readHeap(r, 'psram'),
      };
      break;
    case 'chunk_ack':
      body = { type: name, nextOffset: r.u32('nextOffset') };
      break;
    case 'model_ready':
      body = {
        type: name, size: r.u32('size'), sha256: r.sha256('sha256'),
        source: r.enumeration('source', MODEL_SOURCES), placement: r.enumeration('placement', PLACEMENTS),
      };
      break;
    case 'arena_ready':
      body = {
        type: name, size: r.u32('size'), placement: r.enumeration('placement', PLACEMENTS), used: r.u32('used'),
        inputs: readTensors(r, 'inputs'), outputs: readTensors(r, 'outputs'),
      };
      break;
    case 'invoke_cycles': {
      const first = r.u32('first');
      if (r.remaining % 4 !== 0) r.bad(`${r.remaining} cycle bytes is not a whole number of u32 values`);
      const cycles: number[] = [];
      while (r.remaining > 0) cycles.push(r.u32('cycles'));
      body = { type: name, first, cycles };
      break;
    }
    case 'invoke_profile': {
      const n = r.u16('count');
      const entries = [];
      for (let i = 0; i < n; i++) entries.push({ opIndex: r.u16('opIndex'), cycles: r.u32('cycles'), name: r.str('name') });
      body = { type: name, entries };
      break;
    }
    case 'invoke_result':
      body = {
        type: name, warmup: r.u32('warmup'), measured: r.u32('measured'), cpuMhz: r.u16('cpuMhz'),
        totalCycles: r.u64('totalCycles'), wallUs: r.u64('wallUs'),
      };
      break;
    case 'output_data':
      body = { type: name, tensor: r.u8('tensor'), offset: r.u32('offset'), total: r.u32('total'), data: r.rest() };
      break;
    case 'accuracy_output':
      body = { type: name, offset: r.u32('offset'), total: r.u32('total'), data: r.rest() };
      break;
    case 'accuracy_result':
      body = { type: name, samples: r.u32('samples'), outputBytes: r.u32('outputBytes') };
      break;
    default:
      throw new Error(`no decoder for ${name satisfies never}`);
  }
  r.end();
  return body;
}

function writeIdentity(w: PayloadWriter, b: BoardIdentity): void {
  if (typeof b.simulated !== 'boolean') throw new ProtocolError('field-range', 'hello: simulated must be a boolean');
  w.u8('protocolMin', b.protocolMin).u8('protocolMax', b.protocolMax).u16('maxPayload', b.maxPayload)
    .u8('rxWindow', b.rxWindow).u8('flags', b.simulated ? 1 : 0).u8('resetReason', b.resetReason)
    .u8('cores', b.cores).u16('chipRevision', b.chipRevision).u16('cpuMhz', b.cpuMhz)
    .u32('flashSize', b.flashSize).u32('psramSize', b.psramSize).u32('uptimeMs', b.uptimeMs)
    .mac('mac', b.mac).sha256('appSha256', b.appSha256)
    .str('chip', b.chip).str('variant', b.variant).str('kernelBackend', b.kernelBackend)
    .str('appVersion', b.appVersion).str('projectName', b.projectName).str('idfVersion', b.idfVersion)
    .str('tflmVersion', b.tflmVersion).str('espNnVersion', b.espNnVersion);
}

function readIdentity(r: PayloadReader): BoardIdentity {
  return {
    protocolMin: r.u8('protocolMin'),
    protocolMax: r.u8('protocolMax'),
    maxPayload: r.u16('maxPayload'),
    rxWindow: r.u8('rxWindow'),
    simulated: (r.u8('flags') & 1) !== 0, // other bits: later versions' flags, ignored
    resetReason: r.u8('resetReason'),
    cores: r.u8('cores'),
    chipRevision: r.u16('chipRevision'),
    cpuMhz: r.u16('cpuMhz'),
    flashSize: r.u32('flashSize'),
    psramSize: r.u32('psramSize'),
    uptimeMs: r.u32('uptimeMs'),
    mac: r.mac('mac'),
    appSha256: r.sha256('appSha256'),
    chip: r.str('chip'),
    variant: r.str('variant'),
    kernelBackend: r.str('kernelBackend'),
    appVersion: r.str('appVersion'),
    projectName: r.str('projectName'),
    idfVersion: r.str('idfVersion'),
    tflmVersion: r.str('tflmVersion'),
    espNnVersion: r.str('espNnVersion'),
  };
}

function writeHeap(w: PayloadWriter, field: string, h: HeapStats): void {
  if (typeof h !== 'object' || h === null) throw new ProtocolError('field-range', `memory: ${field} must be an object`);
  w.u32(`${field}.total`, h.total).u32(`${field}.free`, h.free).u32(`${field}.minFree`, h.minFree)
    .u32(`${field}.largestFree`, h.largestFree);
}

function readHeap(r: PayloadReader, field: string): HeapStats {
  return {
    total: r.u32(`${field}.total`),
    free: r.u32(`${field}.free`),
    minFree: r.u32(`${field}.minFree`),
    largestFree: r.u32(`${field}.largestFree`),
  };
}

function writeTensors(w: PayloadWriter, field: string, tensors: TensorInfo[]): void {
  if (!Array.isArray(tensors) || tensors.length > MAX_TENSORS) {
    throw new ProtocolError('field-range', `arena_ready: ${field} must be an array of at most ${MAX_TENSORS} tensors`);
  }
  w.u8(`${field}.length`, tensors.length);
  for (const t of tensors) {
    if (!Array.isArray(t.shape) || t.shape.length > MAX_RANK) {
      throw new ProtocolError('field-range', `arena_ready: ${field}[].shape must have at most ${MAX_RANK} dimensions`);
    }
    w.enumeration(`${field}[].dtype`, t.dtype, TENSOR_TYPES).u32(`${field}[].bytes`, t.bytes).u8(`${field}[].rank`, t.shape.length);
    for (const d of t.shape) w.i32(`${field}[].shape[]`, d);
    w.f32(`${field}[].scale`, t.scale).i32(`${field}[].zeroPoint`, t.zeroPoint);
  }
}

function readTensors(r: PayloadReader, field: string): TensorInfo[] {
  const n = r.u8(`${field} count`);
  if (n > MAX_TENSORS) r.bad(`${n} ${field}, at most ${MAX_TENSORS}`);
  const out: TensorInfo[] = [];
  for (let i = 0; i < n; i++) {
    const dtype = r.enumeration(`${field}[${i}].dtype`, TENSOR_TYPES);
    const bytes = r.u32(`${field}[${i}].bytes`);
    const rank = r.u8(`${field}[${i}].rank`);
    if (rank > MAX_RANK) r.bad(`${field}[${i}] has rank ${rank}, at most ${MAX_RANK}`);
    const shape: number[] = [];
    for (let d = 0; d < rank; d++) shape.push(r.i32(`${field}[${i}].shape`));
    out.push({ dtype, bytes, shape, scale: r.f32(`${field}[${i}].scale`), zeroPoint: r.i32(`${field}[${i}].zeroPoint`) });
  }
  return out;
}

