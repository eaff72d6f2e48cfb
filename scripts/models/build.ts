/**
 * `npm run models`: regenerates the lab's demo models and data from scratch, deterministically
 * from the recipe's seed (scripts/models/recipe.ts):
 *   1. data      Fashion-MNIST (Debian dataset-fashion-mnist) -> models/demo/data/*.npy + README
 *   2. training  tfjs 4.9 on its wasm backend: a small CNN and a MobileNet-style model
 *   3. convert   tfjs -> float .tflite (harness/tflite/convert), checked against tfjs (<= 1e-4)
 *   4. quantize  float -> INT8 .tflite (harness/quant), calibrated on the calibration set
 *   5. evaluate  float and INT8 top-1 on the evaluation set with the lab's interpreter, sizes,
 *                MACs (profiler) and arena (planner) -> models/demo/metrics.json + README.md
 * Run it with `nice -n 10` on a shared machine: training takes a quarter of an hour on one core.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { top1Accuracy } from '../../harness/datasets/accuracy.js';
import { imageAt, type ImageSet } from '../../harness/datasets/image-set.js';
import { calibrate } from '../../harness/quant/calibrate.js';
import { compareWithFloat } from '../../harness/quant/compare.js';
import { quantizeModel } from '../../harness/quant/quantize-model.js';
import type { Model, Tensor } from '../../harness/tflite/model.js';
import { planArena } from '../../harness/tflite/planner.js';
import { profileModel } from '../../harness/tflite/profile.js';
import { readModel } from '../../harness/tflite/reader.js';
import { writeModel } from '../../harness/tflite/writer.js';
import { architectureNotes, conversionOptions, type Architecture } from './architectures.js';
import { convertTfjsModel, floatAgreement } from './convert.js';
import { buildDemoData } from './data.js';
import { recipe } from './recipe.js';
import { renderDemoReadme } from './readme.js';
import { trainDemoModel, type EpochLog } from './train.js';
import { tf } from './tfjs-wasm.js';

export const demoDir = fileURLToPath(new URL('../../models/demo/', import.meta.url));

export interface ModelMetrics {
  file: string;
  kind: 'float' | 'int8';
  bytes: number;
  sha256: string;
  top1: number;
  correct: number;
  images: number;
  macs: number;
  arenaBytes: number;
  input: { name: string; type: string; shape: number[]; scale?: number; zeroPoint?: number };
  output: { name: string; type: string; shape: number[]; scale?: number; zeroPoint?: number };
}

export interface ArchitectureMetrics {
  architecture: Architecture;
  layers: string;
  parameters: number;
  training: { epochs: EpochLog[]; seconds: number; schedule: object };
  conversion: { maxAbsDiffVsTfjs: number; images: number };
  quantization: { calibrationImages: number; method: string; top1AgreementWithFloat: number; maxAbsError: number };
  float: ModelMetrics;
  int8: ModelMetrics;
}

export interface DemoMetrics {
  seed: number;
  evalImages: number;
  calibrationImages: number;
  trainImages: number;
  tool: { node: string; tfjs: string; backend: string; cpu: string };
  models: ArchitectureMetrics[];
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function describeIo(t: Tensor): ModelMetrics['input'] {
  const q = t.quantization && t.quantization.scale.length === 1 ? { scale: t.quantization.scale[0], zeroPoint: t.quantization.zeroPoint[0] } : {};
  return { name: t.name, type: t.type, shape: t.shape, ...q };
}

function measure(model: Model, bytes: Uint8Array, file: string, kind: 'float' | 'int8', evalSet: ImageSet): ModelMetrics {
  const accuracy = top1Accuracy(model, evalSet, { source: file });
  const graph = model.subgraphs[0];
  return {
    file, kind, bytes: bytes.length, sha256: sha256(bytes),
    top1: accuracy.top1, correct: accuracy.correct, images: accuracy.images,
    macs: profileModel(model).totals.macs,
    // 32-bit pointers: the ESP32-S3's (FACTS.md, arena_used_bytes on a 32-bit build).
    arenaBytes: planArena(model, { pointerSize: 4 }).totalBytes,
    input: describeIo(graph.tensors[graph.inputs[0]]),
    output: describeIo(graph.tensors[graph.outputs[0]]),
  };
}

async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const started = performance.now();
  const data = buildDemoData(log);
  const calibrationSamples = Array.from({ length: data.calibration.count }, (_, i) => [Float32Array.from(imageAt(data.calibration, i), (v) => v / 255)]);
  mkdirSync(demoDir, { recursive: true });
  const models: ArchitectureMetrics[] = [];

  for (const architecture of ['cnn', 'mobilenet'] as const) {
    const schedule = recipe.training[architecture];
    const trained = await trainDemoModel(architecture, data.train, data.eval, schedule, log);
    const name = `fashion_${architecture}`;

    const floatModel = readModel(writeModel(convertTfjsModel(trained.model, `${name} (tfjs)`, conversionOptions[architecture])));
    const agreement = floatAgreement(trained.model, floatModel, data.eval);
    log(`convert ${architecture}: lab interpreter vs tfjs on ${agreement.images} images: max |diff| ${agreement.maxAbsDiff.toExponential(2)}`);
    if (agreement.maxAbsDiff > 1e-4) throw new Error(`${name}: the float .tflite differs from tfjs by ${agreement.maxAbsDiff} (> 1e-4)`);
    const floatBytes = writeModel(floatModel);
    writeFileSync(path.join(demoDir, `${name}_float.tflite`), floatBytes);

    const calibration = calibrate(floatModel, calibrationSamples, { method: 'minmax', source: `${name}_float.tflite` });
    const int8Model = readModel(writeModel(quantizeModel(floatModel, calibration, { io: 'int8', source: `${name}_float.tflite` }).model));
    const int8Bytes = writeModel(int8Model);
    writeFileSync(path.join(demoDir, `${name}_int8.tflite`), int8Bytes);
    const check = compareWithFloat(floatModel, int8Model, calibrationSamples);
    log(`quantize ${architecture}: ${floatBytes.length} -> ${int8Bytes.length} bytes; top-1 agreement with float on the calibration set ${(100 * check.top1Agreement).toFixed(1)}%`);

    const float = measure(floatModel, floatBytes, `${name}_float.tflite`, 'float', data.eval);
    const int8 = measure(int8Model, int8Bytes, `${name}_int8.tflite`, 'int8', data.eval);
    log(`evaluate ${architecture}: float ${(100 * float.top1).toFixed(2)}%, int8 ${(100 * int8.top1).toFixed(2)}% on ${float.images} images`);
    models.push({
      architecture, layers: architectureNotes[architecture], parameters: trained.model.countParams(),
      training: { epochs: trained.epochs, seconds: trained.seconds, schedule },
      conversion: { maxAbsDiffVsTfjs: agreement.maxAbsDiff, images: agreement.images },
      quantization: { calibrationImages: calibration.samples, method: calibration.method, top1AgreementWithFloat: check.top1Agreement, maxAbsError: check.maxAbsError },
      float, int8,
    });
    trained.model.dispose();
  }

  const metrics: DemoMetrics = {
    seed: recipe.seed, evalImages: data.eval.count, calibrationImages: data.calibration.count, trainImages: data.train.count,
    tool: { node: process.version, tfjs: tf.version.tfjs, backend: tf.getBackend(), cpu: os.cpus()[0]?.model ?? 'unknown' },
    models,
  };
  writeFileSync(path.join(demoDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  writeFileSync(path.join(demoDir, 'README.md'), renderDemoReadme(metrics));
  log(`models: done in ${((performance.now() - started) / 60000).toFixed(1)} min -> ${path.relative(process.cwd(), demoDir)}`);
}

await main();
