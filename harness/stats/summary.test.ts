import { describe, expect, it } from 'vitest';
import { medianAbsoluteDeviation } from 'simple-statistics';
import { madOfSorted, summarize } from './summary.js';
import { createRng } from './rng.js';

describe('summarize', () => {
  it('matches the hand-computed statistics of the textbook data set 2 4 4 4 5 5 7 9', () => {
    // Wikipedia "Standard deviation" (population sd 2): sample sd = sqrt(32 / 7) = 2.13809.
    // Median (4 + 5) / 2 = 4.5; |x - 4.5| = 2.5 .5 .5 .5 .5 .5 2.5 4.5 -> MAD = 0.5.
    // Type 7 quantiles: h = 7 * 0.9 = 6.3 -> 7 + 0.3 * (9 - 7) = 7.6; h = 6.93 -> 8.86.
    const s = summarize([9, 4, 2, 5, 4, 7, 4, 5]);
    expect(s.n).toBe(8);
    expect(s.min).toBe(2);
    expect(s.max).toBe(9);
    expect(s.mean).toBe(5);
    expect(s.median).toBe(4.5);
    expect(s.stddev).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(s.mad).toBe(0.5);
    expect(s.p90).toBeCloseTo(7.6, 12);
    expect(s.p99).toBeCloseTo(8.86, 12);
    expect(s.cv).toBeCloseTo(Math.sqrt(32 / 7) / 5, 12);
  });

  it('gives MAD 1 for the Wikipedia "Median absolute deviation" example 1 1 2 2 4 6 9', () => {
    expect(summarize([1, 1, 2, 2, 4, 6, 9]).mad).toBe(1);
  });

  it('uses type 7 quantiles: p90 of 1..10 is 9.1 as R quantile(1:10, 0.9) prints', () => {
    expect(summarize([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]).p90).toBeCloseTo(9.1, 12);
  });

  it('computes the O(n) MAD exactly as the sort-based definition, with ties, odd and even n', () => {
    const rng = createRng(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.nextInt(60);
      // Few distinct values so that ties on both sides of the median are common.
      const xs = Array.from({ length: n }, () => rng.nextInt(8) * 1.5 + (trial % 3 === 0 ? rng.next() : 0));
      const sorted = Float64Array.from(xs).sort();
      const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
      expect(madOfSorted(sorted, median)).toBeCloseTo(medianAbsoluteDeviation(xs), 12);
    }
  });

  it('ignores NaN and Infinity with a warning that counts them, and never mutates the input', () => {
    const xs = [3, Number.NaN, 1, Number.POSITIVE_INFINITY, 2];
    const s = summarize(xs);
    expect(s.n).toBe(3);
    expect(s.median).toBe(2);
    expect(s.warnings[0]).toBe('2 samples were not finite numbers (NaN or Infinity) and were ignored');
    expect(xs[0]).toBe(3);
  });

  it('says why p99 means little under 100 samples, and is quiet from 100 on', () => {
    const few = summarize(Array.from({ length: 50 }, (_, i) => i));
    expect(few.warnings).toEqual(['p99 of 50 samples lies between the two largest samples: it needs at least 100 samples']);
    expect(summarize(Array.from({ length: 100 }, (_, i) => i)).warnings).toEqual([]);
  });

  it('returns NaN statistics with a warning for an empty trial and no stddev for one sample', () => {
    const empty = summarize([]);
    expect(empty.n).toBe(0);
    expect(Number.isNaN(empty.median)).toBe(true);
    expect(empty.warnings).toEqual(['no samples: every statistic is NaN']);
    const one = summarize(new Float64Array([42]));
    expect(one.median).toBe(42);
    expect(one.mad).toBe(0);
    expect(Number.isNaN(one.stddev)).toBe(true);
    expect(one.warnings[0]).toMatch(/only 1 sample/);
  });
});
