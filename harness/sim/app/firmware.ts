/**
 * `SimFirmware`: the benchmark firmware's protocol v1 command handler as the simulated ESP32-S3
 * runs it. It follows firmware/protocol/PROTOCOL.md and mirrors the real handler
 * (firmware/components/hil_core/src/command_handler.cpp): the same states, checks, error codes,
 * `arg` values and messages, so a recorded session replays against the C++ handler with the same
 * replies apart from measured numbers. Every frame it sends carries the SIMULATED flag.
 *
 * What is simulated rather than measured: cycles (cost model + seeded noise), heap figures (the
 * heap model), `arena_used` (the arena planner), identity (the image in the board's flash and the
 * board profile). Outputs are real: the lab's interpreter computes them.
 *
 * Requests are handled one at a time in arrival order (a queue), each taking simulated board time
 * (`BoardClock`): an INVOKE of 100 x 54 ms keeps the board busy for 5.4 s (times `timeScale`).
 */
import { createHash } from 'node:crypto';
import {
  ErrorCode, MAX_PAYLOAD, ProtocolError, decodeMessage, encodeFrame, encodeMessage, errorName,
  type ErrorCodeName, type Frame, type LogLevel, type Message, type MessageBody, type Placement,
  type ProfileEntry, type DecodeErrorReason, BODY_TYPE_CODES, LOG_LEVELS, MessageType,
} from '../../protocol/index.js';
import type { Partition } from '../../flash/partition-table.js';
import type { SimFlash } from '../flash-memory.js';
import { LatencyNoise, type CostContext, type PsramMode } from '../cost-model.js';
import type { BoardClock } from './clock.js';
import { logLine } from './boot-log.js';
import { BoardMemory, largestAlignedAllocation } from './memory.js';
import { SimModelRunner } from './model-runner.js';
import type { SessionRecorder } from './recorder.js';
import { parseVariant, type SimVariant } from './variants.js';

/** Where the firmware's frames for one link go (a serial console, an MQTT connection). */
export interface FrameSink {
  readonly link: 'serial' | 'mqtt';
  send(frame: Uint8Array): void;
}

/** The board's identity as the firmware reads it at boot (esp_app_get_description, esp_chip_info, ...). */
export interface FirmwareIdentity {
  appElfSha256: string;
  appVersion: string;
  projectName: string;
  idfVersion: string;
  tflmVersion: string;
  /** esp_reset_reason_t code. */
  resetReason: number;
  mac: readonly number[];
  chipRevision: number;
  flashBytes: number;
  psramBytes: number;
  psramMode: PsramMode;
  /** App image bytes in flash (MEMORY image_size). */
  imageBytes: number;
}

/** What the firmware asks of the board it runs on. */
export interface FirmwareHost {
  /** RESET was answered: restart (after the reply has left). */
  reset(mode: 'app' | 'download'): void;
  /** SIM_SET_VARIANT was answered: install that variant and reboot. */
  setVariant(variant: SimVariant): void;
  /** After every inference: false when a fault stopped the firmware (reboot, hang), so the request ends silently. */
  afterInference(): boolean;
  /** A line of the board log (ESP_LOG output), without its line end. */
  log(line: string): void;
  /** Internal trace for debugging the simulator (not board output). */
  trace?(line: string): void;
}

export interface SimFirmwareOptions {
  board: string;
  variant: SimVariant;
  identity: FirmwareIdentity;
  /** The board's seed: latency noise and its per-board offset. */
  seed: number;
  clock: BoardClock;
  host: FirmwareHost;
  flash: SimFlash;
  /** The partition table the bootloader read (the `model` partition is found there). */
  partitions: readonly Partition[];
  links: { serial: boolean; mqtt: boolean };
  /** HELLO rx_window (firmware Kconfig HIL_RX_WINDOW, default 4). */
  rxWindow?: number;
  recorder?: SessionRecorder;
}

/** Counters a test or a debug view reads (PROTOCOL.md: every bad frame counted and skipped). */
export interface FirmwareStats {
  requests: number;
  /** Frame candidates the link's decoder rejected (bad header, CRC, oversize, truncated). */
  badFrames: number;
  /** Frames with a valid CRC whose payload did not match its type, or of an unsupported version. */
  badPayloads: number;
  unknownCommands: number;
  /** Requests dropped because the receive queue was full (a real UART driver overflows the same way). */
  droppedRequests: number;
  /** Host inferences actually computed (identical inputs come from the output cache). */
  hostInferences: number;
  /** Inferences the board ran (simulated). */
  inferences: number;
}

type BoardState = 'idle' | 'receiving model' | 'model ready' | 'ready';

const OUTPUT_DATA_PER_FRAME = 4087;
const ACCURACY_DATA_PER_FRAME = 4088;
const CYCLES_PER_FRAME = 1023;
const PROFILE_ENTRIES_PER_FRAME = 128;
const PROGRESS_US = 1_000_000;
/** Requests queued beyond this are lost, as bytes past a full UART receive buffer. */
const QUEUE_LIMIT = 64;
/** MicroProfiler's own cost per event (two cycle-counter reads and the bookkeeping). */
const PROFILER_CYCLES = 120;

/** Board time the firmware spends on requests besides inferences (µs): decode, dispatch, encode, copies. */
const COST_US = {
  request: 40,
  /** Per payload byte copied and hashed (SHA-256 in the S3's hardware accelerator, ~40 MB/s). */
  perByte: 0.025,
  /** Per model byte: flatbuffer verification and AllocateTensors walking the model. */
  allocatePerModelByte: 0.01,
  allocatePerOperator: 25,
  /** Per model byte of the partition's SHA-256 through the flash cache. */
  partitionPerByte: 0.05,
  /** Between two measured inferences: the loop, two cycle-counter and two esp_timer reads. */
  perInference: 3,
};

interface Queued {
  kind: 'frame' | 'frame-error';
  frame?: Frame;
  reason?: DecodeErrorReason;
  type?: number;
  requestId?: number;
  length?: number;
  sink: FrameSink;
}

const STATE_HINT: Record<BoardState, string> = {
  idle: ' (send MODEL_BEGIN or MODEL_SELECT_PARTITION first)',
  'receiving model': ' (finish the upload with MODEL_END first)',
  'model ready': ' (send ARENA_CONFIG first)',
  ready: '',
};

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** Thrown inside a request when a fault stopped the firmware: the request ends without a reply. */
class Stopped extends Error {}

export class SimFirmware {
  readonly board: string;
  readonly variant: SimVariant;
  readonly identity: FirmwareIdentity;
  readonly memory: BoardMemory;
  readonly stats: FirmwareStats = {
    requests: 0, badFrames: 0, badPayloads: 0, unknownCommands: 0, droppedRequests: 0, hostInferences: 0, inferences: 0,
  };
  private readonly clock: BoardClock;
  private readonly host: FirmwareHost;
  private readonly flash: SimFlash;
  private readonly partitions: readonly Partition[];
  private readonly rxWindow: number;
  private readonly noise: LatencyNoise;
  private readonly recorder: SessionRecorder | undefined;
  private readonly queue: Queued[] = [];
  private running = false;
  private stopped = false;
  private suspended = false;
  /** Bumped by suspend(): a request started in an older epoch ends silently. */
  private epoch = 0;
  private activeEpoch = 0;
  private version = 1;
  private state: BoardState = 'idle';
  private logLevels = new Map<string, number>([['*', 3]]);

  // The model: an uploaded block or the mapped partition.
  private modelBlock: { address: number; placement: Placement } | null = null;
  private modelBuffer: Uint8Array | null = null;
  private modelReceived = 0;
  private modelHash: ReturnType<typeof createHash> | null = null;
  private expectedSha = '';
  private model: Uint8Array | null = null;
  private modelPlacement: Placement = 'none';

  private arena: { address: number; size: number; placement: 'internal' | 'psram' } | null = null;
  private runner: SimModelRunner | null = null;
  private sinceAllocate = 0;

  private batch: { address: number; data: Uint8Array; received: number; samples: number; sampleBytes: number; placement: Placement } | null = null;
  private idleWaiters: Array<() => void> = [];

  constructor(options: SimFirmwareOptions) {
    this.board = options.board;
    this.variant = options.variant;
    this.identity = options.identity;
    this.clock = options.clock;
    this.host = options.host;
    this.flash = options.flash;
    this.partitions = options.partitions;
    this.rxWindow = options.rxWindow ?? 4;
    this.recorder = options.recorder;
    this.noise = new LatencyNoise({ seed: options.seed });
    this.memory = new BoardMemory({ psramBytes: options.identity.psramBytes, rxWindow: this.rxWindow, mqtt: options.links.mqtt });
  }

  get boardState(): BoardState {
    return this.state;
  }

  /** The per-board latency factor the noise model drew from the seed (1 = nominal silicon). */
  get boardFactor(): number {
    return this.noise.boardFactor;
  }

  /** True while requests are queued or running. */
  get busy(): boolean {
    return this.running || this.queue.length > 0;
  }

  /** Resolves when the queue is empty and nothing runs. */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** The firmware stops for good (the board reboots or hangs): nothing more is sent. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * A hang: the benchmark task stops answering. The request in progress never gets its reply,
   * requests that arrive meanwhile are lost; the board's state (model, arena) survives.
   */
  suspend(): void {
    this.suspended = true;
    this.epoch++;
    this.queue.length = 0;
  }

  /** The hang ends: new requests are handled again. */
  resume(): void {
    this.suspended = false;
  }

  get isSuspended(): boolean {
    return this.suspended;
  }

  private get interrupted(): boolean {
    return this.stopped || this.suspended || this.activeEpoch !== this.epoch;
  }

  // ------------------------------------------------------------------------------------ intake

  /** HELLO (request id 0): after boot on the serial links, after each broker (re)connection on MQTT. */
  sendHello(sink: FrameSink): void {
    const frame = this.encode({ requestId: 0, simulated: true, more: false, body: { type: 'hello', ...this.identityFields() } });
    if (this.stopped) return;
    this.recorder?.hello(frame);
    sink.send(frame);
  }

  /** A complete frame from a link's decoder (serial) or one MQTT message. */
  receive(frame: Frame, sink: FrameSink): void {
    this.enqueue({ kind: 'frame', frame, sink });
  }

  /**
   * A rejected frame candidate. With a trustworthy header (CRC, oversize, truncated) the request is
   * answered with BAD_FRAME in its turn (PROTOCOL.md "Damaged requests"); without one it is only counted.
   */
  frameError(reason: DecodeErrorReason, sink: FrameSink, header?: { type: number; requestId: number; length?: number }): void {
    this.stats.badFrames++;
    if (!header) return;
    this.enqueue({ kind: 'frame-error', reason, type: header.type, requestId: header.requestId, length: header.length, sink });
  }

  private enqueue(item: Queued): void {
    if (this.stopped || this.suspended) return;
    if (this.queue.length >= QUEUE_LIMIT) {
      this.stats.droppedRequests++;
      return;
    }
    this.queue.push(item);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const item = this.queue.shift()!;
        this.activeEpoch = this.epoch;
        this.clock.beginBusy();
        try {
          if (item.kind === 'frame') await this.handleFrame(item.frame!, item.sink);
          else await this.handleFrameError(item);
        } catch (e) {
          if (!(e instanceof Stopped)) {
            this.host.trace?.(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
            this.host.log(logLine('E', this.clock.nowUs() / 1000, 'hil', `internal error: ${e instanceof Error ? e.message : String(e)}`));
          }
        } finally {
          this.recorder?.done();
          this.clock.endBusy();
        }
      }
    } finally {
      this.running = false;
      if (!this.busy) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async handleFrameError(item: Queued): Promise<void> {
    const id = item.requestId!;
    const sink = item.sink;
    await this.spend(COST_US.request);
    const bytes = item.length !== undefined ? `, ${item.length} payload bytes` : '';
    if (item.reason === 'crc') {
      this.error(sink, id, 'BAD_FRAME', 0, `frame CRC-32 failed (type 0x${hex2(item.type!)}${bytes}): resend the request`);
    } else if (item.reason === 'oversize') {
      this.error(sink, id, 'BAD_FRAME', 0, `frame (type 0x${hex2(item.type!)}${bytes}) announces more payload than the ${MAX_PAYLOAD} bytes this board accepts`);
    } else {
      this.error(sink, id, 'BAD_FRAME', 0, `frame (type 0x${hex2(item.type!)}) was cut short or followed by extra bytes: resend the request`);
    }
  }

  private async handleFrame(frame: Frame, sink: FrameSink): Promise<void> {
    this.stats.requests++;
    this.recorder?.request(encodeFrame(frame));
    await this.spend(COST_US.request + COST_US.perByte * frame.payload.length);
    let msg: Message;
    try {
      msg = decodeMessage(frame);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      if (e.reason === 'unknown-type') {
        this.stats.unknownCommands++;
        this.error(sink, frame.requestId, 'UNKNOWN_COMMAND', frame.type, `this board does not know message type 0x${hex2(frame.type)}`);
      } else if (e.reason === 'unsupported-version') {
        this.stats.badPayloads++;
        const saved = this.version;
        this.version = 1; // sent with version 1, which every receiver reads
        this.error(sink, frame.requestId, 'UNSUPPORTED_VERSION', 1, `frame has protocol version ${frame.version}; this board speaks version 1`);
        this.version = saved;
      } else {
        this.stats.badPayloads++;
        this.error(sink, frame.requestId, 'BAD_FRAME', 0, `the payload of a ${typeName(frame.type)} request does not match its layout`);
      }
      return;
    }
    await this.dispatch(msg.requestId, msg.body, sink);
  }

  private async dispatch(id: number, body: MessageBody, sink: FrameSink): Promise<void> {
    switch (body.type) {
      case 'ping': return this.reply(sink, id, { type: 'pong', data: body.data });
      case 'get_info': return this.reply(sink, id, { type: 'info', ...this.identityFields() });
      case 'negotiate': return this.onNegotiate(sink, id, body.versions);
      case 'reset': return this.onReset(sink, id, body.mode);
      case 'log_level': return this.onLogLevel(sink, id, body.level, body.tag);
      case 'memory_report': return this.onMemoryReport(sink, id);
      case 'model_begin': return this.onModelBegin(sink, id, body.size, body.sha256, body.destination);
      case 'model_chunk': return this.onModelChunk(sink, id, body.offset, body.data);
      case 'model_end': return this.onModelEnd(sink, id);
      case 'model_select_partition': return this.onSelectPartition(sink, id);
      case 'arena_config': return this.onArenaConfig(sink, id, body.size, body.placement);
      case 'set_input': return this.onSetInput(sink, id, body.tensor, body.offset, body.data);
      case 'invoke': return this.onInvoke(sink, id, body.warmup, body.measured, body.profile);
      case 'get_output': return this.onGetOutput(sink, id, body.tensor, body.offset, body.length);
      case 'accuracy_begin': return this.onAccuracyBegin(sink, id, body.samples, body.sampleBytes);
      case 'accuracy_input': return this.onAccuracyInput(sink, id, body.offset, body.data);
      case 'accuracy_run': return this.onAccuracyRun(sink, id);
      case 'sim_set_variant': return this.onSetVariant(sink, id, body.variant);
      default: {
        // A reply type sent to the board: known to the codec, not a command the board takes.
        this.stats.unknownCommands++;
        const code = BODY_TYPE_CODES[body.type];
        this.error(sink, id, 'UNKNOWN_COMMAND', code, `message type 0x${hex2(code)} is a reply, not a request`);
      }
    }
  }

  // ------------------------------------------------------------------------------------ sending

  private encode(msg: Message): Uint8Array {
    return encodeMessage(msg, this.version);
  }

  private sendMsg(sink: FrameSink, id: number, body: MessageBody, more: boolean): void {
    if (this.interrupted) throw new Stopped();
    const frame = this.encode({ requestId: id, simulated: true, more, body });
    this.recorder?.reply(frame);
    sink.send(frame);
  }

  private reply(sink: FrameSink, id: number, body: MessageBody): void {
    this.sendMsg(sink, id, body, false);
  }

  private partial(sink: FrameSink, id: number, body: MessageBody): void {
    this.sendMsg(sink, id, body, true);
  }

  private error(sink: FrameSink, id: number, code: ErrorCodeName, arg: number, message: string): void {
    this.reply(sink, id, { type: 'error', code: ErrorCode[code], arg: arg >>> 0, message });
    this.log('W', 'hil', `request ${id}: ${errorName(ErrorCode[code])}: ${message}`);
  }

  private badState(sink: FrameSink, id: number, request: string, arg = 0): void {
    this.error(sink, id, 'BAD_STATE', arg, `${request} is not allowed while the board is ${this.state}${STATE_HINT[this.state]}`);
  }

  private log(level: 'E' | 'W' | 'I' | 'D', tag: string, text: string): void {
    const wanted = this.logLevels.get(tag) ?? this.logLevels.get('*') ?? 3;
    const value = { E: 1, W: 2, I: 3, D: 4 }[level];
    if (value <= wanted && !this.stopped) this.host.log(logLine(level, this.clock.nowUs() / 1000, tag, text));
  }

  private async spend(us: number): Promise<void> {
    await this.clock.spend(us);
    if (this.interrupted) throw new Stopped();
  }

  private identityFields() {
    const id = this.identity;
    return {
      protocolMin: 1, protocolMax: 1, maxPayload: MAX_PAYLOAD, rxWindow: this.rxWindow, simulated: true,
      resetReason: id.resetReason, cores: 2, chipRevision: id.chipRevision, cpuMhz: this.variant.cpuMhz,
      flashSize: id.flashBytes, psramSize: id.psramBytes, uptimeMs: Math.floor(this.clock.nowUs() / 1000) >>> 0,
      mac: id.mac.map((b) => b.toString(16).padStart(2, '0')).join(':'), appSha256: id.appElfSha256,
      chip: 'esp32s3', variant: this.variant.name, kernelBackend: this.variant.kernelBackend,
      appVersion: id.appVersion, projectName: id.projectName, idfVersion: id.idfVersion,
      tflmVersion: id.tflmVersion, espNnVersion: this.variant.espNnVersion,
    };
  }

  // ------------------------------------------------------------------------------------ session

  private onNegotiate(sink: FrameSink, id: number, versions: number[]): void {
    if (!versions.includes(1)) {
      this.error(sink, id, 'UNSUPPORTED_VERSION', 1, 'no common protocol version: this board speaks version 1 only');
      return;
    }
    this.reply(sink, id, { type: 'negotiated', version: 1 }); // in the old version
    this.version = 1;
  }

  private onReset(sink: FrameSink, id: number, mode: 'app' | 'download'): void {
    this.reply(sink, id, { type: 'ok' });
    this.log('I', 'hil', `restarting${mode === 'download' ? ' into the ROM download mode' : ''}`);
    this.stop();
    this.host.reset(mode);
  }

  private onSetVariant(sink: FrameSink, id: number, name: string): void {
    const variant = parseVariant(name);
    if (!variant) {
      this.error(sink, id, 'BAD_ARGUMENT', 0, `unknown firmware variant "${name}": use one of firmware/variants/*.json (e.g. reference, esp-nn, esp-nn-1.2.6), optionally with -80mhz / -160mhz`);
      return;
    }
    this.reply(sink, id, { type: 'ok' });
    this.log('I', 'hil', `switching to firmware variant ${variant.name} (simulated flash + reboot)`);
    this.stop();
    this.host.setVariant(variant);
  }

  private onLogLevel(sink: FrameSink, id: number, level: LogLevel, tag: string): void {
    const value = LOG_LEVELS.indexOf(level);
    if (tag === '') this.logLevels = new Map([['*', value]]);
    else this.logLevels.set(tag, value);
    this.reply(sink, id, { type: 'ok' });
  }

  private onMemoryReport(sink: FrameSink, id: number): void {
    const hasPsram = this.identity.psramBytes > 0;
    this.reply(sink, id, {
      type: 'memory',
      arenaSize: this.arena?.size ?? 0,
      arenaUsed: this.arena && this.runner ? this.runner.need.bytes : 0,
      arenaPlacement: this.arena?.placement ?? 'none',
      modelSize: this.model?.length ?? 0,
      modelPlacement: this.model ? this.modelPlacement : 'none',
      imageSize: this.identity.imageBytes,
      internal: this.memory.figures('internal'),
      psram: hasPsram ? this.memory.figures('psram') : { total: 0, free: 0, minFree: 0, largestFree: 0 },
    });
  }

  // ------------------------------------------------------------------------------------ model

  private dropInterpreter(): void {
    this.runner = null;
    if (this.arena) this.memory.heap(this.arena.placement)?.release(this.arena.address);
    this.arena = null;
    if (this.state === 'ready') this.state = 'model ready';
  }

  private dropModel(): void {
    this.dropInterpreter();
    this.dropBatch();
    if (this.modelBlock) this.memory.heap(this.modelBlock.placement)?.release(this.modelBlock.address);
    this.modelBlock = null;
    this.modelBuffer = null;
    this.modelHash = null;
    this.modelReceived = 0;
    this.model = null;
    this.modelPlacement = 'none';
    this.state = 'idle';
  }

  private dropBatch(): void {
    if (this.batch) this.memory.heap(this.batch.placement)?.release(this.batch.address);
    this.batch = null;
  }

  private onModelBegin(sink: FrameSink, id: number, size: number, sha256: string, destination: Placement): void {
    this.dropModel();
    if (destination !== 'internal' && destination !== 'psram') {
      this.error(sink, id, 'BAD_ARGUMENT', 0, `MODEL_BEGIN destination must be internal or psram, not ${destination}`);
      return;
    }
    if (size === 0) {
      this.error(sink, id, 'BAD_ARGUMENT', 0, 'MODEL_BEGIN size is 0');
      return;
    }
    if (destination === 'psram' && this.identity.psramBytes === 0) {
      this.error(sink, id, 'MODEL_TOO_LARGE', 0, 'this board has no PSRAM: upload the model to internal RAM');
      return;
    }
    const heap = this.memory.heap(destination)!;
    const address = heap.allocate(size, 'model');
    if (address === null) {
      const fits = largestAlignedAllocation(heap.largestFree);
      this.error(sink, id, 'MODEL_TOO_LARGE', fits, `a ${size}-byte model does not fit in ${destination} RAM (largest block that fits: ${fits} bytes)`);
      return;
    }
    this.modelBlock = { address, placement: destination };
    this.modelBuffer = new Uint8Array(size);
    this.modelHash = createHash('sha256');
    this.modelReceived = 0;
    this.expectedSha = sha256;
    this.modelPlacement = destination;
    this.state = 'receiving model';
    this.reply(sink, id, { type: 'chunk_ack', nextOffset: 0 });
  }

  private onModelChunk(sink: FrameSink, id: number, offset: number, data: Uint8Array): void {
    if (this.state !== 'receiving model' || !this.modelBuffer) return this.badState(sink, id, 'MODEL_CHUNK');
    if (offset !== this.modelReceived) {
      this.error(sink, id, 'BAD_OFFSET', this.modelReceived, `MODEL_CHUNK at offset ${offset}, the board expects offset ${this.modelReceived}`);
      return;
    }
    if (offset + data.length > this.modelBuffer.length) {
      this.error(sink, id, 'BAD_ARGUMENT', 0, `MODEL_CHUNK of ${data.length} bytes at offset ${offset} passes the model's ${this.modelBuffer.length} bytes`);
      return;
    }
    this.modelBuffer.set(data, offset);
    this.modelHash!.update(data);
    this.modelReceived += data.length;
    this.reply(sink, id, { type: 'chunk_ack', nextOffset: this.modelReceived });
  }

  private onModelEnd(sink: FrameSink, id: number): void {
    if (this.state !== 'receiving model' || !this.modelBuffer) return this.badState(sink, id, 'MODEL_END');
    const size = this.modelBuffer.length;
    if (this.modelReceived !== size) {
      this.error(sink, id, 'BAD_STATE', this.modelReceived, `MODEL_END after ${this.modelReceived} of ${size} bytes: send the rest first`);
      return;
    }
    const digest = this.modelHash!.digest('hex');
    if (digest !== this.expectedSha.toLowerCase()) {
      this.dropModel();
      this.error(sink, id, 'MODEL_SHA_MISMATCH', 0, `the ${size} bytes received hash to ${digest}, not the SHA-256 of MODEL_BEGIN: upload the model again`);
      return;
    }
    const buffer = this.modelBuffer;
    if (!hasTfliteIdentifier(buffer)) {
      this.dropModel();
      this.error(sink, id, 'MODEL_INVALID', 0, 'the model has no TFL3 file identifier: not a .tflite file');
      return;
    }
    this.model = buffer;
    this.modelHash = null;
    this.state = 'model ready';
    this.log('I', 'hil', `model of ${size} bytes uploaded to ${this.modelPlacement}, sha256 ${digest.slice(0, 16)}...`);
    this.reply(sink, id, { type: 'model_ready', size, sha256: digest, source: 'upload', placement: this.modelPlacement });
  }

  private async onSelectPartition(sink: FrameSink, id: number): Promise<void> {
    this.dropModel();
    const partition = this.partitions.find((p) => p.type === 0x01 && p.subtype === 0x40 && p.label === 'model');
    if (!partition) {
      this.error(sink, id, 'MODEL_PARTITION_EMPTY', 0, 'this board has no `model` data partition (flash a build whose partitions.csv has one)');
      return;
    }
    const header = this.flash.read(partition.offset, 64);
    if (partition.size < 64 || Buffer.from(header.subarray(0, 8)).toString('latin1') !== 'HILMODEL') {
      this.error(sink, id, 'MODEL_PARTITION_EMPTY', 0, 'the model partition holds no model image (no HILMODEL header): write one with the flasher');
      return;
    }
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const size = view.getUint32(8, true);
    if (size === 0 || size > partition.size - 64) {
      this.error(sink, id, 'MODEL_INVALID', 0, `the model image header gives a size of 0 or more than the ${partition.size}-byte partition holds`);
      return;
    }
    const model = this.flash.read(partition.offset + 64, size);
    await this.spend(COST_US.partitionPerByte * size);
    const digest = createHash('sha256').update(model).digest('hex');
    const expected = Buffer.from(header.subarray(32, 64)).toString('hex');
    if (digest !== expected) {
      this.error(sink, id, 'MODEL_INVALID', 0, `the model in the partition hashes to ${digest}, not the SHA-256 in its header: flash the image again`);
      return;
    }
    if (!hasTfliteIdentifier(model)) {
      this.error(sink, id, 'MODEL_INVALID', 0, 'the model in the partition has no TFL3 file identifier');
      return;
    }
    this.model = model;
    this.modelPlacement = 'flash';
    this.state = 'model ready';
    this.log('I', 'hil', `model of ${size} bytes mapped from partition "model" at 0x${partition.offset.toString(16)}`);
    this.reply(sink, id, { type: 'model_ready', size, sha256: digest, source: 'partition', placement: 'flash' });
  }

  // ------------------------------------------------------------------------------------ arena

  private costContext(arenaPlacement: 'internal' | 'psram'): CostContext {
    return {
      kernelBackend: this.variant.kernelBackend,
      espNnVersion: this.variant.espNnVersion,
      cpuMhz: this.variant.cpuMhz,
      arenaPlacement,
      modelPlacement: this.modelPlacement === 'psram' ? 'psram' : this.modelPlacement === 'flash' ? 'flash' : 'internal',
      psramMode: this.identity.psramMode,
    };
  }

  private async onArenaConfig(sink: FrameSink, id: number, size: number, placement: Placement): Promise<void> {
    if (this.state !== 'model ready' && this.state !== 'ready') return this.badState(sink, id, 'ARENA_CONFIG');
    this.dropInterpreter(); // frees the previous arena first
    if (placement !== 'internal' && placement !== 'psram') {
      this.error(sink, id, 'BAD_ARGUMENT', 0, `the arena goes to internal or psram, not ${placement}`);
      return;
    }
    if (size === 0) {
      this.error(sink, id, 'BAD_ARGUMENT', 0, 'ARENA_CONFIG size is 0');
      return;
    }
    if (placement === 'psram' && this.identity.psramBytes === 0) {
      this.error(sink, id, 'OUT_OF_MEMORY', 0, 'this board has no PSRAM: put the arena in internal RAM');
      return;
    }
    const heap = this.memory.heap(placement)!;
    const address = heap.allocate(size, 'tensor arena');
    if (address === null) {
      const largest = heap.largestFree;
      this.error(sink, id, 'OUT_OF_MEMORY', largest,
        `no ${size}-byte block in ${placement} RAM for the arena (largest free block: ${largest} bytes, an arena of ${largestAlignedAllocation(largest)} fits)`);
      return;
    }
    const model = this.model!;
    const result = SimModelRunner.prepare(model, size, this.costContext(placement));
    const ops = result.ok ? result.runner.profile.operators.length : 0;
    await this.spend(COST_US.allocatePerModelByte * model.length + COST_US.allocatePerOperator * ops);
    if (!result.ok) {
      heap.release(address);
      if (result.code === 'ARENA_TOO_SMALL') {
        // What TFLM's allocator prints before AllocateTensors() fails (micro_allocator.cc).
        this.log('E', 'tflm', `Failed to allocate tail memory. Requested: ${result.arg - size}, available 0, missing: ${result.arg - size}`);
        this.log('E', 'tflm', 'Failed starting model allocation.');
      }
      this.error(sink, id, result.code, result.arg, result.message);
      return;
    }
    this.arena = { address, size, placement };
    this.runner = result.runner;
    this.sinceAllocate = 0;
    this.state = 'ready';
    const r = result.runner;
    this.log('I', 'hil', `arena of ${size} bytes in ${placement}: ${r.need.bytes} used, ${r.inputs.length} input(s), ${r.outputs.length} output(s)`);
    this.reply(sink, id, { type: 'arena_ready', size, placement, used: r.need.bytes, inputs: r.inputs, outputs: r.outputs });
  }

  // ------------------------------------------------------------------------------------ tensors

  private onSetInput(sink: FrameSink, id: number, tensor: number, offset: number, data: Uint8Array): void {
    if (this.state !== 'ready' || !this.runner) return this.badState(sink, id, 'SET_INPUT');
    const r = this.runner;
    if (tensor >= r.inputs.length) {
      this.error(sink, id, 'BAD_TENSOR', tensor, `the model has ${r.inputs.length} inputs, no input ${tensor}`);
      return;
    }
    const buffer = r.inputData[tensor]!;
    if (offset > buffer.length || data.length > buffer.length - offset) {
      this.error(sink, id, 'BAD_TENSOR', tensor, `${data.length} bytes at offset ${offset} pass the end of input ${tensor} (${buffer.length} bytes)`);
      return;
    }
    buffer.set(data, offset);
    this.reply(sink, id, { type: 'chunk_ack', nextOffset: offset + data.length });
  }

  private onGetOutput(sink: FrameSink, id: number, tensor: number, offset: number, length: number): void {
    if (this.state !== 'ready' || !this.runner) return this.badState(sink, id, 'GET_OUTPUT');
    const r = this.runner;
    if (tensor >= r.outputs.length) {
      this.error(sink, id, 'BAD_TENSOR', tensor, `the model has ${r.outputs.length} outputs, no output ${tensor}`);
      return;
    }
    const data = r.output(tensor);
    const total = data.length;
    const len = length === 0xffffffff ? (offset <= total ? total - offset : 0) : length;
    if (offset > total || len > total - offset) {
      this.error(sink, id, 'BAD_TENSOR', tensor, `bytes ${offset}..${offset + len} pass the end of output ${tensor} (${total} bytes)`);
      return;
    }
    const end = offset + len;
    let at = offset;
    do {
      const n = Math.min(OUTPUT_DATA_PER_FRAME, end - at);
      const body: MessageBody = { type: 'output_data', tensor, offset: at, total, data: data.subarray(at, at + n) };
      at += n;
      if (at < end) this.partial(sink, id, body);
      else this.reply(sink, id, body);
    } while (at < end);
  }

  // ------------------------------------------------------------------------------------ invoke

  /** One inference: real outputs (cached per input), simulated cycles, board time spent. */
  private async runInference(): Promise<number> {
    const r = this.runner!;
    const before = r.computed;
    r.invoke();
    if (r.computed > before) this.stats.hostInferences++;
    this.stats.inferences++;
    const cycles = this.noise.inference(r.cost.cycles, this.variant.cpuMhz, this.sinceAllocate++);
    await this.spend(cycles / this.variant.cpuMhz + COST_US.perInference);
    if (!this.host.afterInference()) throw new Stopped();
    return cycles;
  }

  private async onInvoke(sink: FrameSink, id: number, warmup: number, measured: number, profile: boolean): Promise<void> {
    if (this.state !== 'ready' || !this.runner) return this.badState(sink, id, 'INVOKE');
    const mhz = this.variant.cpuMhz;
    let cycles: number[] = [];
    let first = 0;
    let lastFrameUs = this.clock.nowUs();
    let lastFrameWall = performance.now();
    const flush = (): void => {
      this.partial(sink, id, { type: 'invoke_cycles', first, cycles });
      first += cycles.length;
      cycles = [];
      lastFrameUs = this.clock.nowUs();
      lastFrameWall = performance.now();
    };
    // At least one frame per second of board time, and of wall time when the simulation runs slower.
    const progressDue = (): boolean => this.clock.nowUs() - lastFrameUs >= PROGRESS_US || performance.now() - lastFrameWall >= 1000;

    for (let i = 0; i < warmup; i++) {
      await this.inference(sink, id, i, 'warm-up');
      if (progressDue()) flush(); // nothing measured yet: an empty INVOKE_CYCLES says the board is alive
    }
    let total = 0;
    const loopStart = this.clock.nowUs();
    for (let k = 0; k < measured; k++) {
      const c = await this.inference(sink, id, warmup + k, 'measured');
      // The 32-bit cycle counter wraps every 2^32 cycles (17.9 s at 240 MHz): such an interval is reported as 0xFFFFFFFF.
      const reported = c > 0xffffffff ? 0xffffffff : c;
      cycles.push(reported);
      total += reported;
      if (cycles.length === CYCLES_PER_FRAME || progressDue()) flush();
    }
    const wallUs = Math.round(this.clock.nowUs() - loopStart);
    if (cycles.length > 0) flush();

    if (profile) {
      const r = this.runner;
      const names = r.operatorNames();
      const perOp = r.cost.ops.map((o) => this.noise.operator(o.cycles) + PROFILER_CYCLES);
      r.invoke();
      this.stats.inferences++;
      await this.spend(perOp.reduce((n, c) => n + c, 0) / mhz);
      if (!this.host.afterInference()) throw new Stopped();
      const entries: ProfileEntry[] = perOp.map((c, i) => ({ opIndex: i, cycles: Math.min(c, 0xffffffff), name: names[i] ?? 'UNKNOWN' }));
      let next = 0;
      while (next < entries.length) {
        let bytes = 2;
        const batch: ProfileEntry[] = [];
        while (next + batch.length < entries.length && batch.length < PROFILE_ENTRIES_PER_FRAME) {
          const e = entries[next + batch.length]!;
          const size = 2 + 4 + 1 + Math.min(255, Buffer.byteLength(e.name));
          if (bytes + size > MAX_PAYLOAD) break;
          batch.push(e);
          bytes += size;
        }
        this.partial(sink, id, { type: 'invoke_profile', entries: batch });
        next += batch.length;
      }
    }
    this.reply(sink, id, { type: 'invoke_result', warmup, measured, cpuMhz: mhz, totalCycles: total, wallUs });
  }

  private async inference(sink: FrameSink, id: number, index: number, what: string): Promise<number> {
    try {
      return await this.runInference();
    } catch (e) {
      if (e instanceof Stopped) throw e;
      this.host.trace?.(`Invoke() failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      this.error(sink, id, 'INVOKE_FAILED', index, `Invoke() failed in ${what} inference ${index}`);
      throw new Stopped();
    }
  }

  // ------------------------------------------------------------------------------------ accuracy

  private onAccuracyBegin(sink: FrameSink, id: number, samples: number, sampleBytes: number): void {
    if (this.state !== 'ready' || !this.runner) return this.badState(sink, id, 'ACCURACY_BEGIN');
    this.dropBatch();
    const r = this.runner;
    const expected = r.inputs.reduce((n, t) => n + t.bytes, 0);
    if (sampleBytes !== expected) {
      this.error(sink, id, 'BAD_ARGUMENT', 0, `sample_bytes ${sampleBytes} differs from the model's inputs, ${expected} bytes together`);
      return;
    }
    if (samples === 0) {
      this.error(sink, id, 'BAD_ARGUMENT', 0, 'ACCURACY_BEGIN with 0 samples');
      return;
    }
    const total = samples * sampleBytes;
    const totalOutput = samples * r.outputs.reduce((n, t) => n + t.bytes, 0);
    const placement: Placement = this.identity.psramBytes > 0 ? 'psram' : 'internal';
    const heap = this.memory.heap(placement)!;
    const fits = largestAlignedAllocation(heap.largestFree);
    const fitsBatch = sampleBytes > 0 ? Math.floor(fits / sampleBytes) * sampleBytes : 0;
    const address = total > 0xffffffff || totalOutput > 0xffffffff ? null : heap.allocate(total, 'accuracy batch');
    if (address === null) {
      this.error(sink, id, 'OUT_OF_MEMORY', fitsBatch,
        `a batch of ${samples} samples (${total} bytes) does not fit in ${placement} RAM: send batches of at most ${fitsBatch} bytes`);
      return;
    }
    this.batch = { address, data: new Uint8Array(total), received: 0, samples, sampleBytes, placement };
    this.reply(sink, id, { type: 'chunk_ack', nextOffset: 0 });
  }

  private onAccuracyInput(sink: FrameSink, id: number, offset: number, data: Uint8Array): void {
    if (this.state !== 'ready' || !this.runner) return this.badState(sink, id, 'ACCURACY_INPUT');
    const b = this.batch;
    if (!b) {
      this.error(sink, id, 'BAD_STATE', 0, 'ACCURACY_INPUT before ACCURACY_BEGIN');
      return;
    }
    if (offset !== b.received) {
      this.error(sink, id, 'BAD_OFFSET', b.received, `ACCURACY_INPUT at offset ${offset}, the board expects offset ${b.received}`);
      return;
    }
    if (offset + data.length > b.data.length) {
      this.error(sink, id, 'BAD_ARGUMENT', 0, `ACCURACY_INPUT of ${data.length} bytes at offset ${offset} passes the batch's ${b.data.length} bytes`);
      return;
    }
    b.data.set(data, offset);
    b.received += data.length;
    this.reply(sink, id, { type: 'chunk_ack', nextOffset: b.received });
  }

  private async onAccuracyRun(sink: FrameSink, id: number): Promise<void> {
    if (this.state !== 'ready' || !this.runner) return this.badState(sink, id, 'ACCURACY_RUN');
    const b = this.batch;
    if (!b || b.received !== b.data.length) {
      const received = b?.received ?? 0;
      this.error(sink, id, 'BAD_STATE', received, `ACCURACY_RUN with ${received} of ${b?.data.length ?? 0} batch bytes received`);
      return;
    }
    const r = this.runner;
    const perSample = r.outputs.reduce((n, t) => n + t.bytes, 0);
    const total = b.samples * perSample;
    let streamOffset = 0;
    let stage: Uint8Array[] = [];
    let staged = 0;
    let lastFrameUs = this.clock.nowUs();
    let lastFrameWall = performance.now();
    const flush = (): void => {
      const data = Buffer.concat(stage);
      this.partial(sink, id, { type: 'accuracy_output', offset: streamOffset, total, data });
      streamOffset += data.length;
      stage = [];
      staged = 0;
      lastFrameUs = this.clock.nowUs();
      lastFrameWall = performance.now();
    };
    for (let s = 0; s < b.samples; s++) {
      let from = s * b.sampleBytes;
      r.inputs.forEach((t, i) => {
        r.inputData[i]!.set(b.data.subarray(from, from + t.bytes));
        from += t.bytes;
      });
      await this.inference(sink, id, s, 'sample');
      for (let o = 0; o < r.outputs.length; o++) {
        let data = r.output(o);
        while (data.length > 0) {
          const n = Math.min(ACCURACY_DATA_PER_FRAME - staged, data.length);
          stage.push(data.subarray(0, n));
          staged += n;
          data = data.subarray(n);
          if (staged === ACCURACY_DATA_PER_FRAME) flush();
        }
      }
      if (staged > 0 && (this.clock.nowUs() - lastFrameUs >= PROGRESS_US || performance.now() - lastFrameWall >= 1000)) flush();
    }
    if (staged > 0) flush();
    this.reply(sink, id, { type: 'accuracy_result', samples: b.samples, outputBytes: perSample });
  }
}

/** The message type's name as PROTOCOL.md writes it (MODEL_CHUNK), for messages. */
function typeName(code: number): string {
  const entry = Object.entries(MessageType).find(([, v]) => v === code);
  return entry ? entry[0] : `0x${hex2(code)}`;
}

/** A TFLite flatbuffer: file identifier "TFL3" at offset 4 (tensorflow/lite/schema/schema.fbs). */
function hasTfliteIdentifier(model: Uint8Array): boolean {
  return model.length >= 8 && model[4] === 0x54 && model[5] === 0x46 && model[6] === 0x4c && model[7] === 0x33;
}
