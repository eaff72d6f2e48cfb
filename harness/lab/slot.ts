/**
 * One board as the scheduler holds it: the board, its rig entry, its state (emitted as
 * `board.state` events on every change) and what the lab knows is loaded on it, so a model the
 * board already holds is not uploaded again. Whatever the board holds is forgotten the moment it
 * reboots or is reset: after that nothing on it is trusted (CONVENTIONS.md, labgrid: after a
 * failure, probe again).
 */
import type { BoardConfig } from '../config/types.js';
import type { LabBoard } from './board.js';
import type { BoardState, NewLabEvent } from './events.js';

export interface Holding {
  /** sha256 of the model the board holds (MODEL_READY), and where. */
  modelSha256?: string;
  modelPlacement?: 'internal' | 'psram' | 'partition';
}

export class BoardSlot {
  readonly id: string;
  state: BoardState = 'unknown';
  holding: Holding = {};
  /** Board failures in a row (a passed trial or canary sets it back to 0). */
  consecutiveFailures = 0;
  /** Why the board left the run, once quarantined. */
  quarantined?: string;
  /** The MAC of the board's first HELLO in this run: a later HELLO must come from the same chip. */
  expectedMac?: string;

  constructor(
    readonly board: LabBoard,
    readonly config: BoardConfig,
    private readonly emit: (e: NewLabEvent) => void,
  ) {
    this.id = config.id;
    board.onReboot(() => this.forget());
  }

  setState(to: BoardState, reason?: string): void {
    if (to === this.state) return;
    const from = this.state;
    this.state = to;
    this.emit({ type: 'board.state', board: this.id, from, to, ...(reason !== undefined ? { reason } : {}) });
  }

  /** The board rebooted or was reset: its model, arena and inputs are gone. */
  forget(): void {
    this.holding = {};
  }
}
