import { afterEach, describe, expect, it } from 'vitest';
import { Transport } from 'esptool-js';
import { openPty, type Pty } from '../sim/pty/index.js';
import { NodeWebSerialPort, isPtyPath, lookupUsbIds } from './webserial-port.js';
import { LabError } from '../errors.js';

const ptys: Pty[] = [];
const ports: NodeWebSerialPort[] = [];
afterEach(async () => {
  for (const p of ports.splice(0)) await p.close();
  for (const p of ptys.splice(0)) p.close();
});

function pty(): Pty {
  const p = openPty();
  ptys.push(p);
  return p;
}

function port(path: string, options?: ConstructorParameters<typeof NodeWebSerialPort>[1]): NodeWebSerialPort {
  const p = new NodeWebSerialPort(path, options);
  ports.push(p);
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

describe('NodeWebSerialPort', () => {
  it('opens with a baud rate and moves bytes through WHATWG streams both ways, counting them', async () => {
    const dev = pty();
    const p = port(dev.path);
    await p.open({ baudRate: 460800 });
    expect(dev.baudRate()).toBe(460800);
    const fromBoard = readSome(p.readable!, 5);
    dev.stream.write('hello');
    expect(Buffer.from(await fromBoard).toString()).toBe('hello');

    const received = new Promise<string>((resolve) => dev.stream.once('data', (b: Buffer) => resolve(b.toString())));
    const writer = p.writable!.getWriter();
    await writer.write(new TextEncoder().encode('world'));
    writer.releaseLock();
    expect(await received).toBe('world');
    expect(p.counters).toEqual({ bytesWritten: 5, bytesRead: 5 });

    await p.setBaudRate(2_000_000);
    expect(dev.baudRate()).toBe(2_000_000);
  });

  it('tolerates DTR/RTS on a PTY (no modem lines there) and says so; esptool-js Transport accepts it', async () => {
    const dev = pty();
    expect(isPtyPath(dev.path)).toBe(true);
    expect(await lookupUsbIds(dev.path)).toEqual({});
    const p = port(dev.path, { info: { usbVendorId: 0x303a, usbProductId: 0x1001 } });
    const transport = new Transport(p as unknown as ConstructorParameters<typeof Transport>[0], false);
    transport.trace = () => {};
    await transport.connect(115200);
    expect(transport.getVid()).toBe(0x303a);
    expect(transport.getPid()).toBe(0x1001);
    await transport.setDTR(false);
    expect(p.modemLinesUnavailable).toBe(true);

    // A SLIP frame from the "board" comes out of Transport.read as a packet.
    void transport.readLoop();
    dev.stream.write(Buffer.from([0xc0, 0x01, 0x08, 0xdb, 0xdc, 0xc0]));
    expect([...(await transport.read(1000))]).toEqual([0x01, 0x08, 0xc0]);
    await transport.disconnect();
    expect(p.readable).toBeNull();

    // Web Serial semantics: after close, open gives fresh streams.
    await p.open({ baudRate: 115200 });
    const again = readSome(p.readable!, 2);
    dev.stream.write('ok');
    expect(Buffer.from(await again).toString()).toBe('ok');
  });

  it('fails to open a missing device with a LabError naming the board', async () => {
    const p = port('/dev/does-not-exist-hil', { board: 'bench-3' });
    await expect(p.open({ baudRate: 115200 })).rejects.toThrow(LabError);
    await expect(p.open({ baudRate: 115200 })).rejects.toThrow(/cannot open \/dev\/does-not-exist-hil for board bench-3/);
  });
});
