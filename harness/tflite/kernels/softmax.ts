/**
 * SOFTMAX over the last dimension. int8 follows tflite-micro `micro/kernels/softmax_common.cc`
 * (CalculateSoftmaxParams: PreprocessSoftmaxScaling with 5 integer bits, diff_min from
 * CalculateInputRadius; output must be scale 1/256, zero point -128) and `reference/softmax.h`
 * (gemmlowp exp_on_negative_values, sum in Q12.19, GetReciprocal, rescale). Float follows the
 * float reference: exp((x - max) * beta) / sum.
 */
import { shapeSize } from '../model.js';
import {
  calculateInputRadius, expOnNegativeValues, getReciprocal, multiplyByQuantizedMultiplierGreaterThanOne,
  preprocessSoftmaxScaling, roundingDivideByPOT, saturatingRoundingDoublingHighMul,
} from '../quant-math.js';
import type { KernelPrepare } from './common.js';
import { perTensorQuant, requireSameCount, requireType } from './common.js';

const SCALED_DIFF_INTEGER_BITS = 5;
const ACCUMULATION_INTEGER_BITS = 12;

export const prepareSoftmax: KernelPrepare = (ctx) => {
  const input = ctx.input(0);
  const output = ctx.output(0);
  requireType(ctx, input, 'input', ['int8', 'float32']);
  if (output.type !== input.type) return ctx.fail(`output type ${output.type} differs from input type ${input.type} (int8 -> int16 is not supported)`);
  if (input.shape.length < 1) return ctx.fail('input must have at least one dimension');
  requireSameCount(ctx, input, output);
  const opts = ctx.op.options;
  const beta = opts.kind === 'Softmax' ? opts.value.beta : 1;
  const depth = input.shape[input.shape.length - 1];
  const rows = depth === 0 ? 0 : shapeSize(input.shape) / depth;
  if (input.type === 'float32') {
    const x = ctx.data(input) as Float32Array;
    const y = ctx.data(output) as Float32Array;
    const fbeta = Math.fround(beta);
    return () => {
      for (let r = 0; r < rows; r++) {
        const base = r * depth;
        let max = -Infinity;
        for (let c = 0; c < depth; c++) if (x[base + c] > max) max = x[base + c];
        let sum = 0;
        for (let c = 0; c < depth; c++) {
          const e = Math.fround(Math.exp(Math.fround(Math.fround(x[base + c] - max) * fbeta)));
          y[base + c] = e;
          sum += e;
        }
        const fsum = Math.fround(sum);
        for (let c = 0; c < depth; c++) y[base + c] = y[base + c] / fsum;
      }
    };
  }
  const qi = perTensorQuant(ctx, input, 'input');
  const qo = perTensorQuant(ctx, output, 'output');
  if (qo.zeroPoint !== -128 || qo.scale !== 1 / 256) {
    return ctx.fail(`int8 SOFTMAX output must have scale 1/256 and zero point -128 (TFLM softmax_common.cc), got ${qo.scale} and ${qo.zeroPoint}`);
  }
  const m = preprocessSoftmaxScaling(beta, qi.scale, SCALED_DIFF_INTEGER_BITS);
  const diffMin = -calculateInputRadius(SCALED_DIFF_INTEGER_BITS, m.shift);
  // exp of every possible (x - max) difference, in Q0.31, so invoke only looks values up.
  const expOfDiff = new Int32Array(256);
  for (let d = 0; d < 256; d++) {
    const diff = -d;
    if (diff < diffMin) continue;
    const rescaled = multiplyByQuantizedMultiplierGreaterThanOne(diff, m.multiplier, m.shift);
    expOfDiff[d] = expOnNegativeValues(rescaled, SCALED_DIFF_INTEGER_BITS);
  }
  const x = ctx.data(input) as Int8Array;
  const y = ctx.data(output) as Int8Array;
  return () => {
    for (let r = 0; r < rows; r++) {
      const base = r * depth;
      let max = -128;
      for (let c = 0; c < depth; c++) if (x[base + c] > max) max = x[base + c];
      let sum = 0; // FixedPoint<int32, 12>
      for (let c = 0; c < depth; c++) {
        const d = max - x[base + c];
        if (-d >= diffMin) sum = (sum + roundingDivideByPOT(expOfDiff[d], ACCUMULATION_INTEGER_BITS)) | 0;
      }
      const { reciprocal, numBitsOverUnit } = getReciprocal(sum, ACCUMULATION_INTEGER_BITS);
      const exponent = numBitsOverUnit + 31 - 8;
      for (let c = 0; c < depth; c++) {
        const d = max - x[base + c];
        if (-d >= diffMin) {
          const unsat = roundingDivideByPOT(saturatingRoundingDoublingHighMul(reciprocal, expOfDiff[d]), exponent);
          const v = unsat - 128;
          y[base + c] = v < -128 ? -128 : v > 127 ? 127 : v;
        } else {
          y[base + c] = -128;
        }
      }
    }
  };
};
