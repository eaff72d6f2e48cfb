/**
 * The hardware boundary between the harness and a board: one types-only interface with promise
 * methods and typed events (CONVENTIONS.md: node-serialport's binding interface, MQTT.js v5's
 * typed events), implemented over a serial device (serial-link.ts), a raw TCP serial port
 * (tcp-link.ts) and MQTT (mqtt-link.ts).
 *
 * A link moves whole protocol frames (firmware/protocol/PROTOCOL.md): it never hands out a raw
 * serial chunk as a message. What it does not understand it reports (`log` for board text,
 * `frame-error` for damaged frames); the board session above it gives frames their meaning.
 */
import type { DecodeErrorReason, Frame } from '../protocol/index.js';

/**
 * `tcp`: the board's UART bytes over one TCP connection (an emulator, ser2net raw); `rfc2217`: the
 * same inside telnet with the port's baud rate and DTR/RTS (ser2net telnet(rfc2217)). Both are byte
 * streams like `serial`.
 */
export type LinkKind = 'serial' | 'tcp' | 'rfc2217' | 'mqtt';

/** A frame candidate the link rejected: on serial and TCP a decoder error, on MQTT a message that is not one valid frame. */
export interface LinkFrameError {
  reason: DecodeErrorReason | 'trailing-bytes';
  /** Present when the frame's header passed its CRC, so the request it answers is known. */
  type?: number;
  requestId?: number;
  /**
   * MQTT: the damaged bytes were one whole message, which carries exactly one frame (PROTOCOL.md
   * section 6), so even with an unreadable header it answered the oldest request in flight (or was
   * a HELLO). On serial, bytes without a valid header cannot be attributed to anything.
   */
  wholeMessage?: boolean;
  detail?: string;
}

/** Whether the board is reachable, as far as the link can tell (MQTT: its retained status). */
export type BoardPresence = 'online' | 'offline' | 'unknown';

export interface LinkEvents {
  /** One complete frame with valid CRCs, as sent by the board. */
  frame: [frame: Frame];
  /** One line of board log text (boot banner, ESP-IDF log), without its line terminator. */
  log: [line: string];
  'frame-error': [error: LinkFrameError];
  /** The link went down without `close()`: a USB unplug, the broker connection lost. */
  disconnect: [reason: string];
  /** The link is up again after a `disconnect` (MQTT reconnects on its own; serial and TCP after `open()`). */
  reconnect: [];
  /** MQTT only: the board's retained status changed (`online` on connect, Last Will `offline`). */
  presence: [presence: BoardPresence];
}

export interface LinkStats {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  logLines: number;
  frameErrors: number;
  disconnects: number;
}

export interface Link {
  readonly kind: LinkKind;
  /** The board's id in rigs.json (errors name it). */
  readonly board: string;
  /** Device path, `tcp://host:port` or MQTT topic prefix. */
  readonly address: string;
  readonly isOpen: boolean;
  /** MQTT: the board's retained status; serial and TCP: always 'unknown'. */
  readonly presence: BoardPresence;
  /**
   * Whether the board sends a HELLO on a new connection without having rebooted (MQTT: after each
   * reconnection to the broker, PROTOCOL.md section 6). On serial and TCP every HELLO is a boot.
   */
  readonly helloOnReconnect: boolean;

  /** Opens (or reopens after a disconnect). Rejects with a LabError naming the board and the fix. */
  open(): Promise<void>;
  /** Sends one complete frame. Rejects with a LabError when the link is down or the send times out. */
  send(frame: Uint8Array): Promise<void>;
  /**
   * Resets the chip with the link's own means (serial DTR/RTS). Resolves false when the link has
   * none (a PTY has no modem lines, a raw TCP port and MQTT have none at all): the caller then
   * needs another way.
   */
  hardwareReset(): Promise<boolean>;
  /**
   * Byte-stream links: writes one LF, a byte outside any frame that a board's decoder drops as an
   * empty line (PROTOCOL.md section 2). The session uses it for emulated boards only
   * (BoardSessionOptions.nudgeAfterMs says why).
   */
  nudge?(): Promise<void>;
  close(): Promise<void>;
  stats(): LinkStats;

  on<K extends keyof LinkEvents>(event: K, listener: (...args: LinkEvents[K]) => void): this;
  off<K extends keyof LinkEvents>(event: K, listener: (...args: LinkEvents[K]) => void): this;
}

/** Timers as a link or session uses them, injectable so unit tests run on fake time (MQTT.js v5 habit). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export function emptyStats(): LinkStats {
  return { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, logLines: 0, frameErrors: 0, disconnects: 0 };
}
