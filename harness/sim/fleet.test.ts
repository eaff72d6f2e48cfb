import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { decodeFrame, decodeMessage, encodeMessage, type Hello, type Message, type Request } from '../protocol/index.js';
import type { BoardConfig, Rigs } from '../config/types.js';
import { isLabError } from '../errors.js';
import { writeModel } from '../tflite/writer.js';
import { tinyConvInt8 } from '../tflite/example-models.js';
import { modelUploadRequests } from '../protocol/index.js';
import { defaultSimRigs, startSimFleet, type SimFleet } from './fleet.js';
import { SimSerialClient } from './testing/serial-client.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hil-sim-fleet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function rigs(boards: BoardConfig[]): Rigs {
  return { file: path.join(dir, 'rigs.json'), label: 'rigs.json', mqtt: { url: 'embedded', embeddedPort: 0 }, boards, warnings: [] };
}

function simBoard(id: string, transport: BoardConfig['transport'], seed = 1, faults: NonNullable<BoardConfig['simulated']>['faults'] = []): BoardConfig {
  return { id, chip: 'esp32s3', transport, identity: {}, tags: ['sim'], simulated: { profile: 'esp32s3-devkitc-1-n8r2', seed, faults } };
}

async function fleetOf(r: Rigs, extra: Partial<Parameters<typeof startSimFleet>[0]> = {}): Promise<SimFleet> {
  const fleet = await startSimFleet({ rigs: r, timeScale: 0.01, ...extra });
  cleanup.push(() => fleet.stop());
  return fleet;
}

/** An MQTT "host" on a board's topics: collects evt frames, log lines and status values. */
async function mqttHost(url: string, topic: string) {
  const client: MqttClient = await connectAsync(url, { protocolVersion: 4, // aedes speaks MQTT 3.1.1 only
    clientId: `test-host-${Math.random()}` });
  cleanup.push(async () => { await client.endAsync(); });
  const messages: Message[] = [];
  const logs: string[] = [];
  const status: string[] = [];
  client.on('message', (t, payload) => {
    if (t === `${topic}/evt`) messages.push(decodeMessage(decodeFrame(new Uint8Array(payload))));
    else if (t === `${topic}/log`) logs.push(payload.toString());
    else if (t === `${topic}/status`) status.push(payload.toString());
  });
  await client.subscribeAsync([`${topic}/evt`, `${topic}/log`, `${topic}/status`], { qos: 1 });
  let nextId = 1;
  const until = async <T>(f: () => T | undefined | false, ms = 5000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = f();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out; status ${status.join(',')}; ${messages.length} frames`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    messages, logs, status, until,
    async request(body: Request): Promise<Message[]> {
      const id = nextId++;
      await client.publishAsync(`${topic}/cmd`, Buffer.from(encodeMessage({ requestId: id, simulated: false, more: false, body })), { qos: 1 });
      await until(() => messages.some((m) => m.requestId === id && !m.more));
      return messages.filter((m) => m.requestId === id);
    },
    publishRaw: (bytes: Uint8Array) => client.publishAsync(`${topic}/cmd`, Buffer.from(bytes), { qos: 1 }),
  };
}

describe('startSimFleet', () => {
  it('starts serial boards on PTYs (linked at the rig port) and MQTT boards on an embedded broker; stop() undoes it all', async () => {
    const port = path.join(dir, 'ttyS3-desk');
    const fleet = await startSimFleet({
      rigs: rigs([
        simBoard('serial-1', { serial: { port, baud: 460800, flashBaud: 921600, reset: 'classic' } }, 1),
        simBoard('mqtt-1', { mqtt: { topic: 'lab/mqtt-1' } }, 2),
      ]),
      timeScale: 0.01,
    });
    expect(fleet.boards.map((b) => [b.id, b.ptyPath, b.mqttTopic, b.baud])).toEqual([
      ['serial-1', port, undefined, 460800],
      ['mqtt-1', undefined, 'lab/mqtt-1', undefined],
    ]);
    expect(fleet.brokerUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(readlinkSync(port)).toBe(fleet.board('serial-1').path);
    const c = await SimSerialClient.open(port, 460800);
    cleanup.push(() => c.close());
    expect(((await c.hello()).body as Hello).psramSize).toBe(2 * 1024 * 1024); // the n8r2 profile

    const host = await mqttHost(fleet.brokerUrl!, 'lab/mqtt-1');
    await host.until(() => host.status.includes('online'));
    expect(await host.request({ type: 'ping', data: new Uint8Array([7]) })).toMatchObject([{ simulated: true, body: { type: 'pong' } }]);
    await c.close();
    await fleet.stop();
    expect(existsSync(port)).toBe(false);
    await host.until(() => host.status.at(-1) === 'offline');
    expect(() => fleet.board('nope')).toThrow(/no board "nope"/);
  });

  it('serves one firmware behind both links: a model loaded over serial is seen over MQTT; HELLO after each MQTT (re)connection; the Last Will on a reboot', async () => {
    const fleet = await fleetOf(rigs([simBoard('both', { serial: { baud: 921600, flashBaud: 921600, reset: 'classic' }, mqtt: { topic: 'lab/both' } })]));
    const b = fleet.boards[0]!;
    const host = await mqttHost(fleet.brokerUrl!, 'lab/both');
    const c = await SimSerialClient.open(b.ptyPath!, 921600);
    cleanup.push(() => c.close());
    await c.hello();
    const tiny = writeModel(tinyConvInt8());
    for (const req of modelUploadRequests(tiny, 'psram')) await c.request(req);
    await host.until(() => host.status.includes('online'));
    const mem = await host.request({ type: 'memory_report' });
    expect(mem[0]!.body).toMatchObject({ type: 'memory', modelSize: tiny.length, modelPlacement: 'psram' });
    expect(host.logs.some((l) => /hil: model of \d+ bytes uploaded to psram/.test(l))).toBe(true);

    const before = host.messages.length;
    b.board.reset();
    await host.until(() => host.status.lastIndexOf('offline') > host.status.indexOf('online'));
    const hello = await host.until(() => host.messages.slice(before).find((m) => m.body.type === 'hello'));
    expect(hello.requestId).toBe(0);
    expect((hello.body as Hello).uptimeMs).toBeLessThan(20_000);
    expect(host.status.at(-1)).toBe('online');
  });

  it('drops the MQTT connection on a disconnect fault (Last Will) and says HELLO again when back, without rebooting', async () => {
    const fleet = await fleetOf(rigs([simBoard('flaky', { mqtt: { topic: 'lab/flaky' } }, 5, [{ kind: 'disconnect', afterInvokes: 2, durationS: 30, times: 1 }])]));
    const host = await mqttHost(fleet.brokerUrl!, 'lab/flaky');
    await host.until(() => host.status.includes('online'));
    const tiny = writeModel(tinyConvInt8());
    for (const req of modelUploadRequests(tiny, 'psram')) await host.request(req);
    await host.request({ type: 'arena_config', size: 32768, placement: 'internal' });
    const from = host.messages.length;
    const id = 1000;
    void host.publishRaw(encodeMessage({ requestId: id, simulated: false, more: false, body: { type: 'invoke', warmup: 0, measured: 5, profile: false } }));
    await host.until(() => host.status.at(-1) === 'offline');
    const hello = await host.until(() => host.messages.slice(from).find((m) => m.body.type === 'hello'), 5000);
    expect((hello.body as Hello).resetReason).toBe(1); // not a reboot: uptime goes on
    expect(host.status.at(-1)).toBe('online');
    // The state survived: the arena is still there.
    expect((await host.request({ type: 'memory_report' }))[0]!.body).toMatchObject({ arenaSize: 32768 });
  });

  it('counts an MQTT message that is not exactly one frame and drops it', async () => {
    const fleet = await fleetOf(rigs([simBoard('m', { mqtt: { topic: 'lab/m' } })]));
    const host = await mqttHost(fleet.brokerUrl!, 'lab/m');
    await host.until(() => host.status.includes('online'));
    const ping = encodeMessage({ requestId: 9, simulated: false, more: false, body: { type: 'ping', data: new Uint8Array() } });
    await host.publishRaw(Buffer.concat([ping, ping]));
    await host.publishRaw(Buffer.from('hello there'));
    expect(await host.request({ type: 'ping', data: new Uint8Array([1]) })).toHaveLength(1);
    expect(fleet.board('m').mqtt!.badMessages).toBe(2);
    expect(fleet.board('m').firmware!.stats.badFrames).toBe(2);
  });

  it('refuses bad requests with one clear sentence', async () => {
    const msg = async (p: Promise<unknown>): Promise<string> => p.then(() => 'no error', (e: unknown) => (isLabError(e) ? e.message : String(e)));
    const real: BoardConfig = { id: 'real', chip: 'esp32s3', transport: { serial: { port: '/dev/ttyACM0', baud: 115200, flashBaud: 921600, reset: 'usb-jtag' } }, identity: {}, tags: [] };
    expect(await msg(startSimFleet({ rigs: rigs([real]) }))).toMatch(/no simulated boards to start/);
    expect(await msg(startSimFleet({ rigs: rigs([real]), boards: ['real'] }))).toMatch(/"real" is a real board/);
    expect(await msg(startSimFleet({ rigs: rigs([real]), boards: ['ghost'] }))).toMatch(/no board "ghost"/);
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(await msg(startSimFleet({ rigs: rigs([simBoard('s', { serial: { port: file, baud: 115200, flashBaud: 921600, reset: 'classic' } })]), timeScale: 0.01 })))
      .toMatch(/a-file exists and is not a symlink/);
    expect(lstatSync(file).isFile()).toBe(true);
    const creds = simBoard('c', { mqtt: { topic: 'lab/c', credentials: { usernameEnv: 'HIL_TEST_NOPE_USER', passwordEnv: 'HIL_TEST_NOPE_PASS' } } });
    expect(await msg(startSimFleet({ rigs: rigs([creds]), timeScale: 0.01 }))).toMatch(/HIL_TEST_NOPE_USER .* is not set/);
    expect(() => defaultSimRigs(0)).toThrow(/--boards must be a whole number from 1 to 64/);
  });

  it('adds --faults specs to the rigs and keeps flash files in flashDir across fleets', async () => {
    const flashDir = path.join(dir, 'flash-keep');
    const r = defaultSimRigs(2);
    let fleet = await startSimFleet({ rigs: r, timeScale: 0.01, flashDir, mqtt: 'embedded' });
    const c = await SimSerialClient.open(fleet.boards[1]!.ptyPath!, 115200);
    await c.hello();
    expect(await c.final({ type: 'sim_set_variant', variant: 'reference' })).toEqual({ type: 'ok' });
    await c.until(() => c.messages.filter((m) => m.body.type === 'hello').length === 2);
    await c.close();
    await fleet.stop();
    fleet = await startSimFleet({ rigs: r, timeScale: 0.01, flashDir, faults: [{ board: 'sim-1', fault: { kind: 'slow-link', latencyMs: 5 } }] });
    cleanup.push(() => fleet.stop());
    const c2 = await SimSerialClient.open(fleet.boards[1]!.ptyPath!, 115200);
    cleanup.push(() => c2.close());
    expect(((await c2.hello()).body as Hello).variant).toBe('reference'); // what is in its flash
    expect(fleet.board('sim-1').faults.faults).toEqual([{ kind: 'slow-link', latencyMs: 5 }]);
    expect(fleet.board('sim-2').faults.faults).toEqual([]);
  });
});
