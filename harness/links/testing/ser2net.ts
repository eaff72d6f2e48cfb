/**
 * A real ser2net (Debian's, 4.x) exporting serial devices over TCP, as a lab's bench host runs it
 * for the boards on its USB hub: per device a YAML `connection` whose accepter is
 * `telnet(rfc2217),tcp,127.0.0.1,<port>` (RFC 2217: baud rate and DTR/RTS through the network) or
 * `tcp,127.0.0.1,<port>` (raw), and whose connector is the device (`serialdev,<path>,<baud>n81,local`).
 * Used by the link conformance suite and the RFC 2217 tests with the simulated boards' PTYs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { accepts, freePort } from './free-port.js';

export const SER2NET = '/usr/sbin/ser2net';

export function hasSer2net(): boolean {
  return existsSync(SER2NET);
}

/** Throws the one line CI needs when ser2net is not installed. */
export function requireSer2net(): void {
  if (!hasSer2net()) throw new Error(`${SER2NET} is missing: apt-get install ser2net (the RFC 2217 and raw network links are tested against the real one)`);
}

export interface Ser2netExport {
  /** The serial device (a PTY of the simulated fleet, or /dev/serial/by-id/...). */
  device: string;
  mode: 'rfc2217' | 'raw';
  /** The device's initial line speed. */
  baud: number;
}

export interface Ser2net {
  /** The TCP port of each export, in order. */
  ports: number[];
  output(): string;
  /** Stops ser2net (every client connection drops, as when a bench host goes away); restart() brings it back. */
  stop(): Promise<void>;
  /** Starts it again on the same ports (the bench host came back). */
  restart(): Promise<void>;
}

/** ser2net's YAML for the exports (`kickolduser`: a new client takes the port, as a lab wants after a crash). */
export function ser2netConfig(exports: readonly Ser2netExport[], ports: readonly number[]): string {
  return exports.map((e, i) => [
    `connection: &board${i}`,
    `  accepter: ${e.mode === 'rfc2217' ? 'telnet(rfc2217),' : ''}tcp,127.0.0.1,${ports[i]}`,
    `  connector: serialdev,${e.device},${e.baud}n81,local`,
    '  options:',
    '    kickolduser: true',
    '',
  ].join('\n')).join('\n');
}

export async function startSer2net(exports: readonly Ser2netExport[]): Promise<Ser2net> {
  requireSer2net();
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-ser2net-'));
  const ports: number[] = [];
  for (let i = 0; i < exports.length; i++) ports.push(await freePort());
  const conf = path.join(dir, 'ser2net.yaml');
  let text = '';
  let child: ReturnType<typeof spawn> | undefined;
  const output = (): string => text.trim().split('\n').slice(-10).join(' | ');
  const start = async (): Promise<void> => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(conf, ser2netConfig(exports, ports));
    // -n: stay in the foreground; -u: no UUCP lock files (a PTY needs none); -P: a pid file of our own.
    const c = spawn(SER2NET, ['-n', '-u', '-c', conf, '-P', path.join(dir, 'ser2net.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
    const end = Date.now() + 10_000;
    for (const port of ports) {
      for (;;) {
        if (c.exitCode !== null) throw new Error(`ser2net exited with code ${c.exitCode}: ${output()}`);
        if (await accepts(port)) break;
        if (Date.now() > end) throw new Error(`ser2net did not listen on port ${port} within 10 s: ${output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const kill = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (c.exitCode === null) c.kill('SIGKILL');
  };
  try {
    await start();
  } catch (e) {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    ports,
    output,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await kill();
      await start();
    },
  };
}
