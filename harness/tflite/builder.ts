/**
 * `GraphBuilder`: makes small single-subgraph models in code (op test models, edge cases, the
 * example model of `npm start`), with the operator-code table and buffers filled in by `build()`.
 * Pair it with `writeModel` to get a `.tflite` file.
 *
 * ```ts
 * const g = new GraphBuilder();
 * const x = g.addTensor({ name: 'x', type: 'int8', shape: [1, 4], quantization: { scale: 0.5, zeroPoint: -1 } });
 * const w = g.addConstant('int8', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8], { scale: 0.1, zeroPoint: 0 });
 * const y = g.addTensor({ name: 'y', type: 'int8', shape: [1, 2], quantization: { scale: 1, zeroPoint: 0 } });
 * g.addOperator('FULLY_CONNECTED', [x, w, -1], [y]);  // options default per op (see defaultOptions)
 * g.setInputs([x]).setOutputs([y]);
 * const bytes = writeModel(g.build());
 * ```
 *
 * Mistakes here are the calling code's bugs, so they throw plain `Error`s (with a stack).
 */
import { builtinCode, CUSTOM_CODE, SCHEMA_VERSION } from './fb/schema.js';
import {
  shapeSize,
  type Conv2DOptions, type DepthwiseConv2DOptions, type FullyConnectedOptions, type FusedActivation, type Model,
  type Operator, type OperatorCode, type OperatorOptions, type Pool2DOptions, type Quantization, type Tensor,
  type TensorType,
} from './model.js';

/** Quantization in short: a number stands for a one-entry list. */
export interface QuantizationSpec {
  scale: number | number[];
  zeroPoint?: number | number[];
  quantizedDimension?: number;
  min?: number[];
  max?: number[];
}

export interface TensorSpec {
  name?: string;
  type: TensorType;
  shape: number[];
  quantization?: QuantizationSpec | Quantization | null;
  isVariable?: boolean;
  shapeSignature?: number[];
}

export interface OperatorExtras {
  /** Operator version in the operator-code table (default 1; TFLite registers every kernel for version 1). */
  version?: number;
  /** For op 'CUSTOM': the custom op name. */
  customCode?: string;
  customOptions?: Uint8Array;
  intermediates?: number[];
}

/** Options with the schema's defaults filled in, for `addOperator`; float fields rounded to float32 as stored. */
export const options = {
  conv2d: (p: Partial<Conv2DOptions> = {}): OperatorOptions => ({
    kind: 'Conv2D',
    value: { padding: 'VALID', strideW: 1, strideH: 1, dilationW: 1, dilationH: 1, fusedActivation: 'NONE', ...p },
  }),
  depthwiseConv2d: (p: Partial<DepthwiseConv2DOptions> = {}): OperatorOptions => ({
    kind: 'DepthwiseConv2D',
    value: { padding: 'VALID', strideW: 1, strideH: 1, dilationW: 1, dilationH: 1, depthMultiplier: 1, fusedActivation: 'NONE', ...p },
  }),
  pool2d: (p: Partial<Pool2DOptions> & Pick<Pool2DOptions, 'filterWidth' | 'filterHeight'>): OperatorOptions => ({
    kind: 'Pool2D',
    value: { padding: 'VALID', strideW: 1, strideH: 1, fusedActivation: 'NONE', ...p },
  }),
  fullyConnected: (p: Partial<FullyConnectedOptions> = {}): OperatorOptions => ({
    kind: 'FullyConnected',
    value: { fusedActivation: 'NONE', weightsFormat: 'DEFAULT', keepNumDims: false, asymmetricQuantizeInputs: false, ...p },
  }),
  elementwise: (fusedActivation: FusedActivation = 'NONE'): OperatorOptions => ({ kind: 'Elementwise', value: { fusedActivation } }),
  softmax: (beta = 1): OperatorOptions => ({ kind: 'Softmax', value: { beta: Math.fround(beta) } }),
  concatenation: (axis: number, fusedActivation: FusedActivation = 'NONE'): OperatorOptions =>
    ({ kind: 'Concatenation', value: { axis, fusedActivation } }),
  reshape: (newShape: number[] | null = null): OperatorOptions => ({ kind: 'Reshape', value: { newShape } }),
  squeeze: (squeezeDims: number[] = []): OperatorOptions => ({ kind: 'Squeeze', value: { squeezeDims } }),
  reducer: (keepDims = false): OperatorOptions => ({ kind: 'Reducer', value: { keepDims } }),
  leakyRelu: (alpha: number): OperatorOptions => ({ kind: 'LeakyRelu', value: { alpha: Math.fround(alpha) } }),
  none: (): OperatorOptions => ({ kind: 'None' }),
};

/** The options `addOperator` uses when none are given: the schema defaults of the op's options table. */
export function defaultOptions(op: string): OperatorOptions {
  switch (op) {
    case 'CONV_2D': return options.conv2d();
    case 'DEPTHWISE_CONV_2D': return options.depthwiseConv2d();
    case 'FULLY_CONNECTED': return options.fullyConnected();
    case 'ADD': case 'SUB': case 'MUL': case 'DIV': return options.elementwise();
    case 'SOFTMAX': return options.softmax();
    case 'RESHAPE': return options.reshape();
    case 'SQUEEZE': return options.squeeze();
    case 'MEAN': case 'SUM': case 'REDUCE_MAX': case 'REDUCE_MIN': case 'REDUCE_PROD': return options.reducer();
    case 'AVERAGE_POOL_2D': case 'MAX_POOL_2D': case 'L2_POOL_2D':
      throw new Error(`GraphBuilder: ${op} has no default filter size; pass options.pool2d({ filterWidth, filterHeight, ... })`);
    case 'CONCATENATION':
      throw new Error('GraphBuilder: CONCATENATION has no default axis; pass options.concatenation(axis)');
    case 'LEAKY_RELU':
      throw new Error('GraphBuilder: LEAKY_RELU has no default alpha; pass options.leakyRelu(alpha)');
    default: return options.none();
  }
}

function toQuantization(q: QuantizationSpec | Quantization): Quantization {
  const list = (x: number | number[] | undefined, fallback: number[]): number[] =>
    x === undefined ? fallback : typeof x === 'number' ? [x] : [...x];
  // Scales, min and max are float32 in the file: round them now so a built model equals its reading.
  const scale = list(q.scale, []).map(Math.fround);
  const out: Quantization = {
    scale,
    zeroPoint: list(q.zeroPoint, scale.map(() => 0)),
    quantizedDimension: q.quantizedDimension ?? 0,
  };
  if (q.min) out.min = q.min.map(Math.fround);
  if (q.max) out.max = q.max.map(Math.fround);
  return out;
}

const INTEGER_RANGE: Partial<Record<TensorType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1], bool: [0, 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Little-endian bytes of `values` as elements of `type`. */
export function encodeTensorData(type: TensorType, values: ArrayLike<number>): Uint8Array {
  const range = INTEGER_RANGE[type];
  if (range) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v < range[0] || v > range[1]) {
        throw new Error(`GraphBuilder: value ${v} at index ${i} is not a ${type}`);
      }
    }
  }
  // Typed arrays are little-endian on every platform the lab runs on (x86-64, arm64), as TFLite expects.
  const view = ((): ArrayBufferView => {
    switch (type) {
      case 'float32': return Float32Array.from(values);
      case 'float64': return Float64Array.from(values);
      case 'int8': return Int8Array.from(values);
      case 'uint8': case 'bool': return Uint8Array.from(values);
      case 'int16': return Int16Array.from(values);
      case 'uint16': return Uint16Array.from(values);
      case 'int32': return Int32Array.from(values);
      case 'uint32': return Uint32Array.from(values);
      case 'int64': return BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
      default: throw new Error(`GraphBuilder: cannot encode constant data of type ${type}`);
    }
  })();
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

export class GraphBuilder {
  private readonly tensors: Tensor[] = [];
  private readonly data = new Map<number, Uint8Array>();
  private readonly operators: { op: string; inputs: number[]; outputs: number[]; options: OperatorOptions; extras: OperatorExtras }[] = [];
  private inputs: number[] = [];
  private outputs: number[] = [];

  constructor(private readonly meta: { name?: string; description?: string } = {}) {}

  /** Adds a tensor and returns its index. */
  addTensor(spec: TensorSpec): number {
    const index = this.tensors.length;
    if (spec.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`GraphBuilder: tensor ${index} shape [${spec.shape.join(', ')}] must hold sizes >= 0`);
    }
    const tensor: Tensor = {
      index,
      name: spec.name ?? `t${index}`,
      type: spec.type,
      shape: [...spec.shape],
      buffer: 0,
      quantization: spec.quantization ? toQuantization(spec.quantization) : null,
      isVariable: spec.isVariable ?? false,
    };
    if (spec.shapeSignature) tensor.shapeSignature = [...spec.shapeSignature];
    this.tensors.push(tensor);
    return index;
  }

  /** Adds a constant tensor holding `values` (element values, encoded as `type`); returns its index. */
  addConstant(type: TensorType, shape: number[], values: ArrayLike<number>, quantization?: QuantizationSpec | Quantization | null, name?: string): number {
    if (values.length !== shapeSize(shape)) {
      throw new Error(`GraphBuilder: constant of shape [${shape.join(', ')}] needs ${shapeSize(shape)} values, got ${values.length}`);
    }
    const data = encodeTensorData(type, values);
    const index = this.addTensor({ name: name ?? `const${this.tensors.length}`, type, shape, quantization: quantization ?? null });
    this.data.set(index, data);
    return index;
  }

  /** Adds an operator (`op` is a builtin name such as 'CONV_2D', or 'CUSTOM'); returns its index. */
  addOperator(op: string, inputs: number[], outputs: number[], opOptions?: OperatorOptions, extras: OperatorExtras = {}): number {
    if (builtinCode(op) === null) throw new Error(`GraphBuilder: '${op}' is not a TFLite builtin operator`);
    if ((op === 'CUSTOM') !== (extras.customCode !== undefined)) {
      throw new Error('GraphBuilder: a CUSTOM operator needs extras.customCode, and only a CUSTOM operator has one');
    }
    this.operators.push({ op, inputs: [...inputs], outputs: [...outputs], options: opOptions ?? defaultOptions(op), extras });
    return this.operators.length - 1;
  }

  setInputs(indices: number[]): this {
    this.inputs = [...indices];
    return this;
  }

  setOutputs(indices: number[]): this {
    this.outputs = [...indices];
    return this;
  }

  build(): Model {
    const n = this.tensors.length;
    const check = (list: number[], what: string, allowOmitted: boolean): void => {
      for (const i of list) {
        if (!(Number.isInteger(i) && ((i >= 0 && i < n) || (allowOmitted && i === -1)))) {
          throw new Error(`GraphBuilder: ${what} refers to tensor ${i} but there are ${n} tensors`);
        }
      }
    };
    check(this.inputs, 'the inputs', false);
    check(this.outputs, 'the outputs', false);

    const buffers: Uint8Array[] = [new Uint8Array(0)]; // buffer 0: the empty sentinel
    const tensors = this.tensors.map((t): Tensor => {
      const data = this.data.get(t.index);
      const copy: Tensor = { ...t, shape: [...t.shape], quantization: t.quantization && toQuantization(t.quantization) };
      if (data) {
        copy.buffer = buffers.length;
        buffers.push(data);
      }
      return copy;
    });

    const operatorCodes: OperatorCode[] = [];
    const operators = this.operators.map((o, index): Operator => {
      check(o.inputs, `operator ${index} (${o.op}) inputs`, true);
      check(o.outputs, `operator ${index} (${o.op}) outputs`, false);
      check(o.extras.intermediates ?? [], `operator ${index} (${o.op}) intermediates`, false);
      const code: OperatorCode = {
        builtin: o.op,
        builtinCode: builtinCode(o.op) ?? CUSTOM_CODE,
        customCode: o.extras.customCode ?? null,
        version: o.extras.version ?? 1,
      };
      let opcodeIndex = operatorCodes.findIndex((c) =>
        c.builtin === code.builtin && c.customCode === code.customCode && c.version === code.version);
      if (opcodeIndex < 0) opcodeIndex = operatorCodes.push(code) - 1;
      return {
        index,
        opcodeIndex,
        op: o.op,
        inputs: [...o.inputs],
        outputs: [...o.outputs],
        intermediates: [...(o.extras.intermediates ?? [])],
        options: o.options,
        customOptions: o.extras.customOptions ?? null,
      };
    });

    return {
      version: SCHEMA_VERSION,
      description: this.meta.description ?? 'Made by the lab (harness/tflite/builder.ts)',
      operatorCodes,
      subgraphs: [{ name: this.meta.name ?? 'main', tensors, inputs: [...this.inputs], outputs: [...this.outputs], operators }],
      buffers,
      metadata: [],
    };
  }
}
