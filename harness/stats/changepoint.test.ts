import { describe, expect, it } from 'vitest';
import { bestInnerSegment, bestSingleSplit, detectChangePoints, midRanks, permutationP } from './changepoint.js';
import { createRng } from './rng.js';
import { normalVariate } from './variates.js';

function nights(seed: number, n: number, level: (i: number) => number, noise = 0.003): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => level(i) * (1 + noise * normalVariate(rng)));
}

describe('rank split statistics and their permutation p-value', () => {
  it('splits 1 2 3 10 11 12 after the third run with |Z| = 9 / sqrt(21) (hand)', () => {
    // Rank sums of the first t runs: 1, 3, 6, 10, 15; 2 S - t (n + 1) = -5, -8, -9, -8, -5;
    // sd sqrt(t (6 - t) 7 / 3) = 3.416, 4.320, 4.583, 4.320, 3.416 -> the largest |Z| is at t = 3.
    const ranks = midRanks([1, 2, 3, 10, 11, 12]);
    expect(Array.from(ranks)).toEqual([1, 2, 3, 4, 5, 6]);
    const split = bestSingleSplit(ranks, 1);
    expect(split.j).toBe(3);
    expect(split.z).toBeCloseTo(9 / Math.sqrt(21), 12);
  });

  it('estimates the hand-computed exact p = 0.1 for that split', () => {
    // No t other than 3 can reach 1.964 (their largest |Z| are 1.46 and 1.85), and t = 3 needs
    // the three smallest (or largest) ranks first: 2 * 3! * 3! = 72 of 6! = 720 orders.
    const p = permutationP(midRanks([1, 2, 3, 10, 11, 12]), 9 / Math.sqrt(21), (r) => bestSingleSplit(r, 1).z, 19_999, 1, createRng(1));
    expect(p).toBeGreaterThan(0.094);
    expect(p).toBeLessThan(0.106);
  });

  it('finds the inner segment of a bump: 1 2 3 | 7 8 9 | 4 5 6', () => {
    const inner = bestInnerSegment(midRanks([1, 2, 3, 7, 8, 9, 4, 5, 6]), 3);
    expect([inner.i, inner.j]).toEqual([3, 6]);
    // S = 7 + 8 + 9 = 24, 2 S - 3 * 10 = 18, sd sqrt(3 * 6 * 10 / 3) = sqrt(60).
    expect(inner.z).toBeCloseTo(18 / Math.sqrt(60), 12);
  });

  it('gives tied values their mid-ranks', () => {
    expect(Array.from(midRanks([5, 3, 5, 1]))).toEqual([3.5, 2, 3.5, 1]);
  });
});

describe('detectChangePoints', () => {
  it('finds a 5% step at run 20 of 40 with its levels and a small p', () => {
    const hist = nights(1, 40, (i) => (i < 20 ? 54 : 54 * 1.05), 0.01);
    const r = detectChangePoints(hist);
    expect(r.changePoints).toHaveLength(1);
    const [cp] = r.changePoints;
    expect(cp.index).toBe(20);
    expect(cp.direction).toBe('up');
    expect(cp.before).toBeCloseTo(54, 0);
    expect(cp.after).toBeCloseTo(56.7, 0);
    expect(cp.changePct).toBeGreaterThan(3.5);
    expect(cp.p).toBeLessThan(0.01);
    expect(r.warnings).toEqual([]);
  });

  it('reports a slow drift where it starts, nights before it crosses a 3% threshold', () => {
    // Flat for 30 nights, then +0.3% per night (0.3% run-to-run noise). Running the detector
    // every night on the history so far, as the nightly job does:
    for (const seed of [1, 2, 3]) {
      const hist = nights(seed, 60, (i) => 54 * (1 + 0.003 * Math.max(0, i - 29)));
      let night = -1;
      let index = -1;
      for (let t = 31; t <= 60 && night < 0; t++) {
        const r = detectChangePoints(hist.slice(0, t));
        if (r.changePoints.length > 0) {
          night = t - 1;
          index = r.changePoints[0].index;
        }
      }
      // Reported while the accumulated drift is still below 3% (night < 40) ...
      expect(night).toBeGreaterThan(30);
      expect(night).toBeLessThan(40);
      // ... and placed at the start of the drift, not where it crossed anything.
      expect(Math.abs(index - 30)).toBeLessThanOrEqual(3);
    }
  });

  it('finds a 3% step that only the last 5 of 40 nights show, at its first night', () => {
    // Ranks say there is a change; the L1 refinement puts it where the level jumps, not on a
    // high-normal night just before it.
    let exact = 0;
    for (let seed = 0; seed < 20; seed++) {
      const r = detectChangePoints(nights(seed, 40, (i) => (i >= 35 ? 54 * 1.03 : 54)));
      if (r.changePoints.length === 1 && r.changePoints[0].index === 35) exact++;
    }
    expect(exact).toBeGreaterThanOrEqual(18);
  });

  it('finds a regression and its fix as two change points', () => {
    const hist = nights(4, 45, (i) => (i >= 15 && i < 30 ? 56 : 54));
    const r = detectChangePoints(hist);
    expect(r.changePoints.map((c) => [c.index, c.direction])).toEqual([[15, 'up'], [30, 'down']]);
    expect(r.changePoints[1].before).toBeCloseTo(56, 0);
  });

  it('is not fooled by one broken night, and raises at most 3 false alarms in 100 flat histories', () => {
    const broken = nights(5, 40, () => 54);
    broken[20] *= 1.3;
    expect(detectChangePoints(broken).changePoints).toEqual([]);
    let alarms = 0;
    for (let seed = 0; seed < 100; seed++) if (detectChangePoints(nights(100 + seed, 40, () => 54)).changePoints.length > 0) alarms++;
    expect(alarms).toBeLessThanOrEqual(3);
  });

  it('leaves out a change smaller than the runs\' own intervals, with a warning, and keeps it when runs are precise', () => {
    const values = nights(6, 40, (i) => (i < 20 ? 54 : 54 * 1.005), 0.0005);
    const wide = values.map((value, i) => ({ value, lower: value * 0.99, upper: value * 1.01, runId: `run-${i}` }));
    const r = detectChangePoints(wide);
    expect(r.changePoints).toEqual([]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^1 statistically significant change left out as smaller than the runs' own confidence intervals \(typically \+-1%\): \+0\.\d\d% at run 20$/);
    const narrow = values.map((value, i) => ({ value, lower: value * 0.999, upper: value * 1.001, runId: `run-${i}` }));
    const kept = detectChangePoints(narrow);
    expect(kept.changePoints).toHaveLength(1);
    expect(kept.changePoints[0].runId).toBe('run-20');
  });

  it('repeats exactly for a seed, keeps input indices across missing runs, and warns about short histories', () => {
    const hist: number[] = nights(7, 30, (i) => (i < 15 ? 54 : 57));
    hist[3] = Number.NaN;
    const a = detectChangePoints(hist, { seed: 3 });
    expect(detectChangePoints(hist, { seed: 3 })).toEqual(a);
    expect(a.changePoints[0].index).toBe(15);
    expect(a.warnings).toEqual(['1 runs had no finite value and were left out']);
    expect(detectChangePoints([54, 55, 54]).warnings).toEqual(['need at least 6 runs of history to look for change points, got 3']);
    expect(detectChangePoints([]).warnings).toEqual([]);
  });
});
