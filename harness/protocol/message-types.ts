/**
 * Every message of the board protocol v1 as a TypeScript type (PROTOCOL.md section 4). A message
 * is an envelope (request id and header flags) around a body; the body's `type` is the message's
 * lower-case name. Payload layouts live in messages.ts.
 */
import type { TensorType } from '../tflite/model.js';

/** Message type codes. Requests (host to board) are below 0x80; replies and HELLO are 0x80 and up. */
export const MessageType = {
  PING: 0x01,
  GET_INFO: 0x02,
  NEGOTIATE: 0x03,
  RESET: 0x04,
  LOG_LEVEL: 0x05,
  MEMORY_REPORT: 0x06,
  MODEL_BEGIN: 0x10,
  MODEL_CHUNK: 0x11,
  MODEL_END: 0x12,
  MODEL_SELECT_PARTITION: 0x13,
  ARENA_CONFIG: 0x14,
  SET_INPUT: 0x15,
  INVOKE: 0x16,
  GET_OUTPUT: 0x17,
  ACCURACY_BEGIN: 0x18,
  ACCURACY_INPUT: 0x19,
  ACCURACY_RUN: 0x1a,
  SIM_SET_VARIANT: 0x70,
  HELLO: 0x80,
  PONG: 0x81,
  INFO: 0x82,
  NEGOTIATED: 0x83,
  OK: 0x84,
  ERROR: 0x85,
  MEMORY: 0x86,
  CHUNK_ACK: 0x90,
  MODEL_READY: 0x91,
  ARENA_READY: 0x92,
  INVOKE_CYCLES: 0x93,
  INVOKE_PROFILE: 0x94,
  INVOKE_RESULT: 0x95,
  OUTPUT_DATA: 0x96,
  ACCURACY_OUTPUT: 0x97,
  ACCURACY_RESULT: 0x98,
} as const;

/** Where a model or arena lives on the board. */
export type Placement = 'none' | 'internal' | 'psram' | 'flash';
export const PLACEMENTS: readonly Placement[] = ['none', 'internal', 'psram', 'flash'];
export type ModelSource = 'upload' | 'partition';
export const MODEL_SOURCES: readonly ModelSource[] = ['upload', 'partition'];
/** `download` restarts into the ROM serial loader (for flashing). */
export type ResetMode = 'app' | 'download';
export const RESET_MODES: readonly ResetMode[] = ['app', 'download'];
/** ESP-IDF `esp_log_level_t`. */
export type LogLevel = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose';
export const LOG_LEVELS: readonly LogLevel[] = ['none', 'error', 'warn', 'info', 'debug', 'verbose'];
/** TFLite schema `TensorType`, indexed by its code. */
export const TENSOR_TYPES: readonly TensorType[] = [
  'float32', 'float16', 'int32', 'uint8', 'int64', 'string', 'bool', 'int16', 'complex64', 'int8',
  'float64', 'complex128', 'uint64', 'resource', 'variant', 'uint32', 'uint16', 'int4', 'bfloat16',
];
/** ESP-IDF `esp_reset_reason_t` names, indexed by code (HELLO `resetReason`). */
export const RESET_REASONS = [
  'unknown', 'poweron', 'ext', 'sw', 'panic', 'int_wdt', 'task_wdt', 'wdt', 'deepsleep', 'brownout',
  'sdio', 'usb', 'jtag', 'efuse', 'pwr_glitch', 'cpu_lockup',
] as const;

/** Limits a v1 decoder enforces on ARENA_READY (the C++ codec has fixed arrays of these sizes). */
export const MAX_TENSORS = 16;
export const MAX_RANK = 8;

// --- requests (host to board) -------------------------------------------------------------------

export interface Ping { type: 'ping'; data: Uint8Array }
export interface GetInfo { type: 'get_info' }
export interface Negotiate { type: 'negotiate'; versions: number[] }
export interface Reset { type: 'reset'; mode: ResetMode }
/** `tag` '' means every tag. */
export interface SetLogLevel { type: 'log_level'; level: LogLevel; tag: string }
export interface MemoryReport { type: 'memory_report' }
export interface ModelBegin { type: 'model_begin'; size: number; sha256: string; destination: Placement }
export interface ModelChunk { type: 'model_chunk'; offset: number; data: Uint8Array }
export interface ModelEnd { type: 'model_end' }
export interface ModelSelectPartition { type: 'model_select_partition' }
export interface ArenaConfig { type: 'arena_config'; size: number; placement: Placement }
/** `tensor` is the index among the model's inputs. */
export interface SetInput { type: 'set_input'; tensor: number; offset: number; data: Uint8Array }
/** `profile`: one extra, unmeasured inference with the per-op profiler after the measured ones. */
export interface Invoke { type: 'invoke'; warmup: number; measured: number; profile: boolean }
/** `length` 0xFFFFFFFF reads to the end of the tensor. */
export interface GetOutput { type: 'get_output'; tensor: number; offset: number; length: number }
export interface AccuracyBegin { type: 'accuracy_begin'; samples: number; sampleBytes: number }
export interface AccuracyInput { type: 'accuracy_input'; offset: number; data: Uint8Array }
export interface AccuracyRun { type: 'accuracy_run' }
/** Answered by simulated boards only; real firmware answers ERROR UNSUPPORTED. */
export interface SimSetVariant { type: 'sim_set_variant'; variant: string }

export type Request =
  | Ping | GetInfo | Negotiate | Reset | SetLogLevel | MemoryReport | ModelBegin | ModelChunk
  | ModelEnd | ModelSelectPartition | ArenaConfig | SetInput | Invoke | GetOutput | AccuracyBegin
  | AccuracyInput | AccuracyRun | SimSetVariant;

// --- replies and events (board to host) ---------------------------------------------------------

/** The build and hardware identity a board reports in HELLO and INFO. */
export interface BoardIdentity {
  protocolMin: number;
  protocolMax: number;
  /** Largest request payload the board accepts. */
  maxPayload: number;
  /** Requests the host may have in flight. */
  rxWindow: number;
  simulated: boolean;
  /** `esp_reset_reason_t` code; `RESET_REASONS[code]` names it. */
  resetReason: number;
  cores: number;
  /** major * 100 + minor (v0.2 -> 2). */
  chipRevision: number;
  cpuMhz: number;
  flashSize: number;
  psramSize: number;
  uptimeMs: number;
  /** `aa:bb:cc:dd:ee:ff`. */
  mac: string;
  /** ELF SHA-256 of the running app (esp_app_desc_t), lower-case hex: the build's identity. */
  appSha256: string;
  chip: string;
  variant: string;
  /** 'reference' (NN_ANSI_C) or 'esp-nn' (NN_OPTIMIZED). */
  kernelBackend: string;
  appVersion: string;
  projectName: string;
  idfVersion: string;
  tflmVersion: string;
  espNnVersion: string;
}

export interface Hello extends BoardIdentity { type: 'hello' }
export interface Info extends BoardIdentity { type: 'info' }
export interface Pong { type: 'pong'; data: Uint8Array }
export interface Negotiated { type: 'negotiated'; version: number }
export interface Ok { type: 'ok' }
/** `code` is an `ErrorCode`; `arg` means what `ERROR_INFO[name].arg` says. */
export interface BoardError { type: 'error'; code: number; arg: number; message: string }

export interface HeapStats { total: number; free: number; minFree: number; largestFree: number }
export interface Memory {
  type: 'memory';
  arenaSize: number;
  arenaUsed: number;
  arenaPlacement: Placement;
  modelSize: number;
  modelPlacement: Placement;
  /** App image size in flash; 0 when unknown. */
  imageSize: number;
  internal: HeapStats;
  psram: HeapStats;
}

/** `nextOffset` = bytes received so far = the offset the next chunk must have. */
export interface ChunkAck { type: 'chunk_ack'; nextOffset: number }
export interface ModelReady { type: 'model_ready'; size: number; sha256: string; source: ModelSource; placement: Placement }

/** An input or output tensor after `AllocateTensors()`. `scale` and `zeroPoint` are 0 when not quantized. */
export interface TensorInfo { dtype: TensorType; bytes: number; shape: number[]; scale: number; zeroPoint: number }
export interface ArenaReady {
  type: 'arena_ready';
  size: number;
  placement: Placement;
  /** `arena_used_bytes()` after `AllocateTensors()`. */
  used: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

/** Cycle counts of measured inferences `first`, `first + 1`, ... (0xFFFFFFFF = counter range exceeded). */
export interface InvokeCycles { type: 'invoke_cycles'; first: number; cycles: number[] }
export interface ProfileEntry { opIndex: number; cycles: number; name: string }
export interface InvokeProfile { type: 'invoke_profile'; entries: ProfileEntry[] }
export interface InvokeResult {
  type: 'invoke_result';
  warmup: number;
  measured: number;
  cpuMhz: number;
  /** Sum of every measured inference's cycles: lets the host check it got them all. */
  totalCycles: number;
  /** `esp_timer` microseconds of the measured loop. */
  wallUs: number;
}
export interface OutputData { type: 'output_data'; tensor: number; offset: number; total: number; data: Uint8Array }
export interface AccuracyOutput { type: 'accuracy_output'; offset: number; total: number; data: Uint8Array }
/** `outputBytes` per sample (all output tensors concatenated). */
export interface AccuracyResult { type: 'accuracy_result'; samples: number; outputBytes: number }

export type Reply =
  | Hello | Pong | Info | Negotiated | Ok | BoardError | Memory | ChunkAck | ModelReady | ArenaReady
  | InvokeCycles | InvokeProfile | InvokeResult | OutputData | AccuracyOutput | AccuracyResult;

export type MessageBody = Request | Reply;
export type BodyType = MessageBody['type'];
export type RequestType = Request['type'];
export type ReplyType = Reply['type'];

/** A message as it travels: the frame header's request id and flags around a body. */
export interface Message<B extends MessageBody = MessageBody> {
  /** 0 only for HELLO. */
  requestId: number;
  /** Header flag: a simulated board made this message's numbers. */
  simulated: boolean;
  /** Header flag: more replies to this request follow. */
  more: boolean;
  body: B;
}

/** The code of each body type. */
export const BODY_TYPE_CODES: Readonly<Record<BodyType, number>> = {
  ping: MessageType.PING,
  get_info: MessageType.GET_INFO,
  negotiate: MessageType.NEGOTIATE,
  reset: MessageType.RESET,
  log_level: MessageType.LOG_LEVEL,
  memory_report: MessageType.MEMORY_REPORT,
  model_begin: MessageType.MODEL_BEGIN,
  model_chunk: MessageType.MODEL_CHUNK,
  model_end: MessageType.MODEL_END,
  model_select_partition: MessageType.MODEL_SELECT_PARTITION,
  arena_config: MessageType.ARENA_CONFIG,
  set_input: MessageType.SET_INPUT,
  invoke: MessageType.INVOKE,
  get_output: MessageType.GET_OUTPUT,
  accuracy_begin: MessageType.ACCURACY_BEGIN,
  accuracy_input: MessageType.ACCURACY_INPUT,
  accuracy_run: MessageType.ACCURACY_RUN,
  sim_set_variant: MessageType.SIM_SET_VARIANT,
  hello: MessageType.HELLO,
  pong: MessageType.PONG,
  info: MessageType.INFO,
  negotiated: MessageType.NEGOTIATED,
  ok: MessageType.OK,
  error: MessageType.ERROR,
  memory: MessageType.MEMORY,
  chunk_ack: MessageType.CHUNK_ACK,
  model_ready: MessageType.MODEL_READY,
  arena_ready: MessageType.ARENA_READY,
  invoke_cycles: MessageType.INVOKE_CYCLES,
  invoke_profile: MessageType.INVOKE_PROFILE,
  invoke_result: MessageType.INVOKE_RESULT,
  output_data: MessageType.OUTPUT_DATA,
  accuracy_output: MessageType.ACCURACY_OUTPUT,
  accuracy_result: MessageType.ACCURACY_RESULT,
};

/**
 * What each request is answered with (besides ERROR, which can end any request): zero or more
 * `partial` frames flagged MORE, then one `final` frame. GET_OUTPUT's partial and final replies
 * are both OUTPUT_DATA.
 */
export const REPLIES: Readonly<Record<RequestType, { partial: readonly ReplyType[]; final: ReplyType }>> = {
  ping: { partial: [], final: 'pong' },
  get_info: { partial: [], final: 'info' },
  negotiate: { partial: [], final: 'negotiated' },
  reset: { partial: [], final: 'ok' },
  log_level: { partial: [], final: 'ok' },
  memory_report: { partial: [], final: 'memory' },
  model_begin: { partial: [], final: 'chunk_ack' },
  model_chunk: { partial: [], final: 'chunk_ack' },
  model_end: { partial: [], final: 'model_ready' },
  model_select_partition: { partial: [], final: 'model_ready' },
  arena_config: { partial: [], final: 'arena_ready' },
  set_input: { partial: [], final: 'chunk_ack' },
  invoke: { partial: ['invoke_cycles', 'invoke_profile'], final: 'invoke_result' },
  get_output: { partial: ['output_data'], final: 'output_data' },
  accuracy_begin: { partial: [], final: 'chunk_ack' },
  accuracy_input: { partial: [], final: 'chunk_ack' },
  accuracy_run: { partial: ['accuracy_output'], final: 'accuracy_result' },
  sim_set_variant: { partial: [], final: 'ok' },
};

export function isRequest(body: MessageBody): body is Request {
  return BODY_TYPE_CODES[body.type] < 0x80;
}
