import { describe, expect, it } from 'vitest';
import { LabError } from '../errors.js';
import { decodeNpy, encodeNpy } from './npy.js';

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('npy', () => {
  it('writes exactly what numpy.save writes', () => {
    // python3 -c "import numpy as np, io; b=io.BytesIO(); np.save(b, np.array([1,2,3],dtype='<i4')); print(b.getvalue())"
    // (numpy 2.4.6): a 118-byte header padded to a 128-byte data offset.
    const numpyBytes = "\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }"
      + ' '.repeat(60) + '\n\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00';
    expect(latin1(encodeNpy(Int32Array.of(1, 2, 3), [3]))).toBe(numpyBytes);
    const header = "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }" + ' '.repeat(58) + '\n';
    expect(latin1(encodeNpy(new Uint8Array(6), [2, 3])).slice(0, 128)).toBe(header);
  });

  it('round-trips every supported dtype and shape', () => {
    const cases = [
      new Uint8Array([0, 255, 7]), new Int8Array([-128, 127, 0]), new Int16Array([-32768, 5, 32767]),
      new Int32Array([-1, 2 ** 31 - 1, 0]), new Float32Array([0.5, -1.25, 3e-8]), new Float64Array([Math.PI, -0, 1e300]),
    ];
    for (const data of cases) {
      const back = decodeNpy(encodeNpy(data, [1, 3]));
      expect(back.shape).toEqual([1, 3]);
      expect(back.data.constructor).toBe(data.constructor);
      expect(Array.from(back.data)).toEqual(Array.from(data));
    }
    const big = new Uint8Array(2000 * 784).map((_, i) => i % 251);
    const back = decodeNpy(encodeNpy(big, [2000, 28, 28, 1]));
    expect(back.shape).toEqual([2000, 28, 28, 1]);
    expect(Buffer.compare(back.data as Uint8Array, big)).toBe(0);
  });

  it('rejects broken files with one sentence naming the file', () => {
    const good = encodeNpy(new Float32Array(4), [2, 2]);
    const attempts: [Uint8Array, RegExp][] = [
      [new Uint8Array([1, 2, 3]), /x\.npy: not a readable \.npy file: it does not start with/],
      [good.subarray(0, good.length - 1), /needs 16 data bytes but the file has 15/],
      [new Uint8Array(Buffer.from("\x93NUMPY\x01\x00\x30\x00{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 'latin1')), /dtype '<c8' is not supported/],
    ];
    // Make the third case's header length true to its text.
    const third = attempts[2][0];
    new DataView(third.buffer).setUint16(8, third.length - 10, true);
    for (const [bytes, message] of attempts) {
      let error: unknown;
      try { decodeNpy(bytes, 'x.npy'); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(LabError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('refuses to encode data that does not fill the shape', () => {
    expect(() => encodeNpy(new Uint8Array(5), [2, 3])).toThrow(/holds 6 elements but the data has 5/);
  });
});
