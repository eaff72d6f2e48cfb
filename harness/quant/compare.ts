/**
 * How far a quantized model is from its float original on the same inputs, measured with the lab's
 * interpreter: the check `hil model quantize` prints and the demo build records.
 */
import { Interpreter } from '../tflite/interpreter.js';
import type { Model } from '../tflite/model.js';
import type { CalibrationSample } from './calibrate.js';
import { toRealValues, toTensorValues } from './tensor-io.js';

export interface FloatComparison {
  samples: number;
  /** Share of samples whose arg-max of output 0 is the same (meaningful for classifiers). */
  top1Agreement: number;
  /** Largest and mean |float - dequantized| over every value of every output. */
  maxAbsError: number;
  meanAbsError: number;
}

/** Runs one sample of real-valued inputs; returns every output as real values. */
export function runReal(interpreter: Interpreter, sample: CalibrationSample): Float32Array[] {
  sample.forEach((data, i) => interpreter.setInput(i, toTensorValues(interpreter.inputs[i], data)));
  interpreter.invoke();
  return interpreter.outputs.map((t, i) => toRealValues(t, interpreter.output(i)));
}

function argMax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export function compareWithFloat(floatModel: Model, quantModel: Model, samples: readonly CalibrationSample[]): FloatComparison {
  const reference = new Interpreter(floatModel, { source: 'float model' });
  const quantized = new Interpreter(quantModel, { source: 'quantized model' });
  let agree = 0;
  let maxAbsError = 0;
  let sum = 0;
  let count = 0;
  for (const sample of samples) {
    const want = runReal(reference, sample);
    const got = runReal(quantized, sample);
    if (argMax(want[0]) === argMax(got[0])) agree++;
    want.forEach((w, o) => {
      for (let i = 0; i < w.length; i++) {
        const e = Math.abs(w[i] - got[o][i]);
        maxAbsError = Math.max(maxAbsError, e);
        sum += e;
        count++;
      }
    });
  }
  return { samples: samples.length, top1Agreement: samples.length ? agree / samples.length : 0, maxAbsError, meanAbsError: count ? sum / count : 0 };
}
