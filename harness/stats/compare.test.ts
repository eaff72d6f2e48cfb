import { describe, expect, it } from 'vitest';
import { compareSamples, compareTrials } from './compare.js';
import type { Fingerprint } from './fingerprint.js';
import { createRng } from './rng.js';
import { normalVariate } from './variates.js';

const reference: Fingerprint = { firmwareSha256: 'aa', kernelBackend: 'reference', cpuMhz: 240, modelSha256: 'm' };
const espNn: Fingerprint = { ...reference, firmwareSha256: 'bb', kernelBackend: 'esp-nn' };

function latencies(seed: number, n: number, medianMs: number, noise = 0.01): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => medianMs * (1 + noise * normalVariate(rng)));
}

describe('compareSamples', () => {
  it('reports R\'s wilcox.test example: W = 35, p = 0.2544, shift 0.305, median ratio 1.38/0.90', () => {
    const term = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    const early = [1.15, 0.88, 0.9, 0.74, 1.21];
    const c = compareSamples(early, term);
    expect(c.test.u).toBe(15); // the baseline's U: 5 * 10 - 35
    expect(c.p).toBeCloseTo(0.2544122544, 9);
    expect(c.shift).toBeCloseTo(0.305, 12);
    // Medians: early 0.90; term (1.38 + 1.45) / 2 = 1.415.
    expect(c.ratio.estimate).toBeCloseTo(1.415 / 0.9, 12);
    expect(c.changePct).toBeCloseTo((1.415 / 0.9 - 1) * 100, 10);
    expect(c.significant).toBe(false);
  });

  it('finds a 3% regression in 200 vs 200 samples with 1% noise: significant, ratio interval around 1.03', () => {
    const c = compareSamples(latencies(1, 200, 54), latencies(2, 200, 54 * 1.03), { alpha: 0.01 });
    expect(c.significant).toBe(true);
    expect(c.p).toBeLessThan(1e-10);
    expect(c.ratio.lower).toBeGreaterThan(1.02);
    expect(c.ratio.upper).toBeLessThan(1.04);
    expect(c.changePct).toBeGreaterThan(2);
    expect(c.shift).toBeCloseTo(54 * 0.03, 0);
    expect(c.warnings).toEqual([]);
  });

  it('does not call two draws of the same distribution different', () => {
    const c = compareSamples(latencies(3, 200, 54), latencies(4, 200, 54));
    expect(c.p).toBeGreaterThan(0.05);
    expect(c.ratio.lower).toBeLessThan(1);
    expect(c.ratio.upper).toBeGreaterThan(1);
  });

  it('handles 20,000 vs 20,000 samples (sorted once; the shift by selection)', () => {
    const c = compareSamples(latencies(5, 20_000, 54), latencies(6, 20_000, 54 * 1.005));
    expect(c.test.method).toBe('normal');
    expect(c.significant).toBe(true);
    expect(c.ratio.estimate).toBeCloseTo(1.005, 3);
  });

  it('passes the warnings of the parts on once, e.g. too few samples for an interval', () => {
    const c = compareSamples([1, 2, 3], [4, 5, 6, Number.NaN]);
    expect(c.warnings).toEqual([
      '1 candidate samples were not finite numbers (NaN or Infinity) and were ignored',
      'with 3 and 3 samples the smallest possible p is 0.1, so no difference can be significant at alpha 0.05: measure at least 4 samples each',
      'need at least 5 samples for a confidence interval (baseline), got 3',
      'need at least 5 samples for a confidence interval (candidate), got 3',
    ]);
  });
});

describe('compareTrials', () => {
  it('compares reference vs esp-nn when only the declared axes differ', () => {
    const c = compareTrials(
      { samples: latencies(7, 50, 2300), fingerprint: reference },
      { samples: latencies(8, 50, 54), fingerprint: espNn },
      ['kernelBackend', 'firmwareSha256'],
    );
    expect(c.comparable).toBe(true);
    if (!c.comparable) return;
    expect(c.differingAxes).toEqual(['firmwareSha256', 'kernelBackend']);
    expect(c.ratio.estimate).toBeCloseTo(54 / 2300, 2);
    expect(c.test.method).toBe('normal'); // 50 per group: R's exact limit is < 50
  });

  it('refuses trials measured at different clocks, naming the field and both values', () => {
    const c = compareTrials(
      { samples: latencies(7, 50, 2300), fingerprint: reference },
      { samples: latencies(8, 50, 54), fingerprint: { ...espNn, cpuMhz: 160 } },
      ['kernelBackend', 'firmwareSha256'],
    );
    expect(c.comparable).toBe(false);
    if (c.comparable) return;
    expect(c.field).toBe('cpuMhz');
    expect(c.warnings).toEqual([c.reason]);
    expect(c.reason).toContain('cpuMhz (baseline 240, candidate 160)');
  });
});
