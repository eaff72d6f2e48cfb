import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasShared, sharedModelPath } from '../../../test/shared.js';
import { Interpreter } from '../interpreter.js';
import { readModelFile } from '../reader.js';
import { floatTwin } from './float-twin.js';
import { readBmpInt8 } from './images.js';
import { OP_MODELS, randomInputs } from './op-models.js';

describe('floatTwin', () => {
  it('computes what the int8 model approximates (depthwise conv op model)', () => {
    const model = OP_MODELS.find((m) => m.name === 'depthwise_same_3x3_int8')!.build();
    const int8 = new Interpreter(model);
    const twin = new Interpreter(floatTwin(model));
    const [x] = randomInputs(model, 1);
    const inQ = int8.inputs[0].quantization!;
    const outQ = int8.outputs[0].quantization!;
    int8.setInput(0, x);
    twin.setInput(0, Array.from(x, (q) => (q - inQ.zeroPoint[0]) * inQ.scale[0]));
    int8.invoke();
    twin.invoke();
    expect(twin.outputs[0].type).toBe('float32');
    const real = Array.from(int8.output(0), (q) => (q - outQ.zeroPoint[0]) * outQ.scale[0]);
    const float = Array.from(twin.output(0));
    // Unsaturated outputs agree within a couple of quantization steps.
    const limit = 126 * outQ.scale[0];
    float.forEach((v, i) => { if (Math.abs(v) < limit - 5 * outQ.scale[0]) expect(Math.abs(v - real[i])).toBeLessThan(3 * outQ.scale[0]); });
  });
});

describe.runIf(hasShared)('floatTwin of person_detect (needs ../shared)', () => {
  it('classifies person.bmp and no_person.bmp like the int8 model', () => {
    const twin = new Interpreter(floatTwin(readModelFile(sharedModelPath('tflite-micro/person_detect.tflite'))));
    const score = (file: string): number[] => {
      const { pixels } = readBmpInt8(sharedModelPath(path.join('tflite-micro', file)));
      twin.setInput(0, Array.from(pixels, (q) => (q + 1) / 127.5)); // input scale 1/127.5, zero point -1
      twin.invoke();
      return Array.from(twin.output(0));
    };
    const person = score('person.bmp');
    const noPerson = score('no_person.bmp');
    expect(person[1]).toBeGreaterThan(0.9);
    expect(noPerson[0]).toBeGreaterThan(0.6);
  });
});
