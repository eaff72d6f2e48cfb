/**
 * `hil model quantize <float.tflite> --calibration <dir|npy> [--io int8|uint8|float]
 *  [--calibration-method minmax|percentile --percentile 99.99] --out <int8.tflite>`:
 * full-integer post-training quantization with the lab's own quantizer (harness/quant), then a
 * check of the result against the float model on the calibration samples.
 */
import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { LabError } from '../errors.js';
import { calibrate, type CalibrationMethod } from '../quant/calibrate.js';
import { loadCalibrationFiles } from '../quant/calibration-data.js';
import { compareWithFloat } from '../quant/compare.js';
import { quantizeModel, type IoType } from '../quant/quantize-model.js';
import type { Tensor } from '../tflite/model.js';
import { readModelFile } from '../tflite/reader.js';
import { writeModel } from '../tflite/writer.js';

export interface QuantizeCommandOptions {
  calibration: string;
  out: string;
  io: IoType;
  calibrationMethod: CalibrationMethod;
  percentile: number;
  pixelScale: number;
  pixelOffset: number;
  limit?: number;
  json?: boolean;
}

export interface QuantizeSummary {
  input: string;
  output: string;
  io: IoType;
  calibration: { location: string; files: number; samples: number; method: CalibrationMethod; percentile: number | null; integerMapping: { scale: number; offset: number } | null };
  inputs: { name: string; type: string; scale: number; zeroPoint: number }[];
  outputs: { name: string; type: string; scale: number; zeroPoint: number }[];
  bytes: { float: number; quantized: number };
  check: { samples: number; top1Agreement: number; maxAbsError: number; meanAbsError: number };
}

function number(name: string, check: (v: number) => boolean, what: string) {
  return (value: string): number => {
    const v = Number(value);
    if (!Number.isFinite(v) || !check(v)) throw new InvalidArgumentError(`${name} must be ${what}.`);
    return v;
  };
}

const describeTensor = (t: Tensor) => ({
  name: t.name, type: t.type, scale: t.quantization?.scale[0] ?? 1, zeroPoint: t.quantization?.zeroPoint[0] ?? 0,
});

export function quantizeFile(file: string, opts: QuantizeCommandOptions): QuantizeSummary {
  const float = readModelFile(file);
  const graph = float.subgraphs[0];
  if (!graph) throw new LabError('model-format', `${file}: the model has no subgraph`);
  const inputs = graph.inputs.map((i) => graph.tensors[i]);
  const data = loadCalibrationFiles(opts.calibration, inputs, { scale: opts.pixelScale, offset: opts.pixelOffset, limit: opts.limit });
  const calibration = calibrate(float, data.samples, { method: opts.calibrationMethod, percentile: opts.percentile, source: file });
  const { model } = quantizeModel(float, calibration, { io: opts.io, source: file });
  const bytes = writeModel(model);
  writeFileSync(opts.out, bytes);
  const check = compareWithFloat(float, model, data.samples);
  const g = model.subgraphs[0];
  return {
    input: file,
    output: opts.out,
    io: opts.io,
    calibration: {
      location: opts.calibration, files: data.files.length, samples: data.samples.length,
      method: calibration.method, percentile: calibration.percentile, integerMapping: data.integerMapping,
    },
    inputs: g.inputs.map((i) => describeTensor(g.tensors[i])),
    outputs: g.outputs.map((i) => describeTensor(g.tensors[i])),
    bytes: { float: writeModel(float).length, quantized: bytes.length },
    check,
  };
}

export function formatQuantizeSummary(s: QuantizeSummary): string {
  const q = (t: QuantizeSummary['inputs'][number]) => (t.type === 'float32' ? 'float32' : `${t.type} scale ${t.scale.toPrecision(6)} zero point ${t.zeroPoint}`);
  const c = s.calibration;
  const mapping = c.integerMapping ? `, integers mapped by x * ${c.integerMapping.scale.toPrecision(6)} + ${c.integerMapping.offset}` : '';
  return [
    `quantized ${s.input} -> ${s.output} (${s.io} input and output)`,
    `  calibration: ${c.samples} samples from ${c.location}${c.files > 1 ? ` (${c.files} files)` : ''}${mapping}; ${c.method}${c.percentile === null ? '' : ` ${c.percentile}`}`,
    ...s.inputs.map((t) => `  input  '${t.name}': ${q(t)}`),
    ...s.outputs.map((t) => `  output '${t.name}': ${q(t)}`),
    `  size: ${s.bytes.float} -> ${s.bytes.quantized} bytes (${(s.bytes.float / s.bytes.quantized).toFixed(2)}x smaller)`,
    `  check on the calibration samples (lab interpreter): top-1 agreement with float ${(100 * s.check.top1Agreement).toFixed(1)}%, `
      + `max |float - int8| ${s.check.maxAbsError.toPrecision(3)}, mean ${s.check.meanAbsError.toPrecision(3)}`,
  ].join('\n');
}

/** Adds `quantize` to the `model` command group (harness/cli/model.ts calls this). */
export function registerModelQuantize(model: Command): void {
  model
    .command('quantize')
    .description('full-integer post-training quantization of a float .tflite (TFLite int8 spec)')
    .argument('<float.tflite>', 'float32 model to quantize')
    .requiredOption('--calibration <dir|npy>', 'representative inputs: a .npy file (one sample or a batch [N, ...]) or a folder of .npy files')
    .requiredOption('--out <int8.tflite>', 'where to write the quantized model')
    .addOption(new Option('--io <type>', 'type of the model input and output').choices(['int8', 'uint8', 'float']).default('int8'))
    .addOption(new Option('--calibration-method <method>', 'activation ranges from').choices(['minmax', 'percentile']).default('minmax'))
    .option('--percentile <p>', 'with --calibration-method percentile: keep values up to this percentile (and from 100 - p)',
      number('--percentile', (v) => v > 50 && v <= 100, 'above 50 and at most 100 (e.g. 99.99)'), 99.99)
    .option('--pixel-scale <s>', 'integer calibration data (e.g. uint8 images) -> real: x * s + offset', number('--pixel-scale', (v) => v !== 0, 'a non-zero number'), 1 / 255)
    .option('--pixel-offset <o>', 'see --pixel-scale', number('--pixel-offset', () => true, 'a number'), 0)
    .option('--limit <n>', 'use at most n calibration samples', number('--limit', (v) => Number.isInteger(v) && v > 0, 'a positive integer'))
    .option('--json', 'print the summary as JSON')
    .action((file: string, opts: QuantizeCommandOptions) => {
      const summary = quantizeFile(file, opts);
      process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatQuantizeSummary(summary)}\n`);
    });
}
