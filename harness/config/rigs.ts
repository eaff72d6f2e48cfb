/**
 * `loadRigs`: rigs.json -> typed `Rigs`, after the schema and the checks a schema cannot express
 * (unique ids, ports, topics and identities; a port for every real board; simulated memory that
 * agrees with the profile; faults that say when they fire).
 */
import type {
  BoardConfig, BoardTransport, EnvCredentials, MqttBrokerSettings, Rigs, SimulatedFault, TlsFiles,
} from './types.js';
import { configError, readConfig, resolveFrom } from './read.js';
import { SIMULATED_PROFILES } from './profiles.js';

// The JSON shapes after schema validation (defaults filled in by ajv).
interface RawTls { caFile?: string; certFile?: string; keyFile?: string }
interface RawBoard {
  id: string;
  description?: string;
  chip: 'esp32s3';
  transport: {
    serial?: { port?: string; baud: number; flashBaud: number; reset: 'classic' | 'usb-jtag' };
    mqtt?: { topic?: string; credentials?: EnvCredentials; tls?: RawTls };
  };
  identity?: { usbSerial?: string; mac?: string };
  psramBytes?: number;
  flashBytes?: number;
  tags: string[];
  simulated?: { profile: keyof typeof SIMULATED_PROFILES; seed: number; faults: SimulatedFault[] };
}
interface RawRigs {
  mqtt: { url: string; embeddedPort: number; credentials?: EnvCredentials; tls?: RawTls };
  boards: RawBoard[];
}

const MiB = 1024 * 1024;

/** Load and check rigs.json. Throws a one-line `LabError` naming the file, pointer and fix. */
export function loadRigs(filePath: string): Rigs {
  const { file, label, data } = readConfig(filePath, 'rigs');
  const raw = data as unknown as RawRigs;
  const warnings: string[] = [];
  const fail = (pointer: string, message: string) => configError(label, pointer, message);

  const resolveTls = (tls: RawTls | undefined, pointer: string): TlsFiles | undefined => {
    if (!tls) return undefined;
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      throw fail(pointer, tls.certFile ? 'certFile needs keyFile (the private key of the client certificate)' : 'keyFile needs certFile (the client certificate it belongs to)');
    }
    const out: TlsFiles = {};
    if (tls.caFile) out.caFile = resolveFrom(file, tls.caFile);
    if (tls.certFile) out.certFile = resolveFrom(file, tls.certFile);
    if (tls.keyFile) out.keyFile = resolveFrom(file, tls.keyFile);
    return out;
  };

  const mqtt: MqttBrokerSettings = { url: raw.mqtt.url, embeddedPort: raw.mqtt.embeddedPort };
  if (raw.mqtt.url === 'embedded') {
    if (raw.mqtt.credentials) throw fail('/mqtt/credentials', 'the embedded broker takes no login (remove credentials, or set "url" to your broker)');
    if (raw.mqtt.tls) throw fail('/mqtt/tls', 'the embedded broker does not use TLS (remove tls, or set "url" to an mqtts:// broker)');
  } else if (raw.mqtt.embeddedPort !== 0) {
    throw fail('/mqtt/embeddedPort', `only applies to the embedded broker, but url is "${raw.mqtt.url}" (remove embeddedPort)`);
  }
  if (raw.mqtt.credentials) mqtt.credentials = raw.mqtt.credentials;
  const brokerTls = resolveTls(raw.mqtt.tls, '/mqtt/tls');
  if (brokerTls) mqtt.tls = brokerTls;

  const seen = {
    id: new Map<string, number>(),
    port: new Map<string, string>(),
    topic: new Map<string, string>(),
    usbSerial: new Map<string, string>(),
    mac: new Map<string, string>(),
  };
  const boards: BoardConfig[] = raw.boards.map((b, i) => {
    const at = `/boards/${i}`;
    const firstIndex = seen.id.get(b.id);
    if (firstIndex !== undefined) {
      throw fail(`${at}/id`, `duplicate board id "${b.id}" (also /boards/${firstIndex}/id; ids must be unique)`);
    }
    seen.id.set(b.id, i);

    const transport: BoardTransport = {};
    if (b.transport.serial) {
      const s = b.transport.serial;
      if (s.port === undefined && !b.simulated) {
        throw fail(`${at}/transport/serial`, 'missing field "port" (a real board needs its device path, e.g. /dev/serial/by-id/usb-...)');
      }
      if (s.port !== undefined) {
        const other = seen.port.get(s.port);
        if (other) throw fail(`${at}/transport/serial/port`, `port "${s.port}" is also board "${other}"'s port (each board needs its own)`);
        seen.port.set(s.port, b.id);
        if (!b.simulated && /^\/dev\/tty(USB|ACM)\d+$/.test(s.port)) {
          warnings.push(`${label}: ${at}/transport/serial/port: "${s.port}" can change when boards are replugged; prefer its /dev/serial/by-id/... link`);
        }
      }
      transport.serial = { baud: s.baud, flashBaud: s.flashBaud, reset: s.reset, ...(s.port !== undefined ? { port: s.port } : {}) };
    }
    if (b.transport.mqtt) {
      const m = b.transport.mqtt;
      const topic = m.topic ?? `lab/${b.id}`;
      for (const [otherTopic, other] of seen.topic) {
        if (otherTopic === topic || otherTopic.startsWith(`${topic}/`) || topic.startsWith(`${otherTopic}/`)) {
          throw fail(`${at}/transport/mqtt${m.topic ? '/topic' : ''}`, `topic "${topic}" overlaps board "${other}"'s topic "${otherTopic}" (each board needs its own prefix)`);
        }
      }
      seen.topic.set(topic, b.id);
      transport.mqtt = { topic };
      if (m.credentials) transport.mqtt.credentials = m.credentials;
      const tls = resolveTls(m.tls, `${at}/transport/mqtt/tls`);
      if (tls) transport.mqtt.tls = tls;
    }

    const identity: BoardConfig['identity'] = {};
    if (b.identity?.usbSerial !== undefined) {
      const other = seen.usbSerial.get(b.identity.usbSerial);
      if (other) throw fail(`${at}/identity/usbSerial`, `USB serial "${b.identity.usbSerial}" is also board "${other}"'s (one physical board per entry)`);
      seen.usbSerial.set(b.identity.usbSerial, b.id);
      identity.usbSerial = b.identity.usbSerial;
    }
    if (b.identity?.mac !== undefined) {
      const mac = b.identity.mac.toLowerCase();
      const other = seen.mac.get(mac);
      if (other) throw fail(`${at}/identity/mac`, `MAC ${mac} is also board "${other}"'s (one physical board per entry)`);
      seen.mac.set(mac, b.id);
      identity.mac = mac;
    }

    const board: BoardConfig = { id: b.id, chip: b.chip, transport, identity, tags: b.tags };
    if (b.description !== undefined) board.description = b.description;
    if (b.psramBytes !== undefined) board.psramBytes = b.psramBytes;
    if (b.flashBytes !== undefined) board.flashBytes = b.flashBytes;

    if (b.simulated) {
      const profile = SIMULATED_PROFILES[b.simulated.profile];
      for (const [field, want] of [['psramBytes', profile.psramBytes], ['flashBytes', profile.flashBytes]] as const) {
        const given = b[field];
        if (given !== undefined && given !== want) {
          throw fail(`${at}/${field}`, `${given} contradicts simulated profile "${b.simulated.profile}" (${want / MiB} MiB = ${want}; remove ${field} or pick another profile)`);
        }
      }
      board.psramBytes = profile.psramBytes;
      board.flashBytes = profile.flashBytes;
      b.simulated.faults.forEach((f, k) => checkFault(f, `${at}/simulated/faults/${k}`, fail));
      board.simulated = { profile: b.simulated.profile, seed: b.simulated.seed, faults: b.simulated.faults };
    }
    return board;
  });

  return { file, label, mqtt, boards, warnings };
}

function checkFault(f: SimulatedFault, pointer: string, fail: (p: string, m: string) => Error): void {
  switch (f.kind) {
    case 'reboot':
    case 'hang':
    case 'disconnect':
      if (f.afterInvokes === undefined && f.probability === undefined) {
        throw fail(pointer, `a "${f.kind}" fault needs "afterInvokes" and/or "probability" (when it fires)`);
      }
      return;
    case 'slow-link':
      if (f.bytesPerSecond === undefined && f.latencyMs === undefined) {
        throw fail(pointer, 'a "slow-link" fault needs "bytesPerSecond" and/or "latencyMs" (how slow)');
      }
      return;
    case 'drop-bytes':
    case 'corrupt-bytes':
      return;
  }
}
