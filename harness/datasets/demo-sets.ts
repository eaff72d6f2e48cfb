/**
 * The labelled evaluation set and the calibration set checked in with the lab's demo models
 * (`models/demo/data/`, made by `npm run models` from Fashion-MNIST; provenance in its README).
 * They let a fresh clone measure accuracy and quantize without the Debian dataset package.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from '../errors.js';
import { readImageSet, type ImageSet } from './image-set.js';

export const demoDataDir = fileURLToPath(new URL('../../models/demo/data/', import.meta.url));

export const demoSetFiles = {
  evalImages: path.join(demoDataDir, 'fashion_eval_images.npy'),
  evalLabels: path.join(demoDataDir, 'fashion_eval_labels.npy'),
  calibrationImages: path.join(demoDataDir, 'fashion_calibration_images.npy'),
} as const;

function requireFile(file: string): void {
  if (!existsSync(file)) {
    throw new LabError('input-missing', `${file} is missing: it is part of the repository (restore it with git) or regenerate it with "npm run models"`);
  }
}

/** Labelled Fashion-MNIST test images, stratified (every prefix of 10k images has k per class). */
export function loadDemoEvalSet(): ImageSet {
  requireFile(demoSetFiles.evalImages);
  requireFile(demoSetFiles.evalLabels);
  return readImageSet(demoSetFiles.evalImages, demoSetFiles.evalLabels);
}

/** Unlabelled Fashion-MNIST training images for post-training quantization. */
export function loadDemoCalibrationSet(): ImageSet {
  requireFile(demoSetFiles.calibrationImages);
  return readImageSet(demoSetFiles.calibrationImages);
}
