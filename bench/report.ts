/**
 * npm run bench:report - the reporting path at scale (issue 5): 1,000,000 latency samples in 50
 * trials (10 variants x 5 simulated boards, 20,000 inferences each) journalled, then read back,
 * summarised and reported as `hil report` does: results, comparisons, gates against a baseline run
 * of the same size, the history store, results.json, junit.xml, summary.md and report.html.
 * Prints the time of each step (aim: under 10 s in all), the HTML size (aim: under 3 MB) and the
 * time Chromium takes to open the report until every chart is drawn (aim: under 2 s).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { finishRun } from '../harness/report/finish.js';
import { readJournal } from '../harness/report/journal.js';
import { HistoryStore } from '../harness/store/store.js';
import { syntheticRun, toJournal, type SyntheticRunOptions } from '../harness/report/testing/synthetic-run.js';
import { launchChromium } from '../test/browser.js';

const SAMPLES_PER_TRIAL = 20_000;
const NIGHT: SyntheticRunOptions = {
  boards: 5,
  rounds: 1,
  samples: SAMPLES_PER_TRIAL,
  batch: 1000,
  firmware: ['reference', 'esp-nn'],
  models: ['cnn-int8'],
  arenas: [49152, 65536, 81920, 98304, 131072].map((size) => ({ size, placement: 'internal' as const })),
  hostile: false,
};

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const fmtMs = (x: number): string => `${x.toFixed(0).padStart(6)} ms`;

const dir = mkdtempSync(path.join(tmpdir(), 'hil-bench-report-'));
try {
  const reports = path.join(dir, 'reports');
  process.stdout.write('generating two journals of 1,000,000 samples each (not timed)...\n');
  for (const [id, seed] of [['bench-baseline', 1], ['bench-run', 2]] as const) {
    const run = syntheticRun({ ...NIGHT, runId: id, seed, startTs: Date.UTC(2025, 0, seed, 2) });
    mkdirSync(path.join(reports, id), { recursive: true });
    writeFileSync(path.join(reports, id, 'events.jsonl'), toJournal(run.events));
  }
  const scenario = { ...syntheticRun({ ...NIGHT, samples: 1 }).scenario, baseline: 'bench-baseline' };
  const journalFile = path.join(reports, 'bench-run', 'events.jsonl');
  const store = HistoryStore.open(path.join(reports, 'history.sqlite'));

  const tAll = process.hrtime.bigint();
  let t = process.hrtime.bigint();
  const journal = readJournal(journalFile);
  const readMs = ms(t);
  const samples = journal.events.reduce((n, e) => n + (e.type === 'trial.samples' && e.phase === 'measure' ? e.latencyUs.length : 0), 0);
  const trials = journal.events.filter((e) => e.type === 'trial.finished').length;
  t = process.hrtime.bigint();
  const result = await finishRun(path.join(reports, 'bench-run'), journal.events, { scenario, store, reportsDir: reports });
  const finishMs = ms(t);
  const totalMs = ms(tAll);
  store.close();
  const html = result.files.find((f) => f.endsWith('.html'))!;
  const sizes = Object.fromEntries(result.files.map((f) => [path.basename(f), statSync(f).size]));

  const browser = await launchChromium();
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1300, height: 1000 });
  t = process.hrtime.bigint();
  await page.goto(pathToFileURL(html).href);
  await page.waitForFunction(() => document.documentElement.hasAttribute('data-charts'));
  const openMs = ms(t);
  const drawn = await page.evaluate(() => (window as unknown as { hilReport: { charts: number; drawn: number } }).hilReport);
  await browser.close();

  const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(2)} MB`;
  process.stdout.write([
    `samples: ${samples.toLocaleString('en-US')} in ${trials} trials (${result.results.variants.length} variants x ${result.results.run.plan.boards.length} boards), baseline run of the same size`,
    `read the journal (${mb(statSync(journalFile).size)})${fmtMs(readMs)}`,
    `results + baseline (its journal read and summarised too) + gates + store + 4 reports${fmtMs(finishMs)}`,
    `total${fmtMs(totalMs)}   (aim < 10000 ms)`,
    `report.html ${mb(sizes['report.html'])}   (aim < 3 MB); results.json ${mb(sizes['results.json'])}, junit.xml ${mb(sizes['junit.xml'])}, summary.md ${mb(sizes['summary.md'])}`,
    `Chromium: open report.html until all ${drawn.drawn}/${drawn.charts} charts are drawn${fmtMs(openMs)}   (aim < 2000 ms)`,
    `gates: ${result.results.gates.passed} passed, ${result.results.gates.failed} failed; exit ${result.exitCode}`,
  ].join('\n') + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
