/**
 * The links the conformance suite runs over, each against one simulated ESP32-S3 started in this
 * process: a PTY at 921600 baud, a raw TCP serial port (the link an emulated board or ser2net
 * gives), MQTT through the embedded aedes broker (MQTT 3.1.1), and MQTT 5 through a real mosquitto
 * with passwords and an ACL.
 */
import type { BoardConfig, Rigs, SimulatedFault } from '../../harness/config/types.js';
import { BoardSession } from '../../harness/boards/session.js';
import { brokerOf, createBoardSession, simulatedBoardOptions } from '../../harness/boards/lab-board.js';
import { startSimFleet, type SimBoard, type SimFleet } from '../../harness/sim/index.js';
import { startMosquitto, type Mosquitto } from '../../harness/links/testing/mosquitto.js';
import { startSer2net, type Ser2net } from '../../harness/links/testing/ser2net.js';

export const BOARD = 'sim-1';
export const SERIAL_BAUD = 921600;
/** Board seconds pass 100x faster than wall seconds: latencies shrink, link speeds stay real. */
export const TIME_SCALE = 0.01;

export interface ConformanceRig {
  rigs: Rigs;
  board: BoardConfig;
  fleet: SimFleet;
  sim: SimBoard;
  mosquitto?: Mosquitto;
  ser2net?: Ser2net;
  /** A new session with the board (not connected yet). */
  session(options?: { resendDamaged?: boolean }): BoardSession;
  stop(): Promise<void>;
}

export interface ConformanceTarget {
  name: string;
  kind: 'serial' | 'tcp' | 'rfc2217' | 'mqtt';
  broker?: 'aedes' | 'mosquitto';
  /** The board is reached through a real ser2net (which a test can restart). */
  viaSer2net?: boolean;
  /** Starts the board (with `faults`, e.g. a noisy line) and whatever broker the link needs. */
  start(faults?: SimulatedFault[]): Promise<ConformanceRig>;
}

function rigsFor(transport: BoardConfig['transport'], mqttUrl: string, faults: SimulatedFault[] = [], harnessLogin?: Rigs['mqtt']['credentials']): Rigs {
  const board: BoardConfig = {
    id: BOARD, chip: 'esp32s3', transport, identity: {}, tags: ['sim'], psramBytes: 8 << 20, flashBytes: 16 << 20,
    simulated: { profile: 'esp32s3-devkitc-1-n16r8', seed: 7, faults },
  };
  return {
    file: '(conformance)', label: 'conformance rigs', warnings: [], boards: [board],
    mqtt: { url: mqttUrl, embeddedPort: 0, ...(harnessLogin ? { credentials: harnessLogin } : {}) },
  };
}

async function rigOf(rigs: Rigs, transport: ConformanceTarget['kind'], mosquitto?: Mosquitto): Promise<ConformanceRig> {
  let fleet: SimFleet;
  try {
    fleet = await startSimFleet({ rigs, timeScale: TIME_SCALE });
  } catch (e) {
    await mosquitto?.stop();
    throw e;
  }
  const board = rigs.boards[0];
  return {
    rigs, board, fleet, sim: fleet.board(BOARD), ...(mosquitto ? { mosquitto } : {}),
    session: (options = {}) => createBoardSession(board, {
      ...options,
      transport,
      ...(transport === 'mqtt' ? { broker: brokerOf(rigs, fleet.brokerUrl) } : {}),
      ...simulatedBoardOptions(fleet, BOARD),
    }),
    async stop() {
      await fleet.stop();
      await mosquitto?.stop();
    },
  };
}

export const ptyTarget: ConformanceTarget = {
  name: `serial (PTY, ${SERIAL_BAUD} baud)`,
  kind: 'serial',
  start: (faults) => rigOf(rigsFor({ serial: { baud: SERIAL_BAUD, flashBaud: 921600, reset: 'classic' } }, 'embedded', faults), 'serial'),
};

/**
 * The board's UART on a TCP port the fleet picks ("127.0.0.1:0"), as ser2net or QEMU's `-serial
 * tcp:` serve it. The rig also gives the board a serial transport at SERIAL_BAUD only so that its
 * UART runs at the PTY target's rate (a board on TCP alone runs at ESP-IDF's default 115200, which
 * makes this suite take 40 s instead of 6); the session talks over TCP.
 */
export const tcpTarget: ConformanceTarget = {
  name: `TCP serial port (127.0.0.1:0, ${SERIAL_BAUD} baud)`,
  kind: 'tcp',
  start: (faults) => rigOf(rigsFor({ serial: { baud: SERIAL_BAUD, flashBaud: 921600, reset: 'classic' }, tcp: { host: '127.0.0.1', port: 0 } }, 'embedded', faults), 'tcp'),
};

/**
 * The board behind a real ser2net, as on a lab's bench host: the simulated board's PTY (at
 * SERIAL_BAUD) exported by Debian's ser2net, in `telnet(rfc2217)` mode (Rfc2217Link: SET-BAUDRATE,
 * IAC escaping) or raw (TcpLink). A PTY has no modem lines, so the rig says "reset": "none" and a
 * reset goes through the fleet's power switch, as for the PTY target.
 */
function ser2netTarget(mode: 'rfc2217' | 'raw'): ConformanceTarget {
  return {
    name: `ser2net ${mode === 'rfc2217' ? 'telnet(rfc2217)' : 'raw TCP'} in front of a PTY (${SERIAL_BAUD} baud)`,
    kind: mode === 'rfc2217' ? 'rfc2217' : 'tcp',
    viaSer2net: true,
    async start(faults) {
      const rigs = rigsFor({ serial: { baud: SERIAL_BAUD, flashBaud: 921600, reset: 'classic' } }, 'embedded', faults);
      const fleet = await startSimFleet({ rigs, timeScale: TIME_SCALE });
      let ser2net: Ser2net;
      try {
        ser2net = await startSer2net([{ device: fleet.boards.find((b) => b.id === BOARD)!.ptyPath!, mode, baud: SERIAL_BAUD }]);
      } catch (e) {
        await fleet.stop();
        throw e;
      }
      const port = ser2net.ports[0]!;
      const board: BoardConfig = {
        ...rigs.boards[0]!,
        transport: mode === 'rfc2217'
          ? { rfc2217: { host: '127.0.0.1', port, baud: SERIAL_BAUD, flashBaud: 921600, reset: 'none' } }
          : { tcp: { host: '127.0.0.1', port } },
      };
      const { powerCycle } = simulatedBoardOptions(fleet, BOARD);
      return {
        rigs: { ...rigs, boards: [board] }, board, fleet, sim: fleet.board(BOARD), ser2net,
        session: (options = {}) => createBoardSession(board, { ...options, transport: mode === 'rfc2217' ? 'rfc2217' : 'tcp', ...(powerCycle ? { powerCycle } : {}) }),
        async stop() {
          await ser2net.stop();
          await fleet.stop();
        },
      };
    },
  };
}

export const rfc2217Target = ser2netTarget('rfc2217');
export const ser2netRawTarget = ser2netTarget('raw');

export const aedesTarget: ConformanceTarget = {
  name: 'MQTT 3.1.1 (embedded aedes)',
  kind: 'mqtt',
  broker: 'aedes',
  start: (faults) => rigOf(rigsFor({ mqtt: { topic: `lab/${BOARD}` } }, 'embedded', faults), 'mqtt'),
};

/** Environment variables holding the logins, as rigs.json names them. */
export function loginEnv(user: string): { usernameEnv: string; passwordEnv: string } {
  const key = user.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return { usernameEnv: `HIL_CONFORMANCE_${key}_USER`, passwordEnv: `HIL_CONFORMANCE_${key}_PASSWORD` };
}

export const mosquittoTarget: ConformanceTarget = {
  name: 'MQTT 5 (mosquitto, passwords + ACL)',
  kind: 'mqtt',
  broker: 'mosquitto',
  async start(faults) {
    const mosquitto = await startMosquitto([BOARD, 'sim-2']);
    for (const [user, password] of Object.entries(mosquitto.users)) {
      const env = loginEnv(user);
      process.env[env.usernameEnv] = user;
      process.env[env.passwordEnv] = password;
    }
    const rigs = rigsFor({ mqtt: { topic: `lab/${BOARD}`, credentials: loginEnv(BOARD) } }, mosquitto.url, faults, loginEnv('harness'));
    return rigOf(rigs, 'mqtt', mosquitto);
  },
};

export const TARGETS: readonly ConformanceTarget[] = [ptyTarget, tcpTarget, rfc2217Target, ser2netRawTarget, aedesTarget, mosquittoTarget];
