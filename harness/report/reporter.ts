/**
 * Reporters, as in Playwright (CONVENTIONS.md): one per file, every hook optional, fed by a
 * multiplexer that passes each event to every reporter and isolates one that throws - the others
 * keep going, the failing one is switched off and its error is reported once, in one line.
 *
 * File reporters collect during the run and write once, in `onEnd`, returning the paths they
 * wrote. Everything a hook starts is awaited before `onEnd` resolves (unawaited work in reporter
 * hooks is a known way to lose output: microsoft/playwright #22904).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LabEvent } from '../lab/events.js';
import type { RunResults } from './results-types.js';

export interface ReportContext {
  /** Where file reporters write (reports/<run-id>/). */
  outDir: string;
  /** Files the reporters before this one wrote (the console reporter, last, names the HTML report). */
  files: readonly string[];
}

export interface Reporter {
  readonly name: string;
  /** Each event as it happens (live) or as the journal replays it. */
  onEvent?(event: LabEvent): void | Promise<void>;
  /** Once, with the run's results; returns the files it wrote. */
  onEnd?(results: RunResults, context: ReportContext): void | string[] | Promise<void | string[]>;
}

/** A file reporter's `onEnd`: writes `text` as `fileName` in the run's folder; the files it wrote. */
export function writeReportFile(context: ReportContext, fileName: string, text: string): string[] {
  mkdirSync(context.outDir, { recursive: true });
  const file = path.join(context.outDir, fileName);
  writeFileSync(file, text);
  return [file];
}

export interface ReporterFailure {
  reporter: string;
  hook: 'onEvent' | 'onEnd';
  message: string;
}

export interface MuxOptions {
  /** Where a failing reporter is announced, once (default: one line on stderr). */
  onFailure?: (failure: ReporterFailure) => void;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class ReporterMux {
  readonly failures: ReporterFailure[] = [];
  private readonly reporters: Reporter[];
  private readonly failed = new Set<Reporter>();
  private readonly pending = new Set<Promise<void>>();
  private readonly onFailure: (failure: ReporterFailure) => void;

  constructor(reporters: readonly Reporter[], options: MuxOptions = {}) {
    this.reporters = [...reporters];
    this.onFailure = options.onFailure ?? ((f) => {
      process.stderr.write(`hil: the ${f.reporter} reporter failed in ${f.hook} and was switched off (the other reports carry on): ${f.message}\n`);
    });
  }

  private fail(r: Reporter, hook: ReporterFailure['hook'], e: unknown): void {
    if (this.failed.has(r)) return;
    this.failed.add(r);
    const failure = { reporter: r.name, hook, message: messageOf(e) };
    this.failures.push(failure);
    this.onFailure(failure);
  }

  /** Passes the event to every working reporter; asynchronous hooks are awaited by `onEnd`. */
  onEvent(event: LabEvent): void {
    for (const r of this.reporters) {
      if (!r.onEvent || this.failed.has(r)) continue;
      try {
        const p = r.onEvent(event);
        if (p && typeof (p as Promise<void>).then === 'function') {
          const tracked: Promise<void> = (p as Promise<void>).then(
            () => { this.pending.delete(tracked); },
            (e: unknown) => { this.pending.delete(tracked); this.fail(r, 'onEvent', e); },
          );
          this.pending.add(tracked);
        }
      } catch (e) {
        this.fail(r, 'onEvent', e);
      }
    }
  }

  /** Waits for pending event work, then ends every working reporter in order; the files written. */
  async onEnd(results: RunResults, outDir: string): Promise<{ files: string[]; failures: ReporterFailure[] }> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    const files: string[] = [];
    for (const r of this.reporters) {
      if (!r.onEnd || this.failed.has(r)) continue;
      try {
        const written = await r.onEnd(results, { outDir, files: [...files] });
        if (Array.isArray(written)) files.push(...written);
      } catch (e) {
        this.fail(r, 'onEnd', e);
      }
    }
    return { files, failures: [...this.failures] };
  }
}
