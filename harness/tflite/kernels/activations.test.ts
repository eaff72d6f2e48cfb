/**
 * SOFTMAX, LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, RELU, RELU6. Vectors from tflite-micro's tests
 * (`micro/kernels/softmax_test.cc`, `leaky_relu_test.cc` @ 90b983c2) where they are exact; the
 * fixed-point ones (logistic, tanh, hard swish) are TFLM's exact outputs, produced by a host build
 * of tflite-micro @ 90b983c2 for these inputs, and each is also checked to be within one step of
 * the real function so the vectors mean something.
 */
import { describe, expect, it } from 'vitest';
import { options } from '../builder.js';
import { quantizeValues as q, runSingleOp, type OpTensor } from '../testing/single-op.js';

const i8 = (shape: number[], scale: number, zeroPoint: number, data?: number[]): OpTensor =>
  ({ type: 'int8', shape, quantization: { scale, zeroPoint }, data });
const f32 = (shape: number[], data?: number[]): OpTensor => ({ type: 'float32', shape, data });
const dequant = (v: number[], scale: number, zp: number): number[] => v.map((x) => (x - zp) * scale);

describe('SOFTMAX', () => {
  const golden = [0.011656231, 0.031684921, 0.086128544, 0.234121657, 0.636408647];

  it('float matches Softmax1DFloatShouldMatchGolden', () => {
    const [out] = runSingleOp('SOFTMAX', options.softmax(1), [f32([1, 5], [1, 2, 3, 4, 5])], [f32([1, 5])]);
    out.forEach((v, i) => expect(v).toBeCloseTo(golden[i], 6));
  });

  it('int8 matches Softmax1D/2DQuantizedInt8ShouldMatchGolden exactly (per row)', () => {
    const [out] = runSingleOp('SOFTMAX', options.softmax(1),
      [i8([2, 5], 0.1, 0, q([1, 2, 3, 4, 5, -1, -2, -3, -4, -5], 0.1, 0))], [i8([2, 5], 1 / 256, -128)]);
    expect(out).toEqual(q([...golden, ...[...golden].reverse()], 1 / 256, -128));
  });

  it('int8 requires the 1/256, -128 output TFLM insists on', () => {
    expect(() => runSingleOp('SOFTMAX', options.softmax(1), [i8([1, 2], 0.1, 0, [1, 2])], [i8([1, 2], 1 / 128, 0)]))
      .toThrow(/int8 SOFTMAX output must have scale 1\/256 and zero point -128/);
  });
});

describe('LOGISTIC', () => {
  const x = [1, 2, 3, 4, 5, -1, -2, -3, -4, -5];
  it('int8 gives TFLM\'s fixed-point results, within one step of 1/(1+e^-x)', () => {
    const [out] = runSingleOp('LOGISTIC', undefined, [i8([1, 10], 0.1, 0, q(x, 0.1, 0))], [i8([1, 10], 1 / 256, -128)]);
    expect(out).toEqual([59, 97, 116, 123, 126, -59, -97, -116, -123, -126]);
    dequant(out, 1 / 256, -128).forEach((v, i) => expect(Math.abs(v - 1 / (1 + Math.exp(-x[i])))).toBeLessThanOrEqual(1 / 256));
  });

  it('float uses the reference cut-offs (1 above 16.62, exp(x) below -9)', () => {
    const [out] = runSingleOp('LOGISTIC', undefined, [f32([1, 3], [20, -20, 0])], [f32([1, 3])]);
    expect(out[0]).toBe(1);
    expect(out[1]).toBeCloseTo(Math.exp(-20), 12);
    expect(out[2]).toBe(0.5);
  });
});

describe('TANH', () => {
  it('int8 gives TFLM\'s fixed-point results, saturating outside the input radius', () => {
    const x = [0, -6, 2, 4, -4, -2, 8, 1, 0.5, 0.25];
    const [out] = runSingleOp('TANH', undefined, [i8([1, 10], 0.05, 0, q(x, 0.05, 0))], [i8([1, 10], 1 / 128, 0)]);
    expect(out).toEqual([0, -128, 123, 127, -128, -123, 127, 97, 59, 31]);
    dequant(out, 1 / 128, 0).forEach((v, i) => expect(Math.abs(v - Math.tanh(x[i]))).toBeLessThanOrEqual(1 / 128 + 1e-9));
  });
});

describe('HARD_SWISH', () => {
  it('int8 gives TFLM\'s int16 fixed-point results, within two steps of x * relu6(x + 3) / 6', () => {
    const x = [-6, -3.5, -2, -0.5, 0, 0.5, 2.5, 6];
    const [out] = runSingleOp('HARD_SWISH', undefined, [i8([1, 8], 0.05, -5, q(x, 0.05, -5))], [i8([1, 8], 0.03, -100)]);
    expect(out).toEqual([-100, -100, -111, -107, -100, -90, -24, 100]);
    const hs = (v: number): number => (v * Math.min(6, Math.max(0, v + 3))) / 6;
    dequant(out, 0.03, -100).forEach((v, i) => expect(Math.abs(v - hs(x[i]))).toBeLessThanOrEqual(0.06));
  });

  it('float computes x * min(6, max(0, x + 3)) / 6', () => {
    const [out] = runSingleOp('HARD_SWISH', undefined, [f32([4], [-4, -1, 1, 4])], [f32([4])]);
    expect(out.map((v) => Math.round(v * 1e6) / 1e6)).toEqual([-0, -0.333333, 0.666667, 4]);
  });
});

describe('LEAKY_RELU', () => {
  it('int8 matches QuantizedActivationsOpTestLeakyReluInt8_1 (alpha 0.5)', () => {
    const x = [0, 1, 3, 1, -1, -2];
    const [out] = runSingleOp('LEAKY_RELU', options.leakyRelu(0.5), [i8([2, 3], 0.0625, 0, q(x, 0.0625, 0))], [i8([2, 3], 0.0625, 0)]);
    expect(out).toEqual(q([0, 1, 3, 1, -0.5, -1], 0.0625, 0));
  });

  it('float matches FloatActivationsOpTestLeakyRelu', () => {
    const [out] = runSingleOp('LEAKY_RELU', options.leakyRelu(0.5), [f32([2, 3], [0, 1, 3, 1, -1, -2])], [f32([2, 3])]);
    expect(out).toEqual([0, 1, 3, 1, -0.5, -1]);
  });
});

describe('RELU and RELU6', () => {
  it('int8 RELU requantizes to the output scale and clamps at the output zero point', () => {
    const [out] = runSingleOp('RELU', undefined, [i8([1, 6], 0.05, -5, [-128, -6, -5, -4, 60, 127])], [i8([1, 6], 0.03, -128)]);
    // (q + 5) * 0.05 / 0.03 - 128, clamped to [-128, 127]; 1 * 5/3 = 1.67 -> 2.
    expect(out).toEqual([-128, -128, -128, -126, -20, 92]);
  });

  it('int8 RELU6 clamps to the input\'s quantized 0 and 6 without requantizing (as TFLM does)', () => {
    const [out] = runSingleOp('RELU6', undefined, [i8([1, 6], 0.05, -10, [-128, -11, -10, 50, 110, 127])], [i8([1, 6], 0.05, -10)]);
    expect(out).toEqual([-10, -10, -10, 50, 110, 110]);
  });

  it('float RELU and RELU6 clamp', () => {
    expect(runSingleOp('RELU', undefined, [f32([3], [-1, 0.5, 7])], [f32([3])])[0]).toEqual([0, 0.5, 7]);
    expect(runSingleOp('RELU6', undefined, [f32([3], [-1, 0.5, 7])], [f32([3])])[0]).toEqual([0, 0.5, 6]);
  });
});
