/**
 * `SimFlash`: a simulated board's SPI NOR flash, kept in one sparse file per board so it survives
 * restarts of the simulator (the same file is opened again).
 *
 * NOR semantics, as on the real chip: erased bytes read 0xFF, erasing works on whole 4 KB sectors,
 * programming can only clear bits (new = old AND data), so writing without erasing first corrupts -
 * which is why the ROM loader erases on FLASH_BEGIN (esptool docs, serial-protocol.rst "Writing Data").
 *
 * Storage trick: the file holds the flash **inverted** (byte = ~flash). A sparse file's holes read as
 * 0x00, i.e. as erased 0xFF flash, so a fresh 16 MB board costs no disk until something is written.
 * Read the file through SimFlash (or invert it), not with a hex dump.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { LabError } from '../errors.js';

export const FLASH_SECTOR_SIZE = 0x1000;
export const FLASH_BLOCK_SIZE = 0x10000;
export const FLASH_PAGE_SIZE = 0x100;

/** A flash access outside the chip, or an erase not on sector boundaries: the caller's bug or a bad request. */
export class FlashRangeError extends RangeError {
  override readonly name = 'FlashRangeError';
}

const CHUNK = 1 << 20;

function invert(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = ~bytes[i]! & 0xff;
  return out;
}

export class SimFlash {
  private fd: number | undefined;
  /** Fault injection: sectors that no longer erase (worn-out NOR), keyed by sector start address. */
  private readonly badSectors = new Set<number>();
  /** Counters for tests and benches: bytes programmed and sectors erased since open. */
  readonly stats = { bytesProgrammed: 0, sectorsErased: 0 };

  private constructor(
    readonly path: string,
    readonly size: number,
    fd: number,
  ) {
    this.fd = fd;
  }

  /**
   * Open (or create) the flash file of a board. `size` comes from the board profile (e.g. 8 or 16 MB);
   * an existing file of another size is refused, because silently resizing would lose or invent data.
   */
  static open(path: string, size: number): SimFlash {
    if (!Number.isInteger(size) || size < FLASH_BLOCK_SIZE || size % FLASH_BLOCK_SIZE !== 0 || size > 256 * 1024 * 1024) {
      throw new LabError('sim-flash', `flash size ${size} for ${path} is not a whole number of 64 KB blocks between 64 KB and 256 MB: fix the board profile's flash size (e.g. 8 MB = 8388608)`);
    }
    const existed = existsSync(path);
    let fd: number;
    try {
      fd = openSync(path, existed ? 'r+' : 'w+');
    } catch (e) {
      throw new LabError('sim-flash', `cannot open the simulated flash file ${path}: ${(e as Error).message}`, { cause: e });
    }
    const actual = fstatSync(fd).size;
    if (existed && actual !== size) {
      closeSync(fd);
      throw new LabError('sim-flash', `simulated flash file ${path} holds ${actual} bytes but the board profile says ${size}: delete the file (the board's flash is lost) or fix the profile's flash size`);
    }
    if (!existed) ftruncateSync(fd, size); // sparse: all holes, i.e. all erased
    return new SimFlash(path, size, fd);
  }

  /** JEDEC ID as the SPI RDID (0x9f) command returns it: manufacturer, memory type, capacity (log2 of bytes). */
  get jedecId(): number {
    const GIGADEVICE = 0xc8;
    const MEMORY_TYPE = 0x40;
    return GIGADEVICE | (MEMORY_TYPE << 8) | (Math.log2(this.size) << 16);
  }

  read(address: number, length: number): Uint8Array {
    this.check(address, length, 'read');
    const stored = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.handle(), stored, done, Math.min(CHUNK, length - done), address + done);
      if (n === 0) break; // cannot happen within size; holes read as zeros
      done += n;
    }
    return invert(stored);
  }

  /** Program bytes: bits can only go from 1 to 0 (NOR), so an unerased area ends up as old AND data. */
  program(address: number, data: Uint8Array): void {
    this.check(address, data.length, 'program');
    if (data.length === 0) return;
    const old = this.read(address, data.length);
    const stored = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) stored[i] = ~(old[i]! & data[i]!) & 0xff;
    writeSync(this.handle(), stored, 0, stored.length, address);
    this.stats.bytesProgrammed += data.length;
  }

  /** Alias of `program` (NOR write semantics). */
  write(address: number, data: Uint8Array): void {
    this.program(address, data);
  }

  /**
   * Fault injection: the sector holding `address` stops erasing (a worn-out NOR sector keeps its
   * bits), so data written there later is ANDed with the old contents - what a flasher's MD5 check
   * after writing exists to catch.
   */
  markBadSector(address: number): void {
    this.check(address, 1, 'markBadSector');
    this.badSectors.add(address - (address % FLASH_SECTOR_SIZE));
  }

  eraseSector(address: number): void {
    this.eraseRange(address, FLASH_SECTOR_SIZE);
  }

  /** Erase whole sectors: `address` and `length` must be multiples of 4 KB. */
  eraseRange(address: number, length: number): void {
    if (address % FLASH_SECTOR_SIZE !== 0 || length % FLASH_SECTOR_SIZE !== 0) {
      throw new FlashRangeError(`erase of 0x${address.toString(16)}+0x${length.toString(16)} is not on 4 KB sector boundaries`);
    }
    this.check(address, length, 'erase');
    this.saveBadSectors(address, length);
    const zeros = new Uint8Array(Math.min(CHUNK, length));
    for (let done = 0; done < length; done += zeros.length) {
      writeSync(this.handle(), zeros, 0, Math.min(zeros.length, length - done), address + done);
    }
    // Bad sectors keep what they held: write their old contents back (rare; only under fault injection).
    for (const bad of this.badSectors) {
      if (bad >= address && bad < address + length) this.restoreSector(bad);
    }
    this.stats.sectorsErased += length / FLASH_SECTOR_SIZE;
  }

  private readonly badSectorContents = new Map<number, Uint8Array>();

  private saveBadSectors(address: number, length: number): void {
    for (const bad of this.badSectors) {
      if (bad >= address && bad < address + length) {
        const stored = new Uint8Array(FLASH_SECTOR_SIZE);
        readSync(this.handle(), stored, 0, FLASH_SECTOR_SIZE, bad);
        this.badSectorContents.set(bad, stored);
      }
    }
  }

  private restoreSector(bad: number): void {
    const stored = this.badSectorContents.get(bad);
    if (stored) writeSync(this.handle(), stored, 0, FLASH_SECTOR_SIZE, bad);
  }

  eraseAll(): void {
    this.eraseRange(0, this.size);
  }

  md5(address: number, length: number): Uint8Array {
    this.check(address, length, 'md5');
    const hash = createHash('md5');
    for (let done = 0; done < length; done += CHUNK) {
      hash.update(this.read(address + done, Math.min(CHUNK, length - done)));
    }
    return new Uint8Array(hash.digest());
  }

  md5Hex(address: number, length: number): string {
    return Buffer.from(this.md5(address, length)).toString('hex');
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private handle(): number {
    if (this.fd === undefined) throw new Error(`SimFlash ${this.path} is closed`);
    return this.fd;
  }

  private check(address: number, length: number, what: string): void {
    if (!Number.isInteger(address) || !Number.isInteger(length) || address < 0 || length < 0 || address + length > this.size) {
      throw new FlashRangeError(`${what} of 0x${address.toString(16)}+0x${length.toString(16)} is outside the ${this.size / (1024 * 1024)} MB flash`);
    }
  }
}
