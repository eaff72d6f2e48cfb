/**
 * Payload field readers and writers: little-endian integers, `str` (u8 length + UTF-8), sha256,
 * mac and the trailing `rest` bytes (PROTOCOL.md, conventions). Every read checks the payload's
 * bounds; every write checks the value's range, so a message the caller built wrong fails with
 * the field's name instead of putting garbage on the wire.
 */
import { ProtocolError } from './errors.js';
import { MAX_PAYLOAD } from './frame.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

export class PayloadWriter {
  private readonly buf = new Uint8Array(MAX_PAYLOAD);
  private readonly view = new DataView(this.buf.buffer);
  private pos = 0;

  constructor(private readonly what: string) {}

  u8(field: string, v: number): this {
    this.int(field, v, 0xff);
    this.room(field, 1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(field: string, v: number): this {
    this.int(field, v, 0xffff);
    this.room(field, 2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }

  u32(field: string, v: number): this {
    this.int(field, v, 0xffffffff);
    this.room(field, 4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
    return this;
  }

  /** A u64 held as a JS number: exact up to 2^53 (cycle sums of ~435 days at 240 MHz). */
  u64(field: string, v: number): this {
    this.int(field, v, Number.MAX_SAFE_INTEGER);
    this.room(field, 8);
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
    return this;
  }

  i32(field: string, v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) this.range(field, v, 'an i32');
    this.room(field, 4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
    return this;
  }

  f32(field: string, v: number): this {
    if (typeof v !== 'number') this.range(field, v, 'a number');
    this.room(field, 4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
    return this;
  }

  /**
   * u8 length + UTF-8. Longer than 255 bytes is the caller's bug, unless `cut` is set (error
   * messages): then the text is cut at the last character boundary that fits.
   */
  str(field: string, s: string, cut = false): this {
    if (typeof s !== 'string') this.range(field, s, 'a string');
    let raw = encoder.encode(s);
    if (raw.length > 255) {
      if (!cut) this.range(field, `${raw.length} bytes`, 'a string of at most 255 UTF-8 bytes');
      let n = 255;
      while (n > 0 && (raw[n] & 0xc0) === 0x80) n--; // raw[n] is where the cut lands: back off continuation bytes
      raw = raw.subarray(0, n);
    }
    this.u8(field, raw.length);
    return this.raw(field, raw);
  }

  sha256(field: string, hex: string): this {
    if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) this.range(field, hex, '64 lower-case hex digits');
    return this.raw(field, hexToBytes(hex));
  }

  mac(field: string, mac: string): this {
    if (typeof mac !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac)) this.range(field, mac, 'aa:bb:cc:dd:ee:ff');
    return this.raw(field, hexToBytes(mac.replaceAll(':', '')));
  }

  /** An enumeration: the value's index in `names`. */
  enumeration<T extends string>(field: string, v: T, names: readonly T[]): this {
    const code = names.indexOf(v);
    if (code < 0) this.range(field, v, `one of ${names.join(', ')}`);
    return this.u8(field, code);
  }

  raw(field: string, bytes: Uint8Array): this {
    if (!(bytes instanceof Uint8Array)) this.range(field, bytes, 'a Uint8Array');
    this.room(field, bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  private int(field: string, v: number, max: number): void {
    if (!Number.isInteger(v) || v < 0 || v > max) this.range(field, v, `an integer 0..${max}`);
  }

  private room(field: string, n: number): void {
    if (this.pos + n > MAX_PAYLOAD) {
      throw new ProtocolError('payload-too-large', `${this.what}: ${field} does not fit, the payload would exceed ${MAX_PAYLOAD} bytes`);
    }
  }

  private range(field: string, v: unknown, expected: string): never {
    throw new ProtocolError('field-range', `${this.what}: ${field} must be ${expected}, got ${String(v)}`);
  }
}

export class PayloadReader {
  private readonly view: DataView;
  private pos = 0;

  constructor(private readonly bytes: Uint8Array, private readonly what: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(field: string): number {
    this.need(field, 1);
    return this.bytes[this.pos++];
  }

  u16(field: string): number {
    this.need(field, 2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(field, 4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(field: string): number {
    this.need(field, 8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.bad(`${field} ${v} is beyond 2^53`);
    return Number(v);
  }

  i32(field: string): number {
    this.need(field, 4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f32(field: string): number {
    this.need(field, 4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  str(field: string): string {
    const n = this.u8(field);
    return decoder.decode(this.take(field, n));
  }

  sha256(field: string): string {
    return bytesToHex(this.take(field, 32));
  }

  mac(field: string): string {
    return Array.from(this.take(field, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
  }

  enumeration<T extends string>(field: string, names: readonly T[]): T {
    const code = this.u8(field);
    if (code >= names.length) this.bad(`${field} ${code} is not one of 0..${names.length - 1}`);
    return names[code];
  }

  /** All remaining bytes (a copy, so the message outlives the frame buffer). */
  rest(): Uint8Array {
    const out = this.bytes.slice(this.pos);
    this.pos = this.bytes.length;
    return out;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** The payload must end here: trailing bytes mean the sender and this codec disagree on the layout. */
  end(): void {
    if (this.pos !== this.bytes.length) this.bad(`${this.bytes.length - this.pos} bytes after the last field`);
  }

  bad(detail: string): never {
    throw new ProtocolError('bad-payload', `${this.what}: ${detail}`);
  }

  private take(field: string, n: number): Uint8Array {
    this.need(field, n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private need(field: string, n: number): void {
    if (this.pos + n > this.bytes.length) this.bad(`payload ends inside ${field}`);
  }
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Lower- or upper-case hex with an even number of digits; throws a `ProtocolError` otherwise. */
export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ProtocolError('field-range', `not an even number of hex digits: ${hex.slice(0, 40)}`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
