/**
 * The commands that read runs after the fact:
 *   hil report <run-id|path>      rebuild every report of a run from its journal (and record it in the history)
 *   hil compare <runA> <runB>     B against A (benchstat-like), compare-<A>-<B>.md/.html/.json, exit code by B's gates
 *   hil baseline set <run-id>     the run becomes its scenario's baseline
 *   hil baseline show [scenario]  the current baseline(s)
 *   hil history <scenario>        a metric's trend per variant with its change points
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadScenario } from '../config/index.js';
import type { Scenario } from '../config/types.js';
import { isLabError, LabError } from '../errors.js';
import type { RunStartedEvent } from '../lab/events.js';
import { ConsoleReporter } from '../report/console.js';
import { finishRun } from '../report/finish.js';
import {
  fmtB, fmtFraction, fmtP, fmtSignedPct, fmtUs, formatTable, GATE_MARK, provenanceBanners,
} from '../report/format.js';
import { reportHtml } from '../report/html.js';
import { locateJournal, readJournal } from '../report/journal.js';
import { resultsDocument, toJson } from '../report/json.js';
import { markdownSummary } from '../report/markdown.js';
import { buildRunResults } from '../report/results.js';
import type { RunResults } from '../report/results-types.js';
import { detectChangePoints } from '../stats/changepoint.js';
import { HistoryStore, STORE_METRICS } from '../store/store.js';

interface CommonOptions {
  reportsDir: string;
  store?: string;
}

const storeFile = (o: CommonOptions): string => o.store ?? path.join(o.reportsDir, 'history.sqlite');
const out = (text: string): void => { process.stdout.write(text.endsWith('\n') ? text : `${text}\n`); };
/** A path as the user would type it: relative when under the working directory. */
const shown = (f: string): string => {
  const rel = path.relative(process.cwd(), f);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : f;
};

/**
 * The scenario a run used, for its gates and baseline policy: `--scenario`, else the file named in
 * the journal. A missing or changed file is a warning, not an error: the report is still rebuilt.
 */
function scenarioFor(started: RunStartedEvent, explicit: string | undefined, warnings: string[]): Scenario | undefined {
  const file = explicit ?? started.scenario.file;
  if (!existsSync(file)) {
    if (explicit) throw new LabError('usage', `--scenario ${explicit}: no such file`);
    warnings.push(`the scenario file ${file} is not here, so no gate was evaluated (give it with --scenario <file>)`);
    return undefined;
  }
  if (!explicit) {
    const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    if (sha !== started.scenario.sha256) warnings.push(`${file} changed since the run (sha256 differs): its current gates were used`);
  }
  try {
    return loadScenario(file);
  } catch (e) {
    if (!isLabError(e)) throw e;
    warnings.push(`gates not evaluated: ${e.message}`);
    return undefined;
  }
}

function startedOf(events: readonly { type: string }[], file: string): RunStartedEvent {
  const s = events.find((e) => e.type === 'run.started') as RunStartedEvent | undefined;
  if (!s) throw new LabError('journal', `${file}: no run.started event: it is not the journal of a run`);
  return s;
}

async function reportCommand(ref: string, opts: CommonOptions & { scenario?: string; history: boolean }): Promise<number> {
  const { file, runDir } = locateJournal(ref, opts.reportsDir);
  const journal = readJournal(file);
  const started = startedOf(journal.events, file);
  const warnings = [...journal.warnings];
  const scenario = scenarioFor(started, opts.scenario, warnings);
  const result = await finishRun(runDir, journal.events, {
    ...(scenario ? { scenario } : {}),
    store: opts.history ? storeFile(opts) : false,
    reportsDir: opts.reportsDir,
    journalPath: shown(file),
    console: new ConsoleReporter({ progress: false }),
    warnings,
  });
  out(`wrote ${result.files.map(shown).join(', ')}`);
  return result.exitCode;
}

/** benchstat's layout: one row per variant, old and new medians with their interval, the change and p. */
export function compareTable(r: RunResults): string {
  const base = r.baseline;
  if (!base) return '';
  const byCandidate = new Map(base.comparisons.map((c) => [c.candidate, c]));
  const rows: string[][] = [['VARIANT', base.runId, r.run.id, 'DELTA', '95% CI', 'P (HOLM)']];
  for (const v of r.variants) {
    const c = byCandidate.get(v.id);
    rows.push([
      v.id,
      c ? fmtUs(c.baselineMedian) : '-',
      fmtUs(v.latency?.median),
      !c ? 'new' : !c.comparable ? 'refused' : c.significant ? fmtSignedPct(c.changePct) : '~',
      c?.comparable && Number.isFinite(c.lower) ? `${fmtSignedPct((c.lower - 1) * 100)} to ${fmtSignedPct((c.upper - 1) * 100)}` : '-',
      c?.comparable ? fmtP(c.pHolm) : (c?.refusedReason ?? '-'),
    ]);
  }
  for (const id of base.missingVariants) rows.push([id, 'measured', 'not run', '-', '-', '-']);
  return formatTable(rows, new Set([1, 2, 3]));
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function compareCommand(refA: string, refB: string, opts: CommonOptions & { scenario?: string }): Promise<number> {
  const a = locateJournal(refA, opts.reportsDir);
  const b = locateJournal(refB, opts.reportsDir);
  const ja = readJournal(a.file);
  const jb = readJournal(b.file);
  const startedA = startedOf(ja.events, a.file);
  const startedB = startedOf(jb.events, b.file);
  const warnings = [...ja.warnings, ...jb.warnings];
  if (startedA.runId === startedB.runId) throw new LabError('usage', `hil compare: both arguments are run ${startedA.runId} (give two different runs)`);
  if (startedA.scenario.name !== startedB.scenario.name) warnings.push(`the runs are of different scenarios (${startedA.scenario.name}, ${startedB.scenario.name}): only variants with the same id are compared`);
  const scenario = scenarioFor(startedB, opts.scenario, warnings);
  const baseline = buildRunResults(ja.events);
  const results = buildRunResults(jb.events, {
    baseline,
    gates: scenario?.gates ?? [],
    noBaselineReason: 'no scenario: no gates',
  });
  results.warnings.push(...warnings);
  const lines: string[] = [];
  lines.push(...provenanceBanners(results.run, baseline.run));
  lines.push(`${startedB.runId} against ${startedA.runId} (median latency; "~": no significant change after Holm)`, '', compareTable(results), '');
  const g = results.gates;
  lines.push(`gates: ${g.passed} passed, ${g.failed} failed, ${g.errors} errors, ${g.skipped} skipped`);
  for (const v of g.results.filter((x) => x.status === 'fail' || x.status === 'error')) lines.push(`  ${GATE_MARK[v.status]} ${v.variant}: ${v.explanation}`);
  for (const w of results.warnings) lines.push(`warning: ${w}`);
  mkdirSync(opts.reportsDir, { recursive: true });
  const stem = path.join(opts.reportsDir, `compare-${safeName(startedA.runId)}-${safeName(startedB.runId)}`);
  writeFileSync(`${stem}.md`, markdownSummary(results));
  writeFileSync(`${stem}.html`, reportHtml(results, { title: `Comparison with ${startedA.runId}` }));
  writeFileSync(`${stem}.json`, `${toJson(resultsDocument(results))}\n`);
  lines.push('', `wrote ${[`${stem}.md`, `${stem}.html`, `${stem}.json`].map(shown).join(', ')}`);
  lines.push(`exit ${results.exitCode}: ${results.exitReason}`);
  out(lines.join('\n'));
  return results.exitCode;
}

function baselineSet(runId: string, opts: CommonOptions & { note?: string }): number {
  const store = HistoryStore.open(storeFile(opts));
  try {
    const b = store.setBaseline(runId, opts.note !== undefined ? { note: opts.note } : {});
    out(`baseline of scenario ${b.scenario} is now run ${b.runId} (started ${b.run?.startedAt ?? '?'}${b.run?.gitCommit ? `, commit ${b.run.gitCommit.slice(0, 12)}` : ''})`);
    return 0;
  } finally {
    store.close();
  }
}

function baselineShow(scenario: string | undefined, opts: CommonOptions): number {
  const store = HistoryStore.open(storeFile(opts));
  try {
    const list = scenario !== undefined ? [store.baseline(scenario)].filter((b) => b !== undefined) : store.baselines();
    if (list.length === 0) {
      out(scenario !== undefined ? `scenario ${scenario} has no baseline (set one with hil baseline set <run-id>)` : 'no baseline is set (hil baseline set <run-id>)');
      return 0;
    }
    const rows = [['SCENARIO', 'RUN', 'STARTED', 'COMMIT', 'SET', 'NOTE']];
    for (const b of list) {
      rows.push([b.scenario, b.runId, b.run?.startedAt ?? '(no longer in the history)', b.run?.gitCommit?.slice(0, 12) ?? '-', b.setAt, b.note ?? '']);
    }
    out(formatTable(rows));
    return 0;
  } finally {
    store.close();
  }
}

function historyCommand(scenario: string, opts: CommonOptions & { metric: string; variant?: string; limit: string }): number {
  if (!STORE_METRICS.includes(opts.metric)) throw new LabError('usage', `--metric ${opts.metric}: not a history metric (one of ${STORE_METRICS.join(', ')})`);
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new LabError('usage', `--limit ${opts.limit}: must be a whole number of runs >= 1`);
  const store = HistoryStore.open(storeFile(opts));
  try {
    const points = store.metricHistory(scenario, { metric: opts.metric, limit, ...(opts.variant !== undefined ? { variant: opts.variant } : {}) });
    if (points.length === 0) {
      const runs = store.listRuns({ scenario, limit: 1 });
      out(runs.length === 0 ? `no run of scenario ${scenario} in the history ${store.file}` : `no completed run of scenario ${scenario} measured ${opts.metric}${opts.variant ? ` for ${opts.variant}` : ''}`);
      return 0;
    }
    const show = (x: number): string => (opts.metric.startsWith('latency.') ? fmtUs(x) : opts.metric === 'accuracy.top1' ? fmtFraction(x) : fmtB(x));
    const lines = [`${opts.metric} of scenario ${scenario}, last ${new Set(points.map((p) => p.runId)).size} completed runs`];
    const variants = [...new Set(points.map((p) => p.variant))];
    for (const v of variants) {
      const series = points.filter((p) => p.variant === v);
      lines.push('', v);
      const rows = [['RUN', 'STARTED', 'VALUE', '95% CI']];
      for (const p of series) {
        const ci = p.lower !== undefined && p.upper !== undefined ? `${show(p.lower)} to ${show(p.upper)}` : '-';
        rows.push([p.runId, p.startedAt, show(p.value), ci]);
      }
      lines.push(formatTable(rows, new Set([2])).split('\n').map((l) => `  ${l}`).join('\n'));
      const cp = detectChangePoints(series.map((p) => ({ value: p.value, runId: p.runId, ...(p.lower !== undefined ? { lower: p.lower } : {}), ...(p.upper !== undefined ? { upper: p.upper } : {}) })), { seed: 1 });
      if (cp.changePoints.length === 0) lines.push(`  no change point${cp.warnings.length > 0 ? ` (${cp.warnings.join('; ')})` : ''}`);
      for (const c of cp.changePoints) {
        lines.push(`  change point at ${c.runId ?? c.index}: ${show(c.before)} -> ${show(c.after)} (${fmtSignedPct(c.changePct)}, ${fmtP(c.p)})`);
      }
    }
    out(lines.join('\n'));
    return 0;
  } finally {
    store.close();
  }
}

export function registerReport(program: Command): void {
  const dirs = (c: Command): Command => c
    .option('--reports-dir <dir>', 'where runs are (reports/<run-id>/events.jsonl)', 'reports')
    .option('--store <file>', 'the run history (default <reports-dir>/history.sqlite)');
  const setExit = (code: number): void => { process.exitCode = code; };

  dirs(program.command('report')
    .description('rebuild every report of a run (results.json, junit.xml, summary.md, report.html) from its journal')
    .argument('<run>', 'run id, run directory, or path of an events.jsonl')
    .option('--scenario <file>', 'scenario whose gates to evaluate (default: the file the run used)')
    .option('--no-history', 'do not read or record the run history'))
    .action(async (ref: string, opts: CommonOptions & { scenario?: string; history: boolean }) => setExit(await reportCommand(ref, opts)));

  dirs(program.command('compare')
    .description('compare run B against run A (benchstat-like) and write compare-<A>-<B>.md/.html/.json; exit code by B\'s gates')
    .argument('<runA>', 'the baseline run (id or path)')
    .argument('<runB>', 'the candidate run (id or path)')
    .option('--scenario <file>', 'scenario whose gates to evaluate (default: the file run B used)'))
    .action(async (a: string, b: string, opts: CommonOptions & { scenario?: string }) => setExit(await compareCommand(a, b, opts)));

  const baseline = program.command('baseline').description('the run each scenario\'s gates compare against');
  dirs(baseline.command('set')
    .description('make a recorded, completed run its scenario\'s baseline')
    .argument('<run-id>')
    .option('--note <text>', 'why (kept in the history)'))
    .action((runId: string, opts: CommonOptions & { note?: string }) => setExit(baselineSet(runId, opts)));
  dirs(baseline.command('show')
    .description('the current baseline of a scenario (or of every scenario)')
    .argument('[scenario]'))
    .action((scenario: string | undefined, opts: CommonOptions) => setExit(baselineShow(scenario, opts)));

  dirs(program.command('history')
    .description('a metric\'s values over the last runs of a scenario, per variant, with change points')
    .argument('<scenario>', 'scenario name')
    .option('--metric <metric>', `one of ${STORE_METRICS.join(', ')}`, 'latency.median')
    .option('--variant <id>', 'only this variant')
    .option('--limit <n>', 'how many runs', '30'))
    .action((scenario: string, opts: CommonOptions & { metric: string; variant?: string; limit: string }) => setExit(historyCommand(scenario, opts)));
}
