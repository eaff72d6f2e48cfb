import { describe, expect, it } from 'vitest';
import { hasShared, readSharedModel } from '../../test/shared.js';
import { LabError } from '../errors.js';
import { GraphBuilder, options } from './builder.js';
import { mlpFloat, tinyConvInt8 } from './example-models.js';
import { OperatorCodeField } from './fb/schema.js';
import { FbFile } from './fb/table.js';
import type { Model } from './model.js';
import { readModel } from './reader.js';
import { writeModel } from './writer.js';

/** A model with one operator per options kind the lab understands, plus a custom op and an unknown table. */
function everyOptionKind(): Model {
  const g = new GraphBuilder({ name: 'all_options', description: 'round trip' });
  const t = (shape: number[]): number => g.addTensor({ type: 'float32', shape });
  const x = t([1, 4, 4, 2]);
  const w = g.addConstant('float32', [2, 3, 3, 2], Array.from({ length: 36 }, (_, i) => i / 7));
  const y = t([1, 4, 4, 2]);
  g.addOperator('CONV_2D', [x, w, -1], [y], options.conv2d({ padding: 'SAME', strideW: 1, strideH: 1, dilationW: 2, dilationH: 3, fusedActivation: 'RELU6' }));
  g.addOperator('DEPTHWISE_CONV_2D', [x, w, -1], [y], options.depthwiseConv2d({ strideW: 2, strideH: 1, depthMultiplier: 4, fusedActivation: 'RELU_N1_TO_1' }));
  g.addOperator('MAX_POOL_2D', [x], [y], options.pool2d({ filterWidth: 2, filterHeight: 3, padding: 'SAME', fusedActivation: 'RELU' }));
  g.addOperator('AVERAGE_POOL_2D', [x], [y], options.pool2d({ filterWidth: 1, filterHeight: 1, strideW: 2, strideH: 2 }));
  g.addOperator('FULLY_CONNECTED', [x, w, -1], [y], options.fullyConnected({ keepNumDims: true, asymmetricQuantizeInputs: true, weightsFormat: 'SHUFFLED4x16INT8', fusedActivation: 'TANH' }));
  for (const op of ['ADD', 'SUB', 'MUL', 'DIV']) g.addOperator(op, [x, y], [y], options.elementwise('SIGN_BIT'));
  g.addOperator('SOFTMAX', [x], [y], options.softmax(0.5));
  g.addOperator('CONCATENATION', [x, y], [y], options.concatenation(-1, 'RELU'));
  g.addOperator('RESHAPE', [x], [y], options.reshape([1, -1]));
  g.addOperator('RESHAPE', [x], [y], options.reshape(null));
  g.addOperator('SQUEEZE', [x], [y], options.squeeze([0, 2]));
  g.addOperator('MEAN', [x, w], [y], options.reducer(true));
  g.addOperator('LEAKY_RELU', [x], [y], options.leakyRelu(0.125));
  g.addOperator('QUANTIZE', [x], [y]);
  g.addOperator('GELU', [x], [y]); // code 150: only in builtin_code
  g.addOperator('CUSTOM', [x], [y], options.none(), { customCode: 'ethos-u', customOptions: new Uint8Array([1, 2, 3]) });
  // SVDFOptions (type 6) kept raw: rank 2 at offset 4, activation RELU at 8, asymmetric true at 9.
  // Encoding of ./fb/raw-table.ts: 3 fields, 12 inline bytes, alignment 4; offsets 4, 8, 9; inline bytes.
  const svdfTable = new Uint8Array([3, 0, 12, 0, 4, 0, 4, 0, 8, 0, 9, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 1, 0, 0]);
  g.addOperator('SVDF', [x, w, w, w, -1], [y], { kind: 'Unknown', optionsType: 6, bytes: svdfTable });
  g.addOperator('PAD', [x, w], [y], { kind: 'Unknown', optionsType: 22, bytes: null });
  const q = g.addTensor({
    name: 'per-channel', type: 'int8', shape: [3, 1, 1, 2], isVariable: true, shapeSignature: [-1, 1, 1, 2],
    quantization: { scale: [0.5, 0.25, 0.125], zeroPoint: [0, 1, -1], quantizedDimension: 0, min: [-1, -2, -3], max: [1, 2, 3] },
  });
  g.setInputs([x, q]).setOutputs([y]);
  return g.build();
}

/** Like `expect(actual).toEqual(expected)`, with the buffers compared as bytes (vitest's deep equal is slow on them). */
function expectSameModel(actual: Model, expected: Model): void {
  expect(actual.buffers.map((b) => b.length)).toEqual(expected.buffers.map((b) => b.length));
  actual.buffers.forEach((b, i) => expect(Buffer.compare(b, expected.buffers[i]), `buffer ${i}`).toBe(0));
  expect({ ...actual, buffers: [] }).toEqual({ ...expected, buffers: [] });
}

function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected)).toBe(0);
}

describe('writeModel', () => {
  it('round-trips every options kind, custom ops, raw options tables and quantization', () => {
    const m = everyOptionKind();
    const back = readModel(writeModel(m));
    expectSameModel(back, m);
    expect(back.subgraphs[0].operators.map((o) => o.op)).toContain('GELU');
  });

  it('round-trips the example models byte for byte', () => {
    for (const make of [tinyConvInt8, mlpFloat]) {
      const bytes = writeModel(make());
      expectSameModel(readModel(bytes), make());
      expectSameBytes(writeModel(readModel(bytes)), bytes);
    }
  });

  it('aligns constant data to 16 bytes and writes the TFL3 identifier', () => {
    const bytes = writeModel(tinyConvInt8());
    expect(new TextDecoder().decode(bytes.subarray(4, 8))).toBe('TFL3');
    const m = readModel(bytes);
    const constants = m.buffers.filter((b) => b.length > 0);
    expect(constants.length).toBeGreaterThan(5);
    for (const data of constants) expect((data.byteOffset - bytes.byteOffset) % 16).toBe(0);
  });

  it('writes both deprecated_builtin_code (clamped to 127) and builtin_code', () => {
    const g = new GraphBuilder();
    const x = g.addTensor({ type: 'float32', shape: [1] });
    g.addOperator('ADD', [x, x], [x]);
    g.addOperator('GELU', [x], [x]);
    const file = new FbFile(writeModel(g.setInputs([x]).setOutputs([x]).build()));
    const codes = file.root().tables(1, 'operator code') ?? [];
    expect(codes.map((c) => [c.int8(OperatorCodeField.deprecatedBuiltinCode, 'd'), c.int32(OperatorCodeField.builtinCode, 'b')]))
      .toEqual([[0, 0], [127, 150]]);
  });

  it('refuses to copy an unknown options table that holds references', () => {
    const g = new GraphBuilder();
    const x = g.addTensor({ type: 'float32', shape: [1] });
    g.addOperator('BUCKETIZE', [x], [x], { kind: 'Unknown', optionsType: 115, bytes: new Uint8Array([1, 0, 8, 0, 4, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]) });
    expect(() => writeModel(g.build())).toThrowError(LabError);
    expect(() => writeModel(g.build())).toThrowError(/subgraph 0 operator 0 \(BUCKETIZE\): cannot write its options \(union type 115\)/);
  });
});

describe('GraphBuilder', () => {
  it('fills operator codes once per op and version, and buffers for constants only', () => {
    const m = tinyConvInt8();
    expect(m.operatorCodes.map((c) => `${c.builtin}@${c.version}`))
      .toEqual(['CONV_2D@3', 'DEPTHWISE_CONV_2D@3', 'AVERAGE_POOL_2D@2', 'RESHAPE@1', 'FULLY_CONNECTED@4', 'SOFTMAX@2']);
    expect(m.buffers[0]).toHaveLength(0);
    const sg = m.subgraphs[0];
    expect(sg.tensors.filter((t) => t.buffer !== 0).map((t) => [t.name, m.buffers[t.buffer].length])).toEqual([
      ['conv/weights', 36], ['conv/bias', 16], ['dw/weights', 36], ['dw/bias', 16], ['reshape/shape', 8],
      ['fc/weights', 48], ['fc/bias', 12]]);
  });

  it('encodes constants little-endian by type', () => {
    const g = new GraphBuilder();
    const c = g.addConstant('int16', [2], [1, -2]);
    const f = g.addConstant('float32', [1], [1.5]);
    const m = g.build();
    expect([...m.buffers[m.subgraphs[0].tensors[c].buffer]]).toEqual([1, 0, 0xfe, 0xff]);
    expect([...m.buffers[m.subgraphs[0].tensors[f].buffer]]).toEqual([0, 0, 0xc0, 0x3f]);
  });

  it('rejects mistakes where they are made', () => {
    const g = new GraphBuilder();
    expect(() => g.addConstant('int8', [2], [1, 2, 3])).toThrow('constant of shape [2] needs 2 values, got 3');
    expect(() => g.addConstant('int8', [1], [200])).toThrow('value 200 at index 0 is not a int8');
    expect(() => g.addOperator('MAX_POOL_2D', [0], [0])).toThrow(/no default filter size/);
    expect(() => g.addOperator('NOT_AN_OP', [0], [0])).toThrow(/not a TFLite builtin operator/);
    g.addTensor({ type: 'float32', shape: [1] });
    g.addOperator('RELU', [0], [3]);
    expect(() => g.build()).toThrow('operator 0 (RELU) outputs refers to tensor 3 but there are 1 tensors');
  });
});

describe.runIf(hasShared)('writeModel on the shared models (needs ../shared)', () => {
  const files = ['hello_world_float', 'hello_world_int8', 'person_detect', 'person_detect_vela', 'micro_speech_quantized',
    'simple_add_model', 'keyword_scrambled'];
  it.each(files)('%s: write(read(file)) reads back to the same graph, and writing is deterministic', (name) => {
    const original = readModel(readSharedModel(`tflite-micro/${name}.tflite`));
    const bytes = writeModel(original);
    const again = readModel(bytes);
    expectSameModel(again, original);
    expectSameBytes(writeModel(again), bytes);
  });
});
