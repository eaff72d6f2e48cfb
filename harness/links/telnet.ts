/**
 * The telnet layer of RFC 2217 (RFC 854 commands and option negotiation, RFC 2217 COM-PORT-OPTION),
 * pure: bytes in, events out; commands out as bytes. The RFC 2217 link (rfc2217-link.ts) puts it
 * between a TCP socket and the lab's frame decoder, so a board behind ser2net's `telnet(rfc2217)`
 * port speaks the same byte stream as on a local serial port, with its baud rate and modem lines
 * (DTR/RTS: reset and download mode) driven through COM-PORT-OPTION.
 *
 * Data: 0xFF (IAC) is doubled in both directions (RFC 854); everything after an IAC that is not
 * another IAC is a command, never data. A command cut between two TCP chunks is held until the rest
 * arrives. Sub-negotiation payloads (IAC SB ... IAC SE) carry doubled IACs too.
 */

export const IAC = 255;
export const DONT = 254;
export const DO = 253;
export const WONT = 252;
export const WILL = 251;
export const SB = 250;
export const SE = 240;
export const NOP = 241;

/** Telnet options the link uses. */
export const OPT_BINARY = 0;
export const OPT_SGA = 3;
export const OPT_COM_PORT = 44;

/** RFC 2217 client-to-server commands (the server answers with the same command + 100). */
export const ComPort = {
  SET_BAUDRATE: 1,
  SET_DATASIZE: 2,
  SET_PARITY: 3,
  SET_STOPSIZE: 4,
  SET_CONTROL: 5,
  NOTIFY_LINESTATE: 6,
  NOTIFY_MODEMSTATE: 7,
  FLOWCONTROL_SUSPEND: 8,
  FLOWCONTROL_RESUME: 9,
  SET_LINESTATE_MASK: 10,
  SET_MODEMSTATE_MASK: 11,
  PURGE_DATA: 12,
} as const;
export const SERVER_OFFSET = 100;

/** SET-CONTROL values (RFC 2217). */
export const Control = {
  NO_FLOW_CONTROL: 1,
  DTR_ON: 8,
  DTR_OFF: 9,
  RTS_ON: 11,
  RTS_OFF: 12,
} as const;

/** PURGE-DATA values: the access server's receive buffer (data from the board), its transmit buffer, both. */
export const Purge = { RX: 1, TX: 2, BOTH: 3 } as const;

export type TelnetEvent =
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'negotiate'; verb: typeof DO | typeof DONT | typeof WILL | typeof WONT; option: number }
  /** IAC SB option payload IAC SE, payload with its IACs undoubled. */
  | { kind: 'subnegotiation'; option: number; payload: Uint8Array }
  | { kind: 'command'; code: number };

/** Doubles every 0xFF of `data` (RFC 854), for data bytes and sub-negotiation payloads alike. */
export function escapeIac(data: Uint8Array): Uint8Array {
  let n = 0;
  for (const b of data) if (b === IAC) n++;
  if (n === 0) return data;
  const out = new Uint8Array(data.length + n);
  let j = 0;
  for (const b of data) {
    out[j++] = b;
    if (b === IAC) out[j++] = IAC;
  }
  return out;
}

/** IAC <verb> <option>. */
export function negotiation(verb: number, option: number): Uint8Array {
  return Uint8Array.of(IAC, verb, option);
}

/** IAC SB COM-PORT-OPTION <command> <value...> IAC SE, with the value's IACs doubled. */
export function comPortCommand(command: number, value: Uint8Array): Uint8Array {
  const body = escapeIac(Uint8Array.of(command, ...value));
  const out = new Uint8Array(body.length + 5);
  out.set([IAC, SB, OPT_COM_PORT]);
  out.set(body, 3);
  out.set([IAC, SE], 3 + body.length);
  return out;
}

/** SET-BAUDRATE: the rate as a 4-byte network-order integer (0 asks the current rate). */
export function setBaudrate(baud: number): Uint8Array {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, baud >>> 0, false);
  return comPortCommand(ComPort.SET_BAUDRATE, v);
}

/** The value of a SET-BAUDRATE answer (the server's 4-byte rate), or undefined when it is not one. */
export function baudrateOf(payload: Uint8Array): number | undefined {
  if (payload.length !== 5 || payload[0] !== ComPort.SET_BAUDRATE + SERVER_OFFSET) return undefined;
  return new DataView(payload.buffer, payload.byteOffset + 1, 4).getUint32(0, false);
}

const enum State {
  Data,
  Iac,
  Verb,
  SbOption,
  Sb,
  SbIac,
}

/** Longest sub-negotiation payload kept (RFC 2217's are a few bytes; a runaway one is cut). */
const MAX_SB = 256;

/**
 * Splits a telnet byte stream into data and commands. `push` returns the events each chunk
 * completes, in stream order; consecutive data bytes come out as one `data` event per chunk.
 */
export class TelnetParser {
  private state = State.Data;
  private verb = 0;
  private sbOption = 0;
  private sb: number[] = [];

  push(chunk: Uint8Array): TelnetEvent[] {
    const events: TelnetEvent[] = [];
    let data: number[] = [];
    const flushData = (): void => {
      if (data.length > 0) events.push({ kind: 'data', bytes: Uint8Array.from(data) });
      data = [];
    };
    for (const b of chunk) {
      switch (this.state) {
        case State.Data:
          if (b === IAC) this.state = State.Iac;
          else data.push(b);
          break;
        case State.Iac:
          if (b === IAC) {
            data.push(IAC);
            this.state = State.Data;
          } else if (b === DO || b === DONT || b === WILL || b === WONT) {
            this.verb = b;
            this.state = State.Verb;
          } else if (b === SB) {
            this.state = State.SbOption;
          } else {
            flushData();
            events.push({ kind: 'command', code: b });
            this.state = State.Data;
          }
          break;
        case State.Verb:
          flushData();
          events.push({ kind: 'negotiate', verb: this.verb as typeof DO, option: b });
          this.state = State.Data;
          break;
        case State.SbOption:
          this.sbOption = b;
          this.sb = [];
          this.state = State.Sb;
          break;
        case State.Sb:
          if (b === IAC) this.state = State.SbIac;
          else if (this.sb.length < MAX_SB) this.sb.push(b);
          break;
        case State.SbIac:
          if (b === IAC) {
            if (this.sb.length < MAX_SB) this.sb.push(IAC);
            this.state = State.Sb;
          } else if (b === SE) {
            flushData();
            events.push({ kind: 'subnegotiation', option: this.sbOption, payload: Uint8Array.from(this.sb) });
            this.sb = [];
            this.state = State.Data;
          } else {
            // IAC <other> inside SB: a broken server; end the sub-negotiation and take the byte as a command.
            flushData();
            events.push({ kind: 'subnegotiation', option: this.sbOption, payload: Uint8Array.from(this.sb) });
            this.sb = [];
            events.push({ kind: 'command', code: b });
            this.state = State.Data;
          }
          break;
      }
    }
    flushData();
    return events;
  }

  /** Forgets a half-received command (a new connection). */
  reset(): void {
    this.state = State.Data;
    this.sb = [];
  }
}
