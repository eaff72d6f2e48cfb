/**
 * `startSimFleet`: every simulated board of a rigs.json, running in this process - on a PTY for
 * boards with a serial transport (linked at the rig's `port` when it names one), on a raw TCP
 * serial port for boards with a TCP transport (tcp-port.ts; port 0 = any free port), on MQTT for
 * boards with an MQTT transport (the embedded aedes broker when the rigs say "embedded", or any
 * broker URL). Used in-process by `npm start` and the tests, and by `hil sim`.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BoardConfig, Rigs, TcpTransport } from '../config/types.js';
import { LabError } from '../errors.js';
import { SimBoard } from './board.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { faultsFor, type FaultSpec } from './faults.js';
import { SimTcpPort } from './tcp-port.js';

/**
 * The console rate of a board reached only over TCP: ESP-IDF's default console UART rate
 * (CONFIG_ESP_CONSOLE_UART_BAUDRATE). A board with a serial transport too runs at its `baud`.
 */
const TCP_CONSOLE_BAUD = 115200;

export interface SimFleetOptions {
  rigs: Rigs;
  /** Board ids to start (default: every simulated board of the rigs). */
  boards?: readonly string[];
  /** The broker for MQTT boards (default: the rigs' `mqtt.url`). */
  mqtt?: { url: string } | 'embedded';
  /** Wall seconds per board second (default 1). */
  timeScale?: number;
  /** Where the boards' flash files live (kept between runs); default a temp dir removed on stop(). */
  flashDir?: string;
  /** Faults on top of the rigs' own (`hil sim --faults`). */
  faults?: readonly FaultSpec[];
  /** Boards power on in the ROM download mode (flash them with `hil flash`). */
  download?: boolean;
  /** Write each board's session recording to <recordDir>/<board>.session.json when the fleet stops. */
  recordDir?: string;
}

export interface SimFleetBoard {
  id: string;
  /** The serial device of a board with a serial transport (the rig's `port` when it names one). */
  ptyPath?: string;
  /** The console PTY every simulated board has (the same as ptyPath for serial boards). */
  consolePath: string;
  /** Console baud rate of a serial board (and of a TCP board: the rate its bytes move at). */
  baud?: number;
  /** Where a board with a TCP transport serves its console (the port chosen when the rig said 0). */
  tcpAddress?: TcpTransport;
  /** MQTT topic prefix of a board with an MQTT transport. */
  mqttTopic?: string;
  board: SimBoard;
}

export interface SimFleet {
  boards: SimFleetBoard[];
  /** The broker the MQTT boards use (undefined when none does). */
  brokerUrl?: string;
  board(id: string): SimBoard;
  stop(): Promise<void>;
}

/** Rigs of `count` simulated DevKitC-1 N16R8 boards, each on a PTY and on MQTT (lab/sim-<n>), embedded broker. */
export function defaultSimRigs(count: number): Rigs {
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new LabError('sim', `--boards must be a whole number from 1 to 64, got ${count}`);
  }
  const boards: BoardConfig[] = Array.from({ length: count }, (_, i) => ({
    id: `sim-${i + 1}`,
    description: 'Simulated DevKitC-1 N16R8 (hil sim --boards)',
    chip: 'esp32s3',
    transport: {
      serial: { baud: 115200, flashBaud: 921600, reset: 'classic' },
      mqtt: { topic: `lab/sim-${i + 1}` },
    },
    identity: {},
    psramBytes: 8 * 1024 * 1024,
    flashBytes: 16 * 1024 * 1024,
    tags: ['s3', 'n16r8', 'sim'],
    simulated: { profile: 'esp32s3-devkitc-1-n16r8', seed: i + 1, faults: [] },
  }));
  return { file: '(hil sim --boards)', label: `${count} default simulated boards`, mqtt: { url: 'embedded', embeddedPort: 0 }, boards, warnings: [] };
}

function envValue(name: string, board: string, what: string): string {
  const v = process.env[name];
  if (v === undefined) throw new LabError('sim', `board ${board}: environment variable ${name} (its MQTT ${what}) is not set: export it, or remove the credentials from rigs.json`);
  return v;
}

/** Link `port` to the board's PTY; refuses to replace anything that is not a symlink. */
function linkPort(port: string, target: string, board: string): void {
  let existing: ReturnType<typeof lstatSync> | undefined;
  try {
    existing = lstatSync(port);
  } catch {
    existing = undefined;
  }
  if (existing && !existing.isSymbolicLink()) {
    throw new LabError('sim', `board ${board}: ${port} exists and is not a symlink, so the simulated fleet will not replace it: remove it, or give the board another port (or none) in rigs.json`);
  }
  if (existing) unlinkSync(port);
  if (!existsSync(path.dirname(port))) {
    throw new LabError('sim', `board ${board}: cannot link ${port} to the board's PTY: directory ${path.dirname(port)} does not exist (create it, or leave "port" out for simulated boards)`);
  }
  try {
    symlinkSync(target, port);
  } catch (e) {
    throw new LabError('sim', `board ${board}: cannot link ${port} to the board's PTY (${(e as Error).message}): choose a writable path, or leave "port" out`, { cause: e });
  }
}

export async function startSimFleet(options: SimFleetOptions): Promise<SimFleet> {
  const { rigs } = options;
  const simulated = rigs.boards.filter((b) => b.simulated);
  let chosen = simulated;
  if (options.boards) {
    chosen = options.boards.map((id) => {
      const b = rigs.boards.find((x) => x.id === id);
      if (!b) throw new LabError('sim', `${rigs.label}: no board "${id}" (boards: ${rigs.boards.map((x) => x.id).join(', ')})`);
      if (!b.simulated) throw new LabError('sim', `${rigs.label}: board "${id}" is a real board; only boards with "simulated" can be started by the simulator`);
      return b;
    });
  }
  if (chosen.length === 0) throw new LabError('sim', `${rigs.label}: no simulated boards to start (give boards a "simulated" profile, or use hil sim --boards N)`);

  const mqttChoice = options.mqtt ?? (rigs.mqtt.url === 'embedded' ? 'embedded' : { url: rigs.mqtt.url });
  const needsBroker = chosen.some((b) => b.transport.mqtt) || options.mqtt === 'embedded';
  let broker: EmbeddedBroker | undefined;
  const ownedFlashDir = options.flashDir === undefined;
  const flashDir = options.flashDir ?? mkdtempSync(path.join(tmpdir(), 'hil-sim-flash-'));
  if (!ownedFlashDir) mkdirSync(flashDir, { recursive: true });
  const started: SimFleetBoard[] = [];
  const links: { port: string; target: string }[] = [];
  const tcpPorts: SimTcpPort[] = [];

  const stop = async (): Promise<void> => {
    await Promise.all(tcpPorts.map((p) => p.close()));
    await Promise.all(started.map((b) => b.board.stop()));
    for (const l of links) {
      try {
        if (readlinkSync(l.port) === l.target) unlinkSync(l.port);
      } catch {
        // already gone
      }
    }
    await broker?.close();
    if (ownedFlashDir) rmSync(flashDir, { recursive: true, force: true });
  };

  try {
    let brokerUrl: string | undefined;
    if (needsBroker) {
      if (mqttChoice === 'embedded') {
        broker = await startEmbeddedBroker(rigs.mqtt.url === 'embedded' ? rigs.mqtt.embeddedPort : 0);
        brokerUrl = broker.url;
      } else {
        brokerUrl = mqttChoice.url;
      }
    }
    if (options.recordDir) mkdirSync(options.recordDir, { recursive: true });
    const results = await Promise.allSettled(chosen.map(async (cfg): Promise<SimFleetBoard> => {
      const sim = cfg.simulated!;
      const serial = cfg.transport.serial;
      const tcp = cfg.transport.tcp;
      const mqtt = cfg.transport.mqtt;
      const creds = mqtt?.credentials;
      const board = await SimBoard.start({
        id: cfg.id,
        profile: sim.profile,
        seed: sim.seed,
        faults: [...sim.faults, ...faultsFor(cfg.id, options.faults ?? [])],
        flashPath: path.join(flashDir, `${cfg.id}.flash`),
        ...(serial ? { serial: { baud: serial.baud, console: serial.reset === 'usb-jtag' ? 'usb-jtag' as const : 'uart' as const } } : {}),
        ...(!serial && tcp ? { serial: { baud: TCP_CONSOLE_BAUD, console: 'uart' as const } } : {}),
        ...(mqtt && brokerUrl ? {
          mqtt: {
            url: brokerUrl, topic: mqtt.topic, protocolVersion: broker ? 4 as const : 5 as const,
            ...(creds ? { username: envValue(creds.usernameEnv, cfg.id, 'user name'), password: envValue(creds.passwordEnv, cfg.id, 'password') } : {}),
            ...(mqtt.tls ? { tls: mqtt.tls } : {}),
          },
        } : {}),
        timeScale: options.timeScale ?? 1,
        start: options.download ? 'download' : 'app',
        ...(cfg.identity.mac ? { mac: cfg.identity.mac } : {}),
        ...(options.recordDir ? { recordFile: path.join(options.recordDir, `${cfg.id}.session.json`) } : {}),
      });
      const entry: SimFleetBoard = { id: cfg.id, consolePath: board.path, board };
      started.push(entry);
      if (serial) {
        entry.baud = serial.baud;
        entry.ptyPath = board.path;
        if (serial.port) {
          linkPort(serial.port, board.path, cfg.id);
          links.push({ port: serial.port, target: board.path });
          entry.ptyPath = serial.port;
        }
      }
      if (tcp) {
        const port = await SimTcpPort.start({ board: cfg.id, consolePath: board.path, wire: board.rom.wire, host: tcp.host, port: tcp.port });
        tcpPorts.push(port);
        entry.tcpAddress = port.address;
        entry.baud = serial?.baud ?? TCP_CONSOLE_BAUD;
      }
      if (mqtt) entry.mqttTopic = mqtt.topic;
      return entry;
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    // In the rigs' order, whatever order the boards finished starting in.
    const boards = chosen.map((cfg) => started.find((b) => b.id === cfg.id)!);
    return {
      boards,
      ...(brokerUrl ? { brokerUrl } : {}),
      board(id: string): SimBoard {
        const b = boards.find((x) => x.id === id);
        if (!b) throw new LabError('sim', `the simulated fleet has no board "${id}" (boards: ${boards.map((x) => x.id).join(', ')})`);
        return b.board;
      },
      stop,
    };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
