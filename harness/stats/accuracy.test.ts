import { describe, expect, it } from 'vitest';
import { argmax, bitExactness, confusionMatrix, rankOf, topKAccuracy, topOneAgreement, wilsonInterval } from './accuracy.js';

describe('wilsonInterval', () => {
  it('reproduces Newcombe (1998) Table I, method 3 (Wilson without continuity correction)', () => {
    const cases: Array<[number, number, number, number]> = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0.0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ];
    for (const [s, n, lo, hi] of cases) {
      const w = wilsonInterval(s, n);
      expect(w.lower).toBeCloseTo(lo, 4);
      expect(w.upper).toBeCloseTo(hi, 4);
      expect(w.estimate).toBe(s / n);
    }
  });

  it('ends exactly at 1 for a perfect score and widens for 99% confidence', () => {
    const perfect = wilsonInterval(20, 20);
    expect(perfect.upper).toBe(1);
    expect(perfect.lower).toBeCloseTo(1 - 0.1611, 4); // mirror of 0/20
    expect(wilsonInterval(81, 263, 0.99).lower).toBeLessThan(0.2553);
  });

  it('gives NaN with a reason instead of throwing for no inputs or impossible counts', () => {
    expect(wilsonInterval(0, 0).warnings).toEqual(['no inputs: no accuracy']);
    expect(wilsonInterval(5, 3).warnings).toEqual(['5 of 3 is not a valid count of successes']);
  });
});

describe('top-k accuracy', () => {
  it('counts top-1 and top-2 hits by hand', () => {
    const scores = [
      [0.1, 0.7, 0.2], // label 1: rank 1
      [0.5, 0.3, 0.2], // label 1: rank 2
      [0.2, 0.3, 0.5], // label 0: rank 3
      [0.3, 0.3, 0.4], // label 1: tied with class 0, which has the lower index: rank 3
    ];
    const labels = [1, 1, 0, 1];
    expect(topKAccuracy(scores, labels, 1)).toMatchObject({ successes: 1, total: 4, k: 1 });
    expect(topKAccuracy(scores, labels, 2)).toMatchObject({ successes: 2, total: 4, k: 2 });
    expect(rankOf(scores[3], 1)).toBe(3);
    expect(argmax(scores[3])).toBe(2);
  });

  it('makes rank 1 agree with argmax on tied int8 outputs (first index wins)', () => {
    const tied = Int8Array.from([-128, 127, 127, 0]);
    expect(argmax(tied)).toBe(1);
    expect(rankOf(tied, 1)).toBe(1);
    expect(rankOf(tied, 2)).toBe(2);
  });

  it('leaves out labels that are not a class index, with a warning', () => {
    const r = topKAccuracy([[1, 0], [0, 1], [1, 0]], [0, 5, 0.5]);
    expect(r).toMatchObject({ successes: 1, total: 1 });
    expect(r.warnings).toEqual(['2 labels were not a class index of their output and were left out']);
  });
});

describe('confusionMatrix', () => {
  it('puts true labels in rows and predictions in columns, with recall and precision by hand', () => {
    const m = confusionMatrix([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 0, 2]);
    expect(m.matrix).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
    expect(m.correct).toBe(4);
    expect(m.perClass[0]).toEqual({ support: 2, recall: 0.5, precision: 0.5 });
    expect(m.perClass[1]).toEqual({ support: 2, recall: 1, precision: 2 / 3 });
    expect(m.perClass[2]).toEqual({ support: 2, recall: 0.5, precision: 1 });
  });

  it('keeps a class that was never predicted (precision NaN) and skips invalid entries', () => {
    const m = confusionMatrix([0, 1, 1], [0, 0, -1], 2);
    expect(m.matrix).toEqual([[1, 0], [1, 0]]);
    expect(Number.isNaN(m.perClass[1].precision)).toBe(true);
    expect(m.warnings).toEqual(['1 inputs had a label or prediction outside 0..1 and were left out']);
  });
});

describe('topOneAgreement (int8 vs float)', () => {
  it('counts the inputs whose top-1 agree and lists the others', () => {
    const float = [[0.1, 0.9], [0.8, 0.2], [0.45, 0.55]];
    const int8 = [Int8Array.from([-100, 100]), Int8Array.from([90, -90]), Int8Array.from([5, -5])];
    const r = topOneAgreement(int8, float);
    expect(r.successes).toBe(2);
    expect(r.total).toBe(3);
    expect(r.disagreeing).toEqual([2]);
  });
});

describe('bitExactness', () => {
  const ref = [
    { name: 'person_score', dtype: 'int8' as const, data: Int8Array.from([-113, 113]) },
    { name: 'probs', dtype: 'float32' as const, data: Float32Array.from([0.25, 0.75]) },
  ];

  it('passes when every element matches (FACTS.md: person_detect gives [-113, 113])', () => {
    const r = bitExactness(ref.map((t) => ({ ...t, data: Array.from(t.data) })), ref);
    expect(r).toMatchObject({ bitExact: true, tensors: 2, tensorsDiffering: 0, elements: 4, elementsDiffering: 0, maxStepDifference: 0 });
    expect(r.warnings).toEqual([]);
  });

  it('counts a +-1 LSB difference in quantized steps and names its likely cause', () => {
    const board = [{ ...ref[0], data: Int8Array.from([-112, 113]) }, ref[1]];
    const r = bitExactness(board, ref);
    expect(r).toMatchObject({ bitExact: false, tensorsDiffering: 1, elementsDiffering: 1, maxStepDifference: 1 });
    expect(r.firstDifference).toEqual({ tensor: 0, name: 'person_score', index: 0, board: -112, reference: -113 });
    expect(r.warnings).toEqual([
      '1 of 2 output tensors differ from the host reference in 1 of 4 elements, up to 1 quantized step (+-1 step: the signature of requantization without nudge, e.g. ESP-NN built with NN_SKIP_NUDGE)',
    ]);
  });

  it('measures float differences relatively and all-zero outputs (esp-tflite-micro #108) in steps', () => {
    const board = [{ ...ref[0], data: Int8Array.from([0, 0]) }, { ...ref[1], data: Float32Array.from([0.25, 0.6]) }];
    const r = bitExactness(board, ref);
    expect(r.tensorsDiffering).toBe(2);
    expect(r.maxStepDifference).toBe(113);
    expect(r.maxRelativeDifference).toBeCloseTo(0.15 / 0.75, 6);
    expect(r.warnings[0]).toBe('2 of 2 output tensors differ from the host reference in 3 of 4 elements, up to 113 quantized steps and up to 20% relative');
  });

  it('accepts float outputs within the float tolerance, says they are not identical, and keeps integers exact', () => {
    // What the real firmware gave for the demo's float CNN in QEMU: softmax outputs 5.7e-6 relative off.
    const host = [{ name: 'probs', dtype: 'float32' as const, data: Float32Array.from([0.9, 0.09, 0.01]) }];
    const near = [{ ...host[0], data: Float32Array.from([0.9 * (1 + 5.7e-6), 0.09, 0.01]) }];
    const r = bitExactness(near, host);
    expect(r).toMatchObject({ bitExact: true, tensorsDiffering: 0, elementsDiffering: 0, toleratedElements: 1 });
    expect(r.maxRelativeDifference).toBeGreaterThan(5e-6);
    expect(r.warnings).toEqual([
      '1 of 3 float output elements are not identical to the host reference but within the float tolerance (|board - host| <= 0.000001 + 0.00001 x |host|), up to 0.000570% relative: float kernels are not bit-exact across compilers and FPUs',
    ]);
    const far = bitExactness([{ ...host[0], data: Float32Array.from([0.9 * (1 + 1e-3), 0.09, 0.01]) }], host);
    expect(far).toMatchObject({ bitExact: false, tensorsDiffering: 1, toleratedElements: 0 });
    expect(bitExactness([{ ...ref[0], data: Int8Array.from([-113, 112]) }, ref[1]], ref).bitExact).toBe(false);
  });

  it('reports a missing tensor or element instead of throwing', () => {
    const r = bitExactness([{ ...ref[0], data: Int8Array.from([-113]) }], ref);
    expect(r.tensorsDiffering).toBe(2);
    expect(r.warnings.slice(0, 2)).toEqual([
      'the board returned 1 output tensors, the reference 2',
      'output 0 (person_score): the board returned 1 elements, the reference 2',
    ]);
  });
});
