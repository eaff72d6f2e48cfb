/**
 * The console reporter: live progress while a run goes (boards x trials, ETA), then a summary
 * table, the gate verdicts, the path of the HTML report and the exit code's reason.
 *
 * On a TTY the progress is a block of lines redrawn in place (one per board, at most ten times a
 * second); anywhere else (CI logs, pipes) it degrades to one plain line per finished trial and per
 * board incident, so logs stay readable and diffable. Times come from the events' timestamps, not
 * the wall clock, so a replayed journal prints exactly what the live run printed.
 * Simulated numbers are marked by a SIMULATED banner at the start and above the summary, emulated
 * ones by an EMULATED banner; in a run that mixes provenance classes each variant row names its own.
 */
import path from 'node:path';
import type { LabEvent } from '../lab/events.js';
import { parseTrialId } from '../lab/plan.js';
import { recordedProvenances } from '../lab/provenance.js';
import {
  DASH, fmtB, fmtDuration, fmtFraction, fmtInterval, fmtP, fmtSignedPct, fmtUs, formatTable, gateSummaryOf, GATE_MARK,
  provenanceBanners,
} from './format.js';
import type { Reporter, ReportContext } from './reporter.js';
import type { RunResults } from './results-types.js';

export interface ConsoleOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ConsoleReporterOptions {
  stream?: ConsoleOutput;
  /** Live progress (default true); false prints the summary only (hil report). */
  progress?: boolean;
  /** Force the TTY display on or off (default: stream.isTTY). */
  tty?: boolean;
  /** Wall clock for the redraw throttle (tests). */
  now?: () => number;
}

interface BoardProgress {
  total: number;
  done: number;
  current?: string;
  /** ts of the current trial's start. */
  since?: number;
  spentMs: number;
  state: string;
}

const ESC = '\u001b[';

/** ETA of one board: its mean trial time so far times the trials it has left. */
function etaMs(b: BoardProgress): number | undefined {
  if (b.done === 0 || b.state === 'quarantined') return b.state === 'quarantined' ? 0 : undefined;
  return (b.spentMs / b.done) * (b.total - b.done);
}

export class ConsoleReporter implements Reporter {
  readonly name = 'console';
  private readonly out: ConsoleOutput;
  private readonly progress: boolean;
  private readonly tty: boolean;
  private readonly now: () => number;
  private boards = new Map<string, BoardProgress>();
  private totalTrials = 0;
  private finishedTrials = 0;
  private drawnLines = 0;
  private lastDraw = 0;
  private runLabel = '';

  constructor(options: ConsoleReporterOptions = {}) {
    this.out = options.stream ?? process.stdout;
    this.progress = options.progress ?? true;
    this.tty = options.tty ?? this.out.isTTY === true;
    this.now = options.now ?? Date.now;
  }

  private line(text: string): void {
    this.out.write(`${text}\n`);
  }

  onEvent(e: LabEvent): void {
    if (!this.progress) return;
    switch (e.type) {
      case 'run.started': {
        this.totalTrials = e.plan.trials.length;
        for (const b of e.plan.boards) this.boards.set(b, { total: e.plan.queues[b]?.length ?? 0, done: 0, spentMs: 0, state: 'unknown' });
        this.runLabel = `run ${e.runId}`;
        for (const banner of provenanceBanners({ simulated: e.simulated, provenances: recordedProvenances(e) })) this.line(banner);
        this.line(`${this.runLabel}: scenario ${e.scenario.name}, ${e.plan.variants.length} variants x ${e.plan.boards.length} boards x ${e.plan.rounds} rounds = ${e.plan.trials.length} trials`);
        break;
      }
      case 'run.resumed':
        // A resumed run does not redo finished trials: count them as done on their boards.
        for (const b of this.boards.values()) { b.done = 0; b.current = undefined; b.since = undefined; }
        for (const t of e.finishedTrials) {
          const b = this.boards.get(parseTrialId(t)?.board ?? '');
          if (b) b.done++;
        }
        this.finishedTrials = e.finishedTrials.length;
        this.plainOrDraw(e.ts, `${this.runLabel} resumed: ${e.finishedTrials.length} trials already finished`);
        break;
      case 'trial.started': {
        const b = this.boards.get(e.board);
        if (b) { b.current = e.trial; b.since = e.ts; b.state = 'running'; }
        this.draw(e.ts, false);
        break;
      }
      case 'trial.finished': {
        const b = this.boards.get(e.board);
        if (b && b.since !== undefined) b.spentMs += e.ts - b.since;
        if (e.willRetry) {
          this.plainOrDraw(e.ts, `${e.board}: ${e.trial} attempt ${e.attempt} ${e.status}: ${e.error?.message ?? ''} (retrying)`);
          break;
        }
        if (b) { b.done++; b.current = undefined; b.since = undefined; b.state = 'ready'; }
        this.finishedTrials++;
        if (this.tty) this.draw(e.ts, true);
        else {
          const eta = this.overallEta();
          const why = e.status === 'passed' ? '' : `: ${e.error?.message ?? e.status}`;
          this.line(`[${String(this.finishedTrials).padStart(String(this.totalTrials).length)}/${this.totalTrials}] ${e.board} ${e.status} ${e.trial}${why}${eta !== undefined ? `  ETA ${fmtDuration(eta)}` : ''}`);
        }
        break;
      }
      case 'board.quarantined': {
        const b = this.boards.get(e.board);
        if (b) b.state = 'quarantined';
        this.plainOrDraw(e.ts, `${e.board}: QUARANTINED: ${e.reason}`);
        break;
      }
      case 'board.canary':
        if (e.verdict !== 'ok') this.plainOrDraw(e.ts, `${e.board}: canary ${e.verdict}: median ${fmtUs(e.medianUs)}${e.driftPct !== undefined ? `, ${fmtSignedPct(e.driftPct)} from its history` : ''}`);
        break;
      case 'board.flashed':
        if (!e.ok) this.plainOrDraw(e.ts, `${e.board}: flashing ${e.build} failed: ${e.error?.message ?? 'unknown error'}`);
        break;
      case 'run.finished':
        this.draw(e.ts, true);
        if (this.tty) this.drawnLines = 0; // leave the last picture on screen
        break;
      default:
        break;
    }
  }

  private overallEta(): number | undefined {
    let worst: number | undefined;
    for (const b of this.boards.values()) {
      const eta = etaMs(b);
      if (eta === undefined) return undefined;
      worst = worst === undefined ? eta : Math.max(worst, eta);
    }
    return worst;
  }

  /** A message that must be seen: above the live block on a TTY, a plain line otherwise. */
  private plainOrDraw(ts: number, text: string): void {
    if (this.tty) {
      this.clearBlock();
      this.line(text);
      this.draw(ts, true);
    } else {
      this.line(text);
    }
  }

  private clearBlock(): void {
    if (this.drawnLines === 0) return;
    this.out.write(`${ESC}${this.drawnLines}F${ESC}J`);
    this.drawnLines = 0;
  }

  private draw(ts: number, force: boolean): void {
    if (!this.tty) return;
    const wall = this.now();
    if (!force && wall - this.lastDraw < 100) return;
    this.lastDraw = wall;
    const width = Math.max(40, (this.out.columns ?? 100) - 1);
    const eta = this.overallEta();
    const lines = [`${this.runLabel}: ${this.finishedTrials}/${this.totalTrials} trials${eta !== undefined ? `, ETA ${fmtDuration(eta)}` : ''}`];
    for (const [id, b] of this.boards) {
      const filled = b.total > 0 ? Math.round((b.done / b.total) * 20) : 20;
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}]`;
      const what = b.state === 'quarantined' ? 'QUARANTINED' : b.current ? `${b.current} (${fmtDuration(ts - (b.since ?? ts))})` : b.done === b.total ? 'done' : 'idle';
      const beta = etaMs(b);
      lines.push(`  ${id} ${bar} ${b.done}/${b.total} ${beta !== undefined && b.done < b.total && b.state !== 'quarantined' ? `ETA ${fmtDuration(beta)} ` : ''}${what}`);
    }
    this.clearBlock();
    this.out.write(lines.map((l) => ([...l].length > width ? `${[...l].slice(0, width - 3).join('')}...` : l)).join('\n') + '\n');
    this.drawnLines = lines.length;
  }

  onEnd(results: RunResults, context: ReportContext): void {
    this.clearBlock();
    const html = context.files.find((f) => f.endsWith('.html'));
    const rel = html !== undefined ? path.relative(process.cwd(), html) : undefined;
    this.out.write(consoleSummary(results, rel !== undefined && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : html));
  }
}

/** The end-of-run summary (also what `hil report` prints). */
export function consoleSummary(r: RunResults, htmlPath?: string): string {
  const out: string[] = [];
  out.push(...provenanceBanners(r.run));
  const passed = r.trials.filter((t) => t.status === 'passed').length;
  out.push(`run ${r.run.id} (scenario ${r.run.scenario.name}) ${r.run.status}${r.run.partial ? ', partial' : ''}: ${passed}/${r.run.plan.trials} trials passed on ${r.run.plan.boards.length} boards in ${fmtDuration(r.run.durationMs)}`);
  const base = r.baseline;
  const byCandidate = new Map((base?.comparisons ?? []).map((c) => [c.candidate, c]));
  const rows: string[][] = [['VARIANT', 'N', 'MEDIAN', 'P90', '95% CI', base ? `VS ${base.runId}` : 'VS BASELINE', 'TOP-1', 'ARENA', 'GATES']];
  // Only a run of several classes needs to say which variant is which: the banners cover the rest.
  const mixedRun = r.run.provenances.length > 1;
  for (const v of r.variants) {
    const c = byCandidate.get(v.id);
    let delta = DASH;
    if (c) delta = c.comparable ? `${fmtSignedPct(c.changePct)} ${c.significant ? fmtP(c.pHolm) : '~'}` : 'refused';
    rows.push([
      mixedRun ? `${v.id} (${v.provenance})` : v.id,
      v.latency ? String(v.latency.n) : '0',
      fmtUs(v.latency?.median),
      fmtUs(v.latency?.p90),
      fmtInterval(v.latency),
      delta,
      fmtFraction(v.accuracy?.top1.estimate),
      v.memory ? `${fmtB(v.memory.arenaUsedBytes)}/${fmtB(v.memory.arenaBytes)}` : DASH,
      gateSummaryOf(r, v.id),
    ]);
  }
  out.push('', formatTable(rows, new Set([1, 2, 3])));
  const g = r.gates;
  out.push('', `gates: ${g.passed} passed, ${g.failed} failed, ${g.errors} errors, ${g.skipped} skipped${g.baselineRun ? ` (baseline ${g.baselineRun})` : ''}`);
  if (g.note) out.push(`  note: ${g.note}`);
  for (const v of g.results.filter((x) => x.status === 'fail' || x.status === 'error')) out.push(`  ${GATE_MARK[v.status]} ${v.variant}: ${v.explanation}`);
  const refused = r.comparisons.filter((c) => !c.comparable);
  if (refused.length > 0) {
    out.push('', `comparisons refused: ${refused.length}`);
    for (const c of refused.slice(0, 5)) out.push(`  ${c.label} (${c.context}): ${c.refusedReason}`);
  }
  if (r.warnings.length > 0) {
    out.push('', 'warnings:');
    for (const w of r.warnings) out.push(`  ${w}`);
  }
  out.push('');
  if (htmlPath) out.push(`report: ${htmlPath}`);
  out.push(`exit ${r.exitCode}: ${r.exitReason}`);
  return `${out.join('\n')}\n`;
}
