/**
 * One trial on one board, step by step (ARCHITECTURE.md pipeline): firmware -> model -> arena ->
 * fingerprint -> inputs -> warm-up -> measured inferences (fixed or adaptive) -> per-op profile
 * -> accuracy pass against the host reference -> memory report. Each step has its time limit from
 * the scenario and gives way to a stop request (Ctrl-C) at once. Every measurement is emitted as
 * an event the moment it arrives, so the journal holds it even if the host dies a second later.
 *
 * Latency always comes from the board's cycle counter around Invoke() (PROTOCOL.md INVOKE), never
 * from host round trips; INVOKE N runs N inferences per request, so round trips cost nothing per
 * inference.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Scenario } from '../config/types.js';
import { SIMULATED_PROFILES } from '../config/profiles.js';
import { shouldStopSampling } from '../stats/adaptive.js';
import { medianOf } from '../stats/samples.js';
import { bitExactness, type OutputTensor } from '../stats/accuracy.js';
import type { BoardIdentity, InvokeOutcome } from './board.js';
import type { MemoryReport, NewLabEvent } from './events.js';
import { ensureFirmware } from './firmware.js';
import { trialFingerprint } from './fingerprint.js';
import { marksOf, type ProvenanceMarks } from './provenance.js';
import { boardFailure, stopped, trialFailure, withTimeout } from './failures.js';
import type { PreparedModel } from './models.js';
import type { Trial } from './plan.js';
import type { BoardSlot } from './slot.js';
import { topK, valuesOf } from './tensor-bytes.js';

/** Cycle count a board reports for an inference longer than the 32-bit counter's range (PROTOCOL.md INVOKE). */
const CYCLES_OVERFLOW = 0xffffffff;
/** How many classes `trial.accuracy` ranks per input. */
const TOP_K = 5;

export interface TrialEnv {
  scenario: Scenario;
  models: ReadonlyMap<string, PreparedModel>;
  firmwareDir: string;
  emit: (e: NewLabEvent) => void;
  /** Aborted when the run is stopping (Ctrl-C, SIGTERM). */
  stop: AbortSignal;
}

export interface TrialTasks {
  /** Run the accuracy pass (once per variant and board is enough: outputs are deterministic). */
  accuracy: boolean;
  /** Ask for a per-op profile. */
  profile: boolean;
}

/** Filled in as the trial goes, so a failed trial still reports the board time it used. */
export interface TrialProgress {
  invokeMs: number;
  /** Estimated board time inside Invoke() during the accuracy pass (see TrialFinishedEvent). */
  accuracyInvokeMs?: number;
  accuracyDone: boolean;
  profileDone: boolean;
}

/**
 * How long one request may go without any reply frame. A chunk is acknowledged at once, so a
 * silence of `connectS` means a hung board, however long the whole upload (`uploadS`) may take.
 */
export function replyMs(s: Scenario): number {
  return Math.min(s.timeouts.connectS, s.timeouts.uploadS) * 1000;
}

/**
 * The same for INVOKE and ACCURACY_RUN: the board sends progress at least once a second, between
 * inferences (PROTOCOL.md "Progress"), so one inference plus a second of silence means a hang,
 * however long the whole batch (`invokeS` x N, `accuracyS`) may take.
 */
export function progressMs(s: Scenario): number {
  return s.timeouts.invokeS * 1000 + 1000;
}

export type Step = <T>(name: string, ms: number, work: () => Promise<T>) => Promise<T>;

/** A step runner: a time limit per step, and a stop request abandons the step at once. */
export function stepper(stop: AbortSignal, boardId: string): Step {
  return async <T>(name: string, ms: number, work: () => Promise<T>): Promise<T> => {
    if (stop.aborted) throw stopped(`the run is stopping (before ${name} on board ${boardId})`);
    let onAbort = (): void => {};
    const stopping = new Promise<never>((_, reject) => {
      onAbort = () => reject(stopped(`the run is stopping: ${name} on board ${boardId} abandoned`));
      stop.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await withTimeout(name, boardId, ms, () => Promise.race([work(), stopping]));
    } finally {
      stop.removeEventListener('abort', onAbort);
    }
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Splits n inferences over k inputs as evenly as possible (the first ones get the remainder). */
export function splitOver(n: number, k: number): number[] {
  const parts: number[] = [];
  for (let i = 0; i < k && i < n; i++) parts.push(Math.floor(n / k) + (i < n % k ? 1 : 0));
  return parts;
}

/**
 * The model in the board's flash `model` partition (scenario `"storage": "partition"`): the board
 * loads it in place and reports its SHA-256, which must be the scenario's model - the host runs
 * that file as the reference, so a board holding another model is a configuration error of the
 * board (a trial failure: retrying or resetting cannot change what its flash holds).
 */
async function selectPartitionModel(slot: BoardSlot, model: PreparedModel, replyTimeoutMs: number, step: Step, stepMs: number): Promise<void> {
  const board = slot.board;
  const fix = `add it to a firmware build with hil model image ${model.file} --build <dir>, then hil flash ${slot.id} --build <dir>`;
  if (!board.selectPartitionModel) {
    throw trialFailure(`board ${slot.id} (${board.link}) cannot select a model from its flash partition: give model "${model.id}" "storage": "psram" to upload it`, 'trial');
  }
  const ready = await step(`selecting model ${model.id} from the model partition`, stepMs, () => board.selectPartitionModel!(replyTimeoutMs)).catch((e: unknown) => {
    const code = (e as { code?: string }).code;
    if (code === 'board-error:MODEL_PARTITION_EMPTY' || code === 'board-error:MODEL_INVALID') {
      throw trialFailure(`${(e as Error).message} (model "${model.id}" has "storage": "partition": ${fix})`, code);
    }
    throw e;
  });
  if (ready.sha256.toLowerCase() !== model.sha256.toLowerCase()) {
    throw trialFailure(
      `board ${slot.id}: its model partition holds ${ready.sha256.slice(0, 16)}… (${ready.size} bytes), not ${path.basename(model.file)} (${model.sha256.slice(0, 16)}…, ${model.bytes.length} bytes) that model "${model.id}" names: ${fix}`,
      'trial',
    );
  }
}

export async function runTrial(env: TrialEnv, slot: BoardSlot, trial: Trial, attempt: number, tasks: TrialTasks, progress: TrialProgress): Promise<void> {
  const { scenario } = env;
  const t = scenario.timeouts;
  const board = slot.board;
  const variant = trial.variant;
  const step = stepper(env.stop, slot.id);
  const model = env.models.get(variant.model.id);
  if (!model) throw new Error(`runTrial: model ${variant.model.id} was not prepared`);

  // ---- checks that need no board: an arena TFLM cannot use fails before anything is flashed.
  const arenaBytes = variant.arena.bytes ?? Math.ceil((model.arenaBytes + 4096) / 16) * 16;
  if (arenaBytes < model.arenaBytes) {
    throw trialFailure(`arena of ${arenaBytes} bytes is too small for model "${model.id}": TFLM needs ${model.arenaBytes} bytes on a 32-bit board (arena planner); give at least that, or "auto"`, 'arena-too-small');
  }

  // ---- firmware
  const build = { id: variant.build, variant: variant.firmware.variant, cpuMHz: variant.cpuMHz };
  const buildInfo = await ensureFirmware(slot, build, {
    firmwareDir: env.firmwareDir,
    timeouts: { flashMs: t.flashS * 1000, helloMs: t.helloS * 1000, connectMs: t.connectS * 1000 },
    emit: env.emit,
    step,
  });
  const identity: BoardIdentity = board.identity!;
  // Every number of this trial is marked with where it came from (the rigs know an emulated board).
  const marks = marksOf(slot.config, identity);
  if (identity.cpuMhz !== variant.cpuMHz) {
    throw trialFailure(`board ${slot.id} runs at ${identity.cpuMhz} MHz but variant ${variant.id} asks for ${variant.cpuMHz} MHz (its firmware build ${variant.build} does not set that clock)`, 'trial');
  }
  if (variant.arena.placement === 'psram' && identity.psramSize === 0) {
    throw trialFailure(`board ${slot.id} has no PSRAM, so variant ${variant.id} (arena in PSRAM) cannot run on it (select boards with PSRAM)`, 'trial');
  }
  slot.setState('running', trial.id);

  // ---- model: uploaded (or selected from the flash partition) only when the board does not hold it already
  if (variant.model.storage === 'partition') {
    if (slot.holding.modelSha256 !== model.sha256 || slot.holding.modelPlacement !== 'partition') {
      slot.holding = {};
      await selectPartitionModel(slot, model, replyMs(scenario), step, t.uploadS * 1000);
      slot.holding = { modelSha256: model.sha256, modelPlacement: 'partition' };
    }
  } else {
    const destination: 'internal' | 'psram' = identity.psramSize > 0 ? 'psram' : 'internal';
    if (slot.holding.modelSha256 !== model.sha256 || slot.holding.modelPlacement === 'partition') {
      slot.holding = {};
      await step(`uploading model ${model.id}`, t.uploadS * 1000, () => board.uploadModel(model.bytes, model.sha256, destination, replyMs(scenario)));
      slot.holding = { modelSha256: model.sha256, modelPlacement: destination };
    }
  }

  // ---- arena
  const arena = await step(`configuring a ${arenaBytes}-byte ${variant.arena.placement} arena`, t.invokeS * 1000, () =>
    board.configureArena(arenaBytes, variant.arena.placement, t.invokeS * 1000)).catch((e: unknown) => {
    // An "auto" arena is the planner's size plus a margin; ESP-NN kernels allocate scratch buffers
    // the planner does not count (FACTS.md: person_detection needs +60 KB with ESP-NN): say so.
    if (variant.arena.size === 'auto' && (e as { code?: string }).code === 'board-error:ARENA_TOO_SMALL') {
      throw trialFailure(`${(e as Error).message} (the arena is "auto": TFLM's ${model.arenaBytes} bytes from the planner plus the margin; ${identity.kernelBackend === 'esp-nn' ? 'ESP-NN kernels add scratch buffers the planner cannot see: ' : ''}raise the arena's "marginBytes" or give a size)`, 'board-error:ARENA_TOO_SMALL');
    }
    throw e;
  });
  if (arena.inputs.length !== model.inputs.length || arena.outputs.length !== model.outputs.length) {
    throw boardFailure(`board ${slot.id}: the model it holds has ${arena.inputs.length} inputs and ${arena.outputs.length} outputs, "${model.id}" has ${model.inputs.length} and ${model.outputs.length} (the board lost the model)`, 'board');
  }

  env.emit({
    type: 'trial.fingerprint', trial: trial.id, attempt,
    fingerprint: trialFingerprint({
      identity, provenance: marks.provenance, arena: { bytes: arena.size, placement: variant.arena.placement }, modelSha256: model.sha256, modelStorage: variant.model.storage,
      ...(buildInfo ? { build: buildInfo } : {}),
      ...(slot.config.simulated ? { simulatedPsram: SIMULATED_PROFILES[slot.config.simulated.profile].psramMode } : {}),
    }),
  });

  // ---- inputs, warm-up, measurement
  let currentInput = -1;
  let nextInput = 0;
  const setInputs = async (k: number) => {
    if (k === currentInput) return;
    const tensors = model.latencyInputs[k];
    for (let i = 0; i < tensors.length; i++) {
      await step(`setting input ${i}`, t.uploadS * 1000, () => board.setInput(i, tensors[i], replyMs(scenario)));
    }
    currentInput = k;
  };
  const invoke = async (n: number, profile: boolean): Promise<InvokeOutcome> => {
    const out = await step(`${n} inference${n === 1 ? '' : 's'}`, t.invokeS * 1000 * (n + (profile ? 1 : 0)) + t.connectS * 1000, () =>
      board.invoke({ warmup: 0, measured: n, profile, timeoutMs: progressMs(scenario) }));
    if (out.cycles.length !== n) {
      throw boardFailure(`board ${slot.id}: asked for ${n} measured inferences, got ${out.cycles.length} cycle counts`, 'board');
    }
    return out;
  };
  const record = (phase: 'warmup' | 'measure', out: InvokeOutcome): number[] => {
    const latencyUs = out.cycles.map((c) => round3(c / out.cpuMhz));
    // An inference past the counter's range has no latency to add (PROTOCOL.md INVOKE).
    progress.invokeMs += out.cycles.reduce((s, c, i) => s + (c === CYCLES_OVERFLOW ? 0 : latencyUs[i]), 0) / 1000;
    env.emit({ type: 'trial.samples', trial: trial.id, attempt, phase, cycles: out.cycles, cpuMHz: out.cpuMhz, latencyUs, ...marks });
    return latencyUs;
  };

  if (scenario.warmup > 0) {
    await setInputs(0);
    record('warmup', await invoke(scenario.warmup, false));
  }

  const measured: number[] = [];
  let profileWanted = tasks.profile;
  /** Runs n measured inferences spread over the latency inputs. */
  const measureBatch = async (n: number) => {
    const inputs = model.latencyInputs.length;
    for (const part of splitOver(n, inputs)) {
      await setInputs(nextInput);
      nextInput = (nextInput + 1) % inputs;
      const out = await invoke(part, profileWanted);
      measured.push(...record('measure', out));
      if (profileWanted && out.profile) {
        env.emit({
          type: 'trial.profile', trial: trial.id, attempt, cpuMHz: out.cpuMhz, ...marks,
          ops: out.profile.map((p) => ({ index: p.opIndex, op: p.name, cycles: p.cycles })),
        });
        profileWanted = false;
        progress.profileDone = true;
      }
    }
  };

  const m = scenario.measure;
  if (m.kind === 'fixed') {
    await measureBatch(m.inferences);
  } else {
    const budgetUs = m.timeBudgetS * 1e6;
    let boardUs = 0;
    let batch = m.minInferences;
    for (;;) {
      const before = measured.length;
      await measureBatch(Math.min(batch, m.maxInferences - measured.length));
      for (let i = before; i < measured.length; i++) boardUs += measured[i];
      const decision = shouldStopSampling(measured, { withinPct: m.targetCiPct, minSamples: m.minInferences, maxSamples: m.maxInferences });
      if (decision.stop || boardUs >= budgetUs) break;
      // Ask for what the interval's width says is missing (+10 %), at least a quarter more, and
      // no more than the time budget and the sample cap leave.
      const n = measured.length;
      const wanted = Math.ceil(((decision.estimatedSamplesNeeded ?? 2 * n) - n) * 1.1);
      const perSampleUs = boardUs / n;
      const byBudget = perSampleUs > 0 ? Math.max(1, Math.floor((budgetUs - boardUs) / perSampleUs)) : Infinity;
      batch = Math.max(1, Math.min(Math.max(wanted, Math.ceil(n / 4), 5), m.maxInferences - n, byBudget));
    }
  }

  // ---- accuracy pass, checked against the host reference
  if (tasks.accuracy && model.accuracy) {
    const acc = model.accuracy;
    const outputs = await step(`accuracy pass over ${acc.samples} inputs`, t.accuracyS * 1000, () =>
      board.runAccuracy({ data: acc.data, samples: acc.samples, sampleBytes: acc.sampleBytes, timeoutMs: progressMs(scenario) }));
    if (outputs.length !== acc.samples * acc.outputBytes) {
      throw boardFailure(`board ${slot.id}: the accuracy pass returned ${outputs.length} bytes of outputs, expected ${acc.samples} x ${acc.outputBytes}`, 'board');
    }
    env.emit(accuracyEvent(trial.id, attempt, model, outputs, marks));
    progress.accuracyDone = true;
    if (measured.length > 0) progress.accuracyInvokeMs = (acc.samples * medianOf(measured)) / 1000;
  }

  // ---- memory
  const mem = await step('memory report', t.connectS * 1000, () => board.memory(t.connectS * 1000));
  const memory: MemoryReport = {
    arenaBytes: mem.arenaSize,
    arenaUsedBytes: mem.arenaUsed,
    arenaPlacement: mem.arenaPlacement === 'psram' ? 'psram' : 'internal',
    internal: { freeBytes: mem.internal.free, minimumFreeBytes: mem.internal.minFree, largestFreeBlockBytes: mem.internal.largestFree },
    ...marks,
  };
  if (mem.psram.total > 0) memory.psram = { freeBytes: mem.psram.free, minimumFreeBytes: mem.psram.minFree, largestFreeBlockBytes: mem.psram.largestFree };
  if (mem.imageSize > 0) memory.imageBytes = mem.imageSize;
  if (buildInfo?.size) memory.build = buildInfo.size;
  env.emit({ type: 'trial.memory', trial: trial.id, attempt, memory });
}

/** The board's accuracy-pass outputs, scored against the labels and the host reference. */
export function accuracyEvent(trial: string, attempt: number, model: PreparedModel, outputs: Uint8Array, marks: ProvenanceMarks): NewLabEvent {
  const acc = model.accuracy!;
  const predictions: number[] = [];
  const top: number[][] = [];
  const bit = { tensors: 0, differingTensors: 0, differingElements: 0, maxDifference: 0, maxStepDifference: 0, maxRelativeDifference: 0, toleratedElements: 0 };
  for (let s = 0; s < acc.samples; s++) {
    const boardTensors: OutputTensor[] = [];
    const refTensors: OutputTensor[] = [];
    let at = s * acc.outputBytes;
    for (const o of model.outputs) {
      const dtype = o.dtype as OutputTensor['dtype'];
      boardTensors.push({ name: o.name, dtype, data: valuesOf(o.dtype, outputs.subarray(at, at + o.bytes)) });
      refTensors.push({ name: o.name, dtype, data: valuesOf(o.dtype, acc.reference.subarray(at, at + o.bytes)) });
      at += o.bytes;
    }
    const r = bitExactness(boardTensors, refTensors);
    bit.tensors += r.tensors;
    bit.differingTensors += r.tensorsDiffering;
    bit.differingElements += r.elementsDiffering;
    // Tolerated float differences are sized (maxRelativeDifference) but not counted as differing.
    if (r.tensorsDiffering > 0) bit.maxDifference = Math.max(bit.maxDifference, r.maxStepDifference, r.maxRelativeDifference);
    bit.maxStepDifference = Math.max(bit.maxStepDifference, r.maxStepDifference);
    bit.maxRelativeDifference = Math.max(bit.maxRelativeDifference, r.maxRelativeDifference);
    bit.toleratedElements += r.toleratedElements;
    const ranked = topK(boardTensors[model.io.output].data, TOP_K);
    predictions.push(ranked[0] ?? -1);
    top.push(ranked);
  }
  return {
    type: 'trial.accuracy', trial, attempt, classes: model.classes, labels: acc.labels, predictions, topK: top,
    outputDigest: createHash('sha256').update(outputs).digest('hex'), bitExact: bit, ...marks,
  };
}
