/** RESHAPE, SQUEEZE, CONCATENATION, PAD and MEAN (hand-computed; int8 MEAN checked against a host build of tflite-micro @ 90b983c2). */
import { describe, expect, it } from 'vitest';
import { options } from '../builder.js';
import { runSingleOp, type OpTensor } from '../testing/single-op.js';

const i8 = (shape: number[], scale: number, zeroPoint: number, data?: number[]): OpTensor =>
  ({ type: 'int8', shape, quantization: { scale, zeroPoint }, data });
const int32 = (shape: number[], data: number[]): OpTensor => ({ type: 'int32', shape, data, constant: true });

describe('RESHAPE and SQUEEZE', () => {
  it('keep the bytes in order', () => {
    expect(runSingleOp('RESHAPE', options.reshape([3, 2]), [i8([2, 3], 1, 0, [1, 2, 3, 4, 5, 6]), int32([2], [3, 2])], [i8([3, 2], 1, 0)])[0])
      .toEqual([1, 2, 3, 4, 5, 6]);
    expect(runSingleOp('SQUEEZE', options.squeeze([0]), [{ type: 'float32', shape: [1, 2], data: [1.5, -2] }], [{ type: 'float32', shape: [2] }])[0])
      .toEqual([1.5, -2]);
  });

  it('rejects a reshape that changes the element count', () => {
    expect(() => runSingleOp('RESHAPE', options.reshape([4]), [i8([2, 3], 1, 0, [1, 2, 3, 4, 5, 6])], [i8([4], 1, 0)]))
      .toThrow('reshape.tflite: operator 0 (RESHAPE): cannot reshape [2, 3] into [4]: element counts differ');
  });
});

describe('CONCATENATION', () => {
  it('joins along an inner axis', () => {
    const [out] = runSingleOp('CONCATENATION', options.concatenation(1), [
      { type: 'float32', shape: [2, 1], data: [1, 2] }, { type: 'float32', shape: [2, 2], data: [3, 4, 5, 6] },
    ], [{ type: 'float32', shape: [2, 3] }]);
    expect(out).toEqual([1, 3, 4, 2, 5, 6]);
  });

  it('int8 inputs must share the output quantization (TFLM does not rescale)', () => {
    expect(() => runSingleOp('CONCATENATION', options.concatenation(0),
      [i8([1], 1, 0, [1]), i8([1], 0.5, 0, [1])], [i8([2], 1, 0)])).toThrow(/different scale or zero point/);
  });

  it('a fused activation is refused like TFLM refuses it', () => {
    expect(() => runSingleOp('CONCATENATION', options.concatenation(0, 'RELU'),
      [i8([1], 1, 0, [1]), i8([1], 1, 0, [1])], [i8([2], 1, 0)])).toThrow(/requires NONE/);
  });
});

describe('PAD', () => {
  it('int8 pads with the output zero point', () => {
    const [out] = runSingleOp('PAD', undefined, [i8([1, 2, 2, 1], 0.5, -7, [1, 2, 3, 4]), int32([4, 2], [0, 0, 1, 0, 0, 2, 0, 0])], [i8([1, 3, 4, 1], 0.5, -7)]);
    expect(out).toEqual([-7, -7, -7, -7, 1, 2, -7, -7, 3, 4, -7, -7]);
  });

  it('float pads with zeros on both sides', () => {
    const [out] = runSingleOp('PAD', undefined, [{ type: 'float32', shape: [2], data: [1, 2] }, int32([1, 2], [1, 2])], [{ type: 'float32', shape: [5] }]);
    expect(out).toEqual([0, 1, 2, 0, 0]);
  });
});

describe('MEAN', () => {
  it('int8 over H and W folds 1/count into the multiplier (TFLM reference)', () => {
    const [out] = runSingleOp('MEAN', options.reducer(true),
      [i8([1, 2, 3, 2], 0.5, -1, [-128, -100, 0, 5, 7, 9, 127, 126, 3, -3, 20, -20]), int32([2], [1, 2])], [i8([1, 1, 1, 2], 0.1, 3)]);
    // Channel 0: mean q = 29/6 -> (29/6 + 1) * 0.5 / 0.1 + 3 = 32.2 -> 32; channel 1: 17/6 -> 22.2 -> 22.
    expect(out).toEqual([32, 22]);
  });

  it('int8 over the last axis (negative axis) without keep_dims saturates', () => {
    const [out] = runSingleOp('MEAN', options.reducer(false), [i8([1, 2, 3], 0.5, -1, [-128, -100, 0, 5, 7, 9]), int32([1], [-1])], [i8([1, 2], 0.25, 3)]);
    expect(out).toEqual([-128, 19]);
  });

  it('float averages', () => {
    const [out] = runSingleOp('MEAN', options.reducer(false), [{ type: 'float32', shape: [2, 2], data: [1, 2, 3, 5] }, int32([1], [0])], [{ type: 'float32', shape: [2] }]);
    expect(out).toEqual([2, 3.5]);
  });
});
