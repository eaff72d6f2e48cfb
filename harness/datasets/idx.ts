/**
 * IDX files (the MNIST / Fashion-MNIST container, http://yann.lecun.com/exdb/mnist/): a big-endian
 * header - two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions - then one
 * u32 per dimension, then the data in C order. Debian ships them gzipped.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { LabError } from '../errors.js';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Decodes an (uncompressed) IDX file of unsigned bytes; `source` names it in errors. */
export function decodeIdx(bytes: Uint8Array, source: string): IdxArray {
  const fail = (why: string): never => {
    throw new LabError('dataset-format', `${source}: not an IDX file of unsigned bytes: ${why}; reinstall the dataset package`);
  };
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) fail('bad magic');
  if (bytes[2] !== 0x08) fail(`element type 0x${bytes[2].toString(16)} is not 0x08 (unsigned byte)`);
  const dims = bytes[3];
  const dataStart = 4 + 4 * dims;
  if (dims === 0 || bytes.length < dataStart) fail('truncated header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < dims; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== dataStart + count) fail(`shape [${shape.join(', ')}] needs ${count} bytes of data, the file has ${bytes.length - dataStart}`);
  return { shape, data: bytes.subarray(dataStart) };
}

/** Reads a gzipped (`.gz`) or plain IDX file. */
export function readIdxFile(path: string): IdxArray {
  const raw = readFileSync(path);
  let bytes: Uint8Array = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = gunzipSync(raw);
    } catch (e) {
      throw new LabError('dataset-format', `${path}: the gzip stream is corrupt (${(e as Error).message}); reinstall the dataset package`, { cause: e });
    }
  }
  return decodeIdx(bytes, path);
}
