/**
 * `hil sim` as a user runs it: a child process printing device paths, and a plain serialport open
 * of a printed path showing the boot log and a HELLO (the README's "any serial terminal shows the
 * boot log and a hello"); MQTT boards reachable on the printed broker; Ctrl-C stops it cleanly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { SerialPort } from 'serialport';
import { FrameDecoder, decodeFrame, decodeMessage, encodeMessage, type Hello, type Message } from '../../harness/protocol/index.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const hil = path.join(repo, 'bin', 'hil.js');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function startSim(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [hil, 'sim', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function until<T>(f: () => T | undefined | null | false, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('hil sim (CLI, child process)', () => {
  it('prints each board\'s device path; a plain serialport open of it shows the boot log and a HELLO; MQTT answers on the printed broker; Ctrl-C stops it', async () => {
    const sim = startSim(['--boards', '2', '--time-scale', '0.05']);
    const text = await until(() => sim.output().includes('Ctrl-C stops the boards.') && sim.output(), 60_000, 'hil sim to print its boards');
    expect(text).toMatch(/simulated ESP32-S3 boards \(every number they report is simulated\)/);
    const [, ptyPath, baud] = /sim-1 +serial +(\S+) +(\d+) baud/.exec(text)!;
    const brokerUrl = /broker: (\S+)/.exec(text)![1]!;

    // Any serial terminal: open the path, read what comes.
    const port = new SerialPort({ path: ptyPath!, baudRate: Number(baud) });
    const decoder = new FrameDecoder();
    const lines: string[] = [];
    const messages: Message[] = [];
    port.on('data', (chunk: Buffer) => {
      for (const e of decoder.push(chunk)) {
        if (e.kind === 'log') lines.push(e.line);
        else if (e.kind === 'frame') messages.push(decodeMessage(e.frame));
      }
    });
    const hello = await until(() => messages.find((m) => m.body.type === 'hello'), 20_000, 'a HELLO on the PTY');
    await new Promise<void>((r) => port.close(() => r()));
    expect(lines[0]).toBe('ESP-ROM:esp32s3-20210327');
    expect(lines).toContain('rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)');
    expect(lines.some((l) => /^I \(\d+\) cpu_start: Pro cpu start user code/.test(l))).toBe(true);
    expect(lines.some((l) => /^I \(\d+\) app_init: App version: +v0\.1\.0-sim/.test(l))).toBe(true);
    expect(hello).toMatchObject({ requestId: 0, simulated: true, body: { type: 'hello', chip: 'esp32s3', variant: 'esp-nn', simulated: true } });

    // The same board on MQTT (3.1.1: the embedded aedes broker).
    const client = await connectAsync(brokerUrl, { protocolVersion: 4, clientId: 'sim-cli-test' });
    const evt: Message[] = [];
    client.on('message', (_t, payload) => evt.push(decodeMessage(decodeFrame(new Uint8Array(payload)))));
    await client.subscribeAsync('lab/sim-2/evt', { qos: 1 });
    await client.publishAsync('lab/sim-2/cmd', Buffer.from(encodeMessage({ requestId: 5, simulated: false, more: false, body: { type: 'get_info' } })), { qos: 1 });
    const info = await until(() => evt.find((m) => m.requestId === 5), 20_000, 'INFO over MQTT');
    expect((info.body as Hello).variant).toBe('esp-nn');
    await client.endAsync();

    sim.child.kill('SIGINT');
    expect(await sim.exited).toBe(0);
    expect(sim.output()).toContain('hil sim: boards stopped');
  });

  it('runs the boards of a rigs file, with faults, and writes session recordings on exit', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hil-sim-cli-'));
    try {
      const rigsFile = path.join(dir, 'rigs.json');
      writeFileSync(rigsFile, JSON.stringify({
        $schema: path.join(repo, 'harness/schemas/rigs.schema.json'),
        mqtt: { url: 'embedded' },
        boards: [{ id: 'desk', chip: 'esp32s3', transport: { serial: { baud: 921600 } }, simulated: { profile: 'esp32s3-devkitc-1-n8' } }],
      }));
      const sim = startSim(['--rigs', rigsFile, '--time-scale', '0.05', '--json', '--record', path.join(dir, 'rec'), '--faults', 'desk:slow-link,latencyMs=1']);
      const out = await until(() => sim.output().split('\n').find((l) => l.startsWith('{')), 60_000, 'the JSON line');
      const printed = JSON.parse(out) as { boards: { id: string; ptyPath: string; baud: number }[]; brokerUrl?: string; simulated: boolean };
      expect(printed.simulated).toBe(true);
      expect(printed.brokerUrl).toBeUndefined(); // nobody uses MQTT
      const board = printed.boards[0]!;
      expect([board.id, board.baud]).toEqual(['desk', 921600]);
      const port = new SerialPort({ path: board.ptyPath, baudRate: board.baud });
      const decoder = new FrameDecoder();
      const messages: Message[] = [];
      port.on('data', (chunk: Buffer) => {
        for (const e of decoder.push(chunk)) if (e.kind === 'frame') messages.push(decodeMessage(e.frame));
      });
      const hello = await until(() => messages.find((m) => m.body.type === 'hello'), 20_000, 'HELLO');
      expect((hello.body as Hello).psramSize).toBe(0); // the n8 profile has no PSRAM
      port.write(Buffer.from(encodeMessage({ requestId: 1, simulated: false, more: false, body: { type: 'memory_report' } })));
      await until(() => messages.find((m) => m.requestId === 1), 20_000, 'MEMORY');
      await new Promise<void>((r) => port.close(() => r()));
      sim.child.kill('SIGTERM');
      expect(await sim.exited).toBe(0);
      const recording = JSON.parse(readFileSync(path.join(dir, 'rec', 'desk.session.json'), 'utf8')) as { format: string; requests: string[]; replies: string[][] };
      expect(recording.format).toBe('hil-session');
      expect(recording.requests).toHaveLength(1);
      expect(decodeMessage(decodeFrame(Uint8Array.from(Buffer.from(recording.replies[0]![0]!, 'hex')))).body.type).toBe('memory');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ends bad options with one clear sentence and exit code 2', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [hil, 'sim', ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    let r = run('--boards', 'many');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('hil: --boards must be a whole number of boards (1 or more), got "many"');
    r = run('--boards', '1', '--faults', 'sim-1:explode');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^hil: --faults: "sim-1:explode": unknown fault kind "explode"; use one of/);
    r = run('--boards', '1', '--faults', 'sim-9:hang,afterInvokes=1');
    expect(r.stderr.trim()).toBe('hil: --faults names board "sim-9", which is not running (boards: sim-1)');
    r = run('--boards', '1', '--time-scale', '0');
    expect(r.stderr.trim()).toBe('hil: --time-scale must be a positive number, got "0"');
    r = run('--boards', '1', '--mqtt', 'localhost');
    expect(r.stderr.trim()).toMatch(/--mqtt must be "embedded" or a broker URL/);
  });
});
