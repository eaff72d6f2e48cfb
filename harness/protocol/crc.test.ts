import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc16, crc32 } from './crc.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('protocol checksums', () => {
  it('match the published check values of CRC-32/ISO-HDLC and CRC-16/CCITT-FALSE', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc16(ascii('123456789'))).toBe(0x29b1);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc16(new Uint8Array(0))).toBe(0xffff);
  });

  it('CRC-32 equals zlib.crc32 on random buffers and sub-ranges', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    for (let n = 0; n < 200; n++) {
      const buf = Uint8Array.from({ length: rand() % 5000 }, () => rand() & 0xff);
      expect(crc32(buf)).toBe(zlibCrc32(buf));
      const a = buf.length ? rand() % buf.length : 0;
      expect(crc32(buf, a, buf.length)).toBe(zlibCrc32(buf.subarray(a)));
    }
  });
});
