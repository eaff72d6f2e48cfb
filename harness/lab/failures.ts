/**
 * Whose fault a failed step is, because the scheduler answers each differently (issue 4):
 *
 * - **trial**: the variant itself cannot run (arena too small, an operator the firmware lacks, a
 *   model too large for its placement). Retrying on this or another board gives the same answer,
 *   so the trial fails at once, without a retry and without counting against the board.
 * - **board**: the board or its link misbehaved (a timeout, a reboot, a disconnect, a garbled or
 *   half-received reply, a state the board forgot). The board is reset and re-probed and the trial
 *   is retried; a board that keeps failing is quarantined.
 * - **stop**: the run is being stopped (Ctrl-C): the current step is abandoned, nothing is retried.
 *
 * Errors are LabErrors with a code; the codes below are the lab's. Board error codes answered over
 * the protocol arrive as `board-error:<NAME>` (PROTOCOL.md section 5).
 */
import { LabError, isLabError } from '../errors.js';

export type FailureKind = 'trial' | 'board' | 'stop';

/** Board error names whose cause is the variant, not the board (PROTOCOL.md section 5). */
const TRIAL_BOARD_ERRORS = new Set([
  'ARENA_TOO_SMALL', 'UNSUPPORTED_OP', 'MODEL_TOO_LARGE', 'MODEL_INVALID', 'OUT_OF_MEMORY', 'INVOKE_FAILED', 'BAD_TENSOR',
  'MODEL_PARTITION_EMPTY', 'UNSUPPORTED',
]);

/** Lab codes of failures that belong to the trial. */
const TRIAL_CODES = new Set(['trial', 'arena-too-small', 'unsupported-op', 'model-input', 'model-format', 'input-format', 'input-missing', 'firmware-missing']);

export const STOP_CODE = 'stopped';

/** A failure that belongs to the trial (no retry, the board stays in the run). */
export function trialFailure(message: string, code = 'trial'): LabError {
  return new LabError(code, message);
}

/** A failure of the board or its link (reset, re-probe, retry). */
export function boardFailure(message: string, code = 'board', cause?: unknown): LabError {
  return new LabError(code, message, cause !== undefined ? { cause } : undefined);
}

export function stopped(message = 'the run is stopping'): LabError {
  return new LabError(STOP_CODE, message);
}

/** The kind of a step's failure; anything that is not a LabError is an internal bug (undefined). */
export function failureKind(e: unknown): FailureKind | undefined {
  if (!isLabError(e)) return undefined;
  if (e.code === STOP_CODE) return 'stop';
  if (TRIAL_CODES.has(e.code)) return 'trial';
  if (e.code.startsWith('board-error:')) return TRIAL_BOARD_ERRORS.has(e.code.slice('board-error:'.length)) ? 'trial' : 'board';
  return 'board';
}

/** Runs `step` with a time limit: past it, rejects with a board failure naming the step. */
export async function withTimeout<T>(step: string, board: string, ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(boardFailure(`board ${board}: ${step} took longer than ${fmtSeconds(ms)} (the board may hang; raise timeouts in the scenario if it is just slow)`, 'timeout'));
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), limit]);
  } finally {
    clearTimeout(timer);
  }
}

export function fmtSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(s < 10 ? 1 : 0)} s`;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
