import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '../errors.js';
import { fashionMnistClasses, fashionMnistDir, fashionMnistFiles, loadFashionMnist } from './fashion-mnist.js';

const installed = existsSync(fashionMnistFiles('t10k').images);

describe('Fashion-MNIST loader', () => {
  it('tells the user which package to install when the files are missing', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'hil-fmnist-'));
    let error: unknown;
    try { loadFashionMnist('train', empty); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(LabError);
    expect((error as Error).message).toBe(
      `${path.join(empty, 'train-images-idx3-ubyte.gz')} is missing: install Fashion-MNIST with "apt-get install dataset-fashion-mnist" (or set HIL_FASHION_MNIST_DIR to a folder with the IDX .gz files)`,
    );
  });
});

describe.runIf(installed)(`Fashion-MNIST loader on the Debian package (needs ${fashionMnistDir})`, () => {
  it('reads the 10,000 test images, 1,000 of each class', () => {
    const test = loadFashionMnist('t10k');
    expect([test.count, test.height, test.width, test.channels]).toEqual([10000, 28, 28, 1]);
    expect(test.images.length).toBe(10000 * 784);
    const counts = new Array(fashionMnistClasses.length).fill(0);
    for (const l of test.labels!) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    // The first test image is an ankle boot (label 9), as in the fashion-mnist README's sample.
    expect(test.labels![0]).toBe(9);
  });
});
