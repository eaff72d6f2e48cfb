import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Transport } from 'esptool-js';
import { LabError } from '../errors.js';
import { NodeWebSerialTcpPort } from './webserial-tcp.js';

/** A raw TCP serial port with the board's end of each connection. */
interface BoardEnd {
  port: number;
  connection(): Promise<net.Socket>;
  received: Buffer[];
  close(): Promise<void>;
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function boardEnd(): Promise<BoardEnd> {
  const sockets: net.Socket[] = [];
  const received: Buffer[] = [];
  let waiting: ((s: net.Socket) => void) | undefined;
  const server = net.createServer((s) => {
    s.on('data', (b) => received.push(b));
    s.on('error', () => undefined);
    sockets.push(s);
    waiting?.(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const end: BoardEnd = {
    port: (server.address() as net.AddressInfo).port,
    connection: () => new Promise((resolve) => (sockets.length > 0 ? resolve(sockets.at(-1)!) : (waiting = resolve))),
    received,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  cleanup.push(() => end.close());
  return end;
}

function tcpPort(port: number): NodeWebSerialTcpPort {
  const p = new NodeWebSerialTcpPort({ host: '127.0.0.1', port }, { board: 'emu-1' });
  cleanup.push(() => p.close());
  return p;
}

async function readSome(stream: ReadableStream<Uint8Array>, n: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: number[] = [];
  while (parts.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(...value);
  }
  reader.releaseLock();
  return Uint8Array.from(parts);
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('NodeWebSerialTcpPort', () => {
  it('connects and moves bytes through WHATWG streams both ways, counting them', async () => {
    const board = await boardEnd();
    const p = tcpPort(board.port);
    expect(p.url).toBe(`tcp://127.0.0.1:${board.port}`);
    await p.open({ baudRate: 115200 });
    expect(p.isOpen).toBe(true);
    const fromBoard = readSome(p.readable!, 5);
    (await board.connection()).write('hello');
    expect(Buffer.from(await fromBoard).toString()).toBe('hello');

    const writer = p.writable!.getWriter();
    await writer.write(new TextEncoder().encode('world'));
    writer.releaseLock();
    await until('the bytes at the board', () => Buffer.concat(board.received).toString() === 'world');
    expect(p.counters).toEqual({ bytesWritten: 5, bytesRead: 5 });
  });

  it('has no modem lines and no line rate: DTR/RTS and the baud rate change nothing on the wire, and it says so', async () => {
    const board = await boardEnd();
    const p = tcpPort(board.port);
    await expect(p.setSignals({ dataTerminalReady: false })).rejects.toThrow('setSignals: the port is not open.');
    await p.open({ baudRate: 115200 });
    expect(p.getInfo()).toEqual({}); // no USB ids: esptool-js picks its classic reset, which does nothing here
    expect(p.modemLinesUnavailable).toBe(false);
    await p.setSignals({ dataTerminalReady: false, requestToSend: true });
    expect(p.modemLinesUnavailable).toBe(true);
    await p.setBaudRate(921600);
    expect(p.baudRate).toBe(921600);
    await new Promise((r) => setTimeout(r, 20));
    expect(board.received).toEqual([]);
    expect(p.counters).toEqual({ bytesWritten: 0, bytesRead: 0 });
    // esptool-js's Transport takes it as a Web Serial port without a USB product id, so it never picks the USB-JTAG reset.
    const transport = new Transport(p as unknown as ConstructorParameters<typeof Transport>[0], false);
    expect(transport.getPid()).toBeUndefined();
  });

  it('close() ends the readable stream; the board end sees the connection go', async () => {
    const board = await boardEnd();
    const p = tcpPort(board.port);
    await p.open({ baudRate: 115200 });
    const socket = await board.connection();
    const reader = p.readable!.getReader();
    const closedAtBoard = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await p.close();
    await closedAtBoard;
    expect(p.isOpen).toBe(false);
    expect(p.readable).toBeNull();
    expect(await reader.read()).toEqual({ done: true, value: undefined });
  });

  it('a refused connection is one sentence naming the address, the board and the fix', async () => {
    const board = await boardEnd();
    const port = board.port;
    await board.close();
    const p = tcpPort(port);
    const e = await p.open({ baudRate: 115200 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(LabError);
    expect((e as Error).message).toBe(`cannot connect to tcp://127.0.0.1:${port} for board emu-1 (connection refused: nothing listens there): start the emulator or ser2net so it listens on 127.0.0.1:${port}, or fix transport.tcp in rigs.json`);
    expect(p.isOpen).toBe(false);
  });
});
