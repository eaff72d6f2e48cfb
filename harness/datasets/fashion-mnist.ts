/**
 * Fashion-MNIST (Zalando Research, MIT licence; github.com/zalandoresearch/fashion-mnist) as Debian
 * packages it (`dataset-fashion-mnist`, FACTS.md): gzipped IDX files, 60,000 training and 10,000
 * test images of 28x28 grey pixels, ten clothing classes. The lab's demo models are trained on it,
 * and their evaluation and calibration sets are drawn from it (`scripts/models/`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import { readIdxFile } from './idx.js';
import type { ImageSet } from './image-set.js';

export const fashionMnistDir = process.env.HIL_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

/** Class names in label order (fashion-mnist README, "Labels"). */
export const fashionMnistClasses = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export type FashionMnistSplit = 'train' | 't10k';

export function fashionMnistFiles(split: FashionMnistSplit, dir = fashionMnistDir): { images: string; labels: string } {
  return {
    images: path.join(dir, `${split}-images-idx3-ubyte.gz`),
    labels: path.join(dir, `${split}-labels-idx1-ubyte.gz`),
  };
}

/** Loads one split as an ImageSet [N,28,28,1] with labels. */
export function loadFashionMnist(split: FashionMnistSplit, dir = fashionMnistDir): ImageSet {
  const files = fashionMnistFiles(split, dir);
  for (const file of [files.images, files.labels]) {
    if (!existsSync(file)) {
      throw new LabError('dataset-missing', `${file} is missing: install Fashion-MNIST with "apt-get install dataset-fashion-mnist" (or set HIL_FASHION_MNIST_DIR to a folder with the IDX .gz files)`);
    }
  }
  const images = readIdxFile(files.images);
  const labels = readIdxFile(files.labels);
  if (images.shape.length !== 3 || labels.shape.length !== 1 || images.shape[0] !== labels.shape[0]) {
    throw new LabError('dataset-format', `${files.images}: shape [${images.shape.join(', ')}] does not match ${files.labels} [${labels.shape.join(', ')}]; reinstall dataset-fashion-mnist`);
  }
  const bad = labels.data.findIndex((l) => l >= fashionMnistClasses.length);
  if (bad >= 0) throw new LabError('dataset-format', `${files.labels}: label ${labels.data[bad]} at ${bad} is not a Fashion-MNIST class (0-9); reinstall dataset-fashion-mnist`);
  const [count, height, width] = images.shape;
  return { count, height, width, channels: 1, images: images.data, labels: Int32Array.from(labels.data) };
}
