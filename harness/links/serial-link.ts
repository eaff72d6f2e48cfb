/**
 * A board on a serial device (USB-UART bridge, USB-Serial-JTAG `/dev/ttyACM*`, a PTY of the
 * simulated fleet), over node-serialport. Bytes go through the protocol's `FrameDecoder`, which
 * splits the stream into frames and board log lines wherever chunks were cut (CONVENTIONS.md:
 * never treat a raw chunk as a message); after `idleFlushMs` without input the decoder is flushed
 * (PROTOCOL.md section 2 rule 6), so a frame cut short by a reset is reported and a log line
 * without its newline (a panic, a prompt) comes out.
 */
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { LabError } from '../errors.js';
import { FrameDecoder, type DecoderEvent } from '../protocol/index.js';
import type { BoardPresence, Clock, Link, LinkEvents, LinkStats } from './link.js';
import { emptyStats, systemClock } from './link.js';
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
  private readonly idleFlushMs: number;
  private port: SerialPort | undefined;
  private decoder = new FrameDecoder();
  private idleTimer: unknown;
  private closing = false;
  private lostOnce = false;
  /** False once DTR/RTS were found missing (a PTY): later resets do not try again. */
  private modemLines = true;
  private readonly counters: LinkStats = emptyStats();

  constructor(options: SerialLinkOptions) {
    super();
    if (!options.path) throw new TypeError('SerialLink: path is required');
    if (!Number.isInteger(options.baudRate) || options.baudRate <= 0) throw new TypeError(`SerialLink: baudRate must be a positive integer, got ${options.baudRate}`);
    const idle = options.idleFlushMs ?? 100;
    if (!Number.isFinite(idle) || idle <= 0) throw new TypeError(`SerialLink: idleFlushMs must be a positive number, got ${idle}`);
    this.options = options;
    this.board = options.board;
    this.address = options.path;
    this.clock = options.clock ?? systemClock;
    this.idleFlushMs = idle;
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
    this.decoder = new FrameDecoder(); // nothing half-read from an earlier connection survives
    port.on('data', (chunk: Buffer) => this.receive(chunk));
    port.on('error', () => undefined); // reported through 'close' (or the failing write)
    port.on('close', (e?: Error & { disconnected?: boolean }) => {
      this.clearIdle();
      if (this.port === port) this.port = undefined;
      if (this.closing) return;
      this.counters.disconnects++;
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
    this.counters.bytesOut += frame.length;
    this.counters.framesOut++;
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
    this.clearIdle();
    const port = this.port;
    this.port = undefined;
    if (!port?.isOpen) return;
    this.closing = true;
    await new Promise<void>((resolve) => port.close(() => resolve()));
    // What was half-received is not lost silently: emit it (a partial line, a truncated frame).
    this.deliver(this.decoder.flush());
  }

  stats(): LinkStats {
    return { ...this.counters };
  }

  /** Exposed for tests: feed bytes as if they came from the port. */
  receive(chunk: Uint8Array): void {
    this.counters.bytesIn += chunk.length;
    this.deliver(this.decoder.push(chunk));
    this.clearIdle();
    if (this.decoder.bufferedBytes > 0) {
      this.idleTimer = this.clock.setTimeout(() => {
        this.idleTimer = undefined;
        this.deliver(this.decoder.flush());
      }, this.idleFlushMs);
    }
  }

  private deliver(events: DecoderEvent[]): void {
    for (const e of events) {
      if (e.kind === 'frame') {
        this.counters.framesIn++;
        this.emit('frame', e.frame);
      } else if (e.kind === 'log') {
        this.counters.logLines++;
        this.emit('log', e.line);
      } else {
        this.counters.frameErrors++;
        this.emit('frame-error', { reason: e.reason, ...(e.type !== undefined ? { type: e.type } : {}), ...(e.requestId !== undefined ? { requestId: e.requestId } : {}) });
      }
    }
  }

  private clearIdle(): void {
    if (this.idleTimer !== undefined) this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }
}
