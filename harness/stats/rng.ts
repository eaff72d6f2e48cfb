/**
 * Seeded PRNG for everything random in the statistics (bootstrap, permutation tests), so a report
 * rebuilt from the journal shows exactly the same intervals and p-values.
 *
 * Generator: xoshiro128** 1.1 (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 47(4), 2021; reference `xoshiro128starstar.c` at prng.di.unimi.it):
 * 128-bit state, period 2^128 - 1, passes BigCrush, and needs only 32-bit operations, which
 * JavaScript does natively (`Math.imul`, `>>>`). The state is filled from the seed by SplitMix64
 * (Steele, Lea & Flood, OOPSLA 2014; `splitmix64.c` at the same site), as its authors recommend,
 * so nearby seeds (1, 2, 3) still give unrelated streams.
 */

export interface Rng {
  /** Next raw 32-bit output, an unsigned integer in [0, 2^32). */
  nextUint32(): number;
  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number;
  /**
   * Uniform integer in [0, n) for 1 <= n <= 2^32, as floor(u32 * n / 2^32). Its bias is at most
   * n / 2^32 relative (2e-4 for n = 1e6): irrelevant for resampling, and branch-free.
   */
  nextInt(n: number): number;
}

const MASK64 = (1n << 64n) - 1n;

/** SplitMix64 step: returns [next state, output]. BigInt is fine here: it runs twice per seeding. */
export function splitMix64(state: bigint): [bigint, bigint] {
  const s = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [s, z ^ (z >> 31n)];
}

/** The xoshiro128** generator from an explicit 4-word state (not all zero). */
export function xoshiro128ssFromState(state: readonly [number, number, number, number]): Rng {
  let s0 = state[0] >>> 0;
  let s1 = state[1] >>> 0;
  let s2 = state[2] >>> 0;
  let s3 = state[3] >>> 0;
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is the generator's one fixed point
  const nextUint32 = (): number => {
    // result = rotl(s1 * 5, 7) * 9
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    return result;
  };
  return {
    nextUint32,
    next(): number {
      const hi = nextUint32() >>> 5; // 27 bits
      const lo = nextUint32() >>> 6; // 26 bits
      return (hi * 67108864 + lo) / 9007199254740992;
    },
    nextInt(n: number): number {
      return Math.floor((nextUint32() / 4294967296) * n);
    },
  };
}

/** A generator seeded from any integer (the seed's low 64 bits through SplitMix64). */
export function createRng(seed: number): Rng {
  let st = BigInt.asUintN(64, BigInt(Math.trunc(Number.isFinite(seed) ? seed : 0)));
  const words: number[] = [];
  for (let i = 0; i < 2; i++) {
    const [next, out] = splitMix64(st);
    st = next;
    words.push(Number(out & 0xffffffffn), Number(out >> 32n));
  }
  return xoshiro128ssFromState([words[0], words[1], words[2], words[3]]);
}
