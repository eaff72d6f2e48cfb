/**
 * A board on a raw TCP serial port: its UART bytes over one TCP connection - an emulated
 * ESP32-S3's UART0 (Espressif QEMU `-serial tcp:127.0.0.1:PORT,server=on,wait=off`), a real board
 * behind ser2net in raw mode, or a simulated board of `hil sim` (harness/sim/tcp-port.ts). The byte
 * stream is the same as on a serial device, so it goes through the same decoder (byte-stream.ts):
 * frames and log lines come out whole, an idle stream is flushed.
 *
 * There are no modem lines on TCP (raw mode carries bytes only; RFC 2217 would be needed for
 * DTR/RTS), so `hardwareReset()` answers false and the session uses its power switch instead. A
 * connection that drops without `close()` (the emulator stopped, ser2net restarted) emits
 * `disconnect`; `open()` connects again and emits `reconnect`.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { LabError } from '../errors.js';
import type { BoardPresence, Clock, Link, LinkEvents, LinkStats } from './link.js';
import { systemClock } from './link.js';
import { ByteStreamReceiver, idleFlushOption } from './byte-stream.js';
import { connectTcp, tcpConnectError, tcpUrl } from './tcp-connect.js';

export interface TcpLinkOptions {
  board: string;
  host: string;
  port: number;
  /** Give up connecting after this long (default 5 s). */
  connectTimeoutMs?: number;
  /** Flush the decoder after this long without input (default 100 ms, PROTOCOL.md section 2). */
  idleFlushMs?: number;
  clock?: Clock;
}

const NUDGE = Buffer.from([0x0a]);

export class TcpLink extends EventEmitter<LinkEvents> implements Link {
  readonly kind = 'tcp' as const;
  readonly board: string;
  /** `tcp://host:port`. */
  readonly address: string;
  readonly presence: BoardPresence = 'unknown';
  readonly helloOnReconnect = false;
  private readonly options: TcpLinkOptions;
  private readonly clock: Clock;
  private readonly stream: ByteStreamReceiver;
  private socket: Socket | undefined;
  /** The last connection went down on its own: the next `open()` is a reconnection. */
  private lost = false;

  constructor(options: TcpLinkOptions) {
    super();
    if (!options.host) throw new TypeError('TcpLink: host is required');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new TypeError(`TcpLink: port must be a TCP port (1-65535), got ${options.port}`);
    const idle = idleFlushOption('TcpLink', options.idleFlushMs);
    this.options = options;
    this.board = options.board;
    this.address = tcpUrl(options);
    this.clock = options.clock ?? systemClock;
    this.stream = new ByteStreamReceiver(this, this.clock, idle);
  }

  get isOpen(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const { board, host, port } = this.options;
    const timeoutMs = this.options.connectTimeoutMs ?? 5000;
    const socket = await connectTcp({ host, port, timeoutMs, clock: this.clock }).catch((e: unknown) => {
      throw tcpConnectError(board, { host, port }, e, timeoutMs);
    });
    this.socket = socket;
    this.stream.restart(); // nothing half-read from an earlier connection survives
    let failure: Error | undefined;
    socket.on('data', (chunk: Buffer) => this.stream.receive(chunk));
    socket.on('error', (e) => {
      failure = e; // reported through 'close' (or the failing write)
    });
    socket.on('close', () => {
      // close() forgets its socket first: only a connection that went down on its own gets here.
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.stream.flush(); // the stream ended: a last line without its newline (a panic) still comes out
      this.stream.counters.disconnects++;
      this.lost = true;
      this.emit('disconnect', `the TCP connection to ${this.address} closed${failure ? ` (${failure.message})` : ''}: the emulator or ser2net stopped, or the network dropped it`);
    });
    if (this.lost) {
      this.lost = false;
      this.emit('reconnect');
    }
  }

  async send(frame: Uint8Array): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) throw new LabError('link-down', `board ${this.board}: the TCP connection to ${this.address} is not open (the emulator or ser2net closed it, or the link closed): reconnect the board`);
    await new Promise<void>((resolve, reject) => {
      socket.write(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), (e) => {
        if (e) reject(new LabError('link-down', `board ${this.board}: writing to ${this.address} failed (${e.message}): check that the emulator or ser2net still runs`, { cause: e }));
        else resolve();
      });
    });
    this.stream.sent(frame);
  }

  /** One LF, outside any frame (Link.nudge): it goes after whatever was written before it. */
  async nudge(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => socket.write(NUDGE, () => resolve()));
    this.stream.counters.bytesOut += NUDGE.length;
  }

  /** No modem lines over a raw TCP port: the caller needs another way (the session's power switch). */
  async hardwareReset(): Promise<boolean> {
    return false;
  }

  async close(): Promise<void> {
    this.stream.stopIdleTimer();
    const socket = this.socket;
    this.socket = undefined;
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
}
