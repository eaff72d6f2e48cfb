/**
 * `hil run <scenario> [--rigs rigs.json] [--resume <run-id>] [--reports-dir reports] [--no-sim]
 * [--time-scale x] [--profile] [--json]`: run a scenario on the fleet of rigs.json and write its
 * reports under reports/<run-id>/. With simulated boards in the rigs, they are started in-process
 * (PTYs and the embedded MQTT broker) unless --no-sim says they run elsewhere (`hil sim`).
 *
 * Live progress on a TTY (boards x trials, ETA), plain lines otherwise; at the end the summary
 * table and the path of the HTML report. Exit code 0: all gates pass, 1: a regression gate failed,
 * 2: a lab or config error (also an interrupted or resumed-but-unfinished run).
 */
import type { Command } from 'commander';
import { LabError } from '../errors.js';
import { openFleet } from '../lab/fleet.js';
import { runLab } from '../lab/run.js';
import { resultsDocument, toJson } from '../report/json.js';

interface RunCliOptions {
  rigs: string;
  resume?: string;
  reportsDir: string;
  /** Commander sets false for --no-sim; true or undefined otherwise. */
  sim?: boolean;
  timeScale?: string;
  profile?: boolean;
  json?: boolean;
}

function parseTimeScale(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const x = Number(text);
  if (!(x > 0) || !Number.isFinite(x) || x > 1000) {
    throw new LabError('usage', `--time-scale ${text}: give a positive number (1 = real time, 0.05 = simulated boards run 20x faster)`);
  }
  return x;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a scenario on the fleet and write its reports (reports/<run-id>/)')
    .argument('[scenario]', 'scenario file, e.g. scenarios/demo.json (optional with --resume)')
    .option('--rigs <file>', 'rigs file', 'rigs.json')
    .option('--resume <run-id>', 'carry on an interrupted run: finished trials are kept, the rest run')
    .option('--reports-dir <dir>', 'where runs write their reports', 'reports')
    .option('--sim', 'start the simulated boards of the rigs in-process (the default when the rigs have any)')
    .option('--no-sim', 'the simulated boards run elsewhere (hil sim): only connect to them')
    .option('--time-scale <x>', 'simulated time per real time for in-process simulated boards (1 = real time; reported latencies do not change)')
    .option('--profile', 'record a per-op profile of each variant on each board')
    .option('--json', 'no progress display: print results.json to stdout at the end')
    .action(async (scenario: string | undefined, opts: RunCliOptions) => {
      const timeScale = parseTimeScale(opts.timeScale);
      const outcome = await runLab({
        ...(scenario !== undefined ? { scenarioFile: scenario } : {}),
        rigsFile: opts.rigs,
        reportsDir: opts.reportsDir,
        ...(opts.resume !== undefined ? { resume: opts.resume } : {}),
        sim: opts.sim === false ? 'off' : 'auto',
        ...(timeScale !== undefined ? { timeScale } : {}),
        profile: opts.profile ?? false,
        stdout: opts.json ? null : process.stdout,
        openFleet,
      });
      if (opts.json) process.stdout.write(`${toJson(resultsDocument(outcome.results))}\n`);
      process.exitCode = outcome.exitCode;
    });
}
