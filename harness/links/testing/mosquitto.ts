/**
 * A real mosquitto for the conformance suite and bench:link, as a lab would run one for its boards: a generated
 * config on a free port of 127.0.0.1, `allow_anonymous false`, a password file made with
 * `mosquitto_passwd -b -c`, and an ACL that lets each board user read and write its own topic
 * only (`pattern readwrite lab/%u/#`) and the harness user everything under `lab/`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { accepts, freePort } from './free-port.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';

export interface Mosquitto {
  url: string;
  port: number;
  /** Logins made: the harness user and one per board. */
  users: Record<string, string>;
  /** What the broker printed (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export function hasMosquitto(): boolean {
  return existsSync(MOSQUITTO) && existsSync(MOSQUITTO_PASSWD);
}

/** Throws the one line CI needs when mosquitto is not installed. */
export function requireMosquitto(): void {
  if (!hasMosquitto()) {
    throw new Error(`${MOSQUITTO} or ${MOSQUITTO_PASSWD} is missing: apt-get install mosquitto (the conformance suite runs against a real broker)`);
  }
}

async function listening(port: number, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}: ${output()}`);
    if (await accepts(port)) return;
    if (Date.now() > end) throw new Error(`mosquitto did not listen on port ${port} within ${timeoutMs} ms: ${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts mosquitto with users `harness` (full access to lab/#) and one per board id. */
export async function startMosquitto(boards: readonly string[]): Promise<Mosquitto> {
  requireMosquitto();
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-mosquitto-'));
  const users: Record<string, string> = { harness: 'harness-secret' };
  for (const b of boards) users[b] = `${b}-secret`;
  const passwd = path.join(dir, 'passwd');
  Object.entries(users).forEach(([user, password], i) => {
    execFileSync(MOSQUITTO_PASSWD, ['-b', ...(i === 0 ? ['-c'] : []), passwd, user, password], { stdio: 'pipe' });
  });
  const acl = path.join(dir, 'acl');
  writeFileSync(acl, [
    '# every board: its own topic only',
    'pattern readwrite lab/%u/#',
    '',
    '# the harness: every board',
    'user harness',
    'topic readwrite lab/#',
    '',
  ].join('\n'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${passwd}`,
    `acl_file ${acl}`,
    'persistence false',
    // Frames are small messages answered at once: without this, Nagle's algorithm and delayed ACKs
    // add ~40 ms to every exchange (measured: PING round trip 88 ms -> 44 ms with it).
    'set_tcp_nodelay true',
    // Started as root (a container), mosquitto would drop to the "mosquitto" user, which cannot
    // read the files made here; run as a normal user this line has no effect.
    'user root',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    '',
  ].join('\n'));
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
  const output = () => text.trim().split('\n').slice(-10).join(' | ');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await listening(port, child, 10_000, output);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: `mqtt://127.0.0.1:${port}`, port, users, output, stop };
}
