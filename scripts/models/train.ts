/**
 * Step 2 of `npm run models`: train the demo architectures on Fashion-MNIST with tfjs on its wasm
 * backend, reproducibly: seeded initialisers, a seeded shuffle per epoch, no dropout, single-
 * threaded XNNPACK. Run alone to try a recipe: `nice -n 10 npx tsx scripts/models/train.ts cnn`.
 */
import { pathToFileURL } from 'node:url';
import type { ImageSet } from '../../harness/datasets/image-set.js';
import { mulberry32, shuffleInPlace } from '../../harness/datasets/random.js';
import { buildArchitecture, type Architecture } from './architectures.js';
import { recipe } from './recipe.js';
import { tf, useWasmBackend } from './tfjs-wasm.js';

export interface TrainingSchedule {
  epochs: number;
  batchSize: number;
  /** Adam learning rate of the first epoch, multiplied by `decay` after each epoch. */
  learningRate: number;
  decay: number;
  /** Train on the first N images of a seeded permutation of the train split (all if absent). */
  trainImages?: number;
}

export interface EpochLog {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  evalAccuracy: number;
  seconds: number;
}

export interface TrainedModel {
  architecture: Architecture;
  model: tf.LayersModel;
  epochs: EpochLog[];
  seconds: number;
}

/** Adam whose learning rate can follow a schedule (tfjs keeps it protected). */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(rate: number): void {
    this.learningRate = rate;
  }
}

/** A batch of images as float32 NHWC in [0, 1]: the models' input convention. */
export function imageBatch(set: ImageSet, indices: ArrayLike<number>): tf.Tensor4D {
  const size = set.height * set.width * set.channels;
  const out = new Float32Array(indices.length * size);
  for (let k = 0; k < indices.length; k++) {
    const base = indices[k] * size;
    for (let p = 0; p < size; p++) out[k * size + p] = set.images[base + p] / 255;
  }
  return tf.tensor4d(out, [indices.length, set.height, set.width, set.channels]);
}

/** Top-1 accuracy of a tfjs model on a labelled set. */
export function tfjsAccuracy(model: tf.LayersModel, set: ImageSet, batchSize = 250): number {
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, k) => start + k);
    const predicted = tf.tidy(() => (model.predict(imageBatch(set, indices)) as tf.Tensor).argMax(-1).dataSync());
    indices.forEach((i, k) => { if (predicted[k] === set.labels![i]) correct++; });
  }
  return correct / set.count;
}

export async function trainDemoModel(
  architecture: Architecture, train: ImageSet, evalSet: ImageSet, schedule: TrainingSchedule,
  log: (line: string) => void, seed: number = recipe.seed,
): Promise<TrainedModel> {
  await useWasmBackend();
  const model = buildArchitecture(architecture, seed);
  const optimizer = new ScheduledAdam(schedule.learningRate, 0.9, 0.999, 1e-7);
  model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const random = mulberry32(seed ^ 0x5eed);
  const pool = shuffleInPlace(Array.from({ length: train.count }, (_, i) => i), random)
    .slice(0, schedule.trainImages ?? train.count);
  const started = performance.now();
  const epochs: EpochLog[] = [];
  for (let epoch = 1; epoch <= schedule.epochs; epoch++) {
    const t0 = performance.now();
    optimizer.setLearningRate(schedule.learningRate * schedule.decay ** (epoch - 1));
    const order = shuffleInPlace(pool.slice(), random);
    let lossSum = 0;
    let accSum = 0;
    let batches = 0;
    for (let start = 0; start + schedule.batchSize <= order.length; start += schedule.batchSize) {
      const batch = order.slice(start, start + schedule.batchSize);
      const xs = imageBatch(train, batch);
      const ys = tf.tensor1d(Float32Array.from(batch, (i) => train.labels![i]));
      const [loss, acc] = (await model.trainOnBatch(xs, ys)) as number[];
      xs.dispose();
      ys.dispose();
      lossSum += loss;
      accSum += acc;
      batches++;
    }
    const entry: EpochLog = {
      epoch, loss: lossSum / batches, trainAccuracy: accSum / batches,
      evalAccuracy: tfjsAccuracy(model, evalSet), seconds: (performance.now() - t0) / 1000,
    };
    epochs.push(entry);
    log(`train ${architecture}: epoch ${epoch}/${schedule.epochs} loss ${entry.loss.toFixed(4)} train ${(100 * entry.trainAccuracy).toFixed(2)}% eval ${(100 * entry.evalAccuracy).toFixed(2)}% (${entry.seconds.toFixed(0)} s)`);
  }
  return { architecture, model, epochs, seconds: (performance.now() - started) / 1000 };
}

// Standalone: train one architecture with the recipe's schedule and report accuracy per epoch.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { loadFashionMnist } = await import('../../harness/datasets/fashion-mnist.js');
  const { loadDemoEvalSet } = await import('../../harness/datasets/demo-sets.js');
  const arch = (process.argv[2] ?? 'cnn') as Architecture;
  if (arch !== 'cnn' && arch !== 'mobilenet') throw new Error(`usage: train.ts cnn|mobilenet [epochs]`);
  const schedule = { ...recipe.training[arch], ...(process.argv[3] ? { epochs: Number(process.argv[3]) } : {}) };
  const trained = await trainDemoModel(arch, loadFashionMnist('train'), loadDemoEvalSet(), schedule, console.log);
  console.log(`trained ${arch} in ${trained.seconds.toFixed(0)} s, ${trained.model.countParams()} parameters`);
}
