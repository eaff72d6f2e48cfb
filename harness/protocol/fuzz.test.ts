/**
 * Fuzzing the decoder the way a bad serial line does: random bytes, frames with flipped, dropped
 * and inserted bytes, frames cut short by a reset, junk and log lines, in random chunks. Seeded,
 * so a failure names a seed that reproduces it.
 */
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import {
  type DecoderEvent, type Frame, FrameDecoder, HEADER_SIZE, MAX_FRAME, MAX_LINE, MAX_PAYLOAD, SYNC0, SYNC1,
  encodeFrame,
} from './frame.js';
import { loadGoldenMessages } from './golden.js';
import { BODY_TYPE_CODES, decodeBody, decodeMessage, encodeBody } from './messages.js';
import { bytesToHex, hexToBytes } from './wire.js';

/** mulberry32: small, fast, good enough to drive a fuzzer. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feeds `bytes` in random chunks, checking the memory bound after every chunk. */
function decodeRandomly(bytes: Uint8Array, rand: () => number, maxChunk: number): { events: DecoderEvent[]; decoder: FrameDecoder } {
  const decoder = new FrameDecoder();
  const events: DecoderEvent[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(rand() * maxChunk);
    events.push(...decoder.push(bytes.subarray(at, at + n)));
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(MAX_FRAME + MAX_LINE);
    at += n;
  }
  events.push(...decoder.flush());
  expect(decoder.bufferedBytes).toBe(0);
  return { events, decoder };
}

function errorCount(events: DecoderEvent[]): number {
  return events.filter((e) => e.kind === 'error').length;
}

function checkStats(events: DecoderEvent[], decoder: FrameDecoder): void {
  const s = decoder.stats;
  expect(s.frames).toBe(events.filter((e) => e.kind === 'frame').length);
  expect(s.logLines).toBe(events.filter((e) => e.kind === 'log').length);
  expect(s.headerErrors + s.oversize + s.crcErrors + s.truncated).toBe(errorCount(events));
}

function randomFrame(rand: () => number, maxPayload: number): Frame {
  const payload = Uint8Array.from({ length: Math.floor(rand() * (maxPayload + 1)) }, () => Math.floor(rand() * 256));
  return { version: 1, type: Math.floor(rand() * 256), flags: Math.floor(rand() * 4), requestId: Math.floor(rand() * 65536), payload };
}

/** One corruption a serial line can cause, never touching the two sync bytes (those make text). */
function corrupt(frame: Uint8Array, rand: () => number): Uint8Array {
  const at = 2 + Math.floor(rand() * (frame.length - 2));
  switch (Math.floor(rand() * 4)) {
    case 0: { // flip one bit
      const out = frame.slice();
      out[at] ^= 1 << Math.floor(rand() * 8);
      return out;
    }
    case 1: // drop one byte (UART overrun)
      return concat([frame.subarray(0, at), frame.subarray(at + 1)]);
    case 2: // insert one byte (noise)
      return concat([frame.subarray(0, at), Uint8Array.of(Math.floor(rand() * 256)), frame.subarray(at)]);
    default: // cut short (reset mid-frame)
      return frame.subarray(0, at);
  }
}

function asciiLine(rand: () => number, i: number): string {
  const n = Math.floor(rand() * 80);
  let s = `I (${i}) fuzz: `;
  for (let k = 0; k < n; k++) s += String.fromCharCode(32 + Math.floor(rand() * 95));
  return s;
}

describe('decoder fuzz', () => {
  it('survives 2 MB of random bytes in random chunks: no crash, bounded memory, no frame invented', () => {
    const rand = rng(1);
    const bytes = Uint8Array.from({ length: 2_000_000 }, () => Math.floor(rand() * 256));
    const { events, decoder } = decodeRandomly(bytes, rand, 5000);
    checkStats(events, decoder);
    expect(decoder.stats.frames).toBe(0); // a false frame needs CRC-16 and CRC-32 to collide: 2^-48
    expect(decoder.stats.logLines).toBeGreaterThan(1000);
    expect(decoder.stats.headerErrors).toBeGreaterThan(0); // ~2M/65536 random F5 A5 pairs
  });

  for (const seed of [11, 12, 13, 14, 15, 16, 17, 18]) {
    it(`seed ${seed}: every intact frame and log line survives corrupted frames, junk and random chunking; every corrupted frame is counted`, () => {
      const rand = rng(seed);
      const parts: Uint8Array[] = [];
      const intact: string[] = [];
      const lines: string[] = [];
      let corrupted = 0;
      for (let i = 0; i < 600; i++) {
        // Up to two non-text items, then a log line: the text between two lines stays < MAX_LINE,
        // so each log line must come out as the end of one emitted line.
        for (let k = Math.floor(rand() * 3); k > 0; k--) {
          const roll = rand();
          const frame = encodeFrame(randomFrame(rand, roll < 0.1 ? MAX_PAYLOAD : 200));
          if (roll < 0.45) {
            parts.push(frame);
            intact.push(bytesToHex(frame));
          } else if (roll < 0.85 && frame.length <= 216) {
            parts.push(corrupt(frame, rand));
            corrupted++;
          } else {
            const junk = Uint8Array.from({ length: Math.floor(rand() * 100) }, () => {
              const r = rand();
              return r < 0.1 ? SYNC0 : r < 0.2 ? SYNC1 : Math.floor(rand() * 256);
            });
            parts.push(junk.filter((b) => b !== 0x0a)); // junk without newlines keeps lines whole
          }
        }
        const line = asciiLine(rand, i);
        lines.push(line);
        parts.push(new TextEncoder().encode(`${line}\r\n`));
      }
      const bytes = concat(parts);
      const { events, decoder } = decodeRandomly(bytes, rand, 1 + Math.floor(rand() * 3000));
      checkStats(events, decoder);
      const frames = events.flatMap((e) => (e.kind === 'frame' ? [bytesToHex(encodeFrame(e.frame))] : []));
      expect(frames).toEqual(intact);
      expect(errorCount(events)).toBeGreaterThanOrEqual(corrupted);
      const emitted = events.flatMap((e) => (e.kind === 'log' ? [e.line] : []));
      let j = 0;
      for (const line of lines) {
        while (j < emitted.length && !emitted[j].endsWith(line)) j++;
        expect(j, `log line "${line}" missing`).toBeLessThan(emitted.length);
        j++;
      }
    });
  }

  it('never emits a frame nested in the payload of an intact frame', () => {
    const inner = encodeFrame({ version: 1, type: 0x84, flags: 0, requestId: 2, payload: new Uint8Array(0) });
    const outer = encodeFrame({ version: 1, type: 0x01, flags: 0, requestId: 1, payload: inner });
    const decoder = new FrameDecoder();
    const events = [...decoder.push(outer), ...decoder.flush()];
    expect(events).toEqual([{ kind: 'frame', frame: { version: 1, type: 0x01, flags: 0, requestId: 1, payload: inner } }]);
  });

  it('stays linear on the adversarial worst case: valid headers every 12 bytes announcing 4 KB payloads', () => {
    const header = encodeFrame({ version: 1, type: 1, flags: 0, requestId: 1, payload: new Uint8Array(4000) }).subarray(0, HEADER_SIZE);
    const bytes = new Uint8Array(64 * 1024);
    for (let at = 0; at + HEADER_SIZE <= bytes.length; at += HEADER_SIZE) bytes.set(header, at);
    const decoder = new FrameDecoder();
    const events = [...decoder.push(bytes), ...decoder.flush()];
    expect(decoder.stats.frames).toBe(0);
    expect(decoder.stats.crcErrors + decoder.stats.truncated).toBe(errorCount(events));
    expect(decoder.stats.crcErrors).toBeGreaterThan(5000);
  });
});

describe('message decoder fuzz', () => {
  const types = Object.values(BODY_TYPE_CODES);

  it('random payloads of every type decode to a message or fail with a ProtocolError, never anything else', () => {
    const rand = rng(99);
    for (let i = 0; i < 20_000; i++) {
      const type = types[Math.floor(rand() * types.length)];
      const payload = Uint8Array.from({ length: Math.floor(rand() * (rand() < 0.5 ? 16 : 300)) }, () => Math.floor(rand() * 256));
      let body;
      try {
        body = decodeBody(type, payload);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        expect(['bad-payload', 'unknown-type']).toContain(e.reason);
        continue;
      }
      // What decodes must encode again to a payload that decodes the same (HELLO/INFO may have
      // dropped trailing bytes). Strings with invalid UTF-8 came back with U+FFFD, which is longer
      // in UTF-8 and may no longer fit: those are not expected to round-trip.
      if (JSON.stringify(body).includes('\uFFFD')) continue;
      expect(decodeBody(type, encodeBody(body))).toEqual(body);
    }
  });

  it('mutated golden frames decode to a message or fail with a ProtocolError', () => {
    const rand = rng(7);
    const { messages } = loadGoldenMessages();
    for (let i = 0; i < 5000; i++) {
      const g = messages[Math.floor(rand() * messages.length)];
      const frameBytes = hexToBytes(g.hex);
      let payload: Uint8Array = frameBytes.slice(HEADER_SIZE, frameBytes.length - 4);
      const at = Math.floor(rand() * (payload.length + 1));
      payload = rand() < 0.5 ? payload.subarray(0, at) : concat([payload, Uint8Array.of(Math.floor(rand() * 256))]);
      if (payload.length > 0 && rand() < 0.5) payload[Math.floor(rand() * payload.length)] ^= 0xff;
      try {
        decodeMessage({ version: 1, type: frameBytes[3], flags: frameBytes[4], requestId: 1, payload });
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }
  });
});
