/**
 * The host reference interpreter: runs a `.tflite` graph the way TensorFlow Lite Micro does with
 * its reference kernels, bit-exact for int8 (see `quant-math.ts` and `kernels/`).
 *
 * Like TFLM's MicroInterpreter it prepares once and then only computes: the constructor checks
 * every operator (unsupported operators are listed together in one LabError), allocates one
 * buffer per tensor, copies the constants, and asks each kernel for a closure with its shapes,
 * padding and quantization parameters already worked out; `invoke()` calls those closures in
 * order, allocating nothing. Only subgraph 0 runs (control flow is not supported).
 */
import { LabError } from '../errors.js';
import type { Model, Operator, SubGraph, Tensor } from './model.js';
import { elementSize, operatorName, shapeSize } from './model.js';
import type { KernelRun, OpContext, TensorData } from './kernels/common.js';
import { failUnsupported, typeRange } from './kernels/common.js';
import { KERNELS, SUPPORTED_OPERATORS } from './kernels/registry.js';

export type { TensorData } from './kernels/common.js';

/** Upper bound on the bytes of all tensors of a graph (TinyML models need a few MB at most). */
const MAX_TENSOR_MEMORY = 1024 * 2 ** 20;

/** Every operator of the main subgraph the interpreter cannot run, with its operator index. */
export function unsupportedOperators(model: Model): { index: number; op: string }[] {
  const graph = model.subgraphs[0];
  if (!graph) return [];
  return graph.operators
    .filter((op) => !KERNELS.has(op.op) || model.operatorCodes[op.opcodeIndex]?.builtin === 'CUSTOM')
    .map((op) => ({ index: op.index, op: operatorName(model, op) }));
}

/** `SVDF (ops 0, 2, 4), CUSTOM 'ethos-u' (op 0)`: grouped by name in order of first use. */
function describeUnsupported(list: { index: number; op: string }[]): string {
  const groups = new Map<string, number[]>();
  for (const { index, op } of list) groups.set(op, [...(groups.get(op) ?? []), index]);
  return [...groups].map(([op, idx]) => `${op} (${idx.length === 1 ? 'op' : 'ops'} ${idx.join(', ')})`).join(', ');
}

function allocate(type: Tensor['type'], count: number): TensorData | null {
  switch (type) {
    case 'int8': return new Int8Array(count);
    case 'uint8': case 'bool': return new Uint8Array(count);
    case 'int16': return new Int16Array(count);
    case 'int32': return new Int32Array(count);
    case 'float32': return new Float32Array(count);
    default: return null;
  }
}

export class Interpreter {
  readonly source: string;
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  private readonly graph: SubGraph;
  private readonly storage: (TensorData | null)[];
  private readonly runs: KernelRun[];

  constructor(model: Model, opts: { source?: string } = {}) {
    this.source = opts.source ?? 'model';
    const graph = model.subgraphs[0];
    if (!graph) throw new LabError('model-format', `${this.source}: the model has no subgraph to run`);
    this.graph = graph;
    const unsupported = unsupportedOperators(model);
    if (unsupported.length > 0) {
      throw new LabError('model-unsupported',
        `${this.source}: unsupported operators: ${describeUnsupported(unsupported)}; ` +
        `the host interpreter runs only ${SUPPORTED_OPERATORS.join(', ')}`);
    }
    this.checkMemory(graph);
    this.storage = graph.tensors.map((t) => this.createStorage(model, t));
    this.inputs = graph.inputs.map((i) => this.tensorAt(i, 'subgraph input'));
    this.outputs = graph.outputs.map((i) => this.tensorAt(i, 'subgraph output'));
    this.runs = graph.operators.map((op) => this.prepare(model, op));
  }

  /** Copies `data` into input `i`, checking its length and (for integer tensors) its range. */
  setInput(i: number, data: ArrayLike<number>): void {
    const t = this.inputs[i];
    if (!t) throw new LabError('model-input', `${this.source}: there is no input ${i}; the model has ${this.inputs.length}`);
    const target = this.storage[t.index];
    if (!target) throw new LabError('model-unsupported', `${this.source}: input ${i} ('${t.name}') is ${t.type}, which the interpreter cannot hold`);
    if (data.length !== target.length) {
      throw new LabError('model-input',
        `${this.source}: input ${i} ('${t.name}') takes ${target.length} ${t.type} values (shape [${t.shape.join(', ')}]), got ${data.length}`);
    }
    if (!(target instanceof Float32Array)) {
      const { min, max } = typeRange(t.type === 'bool' ? 'uint8' : t.type);
      for (let k = 0; k < data.length; k++) {
        const v = data[k];
        if (!Number.isInteger(v) || v < min || v > max) {
          throw new LabError('model-input',
            `${this.source}: input ${i} ('${t.name}') value ${k} is ${v}, outside the ${t.type} range ${min}..${max}`);
        }
      }
    }
    target.set(data);
  }

  invoke(): void {
    const runs = this.runs;
    for (let k = 0; k < runs.length; k++) runs[k]();
  }

  /** A copy of output `i` after `invoke()`. */
  output(i: number): TensorData {
    const t = this.outputs[i];
    if (!t) throw new LabError('model-input', `${this.source}: there is no output ${i}; the model has ${this.outputs.length}`);
    return this.tensorData(t.index);
  }

  /** A copy of any tensor of the subgraph (inputs, constants, intermediates) after `invoke()`. */
  tensorData(tensorIndex: number): TensorData {
    const data = this.storage[tensorIndex];
    if (!data) {
      const t = this.graph.tensors[tensorIndex];
      throw new LabError('model-input', t
        ? `${this.source}: tensor ${tensorIndex} ('${t.name}') is ${t.type}, which the interpreter does not hold`
        : `${this.source}: there is no tensor ${tensorIndex}; the subgraph has ${this.graph.tensors.length}`);
    }
    return data.slice();
  }

  private tensorAt(index: number, role: string): Tensor {
    const t = this.graph.tensors[index];
    if (!t) throw new LabError('model-format', `${this.source}: ${role} refers to tensor ${index}, but the subgraph has ${this.graph.tensors.length}`);
    return t;
  }

  /** A damaged or hostile file must not exhaust memory: refuse graphs whose tensors need more than MAX_TENSOR_MEMORY. */
  private checkMemory(graph: SubGraph): void {
    let bytes = 0;
    for (const t of graph.tensors) {
      if (t.shape.some((d) => !Number.isInteger(d) || d < 0)) continue; // reported by createStorage
      bytes += shapeSize(t.shape) * (elementSize(t.type) ?? 0);
    }
    if (bytes > MAX_TENSOR_MEMORY) {
      throw new LabError('model-unsupported',
        `${this.source}: the tensors need ${(bytes / 2 ** 20).toFixed(0)} MB; the host interpreter holds at most ${MAX_TENSOR_MEMORY / 2 ** 20} MB (is the file damaged?)`);
    }
  }

  private createStorage(model: Model, t: Tensor): TensorData | null {
    if (t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new LabError('model-unsupported', `${this.source}: tensor ${t.index} ('${t.name}') has shape [${t.shape.join(', ')}]; only static shapes are supported`);
    }
    const count = shapeSize(t.shape);
    const data = allocate(t.type, count);
    const bytes = model.buffers[t.buffer];
    if (t.buffer !== 0 && !bytes) {
      throw new LabError('model-format', `${this.source}: tensor ${t.index} ('${t.name}') refers to buffer ${t.buffer}, but the model has ${model.buffers.length}`);
    }
    if (!data || !bytes || bytes.length === 0) return data;
    const size = elementSize(t.type) ?? 1;
    if (bytes.length < count * size) {
      throw new LabError('model-format',
        `${this.source}: tensor ${t.index} ('${t.name}') needs ${count * size} bytes but buffer ${t.buffer} has ${bytes.length}`);
    }
    // Copy (little-endian, like every target) so typed views are aligned whatever the file offset.
    new Uint8Array(data.buffer).set(bytes.subarray(0, count * size));
    return data;
  }

  private prepare(model: Model, op: Operator): KernelRun {
    const source = this.source;
    const graph = this.graph;
    const storage = this.storage;
    const fail = (reason: string): never => failUnsupported(source, op, reason);
    const tensor = (index: number, role: string): Tensor => {
      const t = graph.tensors[index];
      if (!t) return fail(`${role} refers to tensor ${index}, but the subgraph has ${graph.tensors.length}`);
      return t;
    };
    const isConstant = (t: Tensor): boolean => (model.buffers[t.buffer]?.length ?? 0) > 0;
    for (const index of op.outputs) {
      if (index >= 0 && isConstant(tensor(index, 'an output'))) fail(`writes into constant tensor ${index}`);
    }
    const ctx: OpContext = {
      source, model, op, fail, isConstant,
      input: (i) => {
        const index = op.inputs[i];
        if (index === undefined || index < 0) fail(`input ${i} is missing`);
        return tensor(index, `input ${i}`);
      },
      optionalInput: (i) => {
        const index = op.inputs[i];
        return index === undefined || index < 0 ? null : tensor(index, `input ${i}`);
      },
      output: (i) => {
        const index = op.outputs[i];
        if (index === undefined || index < 0) fail(`output ${i} is missing`);
        return tensor(index, `output ${i}`);
      },
      data: (t) => {
        const d = storage[t.index];
        if (!d) return fail(`tensor '${t.name}' is ${t.type}, which this operator cannot use`);
        return d;
      },
    };
    const prepare = KERNELS.get(op.op);
    if (!prepare) return fail('is not supported'); // unreachable: unsupportedOperators() ran first
    return prepare(ctx);
  }
}
