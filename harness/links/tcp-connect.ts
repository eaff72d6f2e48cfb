/**
 * Connecting to a raw TCP serial port (rigs.json `"tcp": "host:port"`): an emulated ESP32-S3's UART0
 * (Espressif QEMU `-serial tcp:127.0.0.1:PORT,server=on,wait=off`) or a real board behind ser2net in
 * raw mode. Used by the TCP link (tcp-link.ts) and by the flasher's Web-Serial port over TCP
 * (harness/flash/webserial-tcp.ts), so both say the same thing when nothing answers.
 */
import net from 'node:net';
import { LabError } from '../errors.js';
import { systemClock, type Clock } from './link.js';

export interface TcpAddress {
  host: string;
  port: number;
}

/** `<scheme>://host:port` (an IPv6 host in brackets): what the lab prints and errors name. */
export function hostPortUrl(scheme: 'tcp' | 'rfc2217', { host, port }: TcpAddress): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The address in `<scheme>://host:port`, or undefined when `text` is not one. */
export function parseHostPortUrl(scheme: 'tcp' | 'rfc2217', text: string): TcpAddress | undefined {
  if (!text.startsWith(`${scheme}://`)) return undefined;
  const m = /^(\[[^\]]+\]|[^:/[\]]+):(\d{1,5})\/?$/.exec(text.slice(scheme.length + 3));
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** `tcp://host:port`: a raw TCP serial port. */
export function tcpUrl(address: TcpAddress): string {
  return hostPortUrl('tcp', address);
}

/** The address in `tcp://host:port`, or undefined when `text` is not one. */
export function parseTcpUrl(text: string): TcpAddress | undefined {
  return parseHostPortUrl('tcp', text);
}

export interface ConnectTcpOptions extends TcpAddress {
  /** Give up after this long without a connection (default 5 s): the error's code is then ETIMEDOUT. */
  timeoutMs?: number;
  clock?: Clock;
}

/**
 * A connected socket with Nagle's algorithm off: the protocol exchanges small frames answered at
 * once, and Nagle with delayed ACKs adds ~40 ms to every exchange (measured for the MQTT link,
 * harness/links/README.md). Rejects with the system's error (its `code`: ECONNREFUSED, ENOTFOUND,
 * ETIMEDOUT, ...), which `tcpConnectFailure` turns into words.
 */
export function connectTcp(options: ConnectTcpOptions): Promise<net.Socket> {
  const { host, port } = options;
  const timeoutMs = options.timeoutMs ?? 5000;
  const clock = options.clock ?? systemClock;
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host, port });
    const timer = clock.setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no connection to ${tcpUrl({ host, port })} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    const onError = (e: Error): void => {
      clock.clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clock.clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** Why a connection to a TCP serial port failed (`reason`) and what to do (`fix`), for one-line errors. */
export function tcpConnectFailure(address: TcpAddress, e: unknown, timeoutMs = 5000): { code: string; reason: string; fix: string } {
  const where = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') {
    return { code: 'link-missing', reason: 'connection refused: nothing listens there', fix: `start the emulator or ser2net so it listens on ${where}, or fix transport.tcp in rigs.json` };
  }
  if (code === 'ETIMEDOUT') {
    return { code: 'link-timeout', reason: `no answer within ${timeoutMs / 1000} s`, fix: `check that host ${address.host} is up and reachable (a firewall may drop the connection), or fix transport.tcp in rigs.json` };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return { code: 'link-missing', reason: `host "${address.host}" does not resolve`, fix: 'fix transport.tcp in rigs.json' };
  }
  return { code: 'link-open', reason: e instanceof Error ? e.message : String(e), fix: `check that the emulator or ser2net runs there and listens on ${where}, or fix transport.tcp in rigs.json` };
}

/** The same as a LabError naming the board first (what a link reports). */
export function tcpConnectError(board: string, address: TcpAddress, e: unknown, timeoutMs = 5000): LabError {
  const { code, reason, fix } = tcpConnectFailure(address, e, timeoutMs);
  return new LabError(code, `board ${board}: cannot connect to ${tcpUrl(address)} (${reason}): ${fix}`, { cause: e });
}
