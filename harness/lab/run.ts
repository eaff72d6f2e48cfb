/**
 * A whole run, from files to reports: what `hil run` and `npm start` call.
 *
 *   rigs.json + scenario -> config (errors before anything starts: exit 2)
 *   -> plan (or the journaled plan, on --resume) -> models prepared (host reference outputs)
 *   -> journal (new, or reopened) -> run.started / run.resumed
 *   -> the fleet (simulated boards started in-process when the rigs have them) -> scheduler
 *   -> run.finished (completed / interrupted / failed) -> finishRun: results, store, reports, exit code.
 *
 * Every event goes to the journal first (appended as it happens) and then to the reporters, so
 * what the console shows is always already on disk. A stop request (SIGINT, SIGTERM) abandons the
 * boards' current steps, journals `run.finished` 'interrupted' and still writes a valid partial
 * report; a second Ctrl-C quits at once (the journal is consistent at every line).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFirmwareVariants, loadRigs, loadScenario, selectBoards, type Rigs, type Scenario, type SelectedBoard } from '../config/index.js';
import { ExitCode, LabError } from '../errors.js';
import { ConsoleReporter, type ConsoleOutput } from '../report/console.js';
import { fileReporters, finishRun, type FinishResult } from '../report/finish.js';
import { ReporterMux } from '../report/reporter.js';
import { HistoryStore } from '../store/store.js';
import { planArena } from '../tflite/planner.js';
import { readModelFile } from '../tflite/reader.js';
import type { LabBoard } from './board.js';
import { loadCanaryModel, type CanaryHistory } from './canary.js';
import { JOURNAL_VERSION, type LabEvent, type NewLabEvent, type RunStartedEvent } from './events.js';
import { messageOf } from './failures.js';
import { JournalWriter, journalProgress, newRunId, type JournalProgress } from './journal.js';
import { prepareModels } from './models.js';
import { capabilitiesOf, skippedLines } from './capabilities.js';
import { planRun, type Plan } from './plan.js';
import { provenanceOf, provenanceSet } from './provenance.js';
import { runSchedule } from './scheduler.js';
import { BoardSlot } from './slot.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The boards of a run, however they are reached; `close` releases links and stops what it started. */
export interface FleetHandle {
  boards: Map<string, LabBoard>;
  close(): Promise<void>;
  /** Lines worth showing before the run (e.g. where the simulated boards are). */
  notes?: string[];
}

export interface OpenFleetArgs {
  rigs: Rigs;
  selected: readonly SelectedBoard[];
  /** 'auto': start simulated boards in-process when the rigs have them; 'off': they run elsewhere (hil sim). */
  sim: 'auto' | 'off';
  /** Simulated time per real time (smaller = faster; latencies reported are unaffected). */
  timeScale?: number;
  /**
   * An emulated board with an erased flash (never flashed) cannot run anything: 'refuse' (a run)
   * fails with the command that flashes it; 'allow' (hil flash) starts it anyway.
   */
  blankEmulated?: 'refuse' | 'allow';
}

export type OpenFleet = (args: OpenFleetArgs) => Promise<FleetHandle>;

export interface RunOptions {
  /** The scenario file; optional with `resume` (the journal names it). */
  scenarioFile?: string;
  rigsFile: string;
  reportsDir: string;
  /** Run id to carry on. */
  resume?: string;
  sim?: 'auto' | 'off';
  timeScale?: number;
  profile?: boolean;
  /** Where the console reporter writes (default process.stdout); null: no console output. */
  stdout?: ConsoleOutput | null;
  /** Install SIGINT/SIGTERM handlers for the run (default true). */
  handleSignals?: boolean;
  /** Stops the run when aborted (tests; signals use it too). */
  stop?: AbortSignal;
  /** How boards are reached (default: harness/lab/fleet.ts). */
  openFleet: OpenFleet;
  firmwareDir?: string;
  /** History store file (default <reportsDir>/history.sqlite); false: none. */
  store?: string | false;
  /** Run id for a new run (tests); default newRunId(). */
  runId?: string;
}

export interface RunOutcome extends FinishResult {
  runId: string;
  runDir: string;
  status: 'completed' | 'interrupted' | 'failed';
  events: LabEvent[];
}

function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function gitCommit(cwd: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

function labVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Loads the scenario with the firmware variants and the arena planner (for "auto" arenas). */
export function loadRunScenario(file: string, firmwareDir: string): Scenario {
  const variantsDir = path.join(firmwareDir, 'variants');
  const firmwareVariants = existsSync(variantsDir) ? loadFirmwareVariants(variantsDir) : undefined;
  return loadScenario(file, {
    ...(firmwareVariants ? { firmwareVariants } : {}),
    estimateArena: (f) => planArena(readModelFile(f), { pointerSize: 4 }).totalBytes,
  });
}

interface Prepared {
  scenario: Scenario;
  rigs: Rigs;
  selected: SelectedBoard[];
  plan: Plan;
  runId: string;
  runDir: string;
  /** Reopened for a resume; a new run's journal is created once its boards are reachable. */
  journal?: JournalWriter;
  prior: LabEvent[];
  progress: JournalProgress;
  started?: RunStartedEvent;
}

function prepareNew(o: RunOptions, firmwareDir: string): Prepared {
  if (!o.scenarioFile) throw new LabError('usage', 'hil run needs a scenario file (e.g. hil run scenarios/demo.json), or --resume <run-id>');
  const rigs = loadRigs(o.rigsFile);
  const scenario = loadRunScenario(o.scenarioFile, firmwareDir);
  const selected = selectBoards(scenario, rigs);
  const plan = planRun(scenario, selected.map((s) => s.board.id), { capabilities: capabilitiesOf(selected.map((s) => s.board)) });
  const runId = o.runId ?? newRunId(scenario.name);
  const runDir = path.resolve(o.reportsDir, runId);
  if (existsSync(path.join(runDir, 'events.jsonl'))) throw new LabError('journal', `run ${runId} already exists under ${o.reportsDir} (resume it with --resume ${runId})`);
  return { scenario, rigs, selected, plan, runId, runDir, prior: [], progress: journalProgress([]) };
}

function prepareResume(o: RunOptions, firmwareDir: string, runId: string): Prepared {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId)) throw new LabError('usage', `"${runId}" is not a run id (the name of a directory under ${o.reportsDir})`);
  const runDir = path.resolve(o.reportsDir, runId);
  const { writer, journal } = JournalWriter.resume(runDir);
  try {
    const started = journal.events.find((e): e is RunStartedEvent => e.type === 'run.started');
    if (!started) throw new LabError('journal', `${journal.file}: has no run.started event, so there is no plan to resume (start a new run)`);
    const last = [...journal.events].reverse().find((e) => e.type === 'run.finished');
    if (last?.type === 'run.finished' && last.status === 'completed') {
      throw new LabError('usage', `run ${runId} completed: there is nothing to resume (rebuild its reports with hil report ${runId})`);
    }
    const scenarioFile = o.scenarioFile ?? started.scenario.file;
    if (!existsSync(scenarioFile)) {
      throw new LabError('usage', `run ${runId} was started with ${started.scenario.file}, which is not there now (give the scenario: hil run <scenario> --resume ${runId})`);
    }
    if (sha256File(scenarioFile) !== started.scenario.sha256) {
      throw new LabError('usage', `${scenarioFile} changed since run ${runId} started (its sha256 differs): resuming would mix two scenarios in one run (restore the file, or start a new run)`);
    }
    const rigs = loadRigs(o.rigsFile);
    const scenario = loadRunScenario(scenarioFile, firmwareDir);
    const plan = started.plan;
    const all = selectBoards({ ...scenario, boards: { tags: [], ids: plan.boards } }, rigs);
    const selected = plan.boards.map((id) => all.find((s) => s.board.id === id)!);
    return { scenario, rigs, selected, plan, runId, runDir, journal: writer, prior: journal.events, progress: journalProgress(journal.events), started };
  } catch (e) {
    writer.close();
    throw e;
  }
}

/** Runs a scenario (or resumes a run) to the end and writes its reports. */
export async function runLab(o: RunOptions): Promise<RunOutcome> {
  const firmwareDir = o.firmwareDir ?? path.join(repoRoot, 'firmware');
  const p = o.resume ? prepareResume(o, firmwareDir, o.resume) : prepareNew(o, firmwareDir);
  const { scenario, rigs, selected, plan, runId, runDir, progress } = p;

  // Models (host reference outputs) and the fleet come before anything is journaled: a model that
  // cannot be read or a board that cannot be reached by config is a config error, not a run.
  let fleet: FleetHandle | undefined;
  let journal: JournalWriter;
  let models: ReturnType<typeof prepareModels>;
  try {
    models = prepareModels(scenario);
    fleet = await o.openFleet({ rigs, selected, sim: o.sim ?? 'auto', ...(o.timeScale !== undefined ? { timeScale: o.timeScale } : {}) });
    for (const s of selected) if (!fleet.boards.has(s.board.id)) throw new Error(`openFleet returned no board for ${s.board.id}`);
    journal = p.journal ?? JournalWriter.create(runDir);
  } catch (e) {
    p.journal?.close();
    await fleet?.close().catch(() => undefined);
    throw e;
  }

  const stdout = o.stdout === undefined ? process.stdout : o.stdout;
  const consoleReporter = stdout ? new ConsoleReporter({ stream: stdout }) : undefined;
  const mux = new ReporterMux([...fileReporters(), ...(consoleReporter ? [consoleReporter] : [])]);
  const events: LabEvent[] = [...p.prior];
  // The live display of a resumed run starts from its plan; run.resumed then counts the finished trials.
  if (consoleReporter && p.started) consoleReporter.onEvent(p.started);
  const emit = (e: NewLabEvent): void => {
    const stamped = journal.append(e);
    events.push(stamped);
    mux.onEvent(stamped);
  };

  const stop = new AbortController();
  if (o.stop) {
    if (o.stop.aborted) stop.abort();
    else o.stop.addEventListener('abort', () => stop.abort(), { once: true });
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`\nhil: ${sig} again: quitting now (the journal is intact: hil run --resume ${runId})\n`);
      process.exit(130);
    }
    process.stderr.write(`\nhil: ${sig}: stopping - the current steps are abandoned, the partial report is written (Ctrl-C again to quit at once)\n`);
    stop.abort();
  };
  const handleSignals = o.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  for (const note of fleet.notes ?? []) stdout?.write(`${note}\n`);
  for (const line of skippedLines(p.plan.skipped)) stdout?.write(`${line}\n`);
  let store: HistoryStore | undefined;
  let status: RunOutcome['status'] = 'completed';
  let failure: unknown;
  try {
    if (p.started) {
      emit({ type: 'run.resumed', runId, finishedTrials: [...progress.finished].sort() });
    } else {
      const commit = gitCommit(process.cwd());
      emit({
        type: 'run.started', journalVersion: JOURNAL_VERSION, runId,
        scenario: { name: scenario.name, file: scenario.label, sha256: sha256File(scenario.file) },
        rigs: { file: rigs.label, sha256: sha256File(rigs.file) },
        plan,
        ...(commit ? { gitCommit: commit } : {}),
        host: { hostname: os.hostname(), platform: `${process.platform}-${process.arch}`, node: process.version, labVersion: labVersion() },
        simulated: selected.some((s) => s.board.simulated !== undefined),
        provenances: provenanceSet(selected.map((s) => provenanceOf(s.board, undefined))),
        gates: scenario.gates,
        baseline: scenario.baseline,
      });
    }

    if (o.store !== false) {
      try {
        store = HistoryStore.open(o.store ?? path.join(o.reportsDir, 'history.sqlite'));
      } catch (e) {
        process.stderr.write(`hil: no run history, so no canary comparison: ${messageOf(e)}\n`);
      }
    }
    const history: CanaryHistory = (board, key, provenance) => store?.canaryMedians(board, key, provenance) ?? [];

    const slots = selected.map((s) => new BoardSlot(fleet.boards.get(s.board.id)!, s.board, emit));
    const outcome = await runSchedule({
      scenario, plan, slots, models, firmwareDir, emit, stop: stop.signal, progress,
      canary: { model: loadCanaryModel(), history }, profile: o.profile ?? false,
    });
    if (outcome.stopped) status = 'interrupted';
  } catch (e) {
    status = 'failed';
    failure = e;
  } finally {
    if (handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  // Links and simulated boards go away within a bounded time, whatever state they are in.
  await Promise.race([fleet.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
  const error = failure === undefined ? undefined : { code: (failure as { code?: string }).code ?? 'internal', message: messageOf(failure) };
  emit({ type: 'run.finished', runId, status, ...(error ? { error } : {}) });
  journal.close();

  let finished: FinishResult;
  try {
    finished = await finishRun(runDir, events, { scenario, mux, reportsDir: path.resolve(o.reportsDir), store: store ?? false });
  } finally {
    store?.close();
  }
  // An internal bug keeps its stack: the run's reports are written, then it surfaces.
  if (failure !== undefined && !(failure instanceof LabError)) throw failure;
  return { ...finished, exitCode: status === 'failed' ? ExitCode.LabError : finished.exitCode, runId, runDir, status, events };
}
