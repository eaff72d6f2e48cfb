/**
 * What every link over a byte stream does with the board's bytes - a serial device (serial-link.ts)
 * and a raw TCP serial port (tcp-link.ts) carry the same UART stream: it goes through the protocol's
 * `FrameDecoder`, which splits it into frames and board log lines wherever the reads cut it
 * (CONVENTIONS.md: never treat a raw chunk as a message); after `idleFlushMs` without input the
 * decoder is flushed (PROTOCOL.md section 2 rule 6), so a frame cut short by a reset is reported and
 * a log line without its newline (a panic, a prompt) comes out. The link's counters live here too.
 */
import type { EventEmitter } from 'node:events';
import { FrameDecoder, type DecoderEvent } from '../protocol/index.js';
import type { Clock, LinkEvents, LinkStats } from './link.js';
import { emptyStats } from './link.js';


export class ByteStreamReceiver {
  /** The link's counters: bytes and frames both ways, log lines, frame errors, disconnects. */
  readonly counters: LinkStats = emptyStats();
  private decoder = new FrameDecoder();
  private idleTimer: unknown;

  constructor(
    /** The link: `frame`, `log` and `frame-error` are emitted on it. */
    private readonly link: Pick<EventEmitter<LinkEvents>, 'emit'>,
    private readonly clock: Clock,
    private readonly idleFlushMs: number,
  ) {}

  /** A new connection: nothing half-read from an earlier one survives. */
  restart(): void {
    this.stopIdleTimer();
    this.decoder = new FrameDecoder();
  }

  /** Bytes as they came off the wire, however split or merged. */
  receive(chunk: Uint8Array): void {
    this.counters.bytesIn += chunk.length;
    this.deliver(this.decoder.push(chunk));
    this.stopIdleTimer();
    if (this.decoder.bufferedBytes > 0) {
      this.idleTimer = this.clock.setTimeout(() => {
        this.idleTimer = undefined;
        this.deliver(this.decoder.flush());
      }, this.idleFlushMs);
    }
  }

  /** The stream ended (close): what was half-received is not lost silently (a partial line, a truncated frame). */
  flush(): void {
    this.stopIdleTimer();
    this.deliver(this.decoder.flush());
  }

  /** One frame went out whole. */
  sent(frame: Uint8Array): void {
    this.counters.bytesOut += frame.length;
    this.counters.framesOut++;
  }

  stopIdleTimer(): void {
    if (this.idleTimer !== undefined) this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private deliver(events: DecoderEvent[]): void {
    for (const e of events) {
      if (e.kind === 'frame') {
        this.counters.framesIn++;
        this.link.emit('frame', e.frame);
      } else if (e.kind === 'log') {
        this.counters.logLines++;
        this.link.emit('log', e.line);
      } else {
        this.counters.frameErrors++;
        this.link.emit('frame-error', { reason: e.reason, ...(e.type !== undefined ? { type: e.type } : {}), ...(e.requestId !== undefined ? { requestId: e.requestId } : {}) });
      }
    }
  }
}

/** `idleFlushMs` checked up front (default 100 ms, PROTOCOL.md section 2). */
export function idleFlushOption(owner: string, value: number | undefined): number {
  const idle = value ?? 100;
  if (!Number.isFinite(idle) || idle <= 0) throw new TypeError(`${owner}: idleFlushMs must be a positive number, got ${idle}`);
  return idle;
}
