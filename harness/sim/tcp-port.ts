/**
 * A simulated board's console on a raw TCP serial port (rigs.json `"tcp": "host:port"`), the way
 * ser2net exports a serial device in raw mode or Espressif QEMU exports an emulated UART0
 * (`-serial tcp:127.0.0.1:PORT,server=on,wait=off`): one TCP connection carries the console's
 * bytes both ways - ROM loader, boot log and protocol frames, exactly what the PTY carries.
 *
 * It is a bridge onto the board's console PTY, as ser2net is onto a device: the PTY is opened when
 * the first client connects, so the board's wire releases the boot log it held (SerialWire
 * `holdUntilOpen`) to that client, and stays open afterwards. What the board prints while nobody
 * is connected is dropped, as QEMU does with `wait=off`. Bytes still cross the board's SerialWire,
 * so they move at the board's UART rate and meet the same injected faults as on the PTY. The
 * pipe itself has no rate (`SerialWire.setHostFollowsBoard`): the line runs at whatever rate the
 * board's UART runs, so esptool's CHANGE_BAUDRATE works without a host side, as on QEMU.
 *
 * One client at a time, as ser2net: "If another user is already using the connection or serial
 * port, the connection is refused with an error message" (ser2net(8), DESCRIPTION). A client that
 * has just hung up may not have been noticed yet when it connects again, so a second connection
 * waits briefly for the first to go before it is refused.
 */
import net from 'node:net';
import { SerialPort } from 'serialport';
import type { TcpTransport } from '../config/types.js';
import { LabError } from '../errors.js';
import type { SerialWire } from './serial-wire.js';

/** The rate the PTY is opened at: the line's rate while the board follows its host (the S3 ROM autobauds; it starts at 115200, FACTS.md). */
const ROM_BAUD = 115200;
/** How long a second connection waits for the first one to close before it is refused. */
const HANDOVER_MS = 250;

export interface SimTcpPortOptions {
  /** The board's id (messages name it). */
  board: string;
  /** The board's console PTY. */
  consolePath: string;
  /** The board's side of that PTY. */
  wire: SerialWire;
  host: string;
  /** 0: any free port (see `address`). */
  port: number;
}

export class SimTcpPort {
  /** Where the port listens (the port the system chose when the rigs said 0). */
  readonly address: TcpTransport;
  private readonly options: SimTcpPortOptions;
  private readonly server: net.Server;
  private client: net.Socket | undefined;
  private console: Promise<SerialPort> | undefined;
  private closed = false;

  private constructor(options: SimTcpPortOptions, server: net.Server) {
    this.options = options;
    this.server = server;
    const bound = server.address() as net.AddressInfo;
    this.address = { host: options.host, port: bound.port };
    server.on('connection', (socket) => this.onConnection(socket));
  }

  /** Listen on host:port; a port in use or a host that is not this machine's is a one-line LabError. */
  static async start(options: SimTcpPortOptions): Promise<SimTcpPort> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        const where = `${options.host}:${options.port}`;
        if (e.code === 'EADDRINUSE') reject(new LabError('sim', `board ${options.board}: cannot serve its console on TCP ${where}: the port is in use (by another board, QEMU or ser2net): give it another port in rigs.json, or 0 for any free one`, { cause: e }));
        else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') reject(new LabError('sim', `board ${options.board}: cannot serve its console on TCP ${where}: ${options.host} is not an address of this machine: use 127.0.0.1 in transport.tcp`, { cause: e }));
        else reject(new LabError('sim', `board ${options.board}: cannot serve its console on TCP ${where} (${e.message}): fix transport.tcp in rigs.json`, { cause: e }));
      });
      server.listen(options.port, options.host, () => resolve());
    });
    return new SimTcpPort(options, server);
  }

  /** Whether a client is connected now. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client?.destroy();
    this.client = undefined;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    const port = await this.console?.catch(() => undefined);
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', () => undefined); // a client that resets the connection just goes away
    socket.setNoDelay(true); // frames are small and answered at once (harness/links/README.md)
    socket.pause();
    const current = this.client;
    if (!current) {
      this.attach(socket);
      return;
    }
    const timer = setTimeout(() => {
      current.off('close', handOver);
      this.refuse(socket);
    }, HANDOVER_MS);
    const handOver = (): void => {
      clearTimeout(timer);
      if (!this.closed && !socket.destroyed && !this.client) this.attach(socket);
      else this.refuse(socket);
    };
    current.once('close', handOver);
  }

  private refuse(socket: net.Socket): void {
    if (socket.destroyed) return;
    if (this.closed) socket.destroy();
    else socket.end(`hil sim: board ${this.options.board}'s console on ${this.options.host}:${this.address.port} is in use by another connection\r\n`);
  }

  private attach(socket: net.Socket): void {
    this.client = socket;
    socket.on('close', () => {
      if (this.client === socket) this.client = undefined;
    });
    void this.openConsole().then(
      (port) => {
        if (socket.destroyed) return;
        socket.on('data', (bytes: Buffer) => port.write(bytes));
        socket.resume();
      },
      (e: unknown) => {
        socket.end(`hil sim: board ${this.options.board}'s console cannot be opened (${e instanceof Error ? e.message : String(e)})\r\n`);
      },
    );
  }

  /** The board's console PTY, opened once (the first client releases the boot log the wire held). */
  private openConsole(): Promise<SerialPort> {
    this.console ??= new Promise<SerialPort>((resolve, reject) => {
      // Before the open: the wire releases the held boot log as soon as it sees the PTY's rate
      // change, which can be before the open's callback runs - and it must not be judged at the
      // PTY's rate (a mismatch with the app's console rate would garble it).
      this.options.wire.setHostFollowsBoard(true);
      const port = new SerialPort({ path: this.options.consolePath, baudRate: ROM_BAUD, hupcl: false, autoOpen: false });
      port.open((e) => {
        if (e) {
          reject(e);
          return;
        }
        port.on('data', (bytes: Buffer) => this.client?.write(bytes));
        port.on('error', () => undefined); // the PTY goes away when the board stops
        resolve(port);
      });
    });
    return this.console;
  }
}
