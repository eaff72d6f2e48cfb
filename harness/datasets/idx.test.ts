import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeIdx, readIdxFile } from './idx.js';

/** An IDX file of unsigned bytes, built by hand from the format description. */
function idx(shape: number[], data: number[]): Uint8Array {
  const head = new Uint8Array(4 + 4 * shape.length);
  head[2] = 0x08;
  head[3] = shape.length;
  shape.forEach((d, i) => new DataView(head.buffer).setUint32(4 + 4 * i, d, false));
  return new Uint8Array([...head, ...data]);
}

describe('IDX files', () => {
  it('decodes shape (big-endian) and data', () => {
    const out = decodeIdx(idx([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 'x');
    expect(out.shape).toEqual([2, 2, 3]);
    expect(Array.from(out.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(decodeIdx(idx([300], new Array(300).fill(9)), 'x').shape).toEqual([300]);
  });

  it('reads gzipped and plain files alike', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hil-idx-'));
    const bytes = idx([3], [7, 8, 9]);
    writeFileSync(path.join(dir, 'a.gz'), gzipSync(bytes));
    writeFileSync(path.join(dir, 'a'), bytes);
    expect(Array.from(readIdxFile(path.join(dir, 'a.gz')).data)).toEqual([7, 8, 9]);
    expect(Array.from(readIdxFile(path.join(dir, 'a')).data)).toEqual([7, 8, 9]);
    writeFileSync(path.join(dir, 'bad.gz'), gzipSync(bytes).subarray(0, 12));
    expect(() => readIdxFile(path.join(dir, 'bad.gz'))).toThrow(/bad\.gz: the gzip stream is corrupt/);
  });

  it('names the file and the problem when it is not an IDX byte file', () => {
    expect(() => decodeIdx(idx([2, 2], [1, 2, 3]), 'labels.idx')).toThrow(/labels\.idx: .*shape \[2, 2\] needs 4 bytes of data, the file has 3/);
    const floats = idx([1], [0]);
    floats[2] = 0x0d;
    expect(() => decodeIdx(floats, 'f.idx')).toThrow(/element type 0xd is not 0x08/);
    expect(() => decodeIdx(new Uint8Array([0, 0, 8, 3, 0]), 'short.idx')).toThrow(/truncated header/);
  });
});
