/**
 * The end of a run, in one call: results from the events, the baseline and the trend from the
 * history store, the run recorded in the store (one transaction), every report written, and the
 * exit code. `hil run` calls `finishRun` when the scheduler is done (also after Ctrl-C: the
 * partial report is still written); `hil report` calls it on a journal replayed from disk.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Scenario } from '../config/types.js';
import { ExitCode, isLabError } from '../errors.js';
import type { LabEvent, RunStartedEvent } from '../lab/events.js';
import { recordedProvenances } from '../lab/provenance.js';
import { HistoryStore } from '../store/store.js';
import { ConsoleReporter } from './console.js';
import { HtmlReporter } from './html.js';
import { JOURNAL_FILE, readJournal } from './journal.js';
import { JsonReporter } from './json.js';
import { JunitReporter } from './junit.js';
import { MarkdownReporter } from './markdown.js';
import { ReporterMux, type Reporter, type ReporterFailure } from './reporter.js';
import { buildRunResults, type BuildOptions } from './results.js';
import type { RunResults } from './results-types.js';

/** How many earlier runs the trend shows. */
export const TREND_RUNS = 30;

/** The file reporters every run gets: results.json, junit.xml, summary.md, report.html. */
export function fileReporters(): Reporter[] {
  return [new JsonReporter(), new JunitReporter(), new MarkdownReporter(), new HtmlReporter()];
}

export interface FinishOptions {
  /** The scenario (its gates and baseline policy); without it no gate is evaluated. */
  scenario?: Pick<Scenario, 'name' | 'gates' | 'baseline'>;
  /** The history store, or its file (default <reports dir>/history.sqlite); false: no store. */
  store?: HistoryStore | string | false;
  /**
   * Reporters that saw the events live (the scheduler's multiplexer); their onEnd is called here.
   * Default: a multiplexer of the file reporters (and `console` when given).
   */
  mux?: ReporterMux;
  /** Added to the default reporters (e.g. a ConsoleReporter). */
  console?: ConsoleReporter;
  /** Where other runs' journals are (default: the run directory's parent, i.e. reports/). */
  reportsDir?: string;
  /** The run's journal path to record in the store (default <runDir>/events.jsonl). */
  journalPath?: string;
  /** Warnings to show with the results (e.g. from reading the journal). */
  warnings?: string[];
  /** Significance of the comparison tables (default 0.05). */
  alpha?: number;
}

export interface FinishResult {
  results: RunResults;
  exitCode: number;
  files: string[];
  failures: ReporterFailure[];
}

interface BaselineChoice {
  baseline?: RunResults;
  noBaselineReason?: string;
  baselineError?: string;
}

/** Builds the baseline run named by the scenario's policy (its own journal, replayed). */
export function resolveBaseline(
  policy: string,
  scenario: string,
  runId: string,
  store: HistoryStore | undefined,
  reportsDir: string,
  alpha?: number,
): BaselineChoice {
  if (policy === 'none') return { noBaselineReason: 'the scenario sets "baseline": "none"' };
  let id = policy;
  if (policy === 'last-baseline') {
    const b = store?.baseline(scenario);
    if (!b) return { noBaselineReason: `no baseline is set for scenario ${scenario} (set one with hil baseline set <run-id>)` };
    id = b.runId;
  }
  if (id === runId) return { noBaselineReason: `this run is the baseline of scenario ${scenario}` };
  // The store keeps the journal path as the run wrote it; the run's directory under reportsDir is the fallback.
  const candidates = [store?.getRun(id)?.journalPath, path.join(reportsDir, id, JOURNAL_FILE)].filter((f): f is string => f !== undefined);
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    return { baselineError: `the baseline run ${id}'s journal ${candidates[0]} is missing (restore it, or set another baseline with hil baseline set <run-id>)` };
  }
  try {
    const j = readJournal(file);
    return { baseline: buildRunResults(j.events, { ...(alpha !== undefined ? { alpha } : {}) }) };
  } catch (e) {
    if (isLabError(e)) return { baselineError: `the baseline run ${id} cannot be read: ${e.message}` };
    throw e;
  }
}

export async function finishRun(runDir: string, events: readonly LabEvent[], options: FinishOptions = {}): Promise<FinishResult> {
  const reportsDir = options.reportsDir ?? path.dirname(path.resolve(runDir));
  const started = events.find((e): e is RunStartedEvent => e.type === 'run.started');
  let store: HistoryStore | undefined;
  let ownStore = false;
  const warnings = [...(options.warnings ?? [])];
  if (options.store instanceof HistoryStore) store = options.store;
  else if (options.store !== false) {
    try {
      store = HistoryStore.open(options.store ?? path.join(reportsDir, 'history.sqlite'));
      ownStore = true;
    } catch (e) {
      if (!isLabError(e)) throw e;
      warnings.push(`no run history: ${e.message}`);
    }
  }
  try {
    const build: BuildOptions = { gates: options.scenario?.gates ?? [] };
    if (options.alpha !== undefined) build.alpha = options.alpha;
    if (started) {
      // Without the scenario, the comparison with the scenario's baseline is still shown (no gates).
      const choice = resolveBaseline(options.scenario?.baseline ?? 'last-baseline', started.scenario.name, started.runId, store, reportsDir, options.alpha);
      if (choice.baseline) build.baseline = choice.baseline;
      if (choice.noBaselineReason) build.noBaselineReason = choice.noBaselineReason;
      if (choice.baselineError) build.baselineError = choice.baselineError;
    }
    if (started && store) {
      // A run of one provenance class trends against earlier runs of that class only; a run of
      // several keeps today's filter, and each variant's trend still joins only points of its own
      // provenance (buildRunResults).
      const classes = recordedProvenances(started);
      build.history = {
        metric: 'latency.median',
        points: store.metricHistory(started.scenario.name, {
          limit: TREND_RUNS, before: new Date(started.ts).toISOString(), excludeRun: started.runId, simulated: started.simulated,
          ...(classes.length === 1 ? { provenance: classes[0] } : {}),
        }),
      };
    }
    const results = buildRunResults(events, build);
    results.warnings.push(...warnings);
    if (store) {
      try {
        store.recordRun(results, { journalPath: options.journalPath ?? path.join(runDir, JOURNAL_FILE) });
      } catch (e) {
        results.warnings.push(`the run could not be recorded in the history ${store.file}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const mux = options.mux ?? new ReporterMux([...fileReporters(), ...(options.console ? [options.console] : [])]);
    const { files, failures } = await mux.onEnd(results, runDir);
    let exitCode = results.exitCode;
    if (failures.length > 0 && exitCode !== ExitCode.LabError) exitCode = ExitCode.LabError;
    return { results, exitCode, files, failures };
  } finally {
    if (ownStore) store?.close();
  }
}
