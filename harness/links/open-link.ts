/**
 * The link to one board of rigs.json: its serial device, its RFC 2217 or raw TCP network serial port,
 * or its MQTT topic, whichever the caller asks for (`any` prefers serial, then RFC 2217, then raw TCP -
 * none needs a broker - then MQTT).
 * Credentials come from the environment variables rigs.json names (never from the file itself).
 */
import type { BoardConfig, EnvCredentials, TlsFiles } from '../config/types.js';
import { LabError } from '../errors.js';
import type { Clock, Link } from './link.js';
import { MqttLink } from './mqtt-link.js';
import { SerialLink } from './serial-link.js';
import { Rfc2217Link } from './rfc2217-link.js';
import { TcpLink } from './tcp-link.js';
import type { TcpAddress } from './tcp-connect.js';

export type TransportChoice = 'serial' | 'tcp' | 'rfc2217' | 'mqtt' | 'any';

export interface BrokerChoice {
  url: string;
  /** 4 = MQTT 3.1.1, required by the embedded aedes broker; default 5. */
  protocolVersion?: 4 | 5;
  /** The harness's own login (rigs.json `mqtt.credentials`). */
  credentials?: EnvCredentials;
  tls?: TlsFiles;
}

export interface OpenLinkOptions {
  transport: TransportChoice;
  /** The broker for MQTT links (rigs.json `mqtt`, or the simulated fleet's broker). */
  broker?: BrokerChoice;
  /** Shorthand for `broker: { url }`. */
  brokerUrl?: string;
  /** The serial device when rigs.json gives none (a simulated board's PTY). */
  serialPath?: string;
  /** The TCP serial port the lab chose when rigs.json says port 0 (the simulated fleet's, an emulator's). */
  tcpAddress?: TcpAddress;
  /** Give up connecting to a TCP serial port after this long (default 5 s). */
  connectTimeoutMs?: number;
  publishTimeoutMs?: number;
  idleFlushMs?: number;
  clock?: Clock;
  /** Where credential variables are read (default process.env). */
  env?: Record<string, string | undefined>;
}

/** The link, not yet open (the board session opens it on connect). */
export function createLink(board: BoardConfig, options: OpenLinkOptions): Link {
  const serial = board.transport.serial;
  const mqtt = board.transport.mqtt;
  const tcp = board.transport.tcp;
  const rfc2217 = board.transport.rfc2217;
  const serialPath = options.serialPath ?? serial?.port;
  const tcpAddress = options.tcpAddress ?? (tcp && tcp.port !== 0 ? tcp : undefined);
  const broker = options.broker ?? (options.brokerUrl ? { url: options.brokerUrl } : undefined);
  let kind: Exclude<TransportChoice, 'any'>;
  if (options.transport === 'any') {
    if (serial && serialPath) kind = 'serial';
    else if (rfc2217) kind = 'rfc2217';
    else if (tcp && tcpAddress) kind = 'tcp';
    else if (mqtt && broker) kind = 'mqtt';
    else throw new LabError('link-config', `board ${board.id}: no usable link: give it transport.serial.port, transport.rfc2217, transport.tcp or transport.mqtt (with a broker) in rigs.json`);
  } else {
    kind = options.transport;
  }
  if (kind === 'rfc2217') {
    if (!rfc2217) throw new LabError('link-config', `board ${board.id} has no RFC 2217 transport in rigs.json: add "rfc2217": "host:port" (ser2net's telnet(rfc2217) port), or use another transport`);
    return new Rfc2217Link({
      board: board.id, host: rfc2217.host, port: rfc2217.port, baudRate: rfc2217.baud, reset: rfc2217.reset,
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.idleFlushMs !== undefined ? { idleFlushMs: options.idleFlushMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }
  if (kind === 'tcp') {
    if (!tcp) throw new LabError('link-config', `board ${board.id} has no TCP transport in rigs.json: add "tcp": "host:port" (the emulator's or ser2net's port) to its transport, or use ${serial ? 'the serial' : 'the MQTT'} transport`);
    if (!tcpAddress) throw new LabError('link-config', `board ${board.id}: transport.tcp has port 0, which stands for the port the lab picks when it starts the board itself, and nothing started it here: let hil run start it, or put the port it listens on (hil sim prints it) in rigs.json`);
    return new TcpLink({
      board: board.id, host: tcpAddress.host, port: tcpAddress.port,
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.idleFlushMs !== undefined ? { idleFlushMs: options.idleFlushMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }
  if (kind === 'serial') {
    if (!serial) throw new LabError('link-config', `board ${board.id} has no serial transport in rigs.json: add transport.serial, or use the ${tcp ? 'TCP' : 'MQTT'} transport`);
    if (!serialPath) throw new LabError('link-config', `board ${board.id}: transport.serial has no port: set it in rigs.json (prefer /dev/serial/by-id/...)`);
    return new SerialLink({
      board: board.id, path: serialPath, baudRate: serial.baud, reset: serial.reset,
      ...(options.idleFlushMs !== undefined ? { idleFlushMs: options.idleFlushMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }
  if (!mqtt) throw new LabError('link-config', `board ${board.id} has no MQTT transport in rigs.json: add transport.mqtt with its topic, or use the ${serial || !tcp ? 'serial' : 'TCP'} transport`);
  if (!broker) throw new LabError('link-config', `board ${board.id}: no MQTT broker given: set mqtt.url in rigs.json`);
  const env = options.env ?? process.env;
  let login: { username: string; password: string } | undefined;
  if (broker.credentials) {
    const { usernameEnv, passwordEnv } = broker.credentials;
    const username = env[usernameEnv];
    const password = env[passwordEnv];
    if (username === undefined || password === undefined) {
      const missing = [username === undefined ? usernameEnv : undefined, password === undefined ? passwordEnv : undefined].filter(Boolean).join(' and ');
      throw new LabError('link-config', `board ${board.id}: the MQTT login's environment variable ${missing} is not set (rigs.json mqtt.credentials names it): export it before running`);
    }
    login = { username, password };
  }
  return new MqttLink({
    board: board.id, url: broker.url, topic: mqtt.topic,
    ...(broker.protocolVersion ? { protocolVersion: broker.protocolVersion } : {}),
    ...(login ?? {}),
    ...(broker.tls ? { tls: broker.tls } : {}),
    ...(options.publishTimeoutMs !== undefined ? { publishTimeoutMs: options.publishTimeoutMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

/** `createLink`, then opened. */
export async function openLink(board: BoardConfig, options: OpenLinkOptions): Promise<Link> {
  const link = createLink(board, options);
  await link.open();
  return link;
}
