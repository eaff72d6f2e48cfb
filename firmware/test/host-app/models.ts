/**
 * Small .tflite models for the firmware's host tests, made with the lab's GraphBuilder and writer,
 * with inputs and the outputs TFLM's reference kernels give for them. The expected outputs are
 * computed here from the lab's bit-exact fixed-point helpers (harness/tflite/quant-math.ts), not by
 * the C++ under test, so the host interpreter behind the command handler is checked against an
 * independent implementation of the same arithmetic.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { GraphBuilder, options } from '../../../harness/tflite/builder.js';
import { activationRangeQuantized, multiplyByQuantizedMultiplier, quantizeMultiplier, type Activation } from '../../../harness/tflite/quant-math.js';
import { writeModel } from '../../../harness/tflite/writer.js';

/** xorshift32: deterministic test data. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

function ints(n: number, lo: number, hi: number, rnd: () => number): number[] {
  return Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));
}

interface FcInt8 {
  input: { scale: number; zeroPoint: number };
  weights: number[];
  filterScales: number[];
  bias: number[] | null;
  output: { scale: number; zeroPoint: number };
  outDepth: number;
  depth: number;
  activation: Activation;
}

/** TFLM reference int8 FULLY_CONNECTED (reference_integer_ops/fully_connected.h) for one batch. */
function fcInt8Reference(fc: FcInt8, x: number[]): number[] {
  const f = Math.fround;
  const range = activationRangeQuantized(fc.activation, f(fc.output.scale), fc.output.zeroPoint, -128, 127);
  return Array.from({ length: fc.outDepth }, (_, c) => {
    // Per-tensor: float product then double (kernel_util.cc); per-channel: double throughout.
    const real = fc.filterScales.length === 1
      ? f(f(fc.input.scale) * f(fc.filterScales[0])) / f(fc.output.scale)
      : (f(fc.input.scale) * f(fc.filterScales[c])) / f(fc.output.scale);
    const { multiplier, shift } = quantizeMultiplier(real);
    let acc = 0;
    for (let d = 0; d < fc.depth; d++) acc += fc.weights[c * fc.depth + d] * (x[d] - fc.input.zeroPoint);
    if (fc.bias) acc += fc.bias[c];
    const y = multiplyByQuantizedMultiplier(acc, multiplier, shift) + fc.output.zeroPoint;
    return Math.min(Math.max(y, range.min), range.max);
  });
}

function addFc(g: GraphBuilder, x: number, fc: FcInt8, name: string): number {
  const perChannel = fc.filterScales.length > 1;
  const w = g.addConstant('int8', [fc.outDepth, fc.depth], fc.weights, { scale: fc.filterScales, quantizedDimension: 0 });
  const b = fc.bias === null
    ? -1
    : g.addConstant('int32', [fc.outDepth], fc.bias, { scale: perChannel ? fc.filterScales.map((s) => s * fc.input.scale) : fc.input.scale * fc.filterScales[0] });
  const y = g.addTensor({ name, type: 'int8', shape: [1, fc.outDepth], quantization: fc.output });
  g.addOperator('FULLY_CONNECTED', [x, w, b], [y], options.fullyConnected({ fusedActivation: fc.activation }));
  return y;
}

const int8Bytes = (values: number[]): Uint8Array => Uint8Array.from(values, (v) => v & 0xff);

/** Writes every test model with its input and expected output into `dir`. */
export function writeHostTestModels(dir: string): void {
  const rnd = random(20260728);
  const write = (name: string, model: Uint8Array, input: Uint8Array, output: Uint8Array): void => {
    writeFileSync(path.join(dir, `${name}.tflite`), model);
    writeFileSync(path.join(dir, `${name}.in.bin`), input);
    writeFileSync(path.join(dir, `${name}.out.bin`), output);
  };

  // fc_int8: one FULLY_CONNECTED, per-tensor weights, bias, RELU.
  {
    const fc: FcInt8 = {
      input: { scale: 0.05, zeroPoint: -3 }, output: { scale: 0.1, zeroPoint: 2 }, depth: 8, outDepth: 4,
      weights: ints(32, -20, 20, rnd), filterScales: [0.02], bias: ints(4, 200, 1500, rnd), activation: 'RELU',
    };
    const g = new GraphBuilder({ name: 'fc_int8' });
    const x = g.addTensor({ name: 'x', type: 'int8', shape: [1, 8], quantization: fc.input });
    const y = addFc(g, x, fc, 'y');
    g.setInputs([x]).setOutputs([y]);
    const input = ints(8, -30, 30, rnd);
    write('fc_int8', writeModel(g.build()), int8Bytes(input), int8Bytes(fcInt8Reference(fc, input)));
  }
  // fc_int8_pc: per-channel weights, RELU6.
  {
    const fc: FcInt8 = {
      input: { scale: 0.03, zeroPoint: 5 }, output: { scale: 0.05, zeroPoint: -10 }, depth: 8, outDepth: 4,
      weights: ints(32, -10, 10, rnd), filterScales: [0.01, 0.02, 0.03, 0.04], bias: ints(4, 0, 2500, rnd), activation: 'RELU6',
    };
    const g = new GraphBuilder({ name: 'fc_int8_pc' });
    const x = g.addTensor({ name: 'x', type: 'int8', shape: [1, 8], quantization: fc.input });
    const y = addFc(g, x, fc, 'y');
    g.setInputs([x]).setOutputs([y]);
    const input = ints(8, -40, 40, rnd);
    write('fc_int8_pc', writeModel(g.build()), int8Bytes(input), int8Bytes(fcInt8Reference(fc, input)));
  }
  // mlp_int8: FULLY_CONNECTED (RELU) -> RESHAPE -> FULLY_CONNECTED: three operators to profile.
  {
    const fc1: FcInt8 = {
      input: { scale: 0.04, zeroPoint: 0 }, output: { scale: 0.08, zeroPoint: -128 }, depth: 8, outDepth: 6,
      weights: ints(48, -30, 30, rnd), filterScales: [0.015], bias: ints(6, 0, 3000, rnd), activation: 'RELU',
    };
    const fc2: FcInt8 = {
      input: fc1.output, output: { scale: 0.2, zeroPoint: 1 }, depth: 6, outDepth: 3,
      weights: ints(18, -5, 5, rnd), filterScales: [0.025], bias: null, activation: 'NONE',
    };
    const g = new GraphBuilder({ name: 'mlp_int8' });
    const x = g.addTensor({ name: 'x', type: 'int8', shape: [1, 8], quantization: fc1.input });
    const h = addFc(g, x, fc1, 'h');
    const shape = g.addConstant('int32', [2], [1, 6]);
    const r = g.addTensor({ name: 'r', type: 'int8', shape: [1, 6], quantization: fc1.output });
    g.addOperator('RESHAPE', [h, shape], [r], options.reshape([1, 6]));
    const y = addFc(g, r, fc2, 'y');
    g.setInputs([x]).setOutputs([y]);
    const input = ints(8, -40, 40, rnd);
    write('mlp_int8', writeModel(g.build()), int8Bytes(input), int8Bytes(fcInt8Reference(fc2, fcInt8Reference(fc1, input))));
  }
  // fc_wide: 5,000 outputs, so GET_OUTPUT needs two frames.
  {
    const fc: FcInt8 = {
      input: { scale: 0.1, zeroPoint: 0 }, output: { scale: 0.02, zeroPoint: 0 }, depth: 2, outDepth: 5000,
      weights: ints(10000, -127, 127, rnd), filterScales: [0.01], bias: null, activation: 'NONE',
    };
    const g = new GraphBuilder({ name: 'fc_wide' });
    const x = g.addTensor({ name: 'x', type: 'int8', shape: [1, 2], quantization: fc.input });
    const y = addFc(g, x, fc, 'y');
    g.setInputs([x]).setOutputs([y]);
    const input = [37, -90];
    write('fc_wide', writeModel(g.build()), int8Bytes(input), int8Bytes(fcInt8Reference(fc, input)));
  }
  // fc_float: float32 FULLY_CONNECTED (TFLM's float reference: float products summed in order).
  {
    const f = Math.fround;
    const wv = [0.5, -1.25, 2, 0.75, 0.125, -3].map(f);
    const bv = [0.1, -0.2].map(f);
    const g = new GraphBuilder({ name: 'fc_float' });
    const x = g.addTensor({ name: 'x', type: 'float32', shape: [1, 3] });
    const w = g.addConstant('float32', [2, 3], wv);
    const b = g.addConstant('float32', [2], bv);
    const y = g.addTensor({ name: 'y', type: 'float32', shape: [1, 2] });
    g.addOperator('FULLY_CONNECTED', [x, w, b], [y], options.fullyConnected());
    g.setInputs([x]).setOutputs([y]);
    const input = [1.5, -2, 0.25].map(f);
    const out = [0, 1].map((c) => {
      let total = 0;
      for (let d = 0; d < 3; d++) total = f(total + f(input[d] * wv[c * 3 + d]));
      return f(total + bv[c]);
    });
    const bytes = (v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);
    write('fc_float', writeModel(g.build()), bytes(input), bytes(out));
  }
  // conv_int8: a CONV_2D the host interpreter does not run (UNSUPPORTED_OP).
  {
    const g = new GraphBuilder({ name: 'conv_int8' });
    const x = g.addTensor({ name: 'x', type: 'int8', shape: [1, 4, 4, 1], quantization: { scale: 0.1, zeroPoint: 0 } });
    const w = g.addConstant('int8', [2, 3, 3, 1], ints(18, -127, 127, rnd), { scale: [0.01, 0.02], quantizedDimension: 0 });
    const b = g.addConstant('int32', [2], [10, -10], { scale: [0.001, 0.002] });
    const y = g.addTensor({ name: 'y', type: 'int8', shape: [1, 2, 2, 2], quantization: { scale: 0.05, zeroPoint: 0 } });
    g.addOperator('CONV_2D', [x, w, b], [y], options.conv2d());
    g.setInputs([x]).setOutputs([y]);
    write('conv_int8', writeModel(g.build()), new Uint8Array(16), new Uint8Array(8));
  }
}
