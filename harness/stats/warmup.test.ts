import { describe, expect, it } from 'vitest';
import { detectWarmup } from './warmup.js';
import { createRng } from './rng.js';
import { normalVariate } from './variates.js';

function steady(seed: number, n: number, median = 54, noise = 0.005): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => median * (1 + noise * normalVariate(rng)));
}

describe('detectWarmup', () => {
  it('finds three cold first inferences (2x, 1.5x, 1.2x slower) in front of a steady trial', () => {
    const xs = steady(1, 100);
    xs[0] *= 2;
    xs[1] *= 1.5;
    xs[2] *= 1.2;
    const r = detectWarmup(xs);
    expect(r.warmupCount).toBe(3);
    expect(r.changePct).toBeGreaterThan(40);
    expect(r.warnings).toEqual([
      `the first 3 of 100 samples look like warm-up (median ${'+' + r.changePct.toFixed(2)}% vs the steady tail): raise the scenario's warm-up count or leave them out`,
    ]);
  });

  it('finds a slow exponential settling whose single samples hide in the noise', () => {
    // 5% * exp(-i / 15) above steady state with 1% noise: above 1% for i < 15 ln 5 = 24.
    const rng = createRng(2);
    const xs = Array.from({ length: 300 }, (_, i) => 54 * (1 + 0.05 * Math.exp(-i / 15)) * (1 + 0.01 * normalVariate(rng)));
    const r = detectWarmup(xs);
    expect(r.warmupCount).toBeGreaterThanOrEqual(10);
    expect(r.warmupCount).toBeLessThanOrEqual(45);
    expect(r.blockSize).toBe(15);
  });

  it('raises at most 2 false alarms in 100 steady trials with 1% noise', () => {
    let alarms = 0;
    for (let seed = 0; seed < 100; seed++) if (detectWarmup(steady(100 + seed, 200, 54, 0.01)).warmupCount > 0) alarms++;
    expect(alarms).toBeLessThanOrEqual(2);
  });

  it('stays quiet about a statistically clear but immaterial settling (0.3% on 0.01% noise)', () => {
    const rng = createRng(3);
    const xs = Array.from({ length: 200 }, (_, i) => 54 * (1 + (i < 20 ? 0.003 : 0)) * (1 + 0.0001 * normalVariate(rng)));
    expect(detectWarmup(xs)).toMatchObject({ warmupCount: 0, warnings: [] });
    // The same settling at 3% is reported (MAD-based test + 1% materiality).
    const big = xs.map((x, i) => (i < 20 ? x * 1.027 : x));
    expect(detectWarmup(big).warmupCount).toBe(20);
  });

  it('says the whole trial drifts when samples differ from the tail up to its middle', () => {
    const rng = createRng(4);
    const xs = Array.from({ length: 100 }, (_, i) => 54 * (1 + 0.002 * (100 - i)) * (1 + 0.001 * normalVariate(rng)));
    const r = detectWarmup(xs);
    expect(r.warnings[0]).toMatch(/^samples still differ from the second half of the trial at its middle \(first 4\d of 100, median \+\d+\.\d\d%\): the board drifts during the whole trial/);
  });

  it('needs at least 10 samples', () => {
    expect(detectWarmup([5, 1, 1, 1]).warnings).toEqual(['need at least 10 samples to detect warm-up, got 4']);
    expect(detectWarmup([5, 1, 1, 1]).warmupCount).toBe(0);
  });
});
