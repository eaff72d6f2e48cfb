import { describe, expect, it } from 'vitest';
import { asymmetricParams, biasSafeWeightScales, dequantizeValue, quantizeBias, quantizeValue, quantizeWeightsSymmetric } from './params.js';

const f = Math.fround;

describe('activation parameters (asymmetric, 0 exact)', () => {
  it('maps [0, 1] to scale 1/255, zero point -128 (int8) or 0 (uint8)', () => {
    expect(asymmetricParams(0, 1)).toEqual({ scale: f(1 / 255), zeroPoint: -128 });
    expect(asymmetricParams(0, 1, 'uint8')).toEqual({ scale: f(1 / 255), zeroPoint: 0 });
  });

  it('widens a range that excludes 0 to include it', () => {
    expect(asymmetricParams(0.5, 2)).toEqual({ scale: f(2 / 255), zeroPoint: -128 });
    // [-3, -1] -> [-3, 0]: zero point from min = -128 + 3 / (3/255) = 127.
    expect(asymmetricParams(-3, -1)).toEqual({ scale: f(3 / 255), zeroPoint: 127 });
  });

  it('nudges the zero point to an integer so real 0 is exactly representable', () => {
    // [-0.3, 5.7]: scale 6/255; zero point from min = -128 + 0.3 / (6/255) = -115.25 -> -115.
    const p = asymmetricParams(-0.3, 5.7);
    expect(p).toEqual({ scale: f(f(f(5.7) - f(-0.3)) / 255), zeroPoint: -115 }); // float32 arithmetic, as in C
    expect(dequantizeValue(p.zeroPoint, p)).toBe(0);
    expect(quantizeValue(0, p)).toBe(-115);
    // [-1, 1]: -128 + 127.5 = -0.5 rounds half away from zero to -1 (TfLiteRound = std::round).
    expect(asymmetricParams(-1, 1)).toEqual({ scale: f(2 / 255), zeroPoint: -1 });
    // uint8: 0 + 1 / f(2/255) is 127.49999 in float32 (as in C), so 127, not 128.
    expect(asymmetricParams(-1, 1, 'uint8')).toEqual({ scale: f(2 / 255), zeroPoint: 127 });
  });

  it('gives a range that is only 0 scale 1 instead of a scale of 0', () => {
    expect(asymmetricParams(0, 0)).toEqual({ scale: 1, zeroPoint: -128 });
  });

  it('quantizes values with rounding and clamping', () => {
    const p = { scale: 0.1, zeroPoint: 3 };
    expect(quantizeValue(1.04, p)).toBe(13);
    expect(quantizeValue(-0.26, p)).toBe(0); // -2.6 -> -3, + 3
    expect(quantizeValue(100, p)).toBe(127);
    expect(quantizeValue(-100, p)).toBe(-128);
    expect(quantizeValue(-100, { scale: 0.1, zeroPoint: 3 }, 'uint8')).toBe(0);
  });
});

describe('weight quantization (symmetric, int8 in [-127, 127])', () => {
  it('gives every output channel of a CONV_2D filter (dim 0) its own scale', () => {
    // [2, 1, 1, 2]: channel 0 = [0.5, -1], channel 1 = [0.25, 0.1]
    const w = quantizeWeightsSymmetric(Float32Array.of(0.5, -1, 0.25, 0.1), [2, 1, 1, 2], 0);
    expect(w.axis).toBe(0);
    expect(w.scales).toEqual([f(1 / 127), f(0.25 / 127)]);
    // 0.5 * 127 = 63.5 -> 64 (half away from zero); 0.1 * 127 / 0.25 = 50.8 -> 51
    expect(Array.from(w.values)).toEqual([64, -127, 127, 51]);
  });

  it('takes DEPTHWISE_CONV_2D channels along dim 3 and FULLY_CONNECTED per tensor', () => {
    // [1, 1, 2, 2]: channel = index % 2 -> channel 0 = [2, -0.5], channel 1 = [-4, 1]
    const dw = quantizeWeightsSymmetric(Float32Array.of(2, -4, -0.5, 1), [1, 1, 2, 2], 3);
    expect(dw.axis).toBe(3);
    expect(dw.scales).toEqual([f(2 / 127), f(4 / 127)]);
    expect(Array.from(dw.values)).toEqual([127, -127, -32, 32]); // -0.5*63.5 = -31.75 -> -32; 1*31.75 -> 32
    const fc = quantizeWeightsSymmetric(Float32Array.of(2, -4, -0.5, 1), [2, 2], null);
    expect(fc.scales).toEqual([f(4 / 127)]);
    expect(Array.from(fc.values)).toEqual([64, -127, -16, 32]); // 2*31.75 = 63.5 -> 64; -0.5*31.75 = -15.875 -> -16
  });

  it('gives an all-zero channel scale 1 (zeros) rather than 0', () => {
    const w = quantizeWeightsSymmetric(Float32Array.of(0, 0, 1, -1), [2, 2], 0);
    expect(w.scales).toEqual([1, f(1 / 127)]);
    expect(Array.from(w.values)).toEqual([0, 0, 127, -127]);
  });
});

describe('bias quantization (int32, scale = input scale x weight scale)', () => {
  it('quantizes per channel with zero point 0', () => {
    const b = quantizeBias(Float32Array.of(1, -0.0125), 0.5, [0.01, 0.02]);
    expect(b.scales).toEqual([f(f(0.5) * f(0.01)), f(f(0.5) * f(0.02))]);
    expect(Array.from(b.values)).toEqual([200, -1]);
    const perTensor = quantizeBias(Float32Array.of(0.3, -0.3), 0.5, [0.01]);
    expect(perTensor.scales).toEqual([f(f(0.5) * f(0.01))]);
    expect(Array.from(perTensor.values)).toEqual([60, -60]);
  });

  it('widens a weight scale when the bias would not fit in the middle half of int32', () => {
    const bias = Float32Array.of(1e6);
    const floor = biasSafeWeightScales(bias, 1e-3);
    expect(floor[0]).toBeCloseTo(2e6 / (2147483647 * 1e-3), 12);
    const w = quantizeWeightsSymmetric(Float32Array.of(1e-4, -2e-4), [1, 2], 0, floor);
    expect(w.scales[0]).toBe(f(floor[0]));
    const q = quantizeBias(bias, 1e-3, w.scales);
    expect(Math.abs(q.values[0] - 2147483647 / 2)).toBeLessThan(200);
    // Without widening the bias saturates at INT32_MAX.
    expect(quantizeBias(bias, 1e-3, [2e-4 / 127]).values[0]).toBe(2147483647);
  });
});
