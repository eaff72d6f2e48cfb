/**
 * `startEmulatedFleet`: the emulated boards of a rigs.json, each an Espressif QEMU process started
 * by this process (like the simulated fleet, harness/sim/fleet.ts) and stopped with it.
 */
import type { BoardConfig, Rigs } from '../config/types.js';
import { LabError } from '../errors.js';
import { EmulatedBoard } from './board.js';
import { findQemu, type StrapMode } from './qemu.js';

export interface EmulatedFleetOptions {
  rigs: Rigs;
  /** Board ids to start (default: every emulated board of the rigs). */
  boards?: readonly string[];
  /** Boot the app (default) or wait in the ROM's download mode (for flashing). */
  strap?: StrapMode;
  env?: NodeJS.ProcessEnv;
  /** QEMU's own messages, per board (they also go to <flashFile>.qemu.log). */
  log?: (board: string, line: string) => void;
  /** QEMU ended on its own while serving a board (a crash): one line naming the board and QEMU's last words. */
  onCrash?: (board: string, message: string) => void;
}

export interface EmulatedFleet {
  boards: EmulatedBoard[];
  board(id: string): EmulatedBoard;
  stop(): Promise<void>;
}

export function emulatedBoardsOf(rigs: Rigs, ids?: readonly string[]): BoardConfig[] {
  return rigs.boards.filter((b) => b.emulated !== undefined && (ids === undefined || ids.includes(b.id)));
}

export async function startEmulatedFleet(options: EmulatedFleetOptions): Promise<EmulatedFleet> {
  const configs = emulatedBoardsOf(options.rigs, options.boards);
  const boards: EmulatedBoard[] = [];
  const fleet: EmulatedFleet = {
    boards,
    board(id) {
      const b = boards.find((x) => x.id === id);
      if (!b) throw new LabError('emulator', `no emulated board "${id}" is running (emulated boards: ${boards.map((x) => x.id).join(', ') || 'none'})`);
      return b;
    },
    async stop() {
      await Promise.all(boards.map((b) => b.stop()));
    },
  };
  if (configs.length === 0) return fleet;
  const qemu = findQemu(options.env);
  for (const c of configs) {
    boards.push(new EmulatedBoard({
      id: c.id, settings: c.emulated!, host: c.transport.tcp!.host, port: c.transport.tcp!.port, qemu,
      ...(c.identity.mac ? { mac: c.identity.mac } : {}),
      ...(options.log ? { log: (line: string) => options.log!(c.id, line) } : {}),
      ...(options.onCrash ? { onCrash: (message: string) => options.onCrash!(c.id, message) } : {}),
    }));
  }
  const started = await Promise.allSettled(boards.map((b) => b.start(options.strap ?? 'app')));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await fleet.stop();
    throw failed.reason;
  }
  return fleet;
}
