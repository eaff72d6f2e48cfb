import { describe, expect, it } from 'vitest';
import { createRng, splitMix64, xoshiro128ssFromState } from './rng.js';

describe('seeded PRNG (xoshiro128** seeded by SplitMix64)', () => {
  it('produces the xoshiro128** outputs computed by hand from state [1, 2, 3, 4]', () => {
    // Output 1: rotl(2 * 5, 7) * 9 = 1280 * 9 = 11520. Then t = 2 << 9 = 1024, s2 = 3^1 = 2,
    // s3 = 4^2 = 6, s1 = 2^2 = 0, s0 = 1^6 = 7, s2 = 2^1024 = 1026, s3 = rotl(6, 11) = 12288.
    // Output 2: rotl(0 * 5, 7) * 9 = 0. State -> [12295, 1029, 1029, 25165824];
    // output 3: rotl(1029 * 5, 7) * 9 = 658560 * 9 = 5927040. (The reference C code of
    // prng.di.unimi.it, compiled here, prints the same three and then 70819200.)
    const r = xoshiro128ssFromState([1, 2, 3, 4]);
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([11520, 0, 5927040, 70819200]);
  });

  it('seeds through SplitMix64, whose first outputs from 0 are the published e220a8397b1dcdaf, 6e789e6aa1b965f4', () => {
    const [s1, o1] = splitMix64(0n);
    const [, o2] = splitMix64(s1);
    expect(o1.toString(16)).toBe('e220a8397b1dcdaf');
    expect(o2.toString(16)).toBe('6e789e6aa1b965f4');
  });

  it('repeats a stream for the same seed and gives another one for the next seed', () => {
    const a = createRng(1);
    const b = createRng(1);
    const c = createRng(2);
    const sa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it('draws uniform doubles in [0, 1) and integers in [0, n) without bias a test of 1e5 draws can see', () => {
    const r = createRng(99);
    let sum = 0;
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      counts[r.nextInt(10)]++;
    }
    expect(sum / 100_000).toBeCloseTo(0.5, 2);
    // Each count ~ Binomial(1e5, 0.1): sd 95, so +-500 is more than 5 sd.
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });
});
