/**
 * The frame decoder as a Node `Transform`: bytes in (e.g. piped from a `serialport`), decoder
 * events out in object mode. Like node-serialport's parsers it is tiny and validates its options
 * up front. `idleFlushMs` flushes the decoder when no byte arrived for that long, so a frame cut
 * short by a reset is reported and a log line without a newline (a panic, a prompt) comes out.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { type DecoderEvent, FrameDecoder } from './frame.js';

export interface FrameDecoderStreamOptions {
  /** Flush after this many ms without input; 0 or absent: only at end of stream. */
  idleFlushMs?: number;
}

export class FrameDecoderStream extends Transform {
  readonly decoder = new FrameDecoder();
  private readonly idleFlushMs: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: FrameDecoderStreamOptions = {}) {
    super({ readableObjectMode: true });
    const idle = options.idleFlushMs ?? 0;
    if (!Number.isFinite(idle) || idle < 0) throw new TypeError(`idleFlushMs must be a number >= 0, got ${idle}`);
    this.idleFlushMs = idle;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.emitAll(this.decoder.push(chunk));
    if (this.idleFlushMs > 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.emitAll(this.decoder.flush());
      }, this.idleFlushMs);
      this.timer.unref();
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.clearTimer();
    this.emitAll(this.decoder.flush());
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearTimer();
    callback(error);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private emitAll(events: DecoderEvent[]): void {
    for (const e of events) this.push(e);
  }
}
