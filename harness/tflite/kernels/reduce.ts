/**
 * MEAN. Follows tflite-micro `micro/kernels/reduce_common.cc` (PrepareMeanOrSumHelper:
 * QuantizeMultiplier(in_scale / out_scale)) and `reference/reduce.h` QuantizedMeanOrSum: the int8
 * sum is taken in int32, the zero point removed as `sum - zp * count`, and the 1/count factor is
 * folded into the multiplier: shift = min(floor(log2(count)), 32, 31 + output_shift),
 * multiplier = (multiplier << shift) / count (64-bit), output_shift -= shift.
 * Float: sum / count (reference Mean).
 */
import { shapeSize } from '../model.js';
import { multiplyByQuantizedMultiplier, quantizeMultiplier } from '../quant-math.js';
import type { KernelPrepare } from './common.js';
import { constantInts, describeShape, perTensorQuant, requireType, stridesOf } from './common.js';

export const prepareMean: KernelPrepare = (ctx) => {
  const input = ctx.input(0);
  const output = ctx.output(0);
  requireType(ctx, input, 'input', ['int8', 'float32']);
  if (output.type !== input.type) return ctx.fail(`output type ${output.type} differs from input type ${input.type}`);
  const rank = input.shape.length;
  const reduced = new Set<number>();
  for (const a of constantInts(ctx, ctx.input(1), 'axis')) {
    const axis = a < 0 ? a + rank : a;
    if (axis < 0 || axis >= rank) return ctx.fail(`axis ${a} is out of range for a ${rank}-D input`);
    reduced.add(axis);
  }
  const kept = input.shape.filter((_, d) => !reduced.has(d));
  const outCount = shapeSize(kept);
  if (shapeSize(output.shape) !== outCount) {
    return ctx.fail(`output shape ${describeShape(output.shape)} does not hold the mean of ${describeShape(input.shape)} over axes ${[...reduced].join(', ')}`);
  }
  const count = shapeSize(input.shape) / Math.max(outCount, 1);
  // Output index of every input element (reduced axes have stride 0).
  const keptStrides = stridesOf(kept);
  const strides: number[] = [];
  let k = 0;
  for (let d = 0; d < rank; d++) strides.push(reduced.has(d) ? 0 : keptStrides[k++]);
  const inCount = shapeSize(input.shape);
  const target = new Int32Array(inCount);
  const counter = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < inCount; i++) {
    target[i] = off;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]++;
      off += strides[d];
      if (counter[d] < input.shape[d]) break;
      off -= strides[d] * input.shape[d];
      counter[d] = 0;
    }
  }
  if (input.type === 'float32') {
    const x = ctx.data(input) as Float32Array;
    const y = ctx.data(output) as Float32Array;
    const sums = new Float64Array(outCount);
    return () => {
      sums.fill(0);
      for (let i = 0; i < inCount; i++) sums[target[i]] += x[i];
      if (count > 0) for (let o = 0; o < outCount; o++) y[o] = Math.fround(sums[o]) / count;
    };
  }
  const qi = perTensorQuant(ctx, input, 'input');
  const qo = perTensorQuant(ctx, output, 'output');
  const base = quantizeMultiplier(qi.scale / qo.scale);
  let multiplier = base.multiplier;
  let shift = base.shift;
  if (count > 0) {
    let s = floorLog2(count); // 63 - CountLeadingZeros(uint64 count)
    s = Math.min(s, 32, 31 + shift);
    multiplier = Number((BigInt(multiplier) << BigInt(s)) / BigInt(count));
    shift -= s;
  }
  const x = ctx.data(input) as Int8Array;
  const y = ctx.data(output) as Int8Array;
  const sums = new Int32Array(outCount);
  const zeroTimesCount = Math.imul(qi.zeroPoint, count);
  return () => {
    sums.fill(0);
    for (let i = 0; i < inCount; i++) sums[target[i]] += x[i];
    if (count === 0) return;
    for (let o = 0; o < outCount; o++) {
      const v = multiplyByQuantizedMultiplier((sums[o] - zeroTimesCount) | 0, multiplier, shift) + qo.zeroPoint;
      y[o] = v < -128 ? -128 : v > 127 ? 127 : v;
    }
  };
};

/** floor(log2(n)) of a positive integer, exactly (Math.log2 can round up just below a power of two). */
function floorLog2(n: number): number {
  return n.toString(2).length - 1;
}
