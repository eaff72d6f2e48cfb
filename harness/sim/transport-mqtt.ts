/**
 * The simulated board's MQTT link: an MQTT 5 client (mqtt.js; 3.1.1 for the embedded aedes broker) speaking PROTOCOL.md section 6, as
 * the firmware's esp-mqtt transport does (firmware/main/transport_mqtt.cpp):
 *
 *   <topic>/cmd     subscribe, QoS 1: one request frame per message
 *   <topic>/evt     publish, QoS 1: one reply / HELLO frame per message
 *   <topic>/log     publish, QoS 0: one board log line per message (no line end)
 *   <topic>/status  retained "online" after connecting; Last Will retained "offline"
 *
 * A message on cmd that is not exactly one valid frame is counted and dropped, like the firmware's
 * Session::pushMessage. Each (re)connection is a fresh client, so a reboot, a dropped connection or
 * a disconnect fault closes the socket without DISCONNECT and the broker publishes the Last Will.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { decodeFrame, ProtocolError } from '../protocol/index.js';
import type { LinkLimit } from './serial-wire.js';
import type { BoardFaults } from './faults.js';
import type { FrameSink, SimFirmware } from './app/firmware.js';

export interface MqttLinkOptions {
  url: string;
  /** Topic prefix, e.g. "lab/sim-3". */
  topic: string;
  clientId: string;
  /**
   * 5 (MQTT 5, default) or 4 (3.1.1). The embedded aedes broker speaks only 3.1.1 (aedes README:
   * "MQTT 5.0 (not support yet)") and refuses MQTT 5 with "Unacceptable protocol version".
   */
  protocolVersion?: 4 | 5;
  username?: string;
  password?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  faults?: BoardFaults;
  /** Log a line about the link (connects, errors) on the board's console. */
  note?: (text: string) => void;
}

export class MqttBoardLink implements FrameSink {
  readonly link = 'mqtt' as const;
  readonly topic: string;
  private client: MqttClient | undefined;
  private firmware: SimFirmware | undefined;
  private limit: LinkLimit = {};
  private lineFreeAt = 0;
  private sendChain: Promise<void> = Promise.resolve();
  /** Messages on cmd that were not exactly one valid frame. */
  badMessages = 0;
  /** Frames the board could not publish because it was not connected. */
  droppedFrames = 0;
  connects = 0;

  constructor(private readonly options: MqttLinkOptions) {
    this.topic = options.topic;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  setLinkLimit(limit: LinkLimit | undefined): void {
    this.limit = limit ?? {};
  }

  /** Connect (a fresh client) for `firmware`; HELLO goes out on every connection. */
  connect(firmware: SimFirmware): void {
    this.drop();
    this.firmware = firmware;
    const o = this.options;
    const opts: IClientOptions = {
      protocolVersion: o.protocolVersion ?? 5,
      clientId: o.clientId,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      will: { topic: `${this.topic}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.tls?.caFile ? { ca: readFileSync(o.tls.caFile) } : {}),
      ...(o.tls?.certFile ? { cert: readFileSync(o.tls.certFile) } : {}),
      ...(o.tls?.keyFile ? { key: readFileSync(o.tls.keyFile) } : {}),
    };
    const client = connect(o.url, opts);
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client) return;
      // Same reason as the embedded broker's sockets: no Nagle delay on small frames.
      (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      this.connects++;
      client.publish(`${this.topic}/status`, 'online', { qos: 1, retain: true });
      client.subscribe(`${this.topic}/cmd`, { qos: 1 }, (err) => {
        if (err || this.client !== client) return;
        this.options.note?.(`MQTT connected to ${o.url}, topic ${this.topic}`);
        if (this.firmware && !this.firmware.isStopped) this.firmware.sendHello(this); // after every (re)connection
      });
    });
    client.on('message', (topic, payload) => {
      if (this.client !== client || topic !== `${this.topic}/cmd`) return;
      this.receive(new Uint8Array(payload));
    });
    client.on('error', (e) => this.options.note?.(`MQTT error: ${e.message}`));
  }

  /** The connection goes away without DISCONNECT (reboot, crash, cable): the broker sends the Last Will. */
  drop(): void {
    const c = this.client;
    this.client = undefined;
    this.firmware = undefined;
    if (c) c.end(true);
  }

  /** Clean shutdown of the simulator: "offline" is published, then DISCONNECT. */
  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.firmware = undefined;
    if (!c) return;
    if (c.connected) {
      await Promise.race([
        new Promise<void>((r) => c.publish(`${this.topic}/status`, 'offline', { qos: 1, retain: true }, () => r())),
        new Promise((r) => setTimeout(r, 500)),
      ]);
    }
    await new Promise<void>((r) => c.end(false, {}, () => r()));
  }

  send(frame: Uint8Array): void {
    this.publish(`${this.topic}/evt`, this.options.faults ? this.options.faults.applyToMessage(frame, 'to-host') : frame, 1);
  }

  log(line: string): void {
    this.publish(`${this.topic}/log`, Buffer.from(line, 'utf8'), 0);
  }

  private publish(topic: string, payload: Uint8Array, qos: 0 | 1): void {
    const c = this.client;
    if (!c || !c.connected) {
      if (qos === 1) this.droppedFrames++;
      return;
    }
    const { bytesPerSecond, latencyMs = 0 } = this.limit;
    if (bytesPerSecond === undefined && latencyMs === 0) {
      c.publish(topic, Buffer.from(payload), { qos });
      return;
    }
    // A slow link: every message waits its latency and its share of the byte rate, in order.
    const now = performance.now();
    const start = Math.max(now + latencyMs, this.lineFreeAt);
    this.lineFreeAt = start + (bytesPerSecond ? (payload.length * 1000) / bytesPerSecond : 0);
    const due = this.lineFreeAt;
    this.sendChain = this.sendChain.then(() => new Promise<void>((resolve) => {
      setTimeout(() => {
        if (this.client === c && c.connected) c.publish(topic, Buffer.from(payload), { qos });
        resolve();
      }, Math.max(0, due - performance.now()));
    }));
  }

  private receive(bytes: Uint8Array): void {
    const fw = this.firmware;
    const damaged = this.options.faults ? this.options.faults.applyToMessage(bytes, 'to-board') : bytes;
    if (!fw || fw.isStopped || fw.isSuspended) return;
    try {
      fw.receive(decodeFrame(damaged), this);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.badMessages++;
      fw.stats.badFrames++;
    }
  }
}
