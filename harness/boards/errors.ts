/**
 * The LabErrors a board session raises, with the codes harness/lab/failures.ts sorts into the
 * trial's fault and the board's:
 *
 * - `board-error:<NAME>`: the board answered ERROR (PROTOCOL.md section 5); failures.ts decides
 *   whose fault by the name (ARENA_TOO_SMALL is the trial's, BAD_STATE the board's).
 * - `board-rebooted`: a HELLO arrived in the middle of a request.
 * - `timeout`: no frame of the request for its inactivity limit.
 * - `link-*`: the link went down, refused, or could not be opened (links/).
 * - `board-protocol`: the board's replies did not fit together (lost or damaged frames).
 * - `board-state`: a session method was called in a state that does not allow it.
 * - `board-unreachable`: no HELLO and no answer to GET_INFO.
 */
import { LabError } from '../errors.js';
import { RESET_REASONS, describeBoardError, errorName } from '../protocol/index.js';

/** The board answered a request with ERROR. */
export class BoardErrorReply extends LabError {
  /** The protocol's error code and its name (e.g. 12, ARENA_TOO_SMALL). */
  readonly boardCode: number;
  readonly boardName: string;
  readonly arg: number;
  readonly boardMessage: string;

  constructor(board: string, request: string, code: number, arg: number, message: string) {
    const name = errorName(code);
    super(`board-error:${name}`, `board ${board}: ${request} failed: ${describeBoardError(code, arg, message)}`);
    this.boardCode = code;
    this.boardName = name;
    this.arg = arg;
    this.boardMessage = message;
  }
}

export function resetReasonName(code: number): string {
  return RESET_REASONS[code] ?? `reason ${code}`;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}

/** Whether an error leaves the board untrusted (anything but the board's own ERROR reply). */
export function leavesBoardUntrusted(e: unknown): boolean {
  return !(e instanceof BoardErrorReply);
}
