import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from './testing/until.js';
import { encodeMessage, type Frame } from '../protocol/index.js';
import type { LinkFrameError } from './link.js';
import { EMULATED_IDLE_FLUSH_MS } from '../boards/lab-board.js';
import { TcpLink } from './tcp-link.js';
import { parseTcpUrl, tcpConnectError, tcpUrl } from './tcp-connect.js';

/** A local TCP serial port: what QEMU's `-serial tcp:...,server=on` or ser2net would be. */
interface FakeBoardPort {
  port: number;
  /** The connection the link made (the latest one). */
  client(): Promise<net.Socket>;
  received: Buffer[];
  close(): Promise<void>;
}

const servers: FakeBoardPort[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function boardPort(): Promise<FakeBoardPort> {
  const sockets: net.Socket[] = [];
  const waiters: Array<(s: net.Socket) => void> = [];
  const received: Buffer[] = [];
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (b) => received.push(b));
    socket.on('error', () => undefined);
    sockets.push(socket);
    for (const w of waiters.splice(0)) w(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeBoardPort = {
    port: (server.address() as net.AddressInfo).port,
    client: () => new Promise((resolve) => {
      const live = sockets.at(-1);
      if (live && !live.destroyed) resolve(live);
      else waiters.push(resolve);
    }),
    received,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  servers.push(fake);
  return fake;
}

function capture(link: TcpLink): string[] {
  const out: string[] = [];
  link.on('frame', (f: Frame) => out.push(`frame ${f.requestId}`));
  link.on('log', (l: string) => out.push(`log ${l}`));
  link.on('frame-error', (e: LinkFrameError) => out.push(`error ${e.reason}`));
  link.on('disconnect', (why: string) => out.push(`disconnect ${why}`));
  link.on('reconnect', () => out.push('reconnect'));
  return out;
}

const pong = encodeMessage({ requestId: 7, simulated: true, more: false, body: { type: 'pong', data: new Uint8Array([1, 2, 3]) } });
const ping = encodeMessage({ requestId: 9, simulated: false, more: false, body: { type: 'ping', data: new Uint8Array([4, 5]) } });

describe('TcpLink: the board UART stream over TCP', () => {
  it('is a link of kind tcp at tcp://host:port, without modem lines or presence', async () => {
    const fake = await boardPort();
    const link = new TcpLink({ board: 'emu-1', host: '127.0.0.1', port: fake.port });
    expect(link).toMatchObject({ kind: 'tcp', address: `tcp://127.0.0.1:${fake.port}`, presence: 'unknown', helloOnReconnect: false, isOpen: false });
    await link.open();
    expect(link.isOpen).toBe(true);
    expect(await link.hardwareReset()).toBe(false);
    await link.close();
    expect(link.isOpen).toBe(false);
  });

  it('frames and log lines sent one byte per TCP write come out whole; frames sent arrive byte for byte', async () => {
    const fake = await boardPort();
    const link = new TcpLink({ board: 'emu-1', host: '127.0.0.1', port: fake.port });
    const out = capture(link);
    await link.open();
    const board = await fake.client();
    const stream = Buffer.concat([Buffer.from('I (31) boot: ESP-IDF v5.3.3\r\nrst:0x1 (POWERON)'), Buffer.from(pong), Buffer.from(',boot:0x8\n'), Buffer.from(pong)]);
    for (const byte of stream) {
      board.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    await until('two frames', () => out.filter((l) => l.startsWith('frame')).length === 2);
    expect(out).toEqual(['log I (31) boot: ESP-IDF v5.3.3', 'frame 7', 'log rst:0x1 (POWERON),boot:0x8', 'frame 7']);

    await link.send(ping);
    await until('the PING at the board', () => Buffer.concat(fake.received).length === ping.length);
    expect(new Uint8Array(Buffer.concat(fake.received))).toEqual(ping);
    expect(link.stats()).toMatchObject({ bytesIn: stream.length, framesIn: 2, logLines: 2, frameErrors: 0, bytesOut: ping.length, framesOut: 1, disconnects: 0 });
    await link.close();
  });

  it('nudge() writes one LF after what was sent before it (emulated boards: BoardSessionOptions.nudgeAfterMs), and nothing when closed', async () => {
    const fake = await boardPort();
    const link = new TcpLink({ board: 'emu-1', host: '127.0.0.1', port: fake.port });
    await link.open();
    await fake.client();
    await link.send(ping);
    await link.nudge();
    await until('the PING and the LF at the board', () => Buffer.concat(fake.received).length === ping.length + 1);
    expect(new Uint8Array(Buffer.concat(fake.received))).toEqual(new Uint8Array([...ping, 0x0a]));
    expect(link.stats()).toMatchObject({ bytesOut: ping.length + 1, framesOut: 1 });
    await link.close();
    await link.nudge();
    expect(link.stats().bytesOut).toBe(ping.length + 1);
  });

  it('a frame that pauses after its first byte is cut at the default 100 ms idle flush, and whole with the emulated boards\' 2 s (QEMU on a busy host)', async () => {
    const paused = async (idleFlushMs: number | undefined): Promise<string[]> => {
      const fake = await boardPort();
      const link = new TcpLink({ board: 'emu-1', host: '127.0.0.1', port: fake.port, ...(idleFlushMs ? { idleFlushMs } : {}) });
      const out = capture(link);
      await link.open();
      const board = await fake.client();
      board.write(Buffer.from(pong.subarray(0, 1)));
      await new Promise((r) => setTimeout(r, 250));
      board.write(Buffer.from(pong.subarray(1)));
      await until('the rest', () => link.stats().bytesIn === pong.length);
      await new Promise((r) => setTimeout(r, 150));
      await link.close();
      return out;
    };
    const cut = await paused(undefined);
    expect(cut.filter((l) => l.startsWith('frame'))).toEqual([]);
    expect(cut.filter((l) => l.startsWith('log')).length).toBeGreaterThan(0); // the reply's bytes, as junk text
    expect(await paused(EMULATED_IDLE_FLUSH_MS)).toEqual(['frame 7']);
  });

  it('a connection that drops emits disconnect (after the last unfinished line); open() connects again and emits reconnect', async () => {
    const fake = await boardPort();
    const link = new TcpLink({ board: 'emu-1', host: '127.0.0.1', port: fake.port });
    const out = capture(link);
    await link.open();
    const first = await fake.client();
    first.end('Guru Meditation Error: Core  0 panic\'ed');
    await until('the disconnect', () => out.some((l) => l.startsWith('disconnect')));
    expect(out).toEqual([
      "log Guru Meditation Error: Core  0 panic'ed",
      `disconnect the TCP connection to tcp://127.0.0.1:${fake.port} closed: the emulator or ser2net stopped, or the network dropped it`,
    ]);
    expect(link.isOpen).toBe(false);
    await expect(link.send(ping)).rejects.toMatchObject({
      code: 'link-down',
      message: `board emu-1: the TCP connection to tcp://127.0.0.1:${fake.port} is not open (the emulator or ser2net closed it, or the link closed): reconnect the board`,
    });

    await link.open();
    expect(out.at(-1)).toBe('reconnect');
    const second = await fake.client();
    expect(second).not.toBe(first);
    second.write(pong);
    await until('the frame after reconnecting', () => out.at(-1) === 'frame 7');
    expect(link.stats().disconnects).toBe(1);
    await link.close();
    expect(out.filter((l) => l.startsWith('disconnect'))).toHaveLength(1); // close() is not a disconnect
  });

  it('close() flushes what was half-received: a line without its newline comes out', async () => {
    const fake = await boardPort();
    const link = new TcpLink({ board: 'emu-1', host: '127.0.0.1', port: fake.port });
    const out = capture(link);
    await link.open();
    (await fake.client()).write('abort() was called at PC 0x42');
    await until('the bytes', () => link.stats().bytesIn === 29);
    expect(out).toEqual([]);
    await link.close();
    expect(out).toEqual(['log abort() was called at PC 0x42']);
  });
});

describe('TcpLink: connection errors name the board, the address and the fix', () => {
  it('nothing listening: start the emulator or ser2net', async () => {
    const fake = await boardPort();
    const port = fake.port;
    await fake.close();
    const link = new TcpLink({ board: 'emu-2', host: '127.0.0.1', port });
    await expect(link.open()).rejects.toMatchObject({
      code: 'link-missing',
      message: `board emu-2: cannot connect to tcp://127.0.0.1:${port} (connection refused: nothing listens there): start the emulator or ser2net so it listens on 127.0.0.1:${port}, or fix transport.tcp in rigs.json`,
    });
    expect(link.isOpen).toBe(false);
  });

  it('a host that does not resolve', async () => {
    const link = new TcpLink({ board: 'bench-4', host: 'no-such-ser2net.invalid', port: 3333 });
    await expect(link.open()).rejects.toMatchObject({
      code: 'link-missing',
      message: 'board bench-4: cannot connect to tcp://no-such-ser2net.invalid:3333 (host "no-such-ser2net.invalid" does not resolve): fix transport.tcp in rigs.json',
    });
  });

  it('no answer within the connect timeout', () => {
    const e = tcpConnectError('bench-4', { host: '10.0.0.9', port: 3333 }, Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }), 5000);
    expect(e.code).toBe('link-timeout');
    expect(e.message).toBe('board bench-4: cannot connect to tcp://10.0.0.9:3333 (no answer within 5 s): check that host 10.0.0.9 is up and reachable (a firewall may drop the connection), or fix transport.tcp in rigs.json');
  });

  it('checks its options up front', () => {
    expect(() => new TcpLink({ board: 'b', host: '', port: 1 })).toThrow('TcpLink: host is required');
    expect(() => new TcpLink({ board: 'b', host: 'h', port: 0 })).toThrow('TcpLink: port must be a TCP port (1-65535), got 0');
    expect(() => new TcpLink({ board: 'b', host: 'h', port: 1, idleFlushMs: 0 })).toThrow('TcpLink: idleFlushMs must be a positive number, got 0');
  });
});

describe('tcp:// addresses', () => {
  it('print and parse, IPv6 in brackets', () => {
    expect(tcpUrl({ host: '::1', port: 5555 })).toBe('tcp://[::1]:5555');
    expect(parseTcpUrl('tcp://[::1]:5555')).toEqual({ host: '::1', port: 5555 });
    expect(parseTcpUrl('tcp://ser2net.lab:3001')).toEqual({ host: 'ser2net.lab', port: 3001 });
    expect(parseTcpUrl('/dev/ttyACM0')).toBeUndefined();
    expect(parseTcpUrl('tcp://host:0')).toBeUndefined();
    expect(parseTcpUrl('tcp://host:70000')).toBeUndefined();
  });
});

