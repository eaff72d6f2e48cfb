/**
 * Rfc2217Link against a small RFC 2217 server written here from RFC 2217, to pin down the link's
 * side of the protocol byte by byte (IAC doubling both ways, the commands it sends, refusals, a
 * server without modem lines). The same link runs the whole board conformance suite against Debian's
 * real ser2net (test/conformance/targets.ts), which is the independent check.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from './testing/until.js';
import { encodeMessage, type Frame } from '../protocol/index.js';
import { parseRfc2217Url, rfc2217Url } from './rfc2217-connection.js';
import { Rfc2217Link } from './rfc2217-link.js';
import { parseTcpUrl } from './tcp-connect.js';
import { ComPort, Control, DO, DONT, OPT_COM_PORT, SERVER_OFFSET, TelnetParser, WONT, comPortCommand, escapeIac, negotiation } from './telnet.js';

interface FakeServer {
  port: number;
  /** Data bytes the server received (IACs undoubled). */
  data: number[];
  /** COM-PORT-OPTION commands received, as "command:value-hex". */
  commands: string[];
  /** Negotiations received, as "verb option". */
  negotiations: string[];
  /** Writes data to the client (IACs doubled). */
  send(bytes: Uint8Array): void;
  /** Writes raw bytes (telnet commands) to the client. */
  raw(bytes: Uint8Array): void;
  /** Drops the client's connection (ser2net restarted). */
  drop(): void;
  close(): Promise<void>;
}

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fakeServer(behaviour: { refuseComPort?: boolean; answerModemLines?: boolean; confirmBaud?: (asked: number) => number } = {}): Promise<FakeServer> {
  const sockets: net.Socket[] = [];
  const fake: FakeServer = {
    port: 0, data: [], commands: [], negotiations: [],
    send: (bytes) => sockets.at(-1)?.write(escapeIac(bytes)),
    raw: (bytes) => sockets.at(-1)?.write(bytes),
    drop: () => sockets.at(-1)?.destroy(),
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    const parser = new TelnetParser();
    socket.on('data', (chunk: Buffer) => {
      for (const e of parser.push(chunk)) {
        if (e.kind === 'data') fake.data.push(...e.bytes);
        if (e.kind === 'negotiate') fake.negotiations.push(`${e.verb} ${e.option}`);
        if (e.kind === 'data' || e.kind === 'negotiate' && !(e.option === OPT_COM_PORT && behaviour.refuseComPort)) continue;
        if (e.kind === 'negotiate' && e.option === OPT_COM_PORT && behaviour.refuseComPort) socket.write(negotiation(DONT, OPT_COM_PORT));
        else if (e.kind === 'subnegotiation' && e.option === OPT_COM_PORT) {
          const [command, ...value] = e.payload;
          fake.commands.push(`${command}:${Buffer.from(value).toString('hex')}`);
          if (behaviour.refuseComPort) continue;
          const modemLine = command === ComPort.SET_CONTROL && value[0]! >= Control.DTR_ON;
          if (modemLine && behaviour.answerModemLines === false) continue; // ser2net in front of a PTY
          let answer = Uint8Array.from(value);
          if (command === ComPort.SET_BAUDRATE && behaviour.confirmBaud) {
            answer = new Uint8Array(4);
            new DataView(answer.buffer).setUint32(0, behaviour.confirmBaud(Buffer.from(value).readUInt32BE(0)));
          }
          socket.write(comPortCommand(command! + SERVER_OFFSET, answer));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.port = (server.address() as net.AddressInfo).port;
  servers.push(fake);
  return fake;
}

/** A PONG whose data holds 0xFF bytes: on the wire each one is doubled. */
const pong = encodeMessage({ requestId: 5, simulated: true, more: false, body: { type: 'pong', data: new Uint8Array([0xff, 1, 0xff, 0xff]) } });
const ping = encodeMessage({ requestId: 6, simulated: false, more: false, body: { type: 'ping', data: new Uint8Array([0xff, 0xff, 2]) } });

describe('Rfc2217Link: a board behind an RFC 2217 server (ser2net telnet(rfc2217))', () => {
  it('opens with WILL COM-PORT-OPTION and the line settings, waits for the baud rate, and moves frames with 0xFF doubled both ways', async () => {
    const fake = await fakeServer();
    const link = new Rfc2217Link({ board: 'bench-1', host: '127.0.0.1', port: fake.port, baudRate: 921600, reset: 'classic' });
    expect(link).toMatchObject({ kind: 'rfc2217', address: `rfc2217://127.0.0.1:${fake.port}`, isOpen: false });
    const frames: Frame[] = [];
    const lines: string[] = [];
    link.on('frame', (f) => frames.push(f));
    link.on('log', (l) => lines.push(l));
    await link.open();
    expect(link.baudRate).toBe(921600);
    // SET-BAUDRATE 921600, 8 data bits, no parity, 1 stop bit, no flow control, purge what the server buffered.
    expect(fake.commands).toEqual(['1:000e1000', '2:08', '3:01', '4:01', '5:01', '12:01']);
    fake.send(Buffer.concat([Buffer.from('I (31) boot: ESP-IDF v5.3.1\r\n'), Buffer.from(pong)]));
    await until('the PONG', () => frames.length === 1);
    expect(lines).toEqual(['I (31) boot: ESP-IDF v5.3.1']);
    expect([...(frames[0]!.payload)].slice(-4)).toEqual([0xff, 1, 0xff, 0xff]);
    await link.send(ping);
    await until('the PING at the server', () => fake.data.length === ping.length);
    expect(Uint8Array.from(fake.data)).toEqual(ping);
    expect(link.stats()).toMatchObject({ framesIn: 1, framesOut: 1, bytesOut: ping.length, logLines: 1 });
    await link.close();
    expect(link.isOpen).toBe(false);
  });

  it('resets the board on DTR/RTS through SET-CONTROL, as the rig says: classic, or not at all', async () => {
    const fake = await fakeServer();
    const link = new Rfc2217Link({ board: 'bench-1', host: '127.0.0.1', port: fake.port, baudRate: 115200, reset: 'classic' });
    await link.open();
    fake.commands.length = 0;
    expect(await link.hardwareReset()).toBe(true);
    // DTR released (IO0 high: the app, not the ROM loader), RTS asserted (EN low), then released.
    expect(fake.commands).toEqual([`5:0${Control.DTR_OFF}`, `5:${Control.RTS_ON.toString(16).padStart(2, '0')}`, `5:${Control.RTS_OFF.toString(16).padStart(2, '0')}`]);
    await link.close();
    const none = new Rfc2217Link({ board: 'bench-1', host: '127.0.0.1', port: fake.port, baudRate: 115200, reset: 'none' });
    await none.open();
    fake.commands.length = 0;
    expect(await none.hardwareReset()).toBe(false);
    expect(fake.commands).toEqual([]);
    await none.close();
  });

  it('a server that leaves DTR/RTS unanswered (ser2net in front of a PTY) has no reset lines: false, and it is not asked again', async () => {
    const fake = await fakeServer({ answerModemLines: false });
    const link = new Rfc2217Link({ board: 'bench-1', host: '127.0.0.1', port: fake.port, baudRate: 115200, reset: 'classic', answerTimeoutMs: 200 });
    await link.open();
    expect(await link.hardwareReset()).toBe(false);
    const asked = fake.commands.length;
    expect(await link.hardwareReset()).toBe(false);
    expect(fake.commands.length).toBe(asked);
    await link.close();
  });

  it('a port that is not RFC 2217 fails open() with the ser2net line that fixes it; so does a rate the device does not take', async () => {
    const refusing = await fakeServer({ refuseComPort: true });
    const a = new Rfc2217Link({ board: 'bench-1', host: '127.0.0.1', port: refusing.port, baudRate: 115200, reset: 'classic' });
    await expect(a.open()).rejects.toThrow(`board bench-1: rfc2217://127.0.0.1:${refusing.port} is not an RFC 2217 port (it refused COM-PORT-OPTION): run ser2net's port as "accepter: telnet(rfc2217),tcp,${refusing.port}", or use "tcp" in rigs.json for a raw port`);
    expect(a.isOpen).toBe(false);

    // A raw TCP port (ser2net raw mode) never answers telnet at all.
    const raw = net.createServer((s) => s.on('error', () => undefined).resume()); // reads (and so sees the client close)
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const rawPort = (raw.address() as net.AddressInfo).port;
    const b = new Rfc2217Link({ board: 'bench-1', host: '127.0.0.1', port: rawPort, baudRate: 115200, reset: 'classic', answerTimeoutMs: 200 });
    await expect(b.open()).rejects.toThrow(/is not an RFC 2217 port \(no answer to SET-BAUDRATE within 0\.2 s\)/);
    await new Promise<void>((resolve) => raw.close(() => resolve()));

    const slow = await fakeServer({ confirmBaud: () => 115200 });
    const c = new Rfc2217Link({ board: 'bench-1', host: '127.0.0.1', port: slow.port, baudRate: 2_000_000, reset: 'classic' });
    await expect(c.open()).rejects.toThrow(`board bench-1: rfc2217://127.0.0.1:${slow.port} set its serial port to 115200 baud when asked for 2000000: the access server's device does not take that rate`);
  });

  it('refuses options it does not use, once each; a dropped connection is a disconnect, and open() reconnects', async () => {
    const fake = await fakeServer();
    const link = new Rfc2217Link({ board: 'bench-1', host: '127.0.0.1', port: fake.port, baudRate: 115200, reset: 'classic' });
    const events: string[] = [];
    link.on('disconnect', () => events.push('disconnect')).on('reconnect', () => events.push('reconnect'));
    await link.open();
    expect(fake.negotiations).toEqual(['251 0', '253 0', '251 3', '253 3', '251 44']); // WILL/DO BINARY, WILL/DO SGA, WILL COM-PORT-OPTION
    const TTYPE = 24;
    fake.raw(Uint8Array.of(...negotiation(DO, TTYPE), ...negotiation(DO, TTYPE)));
    await until('the refusal', () => fake.negotiations.length === 6);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.negotiations.slice(5)).toEqual([`${WONT} ${TTYPE}`]);
    fake.drop();
    await until('the disconnect', () => events.length === 1);
    expect(link.isOpen).toBe(false);
    await expect(link.send(ping)).rejects.toThrow(/is not open/);
    await link.open();
    expect(events).toEqual(['disconnect', 'reconnect']);
    await link.send(ping);
    await until('the PING after the reconnection', () => fake.data.length === ping.length);
    await link.close();
  });

  it('prints and parses rfc2217://host:port (IPv6 in brackets), and keeps it apart from tcp://', () => {
    expect(rfc2217Url({ host: 'fd00::5', port: 4001 })).toBe('rfc2217://[fd00::5]:4001');
    expect(parseRfc2217Url('rfc2217://[fd00::5]:4001')).toEqual({ host: 'fd00::5', port: 4001 });
    expect(parseRfc2217Url('rfc2217://bench-2.lab:4001')).toEqual({ host: 'bench-2.lab', port: 4001 });
    expect(parseRfc2217Url('tcp://bench-2.lab:4001')).toBeUndefined();
    expect(parseTcpUrl('rfc2217://bench-2.lab:4001')).toBeUndefined();
    expect(parseRfc2217Url('rfc2217://bench-2.lab:0')).toBeUndefined();
    expect(parseRfc2217Url('/dev/ttyUSB0')).toBeUndefined();
  });
});
