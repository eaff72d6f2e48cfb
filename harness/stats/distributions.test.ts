import { describe, expect, it } from 'vitest';
import { binomialHalfCdf, logChoose, normalCdf, normalQuantile, normalSf, twoSidedP } from './distributions.js';

describe('normal distribution', () => {
  it('matches Abramowitz & Stegun Table 26.1/26.5 values', () => {
    expect(normalSf(1.96)).toBeCloseTo(0.0249978952, 7);
    expect(normalSf(3)).toBeCloseTo(0.0013498980, 8);
    expect(normalCdf(-1)).toBeCloseTo(0.1586552539, 7);
    expect(normalSf(-1)).toBeCloseTo(0.8413447461, 7);
    // Far tail keeps relative accuracy: P(Z > 6) = 9.8659e-10.
    expect(normalSf(6) / 9.8658765e-10).toBeCloseTo(1, 4);
    expect(twoSidedP(-1.96)).toBeCloseTo(0.0499957904, 7);
  });

  it('inverts the cdf: z(0.975) = 1.959963985, z(0.995) = 2.575829304, z(0.5) = 0', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 6);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.959963985, 6);
    expect(normalQuantile(0.995)).toBeCloseTo(2.575829304, 6);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(1e-9)).toBeCloseTo(-5.997807015, 5);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(normalQuantile(1.5))).toBe(true);
  });
});

describe('binomial(n, 1/2) cdf', () => {
  it('is exact for small n: P(B <= 1 | n = 10) = 11/1024, P(B <= 2) = 56/1024', () => {
    expect(binomialHalfCdf(1, 10)).toBeCloseTo(11 / 1024, 15);
    expect(binomialHalfCdf(2, 10)).toBeCloseTo(56 / 1024, 15);
    expect(binomialHalfCdf(-1, 10)).toBe(0);
    expect(binomialHalfCdf(10, 10)).toBe(1);
  });

  it('switches to the normal approximation above n = 1000 without a visible jump', () => {
    // Lower 2.5% tails near n = 1000: exact at 1000 vs approximation at 1001.
    const exact = binomialHalfCdf(468, 1000);
    const approx = binomialHalfCdf(468, 1001);
    expect(Math.abs(exact - approx)).toBeLessThan(0.004);
  });

  it('computes log C(n, k): C(10, 3) = 120', () => {
    expect(Math.exp(logChoose(10, 3))).toBeCloseTo(120, 9);
    expect(logChoose(5, 6)).toBe(Number.NEGATIVE_INFINITY);
  });
});
