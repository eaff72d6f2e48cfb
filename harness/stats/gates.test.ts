import { describe, expect, it } from 'vitest';
import { evaluateGate, evaluateGates, exitCodeFor, type MetricSet } from './gates.js';
import { createRng } from './rng.js';
import { normalVariate } from './variates.js';

function latencies(seed: number, n: number, medianMs: number, noise = 0.01): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => medianMs * (1 + noise * normalVariate(rng)));
}

const latencyGate = { metric: 'latency.median', maxIncreasePct: 3, alpha: 0.01 };

describe('latency gate (maxIncreasePct on samples)', () => {
  it('fails a significant +5% with a one-line explanation and exit code 1', () => {
    const base: MetricSet = { latency: { samples: latencies(1, 200, 54), unit: 'ms' } };
    const cand: MetricSet = { latency: { samples: latencies(2, 200, 54 * 1.05), unit: 'ms' } };
    const r = evaluateGate(latencyGate, base, cand);
    expect(r.status).toBe('fail');
    expect(r.changePct).toBeGreaterThan(4);
    expect(r.p).toBeLessThan(1e-10);
    expect(r.interval!.lower).toBeGreaterThan(3);
    expect(r.explanation).toMatch(
      /^latency\.median \+[45]\.\d\d% \(5\d\.?\d* ms -> 5\d\.?\d* ms, 95% CI \+\d\.\d\d% to \+\d\.\d\d%; p < 0\.0001, alpha 0\.01\), limit \+3%: FAIL, beyond the limit and significant$/,
    );
    expect(exitCodeFor([r])).toBe(1);
  });

  it('passes +5% that 3 samples per side cannot make significant, and warns that it never could', () => {
    const r = evaluateGate(latencyGate, { latency: { samples: [54, 54.1, 53.9] } }, { latency: { samples: [56.7, 56.8, 56.6] } });
    expect(r.status).toBe('pass');
    expect(r.explanation).toMatch(/; p = 0\.1, alpha 0\.01\), limit \+3%: pass, beyond the limit but not significant$/);
    expect(r.p).toBeCloseTo(0.1, 12);
    expect(r.warnings).toContain(
      'with 3 and 3 samples the smallest possible p is 0.1, so no difference can be significant at alpha 0.01: measure at least 5 samples each',
    );
  });

  it('passes a significant +1% as within the limit', () => {
    const r = evaluateGate(latencyGate, { latency: { samples: latencies(3, 2000, 54) } }, { latency: { samples: latencies(4, 2000, 54 * 1.01) } });
    expect(r.status).toBe('pass');
    expect(r.p).toBeLessThan(0.01);
    expect(r.explanation).toMatch(/: pass, within the limit$/);
  });

  it('gates the p90 of the same samples when the metric names it', () => {
    const r = evaluateGate({ metric: 'latency.p90', maxIncreasePct: 3 }, { latency: { samples: latencies(5, 500, 54) } }, { latency: { samples: latencies(6, 500, 54) } });
    expect(r.status).toBe('pass');
    expect(r.baseline).toBeGreaterThan(54.3); // p90 of N(54, 0.54) ~ 54 + 1.28 * 0.54 = 54.69
  });
});

describe('accuracy, arena and throughput gates', () => {
  it('fails top-1 accuracy that drops 0.70 points against a 0.5-point limit (hand: 91.2% -> 90.5%)', () => {
    const r = evaluateGate({ metric: 'accuracy.top1', maxDropPoints: 0.5 }, { 'accuracy.top1': { correct: 912, total: 1000 } }, { 'accuracy.top1': { correct: 905, total: 1000 } });
    expect(r.status).toBe('fail');
    expect(r.changePoints).toBeCloseTo(-0.7, 10);
    expect(r.explanation).toBe('accuracy.top1 91.20% -> 90.50% (-0.70 points; 912/1000 -> 905/1000), limit -0.5 points: FAIL');
  });

  it('passes a drop of exactly the limit (not more than 0.5 points)', () => {
    const r = evaluateGate({ metric: 'accuracy.top1', maxDropPoints: 0.5 }, { 'accuracy.top1': { correct: 910, total: 1000 } }, { 'accuracy.top1': { correct: 905, total: 1000 } });
    expect(r.status).toBe('pass');
  });

  it('fails an arena that grows 5.91% against a 5% limit (hand: 86000 / 81200 - 1)', () => {
    const r = evaluateGate({ metric: 'arena.used', maxIncreasePct: 5 }, { 'arena.used': { value: 81200, unit: 'B' } }, { 'arena.used': { value: 86000, unit: 'B' } });
    expect(r.status).toBe('fail');
    expect(r.explanation).toBe('arena.used +5.91% (81200 B -> 86000 B), limit +5%: FAIL');
  });

  it('passes an arena that grows by exactly the limit (81200 -> 85260 is +5%)', () => {
    expect(evaluateGate({ metric: 'arena.used', maxIncreasePct: 5 }, { 'arena.used': { value: 81200 } }, { 'arena.used': { value: 85260 } }).status).toBe('pass');
  });

  it('gates a metric where lower is worse with maxDecreasePct', () => {
    const r = evaluateGate({ metric: 'throughput', maxDecreasePct: 2 }, { throughput: { value: 18.5 } }, { throughput: { value: 18.0 } });
    expect(r.status).toBe('fail');
    expect(r.explanation).toBe('throughput -2.70% (18.5 -> 18), limit -2%: FAIL');
  });
});

describe('evaluateGates', () => {
  const base: MetricSet = { latency: { samples: latencies(7, 100, 54) }, 'arena.used': { value: 81200 } };
  const cand: MetricSet = { latency: { samples: latencies(8, 100, 54) }, 'arena.used': { value: 81200 } };

  it('passes every gate with exit code 0', () => {
    const o = evaluateGates([latencyGate, { metric: 'arena.used', maxIncreasePct: 5 }], base, cand);
    expect(o).toMatchObject({ passed: 2, failed: 0, errors: 0, exitCode: 0 });
  });

  it('makes a metric nobody measured an error (exit code 2), not a silent pass', () => {
    const o = evaluateGates([latencyGate, { metric: 'accuracy.top1', maxDropPoints: 0.5 }], base, cand);
    expect(o.results[1]).toMatchObject({ status: 'error', explanation: 'accuracy.top1: metric accuracy.top1 was not measured in either run' });
    expect(o.exitCode).toBe(2);
  });

  it('refuses every gate when the runs are not comparable, naming the field', () => {
    const o = evaluateGates([latencyGate], base, cand, {
      fingerprints: { baseline: { cpuMhz: 240 }, candidate: { cpuMhz: 160 }, variantAxes: [] },
    });
    expect(o.results[0].status).toBe('error');
    expect(o.results[0].explanation).toMatch(/^latency\.median: not comparable: the fingerprints differ in cpuMhz \(baseline 240, candidate 160\)/);
  });

  it('reports malformed gates as errors with the fix', () => {
    expect(evaluateGate({ metric: 'latency.median', maxIncreasePct: 3, alpha: 5 }, base, cand).explanation).toBe(
      'latency.median: alpha 5 must be between 0 and 1 (e.g. 0.01)',
    );
    expect(evaluateGate({ metric: 'arena.used', maxIncreasePct: -1 }, base, cand).status).toBe('error');
    expect(evaluateGate({ metric: 'latency.median', maxDropPoints: 1 }, base, cand).explanation).toBe(
      'latency.median: a points gate needs correct/total counts or single values in both runs',
    );
  });
});
