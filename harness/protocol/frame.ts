/**
 * Frames of the board protocol and the streaming decoder that finds them in a serial byte stream
 * full of boot banners and ESP-IDF log lines (firmware/protocol/PROTOCOL.md sections 1 and 2).
 * The C++ decoder in firmware/components/hil_protocol follows the same rules, and both are
 * checked against firmware/protocol/golden/streams.json.
 */
import { crc16, crc32 } from './crc.js';
import { ProtocolError } from './errors.js';

export const SYNC0 = 0xf5;
export const SYNC1 = 0xa5;
export const HEADER_SIZE = 12;
export const CRC_SIZE = 4;
export const MAX_PAYLOAD = 4096;
export const MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE;
/** Longer log lines are emitted in pieces of this many bytes. */
export const MAX_LINE = 1024;
export const PROTOCOL_VERSION = 1;

export const FrameFlag = {
  /** Set by a simulated board on every frame: its numbers are modelled, not measured. */
  SIMULATED: 0x01,
  /** More reply frames for this request follow. */
  MORE: 0x02,
} as const;

export interface Frame {
  version: number;
  /** Message type code (`MessageType` in messages.ts). */
  type: number;
  flags: number;
  requestId: number;
  payload: Uint8Array;
}

/** The complete bytes of one frame. Throws a `ProtocolError` for fields out of range. */
export function encodeFrame(frame: Frame): Uint8Array {
  const { version, type, flags, requestId, payload } = frame;
  checkByte('version', version);
  checkByte('type', type);
  checkByte('flags', flags);
  if (!Number.isInteger(requestId) || requestId < 0 || requestId > 0xffff) {
    throw new ProtocolError('field-range', `frame requestId must be an integer 0..65535, got ${requestId}`);
  }
  if (payload.length > MAX_PAYLOAD) {
    throw new ProtocolError('payload-too-large', `frame payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  }
  const out = new Uint8Array(HEADER_SIZE + payload.length + CRC_SIZE);
  out[0] = SYNC0;
  out[1] = SYNC1;
  out[2] = version;
  out[3] = type;
  out[4] = flags;
  out[5] = 0;
  putU16(out, 6, requestId);
  putU16(out, 8, payload.length);
  putU16(out, 10, crc16(out, 0, 10));
  out.set(payload, HEADER_SIZE);
  const end = HEADER_SIZE + payload.length;
  putU32(out, end, crc32(out, 0, end));
  return out;
}

/**
 * Exactly one frame, nothing before or after it: what an MQTT message on `lab/<board>/cmd|evt`
 * holds (PROTOCOL.md section 6). Throws a `ProtocolError` naming what is wrong.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < HEADER_SIZE + CRC_SIZE) {
    throw new ProtocolError('truncated', `a frame has at least ${HEADER_SIZE + CRC_SIZE} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== SYNC0 || bytes[1] !== SYNC1) {
    throw new ProtocolError('bad-header', `a frame starts with f5 a5, got ${hexByte(bytes[0])} ${hexByte(bytes[1])}`);
  }
  if (crc16(bytes, 0, 10) !== getU16(bytes, 10)) throw new ProtocolError('bad-header', 'frame header CRC-16 mismatch');
  const length = getU16(bytes, 8);
  if (length > MAX_PAYLOAD) throw new ProtocolError('oversize', `frame announces ${length} payload bytes, more than ${MAX_PAYLOAD}`);
  const total = HEADER_SIZE + length + CRC_SIZE;
  if (bytes.length < total) throw new ProtocolError('truncated', `frame needs ${total} bytes, got ${bytes.length}`);
  if (bytes.length > total) throw new ProtocolError('trailing-bytes', `${bytes.length - total} bytes after the frame`);
  if (crc32(bytes, 0, HEADER_SIZE + length) !== getU32(bytes, HEADER_SIZE + length)) {
    throw new ProtocolError('crc', 'frame CRC-32 mismatch');
  }
  return headerOf(bytes, bytes.slice(HEADER_SIZE, HEADER_SIZE + length));
}

export type DecodeErrorReason = 'bad-header' | 'oversize' | 'crc' | 'truncated';

export type DecoderEvent =
  | { kind: 'frame'; frame: Frame }
  /** One line of board log text, without its line terminator. */
  | { kind: 'log'; line: string }
  /**
   * A rejected frame candidate. `type` and `requestId` are there when its header passed its CRC
   * (oversize, crc, truncated after the header), so a board can answer that request at once.
   */
  | { kind: 'error'; reason: DecodeErrorReason; type?: number; requestId?: number };

export interface DecoderStats {
  frames: number;
  logLines: number;
  headerErrors: number;
  oversize: number;
  crcErrors: number;
  truncated: number;
}

const LF = 0x0a;
const CR = 0x0d;
const utf8 = new TextDecoder('utf-8'); // not fatal: invalid bytes become U+FFFD, as PROTOCOL.md says

/**
 * Splits a byte stream into frames and log lines. Feed it chunks as they arrive (split or merged
 * anywhere); call `flush()` at end of stream or when the link has been idle (~100 ms) so a frame
 * cut short is reported and a line without its newline comes out. It never holds more than one
 * frame (4112 bytes) and one line (1024 bytes).
 */
export class FrameDecoder {
  private readonly cand = new Uint8Array(MAX_FRAME);
  private candLen = 0;
  private readonly line = new Uint8Array(MAX_LINE);
  private lineLen = 0;
  private out: DecoderEvent[] = [];
  private readonly counters: DecoderStats = {
    frames: 0, logLines: 0, headerErrors: 0, oversize: 0, crcErrors: 0, truncated: 0,
  };

  /** Decodes `chunk` and returns the events it completed, in stream order. */
  push(chunk: Uint8Array): DecoderEvent[] {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.candLen === 0) {
        const j = chunk.subarray(i).indexOf(SYNC0);
        const end = j < 0 ? n : i + j;
        if (end > i) this.text(chunk, i, end);
        if (j < 0) break;
        this.cand[0] = SYNC0;
        this.candLen = 1;
        i = end + 1;
      } else {
        const take = Math.min(this.needed() - this.candLen, n - i);
        this.cand.set(chunk.subarray(i, i + take), this.candLen);
        this.candLen += take;
        i += take;
      }
      this.check();
    }
    return this.drain();
  }

  /** Ends a pending frame candidate (a `truncated` error) and a pending partial line. */
  flush(): DecoderEvent[] {
    while (this.candLen > 0) {
      if (this.candLen >= 2) {
        // check() has run, so bytes 0-1 are the sync pair and a complete header passed its CRC.
        if (this.candLen >= HEADER_SIZE) this.error('truncated', this.cand[3], getU16(this.cand, 6));
        else this.error('truncated');
        this.rescan(2);
      } else {
        this.text(this.cand, 0, 1);
        this.candLen = 0;
      }
      this.check();
    }
    if (this.lineLen > 0) this.endLine(true);
    return this.drain();
  }

  get stats(): Readonly<DecoderStats> {
    return { ...this.counters };
  }

  /** Bytes held between calls (a partial frame and a partial line): at most MAX_FRAME + MAX_LINE. */
  get bufferedBytes(): number {
    return this.candLen + this.lineLen;
  }

  /** Bytes the current candidate needs before the next check. */
  private needed(): number {
    if (this.candLen < 2) return 2;
    if (this.candLen < HEADER_SIZE) return HEADER_SIZE;
    return HEADER_SIZE + getU16(this.cand, 8) + CRC_SIZE; // header already validated by check()
  }

  /** Judges the candidate as far as its bytes allow (PROTOCOL.md section 2, rules 2-4). */
  private check(): void {
    const c = this.cand;
    for (;;) {
      const len = this.candLen;
      if (len < 2) return;
      if (c[1] !== SYNC1) {
        this.text(c, 0, 1);
        this.rescan(1);
        continue;
      }
      if (len < HEADER_SIZE) return;
      if (crc16(c, 0, 10) !== getU16(c, 10)) {
        this.error('bad-header');
        this.rescan(2);
        continue;
      }
      const length = getU16(c, 8);
      if (length > MAX_PAYLOAD) {
        this.error('oversize', c[3], getU16(c, 6));
        this.rescan(2);
        continue;
      }
      const total = HEADER_SIZE + length + CRC_SIZE;
      if (len < total) return;
      if (crc32(c, 0, HEADER_SIZE + length) !== getU32(c, HEADER_SIZE + length)) {
        this.error('crc', c[3], getU16(c, 6));
        this.rescan(2);
        continue;
      }
      this.counters.frames++;
      this.out.push({ kind: 'frame', frame: headerOf(c, c.slice(HEADER_SIZE, HEADER_SIZE + length)) });
      this.rescan(total);
    }
  }

  /** Drops `cand[0, from)` and scans the rest again: text up to the next 0xF5, which starts a new candidate. */
  private rescan(from: number): void {
    const len = this.candLen;
    const rest = this.cand.subarray(from, len);
    const j = rest.indexOf(SYNC0);
    if (j < 0) {
      if (len > from) this.text(this.cand, from, len);
      this.candLen = 0;
      return;
    }
    if (j > 0) this.text(this.cand, from, from + j);
    this.cand.copyWithin(0, from + j, len);
    this.candLen = len - from - j;
  }

  private text(src: Uint8Array, start: number, end: number): void {
    let i = start;
    while (i < end) {
      const k = src.subarray(i, end).indexOf(LF);
      const stop = k < 0 ? end : i + k;
      this.appendLine(src, i, stop);
      if (k < 0) return;
      this.endLine(true);
      i = stop + 1;
    }
  }

  private appendLine(src: Uint8Array, start: number, end: number): void {
    let i = start;
    while (i < end) {
      if (this.lineLen === MAX_LINE) this.endLine(false);
      const n = Math.min(end - i, MAX_LINE - this.lineLen);
      this.line.set(src.subarray(i, i + n), this.lineLen);
      this.lineLen += n;
      i += n;
    }
  }

  private endLine(stripCr: boolean): void {
    let n = this.lineLen;
    if (stripCr && n > 0 && this.line[n - 1] === CR) n--;
    this.counters.logLines++;
    this.out.push({ kind: 'log', line: utf8.decode(this.line.subarray(0, n)) });
    this.lineLen = 0;
  }

  private error(reason: DecodeErrorReason, type?: number, requestId?: number): void {
    if (reason === 'bad-header') this.counters.headerErrors++;
    else if (reason === 'oversize') this.counters.oversize++;
    else if (reason === 'crc') this.counters.crcErrors++;
    else this.counters.truncated++;
    this.out.push(type === undefined ? { kind: 'error', reason } : { kind: 'error', reason, type, requestId });
  }

  private drain(): DecoderEvent[] {
    const events = this.out;
    this.out = [];
    return events;
  }
}

function headerOf(bytes: Uint8Array, payload: Uint8Array): Frame {
  return { version: bytes[2], type: bytes[3], flags: bytes[4], requestId: getU16(bytes, 6), payload };
}

function checkByte(field: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) {
    throw new ProtocolError('field-range', `frame ${field} must be an integer 0..255, got ${v}`);
  }
}

function hexByte(v: number): string {
  return v.toString(16).padStart(2, '0');
}

function getU16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}

function getU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function putU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}
