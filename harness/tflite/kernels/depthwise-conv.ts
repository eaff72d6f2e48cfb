/**
 * DEPTHWISE_CONV_2D. Follows tflite-micro `micro/kernels/depthwise_conv_common.cc` (Prepare) and
 * `kernels/internal/reference/integer_ops/depthwise_conv.h` DepthwiseConvPerChannel (int8) /
 * `reference/depthwiseconv_float.h` (float). Output channel `ic * depth_multiplier + m` reads input
 * channel `ic` with filter [1, H, W, out_channels]; weights are per-channel along dimension 3.
 */
import { shapeSize, type DepthwiseConv2DOptions } from '../model.js';
import { requantize, splitShifts } from '../quant-math.js';
import type { KernelPrepare, KernelRun } from './common.js';
import { describeShape } from './common.js';
import type { ConvWindowShape } from './conv-params.js';
import { activationRangeFloat, checkBias, convOperands, convWindow, quantizedConvParams, tapOffsets } from './conv-params.js';
import { paddedFloatInput, paddedInt8Input } from './padded-input.js';

export const prepareDepthwiseConv2D: KernelPrepare = (ctx) => {
  const opts = ctx.op.options;
  if (opts.kind !== 'DepthwiseConv2D') return ctx.fail(`options are ${opts.kind}; DepthwiseConv2DOptions expected`);
  const o: DepthwiseConv2DOptions = opts.value;
  const { input, filter, bias, output, kind } = convOperands(ctx);
  const inC = input.shape[3];
  const [fOne, fH, fW, outC] = filter.shape;
  if (fOne !== 1) return ctx.fail(`filter shape ${describeShape(filter.shape)} must start with 1`);
  if (inC <= 0 || outC % inC !== 0) return ctx.fail(`output depth ${outC} is not a multiple of the input depth ${inC}`);
  // The reference kernel takes depth_multiplier from the options and checks it against the
  // shapes (TFLITE_DCHECK_EQ(output_depth, input_depth * depth_multiplier)).
  const multiplier = outC / inC;
  if (o.depthMultiplier !== multiplier && o.depthMultiplier !== 0) {
    return ctx.fail(`depth_multiplier ${o.depthMultiplier} does not match ${inC} input and ${outC} output channels`);
  }
  checkBias(ctx, bias, outC);
  const { shape: win, geometry } = convWindow(ctx, o, input, output, fH, fW, outC);
  const shape: DepthwiseShape = { ...win, multiplier };
  if (shapeSize(output.shape) === 0) return () => undefined;
  if (kind === 'int8') {
    const q = quantizedConvParams(ctx, input, filter, output, outC, 3, o.fusedActivation);
    const padded = paddedInt8Input(ctx.data(input) as Int8Array, q.inputOffset, geometry);
    shape.paddedH = padded.paddedHeight;
    shape.paddedW = padded.paddedWidth;
    const biasData = bias ? (ctx.data(bias) as Int32Array) : new Int32Array(outC);
    return depthwiseInt8(shape, padded.fill, padded.data, ctx.data(filter) as Int8Array, biasData, q, ctx.data(output) as Int8Array);
  }
  const range = activationRangeFloat(o.fusedActivation);
  const padded = paddedFloatInput(ctx.data(input) as Float32Array, geometry);
  shape.paddedH = padded.paddedHeight;
  shape.paddedW = padded.paddedWidth;
  const biasData = bias ? (ctx.data(bias) as Float32Array) : new Float32Array(outC);
  return depthwiseFloat(shape, padded.fill, padded.data, ctx.data(filter) as Float32Array, biasData,
    range.min, range.max, ctx.data(output) as Float32Array);
};

interface DepthwiseShape extends ConvWindowShape {
  multiplier: number;
}

/** Input channel read by each output channel (c / depth_multiplier). */
function inputChannels(s: DepthwiseShape): Int32Array {
  return Int32Array.from({ length: s.outC }, (_, c) => Math.floor(c / s.multiplier));
}

function depthwiseInt8(
  s: DepthwiseShape, fill: () => void, x: Int32Array, w: Int8Array, bias: Int32Array,
  q: ReturnType<typeof quantizedConvParams>, out: Int8Array,
): KernelRun {
  const { batches, outH, outW, outC, inC, strideH, strideW, paddedH, paddedW } = s;
  const taps = tapOffsets(s);
  const tapCount = taps.length;
  const inChannel = inputChannels(s);
  const { multipliers, shifts, outputOffset, actMin, actMax } = q;
  const { lefts, rights } = splitShifts(shifts);
  return () => {
    fill();
    let o = 0;
    for (let b = 0; b < batches; b++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const base = ((b * paddedH + oy * strideH) * paddedW + ox * strideW) * inC;
          for (let c = 0; c < outC; c++) {
            const p = base + inChannel[c];
            // int32 accumulation that wraps like C's (Math.imul, | 0).
            let acc = bias[c];
            for (let t = 0, wi = c; t < tapCount; t++, wi += outC) acc = (acc + Math.imul(w[wi], x[p + taps[t]])) | 0;
            let v = requantize(acc, multipliers[c], lefts[c], rights[c]) + outputOffset;
            v = Math.min(Math.max(v, actMin), actMax);
            out[o++] = v;
          }
        }
      }
    }
  };
}

function depthwiseFloat(
  s: DepthwiseShape, fill: () => void, x: Float32Array, w: Float32Array, bias: Float32Array,
  actMin: number, actMax: number, out: Float32Array,
): KernelRun {
  const { batches, outH, outW, outC, inC, strideH, strideW, paddedH, paddedW } = s;
  const taps = tapOffsets(s);
  const tapCount = taps.length;
  const inChannel = inputChannels(s);
  return () => {
    fill();
    let o = 0;
    for (let b = 0; b < batches; b++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const base = ((b * paddedH + oy * strideH) * paddedW + ox * strideW) * inC;
          for (let c = 0; c < outC; c++) {
            const p = base + inChannel[c];
            // Accumulated in double, rounded once when stored (see conv.ts).
            let acc = 0;
            for (let t = 0, wi = c; t < tapCount; t++, wi += outC) acc += w[wi] * x[p + taps[t]];
            const v = acc + bias[c];
            out[o++] = v < actMin ? actMin : v > actMax ? actMax : v;
          }
        }
      }
    }
  };
}
