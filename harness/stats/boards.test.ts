import { describe, expect, it } from 'vitest';
import { compareAcrossBoards, vanElteren, type BoardPair } from './boards.js';
import { compareSamples } from './compare.js';
import { mannWhitney } from './mann-whitney.js';
import { createRng } from './rng.js';
import { normalVariate } from './variates.js';

function latencies(seed: number, n: number, medianMs: number, noise = 0.01): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => medianMs * (1 + noise * normalVariate(rng)));
}

describe('vanElteren', () => {
  it('gives the hand-computed z for two small boards', () => {
    // Board A: baseline 1 2 3, candidate 4 5: candidate ranks 4 + 5 = 9, N = 5:
    //   T_A = 9 / 6 = 1.5, E = 2 / 2 = 1, Var = 3 * 2 / (12 * 36) * 6 = 1/12.
    // Board B: baseline 10 30, candidate 20 40: candidate ranks 2 + 4 = 6, N = 4:
    //   T_B = 6 / 5 = 1.2, E = 1, Var = 2 * 2 / (12 * 25) * 5 = 1/15.
    // z = (2.7 - 2) / sqrt(0.15) = 1.80739, p = 2 (1 - Phi(1.80739)) = 0.07070.
    const r = vanElteren([
      { baseline: [1, 2, 3], candidate: [4, 5] },
      { baseline: [10, 30], candidate: [20, 40] },
    ]);
    expect(r.z).toBeCloseTo(0.7 / Math.sqrt(0.15), 12);
    expect(r.p).toBeCloseTo(0.0707, 4);
    expect(r.strata).toBe(2);
  });

  it('reduces to the Mann-Whitney normal statistic (without continuity correction) for one board', () => {
    const a = [1, 2, 2, 3, 4, 5, 5, 5];
    const b = [3, 4, 4, 6, 6, 7, 8];
    const mw = mannWhitney(a, b);
    // Candidate's U = n1 n2 - U_baseline; the tie-corrected sigma from the hand example in mann-whitney.test.ts.
    const sigma = Math.sqrt((56 / 12) * (16 - 66 / 210));
    expect(vanElteren([{ baseline: a, candidate: b }]).z).toBeCloseTo((56 - mw.u - 28) / sigma, 12);
  });
});

describe('compareAcrossBoards', () => {
  it('keeps the board spread apart from a 3% regression present on every board', () => {
    const speeds: Array<[string, number, number]> = [['s3-a', 1.0, 60], ['s3-b', 1.05, 100], ['s3-c', 0.97, 40], ['s3-d', 1.12, 80]];
    const pairs: BoardPair[] = speeds.map(([board, speed, n], i) => ({
      board,
      baseline: latencies(10 + i, n, 54 * speed),
      candidate: latencies(20 + i, n, 54 * speed * 1.03),
    }));
    const r = compareAcrossBoards(pairs, { alpha: 0.01 });
    expect(r.pooled.ratio).toBeCloseTo(1.03, 2);
    expect(r.pooled.lower).toBeGreaterThan(1.02);
    expect(r.pooled.upper).toBeLessThan(1.04);
    expect(r.pooled.significant).toBe(true);
    expect(r.pooled.boards).toEqual(['s3-a', 's3-b', 's3-c', 's3-d']);
    expect(r.boards.every((b) => b.comparison.comparable && b.comparison.significant)).toBe(true);
    expect(r.spread.baseline.slowestBoard).toBe('s3-d');
    expect(r.spread.baseline.fastestBoard).toBe('s3-c');
    expect(r.spread.baseline.ratio).toBeCloseTo(1.12 / 0.97, 1);
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]).toMatch(/^board spread: s3-d runs the baseline \+1[45]\.\d\d% slower than s3-c/);
  });

  it('does not mistake unequal sample counts on boards of different speed for a variant effect', () => {
    // No variant effect. The fast board ran mostly candidate samples, the slow board mostly
    // baseline ones: pooling all samples makes the candidate look ~15% faster.
    const fast = { baseline: latencies(1, 50, 50), candidate: latencies(2, 400, 50) };
    const slow = { baseline: latencies(3, 400, 60), candidate: latencies(4, 50, 60) };
    const pairs: BoardPair[] = [{ board: 'fast', ...fast }, { board: 'slow', ...slow }];
    const naive = compareSamples([...fast.baseline, ...slow.baseline], [...fast.candidate, ...slow.candidate]);
    expect(naive.significant).toBe(true);
    expect(naive.changePct).toBeLessThan(-10);
    const r = compareAcrossBoards(pairs);
    expect(Math.abs(r.pooled.changePct)).toBeLessThan(0.5);
    expect(r.pooled.p).toBeGreaterThan(0.05);
    expect(r.pooled.lower).toBeLessThan(1);
    expect(r.pooled.upper).toBeGreaterThan(1);
  });

  it('warns when boards disagree about the direction', () => {
    const r = compareAcrossBoards([
      { board: 'a', baseline: latencies(1, 100, 54), candidate: latencies(2, 100, 54 * 1.05) },
      { board: 'b', baseline: latencies(3, 100, 54), candidate: latencies(4, 100, 54 * 0.95) },
    ]);
    expect(r.warnings.some((w) => /^boards disagree about the direction \(a \+[45]\.\d\d%, b -[45]\.\d\d%\)/.test(w))).toBe(true);
  });

  it('refuses a board whose trials differ outside the variant axes and pools the others', () => {
    const fp = { kernelBackend: 'reference', cpuMhz: 240 };
    const r = compareAcrossBoards(
      [
        { board: 'a', baseline: latencies(1, 30, 54), candidate: latencies(2, 30, 50), baselineFingerprint: fp, candidateFingerprint: { ...fp, kernelBackend: 'esp-nn' } },
        { board: 'b', baseline: latencies(3, 30, 54), candidate: latencies(4, 30, 50), baselineFingerprint: fp, candidateFingerprint: { kernelBackend: 'esp-nn', cpuMhz: 160 } },
      ],
      { variantAxes: ['kernelBackend'] },
    );
    expect(r.boards[1].comparison.comparable).toBe(false);
    expect(Number.isNaN(r.boards[1].pHolm)).toBe(true);
    expect(r.pooled.boards).toEqual(['a']);
    expect(r.warnings[0]).toMatch(/^board b: not comparable: the fingerprints differ in cpuMhz \(baseline 240, candidate 160\)/);
  });

  it('Holm-adjusts the per-board p-values', () => {
    const r = compareAcrossBoards([
      { board: 'a', baseline: latencies(1, 20, 54), candidate: latencies(2, 20, 54 * 1.01) },
      { board: 'b', baseline: latencies(3, 20, 54), candidate: latencies(4, 20, 54 * 1.01) },
    ]);
    const ps = r.boards.map((b) => (b.comparison.comparable ? b.comparison.p : NaN));
    const [lo, hi] = ps[0] <= ps[1] ? [0, 1] : [1, 0];
    expect(r.boards[lo].pHolm).toBeCloseTo(Math.min(1, 2 * ps[lo]), 12);
    expect(r.boards[hi].pHolm).toBeCloseTo(Math.max(Math.min(1, 2 * ps[lo]), ps[hi]), 12);
  });
});
