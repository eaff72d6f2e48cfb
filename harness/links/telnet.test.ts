import { describe, expect, it } from 'vitest';
import {
  ComPort, DO, IAC, OPT_COM_PORT, SB, SE, TelnetParser, WILL, WONT, baudrateOf, comPortCommand, escapeIac, negotiation, setBaudrate,
} from './telnet.js';

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

describe('telnet (RFC 854) and COM-PORT-OPTION (RFC 2217) codec', () => {
  it('doubles IAC in data and in sub-negotiation values, and encodes SET-BAUDRATE in network order', () => {
    expect([...escapeIac(bytes(1, 0xff, 2, 0xff))]).toEqual([1, 0xff, 0xff, 2, 0xff, 0xff]);
    const plain = bytes(1, 2, 3);
    expect(escapeIac(plain)).toBe(plain); // nothing to double: no copy
    expect([...negotiation(WILL, OPT_COM_PORT)]).toEqual([IAC, WILL, 44]);
    expect([...setBaudrate(921600)]).toEqual([IAC, SB, 44, 1, 0x00, 0x0e, 0x10, 0x00, IAC, SE]);
    // 0x...FF in a value is doubled inside the SB as well.
    expect([...comPortCommand(ComPort.SET_BAUDRATE, bytes(0, 0, 0, 0xff))]).toEqual([IAC, SB, 44, 1, 0, 0, 0, 0xff, 0xff, IAC, SE]);
    expect(baudrateOf(bytes(101, 0x00, 0x0e, 0x10, 0x00))).toBe(921600);
    expect(baudrateOf(bytes(105, 8))).toBeUndefined();
  });

  it('splits data from commands whatever the chunking, undoubling IACs, and keeps a command cut between chunks', () => {
    const stream = bytes(
      0x41, IAC, IAC, 0x42, // data A, 0xFF, B
      IAC, DO, OPT_COM_PORT, // negotiation
      IAC, SB, 44, 101, 0, 0x01, 0xc2, 0x00, IAC, SE, // SET-BAUDRATE answer 115200
      IAC, SB, 44, 107, 0xff, 0xff, IAC, SE, // NOTIFY-MODEMSTATE with a doubled 0xFF value
      0x43, IAC, 241, 0x44, // data, NOP, data
    );
    const expected = [
      'data 41ff42', 'negotiate 253 44', 'sb 44 650001c200', 'sb 44 6bff', 'data 43', 'command 241', 'data 44',
    ];
    const show = (events: ReturnType<TelnetParser['push']>): string[] => events.map((e) => {
      if (e.kind === 'data') return `data ${Buffer.from(e.bytes).toString('hex')}`;
      if (e.kind === 'negotiate') return `negotiate ${e.verb} ${e.option}`;
      if (e.kind === 'subnegotiation') return `sb ${e.option} ${Buffer.from(e.payload).toString('hex')}`;
      return `command ${e.code}`;
    });
    // Whole, then one byte at a time (adjacent data events merged for comparison).
    expect(show(new TelnetParser().push(stream))).toEqual(expected);
    const parser = new TelnetParser();
    const oneByOne = show([...stream].flatMap((b) => parser.push(bytes(b))));
    const merged: string[] = [];
    for (const e of oneByOne) {
      const last = merged.at(-1);
      if (last?.startsWith('data ') && e.startsWith('data ')) merged[merged.length - 1] = last + e.slice(5);
      else merged.push(e);
    }
    expect(merged).toEqual(expected);
    expect(baudrateOf(new TelnetParser().push(stream).flatMap((e) => (e.kind === 'subnegotiation' ? [e.payload] : []))[0]!)).toBe(115200);
  });

  it('a refusal is a negotiation like any other; reset() forgets a half-received command', () => {
    const p = new TelnetParser();
    expect(p.push(bytes(IAC, WONT, OPT_COM_PORT))).toEqual([{ kind: 'negotiate', verb: WONT, option: OPT_COM_PORT }]);
    expect(p.push(bytes(IAC, SB, 44, 101))).toEqual([]);
    p.reset();
    expect(p.push(bytes(0x30))).toEqual([{ kind: 'data', bytes: bytes(0x30) }]);
  });
});
