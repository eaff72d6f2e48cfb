/**
 * The eFuse image an emulated ESP32-S3 boots with (QEMU's `nvram.esp32s3.efuse` device reads it
 * from a 1024-byte file), and its MAC address.
 *
 * Layout, from ESP-IDF v5.3's tools/idf_py_actions/qemu_ext.py (the image `idf.py qemu` writes,
 * "Chip revision 0.3": one set byte, 0x0c at offset 38) and esptool's ESP32S3ROM field reads:
 * BLOCK0 is the first 24 bytes (6 words); BLOCK1 starts at byte 24. The chip revision's low minor
 * bits are BLOCK1 word 3 bits 18-20 (so byte 38 = 0x0c is minor 3); the factory MAC is BLOCK1
 * words 0-1: word 0 = MAC bytes 2..5, word 1 low half = MAC bytes 0..1, both little-endian words
 * (esptool: `struct.pack(">II", mac1, mac0)[2:]`).
 */
import { createHash } from 'node:crypto';

export const EFUSE_IMAGE_BYTES = 1024;
const BLOCK1 = 24;

/** A MAC for a board that has none in rigs.json: locally administered (0x02), from its id, stable. */
export function emulatedMac(boardId: string): string {
  const h = createHash('sha256').update(`hil emulated board ${boardId}`).digest();
  return ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

function macBytes(mac: string): number[] {
  const parts = mac.split(':').map((p) => Number.parseInt(p, 16));
  if (parts.length !== 6 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new TypeError(`not a MAC address: "${mac}"`);
  }
  if ((parts[0] & 1) === 1) throw new TypeError(`MAC ${mac} is a multicast address: a chip's base MAC is unicast`);
  return parts;
}

/** The eFuse image of an ESP32-S3 v0.3 with this base MAC. */
export function efuseImage(mac: string): Uint8Array {
  const m = macBytes(mac);
  const image = new Uint8Array(EFUSE_IMAGE_BYTES);
  const view = new DataView(image.buffer);
  view.setUint32(BLOCK1 + 0, ((m[2] << 24) | (m[3] << 16) | (m[4] << 8) | m[5]) >>> 0, true);
  view.setUint32(BLOCK1 + 4, (m[0] << 8) | m[1], true);
  image[38] = 0x0c; // chip revision v0.3, as idf.py qemu burns it
  return image;
}

/** The MAC an eFuse image holds (the inverse of efuseImage, for checks). */
export function macOfEfuseImage(image: Uint8Array): string {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const low = view.getUint32(BLOCK1, true);
  const high = view.getUint32(BLOCK1 + 4, true) & 0xffff;
  const bytes = [high >> 8, high & 0xff, low >>> 24, (low >> 16) & 0xff, (low >> 8) & 0xff, low & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
