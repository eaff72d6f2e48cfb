import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { exampleModelPath, makeExampleModel } from '../../scripts/make-example-model.js';
import { hasShared, sharedModelPath } from '../../test/shared.js';
import { decodeNpy, encodeNpy } from '../datasets/npy.js';
import { Interpreter } from '../tflite/interpreter.js';
import { planArena } from '../tflite/planner.js';
import { readModelFile } from '../tflite/reader.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'hil-model-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the real CLI as a user would: `node bin/hil.js <args>`. */
function hil(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [path.join(repo, 'bin/hil.js'), ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const n = (x: number): string => x.toLocaleString('en-US');
const example = 'harness/tflite/testdata/tiny_conv_int8.tflite';

describe('hil model inspect', () => {
  it('checks in the example model that scripts/make-example-model.ts makes', () => {
    expect(Buffer.compare(readFileSync(exampleModelPath), makeExampleModel())).toBe(0);
  });

  it('prints I/O, the operator table with MACs, totals and the arena estimate of the example model', () => {
    const r = hil('model', 'inspect', example);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const plan = planArena(readModelFile(exampleModelPath));
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(`${example}: 2,576 bytes, TFLite schema 3, "Example int8 model made by the lab", 6 operators`);
    expect(lines).toContain('  #0  input  int8  [1,8,8,1]  scale 0.00784314 zero point -1');
    expect(lines).toContain('  #13  probs  int8  [1,3]  scale 0.00390625 zero point -128');
    expect(lines).toContain('  0  CONV_2D            [1,8,8,1] [4,3,3,1] [4]  [1,8,8,4]   2,304');
    expect(lines).toContain('  2  AVERAGE_POOL_2D    [1,4,4,4]                [1,2,2,4]  64 ops');
    expect(lines).toContain('Totals: 2,928 MACs, 67 other ops, 172 parameter bytes, 591 bytes read and 358 written per inference');
    expect(r.out).toContain(`Arena (TFLM reference kernels): ${n(plan.totalBytes)} bytes on a 32-bit target`);
    expect(r.out).toMatch(/Host interpreter: runs every operator\n$/);
  });

  it('--json carries the same report with the 64-bit arena too', () => {
    const r = hil('model', 'inspect', example, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    const model = readModelFile(exampleModelPath);
    expect(report.arena.bytes32).toBe(planArena(model).totalBytes);
    expect(report.arena.bytes64).toBe(planArena(model, { pointerSize: 8 }).totalBytes);
    expect(report.operators.map((o: { name: string }) => o.name))
      .toEqual(['CONV_2D', 'DEPTHWISE_CONV_2D', 'AVERAGE_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX']);
    expect(report.totals.macs).toBe(2928);
    expect(report.inputs[0]).toMatchObject({ name: 'input', type: 'int8', shape: [1, 8, 8, 1] });
    expect(report.unsupportedOperators).toEqual([]);
  });

  it('ends a broken or missing file in one line and exit code 2', () => {
    const bad = path.join(tmp, 'broken.tflite');
    writeFileSync(bad, readFileSync(exampleModelPath).subarray(0, 600));
    const r = hil('model', 'inspect', bad);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(new RegExp(`^hil: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: truncated or corrupt: .*; the file is damaged: export or copy it again\n$`));
    const missing = hil('model', 'inspect', path.join(tmp, 'none.tflite'));
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(`hil: ${path.join(tmp, 'none.tflite')}: cannot read the model file: no such file\n`);
  });
});

describe('hil model run', () => {
  const input = Int8Array.from({ length: 64 }, (_, i) => ((i * 37) % 256) - 128);

  it('runs the example on a .npy input, prints the output and writes it as .npy and .raw', () => {
    const inFile = path.join(tmp, 'in.npy');
    writeFileSync(inFile, encodeNpy(input, [1, 8, 8, 1]));
    const outNpy = path.join(tmp, 'out.npy');
    const r = hil('model', 'run', example, '--input', inFile, '--output', outNpy);
    expect(r.code).toBe(0);
    const interpreter = new Interpreter(readModelFile(exampleModelPath));
    interpreter.setInput(0, input);
    interpreter.invoke();
    const expected = Array.from(interpreter.output(0));
    expect(r.out.split('\n')[0]).toBe(`output #13 'probs' int8 [1,3]: [${expected.join(', ')}]`);
    expect(r.out).toContain(`  written to ${outNpy}\n`);
    expect(r.out).toMatch(/host interpreter: [\d.]+ ms for one inference \(this machine, not a board\)\n$/);
    const written = decodeNpy(readFileSync(outNpy));
    expect(written.dtype).toBe('int8');
    expect(written.shape).toEqual([1, 3]);
    expect(Array.from(written.data)).toEqual(expected);

    const rawIn = path.join(tmp, 'in.raw');
    writeFileSync(rawIn, new Uint8Array(input.buffer));
    const rawOut = path.join(tmp, 'out.raw');
    const raw = hil('model', 'run', example, '--input', rawIn, '--output', rawOut, '--json');
    expect(raw.code).toBe(0);
    expect(JSON.parse(raw.out).outputs[0].values).toEqual(expected);
    expect(Array.from(new Int8Array(new Uint8Array(readFileSync(rawOut)).buffer))).toEqual(expected);
  });

  it('says which input is wrong and how, with exit code 2', () => {
    const wrongType = path.join(tmp, 'float.npy');
    writeFileSync(wrongType, encodeNpy(new Float32Array(64), [1, 8, 8, 1]));
    let r = hil('model', 'run', example, '--input', wrongType);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`hil: ${wrongType}: holds float32 but input 0 (#0 'input', int8 [1,8,8,1]) needs int8; save it with that dtype\n`);

    const short = path.join(tmp, 'short.raw');
    writeFileSync(short, new Uint8Array(10));
    r = hil('model', 'run', example, '--input', short);
    expect(r.err).toBe(`hil: ${short}: has 10 bytes but input 0 (#0 'input', int8 [1,8,8,1]) needs 64 (64 x int8, little-endian)\n`);

    r = hil('model', 'run', example, '--input', short, '--input', short);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^hil: harness\/tflite\/testdata\/tiny_conv_int8\.tflite: the model has 1 input\(s\) \(#0 'input' int8 \[1,8,8,1\]\) but 2 --input file\(s\) were given; give one --input per model input, in order\n$/);
  });
});

describe.runIf(hasShared)('hil model on the shared models (needs ../shared)', () => {
  it.each(['hello_world_float', 'hello_world_int8', 'person_detect', 'person_detect_vela', 'micro_speech_quantized',
    'simple_add_model', 'keyword_scrambled'])('inspect %s prints its arena estimate', (name) => {
    const file = sharedModelPath(`tflite-micro/${name}.tflite`);
    const r = hil('model', 'inspect', file);
    expect(r.code).toBe(0);
    const model = readModelFile(file);
    expect(r.out).toContain(`Arena (TFLM reference kernels): ${n(planArena(model).totalBytes)} bytes on a 32-bit target`);
    expect(r.out).toContain(`; ${n(planArena(model, { pointerSize: 8 }).totalBytes)} on a 64-bit host`);
  });

  it('inspect names the custom op of person_detect_vela the interpreter cannot run', () => {
    const r = hil('model', 'inspect', sharedModelPath('tflite-micro/person_detect_vela.tflite'));
    expect(r.out).toMatch(/Host interpreter: cannot run CUSTOM 'ethos-u' \(#0\)\n$/);
  });

  it('runs hello_world_int8: input -96 gives 89 (FACTS.md, TFLM)', () => {
    const inFile = path.join(tmp, 'hw.npy');
    writeFileSync(inFile, encodeNpy(Int8Array.from([-96]), [1, 1]));
    const r = hil('model', 'run', sharedModelPath('tflite-micro/hello_world_int8.tflite'), '--input', inFile);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe("output #9 'StatefulPartitionedCall:0' int8 [1,1]: [89]");
  });

  it('refuses to run keyword_scrambled and names the SVDF operators', () => {
    const inFile = path.join(tmp, 'kws.npy');
    writeFileSync(inFile, encodeNpy(new Int16Array(96), [1, 96]));
    const r = hil('model', 'run', sharedModelPath('tflite-micro/keyword_scrambled.tflite'), '--input', inFile);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^hil: .*keyword_scrambled\.tflite: unsupported operators: SVDF \(ops 1, 3, 5, 7, 9, 10, 11\)/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});

describe('hil model image', () => {
  it('writes the model partition image (HILMODEL header + the model) with --out', () => {
    const out = path.join(tmp, 'model.bin');
    const r = hil('model', 'image', example, '--out', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const model = readFileSync(example);
    expect(r.out).toBe(`${out}: ${model.length + 64} bytes (64-byte HILMODEL header + tiny_conv_int8.tflite); flash it at the model partition's offset\n`);
    const image = readFileSync(out);
    expect(image.subarray(0, 8).toString('latin1')).toBe('HILMODEL');
    expect(Buffer.compare(image.subarray(64), model)).toBe(0);
  });

  it('asks for exactly one of --build and --out, in one line, exit 2', () => {
    const r = hil('model', 'image', example);
    expect(r.code).toBe(2);
    expect(r.err).toBe('hil: hil model image: give exactly one of --build <dir> (add it to a firmware build) or --out <file>\n');
    expect(r.out).toBe('');
  });
});
