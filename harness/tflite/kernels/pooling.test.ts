/** AVERAGE_POOL_2D and MAX_POOL_2D against tflite-micro `micro/kernels/pooling_test.cc` @ 90b983c2. */
import { describe, expect, it } from 'vitest';
import { options } from '../builder.js';
import type { FusedActivation, Padding } from '../model.js';
import { runSingleOp } from '../testing/single-op.js';

function pool(op: 'AVERAGE_POOL_2D' | 'MAX_POOL_2D', type: 'int8' | 'float32', input: number[], scale: number,
  stride: [number, number], outShape: number[], padding: Padding = 'VALID', act: FusedActivation = 'NONE', filter: [number, number] = [2, 2]): number[] {
  const quantization = type === 'int8' ? { scale, zeroPoint: 0 } : undefined;
  return runSingleOp(op, options.pool2d({ filterHeight: filter[0], filterWidth: filter[1], strideH: stride[0], strideW: stride[1], padding, fusedActivation: act }),
    [{ type, shape: [1, 2, 4, 1], quantization, data: input }], [{ type, shape: outShape, quantization }])[0];
}

describe('AVERAGE_POOL_2D', () => {
  it('float matches SimpleAveragePoolTestFloat', () => {
    expect(pool('AVERAGE_POOL_2D', 'float32', [0, 6, 2, 4, 3, 2, 10, 7], 1, [2, 2], [1, 1, 2, 1])).toEqual([2.75, 5.75]);
  });

  it('int8 rounds half away from zero like the C reference (upstream goldens)', () => {
    const input = [0, -24, 8, 16, 12, 8, -40, 28];
    expect(pool('AVERAGE_POOL_2D', 'int8', input, 0.25, [2, 2], [1, 1, 2, 1])).toEqual([-1, 3]);
    expect(pool('AVERAGE_POOL_2D', 'int8', input, 0.25, [2, 1], [1, 1, 3, 1], 'VALID', 'RELU')).toEqual([0, 0, 3]);
    expect(pool('AVERAGE_POOL_2D', 'int8', input, 0.25, [1, 2], [1, 1, 2, 1], 'VALID', 'RELU_N1_TO_1')).toEqual([-1, 3]);
    const input2 = [12, -24, 32, 16, 12, 8, 40, 28];
    expect(pool('AVERAGE_POOL_2D', 'int8', input2, 0.25, [2, 2], [1, 1, 2, 1], 'VALID', 'RELU6')).toEqual([2, 24]);
  });

  it('int8 SAME padding averages only the in-image pixels (SimpleAveragePoolTestInt8PaddingSameStride1ActNone)', () => {
    const input2 = [12, -24, 32, 16, 12, 8, 40, 28];
    expect(pool('AVERAGE_POOL_2D', 'int8', input2, 0.25, [1, 1], [1, 2, 4, 1], 'SAME')).toEqual([2, 14, 29, 22, 10, 24, 34, 28]);
  });

  it('rejects int8 pooling that changes the quantization (TFLM requires the same)', () => {
    expect(() => runSingleOp('AVERAGE_POOL_2D', options.pool2d({ filterHeight: 1, filterWidth: 1 }),
      [{ type: 'int8', shape: [1, 1, 1, 1], quantization: { scale: 1, zeroPoint: 0 }, data: [1] }],
      [{ type: 'int8', shape: [1, 1, 1, 1], quantization: { scale: 0.5, zeroPoint: 0 } }]))
      .toThrow(/int8 pooling needs the same scale and zero point/);
  });
});

describe('MAX_POOL_2D', () => {
  it('int8 matches SimpleMaxPoolTestInt8ActNone and the fused activations', () => {
    expect(pool('MAX_POOL_2D', 'int8', [0, 6, 2, 4, 3, 2, 10, 7], 1, [2, 2], [1, 1, 2, 1])).toEqual([6, 10]);
    expect(pool('MAX_POOL_2D', 'int8', [-3, -12, 4, 8, -6, -4, 20, 14], 0.5, [2, 2], [1, 1, 2, 1], 'VALID', 'RELU')).toEqual([0, 20]);
    expect(pool('MAX_POOL_2D', 'int8', [-2, -6, -2, -4, -3, -2, 10, 7], 1, [2, 2], [1, 1, 2, 1], 'VALID', 'RELU_N1_TO_1')).toEqual([-1, 1]);
  });

  it('float SAME padding ignores the padded border', () => {
    expect(pool('MAX_POOL_2D', 'float32', [-1, -2, -3, -4, -5, -6, -7, -8], 1, [1, 1], [1, 2, 4, 1], 'SAME', 'NONE', [3, 3]))
      .toEqual([-1, -1, -2, -3, -1, -1, -2, -3]);
  });
});
