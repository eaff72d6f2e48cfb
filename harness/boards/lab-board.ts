/**
 * Board sessions for the scheduler: `BoardSession` implements `LabBoard` (harness/lab/board.ts)
 * itself, so this file only builds one from a rigs.json board - its link (serial, TCP or MQTT, with
 * the broker and credentials of rigs.json) and, for a simulated board, the fleet's PTY path or TCP
 * address and power switch.
 */
import type { BoardConfig, Rigs } from '../config/types.js';
import type { LabBoard } from '../lab/board.js';
import { createLink, type BrokerChoice, type OpenLinkOptions } from '../links/open-link.js';
import type { EmulatedBoard } from '../emu/board.js';
import type { SimFleet } from '../sim/fleet.js';
import { BoardSession, type BoardSessionOptions } from './session.js';

export interface CreateBoardOptions extends OpenLinkOptions, Omit<BoardSessionOptions, 'id' | 'link'> {}

/** A session with `board` over the transport asked for; the link opens on `connect()`. */
export function createBoardSession(board: BoardConfig, options: CreateBoardOptions): BoardSession {
  const link = createLink(board, options);
  return new BoardSession({
    id: board.id,
    link,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.powerCycle ? { powerCycle: options.powerCycle } : {}),
    ...(options.emulator ? { emulator: options.emulator } : {}),
    ...(options.resetAnswerMs !== undefined ? { resetAnswerMs: options.resetAnswerMs } : {}),
    ...(options.probeIntervalMs !== undefined ? { probeIntervalMs: options.probeIntervalMs } : {}),
    ...(options.probeDelayMs !== undefined ? { probeDelayMs: options.probeDelayMs } : {}),
    ...(options.versions ? { versions: options.versions } : {}),
    ...(options.resendDamaged !== undefined ? { resendDamaged: options.resendDamaged } : {}),
    ...(options.nudgeAfterMs !== undefined ? { nudgeAfterMs: options.nudgeAfterMs } : {}),
    ...(options.bootMs !== undefined ? { bootMs: options.bootMs } : {}),
  });
}

/** The same, typed as what the scheduler takes. */
export function createLabBoard(board: BoardConfig, options: CreateBoardOptions): LabBoard {
  return createBoardSession(board, options);
}

/**
 * The broker of rigs.json as a link needs it. `embedded` means the in-process aedes broker, which
 * speaks MQTT 3.1.1 only (aedes README; FACTS.md): pass the URL it was started on.
 */
export function brokerOf(rigs: Pick<Rigs, 'mqtt'>, startedUrl?: string): BrokerChoice | undefined {
  const embedded = rigs.mqtt.url === 'embedded';
  const url = embedded ? startedUrl : rigs.mqtt.url;
  if (!url) return undefined;
  return {
    url,
    protocolVersion: embedded ? 4 : 5,
    ...(rigs.mqtt.credentials ? { credentials: rigs.mqtt.credentials } : {}),
    ...(rigs.mqtt.tls ? { tls: rigs.mqtt.tls } : {}),
  };
}

/**
 * What a simulated board adds: its PTY (when rigs.json names no port), the TCP address it serves
 * its console on (the port the fleet chose when rigs.json says 0) and its power switch (the EN
 * button: neither a PTY nor a raw TCP port has modem lines to reset it).
 */
export function simulatedBoardOptions(fleet: SimFleet, boardId: string): Pick<CreateBoardOptions, 'serialPath' | 'tcpAddress' | 'powerCycle'> {
  const entry = fleet.boards.find((b) => b.id === boardId);
  if (!entry) return {};
  return {
    ...(entry.ptyPath ? { serialPath: entry.ptyPath } : {}),
    ...(entry.tcpAddress ? { tcpAddress: entry.tcpAddress } : {}),
    powerCycle: () => entry.board.reset(),
  };
}

/**
 * What an emulated board adds: the TCP address its emulator listens on (the port QEMU chose when
 * rigs.json says 0) and the emulator itself, whose restart is the board's reset (harness/emu).
 */
export function emulatedBoardOptions(emulator: EmulatedBoard): Pick<CreateBoardOptions, 'tcpAddress' | 'emulator' | 'probeDelayMs' | 'nudgeAfterMs' | 'idleFlushMs' | 'bootMs'> {
  return {
    tcpAddress: emulator.address, emulator, probeDelayMs: EMULATED_PROBE_DELAY_MS, nudgeAfterMs: EMULATED_NUDGE_AFTER_MS,
    idleFlushMs: EMULATED_IDLE_FLUSH_MS, bootMs: EMULATED_BOOT_MS,
  };
}

/**
 * How long an emulated board's byte stream may pause before the link ends a pending frame as
 * truncated (PROTOCOL.md section 2 rule 6; 100 ms for other links). QEMU sends a UART's bytes from
 * timers of its own, and on a busy host it pauses inside a frame: 100-146 ms after a reply's first
 * byte was seen here (harness/emu/README.md), which cut the reply in two at 100 ms.
 */
export const EMULATED_IDLE_FLUSH_MS = 2000;

/**
 * How long an emulated board may stay silent while a request waits before the session nudges its
 * UART (BoardSessionOptions.nudgeAfterMs): replies come within tens of ms in QEMU here, and a
 * request held back by QEMU's lost receive-timeout interrupt then costs at most this much.
 */
export const EMULATED_NUDGE_AFTER_MS = 500;

/**
 * An emulated board boots when the lab connects and says HELLO after about 9 s of wall time here
 * (QEMU with -icount, bench:emulated); only after this long without one does the session ask
 * GET_INFO (BoardSessionOptions.probeDelayMs says why it waits at all).
 */
export const EMULATED_PROBE_DELAY_MS = 15_000;

/**
 * What an emulated board's boot adds to connect and reset timeouts (BoardSessionOptions.bootMs):
 * ~9 s of wall time here, more on a busy host (single-threaded under -icount).
 */
export const EMULATED_BOOT_MS = 45_000;
