/**
 * A Web-Serial-shaped port over the `serialport` package, so esptool-js's `Transport` runs unmodified
 * in Node (FACTS.md "esptool-js in Node"; no official Node support: esptool-js #117, #122).
 *
 * What Transport uses (esptool-js 0.7.0 lib/webserial.js): `open({baudRate, ...})`, `readable` and
 * `writable` WHATWG streams (a fresh pair per open, as in Web Serial), `setSignals({dataTerminalReady,
 * requestToSend, break})`, `getInfo()` for the USB VID/PID (it picks the USB-JTAG-Serial reset by
 * them), `close()`, and - when present - `setBaudRate()`, which 0.7.0's `changeBaudrate` prefers over
 * closing and reopening the port (a reopen can reset boards whose DTR/RTS follow the port's state).
 * The streams and counters are shared with the TCP serial port (webserial-streams.ts).
 */
import { realpathSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { LabError } from '../errors.js';
import { WebSerialStreamPort, type WebSerialOpenOptions, type WebSerialPortInfo, type WebSerialSignals } from './webserial-streams.js';

export type { WebSerialOpenOptions, WebSerialPortInfo, WebSerialSignals } from './webserial-streams.js';

export interface NodeWebSerialPortOptions {
  /** USB ids when known (from the rig, or `lookupUsbIds`): esptool-js chooses its reset sequence by them. */
  info?: WebSerialPortInfo;
  /** Board name, for errors. */
  board?: string;
}

/** True for pseudo-terminals (/dev/pts/N, or a symlink to one, e.g. socat's `link=`). */
export function isPtyPath(path: string): boolean {
  let real = path;
  try {
    real = realpathSync(path);
  } catch {
    // a missing device is reported by open()
  }
  return /^\/dev\/pts\/\d+$/.test(real) || real === '/dev/ptmx';
}

/**
 * USB vendor/product ids of a serial device, or {} when unknown. `SerialPort.list()` never shows
 * PTYs and rejects when udevadm is missing (FACTS.md), so every failure just means "unknown".
 */
export async function lookupUsbIds(path: string): Promise<WebSerialPortInfo> {
  if (isPtyPath(path)) return {};
  try {
    const real = realpathSync(path);
    const ports = await SerialPort.list();
    const found = ports.find((p) => p.path === path || p.path === real);
    if (!found?.vendorId || !found.productId) return {};
    return { usbVendorId: parseInt(found.vendorId, 16), usbProductId: parseInt(found.productId, 16) };
  } catch {
    return {};
  }
}

export class NodeWebSerialPort extends WebSerialStreamPort {
  readonly path: string;
  readonly isPty: boolean;
  private port: SerialPort | undefined;
  private readonly info: WebSerialPortInfo;
  private readonly board: string;
  /**
   * Web Serial's setSignals changes only the signals it is given, but serialport's `set()` resets
   * every signal it is not given to its default (dtr and rts true), so the full state is kept here.
   */
  private signals = { dtr: true, rts: true, brk: false };

  constructor(path: string, options: NodeWebSerialPortOptions = {}) {
    super();
    this.path = path;
    this.isPty = isPtyPath(path);
    this.info = options.info ?? {};
    this.board = options.board ?? path;
  }

  getInfo(): WebSerialPortInfo {
    return { ...this.info };
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async open(options: WebSerialOpenOptions): Promise<void> {
    if (this.port?.isOpen) throw new DOMException('The port is already open.', 'InvalidStateError');
    const port = new SerialPort({
      path: this.path,
      baudRate: options.baudRate,
      dataBits: (options.dataBits ?? 8) as 8,
      stopBits: (options.stopBits ?? 1) as 1,
      parity: (options.parity ?? 'none') as 'none',
      rtscts: options.flowControl === 'hardware',
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve()))).catch((e: Error) => {
      throw new LabError('port', `cannot open ${this.path} for board ${this.board}: ${e.message} (is the board plugged in, and is the port in the rig right?)`, { cause: e });
    });
    this.port = port;
    this.attachStreams(port, () => port.isOpen);
  }

  async setSignals(signals: WebSerialSignals): Promise<void> {
    const port = this.requireOpen('setSignals');
    if (signals.dataTerminalReady !== undefined) this.signals.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) this.signals.rts = signals.requestToSend;
    if (signals.break !== undefined) this.signals.brk = signals.break;
    try {
      await new Promise<void>((resolve, reject) => port.set({ ...this.signals }, (e) => (e ? reject(e) : resolve())));
    } catch (e) {
      // A PTY has no modem lines: serialport's set() fails with "Inappropriate ioctl for device"
      // (FACTS.md "esptool-js in Node"). Tolerated for PTYs only - a simulated board there is put into
      // download mode in-band and reset by the watchdog - and remembered so the flasher knows.
      if (this.isPty) {
        this.modemLinesUnavailable = true;
        return;
      }
      throw new LabError('port', `cannot set DTR/RTS on ${this.path} for board ${this.board}: ${(e as Error).message} (use --reset none and put the board into download mode by hand)`, { cause: e });
    }
  }

  async setBaudRate(baudRate: number): Promise<void> {
    const port = this.requireOpen('setBaudRate');
    await new Promise<void>((resolve, reject) => port.update({ baudRate }, (e) => (e ? reject(e) : resolve())));
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.detachStreams();
    if (!port?.isOpen) return;
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private requireOpen(what: string): SerialPort {
    if (!this.port?.isOpen) throw this.notOpen(what);
    return this.port;
  }
}

