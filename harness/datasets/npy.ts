/**
 * NumPy `.npy` files (format version 1.0 / 2.0), the lab's container for labelled input sets:
 * every tool a lab user has (numpy, the TFLite Python converter's representative datasets) reads
 * and writes them. Format: numpy `lib/format.py` (NEP 1): magic `\x93NUMPY`, major, minor, a
 * little-endian header length (u16 in 1.0, u32 in 2.0), an ASCII Python dict literal with
 * `descr`, `fortran_order` and `shape`, padded with spaces and a newline so the data starts on a
 * 64-byte boundary, then the raw C-order data.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { LabError } from '../errors.js';

export type NpyDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export type NpyData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy `descr` strings (little-endian; one-byte types use `|`) for the dtypes the lab stores. */
const DESCR: Record<NpyDType, string> = {
  uint8: '|u1', int8: '|i1', int16: '<i2', int32: '<i4', float32: '<f4', float64: '<f8',
};
const DTYPE_BY_DESCR = new Map<string, NpyDType>(
  Object.entries(DESCR).map(([dtype, descr]) => [descr, dtype as NpyDType]),
);
// numpy also writes `<u1` / `<i1` for one-byte types in some versions.
DTYPE_BY_DESCR.set('<u1', 'uint8');
DTYPE_BY_DESCR.set('<i1', 'int8');

function bytesPerElement(dtype: NpyDType): number {
  return { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 }[dtype];
}

function dtypeOf(data: NpyData): NpyDType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

/** Encodes an array as a version 1.0 `.npy` file. */
export function encodeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`encodeNpy: shape [${shape.join(', ')}] holds ${count} elements but the data has ${data.length}`);
  }
  const dtype = dtypeOf(data);
  // A one-element tuple needs its trailing comma in Python syntax: (5,)
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Like numpy.save (lib/format.py `_write_array_header`): spare room for the first axis to grow
  // to 21 digits, then pad to the 64-byte alignment, so the lab's files are byte-identical to numpy's.
  if (shape.length > 0) header += ' '.repeat(Math.max(0, 21 - String(shape[0]).length));
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(MAGIC.length + 4 + headerBytes.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1; // major
  out[7] = 0; // minor
  new DataView(out.buffer).setUint16(8, headerBytes.length, true);
  out.set(headerBytes, 10);
  // Typed arrays are little-endian on every platform Node runs the lab on (x86-64, arm64).
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + headerBytes.length);
  return out;
}

export function writeNpy(path: string, data: NpyData, shape: readonly number[]): void {
  writeFileSync(path, encodeNpy(data, shape));
}

/** Decodes a `.npy` file; `source` names it in errors. Copies the data so it is aligned. */
export function decodeNpy(bytes: Uint8Array, source = 'array.npy'): NpyArray {
  const fail = (why: string): never => {
    throw new LabError('input-format', `${source}: not a readable .npy file: ${why}; write it with numpy.save (C order, little-endian ${Object.keys(DESCR).join('/')})`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('it does not start with \\x93NUMPY');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail('the header is truncated');
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    return fail(`format version ${major} is unknown`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) fail(`the header says ${headerLength} bytes but the file has ${bytes.length}`);
  const header = new TextDecoder().decode(bytes.subarray(headerStart, dataStart));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) return fail(`header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape`);
  if (fortran === 'True') fail('it is in Fortran order');
  const dtype = DTYPE_BY_DESCR.get(descr);
  if (dtype === undefined) return fail(`dtype '${descr}' is not supported`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) return fail(`shape (${shapeText}) is not a list of sizes`);
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLength = count * bytesPerElement(dtype);
  if (dataStart + byteLength !== bytes.length) {
    fail(`shape (${shape.join(', ')}) of ${descr} needs ${byteLength} data bytes but the file has ${bytes.length - dataStart}`);
  }
  // A copy (Buffer#slice would share the pool), which also aligns the data for the typed array.
  const raw = new Uint8Array(bytes.subarray(dataStart, dataStart + byteLength)).buffer;
  const data: NpyData = {
    uint8: () => new Uint8Array(raw), int8: () => new Int8Array(raw), int16: () => new Int16Array(raw),
    int32: () => new Int32Array(raw), float32: () => new Float32Array(raw), float64: () => new Float64Array(raw),
  }[dtype]();
  return { dtype, shape, data };
}

export function readNpy(path: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new LabError('input-missing', `${path}: cannot read the .npy file (${(e as NodeJS.ErrnoException).code ?? String(e)}); check the path`, { cause: e });
  }
  return decodeNpy(bytes, path);
}
