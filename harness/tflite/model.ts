/**
 * The in-memory model graph every part of the model toolkit shares: the reader produces it from a
 * `.tflite` file, the writer turns it back into one, the interpreter runs it, the arena planner and
 * the profiler size it, and the quantizer rewrites it.
 *
 * It mirrors the TFLite FlatBuffers schema (Model -> SubGraph -> Tensor / Operator, buffers held by
 * the model), with enums turned into names so code and error messages read in the lab's words.
 * Field meanings follow `schema.fbs` (tensorflow/tflite-micro @ 90b983c2); see FACTS.md.
 */

/** Element types the lab reads. Types the schema has but the lab never runs keep their schema name. */
export type TensorType =
  | 'float32' | 'float16' | 'int32' | 'uint8' | 'int64' | 'string' | 'bool' | 'int16'
  | 'complex64' | 'int8' | 'float64' | 'complex128' | 'uint64' | 'resource' | 'variant'
  | 'uint32' | 'uint16' | 'int4' | 'bfloat16';

/** Fused activation of an operator (schema `ActivationFunctionType`). */
export type FusedActivation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';

export type Padding = 'SAME' | 'VALID';

/** Quantization of one tensor: real = (q - zeroPoint[c]) * scale[c], c along `quantizedDimension`. */
export interface Quantization {
  /** One entry per tensor (per-tensor) or one per channel of `quantizedDimension` (per-channel). */
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
  /** Calibration range, when the converter recorded it. */
  min?: number[];
  max?: number[];
}

export interface Tensor {
  /** Index in its subgraph's tensor list. */
  index: number;
  name: string;
  type: TensorType;
  shape: number[];
  /** Shape with -1 for dynamic dimensions, when the file has one. */
  shapeSignature?: number[];
  /** Index into `Model.buffers`; buffer 0 is the empty sentinel. */
  buffer: number;
  quantization: Quantization | null;
  isVariable: boolean;
}

/** Builtin options the lab understands, keyed by the operator that carries them. */
export interface Conv2DOptions {
  padding: Padding; strideW: number; strideH: number;
  dilationW: number; dilationH: number; fusedActivation: FusedActivation;
}
export interface DepthwiseConv2DOptions extends Conv2DOptions { depthMultiplier: number }
export interface Pool2DOptions {
  padding: Padding; strideW: number; strideH: number;
  filterWidth: number; filterHeight: number; fusedActivation: FusedActivation;
}
export interface FullyConnectedOptions {
  fusedActivation: FusedActivation; keepNumDims: boolean;
  /** 'DEFAULT' or 'SHUFFLED4x16INT8'; only DEFAULT is supported by the interpreter. */
  weightsFormat: 'DEFAULT' | 'SHUFFLED4x16INT8';
  asymmetricQuantizeInputs: boolean;
}
export interface ElementwiseOptions { fusedActivation: FusedActivation }
export interface ReshapeOptions { newShape: number[] | null }
export interface SqueezeOptions { squeezeDims: number[] }
export interface SoftmaxOptions { beta: number }
export interface ConcatenationOptions { axis: number; fusedActivation: FusedActivation }
export interface LeakyReluOptions { alpha: number }
export interface ReducerOptions { keepDims: boolean }

export type OperatorOptions =
  | { kind: 'Conv2D'; value: Conv2DOptions }
  | { kind: 'DepthwiseConv2D'; value: DepthwiseConv2DOptions }
  | { kind: 'Pool2D'; value: Pool2DOptions }
  | { kind: 'FullyConnected'; value: FullyConnectedOptions }
  | { kind: 'Elementwise'; value: ElementwiseOptions }
  | { kind: 'Reshape'; value: ReshapeOptions }
  | { kind: 'Squeeze'; value: SqueezeOptions }
  | { kind: 'Softmax'; value: SoftmaxOptions }
  | { kind: 'Concatenation'; value: ConcatenationOptions }
  | { kind: 'LeakyRelu'; value: LeakyReluOptions }
  | { kind: 'Reducer'; value: ReducerOptions }
  | { kind: 'None' }
  /** Options of an operator the lab does not interpret: kept as raw bytes so the writer can round-trip. */
  | { kind: 'Unknown'; optionsType: number; bytes: Uint8Array | null };

/** One entry of the model's operator-code table. */
export interface OperatorCode {
  /** Builtin name as in the schema (`CONV_2D`), `CUSTOM`, or `BUILTIN_<n>` for codes this reader does not know. */
  builtin: string;
  /** The numeric builtin code (max of deprecated_builtin_code and builtin_code, as TFLite does). */
  builtinCode: number;
  /** Set for CUSTOM operators (e.g. `ethos-u`). */
  customCode: string | null;
  version: number;
}

export interface Operator {
  /** Position in the subgraph's execution order. */
  index: number;
  /** Index into `Model.operatorCodes`. */
  opcodeIndex: number;
  /** Convenience copy of `operatorCodes[opcodeIndex].builtin`. */
  op: string;
  /** Tensor indices; -1 marks an omitted optional input (e.g. no bias). */
  inputs: number[];
  outputs: number[];
  intermediates: number[];
  options: OperatorOptions;
  /** Raw custom options (CUSTOM ops), if any. */
  customOptions: Uint8Array | null;
}

export interface SubGraph {
  name: string;
  tensors: Tensor[];
  inputs: number[];
  outputs: number[];
  operators: Operator[];
}

export interface Metadata { name: string; buffer: number }

export interface Model {
  /** Schema version; the lab only accepts 3. */
  version: number;
  description: string;
  operatorCodes: OperatorCode[];
  subgraphs: SubGraph[];
  /** Raw bytes of every buffer (views into the file where possible); index 0 is empty. */
  buffers: Uint8Array[];
  metadata: Metadata[];
}

/** Bytes per element for the types the lab runs; null for types without a fixed size. */
export function elementSize(type: TensorType): number | null {
  switch (type) {
    case 'float32': case 'int32': case 'uint32': return 4;
    case 'float16': case 'int16': case 'uint16': case 'bfloat16': return 2;
    case 'uint8': case 'int8': case 'bool': return 1;
    case 'int64': case 'uint64': case 'float64': case 'complex64': return 8;
    case 'complex128': return 16;
    default: return null;
  }
}

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes of a tensor's data (types without a fixed size, e.g. int4 or string, count one byte per element as TFLM does for int4). */
export function tensorByteSize(t: Pick<Tensor, 'shape' | 'type'>): number {
  return shapeSize(t.shape) * (elementSize(t.type) ?? 1);
}

/** How the lab names an operator to a user: its builtin name, or `CUSTOM 'code'` for a custom op. */
export function operatorName(model: Pick<Model, 'operatorCodes'>, op: Pick<Operator, 'opcodeIndex' | 'op'>): string {
  const code = model.operatorCodes[op.opcodeIndex];
  if (code?.builtin === 'CUSTOM') return `CUSTOM '${code.customCode ?? ''}'`;
  return code?.builtin ?? op.op;
}
