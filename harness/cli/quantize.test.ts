import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeNpy } from '../datasets/npy.js';
import { mulberry32 } from '../datasets/random.js';
import { LabError } from '../errors.js';
import { GraphBuilder, options } from '../tflite/builder.js';
import { Interpreter } from '../tflite/interpreter.js';
import { readModelFile } from '../tflite/reader.js';
import { writeModel } from '../tflite/writer.js';
import { registerModelQuantize } from './quantize.js';

/** A float classifier of 4x4x1 images: CONV_2D 3x3 (2, RELU) -> RESHAPE -> FC 3 -> SOFTMAX. */
function writeFloatModel(dir: string): string {
  const random = mulberry32(1);
  const w = (n: number) => Array.from({ length: n }, () => Math.fround(random() - 0.5));
  const g = new GraphBuilder();
  const x = g.addTensor({ name: 'image', type: 'float32', shape: [1, 4, 4, 1] });
  const c = g.addTensor({ name: 'conv', type: 'float32', shape: [1, 4, 4, 2] });
  g.addOperator('CONV_2D', [x, g.addConstant('float32', [2, 3, 3, 1], w(18)), g.addConstant('float32', [2], w(2))], [c],
    options.conv2d({ padding: 'SAME', fusedActivation: 'RELU' }));
  const r = g.addTensor({ name: 'flat', type: 'float32', shape: [1, 32] });
  g.addOperator('RESHAPE', [c, g.addConstant('int32', [2], [1, 32])], [r], options.reshape([1, 32]));
  const l = g.addTensor({ name: 'logits', type: 'float32', shape: [1, 3] });
  g.addOperator('FULLY_CONNECTED', [r, g.addConstant('float32', [3, 32], w(96)), g.addConstant('float32', [3], w(3))], [l]);
  const p = g.addTensor({ name: 'probs', type: 'float32', shape: [1, 3] });
  g.addOperator('SOFTMAX', [l], [p], options.softmax());
  g.setInputs([x]).setOutputs([p]);
  const file = path.join(dir, 'float.tflite');
  writeFileSync(file, writeModel(g.build()));
  return file;
}

async function hil(args: string[]): Promise<string> {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => { out.push(String(chunk)); return true; });
  const program = new Command('hil').exitOverride();
  registerModelQuantize(program.command('model'));
  await program.parseAsync(['model', 'quantize', ...args], { from: 'user' });
  vi.restoreAllMocks();
  return out.join('');
}

afterEach(() => vi.restoreAllMocks());

describe('hil model quantize', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-quantize-'));
  const model = writeFloatModel(dir);
  const random = mulberry32(2);
  const images = path.join(dir, 'images.npy');
  writeFileSync(images, encodeNpy(Uint8Array.from({ length: 40 * 16 }, () => Math.floor(random() * 256)), [40, 4, 4, 1]));

  it('writes an int8 model from uint8 calibration images and prints what it chose', async () => {
    const out = path.join(dir, 'int8.tflite');
    const text = await hil([model, '--calibration', images, '--out', out]);
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe(`quantized ${model} -> ${out} (int8 input and output)`);
    expect(lines[1]).toBe(`  calibration: 40 samples from ${images}, integers mapped by x * 0.00392157 + 0; minmax`);
    // The images span 0..255, so the input range is [0, 1]: scale 1/255, zero point -128.
    expect(lines[2]).toBe("  input  'image': int8 scale 0.00392157 zero point -128");
    expect(lines[3]).toBe("  output 'probs': int8 scale 0.00390625 zero point -128");
    expect(lines[4]).toMatch(/^ {2}size: \d+ -> \d+ bytes \(\d\.\d\dx smaller\)$/);
    expect(lines[5]).toMatch(/^ {2}check on the calibration samples \(lab interpreter\): top-1 agreement with float \d+\.\d%, max \|float - int8\| /);
    const interpreter = new Interpreter(readModelFile(out));
    expect(interpreter.inputs[0].type).toBe('int8');
  });

  it('honours --io, --calibration-method percentile and --json', async () => {
    const out = path.join(dir, 'u8.tflite');
    const summary = JSON.parse(await hil([model, '--calibration', images, '--out', out, '--io', 'uint8', '--calibration-method', 'percentile', '--percentile', '99.9', '--limit', '10', '--json']));
    expect(summary.io).toBe('uint8');
    expect(summary.calibration).toMatchObject({ samples: 10, method: 'percentile', percentile: 99.9 });
    expect(summary.inputs[0]).toMatchObject({ name: 'image_uint8', type: 'uint8' });
    expect(summary.outputs[0]).toMatchObject({ type: 'uint8', zeroPoint: 0 });
  });

  it('takes a folder of float .npy samples', async () => {
    const folder = path.join(dir, 'samples');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(folder);
    for (let k = 0; k < 3; k++) writeFileSync(path.join(folder, `s${k}.npy`), encodeNpy(Float32Array.from({ length: 16 }, () => random()), [4, 4, 1]));
    const summary = JSON.parse(await hil([model, '--calibration', folder, '--out', path.join(dir, 'f.tflite'), '--io', 'float', '--json']));
    expect(summary.calibration).toMatchObject({ files: 3, samples: 3, integerMapping: null });
    expect(summary.inputs[0].type).toBe('float32');
  });

  it('says what is wrong with the calibration data', async () => {
    await expect(hil([model, '--calibration', path.join(dir, 'nope.npy'), '--out', path.join(dir, 'x.tflite')]))
      .rejects.toThrow(new LabError('quantize', `${path.join(dir, 'nope.npy')}: no such calibration file or directory; give a .npy file or a folder of .npy files`));
    const wrong = path.join(dir, 'wrong.npy');
    writeFileSync(wrong, encodeNpy(new Uint8Array(5 * 9), [5, 3, 3]));
    await expect(hil([model, '--calibration', wrong, '--out', path.join(dir, 'x.tflite')]))
      .rejects.toThrow(`${wrong}: shape [5, 3, 3] is neither one input [1, 4, 4, 1] of 'image' nor a batch [N, 4, 4, 1]`);
    await expect(hil([model, '--calibration', images, '--out', path.join(dir, 'x.tflite'), '--io', 'int4'])).rejects.toThrow(/Allowed choices are int8, uint8, float/);
  });
});
