/**
 * A Web-Serial-shaped port over a raw TCP serial port (rigs.json `"tcp": "host:port"`), so esptool-js
 * flashes a board whose UART is reached over TCP - an emulated ESP32-S3 (Espressif QEMU `-serial
 * tcp:...`), a board behind ser2net in raw mode, a simulated board of `hil sim` - exactly as it
 * flashes one on a serial device (webserial-port.ts; the streams and counters are shared,
 * webserial-streams.ts).
 *
 * A raw TCP port carries bytes only:
 * - no modem lines (RFC 2217 would be needed for DTR/RTS): `setSignals` does nothing and sets
 *   `modemLinesUnavailable`, so the flasher resets the board with the RTC watchdog instead, and
 *   the board must already be in download mode (in-band: the firmware's RESET mode=download);
 * - no line rate: `setBaudRate` is recorded but changes nothing here. esptool-js first sends
 *   CHANGE_BAUDRATE, with which the ROM or the stub changes its own UART's rate (esptool
 *   serial-protocol.rst; FACTS.md); on QEMU, and on the lab's simulated TCP port
 *   (harness/sim/tcp-port.ts), the pipe follows that rate. ser2net in raw mode keeps its device's
 *   rate instead, so a board behind it must be flashed at its console rate (`--baud` = that rate).
 */
import type { Socket } from 'node:net';
import { LabError } from '../errors.js';
import { connectTcp, tcpConnectFailure, tcpUrl, type TcpAddress } from '../links/tcp-connect.js';
import { WebSerialStreamPort, type WebSerialOpenOptions, type WebSerialPortInfo, type WebSerialSignals } from './webserial-streams.js';

export interface NodeWebSerialTcpPortOptions {
  /** Board name, for errors. */
  board?: string;
  /** Give up connecting after this long (default 5 s). */
  connectTimeoutMs?: number;
}

export class NodeWebSerialTcpPort extends WebSerialStreamPort {
  readonly address: TcpAddress;
  /** `tcp://host:port`. */
  readonly url: string;
  readonly isPty = false;
  /** The rate esptool-js last asked for (open or setBaudRate); the TCP pipe itself has none. */
  baudRate: number | undefined;
  private socket: Socket | undefined;
  private readonly board: string;
  private readonly connectTimeoutMs: number;

  constructor(address: TcpAddress, options: NodeWebSerialTcpPortOptions = {}) {
    super();
    this.address = { ...address };
    this.url = tcpUrl(address);
    this.board = options.board ?? this.url;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  }

  /** No USB ids: esptool-js then chooses its classic reset, which `setSignals` turns into nothing. */
  getInfo(): WebSerialPortInfo {
    return {};
  }

  get isOpen(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  async open(options: WebSerialOpenOptions): Promise<void> {
    if (this.isOpen) throw new DOMException('The port is already open.', 'InvalidStateError');
    const socket = await connectTcp({ ...this.address, timeoutMs: this.connectTimeoutMs }).catch((e: unknown) => {
      const { reason, fix } = tcpConnectFailure(this.address, e, this.connectTimeoutMs);
      throw new LabError('port', `cannot connect to ${this.url} for board ${this.board} (${reason}): ${fix}`, { cause: e });
    });
    socket.on('error', () => undefined); // reported through 'close' (the readable ends) or the failing write
    this.socket = socket;
    this.baudRate = options.baudRate;
    this.attachStreams(socket, () => !socket.destroyed && socket.writable);
  }

  /** There are no modem lines to set: remembered, so the flasher resets the board another way. */
  async setSignals(_signals: WebSerialSignals): Promise<void> {
    this.requireOpen('setSignals');
    this.modemLinesUnavailable = true;
  }

  async setBaudRate(baudRate: number): Promise<void> {
    this.requireOpen('setBaudRate');
    this.baudRate = baudRate;
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.detachStreams();
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  private requireOpen(what: string): Socket {
    if (!this.socket || this.socket.destroyed) throw this.notOpen(what);
    return this.socket;
  }
}
