/**
 * A labelled set of 8-bit images in NHWC order: what the lab feeds to models for accuracy runs and
 * calibration. Stored as two `.npy` files (uint8 images [N,H,W,C] and int32 labels [N]) so any
 * numpy user can read or extend them.
 */
import { LabError } from '../errors.js';
import { readNpy, writeNpy } from './npy.js';
import { mulberry32, shuffleInPlace } from './random.js';

export interface ImageSet {
  count: number;
  height: number;
  width: number;
  channels: number;
  /** count * height * width * channels bytes, NHWC. */
  images: Uint8Array;
  /** One class index per image; null for an unlabelled set (e.g. calibration images). */
  labels: Int32Array | null;
}

/** The bytes of image `i` (a view, not a copy). */
export function imageAt(set: ImageSet, i: number): Uint8Array {
  const size = set.height * set.width * set.channels;
  return set.images.subarray(i * size, (i + 1) * size);
}

/** The images (and labels) at `indices`, in that order. */
export function pickImages(set: ImageSet, indices: readonly number[]): ImageSet {
  const size = set.height * set.width * set.channels;
  const images = new Uint8Array(indices.length * size);
  indices.forEach((src, dst) => images.set(imageAt(set, src), dst * size));
  const labels = set.labels === null ? null : Int32Array.from(indices, (i) => set.labels![i]);
  return { ...set, count: indices.length, images, labels };
}

/**
 * `perClass` indices of every class 0..classes-1, drawn without replacement with a seeded shuffle
 * of each class, and interleaved class by class (c0, c1, ..., c9, c0, ...) so that any prefix of
 * `k * classes` items is itself exactly stratified: a test can evaluate the first 200 and still see
 * every class equally.
 */
export function stratifiedSample(labels: ArrayLike<number>, classes: number, perClass: number, seed: number): number[] {
  const random = mulberry32(seed);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c < 0 || c >= classes) throw new Error(`stratifiedSample: label ${c} at ${i} is outside 0..${classes - 1}`);
    byClass[c].push(i);
  }
  const picks = byClass.map((indices, c) => {
    if (indices.length < perClass) throw new Error(`stratifiedSample: class ${c} has ${indices.length} items, fewer than ${perClass}`);
    return shuffleInPlace(indices, random).slice(0, perClass);
  });
  const out: number[] = [];
  for (let i = 0; i < perClass; i++) for (let c = 0; c < classes; c++) out.push(picks[c][i]);
  return out;
}

export function writeImageSet(set: ImageSet, imagesPath: string, labelsPath?: string): void {
  writeNpy(imagesPath, set.images, [set.count, set.height, set.width, set.channels]);
  if (labelsPath !== undefined) {
    if (set.labels === null) throw new Error(`writeImageSet: ${labelsPath} requested but the set has no labels`);
    writeNpy(labelsPath, set.labels, [set.count]);
  }
}

/** Reads uint8 images [N,H,W,C] (or [N,H,W], read as C = 1) and, if given, int labels [N]. */
export function readImageSet(imagesPath: string, labelsPath?: string): ImageSet {
  const images = readNpy(imagesPath);
  if (images.dtype !== 'uint8' || (images.shape.length !== 4 && images.shape.length !== 3)) {
    throw new LabError('input-format', `${imagesPath}: expected uint8 images of shape [N, H, W, C] but found ${images.dtype} [${images.shape.join(', ')}]; save the images as numpy uint8`);
  }
  const [count, height, width, channels = 1] = images.shape;
  let labels: Int32Array | null = null;
  if (labelsPath !== undefined) {
    const l = readNpy(labelsPath);
    if (l.dtype === 'float32' || l.dtype === 'float64' || l.shape.length !== 1 || l.shape[0] !== count) {
      throw new LabError('input-format', `${labelsPath}: expected ${count} integer labels of shape [${count}] (one per image in ${imagesPath}) but found ${l.dtype} [${l.shape.join(', ')}]`);
    }
    labels = Int32Array.from(l.data);
  }
  return { count, height, width, channels, images: images.data as Uint8Array, labels };
}
