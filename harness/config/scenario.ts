/**
 * `loadScenario`: scenarios/*.json -> typed `Scenario`, after the schema and the checks a schema
 * cannot express: model files that exist and are .tflite models, unique ids, exclude entries that
 * name real matrix values, gates that fit their metric, measure settings that add up, "auto" arenas
 * the arena planner can size, firmware variants that exist.
 */
import { closeSync, openSync, readSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type {
  AccuracyInputs, ArenaChoice, CanarySettings, CpuMHz, ExcludeRule, FirmwareChoice, FirmwareVariant, Gate,
  GateMetric, LatencyInputs, Measure, RetryPolicy, Scenario, ScenarioModel, StepTimeouts, TransportChoice,
} from './types.js';
import { configError, fileLabel, readConfig, resolveFrom } from './read.js';
import { closest, quoteList } from './suggest.js';
import { expandVariants } from '../lab/plan.js';

/** Sizes the tensor arena a model needs on the board (32-bit pointers), in bytes; throws if it can't. */
export type ArenaEstimator = (modelFile: string) => number;

export interface LoadScenarioOptions {
  /** When given, matrix.firmware names are checked against these variants. */
  firmwareVariants?: readonly FirmwareVariant[];
  /** When given, "auto" arenas are sized now (ArenaChoice.autoBytes) and unsizable models rejected. */
  estimateArena?: ArenaEstimator;
}

/**
 * The ESP32-S3 has 512 KB of internal SRAM in all (ESP32-S3 datasheet, "SRAM"); part of it holds
 * caches, the app's data and the heap, so an internal arena anywhere near this cannot be allocated.
 */
export const INTERNAL_SRAM_BYTES = 512 * 1024;

// JSON shapes after schema validation (defaults filled in by ajv).
interface RawArena { size: number | 'auto'; placement: 'internal' | 'psram'; marginBytes: number }
interface RawScenario {
  name: string;
  description?: string;
  matrix: {
    firmware: string[];
    model: { id: string; path: string; sha256?: string; labels?: string | string[]; io: { input: number; output: number }; storage: 'psram' | 'partition' }[];
    arena: (RawArena | 'auto')[];
    cpuMHz: CpuMHz[];
    exclude: ExcludeRule[];
  };
  boards: { tags?: string[]; ids?: string[]; max?: number };
  transport: TransportChoice;
  inputs: { latency: { kind: 'random'; seed?: number; count: number } | { kind: 'file'; path: string }; accuracy?: { inputs: string; labels: string; limit?: number } };
  warmup: number;
  measure: { inferences?: number; targetCiPct?: number; minInferences?: number; maxInferences?: number; timeBudgetS?: number };
  rounds: number;
  seed: number;
  timeouts: StepTimeouts;
  retries: RetryPolicy;
  canary: CanarySettings;
  gates: { metric: GateMetric; maxIncreasePct?: number; alpha?: number; maxDropPoints?: number; max?: number; variants?: string[] }[];
  baseline: string;
}

/** Defaults of adaptive measuring (the schema cannot default fields of one of two shapes). */
export const ADAPTIVE_DEFAULTS = { minInferences: 30, maxInferences: 5000, timeBudgetS: 60 } as const;
/** Significance level of latency gates when the scenario gives none. */
export const DEFAULT_GATE_ALPHA = 0.01;

/** Load and check a scenario. Throws a one-line `LabError` naming the file, pointer and fix. */
export function loadScenario(filePath: string, options: LoadScenarioOptions = {}): Scenario {
  const { file, label, data } = readConfig(filePath, 'scenario');
  const raw = data as unknown as RawScenario;
  const fail = (pointer: string, message: string) => configError(label, pointer, message);
  const dirLabel = fileLabel(path.dirname(file)) + path.sep;
  const warnings: string[] = [];

  // ---- firmware
  const firmware: FirmwareChoice[] = raw.matrix.firmware.map((variant, i) => {
    const choice: FirmwareChoice = { variant };
    const known = options.firmwareVariants;
    if (known) {
      const found = known.find((v) => v.name === variant);
      if (!found) {
        const near = closest(variant, known.map((v) => v.name));
        throw fail(`/matrix/firmware/${i}`, `no firmware variant "${variant}" ${near ? `(did you mean "${near}"?)` : `(known: ${quoteList(known.map((v) => v.name))}; add firmware/variants/${variant}.json to make one)`}`);
      }
      choice.kernelBackend = found.kernelBackend;
      choice.espNn = found.espNn;
    }
    return choice;
  });

  // ---- models
  const modelIds = new Map<string, number>();
  const model: ScenarioModel[] = raw.matrix.model.map((m, i) => {
    const at = `/matrix/model/${i}`;
    const first = modelIds.get(m.id);
    if (first !== undefined) throw fail(`${at}/id`, `duplicate model id "${m.id}" (also /matrix/model/${first}/id)`);
    modelIds.set(m.id, i);
    const modelFile = resolveFrom(file, m.path);
    checkTflite(modelFile, `${at}/path`, dirLabel, fail);
    if (m.sha256 !== undefined) {
      const actual = createHash('sha256').update(readFileSync(modelFile)).digest('hex');
      if (actual !== m.sha256) throw fail(`${at}/sha256`, `${modelFile} has sha256 ${actual}, not the pinned ${m.sha256} (the model changed: update the pin or restore the file)`);
    }
    const out: ScenarioModel = { id: m.id, path: m.path, file: modelFile, io: m.io, storage: m.storage };
    if (m.sha256 !== undefined) out.sha256 = m.sha256;
    if (Array.isArray(m.labels)) {
      out.labels = { names: m.labels };
    } else if (m.labels !== undefined) {
      const labelsFile = resolveFrom(file, m.labels);
      requireFile(labelsFile, `${at}/labels`, 'labels file', dirLabel, fail);
      out.labels = { file: labelsFile };
    }
    return out;
  });

  // ---- arenas
  const arena: ArenaChoice[] = raw.matrix.arena.map((a, i) => {
    const at = `/matrix/arena/${i}`;
    const spec: RawArena = a === 'auto' ? { size: 'auto', placement: 'internal', marginBytes: 4096 } : a;
    const firstSame = raw.matrix.arena.findIndex((b, j) => {
      const o: RawArena = b === 'auto' ? { size: 'auto', placement: 'internal', marginBytes: 4096 } : b;
      return j < i && o.size === spec.size && o.placement === spec.placement;
    });
    if (firstSame >= 0) throw fail(at, `same size and placement as /matrix/arena/${firstSame} (remove one)`);
    if (spec.placement === 'internal' && typeof spec.size === 'number' && spec.size >= INTERNAL_SRAM_BYTES) {
      throw fail(`${at}/size`, `${spec.size} bytes cannot fit in internal SRAM (the ESP32-S3 has 512 KB in all; use "placement": "psram")`);
    }
    const choice: ArenaChoice = { size: spec.size, placement: spec.placement, marginBytes: spec.marginBytes };
    if (spec.size === 'auto' && options.estimateArena) {
      choice.autoBytes = {};
      for (const m of model) {
        let estimate: number;
        try {
          estimate = options.estimateArena(m.file);
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          throw fail(at, `"auto" cannot size model "${m.id}" (${why}); give an explicit size in bytes`);
        }
        // TFLM aligns arena allocations to 16 bytes (MicroArenaBufferAlignment()).
        const bytes = Math.ceil((estimate + spec.marginBytes) / 16) * 16;
        if (spec.placement === 'internal' && bytes >= INTERNAL_SRAM_BYTES) {
          throw fail(`${at}/placement`, `model "${m.id}" needs a ${bytes}-byte arena, too big for internal SRAM (512 KB on the ESP32-S3; use "psram")`);
        }
        choice.autoBytes[m.id] = Math.max(4096, bytes);
      }
    }
    return choice;
  });

  // ---- exclude entries must name values of the matrix
  raw.matrix.exclude.forEach((r, i) => {
    const at = `/matrix/exclude/${i}`;
    if (r.firmware !== undefined && !firmware.some((f) => f.variant === r.firmware)) {
      throw fail(`${at}/firmware`, `"${r.firmware}" is not in /matrix/firmware (${quoteList(firmware.map((f) => f.variant))})`);
    }
    if (r.model !== undefined && !modelIds.has(r.model)) {
      throw fail(`${at}/model`, `"${r.model}" is not a model id of /matrix/model (${quoteList([...modelIds.keys()])})`);
    }
    if (r.cpuMHz !== undefined && !raw.matrix.cpuMHz.includes(r.cpuMHz)) {
      throw fail(`${at}/cpuMHz`, `${r.cpuMHz} is not in /matrix/cpuMHz (${raw.matrix.cpuMHz.join(', ')})`);
    }
    if (r.arena !== undefined && !arena.some((a) => (r.arena?.size === undefined || r.arena.size === a.size) && (r.arena?.placement === undefined || r.arena.placement === a.placement))) {
      throw fail(`${at}/arena`, `matches no arena of /matrix/arena`);
    }
  });

  // ---- measure: one of two shapes, told apart by which fields are present
  const measure = toMeasure(raw.measure, fail);

  // ---- inputs
  let latency: LatencyInputs;
  if (raw.inputs.latency.kind === 'random') {
    latency = { kind: 'random', seed: raw.inputs.latency.seed ?? raw.seed, count: raw.inputs.latency.count };
  } else {
    const f = resolveFrom(file, raw.inputs.latency.path);
    checkNpy(f, '/inputs/latency/path', dirLabel, fail);
    latency = { kind: 'file', path: raw.inputs.latency.path, file: f };
  }
  let accuracy: AccuracyInputs | undefined;
  if (raw.inputs.accuracy) {
    const a = raw.inputs.accuracy;
    const inputsFile = resolveFrom(file, a.inputs);
    const labelsFile = resolveFrom(file, a.labels);
    checkNpy(inputsFile, '/inputs/accuracy/inputs', dirLabel, fail);
    checkNpy(labelsFile, '/inputs/accuracy/labels', dirLabel, fail);
    accuracy = { inputs: a.inputs, inputsFile, labels: a.labels, labelsFile };
    if (a.limit !== undefined) accuracy.limit = a.limit;
  }

  // ---- canary
  if (raw.canary.quarantineDriftPct < raw.canary.flagDriftPct) {
    throw fail('/canary/quarantineDriftPct', `${raw.canary.quarantineDriftPct}% is below flagDriftPct ${raw.canary.flagDriftPct}% (a board is flagged before it is quarantined)`);
  }

  // ---- the variants (also catches an exclude list that leaves nothing)
  const matrix = { firmware, model, arena, cpuMHz: raw.matrix.cpuMHz, exclude: raw.matrix.exclude };
  const variantIds = expandVariants(matrix, label).map((v) => v.id);

  // ---- gates
  const gates: Gate[] = raw.gates.map((g, i) => toGate(g, `/gates/${i}`, variantIds, accuracy !== undefined, fail));
  if (gates.length > 0 && raw.baseline === 'none') {
    throw fail('/baseline', '"none" leaves the gates nothing to compare with (use "last-baseline" or a run id, or remove the gates)');
  }
  if (measure.kind === 'fixed' && measure.inferences < 100 && gates.some((g) => g.metric === 'latency.p99')) {
    warnings.push(`${label}: /measure/inferences: a p99 from ${measure.inferences} samples is mostly the maximum; measure at least 100`);
  }

  const boards: Scenario['boards'] = { tags: raw.boards.tags ?? [] };
  if (raw.boards.ids !== undefined) boards.ids = raw.boards.ids;
  if (raw.boards.max !== undefined) boards.max = raw.boards.max;

  const scenario: Scenario = {
    file, label, name: raw.name, matrix, boards, transport: raw.transport,
    inputs: accuracy ? { latency, accuracy } : { latency },
    warmup: raw.warmup, measure, rounds: raw.rounds, seed: raw.seed, timeouts: raw.timeouts,
    retries: raw.retries, canary: raw.canary, gates, baseline: raw.baseline, warnings,
  };
  if (raw.description !== undefined) scenario.description = raw.description;
  return scenario;
}

type Fail = (pointer: string, message: string) => Error;

function toMeasure(m: RawScenario['measure'], fail: Fail): Measure {
  const adaptiveFields = (['minInferences', 'maxInferences', 'timeBudgetS'] as const).filter((k) => m[k] !== undefined);
  if (m.inferences !== undefined && m.targetCiPct !== undefined) {
    throw fail('/measure', 'give either "inferences" (a fixed count) or "targetCiPct" (adaptive), not both');
  }
  if (m.inferences !== undefined) {
    if (adaptiveFields.length > 0) {
      throw fail(`/measure/${adaptiveFields[0]}`, 'only applies to adaptive measuring (add "targetCiPct", or remove it)');
    }
    return { kind: 'fixed', inferences: m.inferences };
  }
  if (m.targetCiPct === undefined) {
    throw fail('/measure', 'say how much to measure: "inferences": N, or "targetCiPct" for adaptive measuring');
  }
  const out: Measure = {
    kind: 'adaptive',
    targetCiPct: m.targetCiPct,
    minInferences: m.minInferences ?? ADAPTIVE_DEFAULTS.minInferences,
    maxInferences: m.maxInferences ?? ADAPTIVE_DEFAULTS.maxInferences,
    timeBudgetS: m.timeBudgetS ?? ADAPTIVE_DEFAULTS.timeBudgetS,
  };
  if (out.minInferences > out.maxInferences) {
    throw fail(m.maxInferences !== undefined ? '/measure/maxInferences' : '/measure/minInferences',
      `minInferences ${out.minInferences} is more than maxInferences ${out.maxInferences}`);
  }
  return out;
}

function toGate(g: RawScenario['gates'][number], at: string, variantIds: readonly string[], hasAccuracy: boolean, fail: Fail): Gate {
  const allowed: Record<string, readonly string[]> = {
    latency: ['maxIncreasePct', 'alpha'],
    accuracy: ['maxDropPoints'],
    size: ['maxIncreasePct'],
    outputs: ['max'],
  };
  const family = g.metric.startsWith('latency.') ? 'latency'
    : g.metric.startsWith('accuracy.') ? 'accuracy'
      : g.metric === 'outputs.mismatches' ? 'outputs' : 'size';
  for (const field of ['maxIncreasePct', 'alpha', 'maxDropPoints', 'max'] as const) {
    if (g[field] !== undefined && !allowed[family].includes(field)) {
      throw fail(`${at}/${field}`, `does not apply to ${g.metric} (it takes ${allowed[family].map((f) => `"${f}"`).join(' and ')})`);
    }
  }
  if (g.variants) {
    g.variants.forEach((v, k) => {
      if (!variantIds.includes(v)) {
        const near = closest(v, variantIds);
        throw fail(`${at}/variants/${k}`, `no variant "${v}" in this scenario (${near ? `did you mean "${near}"?` : `variants: ${quoteList(variantIds, 6)}`})`);
      }
    });
  }
  const scope = g.variants ? { variants: g.variants } : {};
  switch (family) {
    case 'latency':
      if (g.maxIncreasePct === undefined) throw fail(at, `missing field "maxIncreasePct" (how much slower ${g.metric} may get, e.g. 3)`);
      return { metric: g.metric as Extract<Gate, { alpha: number }>['metric'], maxIncreasePct: g.maxIncreasePct, alpha: g.alpha ?? DEFAULT_GATE_ALPHA, ...scope };
    case 'accuracy':
      if (g.maxDropPoints === undefined) throw fail(at, `missing field "maxDropPoints" (how many percentage points ${g.metric} may drop, e.g. 0.5)`);
      if (!hasAccuracy) throw fail(`${at}/metric`, `${g.metric} needs a labelled set: add "inputs": { "accuracy": { "inputs": ..., "labels": ... } }`);
      return { metric: g.metric as 'accuracy.top1' | 'accuracy.top5', maxDropPoints: g.maxDropPoints, ...scope };
    case 'size':
      if (g.maxIncreasePct === undefined) throw fail(at, `missing field "maxIncreasePct" (how much ${g.metric} may grow, e.g. 5)`);
      return { metric: g.metric as 'arena.used' | 'image.size', maxIncreasePct: g.maxIncreasePct, ...scope };
    case 'outputs':
      return { metric: 'outputs.mismatches', max: g.max ?? 0, ...scope };
  }
  throw new Error(`toGate: unhandled metric family ${family}`);
}

function requireFile(file: string, pointer: string, what: string, dirLabel: string, fail: Fail): void {
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch {
    throw fail(pointer, `${what} not found: ${file} (paths are relative to ${dirLabel})`);
  }
  if (!isFile) throw fail(pointer, `${file} is not a file`);
}

function readHead(file: string, bytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** A .tflite file carries the FlatBuffers file identifier "TFL3" at bytes 4..7 (schema.fbs `file_identifier`). */
function checkTflite(file: string, pointer: string, dirLabel: string, fail: Fail): void {
  requireFile(file, pointer, 'model file', dirLabel, fail);
  const head = readHead(file, 8);
  if (head.length < 8 || head.subarray(4, 8).toString('latin1') !== 'TFL3') {
    throw fail(pointer, `${file} is not a .tflite model (no "TFL3" identifier at byte 4)`);
  }
}

/** A .npy file starts with the magic "\x93NUMPY" (numpy NEP 1, "Format Version 1.0"). */
function checkNpy(file: string, pointer: string, dirLabel: string, fail: Fail): void {
  requireFile(file, pointer, '.npy file', dirLabel, fail);
  const head = readHead(file, 6);
  if (head.length < 6 || head[0] !== 0x93 || head.subarray(1, 6).toString('latin1') !== 'NUMPY') {
    throw fail(pointer, `${file} is not a .npy file (no \\x93NUMPY magic; save it with numpy.save)`);
  }
}
