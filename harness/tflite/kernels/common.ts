/**
 * What every kernel sees while it is prepared: the operator, its tensors, their storage, and a way
 * to fail with one clear sentence. Kernels do all their checking and parameter computation in
 * `prepare` (like TFLM's Prepare) and return a closure that only computes (like TFLM's Eval), so
 * `Interpreter.invoke()` does no validation and no allocation.
 */
import { LabError } from '../../errors.js';
import type { Model, Operator, Tensor, TensorType } from '../model.js';
import { shapeSize } from '../model.js';

export type TensorData = Int8Array | Uint8Array | Int16Array | Int32Array | Float32Array;

/** Runs one prepared operator. */
export type KernelRun = () => void;

export interface OpContext {
  readonly source: string;
  readonly model: Model;
  readonly op: Operator;
  /** Input `i` of the operator; fails if it is missing. */
  input(i: number): Tensor;
  /** Input `i`, or null when omitted (index -1 or past the end), e.g. a conv without bias. */
  optionalInput(i: number): Tensor | null;
  output(i: number): Tensor;
  /** Storage of a tensor (constants hold their buffer's values). */
  data(t: Tensor): TensorData;
  isConstant(t: Tensor): boolean;
  /** Throws a LabError naming the file, the operator and the reason. */
  fail(reason: string): never;
}

export type KernelPrepare = (ctx: OpContext) => KernelRun;

export function failUnsupported(source: string, op: Operator, reason: string): never {
  throw new LabError('model-unsupported', `${source}: operator ${op.index} (${op.op}): ${reason}`);
}

export function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Fails unless the tensor has one of the types. */
export function requireType(ctx: OpContext, t: Tensor, role: string, types: readonly TensorType[]): void {
  if (!types.includes(t.type)) {
    return ctx.fail(`${role} tensor '${t.name}' is ${t.type}; supported: ${types.join(' or ')}`);
  }
}

export function requireRank(ctx: OpContext, t: Tensor, role: string, rank: number): void {
  if (t.shape.length !== rank) {
    return ctx.fail(`${role} tensor '${t.name}' has shape ${describeShape(t.shape)}; a ${rank}-D tensor is required`);
  }
}

export function requireSameCount(ctx: OpContext, a: Tensor, b: Tensor): void {
  if (shapeSize(a.shape) !== shapeSize(b.shape)) {
    return ctx.fail(`input ${describeShape(a.shape)} and output ${describeShape(b.shape)} have different element counts`);
  }
}

/** Per-tensor quantization (scale, zero point) of an int8/uint8/int16 tensor; fails if absent. */
export function perTensorQuant(ctx: OpContext, t: Tensor, role: string): { scale: number; zeroPoint: number } {
  const q = t.quantization;
  if (!q || q.scale.length === 0) return ctx.fail(`${role} tensor '${t.name}' (${t.type}) has no quantization parameters`);
  if (q.scale.length !== 1) {
    return ctx.fail(`${role} tensor '${t.name}' has ${q.scale.length} scales; this operator needs per-tensor quantization`);
  }
  checkScales(ctx, t, role);
  return { scale: q.scale[0], zeroPoint: q.zeroPoint[0] ?? 0 };
}

/** Scales must be finite and positive, zero points integers (a damaged file can hold anything). */
export function checkScales(ctx: OpContext, t: Tensor, role: string): void {
  const q = t.quantization;
  if (!q) return;
  const bad = q.scale.findIndex((s) => !Number.isFinite(s) || s <= 0);
  if (bad >= 0) ctx.fail(`${role} tensor '${t.name}' has scale ${q.scale[bad]}; scales must be positive numbers`);
  const badZero = q.zeroPoint.findIndex((z) => !Number.isInteger(z) || Math.abs(z) > 2 ** 31);
  if (badZero >= 0) ctx.fail(`${role} tensor '${t.name}' has zero point ${q.zeroPoint[badZero]}; zero points must be integers`);
}

/** Fails unless every named value is a positive integer (strides, dilations, filter sizes). */
export function requirePositiveIntegers(ctx: OpContext, values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v <= 0) ctx.fail(`${name} is ${v}; a positive integer is required`);
  }
}

/** Largest padded window input (elements) a windowed kernel may allocate: far above any TinyML layer. */
export const MAX_WINDOW_ELEMENTS = 64 * 2 ** 20;

/** Values of a constant int32/int64 tensor (axes, paddings, shapes). */
export function constantInts(ctx: OpContext, t: Tensor, role: string): number[] {
  if (!ctx.isConstant(t)) return ctx.fail(`${role} tensor '${t.name}' must be a constant`);
  const bytes = ctx.model.buffers[t.buffer];
  const count = shapeSize(t.shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  if (t.type === 'int32') {
    for (let i = 0; i < count; i++) out.push(view.getInt32(i * 4, true));
  } else if (t.type === 'int64') {
    for (let i = 0; i < count; i++) out.push(Number(view.getBigInt64(i * 8, true)));
  } else {
    return ctx.fail(`${role} tensor '${t.name}' is ${t.type}; int32 or int64 is required`);
  }
  return out;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Integer range of an integer tensor type. */
export function typeRange(type: TensorType): { min: number; max: number } {
  switch (type) {
    case 'int8': return { min: -128, max: 127 };
    case 'uint8': return { min: 0, max: 255 };
    case 'int16': return { min: -32768, max: 32767 };
    case 'int32': return { min: -2147483648, max: 2147483647 };
    default: throw new Error(`no integer range for ${type}`);
  }
}
