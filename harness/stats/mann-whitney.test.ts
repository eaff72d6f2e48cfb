import { describe, expect, it } from 'vitest';
import { exactUDistribution, mannWhitney, smallestPossibleP } from './mann-whitney.js';
import { createRng } from './rng.js';
import { normalVariate } from './variates.js';

// Hollander & Wolfe (1973), p. 69f, the example in R's ?wilcox.test: permeability of the human
// chorioamnion at term (x) and at 12-26 weeks (y). R prints W = 35, p-value = 0.2544 (two-sided,
// exact) and p = 0.1272 for alternative = "greater".
const term = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
const early = [1.15, 0.88, 0.9, 0.74, 1.21];

describe('mannWhitney', () => {
  it('reproduces R\'s wilcox.test example: W = 35, exact two-sided p = 0.2544', () => {
    const r = mannWhitney(term, early);
    expect(r.u).toBe(35);
    expect(r.method).toBe('exact');
    expect(r.p).toBeCloseTo(0.2544122544, 9);
  });

  it('reproduces the scipy mannwhitneyu docs example: U1 = 17, exact p = 0.1111, asymptotic p = 0.11134688653314041', () => {
    const males = [19, 22, 16, 29, 24];
    const females = [20, 11, 17, 12];
    const exact = mannWhitney(males, females);
    expect(exact.u).toBe(17);
    expect(exact.p).toBeCloseTo(1 / 9, 12);
    // Hand: mu = 10, sigma = sqrt(5 * 4 * 10 / 12) = 4.0825, z = (17 - 10 - 0.5) / 4.0825 = 1.5922.
    const normal = mannWhitney(males, females, { method: 'normal' });
    expect(normal.z).toBeCloseTo(6.5 / Math.sqrt(200 / 12), 12);
    expect(normal.p).toBeCloseTo(0.11134688653314041, 6);
  });

  it('uses mid-ranks and the tie-corrected variance (hand-computed example with ties)', () => {
    // Pooled ranks: 1 | 2 2 -> 2.5 | 3 3 -> 4.5 | 4 4 4 -> 7 | 5 5 5 -> 10 | 6 6 -> 12.5 | 7 -> 14 | 8 -> 15.
    // R1 = 1 + 2.5 + 2.5 + 4.5 + 7 + 3 * 10 = 47.5, U = 47.5 - 36 = 11.5.
    // Ties sum(t^3 - t) = 6 + 6 + 24 + 24 + 6 = 66; var = 56/12 * (16 - 66/210) = 73.200;
    // z = (11.5 - 28 + 0.5) / 8.5557 = -1.8701, p = 0.06147 (scipy.stats.mannwhitneyu agrees).
    const r = mannWhitney([1, 2, 2, 3, 4, 5, 5, 5], [3, 4, 4, 6, 6, 7, 8]);
    expect(r.u).toBe(11.5);
    expect(r.ties).toBe(true);
    expect(r.method).toBe('normal');
    expect(r.z).toBeCloseTo(-16 / Math.sqrt((56 / 12) * (16 - 66 / 210)), 12);
    expect(r.p).toBeCloseTo(0.06147016, 6);
    expect(mannWhitney([1, 2, 2, 3], [3, 4, 5, 6], { method: 'exact' }).warnings).toContain(
      'cannot compute an exact p-value with ties: used the normal approximation',
    );
  });

  it('has an exact null distribution that matches brute-force enumeration of all C(9, 4) splits', () => {
    // Every way to choose which 4 of the ranks 1..9 belong to group 1: U = R1 - 10.
    const counts = new Array<number>(21).fill(0);
    for (let mask = 0; mask < 512; mask++) {
      let bits = 0;
      let r1 = 0;
      for (let r = 0; r < 9; r++) if (mask & (1 << r)) { bits++; r1 += r + 1; }
      if (bits === 4) counts[r1 - 10]++;
    }
    const probs = exactUDistribution(4, 5);
    counts.forEach((c, u) => expect(probs[u]).toBeCloseTo(c / 126, 14));
  });

  it('agrees between exact and normal methods for moderate n, and with the sign of the shift', () => {
    const rng = createRng(5);
    const a = Array.from({ length: 40 }, () => normalVariate(rng));
    const b = Array.from({ length: 45 }, () => normalVariate(rng) + 0.5);
    const exact = mannWhitney(a, b);
    const normal = mannWhitney(a, b, { method: 'normal' });
    expect(exact.method).toBe('exact');
    expect(Math.abs(exact.p - normal.p)).toBeLessThan(0.002);
    expect(exact.probabilityCandidateHigher).toBeGreaterThan(0.5);
  });

  it('tells when the group sizes cannot reach alpha, and stays quiet when they can', () => {
    // 3 vs 3: smallest p = 2 / C(6, 3) = 0.1.
    expect(smallestPossibleP(3, 3)).toBeCloseTo(0.1, 15);
    const r = mannWhitney([1, 2, 3], [4, 5, 6]);
    expect(r.p).toBeCloseTo(0.1, 15);
    expect(r.warnings).toEqual([
      'with 3 and 3 samples the smallest possible p is 0.1, so no difference can be significant at alpha 0.05: measure at least 4 samples each',
    ]);
    expect(mannWhitney([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], { alpha: 0.01 }).warnings).toEqual([]);
  });

  it('returns p = 1 when every value is equal and NaN with a reason when a group is empty', () => {
    expect(mannWhitney(new Array(60).fill(5), new Array(60).fill(5)).p).toBe(1);
    const empty = mannWhitney([], [1, 2]);
    expect(Number.isNaN(empty.p)).toBe(true);
    expect(empty.warnings).toEqual(['need samples in both groups for a rank test, got 0 baseline and 2 candidate']);
  });
});
