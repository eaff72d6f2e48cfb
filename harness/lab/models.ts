/**
 * A scenario model made ready for trials, once per run: its bytes and sha256 (to upload, and to
 * skip the upload when the board already holds it), the arena the planner says it needs, the
 * inputs of the latency runs and the labelled accuracy set as tensor bytes, and what the host
 * reference interpreter outputs on every accuracy input (step 1/7: the board's outputs must match
 * it bit for bit, FACTS.md "ESP-NN default path is bit-exact with TFLM reference kernels").
 *
 * Input files are .npy (harness/datasets/npy.ts). A row goes to the model as is when its dtype is
 * the input tensor's; 8-bit images (uint8, 0..255) are scaled to [0, 1] and quantized to the
 * tensor's type, the convention of the lab's demo models (harness/datasets/accuracy.ts); float32
 * rows are quantized for int8 / uint8 / int16 inputs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Scenario, ScenarioModel } from '../config/types.js';
import { readNpy, type NpyArray } from '../datasets/npy.js';
import { LabError } from '../errors.js';
import { toTensorValues } from '../quant/tensor-io.js';
import { createRng } from '../stats/rng.js';
import { Interpreter } from '../tflite/interpreter.js';
import { shapeSize, tensorByteSize, type Model, type Tensor } from '../tflite/model.js';
import { planArena } from '../tflite/planner.js';
import { readModel } from '../tflite/reader.js';
import { bytesOf } from './tensor-bytes.js';

export interface TensorLayout {
  name: string;
  dtype: Tensor['type'];
  shape: number[];
  bytes: number;
}

export interface AccuracySet {
  /** Inputs back to back, `sampleBytes` each (all input tensors concatenated: PROTOCOL.md ACCURACY_BEGIN). */
  data: Uint8Array;
  samples: number;
  sampleBytes: number;
  labels: number[];
  /** Host reference outputs: every output tensor of each sample, concatenated (as the board returns them). */
  reference: Uint8Array;
  /** Bytes of all outputs of one sample. */
  outputBytes: number;
  /** sha256 of `data`: names the batch, so a board that still holds it is not sent it again. */
  key: string;
}

export interface PreparedModel {
  id: string;
  file: string;
  bytes: Uint8Array;
  sha256: string;
  model: Model;
  inputs: TensorLayout[];
  outputs: TensorLayout[];
  /** Index of the input the latency and accuracy data go to, and of the output predictions are read from. */
  io: { input: number; output: number };
  /** TFLM's arena_used_bytes() for this model on a 32-bit target (harness/tflite/planner.ts). */
  arenaBytes: number;
  /** One entry per distinct latency input: the bytes of each input tensor. */
  latencyInputs: Uint8Array[][];
  accuracy?: AccuracySet;
  /** Class count of the prediction output. */
  classes: number;
}

function layoutOf(t: Tensor): TensorLayout {
  return { name: t.name, dtype: t.type, shape: [...t.shape], bytes: tensorByteSize(t) };
}

/** Row `i` of an .npy array as the bytes of `tensor`. */
function rowBytes(npy: NpyArray, i: number, tensor: Tensor, what: string, modelId: string): Uint8Array {
  const per = shapeSize(npy.shape.slice(1));
  const need = shapeSize(tensor.shape);
  if (per !== need) {
    throw new LabError('model-input', `${what}: a row holds ${per} values (shape [${npy.shape.slice(1).join(', ')}]), but model "${modelId}" input '${tensor.name}' takes ${need} (shape [${tensor.shape.join(', ')}]); give inputs shaped like the model's input`);
  }
  const row = npy.data.subarray(i * per, (i + 1) * per);
  if (npy.dtype === tensor.type) return new Uint8Array(row.buffer.slice(row.byteOffset, row.byteOffset + row.byteLength));
  if (npy.dtype === 'uint8' && (tensor.type === 'float32' || tensor.type === 'int8' || tensor.type === 'int16')) {
    return bytesOf(tensor.type, toTensorValues(tensor, Float32Array.from(row, (v) => v / 255)));
  }
  if ((npy.dtype === 'float32' || npy.dtype === 'float64') && (tensor.type === 'int8' || tensor.type === 'uint8' || tensor.type === 'int16' || tensor.type === 'float32')) {
    return bytesOf(tensor.type, toTensorValues(tensor, row));
  }
  throw new LabError('model-input', `${what}: ${npy.dtype} values cannot feed model "${modelId}" input '${tensor.name}' (${tensor.type}); save the inputs as ${tensor.type}, or as uint8 images`);
}

/** Seeded random bytes for a tensor: any bit pattern for integers, [0, 1) for floats. */
function randomTensor(tensor: Tensor, seed: number): Uint8Array {
  const rng = createRng(seed);
  const n = shapeSize(tensor.shape);
  if (tensor.type === 'float32') return bytesOf('float32', Float32Array.from({ length: n }, () => rng.next()));
  const out = new Uint8Array(tensorByteSize(tensor));
  for (let i = 0; i < out.length; i++) out[i] = rng.nextUint32() & 0xff;
  return out;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function readModelBytes(m: ScenarioModel): { bytes: Uint8Array; model: Model } {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(m.file));
  } catch (e) {
    throw new LabError('model-format', `${m.path}: cannot read model "${m.id}" (${(e as Error).message})`, { cause: e });
  }
  return { bytes, model: readModel(bytes, { source: m.path }) };
}

/** Prepares one scenario model: reads it, sizes its arena, makes its inputs, runs the host reference. */
export function prepareModel(scenario: Scenario, m: ScenarioModel): PreparedModel {
  const { bytes, model } = readModelBytes(m);
  const graph = model.subgraphs[0];
  const tensors = graph.tensors;
  const inputs = graph.inputs.map((i) => tensors[i]);
  const outputs = graph.outputs.map((i) => tensors[i]);
  const where = `${scenario.label}: model "${m.id}"`;
  if (m.io.input >= inputs.length) throw new LabError('model-input', `${where}: io.input ${m.io.input} but the model has ${inputs.length} input(s) (count from 0)`);
  if (m.io.output >= outputs.length) throw new LabError('model-input', `${where}: io.output ${m.io.output} but the model has ${outputs.length} output(s) (count from 0)`);
  const arenaBytes = planArena(model, { pointerSize: 4 }).totalBytes;

  // ---- latency inputs
  const latency = scenario.inputs.latency;
  const latencyInputs: Uint8Array[][] = [];
  if (latency.kind === 'random') {
    for (let k = 0; k < latency.count; k++) {
      latencyInputs.push(inputs.map((t, i) => randomTensor(t, latency.seed * 1009 + k * 31 + i)));
    }
  } else {
    const npy = readNpy(latency.file);
    const rows = npy.shape[0] ?? 0;
    if (rows === 0) throw new LabError('input-format', `${latency.path}: holds no input (the first axis is empty)`);
    for (let k = 0; k < Math.min(rows, 1024); k++) {
      latencyInputs.push(inputs.map((t, i) => (i === m.io.input ? rowBytes(npy, k, t, latency.path, m.id) : randomTensor(t, scenario.seed + i))));
    }
  }

  const prepared: PreparedModel = {
    id: m.id, file: m.file, bytes, sha256: sha256(bytes), model,
    inputs: inputs.map(layoutOf), outputs: outputs.map(layoutOf), io: m.io, arenaBytes, latencyInputs,
    classes: shapeSize(outputs[m.io.output].shape),
  };

  // ---- accuracy set and its host reference
  const acc = scenario.inputs.accuracy;
  if (acc) {
    if (inputs.length !== 1) {
      throw new LabError('model-input', `${where}: has ${inputs.length} inputs; the accuracy pass feeds single-input models only (drop inputs.accuracy or this model)`);
    }
    const images = readNpy(acc.inputsFile);
    const labelsNpy = readNpy(acc.labelsFile);
    const rows = images.shape[0] ?? 0;
    if (labelsNpy.dtype === 'float32' || labelsNpy.dtype === 'float64') {
      throw new LabError('input-format', `${acc.labels}: labels must be integers (class indices), not ${labelsNpy.dtype}`);
    }
    if (labelsNpy.data.length !== rows) {
      throw new LabError('input-format', `${acc.labels}: ${labelsNpy.data.length} labels for ${rows} inputs in ${acc.inputs} (one label per input)`);
    }
    const samples = Math.min(rows, acc.limit ?? rows);
    const sampleBytes = tensorByteSize(inputs[0]);
    const data = new Uint8Array(samples * sampleBytes);
    for (let i = 0; i < samples; i++) data.set(rowBytes(images, i, inputs[0], acc.inputs, m.id), i * sampleBytes);
    const labels = Array.from(labelsNpy.data.subarray(0, samples), Number);
    const bad = labels.findIndex((l) => !Number.isInteger(l) || l < 0 || l >= prepared.classes);
    if (bad >= 0) {
      throw new LabError('input-format', `${acc.labels}: label ${bad} is ${labels[bad]}, but model "${m.id}" has ${prepared.classes} classes (0..${prepared.classes - 1})`);
    }
    const outputBytes = outputs.reduce((s, t) => s + tensorByteSize(t), 0);
    const reference = new Uint8Array(samples * outputBytes);
    const interpreter = new Interpreter(model, { source: m.path });
    const view = inputValuesView(inputs[0].type);
    for (let i = 0; i < samples; i++) {
      interpreter.setInput(0, view(data.subarray(i * sampleBytes, (i + 1) * sampleBytes)));
      interpreter.invoke();
      let at = i * outputBytes;
      for (let o = 0; o < outputs.length; o++) {
        const out = interpreter.output(o);
        reference.set(new Uint8Array(out.buffer, out.byteOffset, out.byteLength), at);
        at += out.byteLength;
      }
    }
    prepared.accuracy = { data, samples, sampleBytes, labels, reference, outputBytes, key: sha256(data) };
  }
  return prepared;
}

function inputValuesView(type: Tensor['type']): (bytes: Uint8Array) => ArrayLike<number> {
  return (bytes) => {
    const copy = new Uint8Array(bytes).buffer;
    switch (type) {
      case 'int8': return new Int8Array(copy);
      case 'uint8': return new Uint8Array(copy);
      case 'int16': return new Int16Array(copy);
      case 'int32': return new Int32Array(copy);
      case 'float32': return new Float32Array(copy);
      default: throw new LabError('model-input', `the accuracy pass cannot feed a ${type} input`);
    }
  };
}

/** Every model of the scenario, prepared once (the map is keyed by model id). */
export function prepareModels(scenario: Scenario): Map<string, PreparedModel> {
  return new Map(scenario.matrix.model.map((m) => [m.id, prepareModel(scenario, m)]));
}
