/**
 * npm run bench:link - what the links cost, per link, against a simulated ESP32-S3:
 *
 * - **Model upload throughput** (MB/s, 1 MB = 10^6 bytes) of fashion_cnn_float.tflite (246 KB)
 *   through `BoardSession.uploadModel` (MODEL_BEGIN, 4 KiB MODEL_CHUNKs pipelined up to rx_window,
 *   MODEL_END with the board's SHA-256 check), against the link's configured bandwidth: a PTY at
 *   921600 baud carries 92,160 bytes/s (8N1, 10 bits per byte; the simulated board throttles its
 *   PTY to the baud rate the host set). MQTT has no configured bandwidth. Aim: >= 90 % on the PTY.
 * - **Round trip** of PING (16 bytes) p50 / p99 over 300 pings: a link measure only (latency is
 *   always measured on the board).
 * - **Host CPU per 1000 inferences** of protocol traffic, `process.cpuUsage()` around the traffic:
 *   (a) the lab's way, INVOKE with 1000 measured inferences (cycle counts streamed back in
 *   INVOKE_CYCLES frames), and (b) the worst case, one SET_INPUT + INVOKE(1) + GET_OUTPUT round
 *   trip per inference. Aim: < 1 ms per inference.
 *
 * The simulated fleet runs in a child process (this file with `--sim-child <rigs>`: startSimFleet,
 * with the embedded aedes broker for the aedes link), so the CPU measured here is the harness's
 * own: link, codec and session.
 * Mosquitto is used when /usr/sbin/mosquitto exists (apt-get install mosquitto).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { quantileSorted } from 'simple-statistics';
import { brokerOf, createBoardSession } from '../harness/boards/lab-board.js';
import type { BoardSession } from '../harness/boards/session.js';
import { loadRigs } from '../harness/config/index.js';
import { startSimFleet } from '../harness/sim/index.js';
import type { Rigs } from '../harness/config/types.js';
import { hasMosquitto, startMosquitto, type Mosquitto } from '../harness/links/testing/mosquitto.js';
import { sha256Hex } from '../harness/protocol/index.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const BAUD = 921600;
const TIME_SCALE = 0.01;
const BOARD = 'bench-1';
const T = 30_000;
const uploadModel = new Uint8Array(readFileSync(path.join(repo, 'models/demo/fashion_cnn_float.tflite')));
const invokeModel = new Uint8Array(readFileSync(path.join(repo, 'harness/tflite/testdata/tiny_conv_int8.tflite')));

interface LinkResult {
  link: string;
  uploadMBps: number;
  configuredMBps?: number;
  pingP50: number;
  pingP99: number;
  cpuBatchMs: number;
  cpuRoundTripMs: number;
  roundTripWallMs: number;
}

interface SimChild {
  child: ChildProcess;
  rigs: Rigs;
  ptyPath?: string;
  brokerUrl?: string;
  stop(): Promise<void>;
}

/** The simulated fleet of `rigsFile` in a child process (this file with --sim-child). */
async function startSim(dir: string, transport: 'serial' | 'mqtt', mosquitto?: Mosquitto): Promise<SimChild> {
  const file = path.join(dir, `rigs-${transport}-${mosquitto ? 'mosquitto' : 'embedded'}.json`);
  const login = (user: string) => ({ usernameEnv: `HIL_BENCH_${user.toUpperCase().replace(/\W/g, '_')}_USER`, passwordEnv: `HIL_BENCH_${user.toUpperCase().replace(/\W/g, '_')}_PASSWORD` });
  const env: Record<string, string> = {};
  if (mosquitto) {
    for (const [user, password] of Object.entries(mosquitto.users)) {
      env[login(user).usernameEnv] = user;
      env[login(user).passwordEnv] = password;
    }
    Object.assign(process.env, env);
  }
  writeFileSync(file, JSON.stringify({
    mqtt: mosquitto ? { url: mosquitto.url, credentials: login('harness') } : { url: 'embedded' },
    boards: [{
      id: BOARD, chip: 'esp32s3', tags: ['sim'],
      transport: transport === 'serial'
        ? { serial: { baud: BAUD } }
        : { mqtt: { topic: `lab/${BOARD}`, ...(mosquitto ? { credentials: login(BOARD) } : {}) } },
      simulated: { profile: 'esp32s3-devkitc-1-n16r8', seed: 1 },
    }],
  }));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--sim-child', file], {
    cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => { rl.close(); resolve(l); });
    child.once('exit', (code) => reject(new Error(`the simulated fleet exited with code ${code} before listing its boards`)));
  });
  const info = JSON.parse(line) as { boards: { id: string; ptyPath?: string }[]; brokerUrl?: string };
  return {
    child, rigs: loadRigs(file), ptyPath: info.boards[0].ptyPath, brokerUrl: info.brokerUrl,
    async stop() {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return quantileSorted(s, 0.5);
}

async function measure(name: string, s: BoardSession, configuredBytesPerS?: number): Promise<LinkResult> {
  await s.connect(T);
  // Upload throughput: the median of 3.
  const sha = sha256Hex(uploadModel);
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await s.uploadModel(uploadModel, sha, 'psram', T);
    rates.push(uploadModel.length / ((performance.now() - t0) / 1000) / 1e6);
  }
  // PING round trips.
  for (let i = 0; i < 10; i++) await s.ping(T); // warm up
  const rtts: number[] = [];
  for (let i = 0; i < 300; i++) rtts.push((await s.ping(T)).roundTripMs);
  rtts.sort((a, b) => a - b);
  // Host CPU per 1000 inferences.
  await s.uploadModel(invokeModel, sha256Hex(invokeModel), 'internal', T);
  const arena = await s.configureArena(16 * 1024, 'internal', T);
  const input = new Uint8Array(arena.inputs[0].bytes).fill(7);
  await s.setInput(0, input, T);
  await s.invoke({ warmup: 0, measured: 1000, profile: false, timeoutMs: T });
  // CPU time is noisy on a shared 2-core machine (the simulated board competes for the same
  // cores): each figure is the median of 5 blocks.
  const batchBlocks: number[] = [];
  for (let block = 0; block < 5; block++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < 4; i++) await s.invoke({ warmup: 0, measured: 1000, profile: false, timeoutMs: T });
    batchBlocks.push(cpuMs(c0) / 4);
  }
  const trip = async (i: number): Promise<void> => {
    input[0] = i & 0x7f; // a new input each time: the board computes each inference
    await s.setInput(0, input, T);
    await s.invoke({ warmup: 0, measured: 1, profile: false, timeoutMs: T });
    await s.getOutput(0, T);
  };
  for (let i = 0; i < 20; i++) await trip(i);
  const tripBlocks: number[] = [];
  const wallBlocks: number[] = [];
  const perBlock = 60;
  for (let block = 0; block < 5; block++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (let i = 0; i < perBlock; i++) await trip(block * perBlock + i);
    tripBlocks.push((cpuMs(c0) / perBlock) * 1000);
    wallBlocks.push((performance.now() - w0) / perBlock);
  }
  const cpuBatchMs = median(batchBlocks);
  const cpuRoundTripMs = median(tripBlocks);
  const roundTripWallMs = median(wallBlocks);
  await s.close();
  return {
    link: name, uploadMBps: median(rates), ...(configuredBytesPerS ? { configuredMBps: configuredBytesPerS / 1e6 } : {}),
    pingP50: quantileSorted(rtts, 0.5), pingP99: quantileSorted(rtts, 0.99), cpuBatchMs, cpuRoundTripMs, roundTripWallMs,
  };
}

function table(rows: LinkResult[]): string {
  const head = ['link', 'upload MB/s', 'of link', 'ping p50', 'ping p99', 'CPU/1000 inf (INVOKE x1000)', 'CPU/1000 inf (round trip each)', 'round trip wall'];
  const body = rows.map((r) => [
    r.link,
    r.uploadMBps.toFixed(r.uploadMBps < 1 ? 4 : 2),
    r.configuredMBps ? `${((r.uploadMBps / r.configuredMBps) * 100).toFixed(1)} % of ${r.configuredMBps.toFixed(4)}` : '- (no limit)',
    `${r.pingP50.toFixed(2)} ms`,
    `${r.pingP99.toFixed(2)} ms`,
    `${r.cpuBatchMs.toFixed(2)} ms`,
    `${r.cpuRoundTripMs.toFixed(0)} ms`,
    `${r.roundTripWallMs.toFixed(2)} ms/inf`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-bench-link-'));
  const results: LinkResult[] = [];
  const notes: string[] = [];
  process.stdout.write(`bench:link - one simulated ESP32-S3 per link (in a child process, time scale ${TIME_SCALE}); every board number is simulated\n`);
  try {
    {
      const sim = await startSim(dir, 'serial');
      try {
        const s = createBoardSession(sim.rigs.boards[0], { transport: 'serial', serialPath: sim.ptyPath! });
        results.push(await measure(`serial PTY ${BAUD} baud`, s, BAUD / 10));
      } finally {
        await sim.stop();
      }
    }
    {
      const sim = await startSim(dir, 'mqtt');
      try {
        const s = createBoardSession(sim.rigs.boards[0], { transport: 'mqtt', broker: brokerOf(sim.rigs, sim.brokerUrl) });
        results.push(await measure('MQTT 3.1.1 embedded aedes', s));
      } finally {
        await sim.stop();
      }
    }
    if (hasMosquitto()) {
      const mosquitto = await startMosquitto([BOARD]);
      try {
        const sim = await startSim(dir, 'mqtt', mosquitto);
        try {
          const s = createBoardSession(sim.rigs.boards[0], { transport: 'mqtt', broker: brokerOf(sim.rigs) });
          results.push(await measure('MQTT 5 mosquitto (ACL)', s));
        } finally {
          await sim.stop();
        }
      } finally {
        await mosquitto.stop();
      }
    } else {
      notes.push('mosquitto: not measured, /usr/sbin/mosquitto is missing (apt-get install mosquitto)');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\n${table(results)}\n\n`);
  const pty = results[0];
  const share = pty.uploadMBps / pty.configuredMBps!;
  process.stdout.write(`aim: upload >= 90 % of the PTY's bandwidth: ${(share * 100).toFixed(1)} % ${share >= 0.9 ? 'PASS' : 'FAIL'}\n`);
  const worst = Math.max(...results.map((r) => r.cpuBatchMs / 1000));
  process.stdout.write(`aim: protocol overhead < 1 ms of host CPU per inference (the lab's INVOKE x N): worst ${worst.toFixed(4)} ms ${worst < 1 ? 'PASS' : 'FAIL'}\n`);
  const worstTrip = Math.max(...results.map((r) => r.cpuRoundTripMs / 1000));
  process.stdout.write(`for reference, a full SET_INPUT + INVOKE(1) + GET_OUTPUT round trip per inference (not how the lab measures): worst ${worstTrip.toFixed(2)} ms of host CPU per inference\n`);
  for (const n of notes) process.stdout.write(`${n}\n`);
}

/** Child mode: run the fleet, print its boards as one JSON line, stop on SIGTERM. */
async function simChild(rigsFile: string): Promise<void> {
  const fleet = await startSimFleet({ rigs: loadRigs(rigsFile), timeScale: TIME_SCALE });
  process.stdout.write(`${JSON.stringify({ boards: fleet.boards.map((b) => ({ id: b.id, ptyPath: b.ptyPath })), brokerUrl: fleet.brokerUrl })}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await fleet.stop();
}

const childAt = process.argv.indexOf('--sim-child');
if (childAt >= 0) await simChild(process.argv[childAt + 1]);
else await main();
