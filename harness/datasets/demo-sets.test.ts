import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoDataDir, demoSetFiles, loadDemoCalibrationSet, loadDemoEvalSet } from './demo-sets.js';

describe('checked-in demo data sets', () => {
  it('holds 2,000 labelled test images, 200 per class, stratified in every prefix of 10', () => {
    const set = loadDemoEvalSet();
    expect([set.count, set.height, set.width, set.channels]).toEqual([2000, 28, 28, 1]);
    expect(Array.from(set.labels!.subarray(0, 20))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const counts = new Array(10).fill(0);
    for (const l of set.labels!) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(200));
  });

  it('holds 500 calibration images', () => {
    const set = loadDemoCalibrationSet();
    expect([set.count, set.height, set.width, set.channels]).toEqual([500, 28, 28, 1]);
    expect(set.labels).toBeNull();
  });

  it('matches the sha256 sums its README publishes', () => {
    const readme = readFileSync(path.join(demoDataDir, 'README.md'), 'utf8');
    for (const file of Object.values(demoSetFiles)) {
      const sum = createHash('sha256').update(readFileSync(file)).digest('hex');
      expect(readme).toContain(`| \`${path.basename(file)}\` |`);
      expect(readme).toMatch(new RegExp(`${path.basename(file).replace('.', '\\.')}\` \\|[^|]*\\| \`${sum}\``));
    }
  });
});
