/**
 * A Web-Serial-shaped port over an RFC 2217 server (`rfc2217://host:port`, ser2net's
 * `telnet(rfc2217)` accepter), so esptool-js flashes a board on another host's USB hub as it flashes
 * one on a local serial device (webserial-port.ts; streams and counters shared, webserial-streams.ts):
 * - DTR/RTS go through SET-CONTROL, so esptool-js's own reset sequences (classic, usb-jtag) reach the
 *   board's EN and IO0 through the server; a server that leaves them unanswered has no modem lines
 *   behind it (`modemLinesUnavailable`), and the flasher then needs the board in download mode
 *   in-band, as on a PTY or a raw TCP port;
 * - esptool-js's baud switches (after CHANGE_BAUDRATE) become SET-BAUDRATE, so the server's UART
 *   follows the ROM or stub to the flashing rate - what a raw TCP port cannot do.
 */
import { LabError } from '../errors.js';
import { Rfc2217Connection, rfc2217Url, type Rfc2217Address } from '../links/rfc2217-connection.js';
import { WebSerialStreamPort, type WebSerialOpenOptions, type WebSerialPortInfo, type WebSerialSignals } from './webserial-streams.js';

export interface NodeWebSerialRfc2217PortOptions {
  /** Board name, for errors. */
  board?: string;
  connectTimeoutMs?: number;
  answerTimeoutMs?: number;
}

export class NodeWebSerialRfc2217Port extends WebSerialStreamPort {
  readonly address: Rfc2217Address;
  /** `rfc2217://host:port`. */
  readonly url: string;
  readonly isPty = false;
  /** The rate the server confirmed last. */
  baudRate: number | undefined;
  private connection: Rfc2217Connection | undefined;
  private readonly board: string;

  constructor(address: Rfc2217Address, private readonly options: NodeWebSerialRfc2217PortOptions = {}) {
    super();
    this.address = { ...address };
    this.url = rfc2217Url(address);
    this.board = options.board ?? this.url;
  }

  /** No USB ids over the network: esptool-js chooses its classic reset unless the rig says usb-jtag. */
  getInfo(): WebSerialPortInfo {
    return {};
  }

  get isOpen(): boolean {
    return this.connection?.isOpen ?? false;
  }

  async open(options: WebSerialOpenOptions): Promise<void> {
    if (this.isOpen) throw new DOMException('The port is already open.', 'InvalidStateError');
    const c = await Rfc2217Connection.connect({
      ...this.address, board: this.board, baudRate: options.baudRate,
      ...(this.options.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.options.connectTimeoutMs } : {}),
      ...(this.options.answerTimeoutMs !== undefined ? { answerTimeoutMs: this.options.answerTimeoutMs } : {}),
    }).catch((e: unknown) => {
      throw new LabError('port', `cannot open ${this.url} for board ${this.board}: ${e instanceof Error ? e.message.replace(/^board \S+: /, '') : String(e)}`, { cause: e });
    });
    this.connection = c;
    this.baudRate = c.baudRate;
    this.attachStreams(c, () => c.writable);
  }

  async setSignals(signals: WebSerialSignals): Promise<void> {
    const c = this.requireOpen('setSignals');
    const wanted: { dtr?: boolean; rts?: boolean } = {};
    if (signals.dataTerminalReady !== undefined) wanted.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) wanted.rts = signals.requestToSend;
    if (wanted.dtr === undefined && wanted.rts === undefined) return;
    if (!(await c.setSignals(wanted))) this.modemLinesUnavailable = true;
  }

  async setBaudRate(baudRate: number): Promise<void> {
    const c = this.requireOpen('setBaudRate');
    this.baudRate = await c.setBaud(baudRate);
  }

  async close(): Promise<void> {
    const c = this.connection;
    this.connection = undefined;
    this.detachStreams();
    await c?.close();
  }

  private requireOpen(what: string): Rfc2217Connection {
    if (!this.connection?.isOpen) throw this.notOpen(what);
    return this.connection;
  }
}
