import { describe, expect, it } from 'vitest';
import { medianInterval, minSamplesForMedianInterval, shouldStopSampling } from './adaptive.js';
import { createRng } from './rng.js';
import { normalVariate } from './variates.js';

const oneTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('order-statistic interval of the median', () => {
  it('is (x(2), x(9)) for n = 10 with coverage 1 - 2 * 11/1024 = 0.9785 (hand)', () => {
    // P(B <= 1) = (1 + 10) / 1024 = 0.0107 <= 0.025; P(B <= 2) = 56 / 1024 = 0.0547 > 0.025.
    const ci = medianInterval(oneTo(10).reverse());
    expect([ci.lowerRank, ci.upperRank]).toEqual([2, 9]);
    expect([ci.lower, ci.upper]).toEqual([2, 9]);
    expect(ci.coverage).toBeCloseTo(1 - 22 / 1024, 12);
    expect(ci.median).toBe(5.5);
  });

  it('is (x(6), x(15)) for n = 20, as in published tables of the sign-test interval', () => {
    // P(B <= 5) = 21700 / 2^20 = 0.0207 <= 0.025; P(B <= 6) = 60460 / 2^20 = 0.0577.
    const ci = medianInterval(oneTo(20));
    expect([ci.lowerRank, ci.upperRank]).toEqual([6, 15]);
    expect(ci.coverage).toBeCloseTo(1 - (2 * 21700) / 1048576, 12);
  });

  it('needs 6 samples for 95% (2^-5 = 0.031 > 0.025) and says so', () => {
    expect(minSamplesForMedianInterval(0.95)).toBe(6);
    expect(medianInterval(oneTo(6))).toMatchObject({ lowerRank: 1, upperRank: 6, coverage: 1 - 2 / 64 });
    const five = medianInterval(oneTo(5));
    expect(Number.isNaN(five.lower)).toBe(true);
    expect(five.warnings).toEqual(['need at least 6 samples for a 95% interval of the median, got 5']);
  });

  it('moves smoothly from the exact binomial (n = 1000) to the normal approximation (n = 1001)', () => {
    const a = medianInterval(oneTo(1000));
    const b = medianInterval(oneTo(1001));
    expect(Math.abs(a.lowerRank - b.lowerRank)).toBeLessThanOrEqual(1);
    expect(a.coverage).toBeGreaterThanOrEqual(0.95);
    expect(b.coverage).toBeGreaterThanOrEqual(0.95);
    // Normal theory: r ~ n/2 - 1.96 sqrt(n)/2 = 469.
    expect(a.lowerRank).toBeGreaterThanOrEqual(468);
    expect(a.lowerRank).toBeLessThanOrEqual(470);
  });

  it('covers the true median about 95% of the time (simulation, 400 trials of 30 samples)', () => {
    const rng = createRng(1);
    let covered = 0;
    for (let t = 0; t < 400; t++) {
      const ci = medianInterval(Array.from({ length: 30 }, () => Math.exp(normalVariate(rng)))); // lognormal, median 1
      if (ci.lower <= 1 && ci.upper >= 1) covered++;
    }
    // Exact coverage at n = 30 is 0.9572; binomial sd over 400 trials ~0.010.
    expect(covered / 400).toBeGreaterThan(0.92);
    expect(covered / 400).toBeLessThan(0.99);
  });
});

describe('shouldStopSampling', () => {
  const rule = { withinPct: 1, minSamples: 20, maxSamples: 2000 };
  const draw = (seed: number, n: number, noise: number): number[] => {
    const rng = createRng(seed);
    return Array.from({ length: n }, () => 54 * (1 + noise * normalVariate(rng)));
  };

  it('stops a quiet trial early and keeps a noisy one going with an estimate of what it needs', () => {
    const quiet = shouldStopSampling(draw(1, 20, 0.005), rule);
    expect(quiet).toMatchObject({ stop: true, reason: 'precise', n: 20 });
    expect(quiet.halfWidthPct).toBeLessThanOrEqual(1);
    const noisy = shouldStopSampling(draw(2, 20, 0.05), rule);
    expect(noisy).toMatchObject({ stop: false, reason: 'need-more' });
    expect(noisy.halfWidthPct).toBeGreaterThan(1);
    // Half-width of the median of N(54, 2.7) is ~1.96 * 1.2533 * 5% / sqrt(n): 1% needs ~150.
    expect(noisy.estimatedSamplesNeeded).toBeGreaterThan(60);
    expect(noisy.estimatedSamplesNeeded).toBeLessThan(600);
    expect(noisy.warnings).toEqual([]);
  });

  it('never stops below the minimum and always stops at the maximum, saying how precise it got', () => {
    expect(shouldStopSampling(draw(3, 8, 0.001), rule)).toMatchObject({ stop: false, reason: 'min-samples', warnings: [] });
    const capped = shouldStopSampling(draw(4, 2000, 0.6), rule);
    expect(capped).toMatchObject({ stop: true, reason: 'max-samples' });
    expect(capped.warnings[0]).toMatch(/^stopped at the 2000-sample limit with the median known to \+-\d\.\d+%, not \+-1%$/);
  });

  it('reaches +-0.1% on 20,000 samples with 2% noise (half-width ~ 1.96 * 1.2533 * 2% / sqrt(20000) = 0.035%)', () => {
    const d = shouldStopSampling(draw(5, 20_000, 0.02), { withinPct: 0.1, maxSamples: 100_000 });
    expect(d).toMatchObject({ stop: true, reason: 'precise' });
    expect(d.halfWidthPct).toBeGreaterThan(0.02);
    expect(d.halfWidthPct).toBeLessThan(0.05);
  });
});
