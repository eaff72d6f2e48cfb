/**
 * ADD, SUB and MUL with NumPy-style broadcasting (any rank; TFLM's reference goes to 6-D).
 * Parameters follow tflite-micro `micro/kernels/add_common.cc`, `sub_common.cc`, `mul_common.cc`;
 * arithmetic follows `reference/integer_ops/add.h` (AddFunc), `reference/sub.h` (SubElementwise)
 * and `reference/integer_ops/mul.h` (MulElementwise). Note the one upstream quirk kept here: SUB
 * computes its input/output multipliers in float, ADD in double.
 */
import type { ElementwiseOptions, Tensor } from '../model.js';
import { shapeSize } from '../model.js';
import {
  activationRangeFloat, activationRangeQuantized, multiplyByQuantizedMultiplier,
  multiplyByQuantizedMultiplierSmallerThanOneExp, quantizeMultiplier,
} from '../quant-math.js';
import type { KernelPrepare, OpContext } from './common.js';
import { describeShape, perTensorQuant, requireType, sameShape, stridesOf } from './common.js';

type BinaryOp = 'ADD' | 'SUB' | 'MUL';

/** Broadcast output shape of two shapes, or null if they do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** For each output element, the flat index of the input element it reads (stride 0 on broadcast axes). */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  const strides = outShape.map((d, i) => {
    const k = i - (rank - inShape.length);
    return k < 0 || inShape[k] === 1 ? 0 : inStrides[k];
  });
  const total = shapeSize(outShape);
  const index = new Int32Array(total);
  const counter = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let n = 0; n < total; n++) {
    index[n] = offset;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]++;
      offset += strides[d];
      if (counter[d] < outShape[d]) break;
      offset -= strides[d] * outShape[d];
      counter[d] = 0;
    }
  }
  return index;
}

function elementwiseOptions(ctx: OpContext): ElementwiseOptions {
  const opts = ctx.op.options;
  return opts.kind === 'Elementwise' ? opts.value : { fusedActivation: 'NONE' };
}

/** Builds `run` over the output; `f(outIndex, aIndex, bIndex)` computes one element. */
function loop(
  a: Tensor, b: Tensor, out: Tensor, f: (o: number, i: number, j: number) => void,
): () => void {
  const n = shapeSize(out.shape);
  const aSame = sameShape(a.shape, out.shape);
  const bSame = sameShape(b.shape, out.shape);
  if (aSame && bSame) return () => { for (let i = 0; i < n; i++) f(i, i, i); };
  const ai = aSame ? null : broadcastIndex(a.shape, out.shape);
  const bi = bSame ? null : broadcastIndex(b.shape, out.shape);
  return () => {
    for (let i = 0; i < n; i++) f(i, ai ? ai[i] : i, bi ? bi[i] : i);
  };
}

function prepareBinary(op: BinaryOp): KernelPrepare {
  return (ctx) => {
    const a = ctx.input(0);
    const b = ctx.input(1);
    const out = ctx.output(0);
    requireType(ctx, a, 'input 1', ['int8', 'float32']);
    if (b.type !== a.type || out.type !== a.type) {
      return ctx.fail(`inputs (${a.type}, ${b.type}) and output (${out.type}) must have the same type`);
    }
    const shape = broadcastShape(a.shape, b.shape);
    if (!shape) return ctx.fail(`input shapes ${describeShape(a.shape)} and ${describeShape(b.shape)} do not broadcast`);
    if (!sameShape(shape, out.shape) && shapeSize(shape) !== shapeSize(out.shape)) {
      return ctx.fail(`output shape ${describeShape(out.shape)} is not the broadcast shape ${describeShape(shape)}`);
    }
    // Index with the broadcast shape (the output may be stored with an equivalent shape).
    const outView: Tensor = { ...out, shape };
    const activation = elementwiseOptions(ctx).fusedActivation;
    if (a.type === 'float32') {
      const x = ctx.data(a) as Float32Array;
      const y = ctx.data(b) as Float32Array;
      const z = ctx.data(out) as Float32Array;
      const { min, max } = activationRangeFloat(activation);
      const clamp = (v: number): number => (v < min ? min : v > max ? max : v);
      if (op === 'ADD') return loop(a, b, outView, (o, i, j) => { z[o] = clamp(x[i] + y[j]); });
      if (op === 'SUB') return loop(a, b, outView, (o, i, j) => { z[o] = clamp(x[i] - y[j]); });
      // float32 products are rounded before clamping, like the C float multiply.
      return loop(a, b, outView, (o, i, j) => { z[o] = clamp(Math.fround(x[i] * y[j])); });
    }
    const qa = perTensorQuant(ctx, a, 'input 1');
    const qb = perTensorQuant(ctx, b, 'input 2');
    const qo = perTensorQuant(ctx, out, 'output');
    const { min, max } = activationRangeQuantized(activation, qo.scale, qo.zeroPoint, -128, 127);
    const x = ctx.data(a) as Int8Array;
    const y = ctx.data(b) as Int8Array;
    const z = ctx.data(out) as Int8Array;
    if (op === 'MUL') {
      const m = quantizeMultiplier(qa.scale * qb.scale / qo.scale);
      const aOff = -qa.zeroPoint;
      const bOff = -qb.zeroPoint;
      return loop(a, b, outView, (o, i, j) => {
        let v = qo.zeroPoint + multiplyByQuantizedMultiplier((x[i] + aOff) * (y[j] + bOff), m.multiplier, m.shift);
        v = v < min ? min : v > max ? max : v;
        z[o] = v;
      });
    }
    const p = addSubParams(op, qa.scale, qb.scale, qo.scale);
    if (p.input1.shift > 0 || p.input2.shift > 0 || p.output.shift > 0 || p.output.multiplier <= 0) {
      // QuantizeMultiplierSmallerThanOneExp CHECKs a multiplier in (0, 1): TFLM refuses the model.
      return ctx.fail(`output scale ${qo.scale} is too small for input scales ${qa.scale} and ${qb.scale} (TFLM needs a rescale factor below 1)`);
    }
    const aOff = -qa.zeroPoint;
    const bOff = -qb.zeroPoint;
    const sign = op === 'ADD' ? 1 : -1;
    const scale = (v: number, m: { multiplier: number; shift: number }): number =>
      multiplyByQuantizedMultiplierSmallerThanOneExp(v, m.multiplier, m.shift);
    return loop(a, b, outView, (o, i, j) => {
      const sa = scale((x[i] + aOff) * p.leftShiftFactor, p.input1);
      const sb = scale((y[j] + bOff) * p.leftShiftFactor, p.input2);
      let v = scale((sa + sign * sb) | 0, p.output) + qo.zeroPoint;
      v = v < min ? min : v > max ? max : v;
      z[o] = v;
    });
  };
}

interface AddSubParams {
  leftShiftFactor: number;
  input1: { multiplier: number; shift: number };
  input2: { multiplier: number; shift: number };
  output: { multiplier: number; shift: number };
}

/** add_common.cc / sub_common.cc: left_shift 20 for int8, inputs scaled by 1 / (2 * max scale). */
export function addSubParams(op: 'ADD' | 'SUB', s1: number, s2: number, so: number): AddSubParams {
  const leftShift = 20;
  if (op === 'ADD') {
    const twiceMax = 2 * Math.max(s1, s2);
    return {
      leftShiftFactor: 2 ** leftShift,
      input1: quantizeMultiplier(s1 / twiceMax),
      input2: quantizeMultiplier(s2 / twiceMax),
      output: quantizeMultiplier(twiceMax / (2 ** leftShift * so)),
    };
  }
  // sub_common.cc does these divisions on float values before widening to double.
  const twiceMax = Math.fround(2 * Math.max(s1, s2));
  return {
    leftShiftFactor: 2 ** leftShift,
    input1: quantizeMultiplier(Math.fround(s1 / twiceMax)),
    input2: quantizeMultiplier(Math.fround(s2 / twiceMax)),
    output: quantizeMultiplier(Math.fround(twiceMax / Math.fround(2 ** leftShift * so))),
  };
}

export const prepareAdd = prepareBinary('ADD');
export const prepareSub = prepareBinary('SUB');
export const prepareMul = prepareBinary('MUL');
