/**
 * CONV_2D. Follows tflite-micro `micro/kernels/conv_common.cc` (Prepare: padding, per-channel
 * multipliers) and `kernels/internal/reference/integer_ops/conv.h` ConvPerChannel (int8) /
 * `reference/conv.h` (float): acc = sum w * (x + input_offset) over in-image taps (+ bias),
 * requantized per output channel, + output_offset, clamped to the fused activation. Grouped
 * convolution (filter depth < input depth) is supported as the reference kernel does.
 */
import { shapeSize, type Conv2DOptions } from '../model.js';
import { multiplyByQuantizedMultiplier, requantize, splitShifts } from '../quant-math.js';
import type { KernelPrepare, KernelRun } from './common.js';
import type { ConvWindowShape } from './conv-params.js';
import { activationRangeFloat, checkBias, convOperands, convWindow, quantizedConvParams, tapOffsets } from './conv-params.js';
import { paddedFloatInput, paddedInt8Input } from './padded-input.js';

export const prepareConv2D: KernelPrepare = (ctx) => {
  const opts = ctx.op.options;
  if (opts.kind !== 'Conv2D') return ctx.fail(`options are ${opts.kind}; Conv2DOptions expected`);
  const o: Conv2DOptions = opts.value;
  const { input, filter, bias, output, kind } = convOperands(ctx);
  const inC = input.shape[3];
  const [outC, fH, fW, fC] = filter.shape;
  if (fC <= 0 || inC % fC !== 0) return ctx.fail(`input depth ${inC} is not a multiple of the filter depth ${fC}`);
  const groups = inC / fC;
  if (outC % groups !== 0) return ctx.fail(`${outC} filters cannot be split into ${groups} groups`);
  checkBias(ctx, bias, outC);
  const { shape: win, geometry } = convWindow(ctx, o, input, output, fH, fW, outC);
  const shape: ConvShape = { ...win, fC, filtersPerGroup: outC / groups };
  if (shapeSize(output.shape) === 0) return () => undefined;
  if (kind === 'int8') {
    const q = quantizedConvParams(ctx, input, filter, output, outC, 0, o.fusedActivation);
    const padded = paddedInt8Input(ctx.data(input) as Int8Array, q.inputOffset, geometry);
    shape.paddedH = padded.paddedHeight;
    shape.paddedW = padded.paddedWidth;
    const biasData = bias ? (ctx.data(bias) as Int32Array) : new Int32Array(outC);
    const w = ctx.data(filter) as Int8Array;
    const out = ctx.data(output) as Int8Array;
    // Constant weights (the normal case) are re-laid out once for the blocked kernel.
    return groups === 1 && ctx.isConstant(filter)
      ? convInt8Blocked(shape, padded.fill, padded.data, blockWeights(w, Int32Array, outC, fH * fW * fC), biasData, q, out)
      : convInt8(shape, padded.fill, padded.data, w, biasData, q, out);
  }
  const range = activationRangeFloat(o.fusedActivation);
  const padded = paddedFloatInput(ctx.data(input) as Float32Array, geometry);
  shape.paddedH = padded.paddedHeight;
  shape.paddedW = padded.paddedWidth;
  const biasData = bias ? (ctx.data(bias) as Float32Array) : new Float32Array(outC);
  const w = ctx.data(filter) as Float32Array;
  const out = ctx.data(output) as Float32Array;
  return groups === 1 && ctx.isConstant(filter)
    ? convFloatBlocked(shape, padded.fill, padded.data, blockWeights(w, Float64Array, outC, fH * fW * fC), biasData, range.min, range.max, out)
    : convFloat(shape, padded.fill, padded.data, w, biasData, range.min, range.max, out);
};

interface ConvShape extends ConvWindowShape {
  fC: number; filtersPerGroup: number;
}

function convInt8(
  s: ConvShape, fill: () => void, x: Int32Array, w: Int8Array, bias: Int32Array,
  q: ReturnType<typeof quantizedConvParams>, out: Int8Array,
): KernelRun {
  const { batches, outH, outW, outC, inC, fC, filtersPerGroup, strideH, strideW, paddedH, paddedW } = s;
  const taps = tapOffsets(s);
  const tapCount = taps.length;
  const filterSize = tapCount * fC;
  const { multipliers, shifts, outputOffset, actMin, actMax } = q;
  return () => {
    fill();
    let o = 0;
    for (let b = 0; b < batches; b++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const base = ((b * paddedH + oy * strideH) * paddedW + ox * strideW) * inC;
          for (let oc = 0; oc < outC; oc++) {
            const groupBase = base + ((oc / filtersPerGroup) | 0) * fC;
            let wi = oc * filterSize;
            // int32 arithmetic that wraps like the C accumulator (Math.imul / | 0), four partial
            // sums to break the dependency chain: integer addition is associative mod 2^32.
            let a0 = 0;
            let a1 = 0;
            let a2 = 0;
            let a3 = 0;
            for (let t = 0; t < tapCount; t++) {
              const p = groupBase + taps[t];
              let ic = 0;
              for (; ic + 3 < fC; ic += 4) {
                a0 = (a0 + Math.imul(w[wi + ic], x[p + ic])) | 0;
                a1 = (a1 + Math.imul(w[wi + ic + 1], x[p + ic + 1])) | 0;
                a2 = (a2 + Math.imul(w[wi + ic + 2], x[p + ic + 2])) | 0;
                a3 = (a3 + Math.imul(w[wi + ic + 3], x[p + ic + 3])) | 0;
              }
              for (; ic < fC; ic++) a0 = (a0 + Math.imul(w[wi + ic], x[p + ic])) | 0;
              wi += fC;
            }
            const acc = (a0 + a1 + a2 + a3 + bias[oc]) | 0;
            let v = multiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + outputOffset;
            v = Math.min(Math.max(v, actMin), actMax);
            out[o++] = v;
          }
        }
      }
    }
  };
}

/** Output channels computed together by the blocked kernels: every input value loaded once feeds four accumulators. */
const BLOCK = 4;

/**
 * Weights [outC][taps * depth] re-laid out as [outC / 4][taps * depth][4] (zero-padded to a whole
 * block), so the blocked kernels read them sequentially.
 */
function blockWeights<T extends Int32Array | Float64Array>(
  w: ArrayLike<number>, Kind: { new (n: number): T }, outC: number, filterSize: number,
): T {
  const blocks = Math.ceil(outC / BLOCK);
  const out = new Kind(blocks * filterSize * BLOCK);
  for (let oc = 0; oc < outC; oc++) {
    const block = (oc / BLOCK) | 0;
    const lane = oc % BLOCK;
    for (let k = 0; k < filterSize; k++) out[(block * filterSize + k) * BLOCK + lane] = w[oc * filterSize + k];
  }
  return out;
}

function convInt8Blocked(
  s: ConvShape, fill: () => void, x: Int32Array, wb: Int32Array, bias: Int32Array,
  q: ReturnType<typeof quantizedConvParams>, out: Int8Array,
): KernelRun {
  const { batches, outH, outW, outC, inC, fC, strideH, strideW, paddedH, paddedW } = s;
  const taps = tapOffsets(s);
  const tapCount = taps.length;
  const blockStride = tapCount * fC * BLOCK;
  const acc = new Int32Array(BLOCK);
  const { multipliers, outputOffset, actMin, actMax } = q;
  const { lefts, rights } = splitShifts(q.shifts);
  return () => {
    fill();
    for (let b = 0; b < batches; b++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const base = ((b * paddedH + oy * strideH) * paddedW + ox * strideW) * inC;
          const o = ((b * outH + oy) * outW + ox) * outC;
          for (let oc0 = 0, j0 = 0; oc0 < outC; oc0 += BLOCK, j0 += blockStride) {
            // int32 arithmetic that wraps like the C accumulator (Math.imul, | 0).
            let a0 = 0;
            let a1 = 0;
            let a2 = 0;
            let a3 = 0;
            let j = j0;
            for (let t = 0; t < tapCount; t++) {
              const p = base + taps[t];
              for (let ic = 0; ic < fC; ic++, j += BLOCK) {
                const xv = x[p + ic];
                a0 = (a0 + Math.imul(wb[j], xv)) | 0;
                a1 = (a1 + Math.imul(wb[j + 1], xv)) | 0;
                a2 = (a2 + Math.imul(wb[j + 2], xv)) | 0;
                a3 = (a3 + Math.imul(wb[j + 3], xv)) | 0;
              }
            }
            acc[0] = a0;
            acc[1] = a1;
            acc[2] = a2;
            acc[3] = a3;
            const n = Math.min(BLOCK, outC - oc0);
            for (let k = 0; k < n; k++) {
              const oc = oc0 + k;
              const v = requantize((acc[k] + bias[oc]) | 0, multipliers[oc], lefts[oc], rights[oc]) + outputOffset;
              out[o + oc] = Math.min(Math.max(v, actMin), actMax);
            }
          }
        }
      }
    }
  };
}

function convFloatBlocked(
  s: ConvShape, fill: () => void, x: Float32Array, wb: Float64Array, bias: Float32Array,
  actMin: number, actMax: number, out: Float32Array,
): KernelRun {
  const { batches, outH, outW, outC, inC, fC, strideH, strideW, paddedH, paddedW } = s;
  const taps = tapOffsets(s);
  const tapCount = taps.length;
  const blockStride = tapCount * fC * BLOCK;
  const acc = new Float64Array(BLOCK);
  return () => {
    fill();
    for (let b = 0; b < batches; b++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const base = ((b * paddedH + oy * strideH) * paddedW + ox * strideW) * inC;
          const o = ((b * outH + oy) * outW + ox) * outC;
          for (let oc0 = 0, j0 = 0; oc0 < outC; oc0 += BLOCK, j0 += blockStride) {
            // Accumulated in double and rounded once when stored (reference/conv.h sums in float
            // in another order: the difference is far below the 1e-5 checked against TFLite).
            let a0 = 0;
            let a1 = 0;
            let a2 = 0;
            let a3 = 0;
            let j = j0;
            for (let t = 0; t < tapCount; t++) {
              const p = base + taps[t];
              for (let ic = 0; ic < fC; ic++, j += BLOCK) {
                const xv = x[p + ic];
                a0 += wb[j] * xv;
                a1 += wb[j + 1] * xv;
                a2 += wb[j + 2] * xv;
                a3 += wb[j + 3] * xv;
              }
            }
            acc[0] = a0;
            acc[1] = a1;
            acc[2] = a2;
            acc[3] = a3;
            const n = Math.min(BLOCK, outC - oc0);
            for (let k = 0; k < n; k++) {
              const v = acc[k] + bias[oc0 + k];
              out[o + oc0 + k] = v < actMin ? actMin : v > actMax ? actMax : v;
            }
          }
        }
      }
    }
  };
}

function convFloat(
  s: ConvShape, fill: () => void, x: Float32Array, w: Float32Array, bias: Float32Array,
  actMin: number, actMax: number, out: Float32Array,
): KernelRun {
  const { batches, outH, outW, outC, inC, fC, filtersPerGroup, strideH, strideW, paddedH, paddedW } = s;
  const taps = tapOffsets(s);
  const tapCount = taps.length;
  const filterSize = tapCount * fC;
  return () => {
    fill();
    let o = 0;
    for (let b = 0; b < batches; b++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const base = ((b * paddedH + oy * strideH) * paddedW + ox * strideW) * inC;
          for (let oc = 0; oc < outC; oc++) {
            const groupBase = base + ((oc / filtersPerGroup) | 0) * fC;
            let wi = oc * filterSize;
            // Accumulated in double (two partial sums) and rounded once when stored;
            // reference/conv.h sums in float in another order: the difference is far below the
            // 1e-5 the lab checks against the TFLite runtime.
            let a0 = 0;
            let a1 = 0;
            for (let t = 0; t < tapCount; t++) {
              const p = groupBase + taps[t];
              let ic = 0;
              for (; ic + 1 < fC; ic += 2) {
                a0 += w[wi + ic] * x[p + ic];
                a1 += w[wi + ic + 1] * x[p + ic + 1];
              }
              if (ic < fC) a0 += w[wi + ic] * x[p + ic];
              wi += fC;
            }
            const v = a0 + a1 + bias[oc];
            out[o++] = v < actMin ? actMin : v > actMax ? actMax : v;
          }
        }
      }
    }
  };
}
