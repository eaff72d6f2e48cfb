/**
 * The board's side of a serial line over a PTY: what a simulated ESP32-S3's UART (or USB-Serial-JTAG)
 * puts on the wire and takes off it.
 *
 * - It honours the baud rate the host configured on the device (`Pty.baudRate()`; on Linux master and
 *   slave share one termios, see harness/sim/pty/pty.c), at 10 bits per byte (8N1: start + 8 data +
 *   stop), in both directions, so a slow link really is slow and bench numbers mean something. A PTY
 *   itself moves 1 MB in ~30 ms (FACTS.md), so without this every baud rate would look the same.
 * - It counts the bytes each way (the flash bench reads them).
 * - It can inject faults: drop / corrupt bytes with a seeded probability, stall, disconnect.
 *
 * Timing is kept on a virtual line clock per direction (`lineFreeAt`), so late timers do not add up:
 * a chunk is delivered when its last bit would have arrived, whatever the timer jitter before it.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';

/** What the wire needs from a PTY (harness/sim/pty `Pty` satisfies it). */
export interface WireEnd {
  readonly stream: Duplex;
  /** Baud rate the host configured (-1 or 0 when unknown). */
  baudRate(): number;
}

export type WireDirection = 'to-board' | 'to-host' | 'both';

export interface WireFaults {
  /** Seed of the fault generator: the same seed and traffic give the same faults. */
  seed?: number;
  /** Probability in [0, 1] that a byte is lost. */
  drop?: number;
  /** Probability in [0, 1] that a byte arrives with one bit flipped. */
  corrupt?: number;
  /** Which direction the faults hit (default both). */
  direction?: WireDirection;
}

export interface SerialWireOptions {
  /** Throttle to the configured baud rate (default true). Off: bytes pass as fast as the PTY moves them. */
  throttle?: boolean;
  /** Baud rate assumed when the host configured a non-standard or no rate (default 115200, the S3 ROM's). */
  fallbackBaud?: number;
  faults?: WireFaults;
  /**
   * Hold the board's output until a host opens the device. Nothing tells a PTY's master that the
   * slave was opened, and serialport flushes what is buffered when it opens a port, so a board that
   * booted before anyone listened would lose its boot log. With this set, the creator has left the
   * terminal at `closedBaud` (a rate no host uses, e.g. 50); the first time the host's baud differs,
   * the host has opened and configured the device, and the held bytes (up to `maxBytes`, the oldest
   * kept; default 64 KiB) are sent - like a USB-Serial-JTAG console that keeps its output until the
   * host opens the port.
   */
  holdUntilOpen?: { closedBaud: number; maxBytes?: number };
}

/** A slower line than the baud rate says (a congested USB hub, a remote serial server): `slow-link` faults. */
export interface LinkLimit {
  /** Payload bytes per second, at most (both directions). */
  bytesPerSecond?: number;
  /** Extra one-way delay of every byte. */
  latencyMs?: number;
}

export interface WireStats {
  /** Bytes the host sent (counted as they enter the wire, before faults). */
  bytesToBoard: number;
  /** Bytes the board sent (counted as they enter the wire, before faults). */
  bytesToHost: number;
  droppedBytes: number;
  corruptedBytes: number;
  /** Bytes garbled because host and board ran the line at different baud rates. */
  baudMismatchBytes: number;
}

export interface SerialWireEvents {
  /** Bytes from the host, delivered when they would have finished arriving at the configured baud. */
  data: [bytes: Uint8Array];
  disconnect: [];
  reconnect: [];
  /** The host opened the device (only with `holdUntilOpen`). */
  open: [];
}

/** 8N1 framing: a start bit, 8 data bits, a stop bit. */
export const BITS_PER_BYTE = 10;
/** Bytes queued towards the board before the PTY is paused (back-pressure reaches the host's writes). */
const HIGH_WATER = 64 * 1024;
/** Bytes are delivered in slices of about this many milliseconds of line time, like a real UART FIFO. */
const SLICE_MS = 1;

interface Slice {
  bytes: Uint8Array;
  at: number;
}

/** mulberry32: a tiny seeded PRNG; good enough to decide which bytes a fault hits. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One direction of the line: a queue of slices with their arrival times on a virtual line clock. */
class Lane {
  private queue: Slice[] = [];
  private queued = 0;
  private lineFreeAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly wire: SerialWire,
    private readonly deliver: (bytes: Uint8Array) => void,
    private readonly onDrained: () => void,
  ) {}

  get pendingBytes(): number {
    return this.queued;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const latency = this.wire.latencyMs;
    if (!this.wire.throttled && this.queue.length === 0 && !this.wire.isStalled() && latency === 0) {
      this.deliver(bytes);
      return;
    }
    const now = performance.now();
    const baud = this.wire.lineBaud();
    const msPerByte = (BITS_PER_BYTE * 1000) / baud;
    const sliceBytes = Math.max(16, Math.floor(SLICE_MS / msPerByte));
    let t = Math.max(now + latency, this.lineFreeAt);
    for (let i = 0; i < bytes.length; i += sliceBytes) {
      const part = bytes.subarray(i, Math.min(bytes.length, i + sliceBytes));
      if (this.wire.throttled) t += part.length * msPerByte;
      this.queue.push({ bytes: part, at: t });
      this.queued += part.length;
    }
    this.lineFreeAt = t;
    this.schedule();
  }

  /** Forget everything in flight (a disconnect). */
  clear(): void {
    this.queue = [];
    this.queued = 0;
    this.lineFreeAt = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.onDrained();
  }

  /** Push every slice's arrival time back by `ms` (a stall). */
  delay(ms: number): void {
    for (const s of this.queue) s.at += ms;
    if (this.lineFreeAt > 0) this.lineFreeAt += ms;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0]!.at - performance.now(), this.wire.stallRemaining());
    this.timer = setTimeout(() => this.pump(), wait);
  }

  private pump(): void {
    this.timer = undefined;
    if (this.wire.isStalled()) {
      this.schedule();
      return;
    }
    // Deliver everything due (within half a millisecond), merged, so slow timers do not fragment it.
    const now = performance.now() + 0.5;
    const due: Uint8Array[] = [];
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const s = this.queue.shift()!;
      this.queued -= s.bytes.length;
      due.push(s.bytes);
    }
    if (due.length > 0) this.deliver(due.length === 1 ? due[0]! : Buffer.concat(due));
    if (this.queue.length === 0) this.onDrained();
    this.schedule();
  }
}

export class SerialWire extends EventEmitter<SerialWireEvents> {
  private readonly end: WireEnd;
  private readonly fallbackBaud: number;
  private throttleOn: boolean;
  private faults: Required<WireFaults> | undefined;
  private random: () => number = Math.random;
  private stalledUntil = 0;
  private connectedFlag = true;
  private closed = false;
  private paused = false;
  private boardBaud: number | undefined;
  private hostFollows = false;
  private readonly counters: WireStats = { bytesToBoard: 0, bytesToHost: 0, droppedBytes: 0, corruptedBytes: 0, baudMismatchBytes: 0 };
  private readonly toBoard: Lane;
  private readonly toHost: Lane;
  private readonly drainWaiters: Array<() => void> = [];
  private readonly onHostData = (chunk: Buffer): void => this.fromHost(new Uint8Array(chunk));
  private limit: LinkLimit = {};
  private hold: { closedBaud: number; maxBytes: number; bytes: Uint8Array[]; size: number; dropped: number; timer: NodeJS.Timeout | undefined } | undefined;

  constructor(end: WireEnd, options: SerialWireOptions = {}) {
    super();
    const fallback = options.fallbackBaud ?? 115200;
    if (!Number.isFinite(fallback) || fallback <= 0) {
      throw new TypeError(`SerialWire: fallbackBaud must be a positive number, got ${fallback}`);
    }
    this.end = end;
    this.fallbackBaud = fallback;
    this.throttleOn = options.throttle ?? true;
    this.setFaults(options.faults);
    this.toBoard = new Lane(this, (b) => this.emit('data', b), () => this.resumeIfLow());
    this.toHost = new Lane(this, (b) => this.end.stream.write(b), () => this.notifyDrained());
    end.stream.on('data', this.onHostData);
    if (options.holdUntilOpen) {
      const { closedBaud, maxBytes = 64 * 1024 } = options.holdUntilOpen;
      this.hold = { closedBaud, maxBytes, bytes: [], size: 0, dropped: 0, timer: undefined };
      this.hold.timer = setInterval(() => this.checkOpened(), 50);
      this.hold.timer.unref();
    }
  }

  /** True while output is held because no host has opened the device yet (`holdUntilOpen`). */
  get holding(): boolean {
    return this.hold !== undefined;
  }

  /** Bytes `holdUntilOpen` could not keep (over `maxBytes`). */
  get heldBytesDropped(): number {
    return this.hold?.dropped ?? this.droppedWhileHeld;
  }

  private droppedWhileHeld = 0;

  private checkOpened(): boolean {
    const h = this.hold;
    if (!h) return true;
    if (this.closed) {
      clearInterval(h.timer);
      return false;
    }
    const baud = this.end.baudRate();
    if (baud === h.closedBaud || baud <= 0) return false;
    clearInterval(h.timer);
    this.hold = undefined;
    this.droppedWhileHeld = h.dropped;
    for (const b of h.bytes) if (this.connectedFlag) this.toHost.push(this.applyFaults(b, 'to-host'));
    this.emit('open');
    return true;
  }

  /** Limit the line below its baud rate and/or add latency (both directions); `{}` lifts it. */
  setLinkLimit(limit: LinkLimit): void {
    if (limit.bytesPerSecond !== undefined && !(limit.bytesPerSecond > 0)) {
      throw new TypeError(`SerialWire: bytesPerSecond must be positive, got ${limit.bytesPerSecond}`);
    }
    if (limit.latencyMs !== undefined && !(limit.latencyMs >= 0)) {
      throw new TypeError(`SerialWire: latencyMs must be >= 0, got ${limit.latencyMs}`);
    }
    this.limit = { ...limit };
  }

  get latencyMs(): number {
    return this.limit.latencyMs ?? 0;
  }

  /** The rate bytes move at: the baud rate, or less under a link limit. */
  lineBaud(): number {
    const baud = this.effectiveBaud();
    return this.limit.bytesPerSecond !== undefined ? Math.min(baud, this.limit.bytesPerSecond * BITS_PER_BYTE) : baud;
  }

  /** Send bytes from the board to the host (throttled, order kept). */
  write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.counters.bytesToHost += bytes.length;
    if (!this.connectedFlag) return;
    const h = this.hold;
    if (h && !this.checkOpened()) {
      const room = h.maxBytes - h.size;
      if (room < bytes.length) h.dropped += bytes.length - Math.max(0, room);
      if (room > 0) {
        h.bytes.push(bytes.slice(0, room));
        h.size += Math.min(room, bytes.length);
      }
      return;
    }
    const out = this.applyFaults(bytes, 'to-host');
    this.toHost.push(out);
  }

  /** Resolves once every byte the board wrote has reached the host side of the PTY. */
  flush(): Promise<void> {
    if (this.toHost.pendingBytes === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  get stats(): WireStats {
    return { ...this.counters };
  }

  resetStats(): void {
    this.counters.bytesToBoard = 0;
    this.counters.bytesToHost = 0;
    this.counters.droppedBytes = 0;
    this.counters.corruptedBytes = 0;
    this.counters.baudMismatchBytes = 0;
  }

  /**
   * The baud rate the board's UART runs at, or undefined when it follows the host (the ROM autobauds
   * on SYNC; a USB-Serial-JTAG console has no baud rate). When host and board differ by more than 5 %
   * every byte arrives garbled, as on a real UART - e.g. a flasher that reopens the port at 115200
   * while the esptool stub still talks at 2 Mbaud.
   */
  setBoardBaud(baud: number | undefined): void {
    this.boardBaud = baud;
  }

  get boardBaudRate(): number | undefined {
    return this.boardBaud;
  }

  /**
   * The host end has no rate of its own: a raw TCP serial port (harness/sim/tcp-port.ts), like the
   * byte pipe of QEMU's `-serial tcp:`. The line then runs at the board's UART rate whatever the
   * device's termios says (the device's rate only while the board follows its host: the ROM
   * autobauding), and no rate mismatch can garble it - so esptool's CHANGE_BAUDRATE needs no host
   * side, as on an emulated board.
   */
  setHostFollowsBoard(on: boolean): void {
    this.hostFollows = on;
  }

  get throttled(): boolean {
    return this.throttleOn;
  }

  setThrottle(on: boolean): void {
    this.throttleOn = on;
  }

  /** The rate the line runs at now: the host's setting (the board's, when the host follows it), or the fallback when it set none we know. */
  effectiveBaud(): number {
    if (this.hostFollows && this.boardBaud !== undefined && !this.closed) return this.boardBaud;
    const b = this.closed ? -1 : this.end.baudRate();
    return b > 0 ? b : this.fallbackBaud;
  }

  setFaults(faults: WireFaults | undefined | null): void {
    if (!faults) {
      this.faults = undefined;
      return;
    }
    for (const key of ['drop', 'corrupt'] as const) {
      const p = faults[key] ?? 0;
      if (!(p >= 0 && p <= 1)) throw new TypeError(`SerialWire: faults.${key} must be a probability in [0, 1], got ${p}`);
    }
    this.faults = { seed: faults.seed ?? 1, drop: faults.drop ?? 0, corrupt: faults.corrupt ?? 0, direction: faults.direction ?? 'both' };
    this.random = seededRandom(this.faults.seed);
  }

  /** Nothing moves in either direction for `ms` (bytes already sent arrive late, none are lost). */
  stall(ms: number): void {
    if (!(ms >= 0)) throw new TypeError(`SerialWire: stall(ms) needs a non-negative duration, got ${ms}`);
    const now = performance.now();
    const extra = Math.max(0, now + ms - Math.max(now, this.stalledUntil));
    this.stalledUntil = Math.max(this.stalledUntil, now + ms);
    this.toBoard.delay(extra);
    this.toHost.delay(extra);
  }

  isStalled(): boolean {
    return performance.now() < this.stalledUntil;
  }

  stallRemaining(): number {
    return Math.max(0, this.stalledUntil - performance.now());
  }

  get connected(): boolean {
    return this.connectedFlag;
  }

  /** The cable is pulled: bytes in flight are lost, nothing passes until `reconnect()`. */
  disconnect(): void {
    if (!this.connectedFlag) return;
    this.connectedFlag = false;
    this.toBoard.clear();
    this.toHost.clear();
    this.emit('disconnect');
  }

  reconnect(): void {
    if (this.connectedFlag) return;
    this.connectedFlag = true;
    this.emit('reconnect');
  }

  /** Stop listening to the PTY (the PTY itself belongs to the caller). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.hold) clearInterval(this.hold.timer);
    this.end.stream.off('data', this.onHostData);
    this.toBoard.clear();
    this.toHost.clear();
    if (this.paused) this.end.stream.resume();
  }

  private fromHost(bytes: Uint8Array): void {
    if (this.closed) return;
    this.counters.bytesToBoard += bytes.length;
    if (!this.connectedFlag) return;
    this.toBoard.push(this.applyFaults(bytes, 'to-board'));
    if (!this.paused && this.toBoard.pendingBytes > HIGH_WATER) {
      this.paused = true;
      this.end.stream.pause();
    }
  }

  private resumeIfLow(): void {
    if (this.paused && !this.closed) {
      this.paused = false;
      this.end.stream.resume();
    }
  }

  private notifyDrained(): void {
    for (const w of this.drainWaiters.splice(0)) w();
  }

  private applyFaults(bytes: Uint8Array, dir: 'to-board' | 'to-host'): Uint8Array {
    if (this.boardBaud !== undefined && !this.hostFollows && Math.abs(this.effectiveBaud() - this.boardBaud) > 0.05 * this.boardBaud) {
      this.counters.baudMismatchBytes += bytes.length;
      // What a UART sampling at the wrong rate makes of a byte: unrelated bits (framing errors).
      return bytes.map((b, i) => (b * 167 + i * 89 + 0x5a) & 0xff);
    }
    const f = this.faults;
    if (!f || (f.direction !== 'both' && f.direction !== dir) || (f.drop === 0 && f.corrupt === 0)) return bytes;
    const out: number[] = [];
    for (const b of bytes) {
      if (f.drop > 0 && this.random() < f.drop) {
        this.counters.droppedBytes++;
        continue;
      }
      if (f.corrupt > 0 && this.random() < f.corrupt) {
        this.counters.corruptedBytes++;
        out.push(b ^ (1 << Math.floor(this.random() * 8)));
        continue;
      }
      out.push(b);
    }
    return Uint8Array.from(out);
  }
}
