/**
 * Shared preparation of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: type checks, bias, and the
 * per-channel output multipliers of kernel_util.cc PopulateConvolutionQuantizationParams.
 */
import type { Conv2DOptions, Tensor } from '../model.js';
import { shapeSize } from '../model.js';
import { activationRangeFloat, activationRangeQuantized, quantizeMultiplier } from '../quant-math.js';
import type { OpContext } from './common.js';
import { checkScales, perTensorQuant, requireType } from './common.js';

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

export { activationRangeFloat };
