/**
 * QUANTIZE and DEQUANTIZE. Follows tflite-micro `micro/kernels/quantize_common.cc`:
 * - float32 -> int8/uint8/int16: `reference/quantize.h` AffineQuantize,
 *   (int32)TfLiteRound(x / (float)scale) + zero_point in float arithmetic, then clamped;
 * - integer -> integer: `reference/requantize.h` Requantize with QuantizeMultiplier(in_scale /
 *   out_scale) (double) and the double-rounding MultiplyByQuantizedMultiplier;
 * and `micro/kernels/dequantize_common.cc` + `reference/dequantize.h`:
 * (float)(double(scale) * (q - zero_point)).
 */
import type { TensorType } from '../model.js';
import { shapeSize } from '../model.js';
import { multiplyByQuantizedMultiplier, quantizeMultiplier, tfliteRound } from '../quant-math.js';
import type { KernelPrepare } from './common.js';
import { perTensorQuant, requireSameCount, requireType, typeRange } from './common.js';

type IntArray = Int8Array | Uint8Array | Int16Array;

/** Requantize pairs TFLM's quantize_common.cc accepts (int32 inputs are left out). */
const REQUANTIZE_PAIRS = new Set(['int16>int8', 'int8>int8', 'int8>uint8', 'uint8>int8', 'int8>int16', 'int16>int16']);

export const prepareQuantize: KernelPrepare = (ctx) => {
  const input = ctx.input(0);
  const output = ctx.output(0);
  requireType(ctx, input, 'input', ['float32', 'int8', 'uint8', 'int16']);
  requireType(ctx, output, 'output', ['int8', 'uint8', 'int16']);
  requireSameCount(ctx, input, output);
  const qo = perTensorQuant(ctx, output, 'output');
  const { min, max } = typeRange(output.type);
  const n = shapeSize(input.shape);
  const y = ctx.data(output) as IntArray;
  if (input.type === 'float32') {
    const x = ctx.data(input) as Float32Array;
    const scale = Math.fround(qo.scale);
    return () => {
      for (let i = 0; i < n; i++) {
        // (int32)TfLiteRound(float / float): huge or NaN inputs saturate here (C leaves them undefined).
        let r = tfliteRound(Math.fround(x[i] / scale));
        if (!(r >= -2147483648)) r = -2147483648;
        if (r > 2147483647) r = 2147483647;
        const v = r + qo.zeroPoint;
        y[i] = v < min ? min : v > max ? max : v;
      }
    };
  }
  if (!REQUANTIZE_PAIRS.has(`${input.type}>${output.type}`)) {
    return ctx.fail(`requantizing ${input.type} to ${output.type} is not supported by TFLM`);
  }
  const qi = perTensorQuant(ctx, input, 'input');
  const m = quantizeMultiplier(qi.scale / qo.scale);
  const x = ctx.data(input) as IntArray;
  return () => {
    for (let i = 0; i < n; i++) {
      const v = multiplyByQuantizedMultiplier(x[i] - qi.zeroPoint, m.multiplier, m.shift) + qo.zeroPoint;
      y[i] = v < min ? min : v > max ? max : v;
    }
  };
};

export const prepareDequantize: KernelPrepare = (ctx) => {
  const input = ctx.input(0);
  const output = ctx.output(0);
  const inputTypes: TensorType[] = ['int8', 'uint8', 'int16'];
  requireType(ctx, input, 'input', inputTypes);
  requireType(ctx, output, 'output', ['float32']);
  requireSameCount(ctx, input, output);
  const qi = perTensorQuant(ctx, input, 'input');
  const n = shapeSize(input.shape);
  const x = ctx.data(input) as IntArray;
  const y = ctx.data(output) as Float32Array;
  return () => {
    for (let i = 0; i < n; i++) y[i] = qi.scale * (x[i] - qi.zeroPoint);
  };
};
