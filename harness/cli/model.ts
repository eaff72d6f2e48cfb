/**
 * `hil model ...`: the model toolkit on the command line.
 * - `hil model inspect <file> [--json]`: I/O tensors, operators with shapes and MACs, totals, the
 *   TFLM arena estimate and the operators the host interpreter cannot run.
 * - `hil model run <file> --input <x.npy|x.raw> [--output <y.npy|y.raw>] [--json]`: one inference
 *   on the host reference interpreter (`--input` / `--output` once per model input / output).
 * - `hil model quantize ...` (harness/cli/quantize.ts).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { readNpy, encodeNpy, type NpyArray } from '../datasets/npy.js';
import { LabError } from '../errors.js';
import { addModelToBuild, modelImage } from '../flash/model-image.js';
import { inspectModel, type ModelReport } from '../tflite/inspect.js';
import { Interpreter, type TensorData } from '../tflite/interpreter.js';
import { shapeSize, tensorByteSize, type Quantization, type Tensor } from '../tflite/model.js';
import { readModelFile } from '../tflite/reader.js';
import { registerModelQuantize } from './quantize.js';
import { formatTable } from './rigs.js';

const n = (x: number): string => x.toLocaleString('en-US');
const shapeText = (s: readonly number[]): string => `[${s.join(',')}]`;

function quantizationText(q: Quantization | null): string {
  if (!q || q.scale.length === 0) return '';
  if (q.scale.length === 1) return `scale ${Number(q.scale[0].toPrecision(6))} zero point ${q.zeroPoint[0] ?? 0}`;
  return `per-channel: ${q.scale.length} scales along dimension ${q.quantizedDimension}`;
}

/** Right-aligns the given columns, then lays the rows out with the lab's table format. */
function table(rows: string[][], rightAligned: ReadonlySet<number>): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return formatTable(rows.map((r) => r.map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c]) : cell))));
}

/** `SVDF (#1, #3), CUSTOM 'ethos-u' (#0)`: grouped by op in order of first appearance. */
function byOp(list: readonly { index: number; op: string }[]): string {
  const groups = new Map<string, number[]>();
  for (const { index, op } of list) groups.set(op, [...(groups.get(op) ?? []), index]);
  return [...groups].map(([op, indices]) => `${op} (${indices.map((i) => `#${i}`).join(', ')})`).join(', ');
}

export function formatModelReport(r: ModelReport): string {
  const lines: string[] = [];
  lines.push(`${r.file}: ${n(r.bytes)} bytes, TFLite schema ${r.schemaVersion}` +
    `${r.description ? `, "${r.description}"` : ''}, ${r.operators.length} operators`);
  for (const [title, list] of [['Inputs', r.inputs], ['Outputs', r.outputs]] as const) {
    lines.push('', `${title}:`);
    lines.push(table(list.map((t) => [`  #${t.index}`, t.name || '(unnamed)', t.type, shapeText(t.shape), quantizationText(t.quantization)]), new Set()));
  }
  lines.push('', 'Operators:');
  const rows = [['  #', 'OP', 'INPUTS', 'OUTPUTS', 'MACS']];
  for (const o of r.operators) {
    const cost = o.kind === 'macs' ? n(o.macs) : o.kind === 'ops' ? `${n(o.macs)} ops` : o.kind === 'none' ? '-' : '?';
    rows.push([`  ${o.index}`, o.name, o.inputShapes.map(shapeText).join(' '), o.outputShapes.map(shapeText).join(' '), cost]);
  }
  lines.push(table(rows, new Set([0, 4])));
  lines.push('', `Totals: ${n(r.totals.macs)} MACs, ${n(r.totals.ops)} other ops, ${n(r.totals.paramBytes)} parameter bytes, ` +
    `${n(r.totals.bytesRead)} bytes read and ${n(r.totals.bytesWritten)} written per inference`);
  if (r.unprofiled.length > 0) lines.push(`  no cost rule for ${byOp(r.unprofiled)}`);
  const a = r.arena;
  lines.push(`Arena (TFLM reference kernels): ${n(a.bytes32)} bytes on a 32-bit target ` +
    `(${n(a.nonPersistentBytes)} activations and scratch + ${n(a.persistentBytes)} persistent)` +
    `${a.bytesEsp32s3 !== a.bytes32 ? `, ${n(a.bytesEsp32s3)} with the ESP32-S3's struct layout` : ''}; ${n(a.bytes64)} on a 64-bit host`);
  for (const note of a.notes) lines.push(`  note: ${note}`);
  lines.push(r.unsupportedOperators.length === 0
    ? 'Host interpreter: runs every operator'
    : `Host interpreter: cannot run ${byOp(r.unsupportedOperators)}`);
  return lines.join('\n');
}

const TYPED: Partial<Record<Tensor['type'], (b: ArrayBuffer) => TensorData>> = {
  int8: (b) => new Int8Array(b), uint8: (b) => new Uint8Array(b), bool: (b) => new Uint8Array(b),
  int16: (b) => new Int16Array(b), int32: (b) => new Int32Array(b), float32: (b) => new Float32Array(b),
};

/** The values of one input file for `tensor`: a .npy of the tensor's dtype, or raw little-endian bytes. */
function loadInput(file: string, tensor: Tensor, position: number): ArrayLike<number> {
  const what = `input ${position} (#${tensor.index} '${tensor.name}', ${tensor.type} ${shapeText(tensor.shape)})`;
  const count = shapeSize(tensor.shape);
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') {
    const array: NpyArray = readNpy(file);
    // numpy's default float64 is accepted for a float32 input: the values are rounded as TFLite would.
    const dtypeOk = array.dtype === tensor.type || (tensor.type === 'float32' && array.dtype === 'float64');
    if (!dtypeOk) throw new LabError('model-input', `${file}: holds ${array.dtype} but ${what} needs ${tensor.type}; save it with that dtype`);
    if (array.data.length !== count) {
      throw new LabError('model-input', `${file}: shape ${shapeText(array.shape)} has ${array.data.length} values but ${what} needs ${count}`);
    }
    return array.data;
  }
  if (ext === '.raw' || ext === '.bin') {
    const make = TYPED[tensor.type];
    if (!make) throw new LabError('model-unsupported', `${file}: ${what} has a type the host interpreter does not run`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new LabError('model-input', `${file}: cannot read the input file (${(e as NodeJS.ErrnoException).code ?? String(e)}); check the path`, { cause: e });
    }
    const expected = tensorByteSize(tensor);
    if (bytes.length !== expected) {
      throw new LabError('model-input', `${file}: has ${bytes.length} bytes but ${what} needs ${expected} (${count} x ${tensor.type}, little-endian)`);
    }
    return make(new Uint8Array(bytes).buffer);
  }
  throw new LabError('model-input', `${file}: input files must be .npy or .raw (raw little-endian ${tensor.type} values)`);
}

function writeOutput(file: string, data: TensorData, tensor: Tensor): void {
  const ext = path.extname(file).toLowerCase();
  let bytes: Uint8Array;
  if (ext === '.npy') bytes = encodeNpy(data, tensor.shape);
  else if (ext === '.raw' || ext === '.bin') bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else throw new LabError('model-output', `${file}: output files must be .npy or .raw`);
  try {
    writeFileSync(file, bytes);
  } catch (e) {
    throw new LabError('model-output', `${file}: cannot write the output (${(e as NodeJS.ErrnoException).code ?? String(e)}); check the folder exists and is writable`, { cause: e });
  }
}

function dequantize(data: TensorData, q: Quantization | null): number[] | null {
  if (!q || q.scale.length !== 1 || data instanceof Float32Array) return null;
  return Array.from(data, (v) => Number(((v - (q.zeroPoint[0] ?? 0)) * q.scale[0]).toPrecision(6)));
}

interface RunOptions { input: string[]; output?: string[]; json?: boolean }

function runModel(file: string, opts: RunOptions): void {
  const model = readModelFile(file);
  const interpreter = new Interpreter(model, { source: file });
  const inputs = interpreter.inputs;
  const list = (ts: readonly Tensor[]) => ts.map((t) => `#${t.index} '${t.name}' ${t.type} ${shapeText(t.shape)}`).join(', ');
  if (opts.input.length !== inputs.length) {
    throw new LabError('model-input', `${file}: the model has ${inputs.length} input(s) (${list(inputs)}) ` +
      `but ${opts.input.length} --input file(s) were given; give one --input per model input, in order`);
  }
  const outputFiles = opts.output ?? [];
  if (outputFiles.length > interpreter.outputs.length) {
    throw new LabError('model-output', `${file}: the model has ${interpreter.outputs.length} output(s) (${list(interpreter.outputs)}) ` +
      `but ${outputFiles.length} --output files were given`);
  }
  inputs.forEach((t, i) => interpreter.setInput(i, loadInput(opts.input[i], t, i)));
  const t0 = performance.now();
  interpreter.invoke();
  const invokeMs = performance.now() - t0;

  const outputs = interpreter.outputs.map((t, i) => {
    const data = interpreter.output(i);
    if (outputFiles[i]) writeOutput(outputFiles[i], data, t);
    return { tensor: t, data, dequantized: dequantize(data, t.quantization), written: outputFiles[i] ?? null };
  });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({
      file,
      inputs: inputs.map((t, i) => ({ index: t.index, name: t.name, type: t.type, shape: t.shape, file: opts.input[i] })),
      outputs: outputs.map((o) => ({
        index: o.tensor.index, name: o.tensor.name, type: o.tensor.type, shape: o.tensor.shape,
        values: Array.from(o.data), dequantized: o.dequantized, written: o.written,
      })),
      hostInvokeMs: Number(invokeMs.toFixed(3)),
    }, null, 2)}\n`);
    return;
  }
  const preview = (values: ArrayLike<number>): string => {
    const shown = Array.from(values).slice(0, 16).map((v) => String(v)).join(', ');
    return values.length > 16 ? `[${shown}, ... ${n(values.length)} values]` : `[${shown}]`;
  };
  for (const o of outputs) {
    const t = o.tensor;
    process.stdout.write(`output #${t.index} '${t.name}' ${t.type} ${shapeText(t.shape)}: ${preview(o.data)}\n`);
    if (o.dequantized) process.stdout.write(`  dequantized: ${preview(o.dequantized)}\n`);
    if (o.written) process.stdout.write(`  written to ${o.written}\n`);
  }
  process.stdout.write(`host interpreter: ${invokeMs.toFixed(2)} ms for one inference (this machine, not a board)\n`);
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerModel(program: Command): void {
  const model = program.command('model').description('read, size, profile and run .tflite models on the host');
  model
    .command('inspect')
    .description('I/O tensors, operators with shapes and MACs, arena estimate (TFLM), unsupported operators')
    .argument('<file>', '.tflite model')
    .option('--json', 'print the report as JSON')
    .action((file: string, opts: { json?: boolean }) => {
      const parsed = readModelFile(file);
      const report = inspectModel(parsed, { path: file, bytes: statSync(file).size });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatModelReport(report)}\n`);
    });
  model
    .command('run')
    .description('run one inference on the host reference interpreter')
    .argument('<file>', '.tflite model')
    .requiredOption('--input <file>', 'input values: .npy (the input\'s dtype) or .raw (little-endian); once per model input', collect)
    .option('--output <file>', 'write an output as .npy or .raw; once per model output, in order', collect)
    .option('--json', 'print the outputs as JSON')
    .action((file: string, opts: RunOptions) => runModel(file, opts));
  model
    .command('image')
    .description('the model partition image of a .tflite (HILMODEL header + model), for scenario models with "storage": "partition"')
    .argument('<file>', '.tflite model')
    .option('--build <dir>', 'write model.bin into this ESP-IDF build and its flasher_args.json, so hil flash writes it to the model partition')
    .option('--out <file>', 'just write the image to this file')
    .action((file: string, opts: { build?: string; out?: string }) => writeModelImage(file, opts));
  registerModelQuantize(model);
}

function writeModelImage(file: string, opts: { build?: string; out?: string }): void {
  if ((opts.build === undefined) === (opts.out === undefined)) {
    throw new LabError('usage', 'hil model image: give exactly one of --build <dir> (add it to a firmware build) or --out <file>');
  }
  if (opts.out !== undefined) {
    const image = modelImage(new Uint8Array(readFileSync(file)), file);
    writeFileSync(opts.out, image);
    process.stdout.write(`${opts.out}: ${image.length} bytes (64-byte HILMODEL header + ${path.basename(file)}); flash it at the model partition's offset\n`);
    return;
  }
  const added = addModelToBuild(opts.build!, file);
  process.stdout.write(
    `${added.file}: ${added.imageBytes} bytes at 0x${added.offset.toString(16)} (model partition, ${added.partitionBytes} bytes), sha256 ${added.sha256}\n`
    + `flasher_args.json updated: hil flash <board> --build ${opts.build} writes it\n`,
  );
}
