/**
 * Shared preparation of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: type checks, bias, and the
 * per-channel output multipliers of kernel_util.cc PopulateConvolutionQuantizationParams.
 */
import type { Conv2DOptions, Tensor } from '../model.js';
import { shapeSize } from '../model.js';
import { activationRangeFloat, activationRangeQuantized, quantizeMultiplier } from '../quant-math.js';
import type { OpContext } from './common.js';
import { MAX_WINDOW_ELEMENTS, checkScales, describeShape, perTensorQuant, requirePositiveIntegers, requireRank, requireType } from './common.js';
import type { PaddedGeometry } from './padded-input.js';
import { computeWindow } from './padding.js';

export interface QuantizedConvParams {
  inputOffset: number;
  outputOffset: number;
  /** One Q0.31 multiplier and shift per output channel (per-tensor weights are broadcast). */
  multipliers: Int32Array;
  shifts: Int32Array;
  actMin: number;
  actMax: number;
}

/**
 * kernel_util.cc PopulateConvolutionQuantizationParams: effective scale per channel is
 * double(input_scale) * double(filter_scale[c]) / double(output_scale), then QuantizeMultiplier.
 */
export function quantizedConvParams(
  ctx: OpContext, input: Tensor, filter: Tensor, output: Tensor, channels: number,
  quantizedDim: number, activation: Conv2DOptions['fusedActivation'],
): QuantizedConvParams {
  const inQ = perTensorQuant(ctx, input, 'input');
  const outQ = perTensorQuant(ctx, output, 'output');
  const fq = filter.quantization;
  if (!fq || fq.scale.length === 0) return ctx.fail(`filter tensor '${filter.name}' has no quantization parameters`);
  checkScales(ctx, filter, 'filter');
  if (fq.scale.length !== 1 && fq.scale.length !== channels) {
    return ctx.fail(`filter tensor '${filter.name}' has ${fq.scale.length} scales for ${channels} output channels`);
  }
  if (fq.scale.length > 1 && fq.quantizedDimension !== quantizedDim) {
    return ctx.fail(`filter tensor '${filter.name}' is quantized along dimension ${fq.quantizedDimension}; TFLM expects ${quantizedDim}`);
  }
  const multipliers = new Int32Array(channels);
  const shifts = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const filterScale = fq.scale.length === 1 ? fq.scale[0] : fq.scale[c];
    const q = quantizeMultiplier(inQ.scale * filterScale / outQ.scale);
    multipliers[c] = q.multiplier;
    shifts[c] = q.shift;
  }
  const range = activationRangeQuantized(activation, outQ.scale, outQ.zeroPoint, -128, 127);
  return {
    inputOffset: -inQ.zeroPoint, outputOffset: outQ.zeroPoint, multipliers, shifts,
    actMin: range.min, actMax: range.max,
  };
}

export type ConvKind = 'int8' | 'float32';

/** The operands of a CONV_2D / DEPTHWISE_CONV_2D: 4-D input, filter and output, an optional bias, and their kind. */
export function convOperands(ctx: OpContext): { input: Tensor; filter: Tensor; bias: Tensor | null; output: Tensor; kind: ConvKind } {
  const input = ctx.input(0);
  const filter = ctx.input(1);
  const bias = ctx.optionalInput(2);
  const output = ctx.output(0);
  requireRank(ctx, input, 'input', 4);
  requireRank(ctx, filter, 'filter', 4);
  requireRank(ctx, output, 'output', 4);
  return { input, filter, bias, output, kind: convKind(ctx, input, filter, bias, output) };
}

/** int8 x int8 (+ int32 bias) -> int8, or float32 throughout, as TFLM's conv Prepare allows. */
export function convKind(ctx: OpContext, input: Tensor, filter: Tensor, bias: Tensor | null, output: Tensor): ConvKind {
  requireType(ctx, input, 'input', ['int8', 'float32']);
  if (output.type !== input.type) return ctx.fail(`output type ${output.type} differs from input type ${input.type}`);
  if (input.type === 'float32') {
    requireType(ctx, filter, 'filter', ['float32']);
    if (bias) requireType(ctx, bias, 'bias', ['float32']);
    return 'float32';
  }
  requireType(ctx, filter, 'filter', ['int8']);
  if (bias) requireType(ctx, bias, 'bias', ['int32']);
  return 'int8';
}

export function checkBias(ctx: OpContext, bias: Tensor | null, channels: number): void {
  if (bias && shapeSize(bias.shape) !== channels) {
    return ctx.fail(`bias tensor '${bias.name}' has ${shapeSize(bias.shape)} values for ${channels} output channels`);
  }
}

/** The window of a CONV_2D or DEPTHWISE_CONV_2D as its kernels read it (NHWC, from the padded input). */
export interface ConvWindowShape {
  batches: number; outH: number; outW: number; outC: number; inC: number;
  fH: number; fW: number;
  strideH: number; strideW: number; dilationH: number; dilationW: number;
  /** Size of the padded input; 0 until the padded input is made from `geometry`. */
  paddedH: number; paddedW: number;
}

/**
 * Output size and padding of a CONV_2D / DEPTHWISE_CONV_2D (ComputePaddingHeightWidth) for an
 * `fH` x `fW` filter with `outC` output channels: fails unless the output tensor has that shape and
 * the padded input stays within MAX_WINDOW_ELEMENTS. Returns the window and the padded-input
 * geometry the kernels need.
 */
export function convWindow(
  ctx: OpContext, o: Conv2DOptions, input: Tensor, output: Tensor, fH: number, fW: number, outC: number,
): { shape: ConvWindowShape; geometry: PaddedGeometry } {
  const [batches, inH, inW, inC] = input.shape;
  requirePositiveIntegers(ctx, { stride_h: o.strideH, stride_w: o.strideW, dilation_h: o.dilationH, dilation_w: o.dilationW });
  const win = computeWindow(o.padding, inH, inW, fH, fW, o.strideH, o.strideW, o.dilationH, o.dilationW);
  const expected = [batches, win.outHeight, win.outWidth, outC];
  if (output.shape.join() !== expected.join()) {
    return ctx.fail(`output shape ${describeShape(output.shape)} does not match ${o.padding} padding (expected ${describeShape(expected)})`);
  }
  if (batches * (inH + (fH - 1) * o.dilationH + o.strideH) * (inW + (fW - 1) * o.dilationW + o.strideW) * inC > MAX_WINDOW_ELEMENTS) {
    return ctx.fail(`filter ${fH}x${fW} with dilation (${o.dilationH}, ${o.dilationW}) and stride (${o.strideH}, ${o.strideW}) spans far more than the ${inH}x${inW} input`);
  }
  return {
    shape: {
      batches, outH: win.outHeight, outW: win.outWidth, outC, inC, fH, fW,
      strideH: o.strideH, strideW: o.strideW, dilationH: o.dilationH, dilationW: o.dilationW, paddedH: 0, paddedW: 0,
    },
    geometry: {
      batches, height: inH, width: inW, channels: inC, padTop: win.padTop, padLeft: win.padLeft,
      neededHeight: (win.outHeight - 1) * o.strideH + (fH - 1) * o.dilationH + 1,
      neededWidth: (win.outWidth - 1) * o.strideW + (fW - 1) * o.dilationW + 1,
    },
  };
}

/** Offset of every filter tap (fy, fx) from the window origin in the padded input, row-major. */
export function tapOffsets(s: ConvWindowShape): Int32Array {
  const taps = new Int32Array(s.fH * s.fW);
  let t = 0;
  for (let fy = 0; fy < s.fH; fy++) {
    for (let fx = 0; fx < s.fW; fx++) taps[t++] = (fy * s.dilationH * s.paddedW + fx * s.dilationW) * s.inC;
  }
  return taps;
}

export { activationRangeFloat };
