/**
 * Unary activations: RELU, RELU6, LEAKY_RELU, HARD_SWISH, LOGISTIC, TANH.
 *
 * An int8 input has only 256 values, so each int8 activation is prepared as a 256-entry lookup
 * table filled by running TFLM's exact per-element arithmetic once per value; invoke is a table
 * lookup. Sources (tflite-micro @ 90b983c2):
 * - RELU: `micro/kernels/activations_common.cc` CalculateReluOpData + `activations.h` ReluQuantized
 *   (requantizes from the input to the output scale);
 * - RELU6: `activations_common.cc` Relu6Prepare + Relu6Quantized: clamps to the input's quantized 0
 *   and 6 without requantizing (TFLM assumes input and output share quantization);
 * - LEAKY_RELU: `leaky_relu_common.cc` + `reference/leaky_relu.h` QuantizeLeakyRelu;
 * - HARD_SWISH: `hard_swish_common.cc` + `reference/hard_swish.h` (int16 fixed point);
 * - LOGISTIC: `logistic_common.cc` + `reference/integer_ops/logistic.h` (gemmlowp logistic, Q4.27);
 * - TANH: `tanh.cc` + `reference/integer_ops/tanh.h` (gemmlowp tanh, Q4.27).
 * Float paths follow `reference/logistic.h` (with its cut-offs), `tanh.h`, `hard_swish.h`.
 */
import type { Tensor } from '../model.js';
import { shapeSize } from '../model.js';
import {
  calculateInputRadius, downScaleInt32ToInt16Multiplier, fixedLogistic, fixedTanh, frexp,
  multiplyByQuantizedMultiplier, quantizeMultiplier, roundingDivideByPOT, saturatingDoublingHighMul16,
  saturatingLeftShift16, saturatingRoundingDoublingHighMul16, tfliteRound,
} from '../quant-math.js';
import type { KernelPrepare, KernelRun, OpContext } from './common.js';
import { perTensorQuant, requireSameCount, requireType } from './common.js';

type Int8Fn = (q: number) => number;

function unaryIO(ctx: OpContext): { input: Tensor; output: Tensor } {
  const input = ctx.input(0);
  const output = ctx.output(0);
  requireType(ctx, input, 'input', ['int8', 'float32']);
  if (output.type !== input.type) return ctx.fail(`output type ${output.type} differs from input type ${input.type}`);
  requireSameCount(ctx, input, output);
  return { input, output };
}

function clampInt8(v: number): number {
  return v < -128 ? -128 : v > 127 ? 127 : v;
}

/** Tabulates an int8 -> int8 function; the run is a lookup per element. */
function lookupRun(ctx: OpContext, input: Tensor, output: Tensor, fn: Int8Fn): KernelRun {
  const table = new Int8Array(256);
  for (let q = -128; q <= 127; q++) table[q + 128] = fn(q);
  const x = ctx.data(input) as Int8Array;
  const y = ctx.data(output) as Int8Array;
  const n = shapeSize(input.shape);
  return () => {
    for (let i = 0; i < n; i++) y[i] = table[x[i] + 128];
  };
}

function floatRun(ctx: OpContext, input: Tensor, output: Tensor, fn: (v: number) => number): KernelRun {
  const x = ctx.data(input) as Float32Array;
  const y = ctx.data(output) as Float32Array;
  const n = shapeSize(input.shape);
  return () => {
    for (let i = 0; i < n; i++) y[i] = fn(x[i]);
  };
}

export const prepareRelu: KernelPrepare = (ctx) => {
  const { input, output } = unaryIO(ctx);
  if (input.type === 'float32') return floatRun(ctx, input, output, (v) => (v < 0 ? 0 : v));
  const qi = perTensorQuant(ctx, input, 'input');
  const qo = perTensorQuant(ctx, output, 'output');
  const m = quantizeMultiplier(Math.fround(qi.scale / qo.scale));
  // act_min = zero_point + roundf(0 / scale); act_max stays the type maximum (act_max is +inf).
  const actMin = Math.max(-128, qo.zeroPoint);
  return lookupRun(ctx, input, output, (q) => {
    const v = qo.zeroPoint + multiplyByQuantizedMultiplier(q - qi.zeroPoint, m.multiplier, m.shift);
    return Math.min(127, Math.max(actMin, v));
  });
};

export const prepareRelu6: KernelPrepare = (ctx) => {
  const { input, output } = unaryIO(ctx);
  if (input.type === 'float32') return floatRun(ctx, input, output, (v) => (v > 6 ? 6 : v < 0 ? 0 : v));
  const qi = perTensorQuant(ctx, input, 'input');
  const zero = qi.zeroPoint;
  // micro_utils.h FloatToQuantizedType<int8_t>(6.0f, scale, zero_point).
  const six = clampInt8(tfliteRound(Math.fround(6 / qi.scale)) + qi.zeroPoint);
  return lookupRun(ctx, input, output, (q) => (q > six ? six : q < zero ? zero : q));
};

export const prepareLeakyRelu: KernelPrepare = (ctx) => {
  const { input, output } = unaryIO(ctx);
  const opts = ctx.op.options;
  if (opts.kind !== 'LeakyRelu') return ctx.fail(`options are ${opts.kind}; LeakyReluOptions expected`);
  const alpha = opts.value.alpha;
  if (input.type === 'float32') return floatRun(ctx, input, output, (v) => (v > 0 ? v : Math.fround(v * alpha)));
  const qi = perTensorQuant(ctx, input, 'input');
  const qo = perTensorQuant(ctx, output, 'output');
  const alphaM = quantizeMultiplier(Math.fround(Math.fround(qi.scale * alpha) / qo.scale));
  const identityM = quantizeMultiplier(Math.fround(qi.scale / qo.scale));
  const alphaNegative = alphaM.multiplier < 0;
  const safeAlpha = alphaNegative ? -alphaM.multiplier : alphaM.multiplier;
  return lookupRun(ctx, input, output, (q) => {
    const value = q - qi.zeroPoint;
    let out = qo.zeroPoint;
    if (value >= 0) {
      out += multiplyByQuantizedMultiplier(value, identityM.multiplier, identityM.shift);
    } else {
      const scaled = multiplyByQuantizedMultiplier(value, safeAlpha, alphaM.shift);
      out += alphaNegative ? -scaled : scaled;
    }
    return clampInt8(out);
  });
};

export const prepareHardSwish: KernelPrepare = (ctx) => {
  const { input, output } = unaryIO(ctx);
  if (input.type === 'float32') {
    return floatRun(ctx, input, output, (v) =>
      Math.fround(Math.fround(v * Math.min(6, Math.max(0, Math.fround(v + 3)))) / 6));
  }
  const qi = perTensorQuant(ctx, input, 'input');
  const qo = perTensorQuant(ctx, output, 'output');
  const hiresInputScale = Math.fround(Math.fround(1 / 128) * qi.scale);
  const reluishScale = Math.fround(3 / 32768);
  const outM = quantizeMultiplier(Math.fround(hiresInputScale / qo.scale));
  const outputMultiplier16 = downScaleInt32ToInt16Multiplier(outM.multiplier);
  if (outM.shift > 0) return ctx.fail(`output scale ${qo.scale} is too small for input scale ${qi.scale} (TFLM hard_swish_common.cc needs a rescale factor below 1)`);
  const reluM = quantizeMultiplier(Math.fround(hiresInputScale / reluishScale));
  const reluishMultiplier16 = downScaleInt32ToInt16Multiplier(reluM.multiplier);
  const int16 = (v: number): number => (v << 16) >> 16;
  return lookupRun(ctx, input, output, (q) => {
    const inputValue = int16(q - qi.zeroPoint);
    const hires = int16(inputValue * 128);
    const preshiftOutput = saturatingRoundingDoublingHighMul16(hires, outputMultiplier16);
    let reluish = hires;
    if (reluM.shift > 0) reluish = saturatingLeftShift16(reluish, reluM.shift - 1);
    reluish = saturatingRoundingDoublingHighMul16(reluish, reluishMultiplier16);
    if (reluM.shift > 0) reluish = saturatingLeftShift16(reluish, 1);
    if (reluM.shift < 0) reluish = roundingDivideByPOT(reluish, -reluM.shift);
    reluish = (reluish + 32768) >> 1;
    const preshift = saturatingDoublingHighMul16(reluish, preshiftOutput);
    // `output_value += zero_point` is an int16 addition in the reference.
    const out = int16(roundingDivideByPOT(preshift, -outM.shift) + qo.zeroPoint);
    return clampInt8(out);
  });
};

/**
 * The int8 LOGISTIC / TANH table (logistic.h / tanh.h integer_ops): inputs at or beyond the input
 * radius saturate to -128 / 127, the others are rescaled to Q4.27 and mapped by `inside`. The Q4.27
 * input multiplier comes from frexp, as logistic_common.cc / tanh.cc Prepare compute it.
 */
function q4LookupRun(
  ctx: OpContext, input: Tensor, output: Tensor, qi: { scale: number; zeroPoint: number },
  inside: (inQ4: number) => number,
): KernelRun {
  const { fraction, exponent } = frexp(qi.scale * 2 ** 27);
  // static_cast<int32_t>(TfLiteRound(q * (1ll << 31))): a significand rounding to 2^31 wraps.
  const multiplier = tfliteRound(fraction * 2 ** 31) | 0;
  const radius = calculateInputRadius(4, exponent, 31);
  return lookupRun(ctx, input, output, (q) => {
    const x = q - qi.zeroPoint;
    if (x <= -radius) return -128;
    if (x >= radius) return 127;
    return inside(multiplyByQuantizedMultiplier(x, multiplier, exponent));
  });
}

export const prepareLogistic: KernelPrepare = (ctx) => {
  const { input, output } = unaryIO(ctx);
  if (input.type === 'float32') {
    return floatRun(ctx, input, output, (v) => {
      if (v > 16.619047164916992) return 1;
      if (v < -9) return Math.exp(v);
      return Math.fround(1 / Math.fround(1 + Math.fround(Math.exp(-v))));
    });
  }
  const qi = perTensorQuant(ctx, input, 'input');
  const qo = perTensorQuant(ctx, output, 'output');
  if (qo.zeroPoint !== -128) return ctx.fail(`int8 LOGISTIC output zero point is ${qo.zeroPoint}; TFLM requires -128 (scale 1/256)`);
  return q4LookupRun(ctx, input, output, qi, (inQ4) => {
    const outQ23 = roundingDivideByPOT(fixedLogistic(inQ4, 4), 31 - 8);
    return clampInt8(outQ23 - 128);
  });
};

export const prepareTanh: KernelPrepare = (ctx) => {
  const { input, output } = unaryIO(ctx);
  if (input.type === 'float32') return floatRun(ctx, input, output, Math.tanh);
  const qi = perTensorQuant(ctx, input, 'input');
  perTensorQuant(ctx, output, 'output');
  return q4LookupRun(ctx, input, output, qi, (inQ4) => clampInt8(roundingDivideByPOT(fixedTanh(inQ4, 4), 31 - 7)));
};
