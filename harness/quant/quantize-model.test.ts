import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../datasets/random.js';
import { LabError } from '../errors.js';
import { GraphBuilder, options } from '../tflite/builder.js';
import { tinyConvInt8 } from '../tflite/example-models.js';
import type { Model, Tensor } from '../tflite/model.js';
import { readModel } from '../tflite/reader.js';
import { writeModel } from '../tflite/writer.js';
import { calibrate, type CalibrationSample } from './calibrate.js';
import { compareWithFloat } from './compare.js';
import { asymmetricParams } from './params.js';
import { QUANTIZABLE_OPERATORS, quantizeModel } from './quantize-model.js';

const f = Math.fround;

function floats(n: number, random: () => number, scale = 1): number[] {
  return Array.from({ length: n }, () => f((random() * 2 - 1) * scale));
}

/** [1,6,6,1] -> CONV_2D 3x3 SAME (4, RELU) -> MAX_POOL_2D 2x2 -> RESHAPE [1,36] -> FC 3 -> SOFTMAX */
function convNet(): Model {
  const random = mulberry32(5);
  const g = new GraphBuilder({ description: 'test conv net' });
  const x = g.addTensor({ name: 'x', type: 'float32', shape: [1, 6, 6, 1] });
  const w = g.addConstant('float32', [4, 3, 3, 1], floats(36, random, 0.8), null, 'conv/w');
  const b = g.addConstant('float32', [4], floats(4, random, 0.1), null, 'conv/b');
  const c = g.addTensor({ name: 'conv', type: 'float32', shape: [1, 6, 6, 4] });
  g.addOperator('CONV_2D', [x, w, b], [c], options.conv2d({ padding: 'SAME', fusedActivation: 'RELU' }));
  const p = g.addTensor({ name: 'pool', type: 'float32', shape: [1, 3, 3, 4] });
  g.addOperator('MAX_POOL_2D', [c], [p], options.pool2d({ filterHeight: 2, filterWidth: 2, strideH: 2, strideW: 2 }));
  const shape = g.addConstant('int32', [2], [1, 36], null, 'shape');
  const r = g.addTensor({ name: 'flat', type: 'float32', shape: [1, 36] });
  g.addOperator('RESHAPE', [p, shape], [r], options.reshape([1, 36]));
  const fw = g.addConstant('float32', [3, 36], floats(108, random, 0.5), null, 'fc/w');
  const fb = g.addConstant('float32', [3], floats(3, random, 0.2), null, 'fc/b');
  const l = g.addTensor({ name: 'logits', type: 'float32', shape: [1, 3] });
  g.addOperator('FULLY_CONNECTED', [r, fw, fb], [l], options.fullyConnected());
  const s = g.addTensor({ name: 'probs', type: 'float32', shape: [1, 3] });
  g.addOperator('SOFTMAX', [l], [s], options.softmax());
  g.setInputs([x]).setOutputs([s]);
  return g.build();
}

/** [1,5,5,3] -> DEPTHWISE_CONV_2D 3x3 (RELU6) -> MEAN over H,W -> FC 2 -> TANH */
function depthwiseNet(): Model {
  const random = mulberry32(9);
  const g = new GraphBuilder();
  const x = g.addTensor({ name: 'x', type: 'float32', shape: [1, 5, 5, 3] });
  const w = g.addConstant('float32', [1, 3, 3, 3], floats(27, random), null, 'dw/w');
  const b = g.addConstant('float32', [3], floats(3, random, 0.3), null, 'dw/b');
  const d = g.addTensor({ name: 'dw', type: 'float32', shape: [1, 5, 5, 3] });
  g.addOperator('DEPTHWISE_CONV_2D', [x, w, b], [d], options.depthwiseConv2d({ padding: 'SAME', fusedActivation: 'RELU6' }));
  const axes = g.addConstant('int32', [2], [1, 2], null, 'axes');
  const m = g.addTensor({ name: 'mean', type: 'float32', shape: [1, 3] });
  g.addOperator('MEAN', [d, axes], [m], options.reducer(false));
  const fw = g.addConstant('float32', [2, 3], floats(6, random), null, 'fc/w');
  const fb = g.addConstant('float32', [2], [0.1, -0.1], null, 'fc/b');
  const h = g.addTensor({ name: 'h', type: 'float32', shape: [1, 2] });
  g.addOperator('FULLY_CONNECTED', [m, fw, fb], [h], options.fullyConnected());
  const t = g.addTensor({ name: 'tanh', type: 'float32', shape: [1, 2] });
  g.addOperator('TANH', [h], [t]);
  g.setInputs([x]).setOutputs([t]);
  return g.build();
}

function samplesFor(model: Model, count: number, seed: number, lo = 0, hi = 1): CalibrationSample[] {
  const random = mulberry32(seed);
  const size = model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]].shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: count }, () => [Float32Array.from({ length: size }, () => lo + random() * (hi - lo))]);
}

const tensor = (m: Model, name: string): Tensor => m.subgraphs[0].tensors.find((t) => t.name === name)!;
const params = (t: Tensor) => ({ scale: t.quantization!.scale[0], zeroPoint: t.quantization!.zeroPoint[0] });
const int8Values = (m: Model, t: Tensor) => Array.from(new Int8Array(m.buffers[t.buffer].slice().buffer));

describe('post-training quantization', () => {
  const float = convNet();
  const calibration = calibrate(float, samplesFor(float, 64, 1));
  const { model } = quantizeModel(float, calibration);
  const q = readModel(writeModel(model)); // what a file would hold

  it('makes every activation int8 with parameters from its calibrated range', () => {
    for (const t of q.subgraphs[0].tensors.filter((x) => q.buffers[x.buffer].length === 0)) expect(t.type).toBe('int8');
    const x = float.subgraphs[0].inputs[0];
    const r = calibration.ranges.get(x)!;
    expect(params(tensor(q, 'x'))).toEqual(asymmetricParams(r.min, r.max));
    const conv = calibration.ranges.get(float.subgraphs[0].tensors.findIndex((t) => t.name === 'conv'))!;
    expect(conv.min).toBe(0); // after the fused RELU
    expect(params(tensor(q, 'conv'))).toEqual({ scale: f(conv.max / 255), zeroPoint: -128 });
  });

  it('quantizes CONV_2D filters per output channel and biases at input x weight scale', () => {
    const w = tensor(q, 'conv/w');
    expect(w.type).toBe('int8');
    expect(w.quantization!.quantizedDimension).toBe(0);
    expect(w.quantization!.scale).toHaveLength(4);
    expect(w.quantization!.zeroPoint).toEqual([0, 0, 0, 0]);
    const values = int8Values(q, w);
    for (let c = 0; c < 4; c++) {
      // Symmetric: each channel's largest weight maps to +-127.
      expect(Math.max(...values.slice(c * 9, c * 9 + 9).map(Math.abs))).toBe(127);
    }
    const b = tensor(q, 'conv/b');
    expect(b.type).toBe('int32');
    const inputScale = params(tensor(q, 'x')).scale;
    expect(b.quantization!.scale).toEqual(w.quantization!.scale.map((s) => f(f(inputScale) * s)));
    expect(b.quantization!.zeroPoint).toEqual([0, 0, 0, 0]);
    const fw = tensor(q, 'fc/w');
    expect(fw.quantization!.scale).toHaveLength(1);
    expect(tensor(q, 'fc/b').quantization!.scale).toEqual([f(f(params(tensor(q, 'flat')).scale) * fw.quantization!.scale[0])]);
  });

  it('keeps input parameters through MAX_POOL_2D and RESHAPE and fixes SOFTMAX at (1/256, -128)', () => {
    expect(params(tensor(q, 'pool'))).toEqual(params(tensor(q, 'conv')));
    expect(params(tensor(q, 'flat'))).toEqual(params(tensor(q, 'pool')));
    expect(params(tensor(q, 'probs'))).toEqual({ scale: f(1 / 256), zeroPoint: -128 });
  });

  it('labels operators with their int8 versions (op_version.cc)', () => {
    expect(q.subgraphs[0].operators.map((o) => [o.op, q.operatorCodes[o.opcodeIndex].version])).toEqual([
      ['CONV_2D', 3], ['MAX_POOL_2D', 2], ['RESHAPE', 1], ['FULLY_CONNECTED', 4], ['SOFTMAX', 2],
    ]);
  });

  it('stays close to the float model on inputs it was not calibrated on', () => {
    const check = compareWithFloat(float, q, samplesFor(float, 100, 2));
    expect(check.maxAbsError).toBeLessThan(0.03);
    expect(check.top1Agreement).toBeGreaterThanOrEqual(0.95);
  });

  it('quantizes DEPTHWISE_CONV_2D per channel along dim 3, MEAN with its own range, TANH at (1/128, 0)', () => {
    const dwFloat = depthwiseNet();
    const samples = samplesFor(dwFloat, 64, 3, -1, 1);
    const dq = quantizeModel(dwFloat, calibrate(dwFloat, samples)).model;
    const w = tensor(dq, 'dw/w');
    expect(w.quantization!.quantizedDimension).toBe(3);
    expect(w.quantization!.scale).toHaveLength(3);
    expect(params(tensor(dq, 'mean'))).not.toEqual(params(tensor(dq, 'dw')));
    expect(params(tensor(dq, 'tanh'))).toEqual({ scale: f(1 / 128), zeroPoint: 0 });
    // On its own calibration inputs nothing clips, so only rounding remains (TANH's LSB is 1/128).
    expect(compareWithFloat(dwFloat, dq, samples).maxAbsError).toBeLessThan(0.03);
  });

  it('gives uint8 inputs and outputs through QUANTIZE ops, zero points shifted by 128', () => {
    const u = quantizeModel(float, calibration, { io: 'uint8' }).model;
    const g = u.subgraphs[0];
    const input = g.tensors[g.inputs[0]];
    const output = g.tensors[g.outputs[0]];
    expect([input.type, output.type]).toEqual(['uint8', 'uint8']);
    expect(params(input)).toEqual({ scale: params(tensor(q, 'x')).scale, zeroPoint: params(tensor(q, 'x')).zeroPoint + 128 });
    expect(params(output)).toEqual({ scale: f(1 / 256), zeroPoint: 0 });
    expect(g.operators.map((o) => o.op)).toEqual(['QUANTIZE', 'CONV_2D', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX', 'QUANTIZE']);
    expect(g.tensors[g.operators[0].outputs[0]].type).toBe('int8');
    expect(compareWithFloat(float, u, samplesFor(float, 30, 2)).maxAbsError).toBeLessThan(0.03);
  });

  it('gives float inputs and outputs through QUANTIZE and DEQUANTIZE', () => {
    const fl = quantizeModel(float, calibration, { io: 'float' }).model;
    const g = fl.subgraphs[0];
    expect([g.tensors[g.inputs[0]].type, g.tensors[g.outputs[0]].type]).toEqual(['float32', 'float32']);
    expect(g.operators.map((o) => o.op)).toEqual(['QUANTIZE', 'CONV_2D', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX', 'DEQUANTIZE']);
    expect(fl.operatorCodes[g.operators[6].opcodeIndex].version).toBe(2);
    expect(compareWithFloat(float, fl, samplesFor(float, 30, 2)).maxAbsError).toBeLessThan(0.03);
  });

  it('is about 4x smaller when weights dominate', () => {
    const g = new GraphBuilder();
    const random = mulberry32(3);
    const x = g.addTensor({ name: 'x', type: 'float32', shape: [1, 256] });
    const w = g.addConstant('float32', [128, 256], floats(128 * 256, random), null, 'w');
    const y = g.addTensor({ name: 'y', type: 'float32', shape: [1, 128] });
    g.addOperator('FULLY_CONNECTED', [x, w, -1], [y]);
    g.setInputs([x]).setOutputs([y]);
    const big = g.build();
    const small = quantizeModel(big, calibrate(big, samplesFor(big, 4, 1))).model;
    expect(writeModel(big).length / writeModel(small).length).toBeGreaterThan(3.9);
  });

  it('refuses what it cannot quantize, naming it', () => {
    const g = new GraphBuilder();
    const x = g.addTensor({ name: 'x', type: 'float32', shape: [1, 2] });
    const y = g.addTensor({ name: 'y', type: 'float32', shape: [1, 2] });
    g.addOperator('EXP', [x], [y]);
    g.setInputs([x]).setOutputs([y]);
    const exp = g.build();
    expect(() => quantizeModel(exp, { ranges: new Map(), samples: 1, method: 'minmax', percentile: null }, { source: 'exp.tflite' }))
      .toThrow(new LabError('quantize', `exp.tflite: cannot quantize EXP (op 0); the quantizer handles ${QUANTIZABLE_OPERATORS.join(', ')}`));
    expect(QUANTIZABLE_OPERATORS).toContain('DEPTHWISE_CONV_2D');
    expect(() => quantizeModel(tinyConvInt8(), calibration, { source: 'tiny.tflite' })).toThrow(/tiny\.tflite: input 'input' is int8; quantize a float32 model/);
    expect(() => quantizeModel(float, calibrate(depthwiseNet(), samplesFor(depthwiseNet(), 2, 1)), { source: 'net' })).toThrow(/net: tensor '.*' has no calibration range|different/);
  });
});
