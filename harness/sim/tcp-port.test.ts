import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BoardConfig, Rigs } from '../config/types.js';
import type { Hello, Pong } from '../protocol/index.js';
import { startSimFleet, type SimFleet } from './fleet.js';
import { SimSerialClient } from './testing/serial-client.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hil-sim-tcp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function rigsOf(transport: BoardConfig['transport']): Rigs {
  const board: BoardConfig = { id: 'emu-like', chip: 'esp32s3', transport, identity: {}, tags: ['sim'], simulated: { profile: 'esp32s3-devkitc-1-n8r2', seed: 3, faults: [] } };
  return { file: path.join(dir, 'rigs.json'), label: 'rigs.json', mqtt: { url: 'embedded', embeddedPort: 0 }, boards: [board], warnings: [] };
}

async function fleetOf(r: Rigs): Promise<SimFleet> {
  const fleet = await startSimFleet({ rigs: r, timeScale: 0.01, flashDir: dir });
  cleanup.push(() => fleet.stop());
  return fleet;
}

async function client(address: { host: string; port: number }): Promise<SimSerialClient> {
  const c = await SimSerialClient.connect(address);
  cleanup.push(() => c.close());
  return c;
}

/** Everything a raw connection receives until the server closes it. */
async function rawSession(address: { host: string; port: number }): Promise<string> {
  const socket = net.createConnection(address);
  const chunks: Buffer[] = [];
  socket.on('data', (b) => chunks.push(b));
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('utf8');
}

describe('a simulated board on a raw TCP serial port', () => {
  it('"tcp": "127.0.0.1:0" listens on a free port; the first client gets the boot log and the HELLO, at the console rate', async () => {
    const fleet = await fleetOf(rigsOf({ tcp: { host: '127.0.0.1', port: 0 } }));
    const b = fleet.boards[0]!;
    expect(b.tcpAddress).toEqual({ host: '127.0.0.1', port: expect.any(Number) });
    expect(b.tcpAddress!.port).toBeGreaterThan(0);
    expect(b.baud).toBe(115200);
    expect(b.ptyPath).toBeUndefined();

    const c = await client(b.tcpAddress!);
    const hello = (await c.hello()).body as Hello;
    expect(hello).toMatchObject({ type: 'hello', simulated: true, psramSize: 2 * 1024 * 1024 });
    // The same byte stream as on a PTY: ROM banner and ESP-IDF log lines, then the frames.
    expect(c.lines.some((l) => l.startsWith('ESP-ROM:esp32s3'))).toBe(true);
    expect(c.lines.some((l) => l.includes('cpu_start'))).toBe(true);

    // 4 KiB each way at 115200 baud (10 bits a byte) takes at least 2 x 4096 x 10 / 115200 = 0.71 s.
    const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff);
    const t0 = performance.now();
    const pong = (await c.final({ type: 'ping', data })) as Pong;
    const seconds = (performance.now() - t0) / 1000;
    expect(pong.data).toEqual(data);
    expect(seconds).toBeGreaterThan(0.7);
  });

  it('serves one client at a time, like ser2net: a second connection is told so and closed; after the first leaves, the next is served', async () => {
    const fleet = await fleetOf(rigsOf({ serial: { baud: 921600, flashBaud: 921600, reset: 'classic' }, tcp: { host: '127.0.0.1', port: 0 } }));
    const b = fleet.boards[0]!;
    expect(b.baud).toBe(921600); // the board's UART runs at its serial transport's rate; TCP exports it
    const first = await client(b.tcpAddress!);
    await first.hello();

    expect(await rawSession(b.tcpAddress!)).toBe(`hil sim: board emu-like's console on 127.0.0.1:${b.tcpAddress!.port} is in use by another connection\r\n`);
    expect(await first.final({ type: 'ping', data: new Uint8Array([1]) })).toMatchObject({ type: 'pong' });

    await first.close();
    const second = await client(b.tcpAddress!);
    expect(await second.final({ type: 'get_info' })).toMatchObject({ type: 'info', simulated: true });
  });

  it('a port already in use is one sentence naming the board and the fix', async () => {
    const other = net.createServer();
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((r) => other.close(() => r())));
    const port = (other.address() as net.AddressInfo).port;
    await expect(startSimFleet({ rigs: rigsOf({ tcp: { host: '127.0.0.1', port } }), timeScale: 0.01 })).rejects.toMatchObject({
      code: 'sim',
      message: `board emu-like: cannot serve its console on TCP 127.0.0.1:${port}: the port is in use (by another board, QEMU or ser2net): give it another port in rigs.json, or 0 for any free one`,
    });
  });
});
