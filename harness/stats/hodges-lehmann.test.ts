import { describe, expect, it } from 'vitest';
import { median } from 'simple-statistics';
import { hodgesLehmann } from './hodges-lehmann.js';
import { createRng } from './rng.js';

function bruteForce(a: number[], b: number[]): number {
  const diffs: number[] = [];
  for (const x of a) for (const y of b) diffs.push(y - x);
  return median(diffs);
}

describe('hodgesLehmann', () => {
  it('gives 0.305 for R\'s wilcox.test example (R prints "difference in location 0.305")', () => {
    const term = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    const early = [1.15, 0.88, 0.9, 0.74, 1.21];
    expect(hodgesLehmann(early, term).shift).toBeCloseTo(0.305, 12);
  });

  it('gives the hand-computed shift of 1 2 3 vs 4 6 (differences 1 2 3 3 4 5 -> median 3)', () => {
    expect(hodgesLehmann([1, 2, 3], [4, 6]).shift).toBe(3);
  });

  it('equals the median of all pairwise differences on random data with ties', () => {
    const rng = createRng(21);
    for (let t = 0; t < 100; t++) {
      const a = Array.from({ length: 1 + rng.nextInt(30) }, () => rng.nextInt(20) / 4);
      const b = Array.from({ length: 1 + rng.nextInt(30) }, () => rng.nextInt(20) / 4 + (t % 2 ? 0.1 : rng.next()));
      expect(hodgesLehmann(a, b).shift).toBe(bruteForce(a, b));
    }
  });

  it('is exact on identical groups (shift 0) and NaN with a reason for an empty group', () => {
    const same = Array.from({ length: 1000 }, () => 7);
    expect(hodgesLehmann(same, same).shift).toBe(0);
    const empty = hodgesLehmann([], [1]);
    expect(Number.isNaN(empty.shift)).toBe(true);
    expect(empty.warnings).toEqual(['need samples in both groups for a shift estimate']);
  });
});
