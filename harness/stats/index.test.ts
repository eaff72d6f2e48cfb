import { describe, expect, it } from 'vitest';
import * as stats from './index.js';

describe('harness/stats public API', () => {
  it('exports the functions other parts of the lab use', () => {
    const names = [
      'summarize', 'createRng', 'bootstrapCI', 'bootstrapMedianCI', 'bootstrapQuantileCI', 'bootstrapRatioCI',
      'detectOutliers', 'detectWarmup', 'mannWhitney', 'hodgesLehmann', 'compareSamples', 'compareTrials',
      'holm', 'benjaminiHochberg', 'adjustPValues', 'compareAcrossBoards', 'vanElteren', 'checkComparable',
      'detectChangePoints', 'evaluateGate', 'evaluateGates', 'exitCodeFor', 'wilsonInterval', 'topKAccuracy',
      'confusionMatrix', 'topOneAgreement', 'bitExactness', 'argmax', 'summarizeMemory', 'medianInterval',
      'shouldStopSampling',
    ];
    for (const n of names) expect(typeof (stats as Record<string, unknown>)[n], n).toBe('function');
  });

  it('runs a trial through summary, outliers, warm-up, interval and comparison without a warning', () => {
    const rng = stats.createRng(1);
    const trial = Array.from({ length: 500 }, () => 54 + rng.next());
    const other = Array.from({ length: 500 }, () => 54 + rng.next());
    expect(stats.summarize(trial).warnings).toEqual([]);
    expect(stats.detectOutliers(trial).warnings).toEqual([]);
    expect(stats.detectWarmup(trial).warnings).toEqual([]);
    expect(stats.bootstrapMedianCI(trial).warnings).toEqual([]);
    expect(stats.compareSamples(trial, other).warnings).toEqual([]);
  });
});
