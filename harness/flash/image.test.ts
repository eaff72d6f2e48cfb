import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { applyFlashSettings, imageProblems, parseEspImage } from './image.js';
import { buildAppDescription, buildEspImage } from './testing/build-image.js';
import { LabError } from '../errors.js';

const SHA = 'ab'.repeat(32);

function app(): Uint8Array {
  const desc = buildAppDescription({ version: 'v2.1.0', projectName: 'tinyml_bench', time: '10:11:12', date: 'Mar  3 2025', idfVersion: 'v5.3.2', appElfSha256: SHA });
  const drom = new Uint8Array(1000);
  drom.set(desc, 0);
  return buildEspImage({
    entry: 0x40375a3c,
    segments: [
      { loadAddress: 0x3c000020, data: drom },
      { loadAddress: 0x40374000, data: Uint8Array.from({ length: 301 }, (_, i) => i * 13) },
    ],
  });
}

describe('parseEspImage', () => {
  it('reads the header, the segments and the esp_app_desc_t at offset 32', () => {
    const bytes = app();
    const image = parseEspImage(bytes, 'build/app.bin');
    expect(image.header).toMatchObject({ segmentCount: 2, chipId: 9, flashMode: 2, flashSizeCode: 0x30, flashFreqCode: 0xf, entry: 0x40375a3c, hashAppended: true });
    expect(image.segments).toEqual([
      { loadAddress: 0x3c000020, dataOffset: 32, length: 1000 },
      { loadAddress: 0x40374000, dataOffset: 1040, length: 304 }, // padded to 4 bytes
    ]);
    expect(image.dataLength % 16).toBe(0); // checksum is the last byte of a 16-byte line
    expect(image.imageLength).toBe(bytes.length);
    expect(imageProblems(image)).toEqual([]);
    expect(image.calculatedDigest).toBe(createHash('sha256').update(bytes.subarray(0, image.dataLength)).digest('hex'));
    expect(image.app).toEqual({
      secureVersion: 0, version: 'v2.1.0', projectName: 'tinyml_bench', time: '10:11:12', date: 'Mar  3 2025',
      idfVersion: 'v5.3.2', appElfSha256: SHA, minEfuseBlkRevFull: 0, maxEfuseBlkRevFull: 199,
    });
  });

  it('reports a flipped bit as a checksum and digest problem', () => {
    const bytes = app();
    bytes[1100] ^= 1;
    const problems = imageProblems(parseEspImage(bytes, 'app.bin'));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/image checksum is 0x.. but its segments sum to 0x../);
    expect(problems[1]).toMatch(/appended SHA-256/);
  });

  it('refuses what is not an image, naming the file', () => {
    expect(() => parseEspImage(new Uint8Array(10), 'model.bin')).toThrow(LabError);
    expect(() => parseEspImage(Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, ...new Array(40).fill(0)]), 'firmware.elf')).toThrow(/firmware\.elf is not a valid ESP32 firmware image: it starts with 0x7f, not the image magic 0xe9/);
    const truncated = app().subarray(0, 500);
    expect(() => parseEspImage(truncated, 'app.bin')).toThrow(/segment 0 \(1000 bytes at offset 32\) is past the end of the file/);
  });
});

describe('applyFlashSettings', () => {
  it('rewrites mode and size/freq in the header and refreshes the appended SHA-256', () => {
    const bytes = app();
    const out = applyFlashSettings(bytes, { flashMode: 'qio', flashFreq: '40m', flashSize: '16MB' }, 'bootloader.bin');
    expect(out[2]).toBe(0);
    expect(out[3]).toBe(0x40);
    expect(imageProblems(parseEspImage(out, 'bootloader.bin'))).toEqual([]);
    expect(bytes[3]).toBe(0x3f); // input untouched
  });

  it('returns the same bytes when nothing changes', () => {
    const bytes = app();
    expect(applyFlashSettings(bytes, { flashMode: 'dio', flashFreq: '80m', flashSize: 'keep' }, 'b.bin')).toBe(bytes);
  });
});
