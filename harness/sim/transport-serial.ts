/**
 * The simulated firmware's serial session (firmware/components/hil_core Session over UART0 or
 * USB-Serial-JTAG): bytes from the board's wire go through the protocol's stream decoder, frames go
 * to the firmware, rejected frame candidates are counted (and answered with BAD_FRAME when their
 * header can be trusted); replies, HELLO and log lines go back on the same wire, log lines with
 * CRLF like ESP-IDF's console.
 *
 * Unlike the firmware's decoder, this one is flushed after 100 ms without input (PROTOCOL.md
 * section 2 suggests it): a frame cut short by a dropped byte is then answered with BAD_FRAME at
 * once instead of waiting for the next request's bytes to complete it.
 */
import { FrameDecoder, type DecoderEvent, type DecoderStats } from '../protocol/index.js';
import type { SerialWire } from './serial-wire.js';
import type { FrameSink, SimFirmware } from './app/firmware.js';

const IDLE_FLUSH_MS = 100;

export class SerialLink implements FrameSink {
  readonly link = 'serial' as const;
  private decoder = new FrameDecoder();
  private idle: NodeJS.Timeout | undefined;
  private firmware: SimFirmware | undefined;
  /** Bytes from the host that arrived while no app was listening (booting, download mode, hung). */
  ignoredBytes = 0;
  private readonly onData = (bytes: Uint8Array): void => this.receive(bytes);

  constructor(private readonly wire: SerialWire) {
    wire.on('data', this.onData);
  }

  /** The app that answers from now on (undefined: nobody reads the UART). A new app gets a fresh decoder. */
  attach(firmware: SimFirmware | undefined): void {
    this.firmware = firmware;
    this.decoder = new FrameDecoder();
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
  }

  /** The decoder's counters since the app started (frames, log lines, header / CRC / oversize / truncated errors). */
  get stats(): DecoderStats {
    return this.decoder.stats;
  }

  send(frame: Uint8Array): void {
    this.wire.write(frame);
  }

  print(lines: readonly string[]): void {
    if (lines.length > 0) this.wire.write(Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'utf8'));
  }

  close(): void {
    this.wire.off('data', this.onData);
    if (this.idle) clearTimeout(this.idle);
  }

  private receive(bytes: Uint8Array): void {
    const fw = this.firmware;
    if (!fw || fw.isStopped || fw.isSuspended) {
      this.ignoredBytes += bytes.length;
      return;
    }
    this.handle(fw, this.decoder.push(bytes));
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.idle = undefined;
      if (this.firmware === fw) this.handle(fw, this.decoder.flush());
    }, IDLE_FLUSH_MS);
    this.idle.unref();
  }

  private handle(fw: SimFirmware, events: DecoderEvent[]): void {
    for (const e of events) {
      if (e.kind === 'frame') fw.receive(e.frame, this);
      else if (e.kind === 'error') {
        fw.frameError(e.reason, this, e.type !== undefined && e.requestId !== undefined ? { type: e.type, requestId: e.requestId } : undefined);
      }
      // 'log': the host never sends text (PROTOCOL.md); the decoder counts it.
    }
  }
}
