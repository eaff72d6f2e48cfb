/**
 * Non-uniform random variates the fast bootstrap needs, drawn from the lab's seeded Rng.
 *
 * - Normal: Marsaglia's polar method (Marsaglia & Bray, SIAM Review 6(3), 1964).
 * - Gamma(a >= 1): Marsaglia & Tsang, "A simple method for generating gamma variables",
 *   ACM TOMS 26(3), 2000 (the squeeze 1 - 0.0331 x^4 and the log test are theirs). Exact (a
 *   rejection method), ~1.02 normals per variate for any a, so cost does not grow with a.
 * - Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b) (Devroye, Non-Uniform Random
 *   Variate Generation, 1986, ch. IX.4).
 * - Order statistics of uniforms: U(k) of n ~ Beta(k, n - k + 1), and given U(k) = u the remaining
 *   n - k values are iid uniform on (u, 1) (Devroye 1986, ch. V.2), so U(k+1) = u + (1 - u) * (1 -
 *   V^(1/(n-k))). This is what lets the bootstrap draw a resample's median without the resample.
 */
import type { Rng } from './rng.js';

export function normalVariate(rng: Rng): number {
  for (;;) {
    const u = 2 * rng.next() - 1;
    const v = 2 * rng.next() - 1;
    const s = u * u + v * v;
    if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
  }
}

/** Gamma(shape, 1) for shape >= 1. */
export function gammaVariate(rng: Rng, shape: number): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normalVariate(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next(); // (0, 1]
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) for a, b >= 1. */
export function betaVariate(rng: Rng, a: number, b: number): number {
  const x = gammaVariate(rng, a);
  const y = gammaVariate(rng, b);
  return x / (x + y);
}

/**
 * The k-th and (k+1)-th smallest of n iid Uniform(0, 1) values (1 <= k < n), drawn jointly in
 * O(1). Returns [U(k), U(k+1)]; with k = n only U(n) is meaningful and the second equals it.
 */
export function uniformOrderPair(rng: Rng, n: number, k: number): [number, number] {
  const uk = betaVariate(rng, k, n - k + 1);
  if (k >= n) return [uk, uk];
  const v = 1 - rng.next(); // (0, 1]
  // 1 - v^(1/m) computed as -expm1(log(v)/m): no cancellation when m is large.
  const gap = -Math.expm1(Math.log(v) / (n - k));
  return [uk, uk + (1 - uk) * gap];
}
