/**
 * CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED against tflite-micro's own test vectors
 * (`micro/kernels/conv_test.cc`, `depthwise_conv_test.cc`, `fully_connected_test.cc` @ 90b983c2).
 * The int8 cases quantize those vectors the way the upstream tests do (symmetric per-channel
 * weights, bias at input x weight scale); their expected outputs are the upstream float goldens
 * quantized to the output scale, and were also checked against a host build of TFLM.
 */
import { describe, expect, it } from 'vitest';
import { options } from '../builder.js';
import { runSingleOp, type OpTensor } from '../testing/single-op.js';

// conv_test.cc kInputData / kFilterData / kBiasData / kGoldenData (2x2x4x1 input, 3x2x2x1 filter, stride 2).
const convInput = [1, 1, 1, 1, 2, 2, 2, 2, 1, 2, 3, 4, 1, 2, 3, 4];
const convFilter = [1, 2, 3, 4, -1, 1, -1, 1, -1, -1, 1, 1];
const convGolden = [18, 2, 5, 18, 2, 5, 17, 4, 3, 37, 4, 3];
const convScales = [4 / 127, 1 / 127, 1 / 127].map(Math.fround);

function int8Conv(outputScale: number, outputZeroPoint: number): number[] {
  const inputs: OpTensor[] = [
    { type: 'int8', shape: [2, 2, 4, 1], quantization: { scale: 0.5, zeroPoint: 0 }, data: convInput.map((x) => x * 2) },
    {
      type: 'int8', shape: [3, 2, 2, 1], constant: true,
      quantization: { scale: convScales, zeroPoint: [0, 0, 0], quantizedDimension: 0 },
      data: [32, 64, 95, 127, -127, 127, -127, 127, -127, -127, 127, 127], // round(w / scale[c])
    },
    {
      type: 'int32', shape: [3], constant: true,
      quantization: { scale: convScales.map((s) => 0.5 * s), zeroPoint: [0, 0, 0] },
      data: [64, 508, 762], // round(b / (0.5 * scale[c]))
    },
  ];
  return runSingleOp('CONV_2D', options.conv2d({ strideH: 2, strideW: 2 }), inputs,
    [{ type: 'int8', shape: [2, 1, 2, 3], quantization: { scale: outputScale, zeroPoint: outputZeroPoint } }])[0];
}

describe('CONV_2D', () => {
  it('float matches conv_test.cc SimpleTestFloat', () => {
    const [out] = runSingleOp('CONV_2D', options.conv2d({ strideH: 2, strideW: 2 }), [
      { type: 'float32', shape: [2, 2, 4, 1], data: convInput },
      { type: 'float32', shape: [3, 2, 2, 1], data: convFilter, constant: true },
      { type: 'float32', shape: [3], data: [1, 2, 3], constant: true },
    ], [{ type: 'float32', shape: [2, 1, 2, 3] }]);
    expect(out).toEqual(convGolden);
  });

  it('int8 per-channel matches conv_test.cc SimpleTestQuantizedPerChannel exactly', () => {
    expect(int8Conv(1, 0)).toEqual(convGolden);
  });

  it('int8 with a left-shifting multiplier (shift > 0) saturates at 127', () => {
    // Output scale 0.25: effective multipliers 0.5 * s[c] / 0.25 > 1 for channel 0 (shift > 0).
    expect(int8Conv(0.25, -20)).toEqual(convGolden.map((g) => Math.min(127, g * 4 - 20)));
  });

  it('int8 fused RELU clamps at the output zero point', () => {
    const [out] = runSingleOp('CONV_2D', options.conv2d({ fusedActivation: 'RELU' }), [
      { type: 'int8', shape: [1, 1, 2, 1], quantization: { scale: 1, zeroPoint: 0 }, data: [3, -5] },
      { type: 'int8', shape: [2, 1, 1, 1], quantization: { scale: 1, zeroPoint: 0 }, data: [1, -1], constant: true },
      null,
    ], [{ type: 'int8', shape: [1, 1, 2, 2], quantization: { scale: 1, zeroPoint: -10 } }]);
    // Real outputs 3, -3, -5, 5 -> q = real - 10, clamped below at q(0) = -10.
    expect(out).toEqual([-7, -10, -10, -5]);
  });

  it('SAME padding with stride 2 puts the odd padding pixel after (float, hand-computed)', () => {
    // 4x4 input of ones, 3x3 filter of ones, SAME, stride 2: total padding 1 -> 0 before, 1 after.
    const [out] = runSingleOp('CONV_2D', options.conv2d({ padding: 'SAME', strideH: 2, strideW: 2 }), [
      { type: 'float32', shape: [1, 4, 4, 1], data: new Array(16).fill(1) },
      { type: 'float32', shape: [1, 3, 3, 1], data: new Array(9).fill(1), constant: true },
      null,
    ], [{ type: 'float32', shape: [1, 2, 2, 1] }]);
    expect(out).toEqual([9, 6, 6, 4]);
  });

  it('dilation 2 samples every other pixel (float, hand-computed)', () => {
    const input = Array.from({ length: 25 }, (_, i) => i); // 5x5, value = index
    const [out] = runSingleOp('CONV_2D', options.conv2d({ dilationH: 2, dilationW: 2 }), [
      { type: 'float32', shape: [1, 5, 5, 1], data: input },
      { type: 'float32', shape: [1, 2, 2, 1], data: [1, 1, 1, 1], constant: true },
      null,
    ], [{ type: 'float32', shape: [1, 3, 3, 1] }]);
    // Output (y, x) sums input (y, x), (y, x+2), (y+2, x), (y+2, x+2) = 4 * (5y + x) + 24.
    expect(out).toEqual([24, 28, 32, 44, 48, 52, 64, 68, 72]);
  });

  it('rejects an output shape that does not match the padding, naming the file and operator', () => {
    expect(() => runSingleOp('CONV_2D', options.conv2d({ padding: 'VALID' }), [
      { type: 'float32', shape: [1, 4, 4, 1], data: new Array(16).fill(1) },
      { type: 'float32', shape: [1, 3, 3, 1], data: new Array(9).fill(1), constant: true },
      null,
    ], [{ type: 'float32', shape: [1, 4, 4, 1] }])).toThrow(
      'conv_2d.tflite: operator 0 (CONV_2D): output shape [1, 4, 4, 1] does not match VALID padding (expected [1, 2, 2, 1])');
  });

  it('rejects hybrid models (int8 input with float weights), as TFLM does', () => {
    expect(() => runSingleOp('CONV_2D', options.conv2d(), [
      { type: 'int8', shape: [1, 1, 1, 1], quantization: { scale: 1, zeroPoint: 0 }, data: [1] },
      { type: 'float32', shape: [1, 1, 1, 1], data: [1], constant: true },
      null,
    ], [{ type: 'int8', shape: [1, 1, 1, 1], quantization: { scale: 1, zeroPoint: 0 } }])).toThrow(/filter tensor 'in1' is float32; supported: int8/);
  });
});

// depthwise_conv_test.cc SimpleTest: 1x3x2x2 input, 1x2x2x4 filter (depth multiplier 2).
const dwInput = [1, 2, 7, 8, 3, 4, 9, 10, 5, 6, 11, 12];
const dwFilter = [1, 2, 3, 4, -9, 10, -11, 12, 5, 6, 7, 8, 13, -14, 15, -16];
const dwGolden = [71, -34, 99, -20, 91, -26, 127, -4];

describe('DEPTHWISE_CONV_2D', () => {
  it('float matches depthwise_conv_test.cc SimpleTest (depth multiplier 2)', () => {
    const [out] = runSingleOp('DEPTHWISE_CONV_2D', options.depthwiseConv2d({ depthMultiplier: 2 }), [
      { type: 'float32', shape: [1, 3, 2, 2], data: dwInput },
      { type: 'float32', shape: [1, 2, 2, 4], data: dwFilter, constant: true },
      { type: 'float32', shape: [4], data: [1, 2, 3, 4], constant: true },
    ], [{ type: 'float32', shape: [1, 2, 1, 4] }]);
    expect(out).toEqual(dwGolden);
  });

  it('int8 per-channel (dimension 3) with an input zero point matches the golden, saturating 132 to 127', () => {
    const scales = [13 / 127, 14 / 127, 15 / 127, 16 / 127].map(Math.fround);
    const [out] = runSingleOp('DEPTHWISE_CONV_2D', options.depthwiseConv2d({ depthMultiplier: 2 }), [
      { type: 'int8', shape: [1, 3, 2, 2], quantization: { scale: 0.5, zeroPoint: -3 }, data: dwInput.map((x) => 2 * x - 3) },
      {
        type: 'int8', shape: [1, 2, 2, 4], constant: true,
        quantization: { scale: scales, zeroPoint: [0, 0, 0, 0], quantizedDimension: 3 },
        data: [10, 18, 25, 32, -88, 91, -93, 95, 49, 54, 59, 64, 127, -127, 127, -127],
      },
      { type: 'int32', shape: [4], constant: true, quantization: { scale: scales.map((s) => 0.5 * s), zeroPoint: [0, 0, 0, 0] }, data: [20, 36, 51, 64] },
    ], [{ type: 'int8', shape: [1, 2, 1, 4], quantization: { scale: 1, zeroPoint: 5 } }]);
    expect(out).toEqual(dwGolden.map((g) => Math.min(127, g + 5)));
  });

  it('rejects a depth_multiplier that contradicts the shapes', () => {
    expect(() => runSingleOp('DEPTHWISE_CONV_2D', options.depthwiseConv2d({ depthMultiplier: 3 }), [
      { type: 'float32', shape: [1, 3, 2, 2], data: dwInput },
      { type: 'float32', shape: [1, 2, 2, 4], data: dwFilter, constant: true },
      null,
    ], [{ type: 'float32', shape: [1, 2, 1, 4] }])).toThrow(/depth_multiplier 3 does not match 2 input and 4 output channels/);
  });
});

// fully_connected_test.cc simple_* data: 2 batches x 10 inputs, 3 units.
const fcInput = [1, 2, 3, 4, 5, 6, 7, 8, -9, -10, 1, 2, 3, 4, 5, 6, 7, -8, 9, -10];
const fcWeights = [0, 1, 2].flatMap(() => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

describe('FULLY_CONNECTED', () => {
  it('float matches fully_connected_test.cc simple_golden and relu_golden', () => {
    const run = (weights: number[], bias: number[], act: 'NONE' | 'RELU'): number[] =>
      runSingleOp('FULLY_CONNECTED', options.fullyConnected({ fusedActivation: act }), [
        { type: 'float32', shape: [2, 10], data: fcInput },
        { type: 'float32', shape: [3, 10], data: weights, constant: true },
        { type: 'float32', shape: [3], data: bias, constant: true },
      ], [{ type: 'float32', shape: [2, 3] }])[0];
    expect(run(fcWeights, [1, 2, 3], 'NONE')).toEqual([24, 25, 26, 58, 59, 60]);
    const reluWeights = [...fcWeights.slice(0, 10), ...fcWeights.slice(10, 20).map((w) => -w), ...fcWeights.slice(20)];
    expect(run(reluWeights, [1, -2, 3], 'RELU')).toEqual([24, 0, 26, 58, 0, 60]);
  });

  it('int8 matches SimpleTestQuantizedInt8 (input zero point -1, output scale 0.5)', () => {
    const [out] = runSingleOp('FULLY_CONNECTED', options.fullyConnected(), [
      { type: 'int8', shape: [2, 10], quantization: { scale: 1, zeroPoint: -1 }, data: fcInput.map((x) => x - 1) },
      { type: 'int8', shape: [3, 10], quantization: { scale: 1, zeroPoint: 0 }, data: fcWeights, constant: true },
      { type: 'int32', shape: [3], quantization: { scale: 1, zeroPoint: 0 }, data: [1, 2, 3], constant: true },
    ], [{ type: 'int8', shape: [2, 3], quantization: { scale: 0.5, zeroPoint: -1 } }]);
    expect(out).toEqual([24, 25, 26, 58, 59, 60].map((g) => 2 * g - 1));
  });

  it('int8 without bias and a 4-D input flattens like TFLM', () => {
    const [out] = runSingleOp('FULLY_CONNECTED', options.fullyConnected(), [
      { type: 'int8', shape: [1, 2, 1, 2], quantization: { scale: 1, zeroPoint: 0 }, data: [1, 2, 3, 4] },
      { type: 'int8', shape: [2, 4], quantization: { scale: 1, zeroPoint: 0 }, data: [1, 1, 1, 1, 1, -1, 1, -1], constant: true },
      null,
    ], [{ type: 'int8', shape: [1, 2], quantization: { scale: 1, zeroPoint: 0 } }]);
    expect(out).toEqual([10, -2]);
  });
});
