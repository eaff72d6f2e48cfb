/**
 * Top-1 accuracy of an image classifier on a labelled image set, measured with the lab's own
 * interpreter. Pixels become real values x / 255 (the demo models' [0, 1] input convention) and
 * are then quantized to the model's input type if it is int8 / uint8: for an int8 input with the
 * usual scale 1/255 and zero point -128 that is exactly `pixel - 128`.
 */
import { LabError } from '../errors.js';
import { toTensorValues } from '../quant/tensor-io.js';
import { Interpreter } from '../tflite/interpreter.js';
import type { Model } from '../tflite/model.js';
import { imageAt, type ImageSet } from './image-set.js';

export interface AccuracyResult {
  images: number;
  correct: number;
  top1: number;
  /** Predicted class per image, in set order. */
  predictions: Int32Array;
}

export function top1Accuracy(model: Model, set: ImageSet, opts: { count?: number; source?: string } = {}): AccuracyResult {
  const source = opts.source ?? 'model';
  if (!set.labels) throw new LabError('input-format', `${source}: the image set has no labels, so accuracy cannot be measured`);
  const interpreter = new Interpreter(model, { source });
  const input = interpreter.inputs[0];
  const pixels = set.height * set.width * set.channels;
  if (input.shape.reduce((a, b) => a * b, 1) !== pixels) {
    throw new LabError('model-input', `${source}: input '${input.name}' has shape [${input.shape.join(', ')}], but the images are ${set.height}x${set.width}x${set.channels}`);
  }
  const count = Math.min(opts.count ?? set.count, set.count);
  const predictions = new Int32Array(count);
  let correct = 0;
  for (let i = 0; i < count; i++) {
    interpreter.setInput(0, toTensorValues(input, Float32Array.from(imageAt(set, i), (v) => v / 255)));
    interpreter.invoke();
    const out = interpreter.output(0);
    let best = 0;
    for (let c = 1; c < out.length; c++) if (out[c] > out[best]) best = c;
    predictions[i] = best;
    if (best === set.labels[i]) correct++;
  }
  return { images: count, correct, top1: count ? correct / count : 0, predictions };
}
