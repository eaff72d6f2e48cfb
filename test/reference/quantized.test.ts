/**
 * Models made by the lab's quantizer (harness/quant) in the real TensorFlow Lite runtime (TFLite
 * compiled to WASM, in headless Chromium: wasm-runtime.ts): they must load, and give the outputs
 * the lab's own interpreter (bit-exact with TFLM reference kernels) gives.
 * - the checked-in demo INT8 models (models/demo) on evaluation images;
 * - the demo float models quantized here with uint8 and float input/output (QUANTIZE/DEQUANTIZE edges);
 * - every float model of the op test-model catalogue, quantized here, on 20 seeded random inputs;
 * - hello_world_float quantized here (needs ../shared).
 * Integer outputs are compared value by value. Where TFLite runs its own kernels the outputs must
 * be identical. Two known causes of +-1 LSB differences are allowed, and each model's count is
 * printed: TFLite's WASM build hands int8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, MUL,
 * LEAKY_RELU ... to XNNPACK (kernel 'TfLiteXNNPackDelegate'), which requantizes with a single
 * rounding where TFLM's reference kernels round twice (gemmlowp; tensorflow/tensorflow#99072,
 * tflite-micro#3130, LiteRT#7441); and TFLite's int8 MEAN computes its rescale in float
 * (reference_ops::QuantizedMeanOrSum) where TFLM uses MultiplyByQuantizedMultiplier.
 * In a deep model such a one-step difference in an early layer is carried and amplified by the
 * layers after it, so whole models are checked layer by layer (like tflite-micro's
 * layer_by_layer_debugger.py): every operator, cut out into a one-operator model with the same
 * tensors, is fed the lab's own values of its inputs in TFLite, and must give the lab's values of
 * its output (exactly, or within 1 LSB for the causes above); end to end, the top-1 class must match.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoSetFiles, loadDemoCalibrationSet, loadDemoEvalSet } from '../../harness/datasets/demo-sets.js';
import { imageAt } from '../../harness/datasets/image-set.js';
import { mulberry32 } from '../../harness/datasets/random.js';
import { calibrate, type CalibrationSample } from '../../harness/quant/calibrate.js';
import { quantizeModel, type IoType } from '../../harness/quant/quantize-model.js';
import { toTensorValues } from '../../harness/quant/tensor-io.js';
import { Interpreter } from '../../harness/tflite/interpreter.js';
import { GraphBuilder } from '../../harness/tflite/builder.js';
import type { Model, Tensor } from '../../harness/tflite/model.js';
import { readModel } from '../../harness/tflite/reader.js';
import { OP_MODELS, randomInputs, seedOf } from '../../harness/tflite/testing/op-models.js';
import { writeModel } from '../../harness/tflite/writer.js';
import { hasShared, readSharedModel, repoRoot } from '../shared.js';
import { WasmRuntime, type InputSet } from './wasm-runtime.js';

const demoDir = path.join(repoRoot, 'models', 'demo');

interface Mismatch { set: number; output: number; index: number; lab: number; tflite: number }

/** Runs `model` in the lab interpreter and the WASM runtime on the same (already typed) inputs. */
interface Comparison { lab: number[][][]; tflite: number[][][]; mismatches: Mismatch[]; kernels: string[]; ops: string[] }

async function compare(runtime: WasmRuntime, model: Model, inputSets: InputSet[]): Promise<Comparison> {
  const bytes = writeModel(model);
  const interpreter = new Interpreter(readModel(bytes));
  const lab = inputSets.map((set) => {
    set.forEach((data, i) => interpreter.setInput(i, data));
    interpreter.invoke();
    return interpreter.outputs.map((_, o) => Array.from(interpreter.output(o)));
  });
  const { outputs: tflite, kernels } = await runtime.run(bytes, inputSets);
  const mismatches: Mismatch[] = [];
  lab.forEach((outs, s) => outs.forEach((values, o) => values.forEach((v, i) => {
    const w = tflite[s][o][i];
    if (v !== w && !(Number.isNaN(v) && Number.isNaN(w))) mismatches.push({ set: s, output: o, index: i, lab: v, tflite: w });
  })));
  return { lab, tflite, mismatches, kernels, ops: model.subgraphs[0].operators.map((o) => o.op) };
}

const describeMismatches = (m: Mismatch[]) =>
  m.slice(0, 5).map((x) => `set ${x.set} output ${x.output}[${x.index}]: lab ${x.lab}, TFLite ${x.tflite}`).join('; ');

/** The agreement this file demands (see the header), and a printed line saying how close it was. */
function expectAgreement(name: string, result: Comparison): void {
  const values = result.lab.reduce((n, outs) => n + outs.reduce((m, o) => m + o.length, 0), 0);
  const worst = Math.max(0, ...result.mismatches.map((m) => Math.abs(m.lab - m.tflite)));
  const delegated = result.kernels.includes('TfLiteXNNPackDelegate');
  const roundingDiffers = delegated || result.ops.includes('MEAN');
  console.log(`${name}: ${result.mismatches.length} of ${values} output values differ${result.mismatches.length ? ` (max ${worst} LSB)` : ''}; TFLite kernels: ${[...new Set(result.kernels)].join(', ')}`);
  if (!roundingDiffers) {
    expect(result.mismatches, describeMismatches(result.mismatches)).toEqual([]);
    return;
  }
  expect(worst, describeMismatches(result.mismatches)).toBeLessThanOrEqual(1);
}

const argMax = (values: number[]) => values.reduce((best, v, i) => (v > values[best] ? i : best), 0);

/** End to end only a report: early one-step differences grow through later layers. */
function printEndToEnd(name: string, result: Comparison): void {
  const worst = Math.max(0, ...result.mismatches.map((m) => Math.abs(m.lab - m.tflite)));
  console.log(`${name} end to end: ${result.mismatches.length} output values differ${result.mismatches.length ? ` (max ${worst}${Number.isInteger(worst) ? ' LSB' : ''})` : ''}`);
}

function constantValues(model: Model, t: Tensor): ArrayLike<number> {
  const b = model.buffers[t.buffer];
  const raw = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  switch (t.type) {
    case 'int8': return new Int8Array(raw);
    case 'uint8': return new Uint8Array(raw);
    case 'int32': return new Int32Array(raw);
    case 'float32': return new Float32Array(raw);
    default: throw new Error(`constant of type ${t.type}`);
  }
}

/** Operator `k` of `model` alone: its non-constant inputs become graph inputs, constants are copied. */
function cutOperator(model: Model, k: number): { model: Model; inputs: number[]; output: number } {
  const graph = model.subgraphs[0];
  const op = graph.operators[k];
  const g = new GraphBuilder({ name: `${op.op.toLowerCase()}_${k}` });
  const copy = (i: number): number => {
    if (i < 0) return -1;
    const t = graph.tensors[i];
    const spec = { name: t.name, type: t.type, shape: t.shape, quantization: t.quantization };
    return model.buffers[t.buffer].length > 0 ? g.addConstant(t.type, t.shape, constantValues(model, t), t.quantization, t.name) : g.addTensor(spec);
  };
  const ins = op.inputs.map(copy);
  const out = copy(op.outputs[0]);
  g.addOperator(op.op, ins, [out], op.options, { version: model.operatorCodes[op.opcodeIndex].version });
  const inputs = op.inputs.filter((i) => i >= 0 && model.buffers[graph.tensors[i].buffer].length === 0);
  g.setInputs(inputs.map((i) => ins[op.inputs.indexOf(i)])).setOutputs([out]);
  return { model: g.build(), inputs, output: op.outputs[0] };
}

/**
 * Every operator of `model` on the lab's own intermediate values for `inputSets`, in TFLite;
 * also the whole model end to end. Prints one line per operator that differs.
 */
async function compareLayerByLayer(runtime: WasmRuntime, name: string, model: Model, inputSets: InputSet[]): Promise<Comparison> {
  const interpreter = new Interpreter(model);
  const graph = model.subgraphs[0];
  const values = inputSets.map((set) => {
    set.forEach((data, i) => interpreter.setInput(i, data));
    interpreter.invoke();
    return graph.tensors.map((_, t) => (model.buffers[graph.tensors[t].buffer].length > 0 ? null : Array.from(interpreter.tensorData(t))));
  });
  for (let k = 0; k < graph.operators.length; k++) {
    const cut = cutOperator(model, k);
    const sets = values.map((v) => cut.inputs.map((i) => v[i]!));
    const { outputs, kernels } = await runtime.run(writeModel(cut.model), sets);
    const mismatches: Mismatch[] = [];
    values.forEach((v, s) => v[cut.output]!.forEach((want, i) => {
      if (outputs[s][0][i] !== want) mismatches.push({ set: s, output: 0, index: i, lab: want, tflite: outputs[s][0][i] });
    }));
    const op = graph.operators[k].op;
    expectAgreement(`${name} operator ${k} (${op})`, { lab: values.map((v) => [v[cut.output]!]), tflite: outputs, mismatches, kernels, ops: [op] });
  }
  return compare(runtime, model, inputSets);
}

describe('quantized models in the real TFLite runtime (needs Chromium)', () => {
  let runtime: WasmRuntime;
  beforeAll(async () => { runtime = await WasmRuntime.start(); }, 120_000);
  afterAll(async () => { await runtime?.close(); });

  const evalSet = loadDemoEvalSet();
  const images = (n: number) => Array.from({ length: n }, (_, i) => Float32Array.from(imageAt(evalSet, i), (v) => v / 255));

  it.each(['cnn', 'mobilenet'])('the checked-in fashion_%s_int8.tflite gives the lab interpreter\'s int8 outputs on 50 evaluation images', async (arch) => {
    const model = readModel(readFileSync(path.join(demoDir, `fashion_${arch}_int8.tflite`)));
    const input = model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]];
    const result = await compareLayerByLayer(runtime, `fashion_${arch}_int8`, model, images(50).map((x) => [toTensorValues(input, x)]));
    expect(result.lab).toHaveLength(50);
    printEndToEnd(`fashion_${arch}_int8`, result);
    expect(result.tflite.map((outs) => argMax(outs[0]))).toEqual(result.lab.map((outs) => argMax(outs[0])));
  });

  it.each([['cnn', 'uint8'], ['cnn', 'float'], ['mobilenet', 'uint8'], ['mobilenet', 'float']] as [string, IoType][])(
    'fashion_%s quantized here with %s input and output runs the same in both', async (arch, io) => {
      const float = readModel(readFileSync(path.join(demoDir, `fashion_${arch}_float.tflite`)));
      const cal = loadDemoCalibrationSet();
      const samples: CalibrationSample[] = Array.from({ length: 100 }, (_, i) => [Float32Array.from(imageAt(cal, i), (v) => v / 255)]);
      const { model } = quantizeModel(float, calibrate(float, samples), { io, source: demoSetFiles.calibrationImages });
      const input = model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]];
      expect(input.type).toBe(io === 'float' ? 'float32' : io);
      const result = await compareLayerByLayer(runtime, `fashion_${arch} ${io} I/O`, model, images(20).map((x) => [toTensorValues(input, x)]));
      printEndToEnd(`fashion_${arch} ${io} I/O`, result);
      expect(result.tflite.map((outs) => argMax(outs[0]))).toEqual(result.lab.map((outs) => argMax(outs[0])));
    });

  const floatOpModels = OP_MODELS.filter((m) => m.type === 'float32');
  it('covers every float model of the op catalogue', () => {
    expect(floatOpModels.length).toBeGreaterThanOrEqual(30);
  });

  it.each(floatOpModels.map((m) => [m.name, m] as const))('op model %s, quantized here, gives the same int8 outputs on 20 random inputs', async (_, opModel) => {
    const float = opModel.build();
    const range = opModel.inputRange ?? [-3, 3];
    const samples = Array.from({ length: 64 }, (_, k) => randomInputs(float, seedOf(opModel.name) + k, range) as Float32Array[]);
    const { model } = quantizeModel(float, calibrate(float, samples, { source: opModel.name }), { source: opModel.name });
    const graph = model.subgraphs[0];
    const inputs = Array.from({ length: 20 }, (_, k) => randomInputs(float, seedOf(opModel.name) + 1000 + k, range)
      .map((x, i) => toTensorValues(graph.tensors[graph.inputs[i]], x)));
    expectAgreement(opModel.name, await compare(runtime, model, inputs));
  });

  describe.runIf(hasShared)('hello_world_float quantized by the lab (needs ../shared)', () => {
    it.each(['int8', 'uint8', 'float'] as IoType[])('with %s I/O runs the same in both', async (io) => {
      const float = readModel(readSharedModel('tflite-micro/hello_world_float.tflite'));
      const random = mulberry32(2024);
      const samples = Array.from({ length: 500 }, () => [Float32Array.of(random() * 2 * Math.PI)]);
      const { model } = quantizeModel(float, calibrate(float, samples), { io });
      const input = model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]];
      const xs = Array.from({ length: 20 }, (_, k) => [toTensorValues(input, Float32Array.of((k / 19) * 2 * Math.PI))]);
      const result = await compareLayerByLayer(runtime, `hello_world ${io} I/O`, model, xs);
      printEndToEnd(`hello_world ${io} I/O`, result);
    });
  });
});
