/**
 * The simulated firmware's TFLM runner: what `TflmRunner::prepare` / `invoke` do on the board
 * (firmware/main/runner_tflm.cpp), with the lab's host interpreter doing the arithmetic so outputs
 * are real (bit-exact with TFLM's reference kernels, and ESP-NN's default path is bit-exact with
 * those - FACTS.md), the arena planner giving `arena_used_bytes()`, and the cost model giving the
 * cycles.
 *
 * Identical inputs give identical outputs, so each distinct input is computed once and its outputs
 * are cached: a benchmark's 1000 measured inferences of one input cost one host inference.
 */
import { createHash } from 'node:crypto';
import { isLabError } from '../../errors.js';
import type { ErrorCodeName, TensorInfo } from '../../protocol/index.js';
import { Interpreter } from '../../tflite/interpreter.js';
import { KERNELS } from '../../tflite/kernels/registry.js';
import { elementSize, operatorName, type Model, type Tensor } from '../../tflite/model.js';
import { planArena } from '../../tflite/planner.js';
import { profileModel, type ModelProfile } from '../../tflite/profile.js';
import { readModel } from '../../tflite/reader.js';
import { modelCost, type CostContext, type ModelCost } from '../cost-model.js';
import { arenaNeed, type ArenaNeed } from './arena.js';

export type RunnerFailure = { ok: false; code: ErrorCodeName; arg: number; message: string };
export type PrepareResult = { ok: true; runner: SimModelRunner } | RunnerFailure;

/** The protocol carries at most this many inputs and outputs (PROTOCOL.md "Arena"). */
const MAX_MODEL_TENSORS = 16;
/** Output cache bounds: distinct inputs kept, and bytes of outputs kept. */
const CACHE_ENTRIES = 256;
const CACHE_BYTES = 32 * 1024 * 1024;

function tensorInfo(t: Tensor): TensorInfo {
  const q = t.quantization;
  const quantized = !!q && q.scale.length > 0;
  return {
    dtype: t.type,
    bytes: t.shape.reduce((n, d) => n * d, 1) * (elementSize(t.type) ?? 1),
    shape: [...t.shape],
    scale: quantized ? q!.scale[0]! : 0,
    zeroPoint: quantized ? q!.zeroPoint[0] ?? 0 : 0,
  };
}

/** A typed view of `bytes` as the tensor's element type (little-endian, like the S3). */
function typedValues(type: Tensor['type'], bytes: Uint8Array): ArrayLike<number> {
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  switch (type) {
    case 'int8': return new Int8Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'float32': return new Float32Array(buf);
    default: return new Uint8Array(buf);
  }
}

export class SimModelRunner {
  readonly model: Model;
  readonly profile: ModelProfile;
  readonly need: ArenaNeed;
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  readonly cost: ModelCost;
  /** Input tensor contents as the board's arena holds them (SET_INPUT writes here). */
  readonly inputData: Uint8Array[];
  private outputData: Uint8Array[];
  private readonly interpreter: Interpreter;
  private readonly inputTensors: readonly Tensor[];
  private readonly cache = new Map<string, Uint8Array[]>();
  private cacheBytes = 0;
  /** Host inferences actually computed (the rest came from the cache). */
  computed = 0;

  private constructor(model: Model, interpreter: Interpreter, profile: ModelProfile, need: ArenaNeed, cost: ModelCost) {
    this.model = model;
    this.interpreter = interpreter;
    this.profile = profile;
    this.need = need;
    this.cost = cost;
    this.inputTensors = interpreter.inputs;
    this.inputs = interpreter.inputs.map(tensorInfo);
    this.outputs = interpreter.outputs.map(tensorInfo);
    this.inputData = this.inputs.map((t) => new Uint8Array(t.bytes));
    this.outputData = this.outputs.map((t) => new Uint8Array(t.bytes));
  }

  /**
   * `AllocateTensors()` for `modelBytes` in an arena of `arenaBytes`: the runner, or the error the
   * firmware answers ARENA_CONFIG with (MODEL_INVALID, UNSUPPORTED_OP, ARENA_TOO_SMALL).
   */
  static prepare(modelBytes: Uint8Array, arenaBytes: number, ctx: CostContext): PrepareResult {
    let model: Model;
    try {
      model = readModel(modelBytes, { source: 'the model' });
    } catch (e) {
      if (!isLabError(e)) throw e;
      return fail('MODEL_INVALID', 0, 'the model is not a valid TFLite flatbuffer');
    }
    if (model.version !== 3) return fail('MODEL_INVALID', 0, `the model has schema version ${model.version}; TFLM reads version 3`);
    // Like runner_tflm.cpp: name the first operator code this firmware does not register.
    for (const code of model.operatorCodes) {
      if (code.builtin === 'CUSTOM' || !KERNELS.has(code.builtin)) {
        const name = code.builtin === 'CUSTOM' ? 'CUSTOM' : code.builtin;
        return fail('UNSUPPORTED_OP', code.builtinCode, `operator ${name} (builtin code ${code.builtinCode}) is not registered in this firmware`);
      }
    }
    let interpreter: Interpreter;
    try {
      interpreter = new Interpreter(model, { source: 'the model' });
    } catch (e) {
      if (!isLabError(e)) throw e;
      return fail('MODEL_INVALID', 0, `AllocateTensors() failed: ${e.message}`);
    }
    const graph = model.subgraphs[0]!;
    if (graph.inputs.length > MAX_MODEL_TENSORS || graph.outputs.length > MAX_MODEL_TENSORS) {
      return fail('MODEL_INVALID', 0, `the model has ${graph.inputs.length} inputs and ${graph.outputs.length} outputs; the protocol carries 16 each`);
    }
    const need = arenaNeed(model, ctx.kernelBackend, planArena(model, { pointerSize: 4 }));
    if (arenaBytes < need.bytes) {
      return fail('ARENA_TOO_SMALL', need.bytes, `AllocateTensors() needs at least ${need.bytes} arena bytes, the arena has ${arenaBytes}`);
    }
    const profile = profileModel(model);
    return { ok: true, runner: new SimModelRunner(model, interpreter, profile, need, modelCost(model, profile, ctx)) };
  }

  /** Operator names in execution order, as TFLM's MicroProfiler tags them. */
  operatorNames(): string[] {
    const graph = this.model.subgraphs[0]!;
    return graph.operators.map((op) => operatorName(this.model, op));
  }

  /** Run one inference on the current inputs (from the cache when these inputs ran before). */
  invoke(): void {
    const key = this.inputKey();
    const hit = this.cache.get(key);
    if (hit) {
      // Refresh its place in the LRU order.
      this.cache.delete(key);
      this.cache.set(key, hit);
      this.outputData = hit;
      return;
    }
    this.inputTensors.forEach((t, i) => this.interpreter.setInput(i, typedValues(t.type, this.inputData[i]!)));
    this.interpreter.invoke();
    this.computed++;
    const outputs = this.outputs.map((_, i) => {
      const typed = this.interpreter.output(i);
      return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    });
    this.remember(key, outputs);
    this.outputData = outputs;
  }

  /** Output `i` after the last inference (zeros before any). */
  output(i: number): Uint8Array {
    return this.outputData[i]!;
  }

  private inputKey(): string {
    const h = createHash('sha1');
    for (const d of this.inputData) h.update(d);
    return h.digest('base64');
  }

  private remember(key: string, outputs: Uint8Array[]): void {
    const bytes = outputs.reduce((n, o) => n + o.length, 0);
    if (bytes > CACHE_BYTES) return;
    this.cache.set(key, outputs);
    this.cacheBytes += bytes;
    while (this.cache.size > CACHE_ENTRIES || this.cacheBytes > CACHE_BYTES) {
      const [oldest, value] = this.cache.entries().next().value as [string, Uint8Array[]];
      this.cache.delete(oldest);
      this.cacheBytes -= value.reduce((n, o) => n + o.length, 0);
    }
  }
}

function fail(code: ErrorCodeName, arg: number, message: string): RunnerFailure {
  return { ok: false, code, arg, message };
}
