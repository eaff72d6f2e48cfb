/**
 * FULLY_CONNECTED. Follows tflite-micro `micro/kernels/fully_connected_common.cc`
 * (CalculateOpDataFullyConnected) and `reference/integer_ops/fully_connected.h`:
 * - per-tensor weights: real multiplier = (float)(input_scale * filter_scale) / output_scale, the
 *   product taken in float as kernel_util.cc GetQuantizedConvolutionMultipler does, and
 *   acc = sum (w + filter_offset) * (x + input_offset);
 * - per-channel weights (scale per output row): PopulateConvolutionQuantizationParams-style.
 * The input is flattened to [batches, accum_depth] with accum_depth = filter dims[1].
 */
import type { FullyConnectedOptions, Tensor } from '../model.js';
import { shapeSize } from '../model.js';
import { activationRangeFloat, activationRangeQuantized, quantizeMultiplier, requantize, splitShifts } from '../quant-math.js';
import type { KernelPrepare, OpContext } from './common.js';
import { checkScales, describeShape, perTensorQuant } from './common.js';
import { checkBias, convKind } from './conv-params.js';

export const prepareFullyConnected: KernelPrepare = (ctx) => {
  const opts = ctx.op.options;
  const o: FullyConnectedOptions = opts.kind === 'FullyConnected'
    ? opts.value
    : { fusedActivation: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false };
  if (o.weightsFormat !== 'DEFAULT') return ctx.fail(`weights format ${o.weightsFormat} is not supported (DEFAULT only)`);
  const input = ctx.input(0);
  const filter = ctx.input(1);
  const bias = ctx.optionalInput(2);
  const output = ctx.output(0);
  const kind = convKind(ctx, input, filter, bias, output);
  if (filter.shape.length !== 2) return ctx.fail(`filter shape ${describeShape(filter.shape)} must be 2-D [units, depth]`);
  const [units, depth] = filter.shape;
  const inputCount = shapeSize(input.shape);
  if (depth <= 0 || inputCount % depth !== 0) {
    return ctx.fail(`input of ${inputCount} values cannot be split into rows of the filter depth ${depth}`);
  }
  const batches = inputCount / depth;
  const outDepth = output.shape[output.shape.length - 1];
  if (outDepth !== units || shapeSize(output.shape) !== batches * units) {
    return ctx.fail(`output shape ${describeShape(output.shape)} does not match ${batches} batch(es) of ${units} units`);
  }
  checkBias(ctx, bias, units);
  if (kind === 'float32') {
    const { min, max } = activationRangeFloat(o.fusedActivation);
    const x = ctx.data(input) as Float32Array;
    const w = ctx.data(filter) as Float32Array;
    const b = bias ? (ctx.data(bias) as Float32Array) : new Float32Array(units);
    const out = ctx.data(output) as Float32Array;
    return () => {
      for (let n = 0; n < batches; n++) {
        const xBase = n * depth;
        for (let u = 0; u < units; u++) {
          let acc = 0;
          const wBase = u * depth;
          for (let d = 0; d < depth; d++) acc += x[xBase + d] * w[wBase + d];
          const v = acc + b[u];
          out[n * units + u] = v < min ? min : v > max ? max : v;
        }
      }
    };
  }
  const p = quantizedFcParams(ctx, input, filter, output, units, o.fusedActivation);
  const x = ctx.data(input) as Int8Array;
  const w = ctx.data(filter) as Int8Array;
  const b = bias ? (ctx.data(bias) as Int32Array) : new Int32Array(units);
  const out = ctx.data(output) as Int8Array;
  const shiftedInput = new Int32Array(inputCount);
  const { inputOffset, filterOffset, outputOffset, multipliers, actMin, actMax } = p;
  const { lefts, rights } = splitShifts(p.shifts);
  return () => {
    for (let i = 0; i < inputCount; i++) shiftedInput[i] = x[i] + inputOffset;
    for (let n = 0; n < batches; n++) {
      const xBase = n * depth;
      for (let u = 0; u < units; u++) {
        let acc = 0;
        const wBase = u * depth;
        if (filterOffset === 0) {
          for (let d = 0; d < depth; d++) acc += w[wBase + d] * shiftedInput[xBase + d];
        } else {
          for (let d = 0; d < depth; d++) acc += (w[wBase + d] + filterOffset) * shiftedInput[xBase + d];
        }
        let v = requantize((acc + b[u]) | 0, multipliers[u], lefts[u], rights[u]) + outputOffset;
        v = v < actMin ? actMin : v > actMax ? actMax : v;
        out[n * units + u] = v;
      }
    }
  };
};

function quantizedFcParams(
  ctx: OpContext, input: Tensor, filter: Tensor, output: Tensor, units: number,
  activation: FullyConnectedOptions['fusedActivation'],
): {
  inputOffset: number; filterOffset: number; outputOffset: number;
  multipliers: Int32Array; shifts: Int32Array; actMin: number; actMax: number;
} {
  const inQ = perTensorQuant(ctx, input, 'input');
  const outQ = perTensorQuant(ctx, output, 'output');
  const fq = filter.quantization;
  if (!fq || fq.scale.length === 0) return ctx.fail(`filter tensor '${filter.name}' has no quantization parameters`);
  checkScales(ctx, filter, 'filter');
  const multipliers = new Int32Array(units);
  const shifts = new Int32Array(units);
  let filterOffset = 0;
  if (fq.scale.length > 1) {
    if (fq.scale.length !== units || fq.quantizedDimension !== 0) {
      return ctx.fail(`filter tensor '${filter.name}' has ${fq.scale.length} scales along dimension ${fq.quantizedDimension} for ${units} units`);
    }
    for (let u = 0; u < units; u++) {
      const q = quantizeMultiplier(inQ.scale * fq.scale[u] / outQ.scale);
      multipliers[u] = q.multiplier;
      shifts[u] = q.shift;
    }
  } else {
    // GetQuantizedConvolutionMultipler: the product of the two scales is a float32 product.
    const q = quantizeMultiplier(Math.fround(inQ.scale * fq.scale[0]) / outQ.scale);
    multipliers.fill(q.multiplier);
    shifts.fill(q.shift);
    filterOffset = -(fq.zeroPoint[0] ?? 0);
  }
  const range = activationRangeQuantized(activation, outQ.scale, outQ.zeroPoint, -128, 127);
  return {
    inputOffset: -inQ.zeroPoint, filterOffset, outputOffset: outQ.zeroPoint,
    multipliers, shifts, actMin: range.min, actMax: range.max,
  };
}
