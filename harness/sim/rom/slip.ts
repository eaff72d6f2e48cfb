/**
 * SLIP framing as the ESP ROM loader and the esptool stub use it (espressif/esptool
 * docs/en/advanced-topics/serial-protocol.rst "Low Level Protocol"): every frame starts and ends with
 * 0xC0; inside, 0xC0 is sent as DB DC and 0xDB as DB DD.
 *
 * The decoder behaves like the ROM's receive loop: bytes outside a frame are line noise and ignored
 * (a boot banner, a half frame after a reset), a 0xC0 opens a frame, the next 0xC0 closes it, and an
 * empty frame (C0 C0) is just a delimiter. A broken escape or an oversized frame makes the frame bad:
 * it is reported (with the bytes read so far, so the loader can answer with an error status) and the
 * decoder resynchronises on the next 0xC0. It never throws on input.
 */
export const SLIP_END = 0xc0;
export const SLIP_ESC = 0xdb;
export const SLIP_ESC_END = 0xdc;
export const SLIP_ESC_ESC = 0xdd;

export function slipEncode(payload: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of payload) if (b === SLIP_END || b === SLIP_ESC) extra++;
  const out = new Uint8Array(payload.length + extra + 2);
  let o = 0;
  out[o++] = SLIP_END;
  for (const b of payload) {
    if (b === SLIP_END) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_END;
    } else if (b === SLIP_ESC) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_ESC;
    } else {
      out[o++] = b;
    }
  }
  out[o] = SLIP_END;
  return out;
}

export type BadFrameReason = 'bad-escape' | 'too-long';

export interface SlipDecoderHandlers {
  frame(payload: Uint8Array): void;
  badFrame(reason: BadFrameReason, partial: Uint8Array): void;
}

export class SlipDecoder {
  private buf: Uint8Array;
  private len = 0;
  private inFrame = false;
  private escaping = false;
  private bad: BadFrameReason | undefined;
  /** Bytes seen outside any frame (noise). */
  noiseBytes = 0;

  constructor(
    private readonly maxFrame: number,
    private readonly handlers: SlipDecoderHandlers,
  ) {
    if (!Number.isInteger(maxFrame) || maxFrame < 1) throw new TypeError(`SlipDecoder: maxFrame must be a positive integer, got ${maxFrame}`);
    this.buf = new Uint8Array(Math.min(maxFrame, 4096));
  }

  push(bytes: Uint8Array): void {
    for (const b of bytes) this.byte(b);
  }

  /** Forget a half-read frame (the chip was reset). */
  reset(): void {
    this.len = 0;
    this.inFrame = false;
    this.escaping = false;
    this.bad = undefined;
  }

  private byte(b: number): void {
    if (b === SLIP_END) {
      if (!this.inFrame) {
        this.inFrame = true;
        return;
      }
      if (this.len === 0 && !this.bad && !this.escaping) return; // C0 C0: still waiting for the payload
      const payload = this.buf.slice(0, this.len);
      const bad = this.bad ?? (this.escaping ? 'bad-escape' : undefined);
      this.reset();
      if (bad) this.handlers.badFrame(bad, payload);
      else this.handlers.frame(payload);
      return;
    }
    if (!this.inFrame) {
      this.noiseBytes++;
      return;
    }
    if (this.bad) return; // skip to the end of a bad frame
    let value = b;
    if (this.escaping) {
      this.escaping = false;
      if (b === SLIP_ESC_END) value = SLIP_END;
      else if (b === SLIP_ESC_ESC) value = SLIP_ESC;
      else {
        this.bad = 'bad-escape';
        return;
      }
    } else if (b === SLIP_ESC) {
      this.escaping = true;
      return;
    }
    if (this.len >= this.maxFrame) {
      this.bad = 'too-long';
      return;
    }
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(Math.min(this.maxFrame, this.buf.length * 2));
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = value;
  }
}
