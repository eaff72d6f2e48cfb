import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FlashRangeError, SimFlash } from './flash-memory.js';
import { LabError } from '../errors.js';

const MB = 1024 * 1024;
const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'simflash-'));
  dirs.push(dir);
  return path.join(dir, 'board0.flash');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SimFlash', () => {
  it('starts erased (0xFF) in a sparse file of the profile size', () => {
    const file = tempFile();
    const flash = SimFlash.open(file, 16 * MB);
    try {
      expect(statSync(file).size).toBe(16 * MB);
      // Sparse: a fresh 16 MB flash occupies (almost) no disk blocks.
      expect(statSync(file).blocks * 512).toBeLessThan(64 * 1024);
      expect([...flash.read(0x123456, 8)]).toEqual(new Array(8).fill(0xff));
      expect(flash.md5Hex(0, 4096)).toBe(createHash('md5').update(Buffer.alloc(4096, 0xff)).digest('hex'));
      expect(flash.jedecId).toBe(0x1840c8); // GigaDevice, 16 MB (2^24)
    } finally {
      flash.close();
    }
  });

  it('programs like NOR flash: bits only clear until the sector is erased', () => {
    const flash = SimFlash.open(tempFile(), 8 * MB);
    try {
      flash.program(0x1000, Uint8Array.of(0xf0, 0x0f, 0xaa));
      expect([...flash.read(0x1000, 3)]).toEqual([0xf0, 0x0f, 0xaa]);
      flash.program(0x1000, Uint8Array.of(0x3c, 0xff, 0x55)); // without erase: AND
      expect([...flash.read(0x1000, 3)]).toEqual([0x30, 0x0f, 0x00]);
      flash.eraseSector(0x1000);
      expect([...flash.read(0x1000, 3)]).toEqual([0xff, 0xff, 0xff]);
      expect(flash.stats).toEqual({ bytesProgrammed: 6, sectorsErased: 1 });
    } finally {
      flash.close();
    }
  });

  it('can be given a sector that no longer erases (fault injection)', () => {
    const flash = SimFlash.open(tempFile(), 1 * MB);
    try {
      flash.program(0x2000, Uint8Array.of(0x0f, 0xf0));
      flash.markBadSector(0x2abc);
      flash.eraseRange(0x1000, 0x3000);
      expect([...flash.read(0x2000, 2)]).toEqual([0x0f, 0xf0]); // kept its bits
      flash.program(0x2000, Uint8Array.of(0xff, 0x3c));
      expect([...flash.read(0x2000, 2)]).toEqual([0x0f, 0x30]);
    } finally {
      flash.close();
    }
  });

  it('keeps its contents across a restart of the simulator (same file)', () => {
    const file = tempFile();
    const data = new Uint8Array(10_000).map((_, i) => (i * 7) & 0xff);
    const first = SimFlash.open(file, 8 * MB);
    first.program(0x10000, data);
    const md5 = first.md5Hex(0x10000, data.length);
    first.close();
    const again = SimFlash.open(file, 8 * MB);
    try {
      expect(Buffer.from(again.read(0x10000, data.length)).equals(Buffer.from(data))).toBe(true);
      expect(again.md5Hex(0x10000, data.length)).toBe(md5);
      expect(md5).toBe(createHash('md5').update(data).digest('hex'));
    } finally {
      again.close();
    }
  });

  it('refuses an existing file of another size, naming the file and the fix', () => {
    const file = tempFile();
    SimFlash.open(file, 8 * MB).close();
    expect(() => SimFlash.open(file, 16 * MB)).toThrow(LabError);
    expect(() => SimFlash.open(file, 16 * MB)).toThrow(/board0\.flash holds 8388608 bytes but the board profile says 16777216/);
    expect(() => SimFlash.open(tempFile(), 1000)).toThrow(/not a whole number of 64 KB blocks/);
  });

  it('rejects accesses outside the chip and erases off sector boundaries', () => {
    const flash = SimFlash.open(tempFile(), 1 * MB);
    try {
      expect(() => flash.read(MB - 2, 4)).toThrow(FlashRangeError);
      expect(() => flash.program(MB, Uint8Array.of(1))).toThrow(/outside the 1 MB flash/);
      expect(() => flash.eraseRange(0x800, 0x1000)).toThrow(/sector boundaries/);
      flash.eraseAll();
      expect(flash.stats.sectorsErased).toBe(256);
    } finally {
      flash.close();
    }
  });
});
