/**
 * Folds a run's event stream into per-board and per-trial records (no statistics yet): the first
 * half of `buildRunResults`. One pass, O(events + samples).
 *
 * Attempts: every `trial.started` opens a new attempt record, even when its number repeats (a run
 * resumed after a crash starts the interrupted trial again, and the scheduler cannot know how far
 * the first try got); later events of that trial and attempt number go to the latest record. The
 * trial's result is its last attempt; samples of abandoned attempts are never mixed in.
 *
 * Provenance: an attempt and a board take the class their events carry (the least trusted, should
 * two disagree); events and fingerprints of journals older than the field get it from `simulated`.
 */
import type {
  BoardHello, BoardHelloEvent, BoardState, CanaryEvent, EventError, LabEvent, LinkKind, MemoryReport,
  OpProfileEntry, RunFinishedEvent, RunResumedEvent, RunStartedEvent, TrialAccuracyEvent, TrialFinishedEvent,
} from '../lab/events.js';
import { parseTrialId, type Trial } from '../lab/plan.js';
import { leastTrusted, provenanceFromSimulated, recordedProvenance, type Provenance } from '../lab/provenance.js';
import type { Fingerprint } from '../stats/fingerprint.js';
import type { LogLine } from './results-types.js';

export interface AttemptRecord {
  attempt: number;
  board: string;
  fingerprint?: Fingerprint;
  warmup: number[][];
  measure: number[][];
  simulated: boolean;
  /** Undefined until an event of the attempt says where its numbers came from. */
  provenance?: Provenance;
  profile?: { cpuMHz: number; ops: OpProfileEntry[] };
  accuracy?: TrialAccuracyEvent;
  memory?: MemoryReport;
  finished?: TrialFinishedEvent;
}

export interface TrialRecord {
  id: string;
  /** From the plan; undefined for a trial the plan does not know (reported as a warning). */
  trial?: Trial;
  variant: string;
  board: string;
  round: number;
  attempts: AttemptRecord[];
}

export interface BoardRecord {
  id: string;
  link?: LinkKind;
  address?: string;
  hello?: BoardHello;
  firmware: Map<string, string>;
  state: BoardState;
  quarantined?: string;
  canary?: CanaryEvent;
  flashes: number;
  flashFailures: number;
  flashSeconds: number;
  flashErrors: EventError[];
  logs: LogLine[];
  logTotal: number;
  simulated: boolean;
  /** Undefined until the board's hello, canary or trials say. */
  provenance?: Provenance;
}

export interface CollectedRun {
  started?: RunStartedEvent;
  finished?: RunFinishedEvent;
  resumes: RunResumedEvent[];
  boards: Map<string, BoardRecord>;
  trials: Map<string, TrialRecord>;
  firstTs: number;
  lastTs: number;
  warnings: string[];
}

/** Log lines kept per board: the first HEAD and the last TAIL (a board that prints a lot cannot bloat the report). */
export const LOG_HEAD = 20;
export const LOG_TAIL = 80;
/** A log line longer than this is cut (a board printing binary garbage on its console). */
export const LOG_LINE_MAX = 500;

function newBoard(id: string): BoardRecord {
  return {
    id, firmware: new Map(), state: 'unknown', flashes: 0, flashFailures: 0, flashSeconds: 0, flashErrors: [],
    logs: [], logTotal: 0, simulated: false,
  };
}

/** Latencies of a samples event; derived from cycles when the latency list is missing or short. */
function latenciesOf(e: { cycles: number[]; latencyUs?: number[]; cpuMHz: number }): number[] {
  if (Array.isArray(e.latencyUs) && e.latencyUs.length === e.cycles.length) return e.latencyUs;
  return e.cycles.map((c) => c / e.cpuMHz);
}

export function collectRun(events: readonly LabEvent[]): CollectedRun {
  const run: CollectedRun = { resumes: [], boards: new Map(), trials: new Map(), firstTs: NaN, lastTs: NaN, warnings: [] };
  const planned = new Map<string, Trial>();
  const unknownTrials = new Set<string>();
  const board = (id: string): BoardRecord => {
    let b = run.boards.get(id);
    if (!b) {
      b = newBoard(id);
      run.boards.set(id, b);
    }
    return b;
  };
  const trialRecord = (id: string, boardId?: string): TrialRecord | undefined => {
    let t = run.trials.get(id);
    if (t) return t;
    const plannedTrial = planned.get(id);
    const parsed = parseTrialId(id);
    if (!plannedTrial && !parsed) {
      if (!unknownTrials.has(id)) run.warnings.push(`events name trial "${id}", which is not a trial id (<variant>@<board>#<round>): ignored`);
      unknownTrials.add(id);
      return undefined;
    }
    if (!plannedTrial && !unknownTrials.has(id)) {
      unknownTrials.add(id);
      run.warnings.push(`trial ${id} is not in the run's plan: reported as measured`);
    }
    t = {
      id,
      ...(plannedTrial ? { trial: plannedTrial } : {}),
      variant: plannedTrial?.variant.id ?? parsed!.variant,
      board: plannedTrial?.board ?? boardId ?? parsed!.board,
      round: plannedTrial?.round ?? parsed!.round,
      attempts: [],
    };
    run.trials.set(id, t);
    return t;
  };
  const attemptOf = (id: string, attempt: number): AttemptRecord | undefined => {
    const t = trialRecord(id);
    if (!t) return undefined;
    for (let i = t.attempts.length - 1; i >= 0; i--) if (t.attempts[i].attempt === attempt) return t.attempts[i];
    // Data without a trial.started (a journal written by an older scheduler, or a lost line).
    const a: AttemptRecord = { attempt, board: t.board, warmup: [], measure: [], simulated: false };
    t.attempts.push(a);
    return a;
  };

  for (const e of events) {
    if (Number.isFinite(e.ts)) {
      if (!(run.firstTs <= e.ts)) run.firstTs = e.ts;
      if (!(run.lastTs >= e.ts)) run.lastTs = e.ts;
    }
    switch (e.type) {
      case 'run.started':
        if (run.started) {
          run.warnings.push(`the journal holds a second run.started (seq ${e.seq}): the first one describes the run`);
          break;
        }
        run.started = e;
        for (const t of e.plan.trials) planned.set(t.id, t);
        for (const b of e.plan.boards) board(b);
        break;
      case 'run.resumed':
        run.resumes.push(e);
        break;
      case 'run.finished':
        run.finished = e;
        break;
      case 'board.state': {
        const b = board(e.board);
        b.state = e.to;
        if (e.to === 'quarantined' && b.quarantined === undefined) b.quarantined = e.reason ?? 'quarantined';
        break;
      }
      case 'board.hello': {
        const b = board(e.board);
        applyHello(b, e);
        break;
      }
      case 'board.log': {
        const b = board(e.board);
        b.logTotal++;
        const line = e.line.length > LOG_LINE_MAX ? `${e.line.slice(0, LOG_LINE_MAX)}... (${e.line.length - LOG_LINE_MAX} more characters)` : e.line;
        const entry = { seq: e.seq, ts: e.ts, line };
        if (b.logs.length < LOG_HEAD + LOG_TAIL) b.logs.push(entry);
        else b.logs.splice(LOG_HEAD, 1), b.logs.push(entry); // keep the head, slide the tail
        break;
      }
      case 'board.flashed': {
        const b = board(e.board);
        b.flashes++;
        b.flashSeconds += e.regions.reduce((s, r) => s + (Number.isFinite(r.seconds) ? r.seconds : 0), 0);
        if (!e.ok) {
          b.flashFailures++;
          if (e.error) b.flashErrors.push(e.error);
        }
        break;
      }
      case 'board.canary': {
        const b = board(e.board);
        b.canary = e;
        if (e.simulated) b.simulated = true;
        b.provenance = leastTrusted(b.provenance, recordedProvenance(e));
        break;
      }
      case 'board.quarantined':
        board(e.board).quarantined = e.reason;
        board(e.board).state = 'quarantined';
        break;
      case 'trial.started': {
        const t = trialRecord(e.trial, e.board);
        if (t) t.attempts.push({ attempt: e.attempt, board: e.board, warmup: [], measure: [], simulated: false });
        break;
      }
      case 'trial.fingerprint': {
        const a = attemptOf(e.trial, e.attempt);
        if (!a) break;
        a.fingerprint = fingerprintWithProvenance(e.fingerprint);
        if (typeof a.fingerprint.provenance === 'string') a.provenance = leastTrusted(a.provenance, a.fingerprint.provenance);
        break;
      }
      case 'trial.samples': {
        const a = attemptOf(e.trial, e.attempt);
        if (!a) break;
        (e.phase === 'warmup' ? a.warmup : a.measure).push(latenciesOf(e));
        markAttempt(a, e);
        break;
      }
      case 'trial.profile': {
        const a = attemptOf(e.trial, e.attempt);
        if (a) a.profile = { cpuMHz: e.cpuMHz, ops: e.ops };
        if (a) markAttempt(a, e);
        break;
      }
      case 'trial.accuracy': {
        const a = attemptOf(e.trial, e.attempt);
        if (a) a.accuracy = e;
        if (a) markAttempt(a, e);
        break;
      }
      case 'trial.memory': {
        const a = attemptOf(e.trial, e.attempt);
        if (a) a.memory = e.memory;
        if (a) markAttempt(a, e.memory);
        break;
      }
      case 'trial.finished': {
        const a = attemptOf(e.trial, e.attempt);
        if (a) a.finished = e;
        break;
      }
      default: {
        const unknown = e as { type?: unknown; seq?: unknown };
        run.warnings.push(`event seq ${String(unknown.seq)} has an unknown type ${JSON.stringify(unknown.type)}: ignored`);
      }
    }
  }
  return run;
}

function applyHello(b: BoardRecord, e: BoardHelloEvent): void {
  b.link = e.link;
  b.address = e.address;
  b.hello = e.hello;
  b.firmware.set(e.hello.appElfSha256, e.hello.firmwareVariant);
  if (e.hello.simulated) b.simulated = true;
  b.provenance = leastTrusted(b.provenance, e.provenance ?? provenanceFromSimulated(e.hello.simulated));
}

/** An attempt takes the marks of each event that carries its numbers. */
function markAttempt(a: AttemptRecord, marks: { simulated: boolean; provenance?: Provenance }): void {
  if (marks.simulated) a.simulated = true;
  a.provenance = leastTrusted(a.provenance, recordedProvenance(marks));
}

/**
 * Fingerprints journaled before the provenance field carry `simulated` only: the field follows
 * from it, so an old board or simulated baseline matches a new run of its own class (a missing
 * field would match nothing, stats/fingerprint.ts) and never an emulated one.
 */
export function fingerprintWithProvenance(fp: Fingerprint): Fingerprint {
  if (fp.provenance !== undefined || typeof fp.simulated !== 'boolean') return fp;
  return { ...fp, provenance: provenanceFromSimulated(fp.simulated) };
}

/** Concatenates batches into one Float64Array. */
export function concatBatches(batches: readonly number[][]): Float64Array {
  let n = 0;
  for (const b of batches) n += b.length;
  const out = new Float64Array(n);
  let i = 0;
  for (const b of batches) {
    for (let k = 0; k < b.length; k++) out[i++] = b[k];
  }
  return out;
}

/**
 * The attempt that decides a trial: the last one started. Unfinished, the trial is incomplete
 * (even when an earlier attempt finished with an error and was to be retried).
 */
export function decisiveAttempt(t: TrialRecord): AttemptRecord | undefined {
  return t.attempts.at(-1);
}
