/**
 * A seeded generator of complete, valid event streams (harness/lab/events.ts) for the reporters'
 * and the store's tests and for `npm run bench:report`: what a run of the scheduler on N boards
 * journals, without boards.
 *
 * The default matrix is the demo's shape: firmware reference vs esp-nn, a float and an int8 model,
 * a 64 KB arena in internal SRAM and in PSRAM (8 variants), on 4 boards in 3 interleaved rounds.
 * The numbers are shaped like the real ones (FACTS.md): ESP-NN speeds int8 up ~5x and leaves float
 * alone (float models always run reference kernels), a PSRAM arena is slower (more so for the
 * memory-bound ESP-NN kernels), boards differ by a fraction of a percent, samples carry
 * ~0.4 % Gaussian noise plus rare interrupt spikes, and the first warm-up inference is slow.
 *
 * Hostile text is on by default: one model id and a board log line contain `<script>` so every
 * reporter is tested for escaping. Faults (a retried trial, a failed trial, a quarantined board,
 * an interruption, a crash and resume, a fingerprint that differs outside the variant axes, an
 * injected regression) are options, so edge cases are the same stream with one knob turned.
 */
import { createHash } from 'node:crypto';
import type { Scenario, ScenarioModel, ArenaChoice, FirmwareChoice, Gate as ScenarioGate } from '../../config/types.js';
import type {
  BoardHello, BoardState, EventError, LabEvent, MemoryReport, NewLabEvent, OpProfileEntry,
} from '../../lab/events.js';
import { JOURNAL_VERSION } from '../../lab/events.js';
import { planRun, type Plan, type Trial, type Variant } from '../../lab/plan.js';
import { provenanceSet, type Provenance, type ProvenanceMarks } from '../../lab/provenance.js';
import type { Fingerprint } from '../../stats/fingerprint.js';
import { createRng, type Rng } from '../../stats/rng.js';

export const HOSTILE_MODEL_ID = 'cnn-float<script>alert("model")</script>';
export const HOSTILE_LOG_LINE = 'W (4242) hil: input name <script>alert(1)</script> & "quotes" <b>bold</b>';

export interface SyntheticRunOptions {
  runId?: string;
  scenarioName?: string;
  seed?: number;
  boards?: number;
  rounds?: number;
  /** Measured inferences per trial. */
  samples?: number;
  warmup?: number;
  /** Shorthand for `provenance`: true 'simulated' (the default), false 'board'. */
  simulated?: boolean;
  /** Where every board's numbers come from (default from `simulated`); `simulated` marks follow it. */
  provenance?: Provenance;
  /** Boards of another class than `provenance` (a run that mixes classes), by board id. */
  boardProvenance?: Readonly<Record<string, Provenance>>;
  /** Board ids are `<prefix>-1`, `<prefix>-2`, ... (default "sim"). */
  boardPrefix?: string;
  /** ms since epoch of run.started. */
  startTs?: number;
  gitCommit?: string;
  /** A `<script>` in a model id and in a board log line (default true). */
  hostile?: boolean;
  firmware?: string[];
  /** Model ids; an id containing "int8" is quantized, anything else float. */
  models?: string[];
  arenas?: Array<{ size: number; placement: 'internal' | 'psram' }>;
  /** Inputs of the accuracy pass (0 = no accuracy pass). */
  accuracyInputs?: number;
  /** Per-op profiles on round-1 trials (default true). */
  profile?: boolean;
  /** Multiplies every latency (a nightly drift). */
  speedFactor?: number;
  /** Gaussian noise of a sample, relative (default 0.004). */
  noise?: number;
  /** Slows the matching variants down by `pct` percent. */
  regression?: { variant: (v: Variant) => boolean; pct: number };
  /** Attempt 1 of this trial fails with a board timeout; attempt 2 passes. */
  retryTrial?: string;
  /** This trial fails (arena too small): no samples. */
  failTrial?: string;
  /** This board errors on its trial number `afterTrials + 1` three times and is quarantined. */
  quarantine?: { board: string; afterTrials: number };
  /** The run is stopped (Ctrl-C) once this many trials finished. */
  interruptAfterTrials?: number;
  /** The journal ends without run.finished once this many trials finished (a host crash). */
  crashAfterTrials?: number;
  /** The host crashes once this many trials finished and `hil run --resume` carries on. */
  resumeAfterTrials?: number;
  /** Fingerprints of this board's trials (of the matching variants) get `field: value` (e.g. a board left at 160 MHz). */
  fingerprintOverride?: { board: string; field: string; value: string | number | boolean; variant?: (v: Variant) => boolean };
  /** Board outputs of the matching variants differ from the host reference by 1 step in 3 tensors. */
  notBitExact?: (v: Variant) => boolean;
  /** The whole run fails at the start (run.finished failed, no trials). */
  failRun?: boolean;
  /** Samples per trial.samples event (default 50). */
  batch?: number;
  /**
   * Draws one inference's cycle count instead of the built-in noise model (e.g. the simulated
   * board's own cost model and noise); `regression` still applies on top.
   */
  sampler?: (draw: { variant: Variant; board: string; round: number; phase: 'warmup' | 'measure'; index: number }) => number;
}

export interface SyntheticRun {
  events: LabEvent[];
  scenario: Scenario;
  plan: Plan;
}

/** Gates of the synthetic scenario (the demo's, issue 4: median +3 % at p < 0.01, top-1 -0.5 points, arena +5 %). */
export const SYNTHETIC_GATES: ScenarioGate[] = [
  { metric: 'latency.median', maxIncreasePct: 3, alpha: 0.01 },
  { metric: 'accuracy.top1', maxDropPoints: 0.5 },
  { metric: 'arena.used', maxIncreasePct: 5 },
  { metric: 'outputs.mismatches', max: 0 },
];

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function normal(rng: Rng): number {
  for (;;) {
    const u = 2 * rng.next() - 1;
    const v = 2 * rng.next() - 1;
    const s = u * u + v * v;
    if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
  }
}

export function syntheticScenario(o: SyntheticRunOptions = {}): Scenario {
  const hostile = o.hostile ?? true;
  const modelIds = o.models ?? [hostile ? HOSTILE_MODEL_ID : 'cnn-float', 'cnn-int8'];
  const firmware: FirmwareChoice[] = (o.firmware ?? ['reference', 'esp-nn']).map((variant) => ({
    variant,
    kernelBackend: variant === 'reference' ? 'reference' : 'esp-nn',
    espNn: variant === 'esp-nn-1.2.6' ? '1.2.6' : '1.1.2',
  }));
  const model: ScenarioModel[] = modelIds.map((id) => ({
    id,
    path: `models/${id}.tflite`,
    file: `/lab/models/${id}.tflite`,
    sha256: sha(`model:${id}`),
    io: { input: 0, output: 0 },
    storage: 'psram',
  }));
  const arena: ArenaChoice[] = (o.arenas ?? [{ size: 65536, placement: 'internal' }, { size: 65536, placement: 'psram' }])
    .map((a) => ({ size: a.size, placement: a.placement, marginBytes: 4096 }));
  const name = o.scenarioName ?? 'synthetic';
  return {
    file: `/lab/scenarios/${name}.json`,
    label: `scenarios/${name}.json`,
    name,
    matrix: { firmware, model, arena, cpuMHz: [240], exclude: [] },
    boards: { tags: ['sim'] },
    transport: 'any',
    inputs: { latency: { kind: 'random', seed: 1, count: 4 } },
    warmup: o.warmup ?? 10,
    measure: { kind: 'fixed', inferences: o.samples ?? 100 },
    rounds: o.rounds ?? 3,
    seed: o.seed ?? 1,
    timeouts: { connectS: 10, helloS: 5, flashS: 120, uploadS: 30, invokeS: 10, accuracyS: 120, trialS: 600 },
    retries: { maxTrialRetries: 2, quarantineAfterFailures: 3 },
    canary: { enabled: true, inferences: 30, flagDriftPct: 5, quarantineDriftPct: 20 },
    gates: SYNTHETIC_GATES,
    baseline: 'last-baseline',
    warnings: [],
  };
}

const isInt8 = (v: Variant): boolean => v.model.id.includes('int8');

/** Median latency of a variant on an average board, in microseconds at 240 MHz. */
function baseLatencyUs(v: Variant): number {
  const espNn = v.firmware.kernelBackend === 'esp-nn';
  const int8 = isInt8(v);
  // FACTS.md: ESP-NN replaces int8 kernels only; float runs reference kernels on either build.
  let us = int8 ? (espNn ? 3900 : 21000) : 36000;
  if (!int8 && espNn) us *= 1.002; // same kernels, a slightly different image layout
  if (v.arena.placement === 'psram') us *= int8 ? (espNn ? 1.12 : 1.04) : 1.06;
  // Variants beyond the demo's (other models, arena sizes) get their own level.
  let h = 0;
  for (const c of v.model.id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  if (!/^cnn-(float|int8)/.test(v.model.id)) us *= 0.5 + (h % 1000) / 1000;
  const size = typeof v.arena.size === 'number' ? v.arena.size : 65536;
  us *= 1 + (size - 65536) / 65536 / 200;
  return us * (240 / v.cpuMHz);
}

const PROFILE_OPS: Array<{ op: string; share: number; espNnSpeedup: number }> = [
  // FACTS.md, espressif/esp-nn README speed-ups on the S3.
  { op: 'CONV_2D', share: 0.32, espNnSpeedup: 5.6 },
  { op: 'DEPTHWISE_CONV_2D', share: 0.18, espNnSpeedup: 6.3 },
  { op: 'CONV_2D', share: 0.27, espNnSpeedup: 14.2 },
  { op: 'AVERAGE_POOL_2D', share: 0.05, espNnSpeedup: 3.6 },
  { op: 'RESHAPE', share: 0.01, espNnSpeedup: 1 },
  { op: 'FULLY_CONNECTED', share: 0.15, espNnSpeedup: 7.8 },
  { op: 'SOFTMAX', share: 0.02, espNnSpeedup: 1.4 },
];

function profileOf(v: Variant, latencyUs: number): OpProfileEntry[] {
  const espNn = v.firmware.kernelBackend === 'esp-nn' && isInt8(v);
  const weights = PROFILE_OPS.map((p) => p.share / (espNn ? p.espNnSpeedup : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  return PROFILE_OPS.map((p, index) => ({ index, op: p.op, cycles: Math.round((latencyUs * v.cpuMHz * weights[index]) / total) }));
}

interface Timed {
  ts: number;
  order: number;
  event: NewLabEvent;
}

/** Generates the event stream of one run. Same options, same events, byte for byte. */
export function syntheticRun(o: SyntheticRunOptions = {}): SyntheticRun {
  const seed = o.seed ?? 1;
  const rng = createRng(seed * 7919 + 17);
  const scenario = syntheticScenario(o);
  const boardIds = Array.from({ length: o.boards ?? 4 }, (_, i) => `${o.boardPrefix ?? 'sim'}-${i + 1}`);
  const plan = planRun(scenario, boardIds);
  const runId = o.runId ?? 'synthetic-1';
  const runProvenance: Provenance = o.provenance ?? ((o.simulated ?? true) ? 'simulated' : 'board');
  const marksOfBoard = (board: string): ProvenanceMarks => {
    const provenance = o.boardProvenance?.[board] ?? runProvenance;
    return { simulated: provenance === 'simulated', provenance };
  };
  const boardMarks = boardIds.map(marksOfBoard);
  const hostile = o.hostile ?? true;
  const t0 = o.startTs ?? Date.UTC(2025, 0, 6, 2, 0, 0);
  const samples = o.samples ?? 100;
  const warmup = o.warmup ?? 10;
  const batch = Math.max(1, o.batch ?? 50);
  const noise = o.noise ?? 0.004;
  const speed = o.speedFactor ?? 1;
  const accuracyInputs = o.accuracyInputs ?? 200;
  const timed: Timed[] = [];
  let order = 0;
  const emit = (ts: number, event: NewLabEvent): void => {
    timed.push({ ts, order: order++, event });
  };

  emit(t0, {
    type: 'run.started',
    journalVersion: JOURNAL_VERSION,
    runId,
    scenario: { name: scenario.name, file: scenario.label, sha256: sha(`scenario:${scenario.name}`) },
    rigs: { file: 'rigs.json', sha256: sha('rigs') },
    plan,
    ...(o.gitCommit !== undefined ? { gitCommit: o.gitCommit } : { gitCommit: '0123456789abcdef0123456789abcdef01234567' }),
    host: { hostname: 'lab-host', platform: 'linux', node: 'v20.20.2', labVersion: '0.1.0' },
    simulated: boardMarks.some((m) => m.simulated),
    provenances: provenanceSet(boardMarks.map((m) => m.provenance)),
  });
  if (o.failRun) {
    emit(t0 + 50, { type: 'run.finished', runId, status: 'failed', error: { code: 'link', message: 'rigs.json: /boards/0: no board answered on the embedded MQTT broker (start hil sim or check the broker URL)' } });
    return finish(timed, scenario, plan);
  }

  // Accuracy data per model: labels are shared, predictions depend on the model only (firmware is
  // bit-exact, FACTS.md: ESP-NN's default path equals TFLM's reference kernels).
  // Same model, same inputs, same outputs every night: the accuracy data do not depend on the run's seed.
  const accRng = createRng(31);
  const classes = 10;
  const labels = Array.from({ length: accuracyInputs }, () => accRng.nextInt(classes));
  const predictionsByModel = new Map<string, number[]>();
  for (const m of scenario.matrix.model) {
    const r = createRng(hashString(`predictions:${m.id}`));
    const correctRate = m.id.includes('int8') ? 0.87 : 0.885;
    predictionsByModel.set(m.id, labels.map((l) => (r.next() < correctRate ? l : (l + 1 + r.nextInt(classes - 1)) % classes)));
  }

  // A board's speed is its own (silicon, flash): fixed per board id, the same every night.
  const boardFactor = new Map(boardIds.map((b) => [b, 1 + 0.004 * normal(createRng(hashString(`board:${b}`)))]));
  const roundFactor = new Map<string, number>();
  for (const b of boardIds) for (let r = 1; r <= plan.rounds; r++) roundFactor.set(`${b}#${r}`, 1 + 0.0008 * normal(rng));

  // When trials finish: decides where an interruption, a crash or a resume falls.
  const finishTimes: number[] = [];
  // Set for the second pass of a resumed run: the host dies at `at` and is back `downtimeMs` later.
  let resumeCut: { at: number; downtimeMs: number; boardsCut: Set<string> } | undefined;
  const crossCut = (board: string, now: number): number | undefined => {
    if (resumeCut === undefined || now < resumeCut.at || resumeCut.boardsCut.has(board)) return undefined;
    resumeCut.boardsCut.add(board);
    return resumeCut.at + resumeCut.downtimeMs;
  };

  function simulateBoard(board: string, k: number): Timed[] {
    const out: Timed[] = [];
    const marks = marksOfBoard(board);
    const { simulated } = marks;
    const put = (ts: number, event: NewLabEvent): void => {
      out.push({ ts, order: order++, event });
    };
    let now = t0 + 100 + k * 37;
    const mac = `7c:df:a1:0${k}:${(16 + k).toString(16)}:${(0x40 + k * 3).toString(16)}`;
    let state: BoardState = 'unknown';
    const setState = (to: BoardState, reason?: string): void => {
      put(now, { type: 'board.state', board, from: state, to, ...(reason ? { reason } : {}) });
      state = to;
    };
    const hello = (build: string): BoardHello => {
      const fw = plan.builds.find((b) => b.id === build);
      return {
        board, chip: 'esp32s3', chipRevision: 'v0.2', mac,
        appElfSha256: sha(`firmware:${build}`), appVersion: '0.1.0', projectName: 'hil_bench',
        firmwareVariant: fw?.variant ?? build, kernelBackend: fw?.kernelBackend ?? 'reference',
        idfVersion: 'v5.3.3', tflmVersion: '1.4.0', espNnVersion: fw?.espNn ?? '1.1.2',
        cpuMHz: 240, psramBytes: 8 * 1024 * 1024, flashBytes: 16 * 1024 * 1024, protocolVersion: 1, simulated,
      };
    };
    const link = k % 2 === 0 ? 'serial' : 'mqtt';
    const address = link === 'serial' ? `/dev/pts/${10 + k}` : `lab/${board}`;
    setState('booting');
    for (const line of ['ESP-ROM:esp32s3-20210327', 'rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)', `I (312) hil: lab firmware 0.1.0, board ${board}`]) {
      now += 3;
      put(now, { type: 'board.log', board, line });
    }
    if (hostile && k === 0) put(now + 1, { type: 'board.log', board, line: HOSTILE_LOG_LINE });
    let installed = plan.queues[board][0]?.variant.build ?? plan.builds[0].id;
    put(now + 2, { type: 'board.hello', board, link, address, hello: hello(installed), provenance: marks.provenance });
    now += 10;
    setState('ready');
    // Canary: a short benchmark compared with the board's own history.
    const canaryRng = createRng(seed * 1009 + k);
    const canaryLatency = Array.from({ length: 30 }, () => Math.round(3900 * (boardFactor.get(board) ?? 1) * (1 + 0.003 * normal(canaryRng)) * 1000) / 1000);
    const sortedCanary = [...canaryLatency].sort((a, b) => a - b);
    const canaryMedian = (sortedCanary[14] + sortedCanary[15]) / 2;
    now += 150;
    put(now, {
      type: 'board.canary', board, model: 'canary-int8', latencyUs: canaryLatency, medianUs: canaryMedian,
      historyMedianUs: 3900, driftPct: (canaryMedian / 3900 - 1) * 100, verdict: 'ok', ...marks,
    });

    let trialsDone = 0;
    let failuresInARow = 0;
    let quarantined = false;
    for (const trial of plan.queues[board]) {
      if (quarantined) break;
      const back = crossCut(board, now);
      if (back !== undefined) {
        now = back;
        put(now, { type: 'board.state', board, from: 'unknown', to: 'ready', reason: 'resumed' });
      }
      if (trial.variant.build !== installed) {
        setState('flashing');
        const start = now;
        now += 14_000 + 500 * k;
        put(now, {
          type: 'board.flashed', board, build: trial.variant.build, ok: true,
          regions: [
            { address: 0x0, file: `firmware/build/${trial.variant.build}/bootloader/bootloader.bin`, bytes: 21_040, skipped: true, wireBytes: 0, seconds: 0.1 },
            { address: 0x8000, file: `firmware/build/${trial.variant.build}/partition_table/partition-table.bin`, bytes: 3072, skipped: true, wireBytes: 0, seconds: 0.05 },
            { address: 0x10000, file: `firmware/build/${trial.variant.build}/hil_bench.bin`, bytes: 912_384, skipped: false, wireBytes: 598_211, seconds: (now - start) / 1000 },
          ],
        });
        installed = trial.variant.build;
        setState('booting');
        now += 400;
        put(now, { type: 'board.hello', board, link, address, hello: hello(installed), provenance: marks.provenance });
        setState('ready');
      }
      const quarantineHere = o.quarantine?.board === board && trialsDone === o.quarantine.afterTrials;
      const attempts = quarantineHere ? 3 : trial.id === o.retryTrial ? 2 : 1;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const failing = quarantineHere || (trial.id === o.retryTrial && attempt === 1);
        runAttempt(trial, attempt, failing, put, () => now, (t) => { now = t; });
        if (failing) {
          failuresInARow++;
          setState('failed', 'no answer to invoke within 10 s');
          put(now + 5, { type: 'board.log', board, line: 'Brownout detector was triggered' });
          now += 2000;
          if (failuresInARow >= 3) {
            setState('quarantined', `${failuresInARow} failures in a row`);
            put(now, { type: 'board.quarantined', board, reason: `${failuresInARow} trial failures in a row (last: no answer to invoke within 10 s); finishing the run on the other boards` });
            quarantined = true;
            break;
          }
          setState('booting');
          put(now + 300, { type: 'board.hello', board, link, address, hello: hello(installed), provenance: marks.provenance });
          now += 400;
          setState('ready');
        } else {
          failuresInARow = 0;
        }
      }
      trialsDone++;
    }
    return out;

    /** One attempt of a trial on this board. */
    function runAttempt(
      trial: Trial, attempt: number, failing: boolean,
      put2: (ts: number, e: NewLabEvent) => void, clock: () => number, setClock: (t: number) => void,
    ): void {
      const v = trial.variant;
      const trng = createRng(hashString(`${seed}:${trial.id}:${attempt}`));
      let t = clock();
      const startedAt = t;
      put2(t, { type: 'trial.started', trial: trial.id, board, attempt });
      setStateAt(t, 'running');
      const fp: Record<string, string | number | boolean> = {
        firmwareSha256: sha(`firmware:${v.build}`),
        sdkconfigSha256: sha(`sdkconfig:${v.build}`),
        kernelBackend: v.firmware.kernelBackend ?? 'reference',
        cpuMhz: v.cpuMHz,
        flashMode: 'qio',
        flashFreqMhz: 80,
        psram: 'octal-80mhz',
        cache: 'd32k-i32k',
        arenaPlacement: v.arena.placement,
        arenaBytes: v.arena.bytes ?? 65536,
        idfVersion: 'v5.3.3',
        tflmVersion: '1.4.0',
        espNnVersion: v.firmware.espNn ?? '1.1.2',
        chipRevision: 'v0.2',
        modelSha256: v.model.sha256 ?? sha(`model:${v.model.id}`),
        simulated,
        provenance: marks.provenance,
      };
      const override = o.fingerprintOverride;
      if (override?.board === board && (override.variant?.(v) ?? true)) fp[override.field] = override.value;
      put2(t + 1, { type: 'trial.fingerprint', trial: trial.id, attempt, fingerprint: fp as Fingerprint });
      if (trial.id === o.failTrial) {
        t += 300;
        put2(t, {
          type: 'trial.finished', trial: trial.id, board, attempt, status: 'failed',
          error: { code: 'arena', message: `AllocateTensors() failed: the model needs 70,144 B of arena but ${v.arena.bytes ?? v.arena.size} B were set (raise the arena size of ${v.id})` },
          durationMs: t - startedAt, invokeMs: 0, willRetry: false,
        });
        setClock(t + 10);
        setStateAt(t, 'ready');
        finishTimes.push(t);
        return;
      }
      const factor = speed * (boardFactor.get(board) ?? 1) * (roundFactor.get(`${board}#${trial.round}`) ?? 1)
        * (o.regression?.variant(v) ? 1 + o.regression.pct / 100 : 1);
      const level = baseLatencyUs(v) * factor;
      const sampler = o.sampler;
      const draw = (i: number, phase: 'warmup' | 'measure'): number => {
        if (sampler) {
          const regression = o.regression?.variant(v) ? 1 + o.regression.pct / 100 : 1;
          return Math.round(sampler({ variant: v, board, round: trial.round, phase, index: i }) * regression);
        }
        let x = level * (1 + noise * normal(trng));
        if (phase === 'warmup' && i === 0) x *= 1.9; // first Invoke(): caches cold, lazy init
        else if (phase === 'warmup' && i < 3) x *= 1.05;
        if (trng.next() < 0.01) x *= 1.05 + 0.25 * trng.next(); // an interrupt landed inside Invoke()
        return Math.round(x * v.cpuMHz);
      };
      let invokeUs = 0;
      const emitBatch = (phase: 'warmup' | 'measure', cycles: number[]): void => {
        const latencyUs = cycles.map((c) => Math.round((c / v.cpuMHz) * 1000) / 1000);
        for (const x of latencyUs) invokeUs += x;
        t += Math.max(1, Math.round(latencyUs.reduce((a, b) => a + b, 0) / 1000)) + 5;
        put2(t, { type: 'trial.samples', trial: trial.id, attempt, phase, cycles, cpuMHz: v.cpuMHz, latencyUs, ...marks });
      };
      t += 200; // model upload + arena
      if (warmup > 0) emitBatch('warmup', Array.from({ length: warmup }, (_, i) => draw(i, 'warmup')));
      const n = failing ? Math.floor(samples / 3) : samples;
      for (let done = 0; done < n; done += batch) {
        const m = Math.min(batch, n - done);
        emitBatch('measure', Array.from({ length: m }, (_, i) => draw(done + i + warmup, 'measure')));
        const back = crossCut(board, t);
        if (back !== undefined) {
          // The host died here: what was journalled stays, the rest of this attempt never
          // happened, and the resumed run starts the trial again with the same attempt number.
          setClock(back);
          put2(back, { type: 'board.state', board, from: 'unknown', to: 'ready', reason: 'resumed' });
          state = 'ready';
          runAttempt(trial, attempt, failing, put2, clock, setClock);
          return;
        }
      }
      if (failing) {
        t += 10_000;
        const error: EventError = { code: 'board-timeout', message: `${board}: no answer to invoke within 10 s (the board may have reset; it is probed again)` };
        put2(t, { type: 'trial.finished', trial: trial.id, board, attempt, status: 'error', error, durationMs: t - startedAt, invokeMs: invokeUs / 1000, willRetry: attempt < 3 });
        setClock(t);
        finishTimes.push(t);
        return;
      }
      if (o.profile ?? true) {
        if (trial.round === 1) put2(t + 1, { type: 'trial.profile', trial: trial.id, attempt, ops: profileOf(v, level), cpuMHz: v.cpuMHz, ...marks });
      }
      if (accuracyInputs > 0) {
        t += Math.round((accuracyInputs * level) / 1000);
        const preds = predictionsByModel.get(v.model.id) ?? [];
        const broken = o.notBitExact?.(v) ?? false;
        put2(t, {
          type: 'trial.accuracy', trial: trial.id, attempt, classes, labels, predictions: preds,
          topK: preds.map((p, i) => [p, ...[1, 2, 3, 4].map((d) => (p + d + (labels[i] === p ? 0 : labels[i] % 2)) % classes)].filter((x, j, a) => a.indexOf(x) === j).slice(0, 5)),
          outputDigest: sha(`outputs:${v.model.id}:${broken ? 'broken' : 'exact'}`),
          bitExact: { tensors: accuracyInputs, differingTensors: broken ? 3 : 0, differingElements: broken ? 4 : 0, maxDifference: broken ? 1 : 0 },
          ...marks,
        });
      }
      const int8 = isInt8(v);
      const arenaBytes = v.arena.bytes ?? 65536;
      const espNnScratch = v.firmware.kernelBackend === 'esp-nn' && int8 ? 2048 : 0;
      const memory: MemoryReport = {
        arenaBytes,
        arenaUsedBytes: (int8 ? 48_212 : 61_504) + espNnScratch,
        arenaPlacement: v.arena.placement,
        internal: v.arena.placement === 'internal'
          ? { freeBytes: 118_400, minimumFreeBytes: 104_112, largestFreeBlockBytes: 90_112 }
          : { freeBytes: 183_936, minimumFreeBytes: 169_648, largestFreeBlockBytes: 155_648 },
        psram: v.arena.placement === 'psram'
          ? { freeBytes: 8_126_464 - arenaBytes - 300_000, minimumFreeBytes: 8_126_464 - arenaBytes - 310_000, largestFreeBlockBytes: 7_733_248 - arenaBytes }
          : { freeBytes: 7_826_464, minimumFreeBytes: 7_816_464, largestFreeBlockBytes: 7_733_248 },
        imageBytes: v.firmware.kernelBackend === 'esp-nn' ? 912_384 : 866_304,
        ...marks,
      };
      put2(t + 1, { type: 'trial.memory', trial: trial.id, attempt, memory });
      t += 20;
      put2(t, { type: 'trial.finished', trial: trial.id, board, attempt, status: 'passed', durationMs: t - startedAt, invokeMs: invokeUs / 1000, willRetry: false });
      setStateAt(t, 'ready');
      setClock(t + 15);
      finishTimes.push(t);
      return;
    }

    function setStateAt(ts: number, to: BoardState): void {
      if (state === to) return;
      put(ts, { type: 'board.state', board, from: state, to });
      state = to;
    }
  }

  let perBoard = boardIds.map((board, k) => simulateBoard(board, k));
  if (o.resumeAfterTrials !== undefined) {
    // Resume: a first pass finds when the Nth trial finished, a second pass crashes the host there.
    const cut = { at: nthFinish(finishTimes, o.resumeAfterTrials) + 1, downtimeMs: 60_000, boardsCut: new Set<string>() };
    resumeCut = cut;
    finishTimes.length = 0;
    perBoard = boardIds.map((board, k) => simulateBoard(board, k));
    const finishedBefore = perBoard.flat()
      .filter((x) => x.ts <= cut.at && x.event.type === 'trial.finished' && x.event.status !== 'error')
      .map((x) => (x.event as { trial: string }).trial);
    emit(cut.at + cut.downtimeMs - 1, { type: 'run.resumed', runId, finishedTrials: finishedBefore });
  }
  for (const evs of perBoard) timed.push(...evs);

  const end = Math.max(...timed.map((x) => x.ts)) + 10;
  const cutAfter = o.interruptAfterTrials ?? o.crashAfterTrials;
  if (cutAfter !== undefined) {
    const at = nthFinish(finishTimes, cutAfter);
    const kept = timed.filter((x) => x.ts <= at);
    timed.length = 0;
    timed.push(...kept);
    if (o.interruptAfterTrials !== undefined) emit(at + 1, { type: 'run.finished', runId, status: 'interrupted', error: { code: 'interrupted', message: 'stopped by SIGINT (Ctrl-C): resume with hil run --resume ' + runId } });
  } else {
    emit(end, { type: 'run.finished', runId, status: 'completed' });
  }
  return finish(timed, scenario, plan);
}

function nthFinish(times: number[], n: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  if (n <= 0) return sorted[0] - 1;
  return sorted[Math.min(n, sorted.length) - 1];
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function finish(timed: Timed[], scenario: Scenario, plan: Plan): SyntheticRun {
  timed.sort((a, b) => a.ts - b.ts || a.order - b.order);
  const events = timed.map((x, i) => ({ ...x.event, seq: i + 1, ts: x.ts }) as LabEvent);
  return { events, scenario, plan };
}

/** The events as a journal (one JSON event per line). */
export function toJournal(events: readonly LabEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + '\n';
}
