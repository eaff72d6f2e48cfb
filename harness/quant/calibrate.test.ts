import { describe, expect, it } from 'vitest';
import { LabError } from '../errors.js';
import { GraphBuilder, options } from '../tflite/builder.js';
import { calibrate, clipToPercentile } from './calibrate.js';

/** y = relu(w . x + b) with w = [1, -2], b = 0.5, then z = y - 1 (SUB with a constant). */
function smallModel() {
  const g = new GraphBuilder();
  const x = g.addTensor({ name: 'x', type: 'float32', shape: [1, 2] });
  const w = g.addConstant('float32', [1, 2], [1, -2], null, 'w');
  const b = g.addConstant('float32', [1], [0.5], null, 'b');
  const y = g.addTensor({ name: 'y', type: 'float32', shape: [1, 1] });
  g.addOperator('FULLY_CONNECTED', [x, w, b], [y], options.fullyConnected({ fusedActivation: 'RELU' }));
  const one = g.addConstant('float32', [1], [1], null, 'one');
  const z = g.addTensor({ name: 'z', type: 'float32', shape: [1, 1] });
  g.addOperator('SUB', [y, one], [z]);
  g.setInputs([x]).setOutputs([z]);
  return g.build();
}

describe('calibration', () => {
  it('records the min and max of every activation (not of constants)', () => {
    const samples = [[Float32Array.of(1, 0)], [Float32Array.of(-3, 0.25)], [Float32Array.of(2, 3)]];
    // y: relu(1.5) = 1.5, relu(-3 - 0.5 + 0.5) = 0, relu(2 - 6 + 0.5) = 0; z = y - 1
    const c = calibrate(smallModel(), samples);
    const byName = (name: string) => c.ranges.get(smallModel().subgraphs[0].tensors.findIndex((t) => t.name === name));
    expect(byName('x')).toEqual({ min: -3, max: 3 });
    expect(byName('y')).toEqual({ min: 0, max: 1.5 });
    expect(byName('z')).toEqual({ min: -1, max: 0.5 });
    expect(byName('w')).toBeUndefined();
    expect(c.samples).toBe(3);
  });

  it('clips histogram tails at a percentile', () => {
    // 1000 values: 998 in bin 0..9 spread evenly, one outlier in each of the extreme bins.
    const h = new Array(100).fill(0);
    h[0] = 1;
    h[99] = 1;
    for (let i = 40; i < 50; i++) h[i] = 99.8;
    const range = { min: -10, max: 10 };
    // 99.8th percentile: a tail of 2 values each side drops the outliers: [-10 + 40*0.2, -10 + 50*0.2]
    const clipped = clipToPercentile(h, range, 99.8);
    expect(clipped.min).toBeCloseTo(-2, 10);
    expect(clipped.max).toBeCloseTo(0, 10);
    // 100 keeps everything.
    expect(clipToPercentile(h, range, 100)).toEqual({ min: -10, max: 10 });
  });

  it('with the percentile method, ignores a rare outlier', () => {
    const samples = Array.from({ length: 2000 }, (_, i) => [Float32Array.of(i === 7 ? 1000 : (i % 100) / 100, 0)]);
    const model = smallModel();
    const x = model.subgraphs[0].inputs[0];
    expect(calibrate(model, samples).ranges.get(x)!.max).toBe(1000);
    const clipped = calibrate(model, samples, { method: 'percentile', percentile: 99.9 }).ranges.get(x)!;
    expect(clipped.max).toBeLessThan(1.5);
    expect(clipped.max).toBeGreaterThanOrEqual(0.99);
  });

  it('refuses an empty set, a bad percentile and samples that do not fit the model', () => {
    expect(() => calibrate(smallModel(), [], { source: 'm.tflite' })).toThrow(new LabError('quantize', 'm.tflite: the calibration set is empty; give at least one input sample'));
    expect(() => calibrate(smallModel(), [[Float32Array.of(1, 2)]], { method: 'percentile', percentile: 40 })).toThrow(/percentile 40 must be above 50/);
    expect(() => calibrate(smallModel(), [[Float32Array.of(1, 2, 3)]])).toThrow(/takes 2 float32 values/);
    expect(() => calibrate(smallModel(), [[Float32Array.of(NaN, 2)]])).toThrow(/tensor 'x' is NaN on calibration sample 0/);
  });
});
