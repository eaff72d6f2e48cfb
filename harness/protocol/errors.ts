/**
 * Error codes a board answers with (ERROR message, PROTOCOL.md section 5), and the error the codec
 * itself throws when bytes do not follow the protocol.
 */

/** Board error codes (u16 on the wire). The numbers are part of protocol v1: never renumber. */
export const ErrorCode = {
  BAD_FRAME: 1,
  UNKNOWN_COMMAND: 2,
  UNSUPPORTED_VERSION: 3,
  BAD_STATE: 4,
  BAD_ARGUMENT: 5,
  BAD_OFFSET: 6,
  MODEL_SHA_MISMATCH: 7,
  MODEL_TOO_LARGE: 8,
  MODEL_INVALID: 9,
  MODEL_PARTITION_EMPTY: 10,
  UNSUPPORTED_OP: 11,
  ARENA_TOO_SMALL: 12,
  OUT_OF_MEMORY: 13,
  BAD_TENSOR: 14,
  INVOKE_FAILED: 15,
  UNSUPPORTED: 16,
  BUSY: 17,
  INTERNAL: 18,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;
export type ErrorCodeValue = (typeof ErrorCode)[ErrorCodeName];

interface ErrorInfo {
  /** What the code means, for people reading a report. */
  meaning: string;
  /** What the ERROR's `arg` holds for this code, or null when it is unused. */
  arg: string | null;
}

export const ERROR_INFO: Readonly<Record<ErrorCodeName, ErrorInfo>> = {
  BAD_FRAME: { meaning: 'the frame failed its CRC or its payload does not match its type', arg: null },
  UNKNOWN_COMMAND: { meaning: 'the board does not know this message type', arg: 'message type' },
  UNSUPPORTED_VERSION: { meaning: 'no protocol version in common', arg: "board's highest version" },
  BAD_STATE: { meaning: "the request is not allowed in the board's current state", arg: 'state detail' },
  BAD_ARGUMENT: { meaning: 'a field has a value the board cannot accept', arg: null },
  BAD_OFFSET: { meaning: 'the chunk offset is not the next expected one', arg: 'expected offset' },
  MODEL_SHA_MISMATCH: { meaning: "the uploaded model's SHA-256 differs from the announced one", arg: null },
  MODEL_TOO_LARGE: { meaning: 'the model does not fit at the requested destination', arg: 'largest size that fits' },
  MODEL_INVALID: { meaning: 'the model is not a TFLite flatbuffer the interpreter accepts', arg: null },
  MODEL_PARTITION_EMPTY: { meaning: "the board has no model in its 'model' partition", arg: null },
  UNSUPPORTED_OP: { meaning: 'the model uses an operator this firmware does not register', arg: 'builtin operator code' },
  ARENA_TOO_SMALL: { meaning: 'the tensor arena is too small for this model', arg: 'bytes needed (0 if unknown)' },
  OUT_OF_MEMORY: { meaning: 'a heap allocation on the board failed', arg: 'largest free block' },
  BAD_TENSOR: { meaning: 'tensor index or byte range out of bounds', arg: 'tensor index' },
  INVOKE_FAILED: { meaning: 'the interpreter failed to run an inference', arg: 'inference index' },
  UNSUPPORTED: { meaning: 'this board does not support the request', arg: null },
  BUSY: { meaning: 'the board cannot take the request now', arg: null },
  INTERNAL: { meaning: 'the firmware hit a bug', arg: null },
};

const NAMES = new Map<number, ErrorCodeName>(
  (Object.keys(ErrorCode) as ErrorCodeName[]).map((name) => [ErrorCode[name], name]),
);

/** The name of a board error code, or `ERROR_<n>` for a code this harness does not know. */
export function errorName(code: number): string {
  return NAMES.get(code) ?? `ERROR_${code}`;
}

/**
 * One line for a person: `ARENA_TOO_SMALL (bytes needed (0 if unknown): 82300): <board's text>`.
 * The board's own message comes last because it is the most specific part.
 */
export function describeBoardError(code: number, arg: number, message: string): string {
  const name = NAMES.get(code);
  const argText = name && ERROR_INFO[name].arg && arg !== 0 ? ` (${ERROR_INFO[name].arg}: ${arg})` : '';
  const meaning = name ? ERROR_INFO[name].meaning : 'unknown error code';
  return `${errorName(code)}${argText}: ${message || meaning}`;
}

/**
 * Why the codec rejected bytes or a message:
 * - frame level: `bad-header`, `oversize`, `crc`, `truncated`, `trailing-bytes` (decodeFrame of an
 *   MQTT message holding more than one frame);
 * - message level: `unknown-type`, `bad-payload`, `unsupported-version`;
 * - encoding a message the caller built wrong: `field-range`, `payload-too-large`;
 * - reassembling chunked replies that do not fit together: `bad-sequence`.
 */
export type ProtocolErrorReason =
  | 'bad-header' | 'oversize' | 'crc' | 'truncated' | 'trailing-bytes'
  | 'unknown-type' | 'bad-payload' | 'unsupported-version'
  | 'field-range' | 'payload-too-large' | 'bad-sequence';

/**
 * Thrown by the codec. Bad bytes from a board are not the user's fault, so this is not a
 * `LabError`: the board session that sees it decides (count it, retry, or fail the board with a
 * `LabError` naming the board).
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly reason: ProtocolErrorReason;

  constructor(reason: ProtocolErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}
