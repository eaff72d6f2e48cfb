/**
 * A damaged or hostile model must end in a LabError at construction or run to completion quickly:
 * never a RangeError, a crash, a hang or an out-of-memory. Seeded structural mutations of the op
 * test models (shapes, scales, zero points, option values, operator inputs): the reader's own
 * fuzz test covers damaged bytes.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../datasets/random.js';
import { isLabError } from '../errors.js';
import { Interpreter } from './interpreter.js';
import { shapeSize } from './model.js';
import { OP_MODELS } from './testing/op-models.js';

describe('Interpreter on mutated models', () => {
  it('3000 seeded mutations end in a LabError or a fast run, nothing else', () => {
    const random = mulberry32(20241128);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const odd = [0, -1, 1, 2, 3, 7, 1e9, -5, 0.5, NaN, 2 ** 31];
    const unexpected: string[] = [];
    let ran = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const spec = OP_MODELS[i % OP_MODELS.length];
      const model = spec.build();
      const graph = model.subgraphs[0];
      const tensor = pick(graph.tensors);
      const op = graph.operators[0];
      const kind = i % 5;
      if (kind === 0 && tensor.shape.length > 0) tensor.shape[Math.floor(random() * tensor.shape.length)] = pick(odd);
      if (kind === 1 && tensor.quantization) tensor.quantization.scale[0] = pick([0, -1, NaN, 1e-30, 1e30, Infinity]);
      if (kind === 2 && tensor.quantization) tensor.quantization.zeroPoint[0] = pick([-1000, 1000, 127, -128, 0.5]);
      if (kind === 3 && 'value' in op.options) {
        const values = op.options.value as unknown as Record<string, unknown>;
        const key = pick(Object.keys(values));
        if (typeof values[key] === 'number') values[key] = pick(odd);
      }
      if (kind === 4) op.inputs[Math.floor(random() * op.inputs.length)] = pick([-1, 99, graph.tensors.length - 1]);
      try {
        const interpreter = new Interpreter(model, { source: spec.name });
        interpreter.inputs.forEach((t, k) => {
          try {
            interpreter.setInput(k, new Array(Math.min(shapeSize(t.shape), 1e7)).fill(0));
          } catch (e) {
            if (!isLabError(e)) throw e;
          }
        });
        const start = performance.now();
        interpreter.invoke();
        if (performance.now() - start > 2000) unexpected.push(`${spec.name} (mutation ${kind}): invoke took over 2 s`);
        ran++;
      } catch (e) {
        if (isLabError(e)) refused++;
        else unexpected.push(`${spec.name} (mutation ${kind}): ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
    expect(unexpected).toEqual([]);
    // Both outcomes happen: the mutations are neither all harmless nor all fatal.
    expect(ran).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
  }, 120_000);
});
