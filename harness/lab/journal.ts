/**
 * The run journal: every event of a run appended to `reports/<run-id>/events.jsonl` the moment it
 * happens, so a crash of the host loses nothing that was measured and `hil run --resume` knows
 * which trials are finished.
 *
 * - One `write` per event line, on a file opened with O_APPEND: a line is never interleaved with
 *   another, and a kill can only cut the last line short. `fsync` runs at trial boundaries
 *   (`trial.finished`, `board.quarantined`, `run.finished`), so what a finished trial measured is
 *   on disk before the next trial starts, without paying a disk flush per sample batch.
 * - Reading (harness/report/journal.ts, one copy of the parser) drops a torn last line with a
 *   warning. Resuming cuts that torn line off the file before appending, so the journal stays
 *   valid JSON lines and the sequence numbers carry on from the last whole event.
 * - Run ids sort by time and read as what they are: `20261128-153000-demo-3f9a` (UTC start time,
 *   scenario name, 4 random hex digits so two runs started in the same second never collide).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import { JOURNAL_FILE, parseJournal, type Journal } from '../report/journal.js';
import type { LabEvent, LabEventType, NewLabEvent } from './events.js';

export { JOURNAL_FILE, type Journal };

/** Events after which the journal is flushed to disk: the ends of units of work. */
const SYNC_AFTER: ReadonlySet<LabEventType> = new Set<LabEventType>(['trial.finished', 'board.quarantined', 'board.canary', 'run.finished', 'run.started', 'run.resumed']);

const RUN_ID = /^\d{8}-\d{6}-[a-z0-9][a-z0-9-]*-[0-9a-f]{4}$/;

/** `20261128-153000-<scenario>-<4 hex>`: sortable by start time (UTC), readable, unique. */
export function newRunId(scenario: string, now: Date = new Date(), random: () => string = () => randomBytes(2).toString('hex')): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${p(now.getUTCFullYear(), 4)}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  // Scenario names are slugs already (scenario schema /name); keep ids safe as directory names anyway.
  const slug = scenario.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'run';
  return `${stamp}-${slug}-${random()}`;
}

export function isRunId(text: string): boolean {
  return RUN_ID.test(text);
}

export interface JournalWriterOptions {
  /** Clock for `ts` (tests). */
  now?: () => number;
  /** fsync at trial boundaries (default true). */
  sync?: boolean;
}

export class JournalWriter {
  readonly file: string;
  readonly runDir: string;
  private fd: number | undefined;
  private seq: number;
  private readonly now: () => number;
  private readonly syncing: boolean;

  private constructor(runDir: string, fd: number, lastSeq: number, options: JournalWriterOptions) {
    this.runDir = runDir;
    this.file = path.join(runDir, JOURNAL_FILE);
    this.fd = fd;
    this.seq = lastSeq;
    this.now = options.now ?? Date.now;
    this.syncing = options.sync ?? true;
  }

  /** A new journal in a new run directory (an existing journal there is never overwritten). */
  static create(runDir: string, options: JournalWriterOptions = {}): JournalWriter {
    mkdirSync(runDir, { recursive: true });
    const file = path.join(runDir, JOURNAL_FILE);
    let fd: number;
    try {
      fd = openSync(file, 'ax');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new LabError('journal', `${file} already exists: that run has a journal (resume it with hil run --resume ${path.basename(runDir)}, or pick another run id)`);
      }
      throw new LabError('journal', `cannot create the run journal ${file} (${(e as Error).message})`, { cause: e });
    }
    return new JournalWriter(runDir, fd, 0, options);
  }

  /**
   * Reopens a run's journal to append to it: reads every whole event, cuts a torn last line off the
   * file, and carries on with the next sequence number.
   */
  static resume(runDir: string, options: JournalWriterOptions = {}): { writer: JournalWriter; journal: Journal } {
    const file = path.join(runDir, JOURNAL_FILE);
    if (!existsSync(file)) {
      throw new LabError('journal', `no run journal at ${file} (is ${path.basename(runDir)} a run id under ${path.dirname(runDir)}?)`);
    }
    const text = readFileSync(file, 'utf8');
    const journal = parseJournal(text, file);
    const fd = openSync(file, 'r+');
    try {
      // Everything after the last newline is a torn line (parseJournal left it out with a warning).
      const whole = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1), 'utf8');
      if (fstatSync(fd).size !== whole) {
        ftruncateSync(fd, whole);
        fsyncSync(fd);
      }
    } finally {
      closeSync(fd);
    }
    const lastSeq = journal.events.reduce((m, e) => Math.max(m, typeof e.seq === 'number' ? e.seq : 0), 0);
    const appendFd = openSync(file, 'a');
    return { writer: new JournalWriter(runDir, appendFd, lastSeq, options), journal };
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Stamps `seq` and `ts` on the event and appends it as one line. Returns the stamped event. */
  append(event: NewLabEvent): LabEvent {
    if (this.fd === undefined) throw new Error(`JournalWriter.append(${event.type}) after close`);
    const stamped = { ...event, seq: this.seq + 1, ts: this.now() } as LabEvent;
    const line = Buffer.from(`${JSON.stringify(stamped)}\n`, 'utf8');
    let written = 0;
    // One write for the whole line; the loop only matters if the kernel ever writes part of it.
    while (written < line.length) written += writeSync(this.fd, line, written, line.length - written);
    this.seq++;
    if (this.syncing && SYNC_AFTER.has(event.type)) fsyncSync(this.fd);
    return stamped;
  }

  /** Flushes what was written to disk. */
  sync(): void {
    if (this.fd !== undefined && this.syncing) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      if (this.syncing) fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** Reads the journal of a run directory (a torn last line is left out with a warning). */
export function readJournal(runDir: string): Journal {
  const file = path.join(runDir, JOURNAL_FILE);
  if (!existsSync(file)) throw new LabError('journal', `no run journal at ${file}`);
  return parseJournal(readFileSync(file, 'utf8'), file);
}

/** What a journal says about its trials: the ones finished for good, and the attempts each had. */
export interface JournalProgress {
  /** Trials whose `trial.finished` with willRetry=false is journaled: a resumed run skips them. */
  finished: Set<string>;
  /** Highest attempt number journaled per trial (a resumed trial carries on counting). */
  attempts: Map<string, number>;
  /** Board failures (status 'error') journaled per trial, counted against maxTrialRetries. */
  boardFailures: Map<string, number>;
  /** Variant@board pairs whose accuracy pass is journaled in a passed trial. */
  accuracyDone: Set<string>;
  /** Variant@board pairs whose per-op profile is journaled in a passed trial. */
  profileDone: Set<string>;
  /** Boards quarantined during the run (they stay out after a resume). */
  quarantined: Map<string, string>;
  /** Boards whose canary ran (it is not repeated on resume). */
  canaries: Map<string, LabEvent & { type: 'board.canary' }>;
}

export function journalProgress(events: readonly LabEvent[]): JournalProgress {
  const p: JournalProgress = {
    finished: new Set(), attempts: new Map(), boardFailures: new Map(), accuracyDone: new Set(), profileDone: new Set(),
    quarantined: new Map(), canaries: new Map(),
  };
  // Accuracy and profile events count only once their attempt passed.
  const pendingAccuracy = new Map<string, number>();
  const pendingProfile = new Map<string, number>();
  const pairOf = (trial: string) => trial.slice(0, trial.lastIndexOf('#'));
  for (const e of events) {
    switch (e.type) {
      case 'trial.started':
        p.attempts.set(e.trial, Math.max(p.attempts.get(e.trial) ?? 0, e.attempt));
        break;
      case 'trial.accuracy':
        pendingAccuracy.set(e.trial, e.attempt);
        break;
      case 'trial.profile':
        pendingProfile.set(e.trial, e.attempt);
        break;
      case 'trial.finished':
        if (!e.willRetry) p.finished.add(e.trial);
        if (e.status === 'error') p.boardFailures.set(e.trial, (p.boardFailures.get(e.trial) ?? 0) + 1);
        if (e.status === 'passed') {
          if (pendingAccuracy.get(e.trial) === e.attempt) p.accuracyDone.add(pairOf(e.trial));
          if (pendingProfile.get(e.trial) === e.attempt) p.profileDone.add(pairOf(e.trial));
        }
        break;
      case 'board.quarantined':
        p.quarantined.set(e.board, e.reason);
        break;
      case 'board.canary':
        p.canaries.set(e.board, e);
        break;
      default:
        break;
    }
  }
  return p;
}
