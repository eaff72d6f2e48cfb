import { describe, expect, it } from 'vitest';
import { SlipDecoder, slipEncode } from './slip.js';

function decodeAll(bytes: number[], maxFrame = 64) {
  const frames: number[][] = [];
  const bad: Array<[string, number[]]> = [];
  const d = new SlipDecoder(maxFrame, { frame: (f) => frames.push([...f]), badFrame: (r, p) => bad.push([r, [...p]]) });
  d.push(Uint8Array.from(bytes));
  return { frames, bad, noise: d.noiseBytes };
}

describe('SLIP', () => {
  it('escapes C0 and DB and frames the payload (serial-protocol.rst)', () => {
    expect([...slipEncode(Uint8Array.of(0x01, 0xc0, 0x02, 0xdb, 0x03))]).toEqual([0xc0, 0x01, 0xdb, 0xdc, 0x02, 0xdb, 0xdd, 0x03, 0xc0]);
  });

  it('decodes frames split and merged across chunks, and round-trips every byte value', () => {
    const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
    const wire = [...slipEncode(payload), ...slipEncode(Uint8Array.of(7))];
    const frames: Uint8Array[] = [];
    const d = new SlipDecoder(1024, { frame: (f) => frames.push(f), badFrame: () => {} });
    for (let i = 0; i < wire.length; i += 5) d.push(Uint8Array.from(wire.slice(i, i + 5)));
    expect(frames.map((f) => [...f])).toEqual([[...payload], [7]]);
  });

  it('ignores noise between frames (a boot banner) and empty frames', () => {
    const { frames, noise } = decodeAll([...Buffer.from('rst:0x1\r\n'), 0xc0, 0xc0, 0x01, 0x02, 0xc0, 0x55, 0x55, 0xc0, 0x03, 0xc0]);
    expect(frames).toEqual([[1, 2], [3]]);
    expect(noise).toBe(9 + 2);
  });

  it('reports a bad escape and an oversized frame, then resynchronises', () => {
    const { frames, bad } = decodeAll([0xc0, 0x00, 0x0a, 0xdb, 0x42, 0x99, 0xc0, 0xc0, ...new Array(10).fill(1), 0xc0, 0xc0, 0x05, 0xc0], 8);
    expect(bad).toEqual([['bad-escape', [0x00, 0x0a]], ['too-long', [1, 1, 1, 1, 1, 1, 1, 1]]]);
    expect(frames).toEqual([[5]]);
  });

  it('validates its option up front', () => {
    expect(() => new SlipDecoder(0, { frame: () => {}, badFrame: () => {} })).toThrow(TypeError);
  });
});
