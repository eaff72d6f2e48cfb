/**
 * One request and the frames that answered it, as they crossed a serial line. Both sides of the
 * replay test talk to their board the same way: write a request's bytes, then take every frame the
 * board sends until the final reply (no MORE) for that request's id (PROTOCOL.md section 3: "a
 * link can complete any request without knowing its type").
 */
import { FrameDecoder, HEADER_SIZE, MessageType, crc16, encodeFrame, type DecoderEvent } from '../../../harness/protocol/index.js';

export interface Exchange {
  /** The bytes the host wrote (a frame, or a damaged one). */
  request: Uint8Array;
  /** The complete frames the board sent in answer, in order. */
  replies: Uint8Array[];
}

/**
 * The request id a board can trust in `bytes`: the header's, when its CRC-16 checks out. A frame
 * with a damaged header has none, and nothing can answer it (PROTOCOL.md "Damaged requests").
 */
export function trustedRequestId(bytes: Uint8Array): number | null {
  if (bytes.length < HEADER_SIZE || bytes[0] !== 0xf5 || bytes[1] !== 0xa5) return null;
  if (crc16(bytes, 0, 10) !== (bytes[10]! | (bytes[11]! << 8))) return null;
  return bytes[6]! | (bytes[7]! << 8);
}

const requestIdOf = (frame: Uint8Array): number => frame[6]! | (frame[7]! << 8);
const isFinal = (frame: Uint8Array): boolean => (frame[4]! & 0x02) === 0;
const isHello = (frame: Uint8Array): boolean => frame[3] === MessageType.HELLO && requestIdOf(frame) === 0;

export interface CollectOptions {
  /** Longest wait for a request's final reply. */
  timeoutMs: number;
  /** How long to listen after a request nobody can answer (damaged header) before moving on. */
  quietMs: number;
  /**
   * Emulated boards: after this long without a byte from the board, write one LF, then after twice
   * as long, and so on - what the lab's session does (BoardSessionOptions.nudgeAfterMs: QEMU can
   * hold a request's last bytes in its UART FIFO until another byte arrives).
   */
  nudgeAfterMs?: number;
}

/**
 * Reads a board's output (frames among log lines) and splits it into exchanges. HELLOs (request
 * id 0) are the board booting, not replies: they are kept apart.
 */
export class ReplyCollector {
  private readonly decoder = new FrameDecoder();
  private readonly pending: Uint8Array[] = [];
  private readonly waiters: Array<() => void> = [];
  readonly hellos: Uint8Array[] = [];
  readonly logLines: string[] = [];
  /** LFs written by `exchange` to a silent board (CollectOptions.nudgeAfterMs). */
  nudges = 0;
  private lastHeard = 0;

  /** Bytes the board wrote (any chunking). */
  push(bytes: Uint8Array): void {
    this.lastHeard = Date.now();
    this.take(this.decoder.push(bytes));
  }

  private take(events: DecoderEvent[]): void {
    for (const e of events) {
      if (e.kind === 'frame') {
        const frame = encodeFrame(e.frame);
        if (isHello(frame)) this.hellos.push(frame);
        else this.pending.push(frame);
      } else if (e.kind === 'log') {
        this.logLines.push(e.line);
      } else {
        this.logLines.push(`<damaged frame from the board: ${e.reason}>`);
      }
    }
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `done()` holds, or rejects after `timeoutMs`. */
  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`${what}: nothing after ${timeoutMs} ms; frames so far ${this.pending.length}, last log lines: ${this.logLines.slice(-5).join(' | ')}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Writes `request` and collects its replies: every frame up to its final reply. */
  async exchange(request: Uint8Array, write: (bytes: Uint8Array) => void, options: CollectOptions, what: string): Promise<Uint8Array[]> {
    const id = trustedRequestId(request);
    write(request);
    const sentAt = Date.now();
    let nudger: NodeJS.Timeout | undefined;
    if (options.nudgeAfterMs) {
      let delay = options.nudgeAfterMs;
      let lastNudge = 0;
      nudger = setInterval(() => {
        if (Date.now() - Math.max(this.lastHeard, sentAt, lastNudge) < delay) return;
        write(new Uint8Array([0x0a]));
        this.nudges++;
        lastNudge = Date.now();
        delay = Math.min(delay * 2, 8000);
      }, 50);
    }
    try {
      if (id === null) {
        await new Promise((r) => setTimeout(r, options.quietMs));
        return this.pending.splice(0);
      }
      let end = -1;
      await this.until(() => {
        end = this.pending.findIndex((f) => requestIdOf(f) === id && isFinal(f));
        return end >= 0;
      }, options.timeoutMs, `${what} (request id ${id})`);
      return this.pending.splice(0, end + 1);
    } finally {
      clearInterval(nudger);
    }
  }
}
