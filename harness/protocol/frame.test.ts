import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import {
  type DecoderEvent, type Frame, FrameDecoder, HEADER_SIZE, MAX_FRAME, MAX_LINE, MAX_PAYLOAD,
  decodeFrame, encodeFrame,
} from './frame.js';
import { ProtocolError } from './errors.js';
import { type GoldenEvent, loadGoldenMessages, loadGoldenStreams } from './golden.js';
import { FrameDecoderStream } from './stream.js';
import { bytesToHex, hexToBytes } from './wire.js';

const streams = loadGoldenStreams();

/** Events in the golden files' form: frames as the hex of their bytes. */
function asGolden(events: DecoderEvent[]): GoldenEvent[] {
  return events.map((e) => (e.kind === 'frame' ? { kind: 'frame', hex: bytesToHex(encodeFrame(e.frame)) } : e));
}

function decodeInChunks(bytes: Uint8Array, cuts: number[], flush: boolean): { events: GoldenEvent[]; decoder: FrameDecoder } {
  const decoder = new FrameDecoder();
  const events: DecoderEvent[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...decoder.push(bytes.subarray(at, cut)));
    at = cut;
  }
  if (flush) events.push(...decoder.flush());
  return { events: asGolden(events), decoder };
}

describe('FrameDecoder on the golden streams', () => {
  for (const s of streams) {
    describe(s.name, () => {
      const bytes = hexToBytes(s.hex);

      it(`decodes the stream in one chunk: ${s.description}`, () => {
        const { events, decoder } = decodeInChunks(bytes, [], s.flush);
        expect(events).toEqual(s.events);
        expect(decoder.stats).toEqual(s.stats);
        if (s.flush) expect(decoder.bufferedBytes).toBe(0);
        else expect(decoder.bufferedBytes).toBeLessThanOrEqual(MAX_FRAME + MAX_LINE);
      });

      it('gives the same events fed one byte at a time', () => {
        const cuts = Array.from({ length: bytes.length }, (_, i) => i);
        expect(decodeInChunks(bytes, cuts, s.flush).events).toEqual(s.events);
      });

      it('gives the same events split in two at every byte boundary', () => {
        for (let k = 0; k <= bytes.length; k++) {
          const { events, decoder } = decodeInChunks(bytes, [k], s.flush);
          expect(events, `split at ${k}`).toEqual(s.events);
          expect(decoder.stats).toEqual(s.stats);
        }
      });

      if (bytes.length <= 120) {
        it('gives the same events split in three at every pair of boundaries', () => {
          for (let a = 0; a <= bytes.length; a++) {
            for (let b = a; b <= bytes.length; b++) {
              expect(decodeInChunks(bytes, [a, b], s.flush).events, `split at ${a}, ${b}`).toEqual(s.events);
            }
          }
        });
      }
    });
  }
});

describe('FrameDecoder on merged traffic', () => {
  it('decodes every golden message frame with log lines between them, whatever the chunking', () => {
    const { messages } = loadGoldenMessages();
    const parts: Uint8Array[] = [];
    const expected: GoldenEvent[] = [];
    messages.forEach((m, i) => {
      const line = `I (${i}) hil: before ${m.name}`;
      parts.push(new TextEncoder().encode(`${line}\r\n`), hexToBytes(m.hex));
      expected.push({ kind: 'log', line }, { kind: 'frame', hex: m.hex });
    });
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);

    expect(decodeInChunks(all, [], true).events).toEqual(expected);
    let seed = 7;
    for (const maxChunk of [1, 3, 17, 64, 1000, 5000]) {
      const cuts: number[] = [];
      for (let at = 0; at < all.length;) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        at += 1 + ((seed >>> 16) % maxChunk);
        if (at < all.length) cuts.push(at);
      }
      expect(decodeInChunks(all, cuts, true).events, `chunks up to ${maxChunk} bytes`).toEqual(expected);
    }
  });

  it('emits a maximal frame (4096-byte payload) and never holds more than one frame and one line', () => {
    const payload = Uint8Array.from({ length: MAX_PAYLOAD }, (_, i) => (i * 31) & 0xff);
    const frame: Frame = { version: 1, type: 0x11, flags: 0, requestId: 9, payload };
    const bytes = encodeFrame(frame);
    expect(bytes.length).toBe(MAX_FRAME);
    const decoder = new FrameDecoder();
    const events: DecoderEvent[] = [];
    for (let i = 0; i < bytes.length; i += 100) {
      events.push(...decoder.push(bytes.subarray(i, i + 100)));
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(MAX_FRAME + MAX_LINE);
    }
    expect(events).toEqual([{ kind: 'frame', frame }]);
  });
});

describe('encodeFrame / decodeFrame (one frame per MQTT message)', () => {
  const frame: Frame = { version: 1, type: 0x01, flags: 0, requestId: 1, payload: new TextEncoder().encode('hi') };

  it('encodes the example of PROTOCOL.md byte for byte', () => {
    expect(bytesToHex(encodeFrame(frame))).toBe('f5a501010000010002001a98686926c298bc');
    expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
  });

  it('rejects anything but exactly one valid frame, naming the reason', () => {
    const bytes = encodeFrame(frame);
    const reason = (b: Uint8Array) => {
      try {
        decodeFrame(b);
        return 'accepted';
      } catch (e) {
        return e instanceof ProtocolError ? e.reason : 'other';
      }
    };
    expect(reason(bytes.subarray(0, bytes.length - 1))).toBe('truncated');
    expect(reason(bytes.subarray(0, 5))).toBe('truncated');
    expect(reason(Uint8Array.from([...bytes, 0x0a]))).toBe('trailing-bytes');
    const badSync = bytes.slice();
    badSync[1] = 0xa6;
    expect(reason(badSync)).toBe('bad-header');
    const badHeader = bytes.slice();
    badHeader[6] ^= 1;
    expect(reason(badHeader)).toBe('bad-header');
    const badCrc = bytes.slice();
    badCrc[HEADER_SIZE] ^= 1;
    expect(reason(badCrc)).toBe('crc');
  });

  it('refuses to encode out-of-range header fields or an oversize payload', () => {
    expect(() => encodeFrame({ ...frame, requestId: 65536 })).toThrow(/requestId must be an integer 0..65535/);
    expect(() => encodeFrame({ ...frame, type: 256 })).toThrow(/type must be an integer 0..255/);
    expect(() => encodeFrame({ ...frame, payload: new Uint8Array(MAX_PAYLOAD + 1) })).toThrow(/exceeds 4096/);
  });
});

describe('FrameDecoderStream (Node Transform for serialport)', () => {
  it('turns piped byte chunks into decoder events, flushing at end of stream', async () => {
    const hello = streams.find((s) => s.name === 'boot-log-then-hello');
    expect(hello).toBeDefined();
    const bytes = Buffer.from(hello!.hex, 'hex');
    const chunks = [bytes.subarray(0, 700), bytes.subarray(700, 2801), bytes.subarray(2801)];
    const events: DecoderEvent[] = [];
    await new Promise<void>((resolve, reject) => {
      Readable.from(chunks).pipe(new FrameDecoderStream())
        .on('data', (e: DecoderEvent) => events.push(e))
        .on('end', resolve)
        .on('error', reject);
    });
    expect(asGolden(events)).toEqual(hello!.events);
  });

  it('flushes a partial line after idleFlushMs without input', async () => {
    vi.useFakeTimers();
    try {
      const stream = new FrameDecoderStream({ idleFlushMs: 100 });
      const events: DecoderEvent[] = [];
      stream.on('data', (e: DecoderEvent) => events.push(e));
      stream.write(Buffer.from('Guru Meditation Error: Core  1 panic\'ed'));
      await vi.advanceTimersByTimeAsync(50);
      expect(events).toEqual([]);
      await vi.advanceTimersByTimeAsync(60);
      expect(events).toEqual([{ kind: 'log', line: 'Guru Meditation Error: Core  1 panic\'ed' }]);
      stream.destroy();
    } finally {
      vi.useRealTimers();
    }
  });

  it('validates its options up front', () => {
    expect(() => new FrameDecoderStream({ idleFlushMs: -1 })).toThrow(TypeError);
  });
});
