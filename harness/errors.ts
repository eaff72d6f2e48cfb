/**
 * Errors a user can cause (a broken file, a missing port, an unsupported op) are `LabError`s: one
 * sentence that names the thing (file, JSON pointer, board) and the fix. The CLI prints them
 * without a stack trace and exits with code 2. Anything else is an internal bug and keeps its stack.
 */
export class LabError extends Error {
  override readonly name = 'LabError';
  /** Machine-readable category, e.g. 'model-format', 'config', 'board', 'link'. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isLabError(e: unknown): e is LabError {
  return e instanceof LabError;
}

/** CI exit codes (ARCHITECTURE.md): 0 all gates pass, 1 a regression gate failed, 2 lab or config error. */
export const ExitCode = { Pass: 0, Regression: 1, LabError: 2 } as const;
