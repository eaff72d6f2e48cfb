/**
 * `loadRigs`: rigs.json -> typed `Rigs`, after the schema and the checks a schema cannot express
 * (unique ids, ports, topics and identities; a port for every real board; simulated memory that
 * agrees with the profile; faults that say when they fire).
 */
import { homedir } from 'node:os';
import path from 'node:path';
import type {
  BoardConfig, BoardTransport, EmulatedProfileName, EnvCredentials, MqttBrokerSettings, Rigs, SimulatedFault, TlsFiles,
} from './types.js';
import { configError, readConfig, resolveFrom } from './read.js';
import { EMULATED_PROFILES, SIMULATED_PROFILES } from './profiles.js';

// The JSON shapes after schema validation (defaults filled in by ajv).
interface RawTls { caFile?: string; certFile?: string; keyFile?: string }
interface RawBoard {
  id: string;
  description?: string;
  chip: 'esp32s3';
  transport: {
    serial?: { port?: string; baud: number; flashBaud: number; reset: 'classic' | 'usb-jtag' };
    tcp?: string;
    rfc2217?: string | { address: string; baud?: number; flashBaud?: number; reset?: 'classic' | 'usb-jtag' | 'none' };
    mqtt?: { topic?: string; credentials?: EnvCredentials; tls?: RawTls };
  };
  identity?: { usbSerial?: string; mac?: string };
  psramBytes?: number;
  flashBytes?: number;
  tags: string[];
  simulated?: { profile: keyof typeof SIMULATED_PROFILES; seed: number; faults: SimulatedFault[] };
  emulated?: { profile: EmulatedProfileName; flashFile?: string };
}
interface RawRigs {
  mqtt: { url: string; embeddedPort: number; credentials?: EnvCredentials; tls?: RawTls };
  boards: RawBoard[];
}

const MiB = 1024 * 1024;

/** Where an emulated board keeps its flash image unless rigs.json says (XDG cache, per user). */
export function defaultEmulatedFlashFile(boardId: string, env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(homedir(), '.cache');
  return path.join(cache, 'hil-lab', 'emulated', `${boardId}.flash.bin`);
}

/** `host:port` (the schema checked the shape); brackets around an IPv6 host are removed. */
export function parseHostPort(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  const host = text.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(text.slice(at + 1)) };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

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
    tcp: new Map<string, string>(),
    flashFile: new Map<string, string>(),
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
    if (b.simulated && b.emulated) {
      throw fail(at, 'a board is either "simulated" (the lab\'s virtual board) or "emulated" (QEMU running the firmware), not both: remove one');
    }
    if (b.transport.tcp !== undefined) {
      const { host, port } = parseHostPort(b.transport.tcp);
      if (port > 65535) throw fail(`${at}/transport/tcp`, `port ${port} is not a TCP port (1-65535)`);
      if (port === 0 && !b.emulated && !b.simulated) {
        throw fail(`${at}/transport/tcp`, 'port 0 means "the lab picks one", which only works for a board the lab starts itself (emulated or simulated): give the port the board (ser2net) listens on');
      }
      if (b.emulated && !LOOPBACK.test(host)) {
        throw fail(`${at}/transport/tcp`, `an emulated board runs on this host, so its UART listens on a loopback address, not "${host}": use "127.0.0.1:<port>" (0 = any free port)`);
      }
      if (port !== 0) {
        const key = `${host}:${port}`;
        const other = seen.tcp.get(key);
        if (other) throw fail(`${at}/transport/tcp`, `"${b.transport.tcp}" is also board "${other}"'s TCP port (each board needs its own)`);
        seen.tcp.set(key, b.id);
      }
      transport.tcp = { host, port };
    }
    if (b.transport.rfc2217 !== undefined) {
      const r = b.transport.rfc2217;
      const pointer = `${at}/transport/rfc2217${typeof r === 'string' ? '' : '/address'}`;
      const { host, port } = parseHostPort(typeof r === 'string' ? r : r.address);
      if (port < 1 || port > 65535) throw fail(pointer, `port ${port} is not a TCP port (1-65535): give the port ser2net's telnet(rfc2217) accepter listens on`);
      const key = `${host}:${port}`;
      const other = seen.tcp.get(key);
      if (other) throw fail(pointer, `"${key}" is also board "${other}"'s network port (each board needs its own)`);
      seen.tcp.set(key, b.id);
      const o: Exclude<typeof r, string> | Record<string, undefined> = typeof r === 'string' ? {} : r;
      transport.rfc2217 = { host, port, baud: o.baud ?? 115200, flashBaud: o.flashBaud ?? 921600, reset: o.reset ?? 'classic' };
    }
    if (b.emulated) {
      if (!b.transport.tcp) throw fail(`${at}/transport`, 'an emulated board is reached on its UART0 over TCP: add "tcp": "127.0.0.1:0" (0 = any free port)');
      const extra = b.transport.serial ? 'serial' : b.transport.mqtt ? 'mqtt' : b.transport.rfc2217 ? 'rfc2217' : undefined;
      if (extra) {
        throw fail(`${at}/transport/${extra}`, 'an emulated board has only its UART0 over TCP (QEMU has no USB-Serial-JTAG and no radio for MQTT): keep only "tcp"');
      }
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

    // A simulated or emulated board's memory is its profile's: a size written beside it must agree.
    const takeProfileMemory = (kind: 'simulated' | 'emulated', name: string, profile: { psramBytes: number; flashBytes: number }): void => {
      for (const [field, want] of [['psramBytes', profile.psramBytes], ['flashBytes', profile.flashBytes]] as const) {
        const given = b[field];
        if (given !== undefined && given !== want) {
          throw fail(`${at}/${field}`, `${given} contradicts ${kind} profile "${name}" (${want / MiB} MiB = ${want}; remove ${field} or pick another profile)`);
        }
      }
      board.psramBytes = profile.psramBytes;
      board.flashBytes = profile.flashBytes;
    };
    if (b.simulated) {
      takeProfileMemory('simulated', b.simulated.profile, SIMULATED_PROFILES[b.simulated.profile]);
      b.simulated.faults.forEach((f, k) => checkFault(f, `${at}/simulated/faults/${k}`, fail));
      board.simulated = { profile: b.simulated.profile, seed: b.simulated.seed, faults: b.simulated.faults };
    }
    if (b.emulated) {
      takeProfileMemory('emulated', b.emulated.profile, EMULATED_PROFILES[b.emulated.profile]);
      const flashFile = b.emulated.flashFile !== undefined ? resolveFrom(file, b.emulated.flashFile) : defaultEmulatedFlashFile(b.id);
      const other = seen.flashFile.get(flashFile);
      if (other) throw fail(`${at}/emulated/flashFile`, `${flashFile} is also board "${other}"'s flash (each emulated board needs its own file)`);
      seen.flashFile.set(flashFile, b.id);
      board.emulated = { profile: b.emulated.profile, flashFile };
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
