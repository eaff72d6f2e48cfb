/**
 * Every op test model against TensorFlow Lite Micro itself: `tflm-reference.json` holds the outputs
 * of tflite-micro @ 90b983c2 (host build, reference kernels) on 20 seeded inputs per model. int8
 * outputs must be byte-identical; float outputs within 1e-5 of TFLM relative to the larger of the
 * value and the output's largest magnitude (TFLM sums in float32 in its own order, the
 * interpreter in double).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Interpreter } from '../interpreter.js';
import { SUPPORTED_OPERATORS } from '../kernels/registry.js';
import { readModel } from '../reader.js';
import { writeModel } from '../writer.js';
import { OP_MODELS, randomInputs, seedOf } from './op-models.js';

interface Reference { inputsPerModel: number; models: Record<string, { sha256: string; first: number[] }> }
const reference = JSON.parse(readFileSync(new URL('./tflm-reference.json', import.meta.url), 'utf8')) as Reference;

describe('op model catalogue', () => {
  it('covers every supported operator with an int8 model, and a float32 one where the op has a float path', () => {
    const int8Ops = new Set(OP_MODELS.filter((m) => m.type === 'int8').map((m) => m.op));
    const floatOps = new Set(OP_MODELS.filter((m) => m.type === 'float32').map((m) => m.op));
    expect(SUPPORTED_OPERATORS.filter((op) => !int8Ops.has(op))).toEqual([]);
    expect(SUPPORTED_OPERATORS.filter((op) => !floatOps.has(op))).toEqual(['DEQUANTIZE', 'QUANTIZE']);
  });

  it('builds byte-identical models on every call (seeded weights)', () => {
    for (const m of OP_MODELS.slice(0, 6)) expect(writeModel(m.build())).toEqual(writeModel(m.build()));
  });
});

describe('op models match TFLM reference outputs', () => {
  for (const m of OP_MODELS) {
    it(m.name, () => {
      const ref = reference.models[m.name];
      expect(ref, `${m.name} has no TFLM reference: regenerate tflm-reference.json`).toBeDefined();
      const model = readModel(writeModel(m.build()), { source: `${m.name}.tflite` });
      const interpreter = new Interpreter(model, { source: `${m.name}.tflite` });
      const hash = createHash('sha256');
      let first: number[] = [];
      for (let k = 0; k < reference.inputsPerModel; k++) {
        randomInputs(model, seedOf(m.name) + k, m.inputRange).forEach((x, i) => interpreter.setInput(i, x));
        interpreter.invoke();
        const out = interpreter.output(0);
        if (k === 0) first = Array.from(out);
        hash.update(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      }
      if (interpreter.outputs[0].type === 'float32') {
        const scale = Math.max(...ref.first.map(Math.abs));
        first.forEach((v, i) => {
          const tolerance = 1e-5 * Math.max(Math.abs(ref.first[i]), scale);
          if (Math.abs(v - ref.first[i]) > tolerance) expect({ index: i, value: v }).toEqual({ index: i, value: ref.first[i] });
        });
      } else {
        expect(first).toEqual(ref.first);
        expect(hash.digest('hex')).toBe(ref.sha256);
      }
    });
  }
});
