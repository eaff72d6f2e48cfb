/**
 * The quantizer on a real converter-made float model: tflite-micro's hello_world_float (a sine
 * regressor, 3 FULLY_CONNECTED layers), calibrated on x in [0, 2*pi] like the upstream training
 * script's representative dataset, must meet the upstream int8 test: |sin(x) - y| <= 0.05 at the
 * inputs tflite-micro's hello_world_test.cc uses (x = 0, 1, 3, 5), output dequantized.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { hasShared, readSharedModel } from '../../test/shared.js';
import { mulberry32 } from '../datasets/random.js';
import { Interpreter } from '../tflite/interpreter.js';
import type { Model } from '../tflite/model.js';
import { readModel } from '../tflite/reader.js';
import { writeModel } from '../tflite/writer.js';
import { calibrate, type Calibration } from './calibrate.js';
import { runReal } from './compare.js';
import { quantizeModel, type IoType } from './quantize-model.js';

describe.runIf(hasShared)('quantizing hello_world_float (needs ../shared)', () => {
  // Read in beforeAll, not in the suite body: vitest collects a skipped suite's body too, and a
  // fresh clone has no ../shared.
  let float: Model;
  let calibration: Calibration;
  beforeAll(() => {
    float = readModel(readSharedModel('tflite-micro/hello_world_float.tflite'), { source: 'hello_world_float.tflite' });
    const random = mulberry32(2024);
    const samples = Array.from({ length: 500 }, () => [Float32Array.of(random() * 2 * Math.PI)]);
    calibration = calibrate(float, samples, { source: 'hello_world_float.tflite' });
  });

  it.each(['int8', 'uint8', 'float'] as IoType[])('with %s input and output meets the upstream int8 expectation', (io) => {
    const { model } = quantizeModel(float, calibration, { io, source: 'hello_world_float.tflite' });
    const quantized = readModel(writeModel(model));
    const interpreter = new Interpreter(quantized);
    expect(interpreter.inputs[0].type).toBe(io === 'float' ? 'float32' : io);
    for (const x of [0, 1, 3, 5]) {
      const [y] = runReal(interpreter, [Float32Array.of(x)]);
      expect(Math.abs(Math.sin(x) - y[0])).toBeLessThanOrEqual(0.05);
    }
  });

  it('chooses input parameters like the upstream int8 model (range [0, 2*pi], zero point -128)', () => {
    const { model } = quantizeModel(float, calibration);
    const input = model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]];
    expect(input.quantization!.zeroPoint).toEqual([-128]);
    // upstream hello_world_int8.tflite: scale 0.024573976 (max calibrated x close to 2*pi)
    expect(input.quantization!.scale[0]).toBeCloseTo((2 * Math.PI) / 255, 3);
  });
});
