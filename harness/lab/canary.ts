/**
 * The canary (issue 4): before its trials, every board runs a short fixed benchmark - a tiny
 * built-in int8 model, always the same inputs - and its median is compared with that board's own
 * canary history from the run store. A board that got slower or faster than it used to be (a
 * clock left at 160 MHz, a thermal problem, a flash cache setting, a different chip behind the
 * same port) would shift every variant it measures; flagged, its results carry a warning; past
 * `quarantineDriftPct` it is quarantined instead of polluting the comparison.
 *
 * The canary runs on whatever firmware the board holds when the run starts, so its history is
 * kept per firmware variant and clock (the `model` key of `board.canary`): an ESP-NN build is
 * only ever compared with earlier ESP-NN canaries of the same board. And per provenance: a board
 * id that was once simulated and is now emulated (or real) must not drift against QEMU's or the
 * cost model's cycle counts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CanarySettings, Scenario } from '../config/types.js';
import { medianOf } from '../stats/samples.js';
import { planArena } from '../tflite/planner.js';
import { readModel } from '../tflite/reader.js';
import { tensorByteSize } from '../tflite/model.js';
import type { CanaryEvent, NewLabEvent } from './events.js';
import { marksOf, type Provenance } from './provenance.js';
import type { BoardSlot } from './slot.js';
import { progressMs, replyMs, type Step } from './trial-runner.js';

export const CANARY_MODEL_FILE = fileURLToPath(new URL('../tflite/testdata/tiny_conv_int8.tflite', import.meta.url));
/** Unmeasured inferences before the canary's measured ones (caches, lazy allocations). */
const CANARY_WARMUP = 3;

export interface CanaryModel {
  name: string;
  bytes: Uint8Array;
  sha256: string;
  /** Arena to give it: the planner's size plus TFLM's recommended >= 1 KB scratch margin (FACTS.md), rounded to 16. */
  arenaBytes: number;
  /** One fixed input per input tensor (a ramp: the same bytes every run, on every board). */
  inputs: Uint8Array[];
}

export function loadCanaryModel(file = CANARY_MODEL_FILE): CanaryModel {
  const bytes = new Uint8Array(readFileSync(file));
  const model = readModel(bytes, { source: file });
  const graph = model.subgraphs[0];
  const inputs = graph.inputs.map((i) => {
    const t = graph.tensors[i];
    return Uint8Array.from({ length: tensorByteSize(t) }, (_, k) => (k * 37 + 11) & 0xff);
  });
  return {
    name: file.split('/').pop()!.replace(/\.tflite$/, ''),
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    arenaBytes: Math.ceil((planArena(model, { pointerSize: 4 }).totalBytes + 4096) / 16) * 16,
    inputs,
  };
}

/** The board's earlier canary medians (us) under the same key and of the same provenance, oldest first. */
export type CanaryHistory = (board: string, key: string, provenance: Provenance) => number[];

export interface CanaryVerdict {
  historyMedianUs?: number;
  driftPct?: number;
  verdict: CanaryEvent['verdict'];
}

/** Drift of a canary median from the median of the board's history, judged by the scenario's limits. */
export function canaryVerdict(medianUs: number, history: readonly number[], settings: Pick<CanarySettings, 'flagDriftPct' | 'quarantineDriftPct'>): CanaryVerdict {
  if (history.length === 0) return { verdict: 'ok' };
  const historyMedianUs = medianOf(history);
  const driftPct = ((medianUs - historyMedianUs) / historyMedianUs) * 100;
  const size = Math.abs(driftPct);
  const verdict = size > settings.quarantineDriftPct ? 'quarantined' : size > settings.flagDriftPct ? 'flagged' : 'ok';
  return { historyMedianUs, driftPct: Math.round(driftPct * 1000) / 1000, verdict };
}

/** Runs the canary on a connected board and judges it against the board's history. */
export async function runCanary(slot: BoardSlot, canary: CanaryModel, scenario: Scenario, step: Step, history: CanaryHistory): Promise<Omit<CanaryEvent, 'seq' | 'ts'>> {
  const t = scenario.timeouts;
  const board = slot.board;
  const identity = board.identity!;
  slot.setState('running', 'canary');
  const placement = 'internal';
  if (slot.holding.modelSha256 !== canary.sha256) {
    slot.holding = {};
    await step('uploading the canary model', t.uploadS * 1000, () => board.uploadModel(canary.bytes, canary.sha256, placement, replyMs(scenario)));
    slot.holding = { modelSha256: canary.sha256, modelPlacement: placement };
  }
  await step('configuring the canary arena', t.invokeS * 1000, () => board.configureArena(canary.arenaBytes, placement, t.invokeS * 1000));
  for (let i = 0; i < canary.inputs.length; i++) {
    await step('setting the canary input', t.uploadS * 1000, () => board.setInput(i, canary.inputs[i], replyMs(scenario)));
  }
  const n = scenario.canary.inferences;
  const out = await step(`${n} canary inferences`, t.invokeS * 1000 * (n + CANARY_WARMUP) + t.connectS * 1000, () =>
    board.invoke({ warmup: CANARY_WARMUP, measured: n, profile: false, timeoutMs: progressMs(scenario) }));
  const latencyUs = out.cycles.map((c) => Math.round((c / out.cpuMhz) * 1000) / 1000);
  const medianUs = medianOf(latencyUs);
  const key = `${canary.name}@${identity.variant}/${out.cpuMhz}mhz`;
  const marks = marksOf(slot.config, identity);
  const v = canaryVerdict(medianUs, history(slot.id, key, marks.provenance), scenario.canary);
  // An emulated board's speed is QEMU's on a shared host, not a property of the board: a drift is
  // worth a flag, never a quarantine (its outputs are still the firmware's own).
  if (marks.provenance === 'emulated' && v.verdict === 'quarantined') v.verdict = 'flagged';
  const event: Omit<CanaryEvent, 'seq' | 'ts'> = {
    type: 'board.canary', board: slot.id, model: key, latencyUs, medianUs, verdict: v.verdict, ...marks,
  };
  if (v.historyMedianUs !== undefined) event.historyMedianUs = v.historyMedianUs;
  if (v.driftPct !== undefined) event.driftPct = v.driftPct;
  return event;
}

export type { NewLabEvent };
