import { describe, expect, it } from 'vitest';
import { median, mean, quantileSorted } from 'simple-statistics';
import {
  bootstrapCI,
  bootstrapMedianCI,
  bootstrapQuantileCI,
  bootstrapRatioCI,
  quantileResampler,
} from './bootstrap.js';
import { createRng } from './rng.js';
import { normalVariate } from './variates.js';

/** Exact bootstrap distribution of a statistic by enumerating all n^n resamples. */
function enumerateResamples(data: number[], stat: (xs: number[]) => number): Map<number, number> {
  const n = data.length;
  const dist = new Map<number, number>();
  const idx = new Array<number>(n).fill(0);
  const total = n ** n;
  for (let c = 0; c < total; c++) {
    let r = c;
    for (let i = 0; i < n; i++) {
      idx[i] = r % n;
      r = Math.floor(r / n);
    }
    const v = stat(idx.map((i) => data[i]));
    dist.set(v, (dist.get(v) ?? 0) + 1 / total);
  }
  return dist;
}

function drawDistribution(draw: () => number, count: number): Map<number, number> {
  const dist = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const v = draw();
    dist.set(v, (dist.get(v) ?? 0) + 1 / count);
  }
  return dist;
}

function totalVariation(a: Map<number, number>, b: Map<number, number>): number {
  let tv = 0;
  for (const k of new Set([...a.keys(), ...b.keys()])) tv += Math.abs((a.get(k) ?? 0) - (b.get(k) ?? 0));
  return tv / 2;
}

describe('fast quantile resampler (exact bootstrap distribution of an order statistic)', () => {
  it('gives the hand-computed bootstrap distribution of the median of 1 2 3: 7/27, 13/27, 7/27', () => {
    // P(median* = 1) = P(at least 2 of 3 draws are "1") = 3 (1/3)^2 (2/3) + (1/3)^3 = 7/27.
    const draw = quantileResampler(Float64Array.from([1, 2, 3]), 0.5, createRng(3));
    const dist = drawDistribution(draw, 200_000);
    expect(dist.get(1)).toBeCloseTo(7 / 27, 2);
    expect(dist.get(2)).toBeCloseTo(13 / 27, 2);
    expect(dist.get(3)).toBeCloseTo(7 / 27, 2);
  });

  it('gives 1/4, 1/2, 1/4 for the median of a resample of 10 20 (even n averages the middle pair)', () => {
    const dist = drawDistribution(quantileResampler(Float64Array.from([10, 20]), 0.5, createRng(4)), 100_000);
    expect(dist.get(10)).toBeCloseTo(0.25, 2);
    expect(dist.get(15)).toBeCloseTo(0.5, 2);
    expect(dist.get(20)).toBeCloseTo(0.25, 2);
  });

  it('matches the distribution of real resampling, enumerated over all n^n resamples, for type-7 quantiles', () => {
    const cases: Array<[number[], number]> = [
      [[1, 2, 3, 4], 0.5],
      [[1, 2, 4, 8, 16], 0.5],
      [[1, 2, 4, 8, 16], 0.9],
      [[3, 5, 5, 9, 11], 0.25],
      [[1, 10, 100, 1000, 10000, 100000], 0.5],
    ];
    for (const [data, p] of cases) {
      const exact = enumerateResamples(data, (xs) => quantileSorted([...xs].sort((x, y) => x - y), p));
      const fast = drawDistribution(quantileResampler(Float64Array.from(data), p, createRng(5)), 100_000);
      expect(totalVariation(exact, fast)).toBeLessThan(0.015);
    }
  });
});

describe('bootstrap intervals', () => {
  const rng = createRng(11);
  const normal = Array.from({ length: 400 }, () => 10 + normalVariate(rng));

  it('gives the mean an interval close to mean +- 1.96 s / sqrt(n) (the normal-theory interval)', () => {
    const ci = bootstrapCI(normal, (xs) => mean(xs as unknown as number[]), { seed: 1 });
    const m = mean(normal);
    const s = Math.sqrt(normal.reduce((acc, x) => acc + (x - m) ** 2, 0) / 399);
    const half = (1.96 * s) / Math.sqrt(400);
    expect(ci.estimate).toBeCloseTo(m, 12);
    expect(ci.lower).toBeCloseTo(m - half, 1);
    expect(ci.upper).toBeCloseTo(m + half, 1);
    expect(ci.warnings).toEqual([]);
  });

  it('gives the median the same interval by the fast path as by real resampling', () => {
    const fast = bootstrapMedianCI(normal, { resamples: 20_000, seed: 2 });
    const slow = bootstrapCI(normal, (xs) => median(xs as unknown as number[]), { resamples: 20_000, seed: 2 });
    expect(fast.estimate).toBe(median(normal));
    // Same distribution, different random draws: the ends agree to a fraction of the sd (1).
    expect(Math.abs(fast.lower - slow.lower)).toBeLessThan(0.03);
    expect(Math.abs(fast.upper - slow.upper)).toBeLessThan(0.03);
    // The median of a normal sample has sd ~ 1.2533 / sqrt(n): the 95% interval is ~ +-0.123.
    expect(fast.upper - fast.lower).toBeGreaterThan(0.18);
    expect(fast.upper - fast.lower).toBeLessThan(0.32);
  });

  it('repeats exactly for the same seed', () => {
    const a = bootstrapQuantileCI(normal, 0.9, { seed: 7 });
    const b = bootstrapQuantileCI(normal, 0.9, { seed: 7 });
    expect(b).toEqual(a);
    expect(a.lower).toBeLessThan(a.estimate);
    expect(a.upper).toBeGreaterThan(a.estimate);
  });

  it('refuses an interval below 5 samples and warns about few resamples or a bad confidence', () => {
    const small = bootstrapMedianCI([1, 2, 3, 4]);
    expect(small.estimate).toBe(2.5);
    expect(Number.isNaN(small.lower)).toBe(true);
    expect(small.warnings).toEqual(['need at least 5 samples for a confidence interval, got 4']);
    const few = bootstrapMedianCI(normal, { resamples: 100 });
    expect(few.warnings).toEqual(['only 100 bootstrap resamples: the interval ends are themselves noisy (use at least 1000)']);
    const bad = bootstrapMedianCI(normal, { confidence: 95 });
    expect(bad.confidence).toBe(0.95);
    expect(bad.warnings[0]).toMatch(/^confidence 95 is not between 0 and 1/);
  });

  it('brackets a 5% slower candidate: median ratio ~1.05 with an interval that excludes 1', () => {
    const r = createRng(12);
    const base = Array.from({ length: 2000 }, () => 54 * (1 + 0.01 * normalVariate(r)));
    const cand = Array.from({ length: 2000 }, () => 54 * 1.05 * (1 + 0.01 * normalVariate(r)));
    const ci = bootstrapRatioCI(base, cand);
    expect(ci.estimate).toBeCloseTo(median(cand) / median(base), 12);
    expect(ci.lower).toBeGreaterThan(1.04);
    expect(ci.upper).toBeLessThan(1.06);
    expect(ci.lower).toBeLessThan(ci.estimate);
    expect(ci.upper).toBeGreaterThan(ci.estimate);
  });

  it('gives no ratio for a non-positive baseline median, with a reason', () => {
    const ci = bootstrapRatioCI([0, 0, 0, 1, 2], [1, 2, 3, 4, 5]);
    expect(Number.isNaN(ci.estimate)).toBe(true);
    expect(ci.warnings).toEqual(['the baseline median is 0: a ratio needs a positive baseline']);
  });
});
