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
 * A connection that drops without `close()` (ser2net restarted, the network cut) emits
 * `disconnect`; `open()` connects again and emits `reconnect`.
 */
import { EventEmitter } from 'node:events';
import { LabError } from '../errors.js';
import type { BoardPresence, Clock, Link, LinkEvents, LinkStats } from './link.js';
import { systemClock } from './link.js';
import { ByteStreamReceiver, idleFlushOption } from './byte-stream.js';
import { Rfc2217Connection, rfc2217Url } from './rfc2217-connection.js';

export { rfc2217Url } from './rfc2217-connection.js';

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

const NUDGE = Uint8Array.of(0x0a);

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
  private connection: Rfc2217Connection | undefined;
  private lost = false;
  /** Stays false once a server left DTR/RTS unanswered (Rfc2217Connection.modemLines), across reconnections. */
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
    return this.connection?.isOpen ?? false;
  }

  /** The baud rate the access server confirmed for its serial port (0 before open). */
  get baudRate(): number {
    return this.connection?.baudRate ?? 0;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const { board, host, port, baudRate } = this.options;
    this.stream.restart(); // nothing half-read from an earlier connection survives
    const c = await Rfc2217Connection.connect({
      board, host, port, baudRate, clock: this.clock,
      ...(this.options.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.options.connectTimeoutMs } : {}),
      ...(this.options.answerTimeoutMs !== undefined ? { answerTimeoutMs: this.options.answerTimeoutMs } : {}),
    });
    this.connection = c;
    c.on('data', (chunk) => this.stream.receive(chunk));
    c.on('close', () => {
      // close() forgets its connection first: only one that went down on its own gets here.
      if (this.connection !== c) return;
      this.connection = undefined;
      this.stream.flush();
      this.stream.counters.disconnects++;
      this.lost = true;
      this.emit('disconnect', `the RFC 2217 connection to ${this.address} closed${c.failure ? ` (${c.failure.message})` : ''}: ser2net stopped or the network dropped it`);
    });
    if (this.lost) {
      this.lost = false;
      this.emit('reconnect');
    }
  }

  async send(frame: Uint8Array): Promise<void> {
    const c = this.connection;
    if (!c?.isOpen) throw new LabError('link-down', `board ${this.board}: the RFC 2217 connection to ${this.address} is not open (ser2net closed it, or the link closed): reconnect the board`);
    await new Promise<void>((resolve, reject) => {
      c.write(frame, (e) => {
        if (e) reject(new LabError('link-down', `board ${this.board}: writing to ${this.address} failed (${e.message}): check that ser2net still runs`, { cause: e }));
        else resolve();
      });
    });
    this.stream.sent(frame);
  }

  async nudge(): Promise<void> {
    const c = this.connection;
    if (!c?.isOpen) return;
    await new Promise<void>((resolve) => c.write(NUDGE, () => resolve()));
    this.stream.counters.bytesOut += NUDGE.length;
  }

  /**
   * The rig's reset on DTR/RTS through the access server: EN low for 100 ms with IO0 high ("classic",
   * DTR released), or the USB-Serial-JTAG sequence; false when the rig has no reset lines, or the
   * server showed it has none (it left DTR/RTS unanswered).
   */
  async hardwareReset(): Promise<boolean> {
    const c = this.connection;
    if (this.options.reset === 'none' || !c?.isOpen || !this.modemLines) return false;
    const usb = this.options.reset === 'usb-jtag';
    try {
      const set = async (signals: { dtr?: boolean; rts?: boolean }): Promise<void> => {
        if (!(await c.setSignals(signals))) throw NO_MODEM_LINES;
      };
      await set({ dtr: false, rts: true });
      await this.sleep(usb ? 200 : 100);
      await set({ rts: false });
      if (usb) await this.sleep(200);
      return true;
    } catch (e) {
      if (e === NO_MODEM_LINES) {
        this.modemLines = false;
        return false;
      }
      throw new LabError('link-reset', `board ${this.board}: resetting through DTR/RTS on ${this.address} failed (${(e as Error).message}): check that ser2net runs the port in telnet(rfc2217) mode, or set rigs.json "reset": "none"`, { cause: e });
    }
  }

  async close(): Promise<void> {
    this.stream.stopIdleTimer();
    const c = this.connection;
    this.connection = undefined;
    if (!c) return;
    await c.close();
    this.stream.flush();
  }

  stats(): LinkStats {
    return { ...this.stream.counters };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }
}

const NO_MODEM_LINES = new Error('no modem lines behind the server');
