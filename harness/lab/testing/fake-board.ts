/**
 * An in-memory board implementing `LabBoard` for the scheduler's unit tests (CONVENTIONS.md,
 * node-serialport: "a mock implementation of the same interface is what tests use"). It runs the
 * uploaded model with the lab's interpreter, so accuracy passes return real outputs; its latency
 * is a function of the variant with seeded noise; and it misbehaves on cue: hang or reboot on a
 * given INVOKE, answer a board error, refuse to come back after a reset, drift its speed.
 *
 * The end-to-end tests use the simulated ESP32-S3 over real PTYs and MQTT instead (test/e2e).
 */
import { createHash } from 'node:crypto';
import { LabError } from '../../errors.js';
import type { ArenaReady, BoardIdentity, Memory, TensorInfo } from '../../protocol/index.js';
import { createRng } from '../../stats/rng.js';
import { Interpreter } from '../../tflite/interpreter.js';
import { tensorByteSize } from '../../tflite/model.js';
import { planArena } from '../../tflite/planner.js';
import { readModel } from '../../tflite/reader.js';
import type { AccuracyRequest, InvokeOutcome, InvokeRequest, LabBoard } from '../board.js';
import type { LinkKind } from '../events.js';
import { valuesOf } from '../tensor-bytes.js';

export interface FakeBoardOptions {
  id: string;
  variant?: string;
  mac?: string;
  cpuMhz?: number;
  psramBytes?: number;
  link?: LinkKind;
  seed?: number;
  /** Median latency in us of one inference, given the firmware variant and the model's sha256. */
  latencyUs?: (variant: string, modelSha256: string, placement: 'internal' | 'psram') => number;
  /** Relative noise of a sample (default 0.002). */
  noise?: number;
  /** Multiplies every latency (a board drifting from its history). */
  speedFactor?: number;
  /** INVOKE requests (1-based, counted over the board's life) on which the board hangs until reset. */
  hangOnInvoke?: number[];
  /** INVOKE requests on which the board reboots (a brown-out). */
  rebootOnInvoke?: number[];
  /** Hang on every INVOKE from this one on (a board that keeps failing). */
  hangFromInvoke?: number;
  /** A board error for ARENA_CONFIG of this size, e.g. ARENA_TOO_SMALL. */
  arenaError?: (size: number, modelSha256: string) => { name: string; message: string } | undefined;
  /** Connect never answers. */
  dead?: boolean;
  /** After a reset the board reports this MAC (another chip on the port). */
  macAfterReset?: string;
  /** Wall-time delay per inference in ms (default 0). */
  msPerInference?: number;
  /** Called at the start of every INVOKE with its 1-based count (tests stop runs at a known point). */
  onInvoke?: (n: number) => void;
  /** The model in the board's flash `model` partition (MODEL_SELECT_PARTITION); none: MODEL_PARTITION_EMPTY. */
  partitionModel?: Uint8Array;
  /** The HELLO's SIMULATED flag (default true); false as the lab firmware says on a board or in QEMU. */
  simulated?: boolean;
}

export class FakeBoard implements LabBoard {
  readonly id: string;
  readonly link: LinkKind;
  readonly address: string;
  identity: BoardIdentity | undefined;
  /** Counters a test can assert on. */
  readonly calls = { uploads: 0, partitionSelects: 0, invokes: 0, resets: 0, switches: 0, accuracy: 0, connects: 0 };
  private logListeners: Array<(line: string) => void> = [];
  private rebootListeners: Array<(id: BoardIdentity) => void> = [];
  private variant: string;
  private model?: { sha256: string; bytes: Uint8Array };
  private interpreter?: Interpreter;
  private arena?: { size: number; placement: 'internal' | 'psram'; used: number };
  private inputs: Uint8Array[] = [];
  private hung = false;
  private pendingHang?: () => void;
  private readonly rng;
  private bootCount = 0;

  constructor(private readonly o: FakeBoardOptions) {
    this.id = o.id;
    this.link = o.link ?? 'serial';
    this.address = this.link === 'serial' ? `/dev/fake/${o.id}` : `lab/${o.id}`;
    this.variant = o.variant ?? 'esp-nn';
    this.rng = createRng(o.seed ?? 1);
  }

  private boot(mac = this.o.mac ?? `02:00:00:00:00:${(this.o.seed ?? 1).toString(16).padStart(2, '0')}`): BoardIdentity {
    this.bootCount++;
    this.model = undefined;
    this.interpreter = undefined;
    this.arena = undefined;
    this.inputs = [];
    this.hung = false;
    const backend = this.variant === 'reference' ? 'reference' : 'esp-nn';
    this.identity = {
      protocolMin: 1, protocolMax: 1, maxPayload: 4096, rxWindow: 4, simulated: this.o.simulated ?? true, resetReason: this.bootCount === 1 ? 1 : 3,
      cores: 2, chipRevision: 2, cpuMhz: this.o.cpuMhz ?? 240, flashSize: 16 << 20, psramSize: this.o.psramBytes ?? 8 << 20,
      uptimeMs: 0, mac, appSha256: createHash('sha256').update(`app:${this.variant}`).digest('hex'), chip: 'esp32s3',
      variant: this.variant, kernelBackend: backend, appVersion: '0.1.0', projectName: 'hil-bench', idfVersion: 'v5.3.3',
      tflmVersion: '1.3.4', espNnVersion: '1.1.2',
    };
    for (const l of this.logListeners) l(`I (${this.bootCount}) hil: booted ${this.variant}`);
    return this.identity;
  }

  async connect(): Promise<BoardIdentity> {
    this.calls.connects++;
    if (this.o.dead) return new Promise<never>(() => {});
    return this.identity ?? this.boot();
  }

  onLog(listener: (line: string) => void): void { this.logListeners.push(listener); }
  onReboot(listener: (identity: BoardIdentity) => void): void { this.rebootListeners.push(listener); }

  private check(): void {
    if (this.hung) throw new Error('FakeBoard: request to a hung board (the lab must reset it first)');
  }

  async selectPartitionModel(): Promise<{ size: number; sha256: string }> {
    this.check();
    this.calls.partitionSelects++;
    this.interpreter = undefined;
    this.arena = undefined;
    this.model = undefined;
    const bytes = this.o.partitionModel;
    if (!bytes) throw new LabError('board-error:MODEL_PARTITION_EMPTY', `board ${this.id}: MODEL_PARTITION_EMPTY: the model partition holds no model image`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    this.model = { sha256, bytes };
    return { size: bytes.length, sha256 };
  }

  async uploadModel(model: Uint8Array, sha256: string): Promise<void> {
    this.check();
    this.calls.uploads++;
    this.model = { sha256, bytes: model };
    this.interpreter = undefined;
    this.arena = undefined;
  }

  async configureArena(size: number, placement: 'internal' | 'psram'): Promise<ArenaReady> {
    this.check();
    if (!this.model) throw new LabError('board-error:BAD_STATE', `board ${this.id}: BAD_STATE: no model`);
    const err = this.o.arenaError?.(size, this.model.sha256);
    if (err) throw new LabError(`board-error:${err.name}`, `board ${this.id}: ${err.name}: ${err.message}`);
    const model = readModel(this.model.bytes);
    const used = planArena(model, { pointerSize: 4 }).totalBytes;
    if (used > size) throw new LabError('board-error:ARENA_TOO_SMALL', `board ${this.id}: ARENA_TOO_SMALL (bytes needed: ${used})`);
    this.interpreter = new Interpreter(model);
    this.arena = { size, placement, used };
    const info = (t: Interpreter['inputs'][number]): TensorInfo => ({
      dtype: t.type, bytes: tensorByteSize(t), shape: [...t.shape], scale: t.quantization?.scale[0] ?? 0, zeroPoint: t.quantization?.zeroPoint[0] ?? 0,
    });
    this.inputs = this.interpreter.inputs.map((t) => new Uint8Array(tensorByteSize(t)));
    return { type: 'arena_ready', size, placement, used, inputs: this.interpreter.inputs.map(info), outputs: this.interpreter.outputs.map(info) };
  }

  async setInput(tensor: number, data: Uint8Array): Promise<void> {
    this.check();
    if (!this.interpreter) throw new LabError('board-error:BAD_STATE', `board ${this.id}: BAD_STATE: no arena`);
    this.inputs[tensor] = data;
  }

  async invoke(r: InvokeRequest): Promise<InvokeOutcome> {
    this.check();
    this.calls.invokes++;
    const n = this.calls.invokes;
    this.o.onInvoke?.(n);
    if (this.o.hangOnInvoke?.includes(n) || (this.o.hangFromInvoke !== undefined && n >= this.o.hangFromInvoke)) {
      this.hung = true;
      return new Promise<never>((_, reject) => { this.pendingHang = () => reject(new LabError('board-rebooted', `board ${this.id} was reset`)); });
    }
    if (this.o.rebootOnInvoke?.includes(n)) {
      const id = this.boot();
      for (const l of this.logListeners) l('E (12) BROWNOUT: Brownout detector was triggered');
      for (const l of this.rebootListeners) l(id);
      throw new LabError('board-rebooted', `board ${this.id} rebooted during INVOKE (brownout)`);
    }
    if (!this.interpreter || !this.model || !this.arena) throw new LabError('board-error:BAD_STATE', `board ${this.id}: BAD_STATE: no arena`);
    const base = (this.o.latencyUs?.(this.variant, this.model.sha256, this.arena.placement) ?? 1000) * (this.o.speedFactor ?? 1);
    const noise = this.o.noise ?? 0.002;
    const cpu = this.identity!.cpuMhz;
    const cycles = Array.from({ length: r.measured }, () => Math.round(base * cpu * (1 + noise * (this.rng.next() * 2 - 1))));
    if (this.o.msPerInference) await new Promise((res) => setTimeout(res, this.o.msPerInference! * (r.measured + r.warmup)));
    const out: InvokeOutcome = { cycles, cpuMhz: cpu, wallUs: cycles.reduce((a, b) => a + b, 0) / cpu };
    if (r.profile) out.profile = [{ opIndex: 0, cycles: Math.round(base * cpu * 0.7), name: 'CONV_2D' }, { opIndex: 1, cycles: Math.round(base * cpu * 0.3), name: 'FULLY_CONNECTED' }];
    return out;
  }

  async runAccuracy(r: AccuracyRequest): Promise<Uint8Array> {
    this.check();
    this.calls.accuracy++;
    const it = this.interpreter;
    if (!it) throw new LabError('board-error:BAD_STATE', `board ${this.id}: BAD_STATE: no arena`);
    const chunks: Uint8Array[] = [];
    for (let s = 0; s < r.samples; s++) {
      it.setInput(0, valuesOf(it.inputs[0].type, r.data.subarray(s * r.sampleBytes, (s + 1) * r.sampleBytes)));
      it.invoke();
      for (let o = 0; o < it.outputs.length; o++) {
        const out = it.output(o);
        chunks.push(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      }
    }
    return Buffer.concat(chunks);
  }

  async memory(): Promise<Memory> {
    this.check();
    const heap = (total: number) => ({ total, free: Math.floor(total * 0.6), minFree: Math.floor(total * 0.5), largestFree: Math.floor(total * 0.4) });
    return {
      type: 'memory', arenaSize: this.arena?.size ?? 0, arenaUsed: this.arena?.used ?? 0, arenaPlacement: this.arena?.placement ?? 'none',
      modelSize: this.model?.bytes.length ?? 0, modelPlacement: this.model ? 'psram' : 'none', imageSize: 1 << 20,
      internal: heap(400_000), psram: heap(this.identity!.psramSize),
    };
  }

  async reset(): Promise<BoardIdentity> {
    this.calls.resets++;
    this.pendingHang?.();
    this.pendingHang = undefined;
    if (this.o.dead) return new Promise<never>(() => {});
    return this.boot(this.o.macAfterReset);
  }

  async switchVariant(variant: string): Promise<BoardIdentity> {
    this.check();
    this.calls.switches++;
    this.variant = variant;
    return this.boot(this.identity?.mac);
  }

  async close(): Promise<void> {
    this.pendingHang?.();
  }
}
