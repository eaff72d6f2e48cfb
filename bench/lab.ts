/**
 * npm run bench:lab [-- --time-scale 1] - the lab's own efficiency on the simulated fleet:
 *
 * 1. **Duty cycle**: the fraction of board time spent inside Invoke(), on the demo scenario
 *    (scenarios/demo.json) with every board on a 921600-baud PTY link. Per board, board time is
 *    the span from its first trial.started to its last trial.finished (uploads, firmware switches,
 *    round trips, accuracy passes and the harness's own work all count against it); time inside
 *    Invoke() is trial.finished `invokeMs` (warm-up + measured cycle counts) plus
 *    `accuracyInvokeMs` (the accuracy pass), converted to wall time by the time scale. Aim: >= 90%.
 * 2. **Speed-up from 1 to 4 boards**: the same scenario on one board and on four; each board runs
 *    every variant, so four boards do four times the trials: speed-up = (trials/s with 4 boards) /
 *    (trials/s with 1). Aim: >= 3.5x.
 *
 * The simulated boards run in this process with their board clock at --time-scale (1 = real
 * time, the default: latencies and link speed are then both real). A smaller scale makes boards
 * faster than real ones while the link keeps its real speed, so the duty cycle it reports is the
 * (lower) one of a faster board on the same link.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabEvent } from '../harness/lab/events.js';
import { openFleet } from '../harness/lab/fleet.js';
import { runLab } from '../harness/lab/run.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const timeScale = Number(arg('--time-scale', '1'));
const scenarioFile = path.resolve(repo, arg('--scenario', 'scenarios/demo.json'));
const BAUD = 921600;

function rigsWith(count: number, dir: string): string {
  const file = path.join(dir, `rigs-${count}.json`);
  writeFileSync(file, JSON.stringify({
    mqtt: { url: 'embedded' },
    boards: Array.from({ length: count }, (_, i) => ({
      id: `sim-${i + 1}`, chip: 'esp32s3', transport: { serial: { baud: BAUD } }, tags: ['sim'],
      simulated: { profile: 'esp32s3-devkitc-1-n16r8', seed: i + 1 },
    })),
  }));
  return file;
}

interface BoardUse { board: string; trials: number; wallMs: number; invokeMs: number }

function boardUse(events: readonly LabEvent[]): BoardUse[] {
  const by = new Map<string, { first?: number; last?: number; trials: number; invokeMs: number }>();
  for (const e of events) {
    if (e.type === 'trial.started') {
      const b = by.get(e.board) ?? { trials: 0, invokeMs: 0 };
      b.first ??= e.ts;
      by.set(e.board, b);
    } else if (e.type === 'trial.finished') {
      const b = by.get(e.board)!;
      b.last = e.ts;
      b.invokeMs += (e.invokeMs + (e.accuracyInvokeMs ?? 0)) * timeScale;
      if (!e.willRetry) b.trials++;
    }
  }
  return [...by].map(([board, b]) => ({ board, trials: b.trials, wallMs: (b.last ?? 0) - (b.first ?? 0), invokeMs: b.invokeMs }));
}

async function runOn(boards: number, dir: string): Promise<{ events: LabEvent[]; seconds: number; trials: number }> {
  const t0 = performance.now();
  const r = await runLab({
    scenarioFile, rigsFile: rigsWith(boards, dir), reportsDir: path.join(dir, `reports-${boards}`), sim: 'auto', timeScale,
    openFleet, stdout: null, handleSignals: true, store: false,
  });
  if (r.status !== 'completed') throw new Error(`the ${boards}-board run ended ${r.status}: ${r.results.exitReason}`);
  const started = r.events.find((e) => e.type === 'trial.started')!.ts;
  const ended = r.events.filter((e) => e.type === 'trial.finished').at(-1)!.ts;
  const trials = r.events.filter((e) => e.type === 'trial.finished' && !e.willRetry && e.status === 'passed').length;
  process.stdout.write(`  ${boards} board${boards > 1 ? 's' : ''}: ${trials} trials in ${((ended - started) / 1000).toFixed(1)} s of trials (${((performance.now() - t0) / 1000).toFixed(1)} s in all)\n`);
  return { events: r.events, seconds: (ended - started) / 1000, trials };
}

const dir = mkdtempSync(path.join(tmpdir(), 'hil-bench-lab-'));
try {
  process.stdout.write(`bench:lab - ${path.relative(repo, scenarioFile)} on simulated ESP32-S3 boards, PTY links at ${BAUD} baud, time scale ${timeScale}\n`);
  const four = await runOn(4, dir);
  const one = await runOn(1, dir);

  process.stdout.write('\nduty cycle (board time inside Invoke() / board time in trials):\n');
  let inside = 0;
  let wall = 0;
  for (const b of boardUse(four.events)) {
    inside += b.invokeMs;
    wall += b.wallMs;
    process.stdout.write(`  ${b.board}: ${(b.invokeMs / 1000).toFixed(1)} s of ${(b.wallMs / 1000).toFixed(1)} s = ${((b.invokeMs / b.wallMs) * 100).toFixed(1)} %\n`);
  }
  const duty = inside / wall;
  process.stdout.write(`  all boards: ${(duty * 100).toFixed(1)} % (aim >= 90 %) ${duty >= 0.9 ? 'OK' : 'BELOW AIM'}\n`);

  const speedup = (four.trials / four.seconds) / (one.trials / one.seconds);
  process.stdout.write(`\nspeed-up 1 -> 4 boards: ${(one.trials / one.seconds).toFixed(3)} -> ${(four.trials / four.seconds).toFixed(3)} trials/s = ${speedup.toFixed(2)}x (aim >= 3.5x) ${speedup >= 3.5 ? 'OK' : 'BELOW AIM'}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
