/**
 * Step 3 of `npm run models`: a trained tfjs model -> float `.tflite` (harness/tflite/convert),
 * checked against tfjs itself: the lab's interpreter must give the same softmax outputs on the
 * evaluation set (max abs difference <= 1e-4).
 */
import type { ImageSet } from '../../harness/datasets/image-set.js';
import { convertKerasModel, type ConvertOptions } from '../../harness/tflite/convert/from-keras.js';
import type { KerasModelSpec, WeightArray } from '../../harness/tflite/convert/keras-model.js';
import { Interpreter } from '../../harness/tflite/interpreter.js';
import type { Model } from '../../harness/tflite/model.js';
import { imageBatch } from './train.js';
import { tf } from './tfjs-wasm.js';

/** Topology and per-layer weights of a tfjs layers model, as the converter takes them. */
export function kerasSpecFromTfjs(model: tf.LayersModel): KerasModelSpec {
  const weights: Record<string, Record<string, WeightArray>> = {};
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      // `originalName` is `layer/kernel`; `name` may carry a `_1` suffix when tfjs has seen the
      // name before in this process (tfjs-layers getUniqueTensorName).
      const key = w.originalName.split('/').pop()!;
      (weights[layer.name] ??= {})[key] = { shape: [...w.shape] as number[], data: w.read().dataSync() as Float32Array };
    }
  }
  return { topology: model.toJSON(null, false), weights };
}

export function convertTfjsModel(model: tf.LayersModel, source: string, opts: ConvertOptions = {}): Model {
  return convertKerasModel(kerasSpecFromTfjs(model), { source, description: `Fashion-MNIST demo model '${model.name}' made by the lab (npm run models)`, ...opts });
}

/** Largest |tfjs - interpreter| over the softmax outputs of `set` (first `count` images). */
export function floatAgreement(model: tf.LayersModel, tflite: Model, set: ImageSet, count = set.count): { maxAbsDiff: number; images: number } {
  const interpreter = new Interpreter(tflite, { source: model.name });
  let maxAbsDiff = 0;
  const size = set.height * set.width * set.channels;
  for (let start = 0; start < count; start += 250) {
    const indices = Array.from({ length: Math.min(250, count - start) }, (_, k) => start + k);
    const expected = tf.tidy(() => (model.predict(imageBatch(set, indices)) as tf.Tensor).dataSync());
    const classes = expected.length / indices.length;
    indices.forEach((i, k) => {
      interpreter.setInput(0, Float32Array.from(set.images.subarray(i * size, (i + 1) * size), (v) => v / 255));
      interpreter.invoke();
      const got = interpreter.output(0);
      for (let c = 0; c < classes; c++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[c] - expected[k * classes + c]));
    });
  }
  return { maxAbsDiff, images: count };
}
