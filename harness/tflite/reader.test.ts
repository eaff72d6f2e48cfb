import { Builder } from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { hasShared, readSharedModel, sharedModelPath } from '../../test/shared.js';
import { LabError } from '../errors.js';
import { readModel, readModelFile } from './reader.js';

/**
 * A minimal TFL3 file made with the flatbuffers Builder directly (not the lab's writer), so the
 * reader's checks are tested on bytes whose every field the test controls: one ADD of a constant
 * (tensor 0, buffer 1) and an input (tensor 1) into an output (tensor 2).
 */
function tinyModel(p: {
  version?: number; subgraphs?: number; opcodeIndex?: number; opInputs?: number[];
  constantBytes?: number; tensorBuffer?: number; identifier?: string;
} = {}): Uint8Array {
  const b = new Builder(256);
  const ints = (xs: number[]): number => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]);
    return b.endVector();
  };
  const table = (fields: (() => void)[]): number => {
    b.startObject(fields.length);
    fields.forEach((f) => f());
    return b.endObject();
  };
  const vector = (offsets: number[]): number => {
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
    return b.endVector();
  };
  const data = b.createByteVector(new Uint8Array(p.constantBytes ?? 4));
  const buffers = vector([table([]), table([() => b.addFieldOffset(0, data, 0)])]);
  const opcode = table([() => b.addFieldInt8(0, 0, -1), () => b.addFieldInt32(2, 1, 0)]); // ADD, version 1
  const subgraph = (): number => {
    const tensor = (name: string, buffer: number): number => {
      const shape = ints([1]);
      const n = b.createString(name);
      return table([() => b.addFieldOffset(0, shape, 0), () => b.addFieldInt8(1, 0, -1),
        () => b.addFieldInt32(2, buffer, -1), () => b.addFieldOffset(3, n, 0)]);
    };
    const tensors = vector([tensor('w', p.tensorBuffer ?? 1), tensor('x', 0), tensor('y', 0)]);
    const opIn = ints(p.opInputs ?? [0, 1]);
    const opOut = ints([2]);
    const op = table([() => b.addFieldInt32(0, p.opcodeIndex ?? 0, -1), () => b.addFieldOffset(1, opIn, 0),
      () => b.addFieldOffset(2, opOut, 0)]);
    const ops = vector([op]);
    const inputs = ints([1]);
    const outputs = ints([2]);
    return table([() => b.addFieldOffset(0, tensors, 0), () => b.addFieldOffset(1, inputs, 0),
      () => b.addFieldOffset(2, outputs, 0), () => b.addFieldOffset(3, ops, 0)]);
  };
  const subgraphs = vector(Array.from({ length: p.subgraphs ?? 1 }, subgraph));
  const opcodes = vector([opcode]);
  const model = table([() => b.addFieldInt32(0, p.version ?? 3, -1), () => b.addFieldOffset(1, opcodes, 0),
    () => b.addFieldOffset(2, subgraphs, 0), () => b.addFieldOffset(3, 0, 0), () => b.addFieldOffset(4, buffers, 0)]);
  b.finish(model, p.identifier ?? 'TFL3');
  return b.asUint8Array().slice();
}

function errorOf(f: () => unknown): LabError {
  try {
    f();
  } catch (e) {
    if (e instanceof LabError) return e;
    throw e;
  }
  throw new Error('expected a LabError');
}

describe('readModel on small files', () => {
  it('reads a well-formed model', () => {
    const m = readModel(tinyModel());
    expect(m.version).toBe(3);
    expect(m.operatorCodes).toEqual([{ builtin: 'ADD', builtinCode: 0, customCode: null, version: 1 }]);
    const sg = m.subgraphs[0];
    expect(sg.tensors.map((t) => [t.name, t.type, t.shape, t.buffer])).toEqual([
      ['w', 'float32', [1], 1], ['x', 'float32', [1], 0], ['y', 'float32', [1], 0]]);
    expect(sg.operators[0]).toMatchObject({ index: 0, op: 'ADD', inputs: [0, 1], outputs: [2], options: { kind: 'None' } });
    expect(m.buffers.map((x) => x.length)).toEqual([0, 4]);
  });

  it('names the file and the problem in one LabError', () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(3), /^tiny\.tflite: truncated: 3 bytes is too short for a TFLite model; the file is damaged: export or copy it again$/],
      [tinyModel({ identifier: 'TFL2' }), /^tiny\.tflite: not a TFLite model: the file identifier is "TFL2" where a \.tflite file has "TFL3"; convert the model with the TFLite converter$/],
      [tinyModel({ version: 2 }), /^tiny\.tflite: schema version 2 is not supported: the lab reads TFLite schema version 3$/],
      [tinyModel({ subgraphs: 2 }), /^tiny\.tflite: the model has 2 subgraphs; the lab supports single-subgraph models only/],
      [tinyModel({ subgraphs: 0 }), /^tiny\.tflite: the model has no subgraph$/],
      [tinyModel({ opInputs: [0, 7] }), /^tiny\.tflite: subgraph 0 operator 0 \(ADD\) inputs refers to tensor 7 but the subgraph has 3 tensors$/],
      [tinyModel({ opInputs: [0, -2] }), /refers to tensor -2 but the subgraph has 3 tensors$/],
      [tinyModel({ opcodeIndex: 5 }), /^tiny\.tflite: subgraph 0 operator 0 uses operator code 5 but the model has 1 operator codes$/],
      [tinyModel({ tensorBuffer: 9 }), /^tiny\.tflite: subgraph 0 tensor 0 'w' refers to buffer 9 but the model has 2 buffers$/],
      [tinyModel({ constantBytes: 2 }), /^tiny\.tflite: subgraph 0 tensor 0 'w' of type float32 and shape \[1\] needs 4 bytes but its buffer 1 has 2$/],
    ];
    for (const [bytes, message] of cases) {
      const e = errorOf(() => readModel(bytes, { source: 'tiny.tflite' }));
      expect(e.code).toBe('model-format');
      expect(e.message).toMatch(message);
    }
  });

  it('accepts -1 for an omitted optional input', () => {
    expect(readModel(tinyModel({ opInputs: [0, -1] })).subgraphs[0].operators[0].inputs).toEqual([0, -1]);
  });

  it('reports every truncation of a model as a LabError, never a crash', () => {
    const bytes = tinyModel();
    for (let n = 0; n < bytes.length; n++) {
      const e = errorOf(() => readModel(bytes.subarray(0, n), { source: 'cut.tflite' }));
      expect(e.message).toMatch(/^cut\.tflite: (truncated|corrupt|not a TFLite model)/);
    }
  });

  it('rejects a vector whose length runs past the end before allocating it', () => {
    const bytes = tinyModel();
    // The subgraph's `inputs` vector holds [1]; make its length field claim 2^31 entries.
    const view = new DataView(bytes.buffer);
    let at = -1;
    for (let i = 0; i + 8 <= bytes.length; i += 4) {
      if (view.getUint32(i, true) === 1 && view.getInt32(i + 4, true) === 1 && i + 8 <= bytes.length) at = i;
    }
    expect(at).toBeGreaterThan(0);
    view.setUint32(at, 0x7fffffff, true);
    expect(errorOf(() => readModel(bytes, { source: 'big.tflite' })).message)
      .toMatch(/^big\.tflite: truncated or corrupt: .* claims 2147483647 entries of 4 bytes but only \d+ bytes remain; the file is damaged: export or copy it again$/);
  });

  it('names the missing file', () => {
    expect(errorOf(() => readModelFile('/nonexistent/m.tflite')).message)
      .toBe('/nonexistent/m.tflite: cannot read the model file: no such file');
  });
});

describe.runIf(hasShared)('readModel on the shared models (needs ../shared)', () => {
  it('reads person_detect: ops, shapes, per-channel quantization, buffers as views', () => {
    const bytes = readSharedModel('tflite-micro/person_detect.tflite');
    const m = readModel(bytes);
    const sg = m.subgraphs[0];
    expect(sg.tensors).toHaveLength(89);
    expect(sg.operators).toHaveLength(31);
    expect(new Set(sg.operators.map((o) => o.op)))
      .toEqual(new Set(['AVERAGE_POOL_2D', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'RESHAPE', 'SOFTMAX']));
    const input = sg.tensors[sg.inputs[0]];
    expect(input).toMatchObject({ type: 'int8', shape: [1, 96, 96, 1] });
    expect(input.quantization?.zeroPoint).toEqual([-1]);
    expect(input.quantization?.scale[0]).toBeCloseTo(1 / 127.5, 6);
    const output = sg.tensors[sg.outputs[0]];
    expect(output).toMatchObject({ type: 'int8', shape: [1, 2] });
    expect(output.quantization?.scale).toEqual([1 / 256]);
    expect(output.quantization?.zeroPoint).toEqual([-128]);
    // The first depthwise conv: weights [1,3,3,8] quantized per channel along dimension 3.
    const dw = sg.operators[0];
    expect(dw.options).toEqual({
      kind: 'DepthwiseConv2D',
      value: { padding: 'SAME', strideW: 2, strideH: 2, dilationW: 1, dilationH: 1, depthMultiplier: 8, fusedActivation: 'RELU6' },
    });
    const weights = sg.tensors[dw.inputs[1]];
    expect(weights.shape).toEqual([1, 3, 3, 8]);
    expect(weights.quantization?.quantizedDimension).toBe(3);
    expect(weights.quantization?.scale).toHaveLength(8);
    const data = m.buffers[weights.buffer];
    expect(data).toHaveLength(72);
    expect(data.buffer).toBe(bytes.buffer); // a view, not a copy
  });

  it('reads hello_world_int8 I/O quantization as the README states', () => {
    const m = readModelFile(sharedModelPath('tflite-micro/hello_world_int8.tflite'));
    const sg = m.subgraphs[0];
    const [input, output] = [sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]];
    expect(input.quantization?.scale[0]).toBeCloseTo(0.0244801, 6);
    expect(input.quantization?.zeroPoint).toEqual([-128]);
    expect(output.quantization?.scale[0]).toBeCloseTo(0.00829096, 7);
    expect(output.quantization?.zeroPoint).toEqual([5]);
    expect(m.metadata.map((x) => x.name)).toEqual(['min_runtime_version', 'CONVERSION_METADATA']);
    expect(sg.operators.map((o) => o.op)).toEqual(['FULLY_CONNECTED', 'FULLY_CONNECTED', 'FULLY_CONNECTED']);
  });

  it('names the ops the lab does not interpret: SVDF and the custom ethos-u', () => {
    const kws = readModelFile(sharedModelPath('tflite-micro/keyword_scrambled.tflite'));
    const svdf = kws.subgraphs[0].operators.filter((o) => o.op === 'SVDF');
    expect(svdf.map((o) => o.index)).toEqual([1, 3, 5, 7, 9, 10, 11]);
    expect(svdf[0].options).toMatchObject({ kind: 'Unknown', optionsType: 6 });
    const vela = readModelFile(sharedModelPath('tflite-micro/person_detect_vela.tflite'));
    expect(vela.operatorCodes).toEqual([{ builtin: 'CUSTOM', builtinCode: 32, customCode: 'ethos-u', version: 1 }]);
    expect(vela.subgraphs[0].operators[0].customOptions?.length).toBeGreaterThan(0);
  });

  it('reports a truncated person_detect with the byte it needed', () => {
    const bytes = readSharedModel('tflite-micro/person_detect.tflite');
    const e = errorOf(() => readModel(bytes.subarray(0, 200_000), { source: 'person.tflite' }));
    expect(e.message).toMatch(/^person\.tflite: truncated or corrupt: .* ends at byte \d+ but the file has 200000 bytes; the file is damaged: export or copy it again$/);
  });
});
