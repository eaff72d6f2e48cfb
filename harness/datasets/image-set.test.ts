import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageAt, pickImages, readImageSet, stratifiedSample, writeImageSet, type ImageSet } from './image-set.js';
import { encodeNpy } from './npy.js';

// 10 classes, 30 items each, in a scrambled order.
const labels = Array.from({ length: 300 }, (_, i) => (i * 7) % 10);

describe('stratifiedSample', () => {
  it('draws perClass distinct items of every class, interleaved so every prefix of 10k is balanced', () => {
    const picks = stratifiedSample(labels, 10, 20, 42);
    expect(picks).toHaveLength(200);
    expect(new Set(picks).size).toBe(200);
    for (let k = 1; k <= 20; k++) {
      const counts = new Array(10).fill(0);
      for (const i of picks.slice(0, 10 * k)) counts[labels[i]]++;
      expect(counts).toEqual(new Array(10).fill(k));
    }
  });

  it('is reproducible from its seed and changes with it', () => {
    expect(stratifiedSample(labels, 10, 5, 7)).toEqual(stratifiedSample(labels, 10, 5, 7));
    expect(stratifiedSample(labels, 10, 5, 7)).not.toEqual(stratifiedSample(labels, 10, 5, 8));
  });

  it('says which class is too small', () => {
    expect(() => stratifiedSample(labels, 10, 31, 1)).toThrow(/class 0 has 30 items, fewer than 31/);
  });
});

describe('image sets on disk', () => {
  const set: ImageSet = {
    count: 3, height: 2, width: 2, channels: 1,
    images: Uint8Array.from({ length: 12 }, (_, i) => i * 20), labels: Int32Array.of(4, 0, 9),
  };

  it('round-trips through .npy and picks images by index', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hil-set-'));
    writeImageSet(set, path.join(dir, 'x.npy'), path.join(dir, 'y.npy'));
    const back = readImageSet(path.join(dir, 'x.npy'), path.join(dir, 'y.npy'));
    expect(back).toEqual(set);
    const picked = pickImages(back, [2, 0]);
    expect(Array.from(imageAt(picked, 0))).toEqual([160, 180, 200, 220]);
    expect(Array.from(picked.labels!)).toEqual([9, 4]);
  });

  it('rejects float images and labels that do not match the images', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hil-set-'));
    writeFileSync(path.join(dir, 'f.npy'), encodeNpy(new Float32Array(4), [1, 2, 2, 1]));
    expect(() => readImageSet(path.join(dir, 'f.npy'))).toThrow(/f\.npy: expected uint8 images of shape \[N, H, W, C\] but found float32 \[1, 2, 2, 1\]/);
    writeImageSet(set, path.join(dir, 'x.npy'));
    writeFileSync(path.join(dir, 'y.npy'), encodeNpy(Int32Array.of(1, 2), [2]));
    expect(() => readImageSet(path.join(dir, 'x.npy'), path.join(dir, 'y.npy'))).toThrow(/y\.npy: expected 3 integer labels/);
  });
});
