/**
 * The person_detect test images in the form the model takes (int8 [1, 96, 96, 1]):
 * - tflite-micro's `person.bmp` / `no_person.bmp`: 8-bit BMP, rows stored bottom-up, pixel data at
 *   the offset in the header; the bytes are already int8 values (FACTS.md, ../shared README);
 * - esp-tflite-micro's `sample_images/imageN`: raw 96x96 uint8, top-down; XOR 0x80 gives int8.
 */
import { readFileSync } from 'node:fs';
import { LabError } from '../../errors.js';

/** An 8-bit greyscale BMP as int8 pixels, top row first. */
export function readBmpInt8(path: string): { width: number; height: number; pixels: Int8Array } {
  const b = readFileSync(path);
  if (b.length < 54 || b.toString('latin1', 0, 2) !== 'BM') throw new LabError('image-format', `${path}: not a BMP file`);
  const offset = b.readUInt32LE(10);
  const width = b.readInt32LE(18);
  const rawHeight = b.readInt32LE(22);
  const bits = b.readUInt16LE(28);
  if (bits !== 8) throw new LabError('image-format', `${path}: ${bits}-bit BMP; an 8-bit greyscale BMP is expected`);
  const height = Math.abs(rawHeight);
  const rowBytes = Math.ceil(width / 4) * 4; // rows are padded to 4 bytes
  if (offset + rowBytes * height > b.length) throw new LabError('image-format', `${path}: pixel data is truncated`);
  const pixels = new Int8Array(width * height);
  for (let y = 0; y < height; y++) {
    // A positive height means bottom-up rows.
    const src = offset + (rawHeight > 0 ? height - 1 - y : y) * rowBytes;
    for (let x = 0; x < width; x++) pixels[y * width + x] = (b[src + x] << 24) >> 24;
  }
  return { width, height, pixels };
}

/** A raw uint8 greyscale image shifted to int8 (x ^ 0x80 = x - 128). */
export function readRawUint8AsInt8(path: string, expectedSize: number): Int8Array {
  const b = readFileSync(path);
  if (b.length !== expectedSize) throw new LabError('image-format', `${path}: ${b.length} bytes; ${expectedSize} expected`);
  return Int8Array.from(b, (v) => ((v ^ 0x80) << 24) >> 24);
}
