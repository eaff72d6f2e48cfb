/**
 * Build ESP32-S3 firmware images for tests and benches, byte for byte in the layout esptool's
 * elf2image writes (espressif/esptool `esptool/bin_image.py`, ESP32FirmwareImage.save): see
 * harness/flash/image.ts for the format. Only tests and benches use this; real images come from idf.py.
 */
import { createHash } from 'node:crypto';
import { APP_DESC_MAGIC, APP_DESC_SIZE, ESP_CHECKSUM_MAGIC, ESP_IMAGE_MAGIC, ESP32S3_CHIP_ID, IMAGE_HEADER_SIZE, SEGMENT_HEADER_SIZE } from '../image.js';

export interface SegmentSpec {
  loadAddress: number;
  data: Uint8Array;
}

export interface ImageSpec {
  segments: SegmentSpec[];
  entry: number;
  chipId?: number;
  flashMode?: number;
  /** Header byte 3: flash size code (high nibble) | frequency code (low nibble). */
  flashSizeFreq?: number;
  hashAppended?: boolean;
  minChipRevFull?: number;
  maxChipRevFull?: number;
}

/** elf2image pads every segment to 4 bytes. */
function pad4(data: Uint8Array): Uint8Array {
  if (data.length % 4 === 0) return data;
  const out = new Uint8Array(data.length + (4 - (data.length % 4)));
  out.set(data);
  return out;
}

export function buildEspImage(spec: ImageSpec): Uint8Array {
  const segments = spec.segments.map((s) => ({ loadAddress: s.loadAddress, data: pad4(s.data) }));
  const body = segments.reduce((n, s) => n + SEGMENT_HEADER_SIZE + s.data.length, 0);
  const beforeChecksum = IMAGE_HEADER_SIZE + body;
  const dataLength = beforeChecksum + (15 - (beforeChecksum % 16)) + 1;
  const hashAppended = spec.hashAppended ?? true;
  const out = new Uint8Array(dataLength + (hashAppended ? 32 : 0));
  const view = new DataView(out.buffer);
  out[0] = ESP_IMAGE_MAGIC;
  out[1] = segments.length;
  out[2] = spec.flashMode ?? 2; // dio
  out[3] = spec.flashSizeFreq ?? 0x3f; // 8MB, 80m
  view.setUint32(4, spec.entry, true);
  out[8] = 0xee; // WP pin disabled (esptool WP_PIN_DISABLED)
  view.setUint16(12, spec.chipId ?? ESP32S3_CHIP_ID, true);
  view.setUint16(15, spec.minChipRevFull ?? 0, true);
  view.setUint16(17, spec.maxChipRevFull ?? 99, true);
  out[23] = hashAppended ? 1 : 0;
  let pos = IMAGE_HEADER_SIZE;
  let checksum = ESP_CHECKSUM_MAGIC;
  for (const s of segments) {
    view.setUint32(pos, s.loadAddress, true);
    view.setUint32(pos + 4, s.data.length, true);
    out.set(s.data, pos + SEGMENT_HEADER_SIZE);
    for (const b of s.data) checksum ^= b;
    pos += SEGMENT_HEADER_SIZE + s.data.length;
  }
  out[dataLength - 1] = checksum;
  if (hashAppended) out.set(createHash('sha256').update(out.subarray(0, dataLength)).digest(), dataLength);
  return out;
}

export interface AppDescSpec {
  version: string;
  projectName: string;
  time: string;
  date: string;
  idfVersion: string;
  /** 32 bytes, hex. */
  appElfSha256: string;
  secureVersion?: number;
}

function putString(out: Uint8Array, at: number, max: number, s: string): void {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length >= max) throw new RangeError(`"${s}" does not fit ${max - 1} bytes of esp_app_desc_t`);
  out.set(bytes, at);
}

/** The 256-byte esp_app_desc_t (ESP-IDF `esp_app_desc.h`). */
export function buildAppDescription(spec: AppDescSpec): Uint8Array {
  const out = new Uint8Array(APP_DESC_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, APP_DESC_MAGIC, true);
  view.setUint32(4, spec.secureVersion ?? 0, true);
  putString(out, 16, 32, spec.version);
  putString(out, 48, 32, spec.projectName);
  putString(out, 80, 16, spec.time);
  putString(out, 96, 16, spec.date);
  putString(out, 112, 32, spec.idfVersion);
  const sha = Buffer.from(spec.appElfSha256, 'hex');
  if (sha.length !== 32) throw new RangeError('appElfSha256 must be 32 bytes of hex');
  out.set(sha, 144);
  view.setUint16(176, 0, true); // min_efuse_blk_rev_full
  view.setUint16(178, 199, true); // max_efuse_blk_rev_full (IDF default: v1.99)
  return out;
}

/**
 * Seeded bytes that compress like machine code (deflate keeps roughly 55-65 %), not like zeros or
 * noise: short literal runs from a skewed alphabet mixed with back-references to recent bytes.
 */
export function codeLikeBytes(length: number, seed: number): Uint8Array {
  let a = seed >>> 0;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Uint8Array(length);
  let i = 0;
  while (i < length) {
    if (i > 64 && rnd() < 0.3) {
      const len = Math.min(length - i, 3 + Math.floor(rnd() * 10));
      const from = i - 1 - Math.floor(rnd() * Math.min(i - 1, 2048));
      for (let k = 0; k < len; k++) out[i + k] = out[from + k]!;
      i += len;
    } else {
      const len = Math.min(length - i, 1 + Math.floor(rnd() * 6));
      for (let k = 0; k < len; k++) out[i + k] = rnd() < 0.25 ? Math.floor(rnd() * 256) : Math.floor(rnd() * rnd() * 64);
      i += len;
    }
  }
  return out;
}
