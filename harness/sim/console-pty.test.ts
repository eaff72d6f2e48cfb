import { afterEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { SerialPort } from 'serialport';
import type { Pty } from './pty/index.js';
import { SerialWire } from './serial-wire.js';
import { CLOSED_BAUD, openConsolePty } from './console-pty.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function consoleWire(options: ConstructorParameters<typeof SerialWire>[1] = {}): Promise<{ pty: Pty; wire: SerialWire }> {
  const pty = await openConsolePty();
  const wire = new SerialWire(pty, { holdUntilOpen: { closedBaud: CLOSED_BAUD }, ...options });
  cleanup.push(() => pty.close(), () => wire.close());
  return { pty, wire };
}

async function open(path: string, baudRate: number): Promise<{ port: SerialPort; received: () => Buffer }> {
  const port = new SerialPort({ path, baudRate });
  await once(port, 'open');
  const parts: Buffer[] = [];
  port.on('data', (b: Buffer) => parts.push(b));
  cleanup.push(() => new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r())));
  return { port, received: () => Buffer.concat(parts) };
}

const until = async (f: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('console PTY with SerialWire holdUntilOpen', () => {
  it('keeps what the board printed before a host opened the port and delivers it once the host configures the port', async () => {
    const { pty, wire } = await consoleWire();
    expect(pty.baudRate()).toBe(CLOSED_BAUD);
    wire.write(Buffer.from('ESP-ROM:esp32s3-20210327\r\nboot log line\r\n'));
    await new Promise((r) => setTimeout(r, 100));
    expect(wire.holding).toBe(true);
    const opened = once(wire, 'open');
    const { received } = await open(pty.path, 115200);
    await opened;
    await until(() => received().toString().includes('boot log line'));
    expect(received().toString()).toBe('ESP-ROM:esp32s3-20210327\r\nboot log line\r\n');
    expect(wire.holding).toBe(false);
    wire.write(Buffer.from('after\r\n'));
    await until(() => received().toString().endsWith('after\r\n'));
  });

  it('keeps at most maxBytes while nobody listens and counts the rest as lost', async () => {
    const { pty, wire } = await consoleWire({ holdUntilOpen: { closedBaud: CLOSED_BAUD, maxBytes: 10 } });
    wire.write(Buffer.from('0123456789abcdef'));
    const { received } = await open(pty.path, 115200);
    await until(() => received().length >= 10);
    expect(received().toString()).toBe('0123456789');
    expect(wire.heldBytesDropped).toBe(6);
  });
});

describe('SerialWire link limit (slow-link fault)', () => {
  it('caps the byte rate below the baud rate and adds latency, and lifts both on {}', async () => {
    const { pty, wire } = await consoleWire();
    const { received } = await open(pty.path, 921600);
    await until(() => !wire.holding);
    wire.setLinkLimit({ bytesPerSecond: 2000, latencyMs: 100 });
    let t0 = performance.now();
    wire.write(Buffer.alloc(400, 0x41)); // 200 ms at 2000 B/s + 100 ms latency
    await until(() => received().length >= 400);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(280);
    wire.setLinkLimit({});
    t0 = performance.now();
    wire.write(Buffer.alloc(400, 0x42)); // 4.3 ms at 921600 baud
    await until(() => received().length >= 800);
    expect(performance.now() - t0).toBeLessThan(150);
    expect(() => wire.setLinkLimit({ bytesPerSecond: 0 })).toThrow(/bytesPerSecond/);
  });
});
