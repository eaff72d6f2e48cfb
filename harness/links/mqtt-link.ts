/**
 * A board on an MQTT broker (PROTOCOL.md section 6), over MQTT.js: requests are published on
 * `<topic>/cmd`, replies and HELLOs arrive on `<topic>/evt` (both QoS 1, one frame per message),
 * board log lines on `<topic>/log` (QoS 0) and the board's liveness on `<topic>/status` (retained
 * `online` when it connects, a retained `offline` Last Will when its connection dies).
 *
 * MQTT 5 by default; the embedded aedes broker refuses MQTT 5 (aedes README: "MQTT 5.0 - not
 * supported yet", FACTS.md), so links to it must ask for 3.1.1 (`protocolVersion: 4`). With MQTT 5
 * a publish the broker's ACL denies comes back as a PUBACK reason code; with 3.1.1 mosquitto drops
 * it silently and still acknowledges (FACTS.md), so every publish has a timeout and the session
 * above has per-request timeouts as well.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { LabError } from '../errors.js';
import { decodeFrame, HEADER_SIZE, ProtocolError, crc16 } from '../protocol/index.js';
import type { BoardPresence, Clock, Link, LinkEvents, LinkFrameError, LinkStats } from './link.js';
import { emptyStats, systemClock } from './link.js';

export interface MqttLinkOptions {
  board: string;
  /** mqtt://host:port, mqtts://..., ws://... */
  url: string;
  /** Topic prefix, e.g. "lab/sim-1". */
  topic: string;
  /** 5 (default) or 4 = MQTT 3.1.1 (the embedded aedes broker). */
  protocolVersion?: 4 | 5;
  username?: string;
  password?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  clientId?: string;
  /** Limit for the broker's PUBACK of one command (default 5000 ms). */
  publishTimeoutMs?: number;
  /** Limit for the first connection (default 10000 ms). */
  connectTimeoutMs?: number;
  clock?: Clock;
}

const utf8 = new TextDecoder('utf-8');

export class MqttLink extends EventEmitter<LinkEvents> implements Link {
  readonly kind = 'mqtt' as const;
  readonly board: string;
  readonly address: string;
  readonly helloOnReconnect = true;
  private readonly options: MqttLinkOptions;
  private readonly clock: Clock;
  private client: MqttClient | undefined;
  private presenceValue: BoardPresence = 'unknown';
  private closing = false;
  private down = false;
  private readonly counters: LinkStats = emptyStats();
  private readonly topics: { cmd: string; evt: string; log: string; status: string };

  constructor(options: MqttLinkOptions) {
    super();
    if (!options.url) throw new TypeError('MqttLink: url is required');
    if (!options.topic || /[#+]/.test(options.topic)) throw new TypeError(`MqttLink: topic must be a plain topic prefix, got "${options.topic}"`);
    this.options = options;
    this.board = options.board;
    this.address = options.topic;
    this.clock = options.clock ?? systemClock;
    const t = options.topic.replace(/\/+$/, '');
    this.topics = { cmd: `${t}/cmd`, evt: `${t}/evt`, log: `${t}/log`, status: `${t}/status` };
  }

  get isOpen(): boolean {
    return this.client?.connected ?? false;
  }

  get presence(): BoardPresence {
    return this.presenceValue;
  }

  get protocolVersion(): 4 | 5 {
    return this.options.protocolVersion ?? 5;
  }

  async open(): Promise<void> {
    if (this.client) {
      if (this.client.connected) return;
      await this.close();
    }
    const o = this.options;
    this.closing = false;
    this.down = false;
    const opts: IClientOptions = {
      protocolVersion: this.protocolVersion,
      clientId: o.clientId ?? `hil-harness-${o.board}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...this.tlsOptions(),
    };
    const client = connect(o.url, opts);
    this.client = client;
    // Nagle's algorithm holds a small write (the next command, a PUBACK) until the previous one is
    // acknowledged, and with the peer's delayed ACK that costs ~40 ms per exchange: measured here,
    // a PING round trip over the broker took 88 ms with Nagle on every socket, 0.5 ms without.
    client.on('connect', () => noDelay(client));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = this.clock.setTimeout(() => {
          done();
          reject(new LabError('link-timeout', `board ${o.board}: no answer from the MQTT broker at ${o.url} within ${opts.connectTimeout} ms: is it running and reachable?`));
        }, opts.connectTimeout!);
        const onConnect = () => { done(); resolve(); };
        const onError = (e: Error & { code?: string | number }) => { done(); reject(this.connectError(e)); };
        const done = () => {
          this.clock.clearTimeout(timer);
          client.off('connect', onConnect);
          client.off('error', onError);
        };
        client.once('connect', onConnect);
        client.once('error', onError);
      });
      const grants = await client.subscribeAsync({
        [this.topics.evt]: { qos: 1 },
        [this.topics.log]: { qos: 0 },
        [this.topics.status]: { qos: 1 },
      });
      const refused = grants.find((g) => g.qos >= 0x80);
      if (refused) {
        throw new LabError('link-refused', `board ${o.board}: the MQTT broker at ${o.url} refused the subscription to ${refused.topic}${o.username ? ` for user ${o.username}` : ''}: give the harness user read access to ${this.address}/# in the broker's ACL`);
      }
    } catch (e) {
      this.client = undefined;
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      throw e;
    }
    client.on('message', (topic, payload) => this.message(topic, payload));
    client.on('error', () => undefined); // connection errors surface as 'close' / failed publishes
    client.on('close', () => {
      if (this.closing || this.down) return;
      this.down = true;
      this.counters.disconnects++;
      this.emit('disconnect', `lost the connection to the MQTT broker at ${o.url}`);
    });
    client.on('connect', () => {
      // MQTT.js re-subscribes on its own (resubscribe: true); replies sent meanwhile are lost.
      if (!this.down) return;
      this.down = false;
      this.emit('reconnect');
    });
  }

  async send(frame: Uint8Array): Promise<void> {
    const client = this.client;
    if (!client?.connected) {
      throw new LabError('link-down', `board ${this.board}: not connected to the MQTT broker at ${this.options.url} (it is reconnecting): check the broker`);
    }
    const ms = this.options.publishTimeoutMs ?? 5000;
    await new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        reject(new LabError('link-timeout', `board ${this.board}: the MQTT broker did not acknowledge a command on ${this.topics.cmd} within ${ms} ms (it may be overloaded or have dropped the connection)`));
      }, ms);
      client.publish(this.topics.cmd, Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), { qos: 1 }, (e) => {
        this.clock.clearTimeout(timer);
        if (!e) return resolve();
        const code = (e as Error & { code?: number }).code;
        if (typeof code === 'number' && code >= 0x80) {
          reject(new LabError('link-refused', `board ${this.board}: the MQTT broker refused the command on ${this.topics.cmd} (MQTT 5 reason code ${code}: ${e.message.replace(/^Publish error: /, '')}): give the harness user write access to ${this.address}/# in the broker's ACL`, { cause: e }));
        } else {
          reject(new LabError('link-down', `board ${this.board}: publishing on ${this.topics.cmd} failed (${e.message})`, { cause: e }));
        }
      });
    });
    this.counters.bytesOut += frame.length;
    this.counters.framesOut++;
  }

  async hardwareReset(): Promise<boolean> {
    return false; // nothing but the protocol reaches a board over MQTT
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.closing = true;
    client.removeAllListeners('message');
    await client.endAsync(true).catch(() => undefined);
  }

  stats(): LinkStats {
    return { ...this.counters };
  }

  private message(topic: string, payload: Buffer): void {
    this.counters.bytesIn += payload.length;
    if (topic === this.topics.evt) {
      try {
        const frame = decodeFrame(payload);
        this.counters.framesIn++;
        this.emit('frame', frame);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        this.counters.frameErrors++;
        this.emit('frame-error', badMessage(e, payload));
      }
    } else if (topic === this.topics.log) {
      this.counters.logLines++;
      this.emit('log', utf8.decode(payload));
    } else if (topic === this.topics.status) {
      const text = payload.toString('utf8').trim();
      const presence: BoardPresence = text === 'online' ? 'online' : text === 'offline' ? 'offline' : 'unknown';
      if (presence !== this.presenceValue) {
        this.presenceValue = presence;
        this.emit('presence', presence);
      }
    }
  }

  private connectError(e: Error & { code?: string | number }): LabError {
    const { board, url, username } = this.options;
    const code = e.code;
    if (code === 'ECONNREFUSED') return new LabError('link-missing', `board ${board}: nothing listens at the MQTT broker address ${url}: start the broker, or fix mqtt.url in rigs.json`, { cause: e });
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new LabError('link-missing', `board ${board}: the MQTT broker host in ${url} does not resolve: fix mqtt.url in rigs.json`, { cause: e });
    if (code === 1 || code === 132) return new LabError('link-refused', `board ${board}: the MQTT broker at ${url} refuses MQTT ${this.protocolVersion === 5 ? '5' : '3.1.1'} (${e.message}): the embedded aedes broker needs 3.1.1, any other broker should speak 5`, { cause: e });
    if (code === 4 || code === 134) return new LabError('link-refused', `board ${board}: the MQTT broker at ${url} rejected ${username ? `user ${username}` : 'an anonymous login'} (${e.message}): check the credentials' environment variables named in rigs.json mqtt.credentials`, { cause: e });
    if (code === 5 || code === 135) return new LabError('link-refused', `board ${board}: the MQTT broker at ${url} did not authorize ${username ? `user ${username}` : 'an anonymous login'} (${e.message}): check the broker's password file and ACL`, { cause: e });
    return new LabError('link-open', `board ${board}: cannot connect to the MQTT broker at ${url} (${e.message})`, { cause: e });
  }

  private tlsOptions(): Partial<IClientOptions> {
    const tls = this.options.tls;
    if (!tls) return {};
    const read = (file: string | undefined, what: string): Buffer | undefined => {
      if (!file) return undefined;
      try {
        return readFileSync(file);
      } catch (e) {
        throw new LabError('link-tls', `board ${this.board}: cannot read the MQTT TLS ${what} ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): fix mqtt.tls in rigs.json`, { cause: e });
      }
    };
    const ca = read(tls.caFile, 'CA file');
    const cert = read(tls.certFile, 'certificate');
    const key = read(tls.keyFile, 'key');
    return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  }
}

function noDelay(client: MqttClient): void {
  const stream = client.stream as { setNoDelay?: (on: boolean) => void } | undefined;
  stream?.setNoDelay?.(true);
}

/** A message on evt that is not exactly one valid frame; with a valid header, which request it answered. */
function badMessage(e: ProtocolError, payload: Uint8Array): LinkFrameError {
  const reason = e.reason === 'bad-header' || e.reason === 'oversize' || e.reason === 'crc' || e.reason === 'truncated' || e.reason === 'trailing-bytes' ? e.reason : 'bad-header';
  const out: LinkFrameError = { reason, wholeMessage: true, detail: e.message };
  if (payload.length >= HEADER_SIZE && payload[0] === 0xf5 && payload[1] === 0xa5 && crc16(payload, 0, 10) === (payload[10] | (payload[11] << 8))) {
    out.type = payload[3];
    out.requestId = payload[6] | (payload[7] << 8);
  }
  return out;
}
