/**
 * Everything that decides what `npm run models` produces: seeds, set sizes, training schedule.
 * Changing a number here and rerunning the build regenerates every demo artefact consistently.
 */
export const recipe = {
  /** Seed of every random draw: data sampling, weight init, shuffling. */
  seed: 20250608,
  /** Evaluation set: this many Fashion-MNIST test images per class (10 classes, <= 2,000 total). */
  evalPerClass: 200,
  /** Calibration set: this many training images per class, drawn from the train split. */
  calibrationPerClass: 50,
  /** Training schedules (scripts/models/train.ts): Adam, sparse cross-entropy, batch 64. */
  training: {
    cnn: { epochs: 5, batchSize: 64, learningRate: 1e-3, decay: 0.6 },
    mobilenet: { epochs: 4, batchSize: 64, learningRate: 2e-3, decay: 0.6 },
  },
} as const;
