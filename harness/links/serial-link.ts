/**
 * A board on a serial device (USB-UART bridge, USB-Serial-JTAG `/dev/ttyACM*`, a PTY of the
 * simulated fleet), over node-serialport. Bytes go through the protocol's `FrameDecoder`
 * (byte-stream.ts, shared with the TCP link): frames and board log lines come out whole wherever
 * chunks were cut, and a stream idle for `idleFlushMs` is flushed.
 */
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { LabError } from '../errors.js';
import type { BoardPresence, Clock, Link, LinkEvents, LinkStats } from './link.js';
import { systemClock } from './link.js';
import { ByteStreamReceiver, idleFlushOption } from './byte-stream.js';
import { serialOpenError } from './serial-errors.js';

export interface SerialLinkOptions {
  board: string;
  path: string;
  baudRate: number;
  /** How DTR/RTS reach the chip (rigs.json `reset`): a USB-UART bridge's auto-reset circuit, or USB-Serial-JTAG. */
  reset?: 'classic' | 'usb-jtag';
  /** Flush the decoder after this long without input (default 100 ms, PROTOCOL.md section 2). */
  idleFlushMs?: number;
  clock?: Clock;
}

export class SerialLink extends EventEmitter<LinkEvents> implements Link {
  readonly kind = 'serial' as const;
  readonly board: string;
  readonly address: string;
  readonly presence: BoardPresence = 'unknown';
  readonly helloOnReconnect = false;
  private readonly options: SerialLinkOptions;
  private readonly clock: Clock;
  private readonly stream: ByteStreamReceiver;
  private port: SerialPort | undefined;
  private closing = false;
  private lostOnce = false;
  /** False once DTR/RTS were found missing (a PTY): later resets do not try again. */
  private modemLines = true;

  constructor(options: SerialLinkOptions) {
    super();
    if (!options.path) throw new TypeError('SerialLink: path is required');
    if (!Number.isInteger(options.baudRate) || options.baudRate <= 0) throw new TypeError(`SerialLink: baudRate must be a positive integer, got ${options.baudRate}`);
    const idle = idleFlushOption('SerialLink', options.idleFlushMs);
    this.options = options;
    this.board = options.board;
    this.address = options.path;
    this.clock = options.clock ?? systemClock;
    this.stream = new ByteStreamReceiver(this, this.clock, idle);
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const { path, baudRate, board } = this.options;
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(serialOpenError(board, path, e)) : resolve())));
    this.port = port;
    this.closing = false;
    this.stream.restart(); // nothing half-read from an earlier connection survives
    port.on('data', (chunk: Buffer) => this.receive(chunk));
    port.on('error', () => undefined); // reported through 'close' (or the failing write)
    port.on('close', (e?: Error & { disconnected?: boolean }) => {
      this.stream.stopIdleTimer();
      if (this.port === port) this.port = undefined;
      if (this.closing) return;
      this.stream.counters.disconnects++;
      this.lostOnce = true;
      this.emit('disconnect', `serial port ${path} closed${e?.disconnected ? ' (the device went away: unplugged or re-enumerated)' : e ? ` (${e.message})` : ''}`);
    });
    if (this.lostOnce) this.emit('reconnect');
  }

  async send(frame: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) throw new LabError('link-down', `board ${this.board}: serial port ${this.address} is not open (the board was unplugged or the link closed): reconnect the board`);
    await new Promise<void>((resolve, reject) => {
      port.write(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), (e) => {
        if (e) reject(new LabError('link-down', `board ${this.board}: writing to ${this.address} failed (${e.message}): check the cable`, { cause: e }));
        else resolve();
      });
    });
    this.stream.sent(frame);
  }

  /**
   * The EN pin through RTS, as esptool's HardReset does (espressif/esptool esptool/reset.py):
   * RTS asserted holds EN low; DTR stays released so GPIO0 is high and the chip boots the app.
   * USB-Serial-JTAG needs longer pulses for its emulated lines. A PTY has no modem lines: setting
   * them fails with "Inappropriate ioctl for device" (FACTS.md), which means "unavailable" here.
   */
  async hardwareReset(): Promise<boolean> {
    const port = this.port;
    if (!port?.isOpen || !this.modemLines) return false;
    const set = (rts: boolean) => new Promise<void>((resolve, reject) => port.set({ dtr: false, rts }, (e) => (e ? reject(e) : resolve())));
    const usb = this.options.reset === 'usb-jtag';
    try {
      await set(true);
      await this.sleep(usb ? 200 : 100);
      await set(false);
      if (usb) await this.sleep(200);
      return true;
    } catch (e) {
      if (/inappropriate ioctl|not a typewriter|enotty/i.test((e as Error).message)) {
        this.modemLines = false;
        return false;
      }
      throw new LabError('link-reset', `board ${this.board}: resetting through DTR/RTS on ${this.address} failed (${(e as Error).message}): press the board's EN button, or check rigs.json "reset"`, { cause: e });
    }
  }

  async close(): Promise<void> {
    this.stream.stopIdleTimer();
    const port = this.port;
    this.port = undefined;
    if (!port?.isOpen) return;
    this.closing = true;
    await new Promise<void>((resolve) => port.close(() => resolve()));
    this.stream.flush();
  }

  stats(): LinkStats {
    return { ...this.stream.counters };
  }

  /** Exposed for tests: feed bytes as if they came from the port. */
  receive(chunk: Uint8Array): void {
    this.stream.receive(chunk);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }
}
