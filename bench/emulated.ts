/**
 * `npm run bench:emulated`: the lab firmware built with ESP-IDF and run on emulated boards (Espressif
 * QEMU with the chip's ROM). Needs ESP-IDF, the cross compiler and QEMU on PATH, and the component
 * sources (on this machine: `eval "$(../shared/esp-kit/install.sh)"`). Prints:
 *
 * 1. firmware build time per variant for QEMU: cold (a fresh copy of firmware/, no ccache), the second
 *    variant cold but with ccache warmed by the first (what `hil firmware build` does for a set of
 *    variants), and incremental (one source of the firmware touched);
 * 2. flash time through the real ROM loader at 115200 and 921600 baud: every region written (no MD5
 *    skip), the write time against the link's limit (bytes on the wire x 10 / baud), the whole session,
 *    and a re-flash where every region is skipped;
 * 3. QEMU's boot: process start to the firmware's HELLO on the lab's connection (median of 5);
 * 4. trials on an emulated board: a run of scenarios/demo-emulated.json on two emulated boards, the
 *    median trial time per variant, the emulated latency (instructions x 4 ns, QEMU -icount) against the
 *    simulated board's cost model.
 *
 * Usage: npm run bench:emulated [-- --skip-cold] [--variants reference,esp-nn]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBoardSession, emulatedBoardOptions } from '../harness/boards/index.js';
import type { BoardConfig } from '../harness/config/types.js';
import { EmulatedBoard } from '../harness/emu/board.js';
import { findQemu } from '../harness/emu/qemu.js';
import { loadFirmwareVariants } from '../harness/config/index.js';
import { buildFirmware, planBuild } from '../harness/firmware/build.js';
import { findIdf, idfEnv, type IdfRunner } from '../harness/firmware/idf.js';
import { flashBoard } from '../harness/flash/flasher.js';
import type { RunResults } from '../harness/report/results-types.js';
import { modelCost } from '../harness/sim/cost-model.js';
import { profileModel } from '../harness/tflite/profile.js';
import { readModel } from '../harness/tflite/reader.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const hilBin = path.join(repo, 'bin', 'hil.js');
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const variants = arg('variants', 'reference,esp-nn').split(',');
const skipCold = process.argv.includes('--skip-cold');
const dir = mkdtempSync(path.join(tmpdir(), 'hil-bench-emulated-'));
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timed(what: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [hilBin, ...args], { cwd: repo, env, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${(r.stdout + r.stderr).split('\n').slice(-20).join('\n')}`);
  return performance.now() - t0;
}

async function buildTimes(): Promise<void> {
  console.log('\n1. firmware build for QEMU (hil firmware build --for qemu), this machine');
  if (!skipCold) {
    // A fresh copy of the firmware sources: nothing built, no managed components, ccache off.
    const fw = path.join(dir, 'firmware');
    cpSync(path.join(repo, 'firmware'), fw, { recursive: true, filter: (src) => !/(^|[/\\])(build|managed_components)([/\\]|$)/.test(path.relative(path.join(repo, 'firmware'), src)) });
    const variant = loadFirmwareVariants(path.join(fw, 'variants')).find((v) => v.name === variants[0])!;
    const plan = planBuild(variant, { target: 'qemu', componentsDir: process.env.HIL_COMPONENTS_DIR, firmwareDir: fw });
    const idf = findIdf();
    const quiet: IdfRunner = (i, a) => new Promise((resolve, reject) => {
      const child = spawn(i.idfPy, [...a], { stdio: 'ignore', env: { ...idfEnv(i, fw), CCACHE_DISABLE: '1' } });
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? 1));
    });
    const t0 = performance.now();
    await buildFirmware(plan, idf, quiet);
    console.log(`  ${variants[0]!.padEnd(12)} cold (fresh copy of firmware/, no ccache)          ${s(performance.now() - t0)}`);
  }
  for (const v of variants) {
    const id = `${v}-qemu`;
    rmSync(path.join(repo, 'firmware', 'build', id), { recursive: true, force: true });
    const warm = timed(`build of ${id}`, ['firmware', 'build', '--for', 'qemu', '--variant', v]);
    console.log(`  ${v.padEnd(12)} fresh build directory, ccache as it is             ${s(warm)}`);
  }
  const source = path.join(repo, 'firmware', 'components', 'hil_core', 'src', 'command_handler.cpp');
  const now = new Date();
  utimesSync(source, now, now);
  const incremental = timed('incremental build', ['firmware', 'build', '--for', 'qemu', '--variant', variants[0]!]);
  console.log(`  ${variants[0]!.padEnd(12)} incremental (command_handler.cpp touched)         ${s(incremental)}`);
}

function emulatedBoard(id: string, buildId: string | undefined): { board: EmulatedBoard; config: BoardConfig } {
  const settings = { profile: 'esp32s3-devkitc-1-n8r8' as const, flashFile: path.join(dir, `${id}.flash.bin`) };
  if (buildId === undefined) rmSync(settings.flashFile, { force: true });
  const board = new EmulatedBoard({ id, settings, host: '127.0.0.1', port: 0, qemu: findQemu() });
  const config: BoardConfig = { id, chip: 'esp32s3', transport: { tcp: { host: '127.0.0.1', port: 0 } }, identity: {}, tags: [], emulated: settings };
  return { board, config };
}

async function flashTimes(): Promise<void> {
  console.log('\n2. flashing through the real ROM loader (esptool-js over TCP, stub, deflate), esp-nn-qemu image set');
  console.log('  baud      image B   on the wire B   write s   link limit s   of limit   session s   re-flash s');
  for (const baud of [115200, 921600]) {
    const { board } = emulatedBoard(`flash-${baud}`, undefined);
    await board.start('download');
    try {
      const t0 = performance.now();
      const r = await flashBoard({ board: board.id, port: `tcp://127.0.0.1:${board.address.port}`, build: path.join(repo, 'firmware', 'build', 'esp-nn-qemu'), baud, reset: 'none', skipUnchanged: false, restartAfter: () => board.restart('download') });
      const session = performance.now() - t0;
      const image = r.regions.reduce((a, x) => a + x.bytes, 0);
      const wire = r.regions.reduce((a, x) => a + x.wireBytes, 0);
      const write = r.regions.reduce((a, x) => a + x.seconds, 0);
      const limit = (wire * 10) / baud;
      const t1 = performance.now();
      await flashBoard({ board: board.id, port: `tcp://127.0.0.1:${board.address.port}`, build: path.join(repo, 'firmware', 'build', 'esp-nn-qemu'), baud, reset: 'none', restartAfter: () => board.restart('download') });
      const reflash = performance.now() - t1;
      console.log(`  ${String(baud).padEnd(8)}${image.toLocaleString('en-US').padStart(10)}${wire.toLocaleString('en-US').padStart(16)}${write.toFixed(1).padStart(10)}${limit.toFixed(1).padStart(15)}${`${((limit / write) * 100).toFixed(0)} %`.padStart(11)}${(session / 1000).toFixed(1).padStart(12)}${(reflash / 1000).toFixed(1).padStart(13)}`);
    } finally {
      await board.stop();
    }
  }
}

async function bootTimes(): Promise<void> {
  console.log('\n3. QEMU boot: process start -> HELLO on the lab\'s connection (esp-nn-qemu, N8R8 with PSRAM)');
  const { board, config } = emulatedBoard('boot', 'esp-nn-qemu');
  const flash = readFileSync(path.join(dir, 'flash-921600.flash.bin'));
  writeFileSync(config.emulated!.flashFile, flash);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await board.start('app');
    const session = createBoardSession(config, { transport: 'tcp', ...emulatedBoardOptions(board) });
    await session.connect(30_000);
    times.push(performance.now() - t0);
    await session.close();
    await board.stop();
  }
  console.log(`  median ${s(median(times))} (all: ${times.map((t) => (t / 1000).toFixed(2)).join(', ')} s)`);
}

function trialTimes(): void {
  console.log('\n4. trials on emulated boards: hil run scenarios/demo-emulated.json on two boards (flashed first)');
  const rigs = JSON.parse(readFileSync(path.join(repo, 'rigs.emulated.json'), 'utf8')) as { boards: Array<Record<string, unknown>> };
  const boards = rigs.boards.map((b) => ({ ...b, emulated: { ...(b.emulated as object), flashFile: path.join(dir, `run-${b.id as string}.flash.bin`) } }));
  const rigsFile = path.join(dir, 'rigs.json');
  writeFileSync(rigsFile, JSON.stringify({ boards }, null, 2));
  timed('hil flash', ['flash', 'emu', '--rigs', rigsFile, '--build', 'firmware/build/esp-nn-qemu']);
  const reports = path.join(dir, 'reports');
  const wall = timed('hil run', ['run', 'scenarios/demo-emulated.json', '--rigs', rigsFile, '--reports-dir', reports]);
  const runDir = path.join(reports, readdirSync(reports)[0]!);
  const events = readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const started = new Map<string, number>();
  const perVariant = new Map<string, number[]>();
  let boardMs = 0;
  let invokeMs = 0;
  for (const e of events) {
    if (e.type === 'trial.started') started.set(e.trial as string, e.ts as number);
    if (e.type === 'trial.finished' && e.status === 'passed') {
      const ms = (e.ts as number) - started.get(e.trial as string)!;
      const variant = (e.trial as string).split('@')[0]!;
      perVariant.set(variant, [...(perVariant.get(variant) ?? []), ms]);
      boardMs += ms;
    }
    if (e.type === 'trial.samples') invokeMs += (e.latencyUs as number[]).reduce((a, x) => a + x, 0) / 1000;
  }
  console.log(`  whole run ${s(wall)} (${events.filter((e) => e.type === 'trial.finished').length} trials on 2 boards, flashes between builds included)`);
  for (const [v, ms] of perVariant) console.log(`  ${v.padEnd(44)} median trial ${s(median(ms))}`);
  console.log(`  board time inside Invoke() (instructions x 4 ns, QEMU -icount) against wall time: ${((invokeMs / boardMs) * 100).toFixed(1)} % of trial time - not a duty cycle: QEMU's virtual time is not wall time (firmware/README.md)`);

  // Emulated latency (instructions x 4 ns, QEMU -icount) against the simulated board's cost model, per variant.
  const results = JSON.parse(readFileSync(path.join(runDir, 'results.json'), 'utf8')) as RunResults;
  const scenario = JSON.parse(readFileSync(path.join(repo, 'scenarios', 'demo-emulated.json'), 'utf8')) as { matrix: { model: Array<{ id: string; path: string }> } };
  console.log('\n  variant                                     emulated median   cost model (simulated)   cost model / emulated');
  for (const v of results.variants) {
    const modelFile = path.resolve(repo, 'scenarios', scenario.matrix.model.find((m) => m.id === v.model.id)!.path);
    const model = readModel(new Uint8Array(readFileSync(modelFile)));
    const cost = modelCost(model, profileModel(model), {
      kernelBackend: v.firmware.kernelBackend ?? (v.firmware.variant === 'reference' ? 'reference' : 'esp-nn'), espNnVersion: v.firmware.espNn ?? '1.1.2', cpuMhz: 240,
      arenaPlacement: v.arena.placement, modelPlacement: 'psram', psramMode: 'octal',
    });
    const simulatedMs = cost.cycles / 240 / 1000;
    const emulatedMs = (v.latency?.median ?? NaN) / 1000;
    console.log(`  ${v.id.padEnd(44)}${`${emulatedMs.toFixed(3)} ms`.padStart(15)}${`${simulatedMs.toFixed(3)} ms`.padStart(25)}${`${(simulatedMs / emulatedMs).toFixed(1)}x`.padStart(24)}`);
  }
}

try {
  execFileSync(findQemu(), ['--version'], { stdio: 'ignore' });
  if (!process.env.IDF_PATH) throw new Error('IDF_PATH is not set: run `eval "$(../shared/esp-kit/install.sh)"` (or . $IDF_PATH/export.sh) first');
  await buildTimes();
  if (!existsSync(path.join(repo, 'firmware', 'build', 'esp-nn-qemu', 'flasher_args.json'))) throw new Error('no esp-nn-qemu build');
  await flashTimes();
  await bootTimes();
  trialTimes();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
