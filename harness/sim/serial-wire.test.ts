import { afterEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { SerialPort } from 'serialport';
import { openPty, type Pty } from './pty/index.js';
import { SerialWire } from './serial-wire.js';

const opened: Array<{ pty: Pty; port: SerialPort; wire: SerialWire }> = [];

async function line(baudRate: number, options: ConstructorParameters<typeof SerialWire>[1] = {}) {
  const pty = openPty();
  const wire = new SerialWire(pty, options);
  const port = new SerialPort({ path: pty.path, baudRate });
  await once(port, 'open');
  opened.push({ pty, port, wire });
  return { pty, wire, port };
}

/** Collect `n` bytes arriving through `on`, resolving with them and the time they took. */
function collect(source: { on(ev: 'data', fn: (b: Uint8Array) => void): unknown }, n: number): Promise<{ bytes: Buffer; ms: number }> {
  const start = performance.now();
  const parts: Uint8Array[] = [];
  let got = 0;
  return new Promise((resolve) => {
    source.on('data', (b: Uint8Array) => {
      parts.push(b);
      got += b.length;
      if (got >= n) resolve({ bytes: Buffer.concat(parts), ms: performance.now() - start });
    });
  });
}

afterEach(async () => {
  for (const { pty, port, wire } of opened.splice(0)) {
    wire.close();
    if (port.isOpen) await new Promise<void>((r) => port.close(() => r()));
    pty.close();
  }
});

describe('SerialWire', () => {
  it('delivers host bytes no faster than the baud rate the host set (10 bits per byte)', async () => {
    const { wire, port } = await line(9600);
    const payload = Buffer.alloc(240, 0x5a); // 240 bytes * 10 bits / 9600 baud = 250 ms
    const arrived = collect(wire, payload.length);
    port.write(payload);
    const { bytes, ms } = await arrived;
    expect(bytes.equals(payload)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(240);
    expect(ms).toBeLessThan(2000);
    expect(wire.stats.bytesToBoard).toBe(240);
  });

  it('throttles the board-to-host direction too, and follows a baud change made by the host', async () => {
    const { wire, port } = await line(9600);
    let arrived = collect(port, 120); // 125 ms at 9600
    wire.write(Buffer.alloc(120, 1));
    const slow = await arrived;
    expect(slow.ms).toBeGreaterThanOrEqual(115);

    await new Promise<void>((resolve, reject) => port.update({ baudRate: 921600 }, (e) => (e ? reject(e) : resolve())));
    expect(wire.effectiveBaud()).toBe(921600);
    port.removeAllListeners('data');
    arrived = collect(port, 120); // 1.3 ms at 921600
    wire.write(Buffer.alloc(120, 2));
    const fast = await arrived;
    expect(fast.ms).toBeLessThan(slow.ms / 2);
    expect(wire.stats.bytesToHost).toBe(240);
  });

  it('passes bytes unthrottled when throttling is off', async () => {
    const { wire, port } = await line(9600, { throttle: false });
    const arrived = collect(wire, 960); // would be 1 s at 9600
    port.write(Buffer.alloc(960, 7));
    const { ms } = await arrived;
    expect(ms).toBeLessThan(500);
  });

  it('drops and corrupts bytes with a seeded probability, the same way for the same seed', async () => {
    const run = async () => {
      const { wire, port } = await line(2_000_000, { faults: { seed: 42, drop: 0.1, corrupt: 0.1, direction: 'to-board' } });
      const payload = Buffer.alloc(2000, 0);
      const parts: Uint8Array[] = [];
      wire.on('data', (b) => parts.push(b));
      port.write(payload);
      await new Promise((r) => setTimeout(r, 200));
      return { got: Buffer.concat(parts), stats: wire.stats };
    };
    const a = await run();
    const b = await run();
    expect(a.stats.droppedBytes).toBeGreaterThan(100);
    expect(a.stats.corruptedBytes).toBeGreaterThan(100);
    expect(a.got.length).toBe(2000 - a.stats.droppedBytes);
    expect(a.got.filter((x) => x !== 0).length).toBe(a.stats.corruptedBytes);
    expect(b.got.equals(a.got)).toBe(true);
  });

  it('stalls, then delivers everything late; a disconnect loses what is in flight until reconnect', async () => {
    const { wire, port } = await line(2_000_000);
    wire.stall(150);
    const arrived = collect(port, 10);
    wire.write(Buffer.from('0123456789'));
    const { ms } = await arrived;
    expect(ms).toBeGreaterThanOrEqual(140);

    const events: string[] = [];
    wire.on('disconnect', () => events.push('disconnect'));
    wire.on('reconnect', () => events.push('reconnect'));
    const seen: Uint8Array[] = [];
    wire.on('data', (b) => seen.push(b));
    wire.disconnect();
    port.write(Buffer.from('lost'));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(0);
    wire.reconnect();
    const back = collect(wire, 4);
    port.write(Buffer.from('back'));
    expect((await back).bytes.toString()).toBe('back');
    expect(events).toEqual(['disconnect', 'reconnect']);
  });

  it('garbles every byte while host and board run different baud rates', async () => {
    const { wire, port } = await line(115200, { throttle: false });
    wire.setBoardBaud(2_000_000);
    const parts: Uint8Array[] = [];
    wire.on('data', (b) => parts.push(b));
    port.write(Buffer.from('SYNC-SYNC-SYNC'));
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.concat(parts).toString('latin1')).not.toContain('SYNC');
    expect(wire.stats.baudMismatchBytes).toBe(14);
    wire.setBoardBaud(115200);
    const ok = collect(wire, 4);
    port.write(Buffer.from('SYNC'));
    expect((await ok).bytes.toString()).toBe('SYNC');
  });

  it('with a host end that has no rate (a raw TCP port), runs at the board\'s rate and never garbles', async () => {
    const { wire, port } = await line(9600);
    wire.setHostFollowsBoard(true);
    expect(wire.effectiveBaud()).toBe(9600); // the board follows its host (the ROM autobauding): the device's rate
    wire.setBoardBaud(921600);
    expect(wire.effectiveBaud()).toBe(921600);
    const arrived = collect(port, 480); // 5.2 ms at 921600, 500 ms at the device's 9600
    wire.write(Buffer.alloc(480, 0x55));
    const { bytes, ms } = await arrived;
    expect(bytes.equals(Buffer.alloc(480, 0x55))).toBe(true);
    expect(ms).toBeLessThan(250);
    expect(wire.stats.baudMismatchBytes).toBe(0);
  });

  it('rejects fault probabilities outside [0, 1] with a TypeError naming the option', () => {
    const pty = openPty();
    try {
      expect(() => new SerialWire(pty, { faults: { drop: 2 } })).toThrow(/faults\.drop/);
    } finally {
      pty.close();
    }
  });
});
