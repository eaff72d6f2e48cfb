import { describe, expect, it } from 'vitest';
import { adjustPValues, benjaminiHochberg, holm } from './multiple-comparisons.js';

// Benjamini & Hochberg (1995), section 4.3: the 15 p-values of Neuhaus et al.'s thrombolysis
// trial. At level 0.05 their procedure rejects the 4 smallest; Bonferroni-type procedures
// (Holm here) reject only 3 (0.0095 > 0.05 / 12 = 0.00417).
const neuhaus = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1.0];

describe('multiple-comparison correction', () => {
  it('rejects 4 of the 15 Neuhaus p-values with Benjamini-Hochberg and 3 with Holm, as in the 1995 paper', () => {
    expect(benjaminiHochberg(neuhaus).rejected.filter(Boolean).length).toBe(4);
    expect(holm(neuhaus).rejected.filter(Boolean).length).toBe(3);
    // BH: p(4) * 15 / 4 = 0.035625 <= 0.05 and p(5) * 15 / 5 = 0.0603 > 0.05 (hand).
    expect(benjaminiHochberg(neuhaus).adjusted[3]).toBeCloseTo(0.035625, 12);
  });

  it('gives the hand-computed adjusted p-values of 0.01 0.04 0.03 0.005 in the input order', () => {
    // Holm: sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06.
    expect(holm([0.01, 0.04, 0.03, 0.005]).adjusted.map((p) => +p.toFixed(12))).toEqual([0.03, 0.06, 0.06, 0.02]);
    // BH: 0.005*4/1 = 0.02, 0.01*4/2 = 0.02, 0.03*4/3 = 0.04, 0.04*4/4 = 0.04 -> running min from the top.
    expect(benjaminiHochberg([0.01, 0.04, 0.03, 0.005]).adjusted.map((p) => +p.toFixed(12))).toEqual([0.02, 0.04, 0.04, 0.02]);
  });

  it('caps at 1, keeps a single test unchanged, and leaves out NaN with a warning', () => {
    expect(holm([0.5, 0.6]).adjusted).toEqual([1, 1]);
    expect(adjustPValues([0.03], 'holm').adjusted).toEqual([0.03]);
    const r = adjustPValues([0.01, Number.NaN, 0.02], 'benjamini-hochberg', 0.05);
    expect(r.adjusted[0]).toBeCloseTo(0.02, 12);
    expect(Number.isNaN(r.adjusted[1])).toBe(true);
    expect(r.rejected).toEqual([true, false, true]);
    expect(r.warnings).toEqual(['1 of 3 p-values were missing or outside [0, 1] and were left out of the correction']);
  });
});
