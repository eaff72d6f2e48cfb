/**
 * One connection to an RFC 2217 server (ser2net's `telnet(rfc2217)` accepter): telnet around the
 * serial bytes (telnet.ts) and the COM-PORT-OPTION commands that set the server's serial port. The
 * board link (rfc2217-link.ts) reads frames from its `data`; the flasher's Web-Serial port
 * (harness/flash/webserial-rfc2217.ts) hands the same bytes to esptool-js and turns its DTR/RTS and
 * baud changes into SET-CONTROL and SET-BAUDRATE.
 *
 * `connect()` agrees to BINARY, SUPPRESS-GO-AHEAD and COM-PORT-OPTION (any other option is refused
 * once), sets the baud rate, 8N1 and no flow control, purges what the server buffered before, and
 * resolves when the server confirmed the rate - a port that is not RFC 2217 fails there with the
 * ser2net line that fixes it.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { isLabError, LabError } from '../errors.js';
import type { Clock } from './link.js';
import { systemClock } from './link.js';
import { connectTcp, hostPortUrl, parseHostPortUrl, tcpConnectError, type TcpAddress } from './tcp-connect.js';
import {
  ComPort, Control, DO, DONT, OPT_BINARY, OPT_COM_PORT, OPT_SGA, Purge, SERVER_OFFSET, TelnetParser, WILL, WONT,
  baudrateOf, comPortCommand, escapeIac, negotiation, setBaudrate,
} from './telnet.js';

export type Rfc2217Address = TcpAddress;

/** `rfc2217://host:port` (esptool's spelling; an IPv6 host in brackets). */
export function rfc2217Url(address: Rfc2217Address): string {
  return hostPortUrl('rfc2217', address);
}

/** The address in `rfc2217://host:port`, or undefined when `text` is not one. */
export function parseRfc2217Url(text: string): Rfc2217Address | undefined {
  return parseHostPortUrl('rfc2217', text);
}

export interface Rfc2217ConnectOptions extends Rfc2217Address {
  /** Board name, for errors. */
  board: string;
  baudRate: number;
  /** Give up connecting after this long (default 5 s). */
  connectTimeoutMs?: number;
  /** How long the server may take to answer a COM-PORT-OPTION command (default 3 s). */
  answerTimeoutMs?: number;
  clock?: Clock;
}

export interface Rfc2217ConnectionEvents {
  /** Serial bytes from the board (telnet removed). */
  data: [chunk: Buffer];
  /** The TCP connection ended (on its own, or by close()). */
  close: [];
}

/** Options we agree to when the server asks; everything else is refused once. */
const OURS = new Set([OPT_BINARY, OPT_SGA, OPT_COM_PORT]);

interface Waiter {
  command: number;
  resolve: (payload: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: unknown;
}

export class Rfc2217Connection extends EventEmitter<Rfc2217ConnectionEvents> {
  readonly url: string;
  private readonly parser = new TelnetParser();
  private readonly clock: Clock;
  private waiters: Waiter[] = [];
  private readonly answered = new Set<string>();
  private refusedComPort = false;
  /** The socket's error, for the disconnect message. */
  failure: Error | undefined;
  /** The baud rate the server last confirmed. */
  baudRate = 0;
  /**
   * False once the server left a DTR/RTS SET-CONTROL unanswered: ser2net does that when its device
   * has no modem lines (a PTY: the ioctl fails), where RFC 2217 would have it answer the state.
   */
  modemLines = true;

  private constructor(private readonly socket: Socket, private readonly options: Rfc2217ConnectOptions) {
    super();
    this.url = rfc2217Url(options);
    this.clock = options.clock ?? systemClock;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (e) => {
      this.failure = e;
    });
    socket.on('close', () => {
      this.failWaiters(new LabError('link-down', `board ${options.board}: the connection to ${this.url} closed while its serial settings were being set`));
      this.emit('close');
    });
  }

  static async connect(options: Rfc2217ConnectOptions): Promise<Rfc2217Connection> {
    const { board, host, port } = options;
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    const socket = await connectTcp({ host, port, timeoutMs, ...(options.clock ? { clock: options.clock } : {}) }).catch((e: unknown) => {
      throw tcpConnectError(board, { host, port }, e, timeoutMs);
    });
    const c = new Rfc2217Connection(socket, options);
    try {
      c.writeRaw(Buffer.concat([
        negotiation(WILL, OPT_BINARY), negotiation(DO, OPT_BINARY),
        negotiation(WILL, OPT_SGA), negotiation(DO, OPT_SGA),
        negotiation(WILL, OPT_COM_PORT),
      ]));
      await c.setBaud(options.baudRate, true);
      c.writeRaw(Buffer.concat([
        comPortCommand(ComPort.SET_DATASIZE, Uint8Array.of(8)),
        comPortCommand(ComPort.SET_PARITY, Uint8Array.of(1)),
        comPortCommand(ComPort.SET_STOPSIZE, Uint8Array.of(1)),
        comPortCommand(ComPort.SET_CONTROL, Uint8Array.of(Control.NO_FLOW_CONTROL)),
      ]));
      await c.command(ComPort.PURGE_DATA, Uint8Array.of(Purge.RX));
    } catch (e) {
      socket.destroy();
      throw e;
    }
    return c;
  }

  get isOpen(): boolean {
    return !this.socket.destroyed;
  }

  get writable(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  /** Serial bytes to the board (0xFF doubled). */
  write(data: Uint8Array, callback: (error?: Error | null) => void): void {
    this.socket.write(escapeIac(data), callback);
  }

  /** SET-BAUDRATE; resolves with the rate the server confirmed. */
  async setBaud(baud: number, opening = false): Promise<number> {
    const answer = await this.command(ComPort.SET_BAUDRATE, setBaudrate(baud).subarray(4, 8), opening);
    const confirmed = baudrateOf(answer);
    const { board } = this.options;
    if (confirmed === undefined) throw new LabError('link-open', `board ${board}: ${this.url} answered SET-BAUDRATE with ${answer.length} bytes, not a baud rate: is it an RFC 2217 server?`);
    if (confirmed !== baud) throw new LabError('link-open', `board ${board}: ${this.url} set its serial port to ${confirmed} baud when asked for ${baud}: the access server's device does not take that rate`);
    this.baudRate = confirmed;
    return confirmed;
  }

  /**
   * SET-CONTROL for DTR and RTS (true = asserted). Resolves false, and remembers it, when the server
   * leaves them unanswered (no modem lines behind it, see `modemLines`).
   */
  async setSignals(signals: { dtr?: boolean; rts?: boolean }): Promise<boolean> {
    if (!this.modemLines) return false;
    try {
      if (signals.dtr !== undefined) await this.command(ComPort.SET_CONTROL, Uint8Array.of(signals.dtr ? Control.DTR_ON : Control.DTR_OFF));
      if (signals.rts !== undefined) await this.command(ComPort.SET_CONTROL, Uint8Array.of(signals.rts ? Control.RTS_ON : Control.RTS_OFF));
      return true;
    } catch (e) {
      if (isLabError(e) && e.code === 'link-timeout') {
        this.modemLines = false;
        return false;
      }
      throw e;
    }
  }

  close(): Promise<void> {
    this.failWaiters(new LabError('stopped', `board ${this.options.board}: the connection to ${this.url} was closed`));
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }

  // ------------------------------------------------------------------------------ telnet

  private receive(chunk: Uint8Array): void {
    for (const e of this.parser.push(chunk)) {
      if (e.kind === 'data') this.emit('data', Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength));
      else if (e.kind === 'negotiate') this.negotiate(e.verb, e.option);
      else if (e.kind === 'subnegotiation' && e.option === OPT_COM_PORT && e.payload.length > 0) this.answer(e.payload);
    }
  }

  /** Agrees to what we use, refuses the rest (once per option and verb: no negotiation loops). */
  private negotiate(verb: number, option: number): void {
    if (option === OPT_COM_PORT && (verb === DONT || verb === WONT)) {
      this.refusedComPort = true;
      this.failWaiters(this.notRfc2217('it refused COM-PORT-OPTION'));
      return;
    }
    const key = `${verb}:${option}`;
    if (this.answered.has(key)) return;
    this.answered.add(key);
    if (verb === DO && !OURS.has(option)) this.writeRaw(negotiation(WONT, option));
    else if (verb === WILL && !OURS.has(option)) this.writeRaw(negotiation(DONT, option));
  }

  private answer(payload: Uint8Array): void {
    const command = payload[0]! - SERVER_OFFSET;
    const i = this.waiters.findIndex((w) => w.command === command);
    if (i < 0) return; // a notification (line or modem state) or a late answer
    const [w] = this.waiters.splice(i, 1);
    this.clock.clearTimeout(w!.timer);
    w!.resolve(payload);
  }

  /** Sends a COM-PORT-OPTION command and waits for the server's answer to it. */
  private command(command: number, value: Uint8Array, opening = false): Promise<Uint8Array> {
    const { board } = this.options;
    if (!this.isOpen) return Promise.reject(new LabError('link-down', `board ${board}: the RFC 2217 connection to ${this.url} is not open`));
    if (this.refusedComPort) return Promise.reject(this.notRfc2217('it refused COM-PORT-OPTION'));
    const ms = this.options.answerTimeoutMs ?? 3000;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(opening
          ? this.notRfc2217(`no answer to SET-BAUDRATE within ${ms / 1000} s`)
          : new LabError('link-timeout', `board ${board}: ${this.url} did not answer COM-PORT-OPTION command ${command} within ${ms / 1000} s`));
      }, ms);
      this.waiters.push({ command, resolve, reject, timer });
      this.writeRaw(comPortCommand(command, value));
    });
  }

  private notRfc2217(why: string): LabError {
    return new LabError('link-open', `board ${this.options.board}: ${this.url} is not an RFC 2217 port (${why}): run ser2net's port as "accepter: telnet(rfc2217),tcp,${this.options.port}", or use "tcp" in rigs.json for a raw port`);
  }

  private failWaiters(e: Error): void {
    for (const w of this.waiters.splice(0)) {
      this.clock.clearTimeout(w.timer);
      w.reject(e);
    }
  }

  private writeRaw(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }
}
