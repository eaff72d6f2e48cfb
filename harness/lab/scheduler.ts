/**
 * The fleet scheduler: every board in parallel, one trial at a time per board, in the plan's order
 * (rounds interleave the variants, plan.ts). Per board: connect and check its identity, run the
 * canary, then its queue. What it does when things go wrong (issue 4):
 *
 * - a trial that fails for its own reason (arena too small, unsupported op) fails once, without a
 *   retry, and the board carries on;
 * - a board that reboots, hangs, drops off the link or garbles replies fails the trial's attempt:
 *   the board is reset and its identity probed again (same chip, by MAC), and the trial is retried
 *   up to `maxTrialRetries` times;
 * - a board that fails `quarantineAfterFailures` times in a row, cannot be brought back, turns out
 *   to be another chip, or whose canary drifted too far is quarantined: its remaining trials are
 *   not run, and the run finishes on the other boards;
 * - a stop request (Ctrl-C) abandons the current step of every board at once; the abandoned trial
 *   gets no `trial.finished`, so `--resume` runs it again from the start.
 *
 * Resume: trials whose `trial.finished` with willRetry=false is in the journal are skipped, attempt
 * numbers and board-failure counts carry on from the journal, and a canary already journaled is
 * not run again.
 */
import type { Scenario } from '../config/types.js';
import type { Plan, Trial } from './plan.js';
import type { BoardHello, NewLabEvent } from './events.js';
import type { BoardIdentity } from './board.js';
import { runCanary, type CanaryHistory, type CanaryModel } from './canary.js';
import { failureKind, messageOf, withTimeout, fmtSeconds } from './failures.js';
import type { JournalProgress } from './journal.js';
import type { PreparedModel } from './models.js';
import { provenanceOf } from './provenance.js';
import type { BoardSlot } from './slot.js';
import { runTrial, stepper, type TrialProgress } from './trial-runner.js';

/** Log lines kept in the journal per board and run; past it one line says how many were left out. */
export const MAX_LOG_LINES = 20_000;

export interface SchedulerOptions {
  scenario: Scenario;
  plan: Plan;
  slots: readonly BoardSlot[];
  models: ReadonlyMap<string, PreparedModel>;
  firmwareDir: string;
  emit: (e: NewLabEvent) => void;
  /** Aborted on Ctrl-C / SIGTERM. */
  stop: AbortSignal;
  /** What an earlier part of this run journaled (resume); empty for a new run. */
  progress: JournalProgress;
  /** The canary model and the boards' canary history; undefined skips the canary. */
  canary?: { model: CanaryModel; history: CanaryHistory };
  /** Per-op profile of the first passing trial of each variant on each board. */
  profile: boolean;
  /** Wall clock (ms), for trial durations. */
  now?: () => number;
}

export interface ScheduleOutcome {
  /** True when a stop request ended the schedule early. */
  stopped: boolean;
  quarantined: Map<string, string>;
}

/** The journal's form of a board's identity. */
export function helloOf(board: string, id: BoardIdentity): BoardHello {
  return {
    board,
    chip: id.chip,
    chipRevision: `v${Math.floor(id.chipRevision / 100)}.${id.chipRevision % 100}`,
    mac: id.mac,
    appElfSha256: id.appSha256,
    appVersion: id.appVersion,
    projectName: id.projectName,
    firmwareVariant: id.variant,
    kernelBackend: id.kernelBackend === 'reference' ? 'reference' : 'esp-nn',
    idfVersion: id.idfVersion,
    tflmVersion: id.tflmVersion,
    espNnVersion: id.espNnVersion,
    cpuMHz: id.cpuMhz,
    psramBytes: id.psramSize,
    flashBytes: id.flashSize,
    protocolVersion: id.protocolMax,
    simulated: id.simulated,
  };
}

export async function runSchedule(o: SchedulerOptions): Promise<ScheduleOutcome> {
  const quarantined = new Map(o.progress.quarantined);
  const accuracyDone = new Set(o.progress.accuracyDone);
  const profileDone = new Set(o.progress.profileDone);
  const now = o.now ?? Date.now;
  const { scenario } = o;
  const t = scenario.timeouts;
  const retries = scenario.retries;

  const worker = async (slot: BoardSlot): Promise<void> => {
    const step = stepper(o.stop, slot.id);
    const queue = (o.plan.queues[slot.id] ?? []).filter((tr) => !o.progress.finished.has(tr.id));
    const earlier = quarantined.get(slot.id);
    if (earlier !== undefined) {
      slot.quarantined = earlier;
      slot.state = 'quarantined';
      return;
    }
    const canaryDue = o.canary !== undefined && scenario.canary.enabled && !o.progress.canaries.has(slot.id);
    if (queue.length === 0 && !canaryDue) return;

    let logLines = 0;
    slot.board.onLog((line) => {
      logLines++;
      if (logLines <= MAX_LOG_LINES) o.emit({ type: 'board.log', board: slot.id, line });
      else if (logLines === MAX_LOG_LINES + 1) o.emit({ type: 'board.log', board: slot.id, line: `hil: board ${slot.id} printed more than ${MAX_LOG_LINES} lines in this run; the rest are left out of the journal` });
    });
    const helloEvent = (id: BoardIdentity): NewLabEvent => ({
      type: 'board.hello', board: slot.id, link: slot.board.link, address: slot.board.address, hello: helloOf(slot.id, id),
      provenance: provenanceOf(slot.config, id),
    });
    slot.board.onReboot((id) => o.emit(helloEvent(id)));

    const quarantine = (reason: string): void => {
      slot.quarantined = reason;
      quarantined.set(slot.id, reason);
      slot.setState('quarantined', reason);
      o.emit({ type: 'board.quarantined', board: slot.id, reason });
    };

    /** The identity a board answers with must be the chip the run started with. */
    const checkIdentity = (id: BoardIdentity): string | undefined => {
      const pinned = slot.config.identity.mac;
      if (pinned && id.mac.toLowerCase() !== pinned) {
        return `the board on ${slot.board.address} reports MAC ${id.mac}, but rigs.json pins ${pinned} for ${slot.id} (another board is on that port: fix the port or the pinned MAC)`;
      }
      if (slot.expectedMac && id.mac.toLowerCase() !== slot.expectedMac) {
        return `the board on ${slot.board.address} now reports MAC ${id.mac}, not ${slot.expectedMac} as at the start of the run (another board took its place)`;
      }
      slot.expectedMac = id.mac.toLowerCase();
      return undefined;
    };

    const announce = (id: BoardIdentity): string | undefined => {
      o.emit(helloEvent(id));
      return checkIdentity(id);
    };

    /** Reset + re-probe after a board failure; the reason it could not be brought back, if so. */
    const recover = async (why: string): Promise<string | undefined> => {
      slot.setState('failed', why);
      slot.forget();
      try {
        const id = await step(`resetting board ${slot.id}`, (t.helloS + t.connectS) * 1000 + (slot.board.bootMs ?? 0), () => slot.board.reset(t.helloS * 1000));
        const wrong = announce(id);
        if (wrong) return wrong;
        slot.setState('ready', 'reset and probed again');
        return undefined;
      } catch (e) {
        if (failureKind(e) === 'stop' || failureKind(e) === undefined) throw e;
        return `it did not come back after a reset (${messageOf(e)})`;
      }
    };

    /**
     * A failure while connecting or running the canary: a stop ends the worker, anything that is
     * not a lab failure is thrown again, and the board is quarantined once it has failed
     * `quarantineAfterFailures` times in a row (`what` names what failed). True when the worker ends.
     */
    const failedTooOften = (e: unknown, what: string): boolean => {
      const kind = failureKind(e);
      if (kind === 'stop') return true;
      if (kind === undefined) throw e;
      slot.consecutiveFailures++;
      if (slot.consecutiveFailures >= retries.quarantineAfterFailures) {
        quarantine(`${what} ${slot.consecutiveFailures} times in a row (last: ${messageOf(e)})`);
        return true;
      }
      return false;
    };

    // ---- connect and check identity
    slot.setState('booting', `connecting over ${slot.board.link} ${slot.board.address}`);
    for (let connected = false; !connected;) {
      try {
        const id = await step(`connecting to board ${slot.id}`, (t.connectS + t.helloS) * 1000 + (slot.board.bootMs ?? 0), () => slot.board.connect(t.helloS * 1000));
        const wrong = announce(id);
        if (wrong) { quarantine(wrong); return; }
        slot.setState('ready');
        connected = true;
      } catch (e) {
        if (failedTooOften(e, 'it could not be reached')) return;
        // A reset that brings back a HELLO connects the board as well.
        connected = (await recover(`connecting failed: ${messageOf(e)}`)) === undefined;
      }
    }

    // ---- canary
    if (canaryDue) {
      for (;;) {
        try {
          const event = await runCanary(slot, o.canary!.model, scenario, step, o.canary!.history);
          o.emit(event);
          slot.consecutiveFailures = 0;
          slot.setState('ready');
          if (event.verdict === 'quarantined') {
            quarantine(`its canary median ${fmtUs(event.medianUs)} is ${fmtSigned(event.driftPct!)}% from its history (${fmtUs(event.historyMedianUs!)}), more than the ${scenario.canary.quarantineDriftPct}% the scenario allows`);
            return;
          }
          break;
        } catch (e) {
          if (failedTooOften(e, 'its canary failed')) return;
          const lost = await recover(`canary failed: ${messageOf(e)}`);
          if (lost !== undefined) { quarantine(`its canary failed (${messageOf(e)}) and ${lost}`); return; }
        }
      }
    }

    // ---- trials
    for (const trial of queue) {
      if (o.stop.aborted) return;
      let attempt = o.progress.attempts.get(trial.id) ?? 0;
      let failures = o.progress.boardFailures.get(trial.id) ?? 0;
      for (;;) {
        attempt++;
        const pair = pairOf(trial);
        const progress: TrialProgress = { invokeMs: 0, accuracyDone: false, profileDone: false };
        const started = now();
        o.emit({ type: 'trial.started', trial: trial.id, board: slot.id, attempt });
        const trialStop = new AbortController();
        const stop = AbortSignal.any([o.stop, trialStop.signal]);
        const finished = (status: 'passed' | 'failed' | 'error', willRetry: boolean, error?: unknown, durationMs = now() - started) => {
          o.emit({
            type: 'trial.finished', trial: trial.id, board: slot.id, attempt, status,
            ...(error !== undefined ? { error: { code: (error as { code?: string }).code ?? 'board', message: messageOf(error) } } : {}),
            durationMs, invokeMs: Math.round(progress.invokeMs * 1000) / 1000,
            ...(progress.accuracyInvokeMs !== undefined ? { accuracyInvokeMs: Math.round(progress.accuracyInvokeMs * 1000) / 1000 } : {}),
            willRetry,
          });
        };
        try {
          await withTimeout(`trial ${trial.id}`, slot.id, t.trialS * 1000, () => runTrial(
            { scenario, models: o.models, firmwareDir: o.firmwareDir, emit: o.emit, stop },
            slot, trial, attempt, { accuracy: !accuracyDone.has(pair), profile: o.profile && !profileDone.has(pair) }, progress,
          )).finally(() => trialStop.abort());
          finished('passed', false);
          if (progress.accuracyDone) accuracyDone.add(pair);
          if (progress.profileDone) profileDone.add(pair);
          slot.consecutiveFailures = 0;
          slot.setState('ready');
          break;
        } catch (e) {
          if (o.stop.aborted) return; // abandoned: no trial.finished, --resume runs it again
          const kind = failureKind(e);
          if (kind === undefined) throw e;
          if (kind === 'trial') {
            finished('failed', false, e);
            slot.setState('ready');
            break;
          }
          // The board's fault (a 'stop' here is the trial's own time limit: the board is stuck).
          const durationMs = now() - started;
          failures++;
          slot.consecutiveFailures++;
          const tooMany = slot.consecutiveFailures >= retries.quarantineAfterFailures;
          let lost: string | undefined;
          if (!tooMany) {
            try {
              lost = await recover(messageOf(e));
            } catch (stopping) {
              if (failureKind(stopping) !== 'stop') throw stopping;
              finished('error', true, e, durationMs);
              return;
            }
          }
          const willRetry = !tooMany && lost === undefined && failures <= retries.maxTrialRetries;
          finished('error', willRetry, e, durationMs);
          if (tooMany) {
            quarantine(`it failed ${slot.consecutiveFailures} times in a row (last: ${messageOf(e)})`);
            return;
          }
          if (lost !== undefined) {
            quarantine(lost);
            return;
          }
          if (!willRetry) break;
        }
      }
    }
    slot.setState('ready', 'queue done');
  };

  await Promise.all(o.slots.map((s) => worker(s)));
  return { stopped: o.stop.aborted, quarantined };
}

function pairOf(trial: Trial): string {
  return `${trial.variant.id}@${trial.board}`;
}

function fmtUs(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(3)} ms` : `${us.toFixed(1)} us`;
}

function fmtSigned(pct: number): string {
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}`;
}

export { fmtSeconds };
