/**
 * A board on a network serial port that speaks RFC 2217 (telnet COM-PORT-OPTION) - ser2net's
 * `telnet(rfc2217)` accepter, what labgrid's exporters and esptool's `rfc2217://host:port` use. The
 * board's UART bytes travel inside telnet (0xFF doubled both ways, telnet.ts) and go through the
 * same frame decoder as on a local serial port (byte-stream.ts); the port's settings travel as
 * COM-PORT-OPTION commands:
 * - on open: WILL COM-PORT-OPTION (plus BINARY and SUPPRESS-GO-AHEAD both ways), then the line
 *   (SET-BAUDRATE, 8 data bits, no parity, 1 stop bit, no flow control) and PURGE-DATA of what the
 *   server buffered before we came; open() resolves when the server has answered SET-BAUDRATE, so
 *   a port that is not in RFC 2217 mode (ser2net `raw`/`telnet`) fails at once with the fix;
 * - `hardwareReset()`: the rig's reset sequence on DTR/RTS through SET-CONTROL ("classic" for a
 *   USB-UART bridge's auto-reset circuit, "usb-jtag" for the S3's USB-Serial-JTAG), or false when
 *   the rig says the port has no reset lines ("none") - the session then uses another way;
 * - `setBaud()`: SET-BAUDRATE, for the flasher's baud switches.
 * A connection that drops without `close()` (ser2net restarted, the network cut) emits
 * `disconnect`; `open()` connects again and emits `reconnect`.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { isLabError, LabError } from '../errors.js';
import type { BoardPresence, Clock, Link, LinkEvents, LinkStats } from './link.js';
import { systemClock } from './link.js';
import { ByteStreamReceiver, idleFlushOption } from './byte-stream.js';
import { connectTcp, tcpConnectError } from './tcp-connect.js';
import {
  ComPort, Control, DO, DONT, OPT_BINARY, OPT_COM_PORT, OPT_SGA, Purge, SERVER_OFFSET, TelnetParser, WILL, WONT,
  baudrateOf, comPortCommand, escapeIac, negotiation, setBaudrate,
} from './telnet.js';

/** How the rig resets the board through DTR/RTS (as for a local serial port), or "none" (no reset lines). */
export type Rfc2217Reset = 'classic' | 'usb-jtag' | 'none';

export interface Rfc2217LinkOptions {
  board: string;
  host: string;
  port: number;
  /** The console's baud rate, set on the server's serial port when the link opens. */
  baudRate: number;
  reset: Rfc2217Reset;
  /** Give up connecting after this long (default 5 s). */
  connectTimeoutMs?: number;
  /** How long the server may take to answer COM-PORT-OPTION commands (default 3 s). */
  answerTimeoutMs?: number;
  /** Flush the decoder after this long without input (default 100 ms, PROTOCOL.md section 2). */
  idleFlushMs?: number;
  clock?: Clock;
}

/** `rfc2217://host:port` (esptool's spelling; an IPv6 host in brackets). */
export function rfc2217Url({ host, port }: { host: string; port: number }): string {
  return `rfc2217://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

const NUDGE = Uint8Array.of(0x0a);
/** Options we agree to when the server asks; everything else is refused once. */
const OURS = new Set([OPT_BINARY, OPT_SGA, OPT_COM_PORT]);

interface Waiter {
  command: number;
  resolve: (payload: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: unknown;
}

export class Rfc2217Link extends EventEmitter<LinkEvents> implements Link {
  readonly kind = 'rfc2217' as const;
  readonly board: string;
  /** `rfc2217://host:port`. */
  readonly address: string;
  readonly presence: BoardPresence = 'unknown';
  readonly helloOnReconnect = false;
  private readonly options: Rfc2217LinkOptions;
  private readonly clock: Clock;
  private readonly stream: ByteStreamReceiver;
  private readonly parser = new TelnetParser();
  private socket: Socket | undefined;
  private lost = false;
  private waiters: Waiter[] = [];
  /** Options we already answered, so a server that repeats itself does not make us loop. */
  private answered = new Set<string>();
  private refusedComPort = false;
  /** The baud rate the server last confirmed. */
  private baud = 0;
  /**
   * False once the server left a DTR/RTS SET-CONTROL unanswered: ser2net does that when its device
   * has no modem lines (a PTY: the ioctl fails), where RFC 2217 would have it answer the state.
   */
  private modemLines = true;

  constructor(options: Rfc2217LinkOptions) {
    super();
    if (!options.host) throw new TypeError('Rfc2217Link: host is required');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new TypeError(`Rfc2217Link: port must be a TCP port (1-65535), got ${options.port}`);
    if (!Number.isInteger(options.baudRate) || options.baudRate <= 0) throw new TypeError(`Rfc2217Link: baudRate must be a positive integer, got ${options.baudRate}`);
    const idle = idleFlushOption('Rfc2217Link', options.idleFlushMs);
    this.options = options;
    this.board = options.board;
    this.address = rfc2217Url(options);
    this.clock = options.clock ?? systemClock;
    this.stream = new ByteStreamReceiver(this, this.clock, idle);
  }

  get isOpen(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  /** The baud rate the access server confirmed for its serial port (0 before open). */
  get baudRate(): number {
    return this.baud;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const { board, host, port } = this.options;
    const timeoutMs = this.options.connectTimeoutMs ?? 5000;
    const socket = await connectTcp({ host, port, timeoutMs, clock: this.clock }).catch((e: unknown) => {
      throw tcpConnectError(board, { host, port }, e, timeoutMs);
    });
    this.socket = socket;
    this.stream.restart();
    this.parser.reset();
    this.answered.clear();
    this.refusedComPort = false;
    let failure: Error | undefined;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (e) => {
      failure = e;
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.failWaiters(new LabError('link-down', `board ${this.board}: the connection to ${this.address} closed while the access server was asked for its serial settings`));
      this.stream.flush();
      this.stream.counters.disconnects++;
      this.lost = true;
      this.emit('disconnect', `the RFC 2217 connection to ${this.address} closed${failure ? ` (${failure.message})` : ''}: ser2net stopped or the network dropped it`);
    });
    try {
      this.write(Buffer.concat([
        negotiation(WILL, OPT_BINARY), negotiation(DO, OPT_BINARY),
        negotiation(WILL, OPT_SGA), negotiation(DO, OPT_SGA),
        negotiation(WILL, OPT_COM_PORT),
      ]));
      await this.setBaud(this.options.baudRate);
      this.write(Buffer.concat([
        comPortCommand(ComPort.SET_DATASIZE, Uint8Array.of(8)),
        comPortCommand(ComPort.SET_PARITY, Uint8Array.of(1)),
        comPortCommand(ComPort.SET_STOPSIZE, Uint8Array.of(1)),
        comPortCommand(ComPort.SET_CONTROL, Uint8Array.of(Control.NO_FLOW_CONTROL)),
      ]));
      await this.command(ComPort.PURGE_DATA, Uint8Array.of(Purge.RX));
    } catch (e) {
      this.socket = undefined;
      socket.destroy();
      throw e;
    }
    if (this.lost) {
      this.lost = false;
      this.emit('reconnect');
    }
  }

  /** SET-BAUDRATE; resolves with the rate the server confirmed. */
  async setBaud(baud: number): Promise<number> {
    const answer = await this.command(ComPort.SET_BAUDRATE, setBaudrate(baud).subarray(4, 8), true);
    const confirmed = baudrateOf(answer);
    if (confirmed === undefined) throw new LabError('link-open', `board ${this.board}: ${this.address} answered SET-BAUDRATE with ${answer.length} bytes, not a baud rate: is it an RFC 2217 server?`);
    if (confirmed !== baud) throw new LabError('link-open', `board ${this.board}: ${this.address} set its serial port to ${confirmed} baud when asked for ${baud}: the access server's device does not take that rate`);
    this.baud = confirmed;
    return confirmed;
  }

  /** SET-CONTROL for DTR and RTS (true = asserted). */
  async setSignals(signals: { dtr?: boolean; rts?: boolean }): Promise<void> {
    if (signals.dtr !== undefined) await this.command(ComPort.SET_CONTROL, Uint8Array.of(signals.dtr ? Control.DTR_ON : Control.DTR_OFF));
    if (signals.rts !== undefined) await this.command(ComPort.SET_CONTROL, Uint8Array.of(signals.rts ? Control.RTS_ON : Control.RTS_OFF));
  }

  async send(frame: Uint8Array): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) throw new LabError('link-down', `board ${this.board}: the RFC 2217 connection to ${this.address} is not open (ser2net closed it, or the link closed): reconnect the board`);
    await new Promise<void>((resolve, reject) => {
      socket.write(escapeIac(frame), (e) => {
        if (e) reject(new LabError('link-down', `board ${this.board}: writing to ${this.address} failed (${e.message}): check that ser2net still runs`, { cause: e }));
        else resolve();
      });
    });
    this.stream.sent(frame);
  }

  async nudge(): Promise<void> {
    if (!this.isOpen) return;
    this.write(NUDGE);
    this.stream.counters.bytesOut += NUDGE.length;
  }

  /**
   * The rig's reset on DTR/RTS through the access server: EN low for 100 ms with IO0 high ("classic",
   * DTR released), or the USB-Serial-JTAG sequence; false when the rig has no reset lines.
   */
  async hardwareReset(): Promise<boolean> {
    if (this.options.reset === 'none' || !this.isOpen || !this.modemLines) return false;
    const usb = this.options.reset === 'usb-jtag';
    try {
      await this.setSignals({ dtr: false, rts: true });
      await this.sleep(usb ? 200 : 100);
      await this.setSignals({ rts: false });
      if (usb) await this.sleep(200);
      return true;
    } catch (e) {
      if (isLabError(e) && e.code === 'link-timeout') {
        this.modemLines = false; // the device behind the server cannot set them (see modemLines)
        return false;
      }
      throw new LabError('link-reset', `board ${this.board}: resetting through DTR/RTS on ${this.address} failed (${(e as Error).message}): check that ser2net runs the port in telnet(rfc2217) mode, or set rigs.json "reset": "none"`, { cause: e });
    }
  }

  async close(): Promise<void> {
    this.stream.stopIdleTimer();
    const socket = this.socket;
    this.socket = undefined;
    this.failWaiters(new LabError('stopped', `board ${this.board}: the link to ${this.address} was closed`));
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
    this.stream.flush();
  }

  stats(): LinkStats {
    return { ...this.stream.counters };
  }

  // ------------------------------------------------------------------------------ telnet

  private receive(chunk: Uint8Array): void {
    for (const e of this.parser.push(chunk)) {
      if (e.kind === 'data') this.stream.receive(e.bytes);
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
    if (verb === DO && !OURS.has(option)) this.write(negotiation(WONT, option));
    else if (verb === WILL && !OURS.has(option)) this.write(negotiation(DONT, option));
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
    if (!this.isOpen) return Promise.reject(new LabError('link-down', `board ${this.board}: the RFC 2217 connection to ${this.address} is not open`));
    if (this.refusedComPort) return Promise.reject(this.notRfc2217('it refused COM-PORT-OPTION'));
    const ms = this.options.answerTimeoutMs ?? 3000;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(opening
          ? this.notRfc2217(`no answer to SET-BAUDRATE within ${ms / 1000} s`)
          : new LabError('link-timeout', `board ${this.board}: ${this.address} did not answer COM-PORT-OPTION command ${command} within ${ms / 1000} s`));
      }, ms);
      this.waiters.push({ command, resolve, reject, timer });
      this.write(comPortCommand(command, value));
    });
  }

  private notRfc2217(why: string): LabError {
    return new LabError('link-open', `board ${this.board}: ${this.address} is not an RFC 2217 port (${why}): run ser2net's port as "accepter: telnet(rfc2217),tcp,${this.options.port}", or use "tcp" in rigs.json for a raw port`);
  }

  private failWaiters(e: Error): void {
    for (const w of this.waiters.splice(0)) {
      this.clock.clearTimeout(w.timer);
      w.reject(e);
    }
  }

  private write(bytes: Uint8Array): void {
    this.socket?.write(bytes);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }
}
