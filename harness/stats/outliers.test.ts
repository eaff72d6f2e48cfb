import { describe, expect, it } from 'vitest';
import { detectOutliers } from './outliers.js';

describe('detectOutliers (Iglewicz & Hoaglin modified z-score, 3.5)', () => {
  it('finds the one outlier in -0.2 0 0.2 4 (hand: median 0.1, MAD 0.2, M = 0.6745 * 3.9 / 0.2 = 13.2)', () => {
    // Case from hyperfine's outlier_detection.rs tests; the scores are computed by hand here.
    const r = detectOutliers([-0.2, 0.0, 0.2, 4.0]);
    expect(r.median).toBeCloseTo(0.1, 12);
    expect(r.mad).toBeCloseTo(0.2, 12);
    expect(r.count).toBe(1);
    expect(r.indices).toEqual([3]);
    expect(r.high).toBe(1);
  });

  it('finds 0.5 among 0.30 0.29 0.31 0.30 (median 0.30, MAD 0.01, M = 13.5) and flags nothing at M = 0.67', () => {
    const r = detectOutliers([0.5, 0.3, 0.29, 0.31, 0.3]);
    expect(r.indices).toEqual([0]);
    // 0.29 and 0.31: |M| = 0.6745 * 0.01 / 0.01 = 0.6745 < 3.5.
    expect(r.count).toBe(1);
  });

  it('finds no outlier in 10 normal draws and the two planted ones (20, -500) once added', () => {
    // Hand: median 0.2226, MAD 1.1925, largest |M| = 0.6745 * 2.110 / 1.1925 = 1.19.
    const normal = [2.33269488, 1.42195907, -0.57527698, -0.31293437, 2.2948158, 0.75813273, -1.0712388, -0.96394741, -1.15897446, 1.10976285];
    expect(detectOutliers(normal).count).toBe(0);
    const planted = detectOutliers([...normal, 20, -500]);
    expect(planted.indices).toEqual([10, 11]);
    expect(planted.low).toBe(1);
    expect(planted.high).toBe(1);
  });

  it('uses the 3.5 cut-off exactly: M = 3.5 is not an outlier, just above is', () => {
    // Data 0 x3, +-1 each side gives median 0, MAD 1 (|x| sorted: 0 0 0 1 1 1 1 ... ).
    const base = [-1, -1, 0, 0, 0, 1, 1];
    const atCut = 3.5 / 0.6745;
    expect(detectOutliers([...base, atCut]).count).toBe(0);
    expect(detectOutliers([...base, atCut * 1.0001]).count).toBe(1);
  });

  it('skips detection with a warning when MAD is zero but samples really differ', () => {
    // Example from stats.stackexchange.com/q/339932 (hyperfine counts 1 outlier by using epsilon).
    const r = detectOutliers([10, 10, 10, 10, 10, 10, 10, 100]);
    expect(r.skipped).toBe(true);
    expect(r.count).toBe(0);
    expect(r.warnings).toEqual([
      'MAD is zero (more than half the samples equal 10): outlier detection skipped, although 1 of 8 samples differ, by up to 90',
    ]);
  });

  it('stays quiet when MAD is zero and the differences are below 1% of the median (a cycle counter tick)', () => {
    const r = detectOutliers([54000, 54000, 54000, 54000, 54000, 54001, 53999]);
    expect(r.skipped).toBe(true);
    expect(r.warnings).toEqual([]);
  });

  it('stays quiet for a few outliers in many samples (hyperfine #528) and warns past 5%', () => {
    const steady = Array.from({ length: 200 }, (_, i) => 100 + (i % 10) * 0.1);
    const fewSpikes = [...steady, 150, 150];
    const r = detectOutliers(fewSpikes);
    expect(r.count).toBe(2);
    expect(r.warnings).toEqual([]);
    const manySpikes = [...steady, ...new Array<number>(20).fill(150)];
    const m = detectOutliers(manySpikes);
    expect(m.count).toBe(20);
    // Hand: 220 sorted values, ranks 110/111 are both 100.5 (each of 100.0..100.9 occurs 20
    // times), so the spikes sit 49.5 away = 49.25% of the median.
    expect(m.warnings).toEqual([
      '20 of 220 samples (9.09%) are outliers (|modified z-score| > 3.5), up to 49.5 from the median (49.3% of the median): something disturbed the board during the trial',
    ]);
  });

  it('stays quiet when the outliers are statistically clear but tiny (hyperfine #580)', () => {
    // Spread ~0.001%, "outliers" 0.05% away: real by the score, meaningless for a report.
    const xs = [...Array.from({ length: 90 }, (_, i) => 1000 + (i % 3) * 0.01), ...new Array<number>(10).fill(1000.5)];
    const r = detectOutliers(xs);
    expect(r.count).toBe(10);
    expect(r.warnings).toEqual([]);
  });

  it('reports positions in the caller\'s array even when non-finite values are skipped', () => {
    const r = detectOutliers([1, Number.NaN, 1.1, 0.9, 1, 1.05, 0.95, 50]);
    expect(r.indices).toEqual([7]);
    expect(r.warnings[0]).toMatch(/^1 samples were not finite/);
  });
});
