/** QUANTIZE and DEQUANTIZE, hand-computed and checked against a host build of tflite-micro @ 90b983c2. */
import { describe, expect, it } from 'vitest';
import { runSingleOp, type OpTensor } from '../testing/single-op.js';

const i8 = (shape: number[], scale: number, zeroPoint: number, data?: number[]): OpTensor =>
  ({ type: 'int8', shape, quantization: { scale, zeroPoint }, data });

describe('QUANTIZE', () => {
  it('float -> int8 rounds halves away from zero and saturates', () => {
    const [out] = runSingleOp('QUANTIZE', undefined,
      [{ type: 'float32', shape: [1, 8], data: [-10, -0.125, -0.0625, 0, 0.0625, 0.1875, 1.5, 10] }], [i8([1, 8], 0.125, -1)]);
    // x / 0.125 = -80, -1, -0.5, 0, 0.5, 1.5, 12, 80 -> round -> -80, -1, -1, 0, 1, 2, 12, 80; + zp -1.
    expect(out).toEqual([-81, -2, -2, -1, 0, 1, 11, 79]);
  });

  it('int8 -> int8 requantizes with the double-rounding multiplier', () => {
    const [out] = runSingleOp('QUANTIZE', undefined, [i8([1, 6], 0.5, -5, [-128, -6, -5, 0, 100, 127])], [i8([1, 6], 0.3, 7)]);
    // (q + 5) * 5/3 + 7: -205 -> -128, -1.67 -> 5, 0 -> 7, 8.33 -> 15, 175 -> 127, 220 -> 127.
    expect(out).toEqual([-128, 5, 7, 15, 127, 127]);
  });

  it('int8 -> uint8 with a 128 zero-point shift flips the sign bit', () => {
    const [out] = runSingleOp('QUANTIZE', undefined, [i8([4], 0.5, -3, [-128, -3, 0, 127])],
      [{ type: 'uint8', shape: [4], quantization: { scale: 0.5, zeroPoint: 125 } }]);
    expect(out).toEqual([0, 125, 128, 255]);
  });
});

describe('DEQUANTIZE', () => {
  it('int8 -> float32 is scale * (q - zero_point)', () => {
    const [out] = runSingleOp('DEQUANTIZE', undefined, [i8([1, 4], 0.5, -5, [-128, -5, 0, 127])], [{ type: 'float32', shape: [1, 4] }]);
    expect(out).toEqual([-61.5, 0, 2.5, 66]);
  });
});
