/**
 * Per-board flashing progress for a terminal: one bar per board redrawn in place on a TTY, plain
 * lines (phase changes and every quarter of a region) when the output is a pipe or a CI log.
 */
import type { FlashProgress, FlashReport } from './flasher.js';

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

interface BoardState {
  line: string;
  lastQuarter: number;
  lastKey: string;
}

const BAR = 24;

function percentOf(p: FlashProgress): number | undefined {
  // Every region is written by the time the board is reset into its app.
  if (p.phase === 'reset' || p.phase === 'hello' || p.phase === 'done') return 1;
  if (p.regionCount === undefined || p.regionIndex === undefined) return undefined;
  const within = p.total ? (p.sent ?? 0) / p.total : 0;
  return Math.min(1, (p.regionIndex + within) / Math.max(1, p.regionCount));
}

function phaseText(p: FlashProgress): string {
  switch (p.phase) {
    case 'probe':
      return 'asking the firmware who it is';
    case 'download-mode':
      return 'restarting into the ROM loader (RESET download)';
    case 'connect':
      return 'connecting to the ROM loader';
    case 'compare':
      return `${p.region}: comparing flash MD5`;
    case 'write':
      return `${p.region}: writing${p.total ? ` ${Math.round((100 * (p.sent ?? 0)) / p.total)}%` : ''}`;
    case 'reset':
      return 'resetting into the app';
    case 'hello':
      return 'waiting for the firmware hello';
    case 'done':
      return 'done';
  }
}

export class FlashProgressView {
  private readonly boards = new Map<string, BoardState>();
  private readonly tty: boolean;
  private drawn = 0;
  private deferred: string[] = [];

  constructor(
    private readonly out: ProgressOutput,
    options: { tty?: boolean } = {},
  ) {
    this.tty = options.tty ?? Boolean(out.isTTY);
  }

  update(p: FlashProgress): void {
    const state = this.state(p.board);
    if (this.tty) {
      const frac = percentOf(p) ?? 0;
      const filled = Math.round(frac * BAR);
      state.line = `${p.board.padEnd(10)} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${String(Math.round(frac * 100)).padStart(3)}%  ${phaseText(p)}`;
      this.redraw();
      return;
    }
    // Plain output: a line when the phase or region changes, and at each quarter of a write.
    const key = `${p.phase}:${p.region ?? ''}`;
    const quarter = p.phase === 'write' && p.total ? Math.floor((4 * (p.sent ?? 0)) / p.total) : -1;
    if (key === state.lastKey && !(p.phase === 'write' && quarter > state.lastQuarter)) return;
    state.lastKey = key;
    state.lastQuarter = quarter;
    this.out.write(`${p.board}: ${phaseText(p)}\n`);
  }

  /** The board finished: a summary line per region. */
  done(report: FlashReport): void {
    const lines = report.regions.map((r) => {
      const what = r.action === 'skipped' ? 'unchanged, skipped' : `${r.bytes} bytes (${r.compressedBytes} compressed, ${r.wireBytes} on the wire) in ${r.seconds.toFixed(2)} s`;
      return `${report.board}:   0x${r.offset.toString(16).padStart(6, '0')} ${r.name.padEnd(16)} ${what}`;
    });
    this.finishLine(report.board, `${report.board}: flashed in ${report.seconds.toFixed(1)} s at ${report.baud} baud (${report.reset} reset)`, lines);
  }

  /** The board failed; pass the message when nobody else prints it (the CLI prints LabErrors itself). */
  fail(board: string, message?: string): void {
    this.finishLine(board, message ? `${board}: FAILED - ${message}` : `${board}: FAILED`, []);
  }

  /** A line about one board that is not progress (a fallback taken, a re-probe's result). */
  note(board: string, text: string): void {
    const line = `${board}: ${text}`;
    if (this.tty) this.deferred.push(line);
    else this.out.write(`${line}\n`);
  }

  /**
   * Prints what waited below the bars on a TTY (region summaries, notes): while boards flash in
   * parallel, a line written under the bars would push them up and break the redraw in place.
   */
  close(): void {
    if (this.deferred.length === 0) return;
    this.out.write(this.deferred.map((l) => `${l}\n`).join(''));
    this.deferred = [];
    this.drawn = 0;
  }

  private finishLine(board: string, head: string, rest: string[]): void {
    if (this.tty) {
      this.state(board).line = head;
      this.redraw();
      this.deferred.push(...rest);
      return;
    }
    this.out.write([head, ...rest].map((l) => `${l}\n`).join(''));
  }

  private state(board: string): BoardState {
    let s = this.boards.get(board);
    if (!s) {
      s = { line: board, lastQuarter: -1, lastKey: '' };
      this.boards.set(board, s);
    }
    return s;
  }

  private redraw(): void {
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    const body = [...this.boards.values()].map((s) => `\x1b[2K${s.line}\n`).join('');
    this.out.write(up + body);
    this.drawn = this.boards.size;
  }
}
