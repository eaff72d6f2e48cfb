/**
 * ADD, SUB, MUL against tflite-micro's test vectors (`micro/kernels/add_test.cc`, `sub_test.cc`,
 * `mul_test.cc` @ 90b983c2): inputs quantized like the upstream helpers, outputs equal to the
 * quantized goldens (checked against a host build of TFLM too).
 */
import { describe, expect, it } from 'vitest';
import { options } from '../builder.js';
import { quantizeValues as q, runSingleOp, type OpTensor } from '../testing/single-op.js';
import { broadcastIndex, broadcastShape } from './elementwise.js';

const i8 = (shape: number[], scale: number, zeroPoint: number, data?: number[]): OpTensor =>
  ({ type: 'int8', shape, quantization: { scale, zeroPoint }, data });
const f32 = (shape: number[], data?: number[]): OpTensor => ({ type: 'float32', shape, data });

describe('ADD', () => {
  const a = q([-2.01, -1.01, -0.01, 0.98], 0.25, -10);
  const b = q([1.01, 1.99, 2.99, 4.02], 0.5, 4);

  it('int8 with three different scales matches QuantizedAddNoActivationInt8', () => {
    const [out] = runSingleOp('ADD', options.elementwise(), [i8([1, 2, 2, 1], 0.25, -10, a), i8([1, 2, 2, 1], 0.5, 4, b)], [i8([1, 2, 2, 1], 1, 13)]);
    expect(out).toEqual(q([-1, 1, 3, 5], 1, 13));
  });

  it('int8 fused RELU_N1_TO_1 matches QuantizedAddActivationRelu1Int8', () => {
    const [out] = runSingleOp('ADD', options.elementwise('RELU_N1_TO_1'), [i8([1, 2, 2, 1], 0.25, -10, a), i8([1, 2, 2, 1], 0.5, 4, b)], [i8([1, 2, 2, 1], 1, 13)]);
    expect(out).toEqual(q([-1, 1, 1, 1], 1, 13));
  });

  const b1 = [-0.3, 2.3, 0.9, 0.5, 0.8, -1.1, 1.2, 2.8, -1.6, 0.0, 0.7, -2.2];
  const b2 = [0.2, 0.3, -0.4, 0.5, 1.0, 0.9];
  const golden = [
    -0.1, 2.6, -0.7, 2.8, 0.7, 3.2, 1.1, 0.8, 0.5, 1.0, 1.9, 1.4,
    1.0, -0.8, 0.4, -0.6, 1.8, -0.2, 1.4, 3.1, 0.8, 3.3, 2.2, 3.7,
    -1.4, 0.3, -2.0, 0.5, -0.6, 0.9, 0.9, -1.9, 0.3, -1.7, 1.7, -1.3,
  ];

  it('broadcasts both inputs (float, add_test.cc broadcast shape 0: [2,3,1,2] + [1,1,3,2])', () => {
    const [out] = runSingleOp('ADD', options.elementwise(), [f32([2, 3, 1, 2], b1), f32([1, 1, 3, 2], b2)], [f32([2, 3, 3, 2])]);
    out.forEach((v, i) => expect(v).toBeCloseTo(golden[i], 5));
  });

  it('broadcasts both inputs in int8 exactly', () => {
    const [out] = runSingleOp('ADD', options.elementwise(),
      [i8([2, 3, 1, 2], 0.1, 0, q(b1, 0.1, 0)), i8([1, 1, 3, 2], 0.1, 0, q(b2, 0.1, 0))], [i8([2, 3, 3, 2], 0.1, 0)]);
    expect(out).toEqual(q(golden, 0.1, 0));
  });

  it('rejects shapes that do not broadcast, naming both', () => {
    expect(() => runSingleOp('ADD', options.elementwise(), [f32([1, 3], [1, 2, 3]), f32([1, 4], [1, 2, 3, 4])], [f32([1, 4])]))
      .toThrow('add.tflite: operator 0 (ADD): input shapes [1, 3] and [1, 4] do not broadcast');
  });

  it('rejects an output scale so small that TFLM refuses the rescale', () => {
    expect(() => runSingleOp('ADD', options.elementwise(), [i8([1], 1, 0, [1]), i8([1], 1, 0, [1])], [i8([1], 1e-7, 0)]))
      .toThrow(/too small/);
  });
});

describe('SUB', () => {
  it('int8 matches QuantizedSubNoActivationInt8', () => {
    const [out] = runSingleOp('SUB', options.elementwise(), [
      i8([1, 2, 2, 1], 0.25, -10, q([-2.01, -1.01, -0.01, 0.98], 0.25, -10)),
      i8([1, 2, 2, 1], 0.5, 4, q([-1.01, -1.99, -2.99, -4.02], 0.5, 4)),
    ], [i8([1, 2, 2, 1], 1, 13)]);
    expect(out).toEqual(q([-1, 1, 3, 5], 1, 13));
  });

  it('float subtracts a broadcast row', () => {
    const [out] = runSingleOp('SUB', options.elementwise(), [f32([2, 2], [5, 6, 7, 8]), f32([2], [1, 2])], [f32([2, 2])]);
    expect(out).toEqual([4, 4, 6, 6]);
  });
});

describe('MUL', () => {
  it('int8 matches SimpleInt8NoActivationShouldMatchGolden', () => {
    const [out] = runSingleOp('MUL', options.elementwise(), [
      i8([1, 2, 2, 1], 0.01, 0, q([-0.8, 0.2, 0.9, 0.7], 0.01, 0)),
      i8([1, 2, 2, 1], 0.01, 0, q([0.6, 0.4, 0.9, 0.8], 0.01, 0)),
    ], [i8([1, 2, 2, 1], 0.01, 0)]);
    expect(out).toEqual(q([-0.48, 0.08, 0.81, 0.56], 0.01, 0));
  });

  it('int8 broadcasts a scalar (BroadcastInt8NoActivationShouldMatchGolden)', () => {
    const [out] = runSingleOp('MUL', options.elementwise(), [
      i8([1, 3, 1, 2], 0.05, 0, q([-2.0, 0.2, 0.7, 0.8, 1.1, 2.0], 0.05, 0)),
      i8([1], 0.05, 0, q([0.1], 0.05, 0)),
    ], [i8([1, 3, 1, 2], 0.01, 0)]);
    expect(out).toEqual(q([-0.2, 0.02, 0.07, 0.08, 0.11, 0.2], 0.01, 0));
  });

  it('float fused RELU (BroadcastFloatReluShouldMatchGolden)', () => {
    const [out] = runSingleOp('MUL', options.elementwise('RELU'),
      [f32([1, 3, 1, 2], [-2.0, 0.2, 0.7, 0.8, 1.1, 2.0]), f32([1], [0.1])], [f32([1, 3, 1, 2])]);
    [0, 0.02, 0.07, 0.08, 0.11, 0.2].forEach((g, i) => expect(out[i]).toBeCloseTo(g, 6));
  });
});

describe('broadcast helpers', () => {
  it('computes NumPy broadcast shapes and index maps', () => {
    expect(broadcastShape([2, 1, 3], [4, 1])).toEqual([2, 4, 3]);
    expect(broadcastShape([2, 3], [3, 2])).toBeNull();
    expect(Array.from(broadcastIndex([1, 3], [2, 3]))).toEqual([0, 1, 2, 0, 1, 2]);
    expect(Array.from(broadcastIndex([2, 1], [2, 3]))).toEqual([0, 0, 0, 1, 1, 1]);
  });
});
